//! Accept_Mode (RFC 9568 §6.1, §6.4.3) on the reference pair, enforced by the kernel program
//! with no firewall rule. With `no_accept`, the non-owner master drops the client's ping to the
//! VIP and counts it under `not_accepted`, while ARP for the VIP still resolves to it (the
//! client's neighbour entry holds the master's MAC); after a failover the new master refuses
//! and the old one no longer does, and back; the same at tc ingress (`--hook tcx`). An IPv6
//! address of the instance is refused likewise while neighbour discovery resolves it. With
//! `accept`, the ping is answered and nothing is refused. On the socket data path the start
//! says that `no_accept` is not enforced. keepalived 2.2.7 with the same files (its nftables
//! rules) leaves the client the same pings unanswered and the same neighbour entries after
//! each step.
//!
//! Which addresses a router refuses is read from its pinned `VRRP_NOT_ACCEPTED` map with
//! bpftool, independently of the daemon.

use std::path::Path;
use std::time::Duration;

use serde_json::Value;
use vrrp_common::{names, Counter};
use vrrp_tests::{
    lab::{ReferenceLab, VIP},
    require_root, wait_until,
};

const ELECTION: Duration = Duration::from_secs(30);
const SETTLE: Duration = Duration::from_secs(10);

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Daemon {
    Vrrpd,
    /// vrrpd with its rules at tc ingress (`--hook tcx`).
    VrrpdTc,
    Keepalived,
}

/// The pair with `line` (`no_accept` or `accept`) in both instances, router 1 elected.
fn elected(daemon: Daemon, line: &str) -> ReferenceLab {
    require_root();
    let mut lab = ReferenceLab::with_prefix("ac").expect("building the lab");
    for n in [1, 2] {
        let text = vrrp_tests::lab::reference_config(n)
            .replace("    virtual_ipaddress {", &format!("    {line}\n    virtual_ipaddress {{"));
        assert!(text.contains(line), "{text}");
        let config = lab.write_config(n, "keepalived.conf", &text).unwrap();
        match daemon {
            Daemon::Vrrpd => lab.start_vrrpd(n, &config, &[]).unwrap(),
            Daemon::VrrpdTc => lab.start_vrrpd(n, &config, &["--hook", "tcx"]).unwrap(),
            Daemon::Keepalived => lab.start_keepalived(n, &config).unwrap(),
        };
    }
    lab.wait_for_master(1, ELECTION).expect("server 1 (priority 110) becomes master");
    lab
}

fn pin_dir(lab: &ReferenceLab, n: usize) -> std::path::PathBuf {
    lab.bpffs.join(format!("r{n}"))
}

/// The addresses router `n`'s kernel program refuses, as bpftool dumps its map's keys.
fn refused(lab: &ReferenceLab, n: usize) -> Vec<String> {
    let path = pin_dir(lab, n).join(names::NOT_ACCEPTED);
    let out = std::process::Command::new("bpftool")
        .args(["-j", "map", "dump", "pinned"])
        .arg(&path)
        .output()
        .expect("bpftool runs");
    assert!(out.status.success(), "bpftool: {}", String::from_utf8_lossy(&out.stderr));
    let entries: Vec<Value> = serde_json::from_slice(&out.stdout).expect("bpftool's JSON");
    entries.iter().map(|entry| address_of(&entry["formatted"]["key"])).collect()
}

/// An `AddressKey` as bpftool formats it with BTF: family, then the 16 address bytes.
fn address_of(key: &Value) -> String {
    let bytes: Vec<u8> = key["addr"]
        .as_array()
        .unwrap_or_else(|| panic!("no address in {key}"))
        .iter()
        .map(|byte| byte.as_u64().expect("a byte") as u8)
        .collect();
    match key["family"].as_u64() {
        Some(4) => format!("{}.{}.{}.{}", bytes[0], bytes[1], bytes[2], bytes[3]),
        Some(6) => {
            let octets: [u8; 16] = bytes.try_into().expect("16 bytes");
            std::net::Ipv6Addr::from(octets).to_string()
        }
        other => panic!("family {other:?} in {key}"),
    }
}

fn not_accepted(lab: &ReferenceLab, n: usize) -> u64 {
    let counters = vrrp_user::xdp::pinned_counters(&pin_dir(lab, n)).expect("counters");
    counters[Counter::NotAccepted as usize]
}

/// Waits until router `master` alone refuses the VIP.
fn wait_for_refusal(lab: &ReferenceLab, master: usize, after: &str) {
    let result = wait_until(after, SETTLE, || {
        refused(lab, master) == [VIP] && refused(lab, 3 - master).is_empty()
    });
    if let Err(error) = result {
        panic!("{error}: r1 refuses {:?}, r2 {:?}", refused(lab, 1), refused(lab, 2));
    }
}

/// The client pings the VIP and gets no reply, and router `master` counts the drop.
fn ping_is_refused_by(lab: &ReferenceLab, master: usize) {
    let before = not_accepted(lab, master);
    assert!(!lab.client_ping(), "router {master} answered a ping to the VIP");
    wait_until("the refused ping is counted", SETTLE, || not_accepted(lab, master) > before)
        .unwrap();
}

/// The MAC the client's neighbour table holds for the VIP, once resolved.
fn client_neighbour(lab: &ReferenceLab) -> Option<String> {
    let out = lab.lab.exec(&lab.client, "ip", &["-j", "neigh", "show", VIP, "dev", "eth0"]).ok()?;
    let entries: Vec<Value> = serde_json::from_slice(&out.stdout).ok()?;
    let entry = entries.first()?;
    let states = entry["state"].as_array()?;
    let resolved = states.iter().any(|s| s != "FAILED" && s != "INCOMPLETE");
    resolved.then(|| entry["lladdr"].as_str().map(str::to_owned)).flatten()
}

fn router_mac(lab: &ReferenceLab, n: usize) -> String {
    let mac = lab.lab.mac(lab.router(n), "ens3").unwrap();
    mac.iter().map(|byte| format!("{byte:02x}")).collect::<Vec<_>>().join(":")
}

/// The scenario of the file's documentation. vrrpd's refusals and counters are read from its
/// maps; keepalived's (nftables rules) are seen only in what the client gets.
fn no_accept_scenario(daemon: Daemon) {
    let lab = elected(daemon, "no_accept");
    let vrrpd = daemon != Daemon::Keepalived;
    if daemon == Daemon::VrrpdTc {
        assert!(!lab.xdp_attached(1).unwrap(), "no XDP program with --hook tcx");
    }
    let refused_by = |master: usize, after: &str| {
        if vrrpd {
            wait_for_refusal(&lab, master, after);
            ping_is_refused_by(&lab, master);
        } else {
            // keepalived adds its rules beside the address: the first ping may beat them.
            wait_until(after, SETTLE, || !lab.client_ping()).unwrap();
        }
    };
    refused_by(1, "the election");
    // The ping was refused, not lost for want of an address: ARP resolved the VIP to server 1.
    wait_until("the client resolves the VIP", SETTLE, || {
        client_neighbour(&lab) == Some(router_mac(&lab, 1))
    })
    .unwrap_or_else(|error| panic!("{error}: neighbour {:?}", client_neighbour(&lab)));
    // The router's own address still answers: only the VIP is refused.
    let own = lab.lab.exec(&lab.client, "ping", &["-c", "1", "-W", "2", "192.0.2.1"]);
    assert!(own.is_ok(), "server 1's own address answers");

    // Failover: server 2 refuses, server 1 (in FAULT, its link down) no longer does.
    lab.set_link(1, false).unwrap();
    lab.wait_for_master(2, ELECTION).expect("server 2 takes over");
    lab.lab.exec(&lab.client, "ip", &["neigh", "flush", "dev", "eth0"]).unwrap();
    refused_by(2, "the failover");
    wait_until("the client resolves the VIP to server 2", SETTLE, || {
        client_neighbour(&lab) == Some(router_mac(&lab, 2))
    })
    .unwrap_or_else(|error| panic!("{error}: neighbour {:?}", client_neighbour(&lab)));

    // Server 1 comes back and preempts: the refusal moves back with the VIP.
    lab.set_link(1, true).unwrap();
    lab.wait_for_master(1, ELECTION).expect("server 1 preempts");
    refused_by(1, "the preemption");
}

#[test]
fn a_no_accept_master_drops_pings_to_the_vip_while_arp_resolves() {
    no_accept_scenario(Daemon::Vrrpd);
}

#[test]
fn a_no_accept_master_at_tc_ingress_drops_the_same_pings() {
    no_accept_scenario(Daemon::VrrpdTc);
}

/// The same file on keepalived 2.2.7 (its nftables rules, in the router's namespace): the same
/// pings go unanswered and the VIP resolves to the same router after each step.
#[test]
fn keepalived_drops_the_same_pings_with_its_firewall_rules() {
    no_accept_scenario(Daemon::Keepalived);
}

#[test]
fn an_accept_master_answers_pings_to_the_vip() {
    let lab = elected(Daemon::Vrrpd, "accept");
    wait_until("the client's ping to the VIP is answered", SETTLE, || lab.client_ping()).unwrap();
    assert_eq!(refused(&lab, 1), Vec::<String>::new());
    assert_eq!(refused(&lab, 2), Vec::<String>::new());
    assert_eq!(not_accepted(&lab, 1), 0);
    let pin = pin_dir(&lab, 1);
    assert!(Path::new(&pin).join(names::NOT_ACCEPTED_COUNT).exists(), "the maps are pinned");
}

/// keepalived with `accept` answers the same ping: its unanswered pings above are its rules'.
#[test]
fn keepalived_with_accept_answers_the_same_ping() {
    let lab = elected(Daemon::Keepalived, "accept");
    wait_until("the client's ping to the VIP is answered", SETTLE, || lab.client_ping()).unwrap();
}

/// IPv6 through the real stack: an excluded IPv6 address of the instance (keepalived refuses
/// those too, vrrp_iptables.c handle_iptables_accept_mode()) resolves by neighbour discovery,
/// and the client's ping6 to it is dropped and counted.
#[test]
fn ipv6_to_a_no_accept_master_is_refused_while_neighbour_discovery_resolves() {
    const VIP6: &str = "2001:db8::100";
    require_root();
    let mut lab = ReferenceLab::with_prefix("ac").expect("building the lab");
    lab.lab
        .exec(&lab.client, "ip", &["-6", "addr", "add", "2001:db8::10/64", "dev", "eth0"])
        .unwrap();
    let lines = format!(
        "    no_accept\n    virtual_ipaddress_excluded {{\n        {VIP6}/64\n    }}\n    \
         virtual_ipaddress {{"
    );
    for n in [1, 2] {
        let text = vrrp_tests::lab::reference_config(n).replace("    virtual_ipaddress {", &lines);
        let config = lab.write_config(n, "keepalived.conf", &text).unwrap();
        lab.start_vrrpd(n, &config, &[]).unwrap();
    }
    lab.wait_for_master(1, ELECTION).expect("server 1 (priority 110) becomes master");
    let refuses_both = || {
        let mut held = refused(&lab, 1);
        held.sort();
        held == [VIP.to_owned(), VIP6.to_owned()]
    };
    wait_until("server 1 refuses both addresses", SETTLE, refuses_both)
        .unwrap_or_else(|error| panic!("{error}: {:?}", refused(&lab, 1)));
    let before = not_accepted(&lab, 1);
    let ping6 = lab.lab.exec(&lab.client, "ping", &["-6", "-c", "1", "-W", "1", VIP6]);
    assert!(ping6.is_err(), "server 1 answered a ping to {VIP6}");
    wait_until("the refused ping6 is counted", SETTLE, || not_accepted(&lab, 1) > before).unwrap();
    let neighbour = || {
        let out = lab.lab.exec(&lab.client, "ip", &["-6", "neigh", "show", VIP6, "dev", "eth0"]);
        out.map(|out| String::from_utf8_lossy(&out.stdout).into_owned()).unwrap_or_default()
    };
    let mac = router_mac(&lab, 1);
    wait_until("the client resolves the IPv6 address to server 1", SETTLE, || {
        neighbour().contains(&format!("lladdr {mac}"))
    })
    .unwrap_or_else(|error| panic!("{error}: {:?}", neighbour()));
}

/// Without a kernel program nothing refuses the traffic: the start says so, and the ping is
/// answered.
#[test]
fn on_the_socket_data_path_no_accept_is_said_to_be_unenforced() {
    require_root();
    let mut lab = ReferenceLab::with_prefix("ac").expect("building the lab");
    let text = vrrp_tests::lab::reference_config(1)
        .replace("    virtual_ipaddress {", "    no_accept\n    virtual_ipaddress {");
    let config = lab.write_config(1, "keepalived.conf", &text).unwrap();
    let d1 = lab.start_vrrpd(1, &config, &["--datapath", "socket"]).unwrap();
    lab.daemon(d1)
        .wait_for_log("no_accept is not enforced on the socket data path", SETTLE)
        .expect("the warning at start");
    lab.wait_for_master(1, ELECTION).expect("server 1 becomes master alone");
    wait_until("the client's ping to the VIP is answered", SETTLE, || lab.client_ping()).unwrap();
}
