//! Macvlans for the addresses on another link: `use_vmac` on a virtual_ipaddress line with
//! `dev`, and the instance's `use_vmac_addr`. The instance runs on `ens3`; its addresses on
//! `ens4` go on private macvlans of `ens4`, named as keepalived names them (vrrp.c
//! create_vmac_name(): `vrrp.51`, then `vrrp6.51` for the IPv6 one; with `vmac_prefix gw`,
//! `gw.51` and `gw6.51`), with the virtual MACs 00:00:5e:00:01:33 and 00:00:5e:00:02:33. A
//! client on the second link resolves them to those MACs through whichever router is master;
//! a macvlan another agent deletes is made again (keepalived 2.2.7 does this for an
//! instance's own `use_vmac` only); a stop and `vrrpd cleanup` leave no macvlan. The same
//! file on keepalived 2.2.7 makes the same macvlans, with one difference (see the last test).
//!
//! ```text
//!   r1 ens3 (192.0.2.1) ──┬── br0 ── cl eth0      instance VI_1, VRID 51
//!   r2 ens3 (192.0.2.2) ──┘
//!   r1 ens4 (198.51.100.1) ──┬── br1 ── cl eth1 (198.51.100.10, 2001:db8:2::10)
//!   r2 ens4 (198.51.100.2) ──┘          VIPs 198.51.100.100 and 2001:db8:2::100 dev ens4
//! ```

use std::time::Duration;

use vrrp_tests::{
    lab::{vrrpd_binary, ReferenceLab},
    netns::run,
    require_root, wait_until,
};

const V4: &str = "198.51.100.100";
const V6: &str = "2001:db8:2::100";
/// The macvlans' names, IPv4 then IPv6, with keepalived's default prefix.
const DEFAULT_NAMES: [&str; 2] = ["vrrp.51", "vrrp6.51"];
const V4_MAC: &str = "00:00:5e:00:01:33";
const V6_MAC: &str = "00:00:5e:00:02:33";
/// A deadline, not a figure (a debug build's start-up on a loaded machine).
const ELECTION: Duration = Duration::from_secs(30);

/// The lab with a second link, `ens4` on both routers and `eth1` on the client, bridged.
fn lab(prefix: &'static str) -> ReferenceLab {
    let lab = ReferenceLab::with_prefix(prefix).expect("building the lab");
    let switch = lab.switch.clone();
    lab.lab.exec(&switch, "ip", &["link", "add", "br1", "type", "bridge"]).unwrap();
    lab.lab.exec(&switch, "ip", &["link", "set", "br1", "up"]).unwrap();
    let ends = [
        (lab.router(1).to_owned(), "ens4", "q1", vec!["198.51.100.1/24"]),
        (lab.router(2).to_owned(), "ens4", "q2", vec!["198.51.100.2/24"]),
        (lab.client.clone(), "eth1", "qc", vec!["198.51.100.10/24", "2001:db8:2::10/64"]),
    ];
    for (namespace, ifname, port, cidrs) in ends {
        let args = [
            "link", "add", ifname, "netns", &namespace, "type", "veth", "peer", "name", port,
            "netns", &switch,
        ];
        run("ip", &args).unwrap();
        lab.lab.exec(&switch, "ip", &["link", "set", port, "master", "br1", "up"]).unwrap();
        for cidr in cidrs {
            lab.lab.exec(&namespace, "ip", &["addr", "add", cidr, "dev", ifname]).unwrap();
        }
        lab.lab.exec(&namespace, "ip", &["link", "set", ifname, "up"]).unwrap();
    }
    lab
}

/// VRID 51 on ens3 with its addresses on ens4; `option` is what each address line ends with.
fn config(priority: u8, extra: &str, option: &str) -> String {
    format!(
        "vrrp_instance VI_1 {{
    state BACKUP
    interface ens3
    virtual_router_id 51
    priority {priority}
    advert_int 1
{extra}    virtual_ipaddress {{
        192.0.2.100/24
        {V4}/24 dev ens4{option}
    }}
    virtual_ipaddress_excluded {{
        {V6}/64 dev ens4{option}
    }}
}}
"
    )
}

fn text(output: anyhow::Result<std::process::Output>) -> String {
    output.map(|out| String::from_utf8_lossy(&out.stdout).into_owned()).unwrap_or_default()
}

/// Router `n`'s macvlans, one line each.
fn macvlans(lab: &ReferenceLab, n: usize) -> Vec<String> {
    text(lab.lab.exec(lab.router(n), "ip", &["-o", "-d", "link", "show", "type", "macvlan"]))
        .lines()
        .map(str::to_owned)
        .collect()
}

/// Whether router `n`'s `ifname` holds `address`.
fn holds(lab: &ReferenceLab, n: usize, ifname: &str, address: &str) -> bool {
    text(lab.lab.exec(lab.router(n), "ip", &["-o", "addr", "show", "dev", ifname]))
        .contains(&format!(" {address}/"))
}

/// Router `n` holds both addresses on its macvlans (`names`), and neither is on an `ens4`.
fn master_on_macvlans(lab: &ReferenceLab, n: usize, [v4_vmac, v6_vmac]: [&str; 2]) -> bool {
    holds(lab, n, v4_vmac, V4)
        && holds(lab, n, v6_vmac, V6)
        && [1, 2].iter().all(|&r| !holds(lab, r, "ens4", V4) && !holds(lab, r, "ens4", V6))
        && !holds(lab, 3 - n, v4_vmac, V4)
}

/// The client's neighbour entry for `address` on eth1, after a ping to it.
fn client_resolves(lab: &ReferenceLab, address: &str, mac: &str) -> bool {
    let _ = lab.lab.exec(&lab.client, "ip", &["neigh", "flush", "dev", "eth1"]);
    let pinged = lab.lab.exec(&lab.client, "ping", &["-c", "1", "-W", "1", address]).is_ok();
    pinged && text(lab.lab.exec(&lab.client, "ip", &["neigh", "show", address])).contains(mac)
}

/// Router `n`'s `arp_ignore` on interface `ifname` (`vrrp.51` is `vrrp/51` in sysctl's names).
fn arp_ignore(lab: &ReferenceLab, n: usize, ifname: &str) -> String {
    let key = format!("net.ipv4.conf.{}.arp_ignore", ifname.replace('.', "/"));
    text(lab.lab.exec(lab.router(n), "sysctl", &["-n", &key])).trim().to_owned()
}

/// Router `n` has exactly the two macvlans on ens4, named and addressed as keepalived's.
fn assert_macvlans(lab: &ReferenceLab, n: usize, [v4_vmac, v6_vmac]: [&str; 2]) {
    let links = macvlans(lab, n);
    assert_eq!(links.len(), 2, "router {n}: two macvlans: {links:?}");
    for (name, mac) in [(v4_vmac, V4_MAC), (v6_vmac, V6_MAC)] {
        let link = links.iter().find(|link| link.contains(&format!(" {name}@ens4:")));
        let link = link.unwrap_or_else(|| panic!("router {n}: no {name} on ens4: {links:?}"));
        assert!(link.contains(mac), "router {n}: {link}");
        assert!(link.contains("macvlan mode private"), "router {n}: {link}");
    }
}

/// `globals` goes first in each router's file; `names` are the macvlans it should give.
fn scenario(prefix: &'static str, (globals, names): (&str, [&str; 2]), extra: &str, option: &str) {
    require_root();
    let mut lab = lab(prefix);
    let file = |priority| format!("{globals}{}", config(priority, extra, option));
    let c1 = lab.write_config(1, "keepalived.conf", &file(110)).unwrap();
    let c2 = lab.write_config(2, "keepalived.conf", &file(100)).unwrap();
    // check-config (with its host checks, in router 1's namespace) accepts the file.
    let check = std::process::Command::new("ip")
        .args(["netns", "exec", lab.router(1)])
        .arg(vrrpd_binary().unwrap())
        .arg("check-config")
        .arg(&c1)
        .output()
        .expect("ip netns exec runs");
    assert!(check.status.success(), "check-config: {}", String::from_utf8_lossy(&check.stderr));
    let d1 = lab.start_vrrpd(1, &c1, &[]).unwrap();
    let d2 = lab.start_vrrpd(2, &c2, &[]).unwrap();
    let waited = wait_until("router 1's macvlans holding the VIPs", ELECTION, || {
        master_on_macvlans(&lab, 1, names)
    });
    assert!(waited.is_ok(), "{waited:?}\n{}", lab.daemon(d1).log_text());
    // The instance's own VIP stays on ens3, with no macvlan there.
    assert!(holds(&lab, 1, "ens3", "192.0.2.100"));
    for n in [1, 2] {
        assert_macvlans(&lab, n, names);
        // Both answer ARP only for their own addresses, the IPv6 one too: without that, it
        // answers for the IPv4 VIP with the IPv6 virtual MAC (keepalived 2.2.7 does, below).
        let ignores = names.map(|name| arp_ignore(&lab, n, name));
        assert_eq!(ignores, ["1", "1"], "router {n}: arp_ignore on {names:?}");
    }
    for (address, mac) in [(V4, V4_MAC), (V6, V6_MAC)] {
        let resolved =
            wait_until(&format!("the client resolving {address} to {mac}"), ELECTION, || {
                client_resolves(&lab, address, mac)
            });
        let neigh = text(lab.lab.exec(&lab.client, "ip", &["neigh", "show", "dev", "eth1"]));
        let addrs = text(lab.lab.exec(lab.router(1), "ip", &["-o", "addr"]));
        assert!(resolved.is_ok(), "{resolved:?}\nclient: {neigh}\nrouter 1: {addrs}");
    }

    // Another agent deletes the IPv4 address's macvlan: it is made again, with the address,
    // and router 1 stays master.
    lab.lab.exec(lab.router(1), "ip", &["link", "del", names[0]]).unwrap();
    let remade = wait_until("router 1's macvlan made again", ELECTION, || {
        master_on_macvlans(&lab, 1, names)
    });
    assert!(remade.is_ok(), "{remade:?}\n{}", lab.daemon(d1).log_text());
    assert_macvlans(&lab, 1, names);
    assert!(lab.daemon(d1).log_text().contains("its macvlan was removed by another agent"));

    // A crash and a restart: the macvlans are reused, not doubled.
    lab.daemon(d1).kill();
    // The crashed run's addresses stay on router 1's macvlans until its restart.
    let taken = || holds(&lab, 2, names[0], V4) && holds(&lab, 2, names[1], V6);
    wait_until("router 2 taking the VIPs", ELECTION, taken).unwrap();
    let d1 = lab.start_vrrpd(1, &c1, &[]).unwrap();
    lab.daemon(d1).wait_for_log("reusing the macvlan", ELECTION).unwrap();
    wait_until("router 1 preempting", ELECTION, || master_on_macvlans(&lab, 1, names)).unwrap();
    assert_macvlans(&lab, 1, names);

    // A clean stop removes them; router 2's take the addresses, under the same MACs.
    lab.daemon(d1).signal(libc::SIGTERM);
    let status = lab.daemon(d1).wait_exit(ELECTION).expect("vrrpd exits on SIGTERM");
    assert!(status.success(), "exit status {status:?}");
    assert!(macvlans(&lab, 1).is_empty(), "router 1 after its stop: {:?}", macvlans(&lab, 1));
    wait_until("router 2 taking over", ELECTION, || master_on_macvlans(&lab, 2, names)).unwrap();
    for (address, mac) in [(V4, V4_MAC), (V6, V6_MAC)] {
        let what = format!("the client resolving {address} to {mac} through router 2");
        wait_until(&what, ELECTION, || client_resolves(&lab, address, mac)).unwrap();
    }

    // `vrrpd cleanup` after a crash removes them, and the addresses with them.
    lab.daemon(d2).kill();
    let output = lab.cleanup(2, &c2).unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert!(macvlans(&lab, 2).is_empty(), "router 2 after cleanup: {:?}", macvlans(&lab, 2));
}

#[test]
fn use_vmac_on_an_address_puts_it_on_a_macvlan_of_its_dev() {
    scenario("vp", ("", DEFAULT_NAMES), "", " use_vmac");
}

#[test]
fn use_vmac_addr_puts_the_other_links_vip_on_a_macvlan_and_moves_it() {
    scenario("vv", ("", DEFAULT_NAMES), "    use_vmac_addr\n", "");
}

/// keepalived vrrp.c vrrp_complete_instance(): the addresses' macvlans take `vmac_addr_prefix`,
/// else `vmac_prefix`.
#[test]
fn vmac_prefix_names_the_addresses_macvlans() {
    let globals = "global_defs {\n    vmac_prefix gw\n}\n";
    scenario("vx", (globals, ["gw.51", "gw6.51"]), "    use_vmac_addr\n", "");
}

/// The same file on a keepalived 2.2.7 pair: the same macvlans (names, MACs, private mode) on
/// both routers, the master's holding the addresses; a stop removes the stopped router's
/// macvlans and router 2 takes the addresses; a restart preempts on macvlans named the same.
/// One difference, on purpose: keepalived sets `arp_ignore` on the IPv4 macvlan only
/// (vrrp_vmac.c netlink_link_add_vmac(): set_interface_parameters() when AF_INET), so its
/// IPv6 macvlan answers ARP for the IPv4 VIP too, with the IPv6 virtual MAC, and which answer
/// a client keeps is a race (seen here: 00:00:5e:00:02:33 for 198.51.100.100, 2 runs of 4).
/// vrrpd sets it on both.
#[test]
fn keepalived_makes_the_same_macvlans_for_use_vmac_addr() {
    require_root();
    let mut lab = lab("vk");
    let vmac_addr = "    use_vmac_addr\n";
    let c1 = lab.write_config(1, "keepalived.conf", &config(110, vmac_addr, "")).unwrap();
    let c2 = lab.write_config(2, "keepalived.conf", &config(100, vmac_addr, "")).unwrap();
    let k1 = lab.start_keepalived(1, &c1).unwrap();
    lab.start_keepalived(2, &c2).unwrap();
    let names = DEFAULT_NAMES;
    let waited = wait_until("router 1's macvlans holding the VIPs", ELECTION, || {
        master_on_macvlans(&lab, 1, names)
    });
    let links = (macvlans(&lab, 1), macvlans(&lab, 2));
    assert!(waited.is_ok(), "{waited:?}\n{links:?}\n{}", lab.daemon(k1).log_text());
    for n in [1, 2] {
        assert_macvlans(&lab, n, names);
        let ignores = names.map(|name| arp_ignore(&lab, n, name));
        assert_eq!(ignores, ["1", "0"], "router {n}: keepalived's arp_ignore on {names:?}");
    }
    let resolves_v4 = || client_resolves(&lab, V4, V4_MAC) || client_resolves(&lab, V4, V6_MAC);
    wait_until("the client resolving the IPv4 VIP", ELECTION, resolves_v4).unwrap();
    let what = format!("the client resolving {V6} to {V6_MAC}");
    wait_until(&what, ELECTION, || client_resolves(&lab, V6, V6_MAC)).unwrap();

    lab.daemon(k1).signal(libc::SIGTERM);
    lab.daemon(k1).wait_exit(ELECTION).expect("keepalived exits on SIGTERM");
    let gone = wait_until("router 1's macvlans removed", ELECTION, || macvlans(&lab, 1).is_empty());
    assert!(gone.is_ok(), "{gone:?}: {:?}", macvlans(&lab, 1));
    wait_until("router 2 taking over", ELECTION, || master_on_macvlans(&lab, 2, names)).unwrap();
    let what = format!("the client resolving {V6} to {V6_MAC} through router 2");
    wait_until(&what, ELECTION, || client_resolves(&lab, V6, V6_MAC)).unwrap();
    lab.start_keepalived(1, &c1).unwrap();
    wait_until("router 1 preempting", ELECTION, || master_on_macvlans(&lab, 1, names)).unwrap();
    assert_macvlans(&lab, 1, names);
}
