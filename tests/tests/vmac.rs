//! `use_vmac` in namespaces: the master's macvlan `vrrp.51` with the virtual MAC
//! 00:00:5e:00:01:33 holds the VIP and answers the client's ARP for it; one deleted by
//! another agent is made again; a failover moves it;
//! a crashed run's macvlan is reused, never doubled; a stop and `vrrpd cleanup` remove it.
//! With `vmac_xmit_base` advertisements leave from the base interface. IPv6: 00:00:5e:00:02:33,
//! neighbour discovery answered and advertisements sent with it.

use std::time::{Duration, Instant};

use vrrp_tests::{
    lab::{ReferenceLab, VIP},
    require_root,
};

const VMAC: &str = "vrrp.51";
const VIRTUAL_MAC: &str = "00:00:5e:00:01:33";
/// A deadline, not a figure (a debug build's start-up on a loaded machine).
const ELECTION: Duration = Duration::from_secs(30);

fn config(priority: u8, extra: &str) -> String {
    config_with(priority, extra, &format!("{VIP}/24"))
}

fn config_with(priority: u8, extra: &str, addresses: &str) -> String {
    format!(
        "vrrp_instance VI_1 {{
    state BACKUP
    interface ens3
    virtual_router_id 51
    priority {priority}
    advert_int 1
    version 3
{extra}    virtual_ipaddress {{
        {addresses}
    }}
}}
"
    )
}

fn wait_until(what: &str, timeout: Duration, mut check: impl FnMut() -> bool) {
    let start = Instant::now();
    while !check() {
        assert!(start.elapsed() < timeout, "{what} did not happen within {timeout:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn text(output: anyhow::Result<std::process::Output>) -> String {
    output.map(|out| String::from_utf8_lossy(&out.stdout).into_owned()).unwrap_or_default()
}

/// Whether router `n`'s macvlan holds the VIP.
fn vmac_holds(lab: &ReferenceLab, n: usize) -> bool {
    text(lab.lab.exec(lab.router(n), "ip", &["-o", "addr", "show", "dev", VMAC]))
        .contains(&format!(" {VIP}/"))
}

/// Router `n`'s macvlans, one line each.
fn macvlans(lab: &ReferenceLab, n: usize) -> Vec<String> {
    text(lab.lab.exec(lab.router(n), "ip", &["-o", "-d", "link", "show", "type", "macvlan"]))
        .lines()
        .map(str::to_owned)
        .collect()
}

/// Only router `n`'s macvlan holds the VIP, and neither `ens3` does.
fn only_master(lab: &ReferenceLab, n: usize) -> bool {
    vmac_holds(lab, n)
        && !vmac_holds(lab, 3 - n)
        && !lab.has_vip(1).unwrap_or(true)
        && !lab.has_vip(2).unwrap_or(true)
}

/// The client's neighbour entry for the VIP, after a ping through it.
fn client_resolves_vip_to_virtual_mac(lab: &ReferenceLab) -> bool {
    let _ = lab.lab.exec(&lab.client, "ip", &["neigh", "flush", "dev", "eth0"]);
    lab.client_ping()
        && text(lab.lab.exec(&lab.client, "ip", &["neigh", "show", VIP])).contains(VIRTUAL_MAC)
}

#[test]
fn the_master_answers_for_the_vip_with_the_virtual_mac_and_cleans_up() {
    require_root();
    let mut lab = ReferenceLab::new().expect("building the lab");
    let c1 = lab.write_config(1, "keepalived.conf", &config(110, "    use_vmac\n")).unwrap();
    let c2 = lab.write_config(2, "keepalived.conf", &config(100, "    use_vmac\n")).unwrap();
    let d1 = lab.start_vrrpd(1, &c1, &[]).unwrap();
    let d2 = lab.start_vrrpd(2, &c2, &[]).unwrap();
    wait_until("router 1's vrrp.51 holding the VIP alone", ELECTION, || only_master(&lab, 1));
    for n in [1, 2] {
        let links = macvlans(&lab, n);
        assert_eq!(links.len(), 1, "router {n}: one macvlan: {links:?}");
        let link = &links[0];
        assert!(link.contains(VMAC) && link.contains(VIRTUAL_MAC), "router {n}: {link}");
        assert!(link.contains("macvlan mode private"), "router {n}: {link}");
    }
    let status = lab.vrrpd_status(1).unwrap().expect("vrrpd answers");
    assert_eq!(status.instances[0].vmac.as_deref(), Some(VMAC), "{status:?}");
    // The kernel program stays on the parent, where the advertisements arrive.
    assert!(lab.xdp_attached(1).unwrap() && lab.xdp_attached(2).unwrap());
    wait_until("the client resolving the VIP to the virtual MAC", ELECTION, || {
        client_resolves_vip_to_virtual_mac(&lab)
    });

    // Another agent deletes the master's macvlan: it comes back, with the VIP.
    let before = text(lab.lab.exec(lab.router(1), "cat", &["/sys/class/net/vrrp.51/ifindex"]));
    lab.lab.exec(lab.router(1), "ip", &["link", "del", VMAC]).unwrap();
    lab.daemon(d1).wait_for_log("its macvlan was removed by another agent", ELECTION).unwrap();
    wait_until("router 1's vrrp.51 made again, with the VIP", ELECTION, || {
        let now = text(lab.lab.exec(lab.router(1), "cat", &["/sys/class/net/vrrp.51/ifindex"]));
        !now.is_empty() && now != before && only_master(&lab, 1)
    });
    wait_until("the client resolving the VIP to the new macvlan", ELECTION, || {
        client_resolves_vip_to_virtual_mac(&lab)
    });

    // A crash: router 2 takes over; router 1's restart reuses its macvlan (one, not two),
    // drops the stale VIP as backup, then preempts.
    lab.daemon(d1).kill();
    wait_until("router 2's vrrp.51 taking the VIP", ELECTION, || vmac_holds(&lab, 2));
    let d1 = lab.start_vrrpd(1, &c1, &[]).unwrap();
    lab.daemon(d1).wait_for_log("reusing the macvlan", ELECTION).unwrap();
    wait_until("router 1 preempting", ELECTION, || only_master(&lab, 1));
    assert_eq!(macvlans(&lab, 1).len(), 1, "router 1 after its restart: {:?}", macvlans(&lab, 1));
    wait_until("the client resolving the VIP to the virtual MAC again", ELECTION, || {
        client_resolves_vip_to_virtual_mac(&lab)
    });

    // A clean stop removes the macvlan; router 2 takes over.
    lab.daemon(d1).signal(libc::SIGTERM);
    let status = lab.daemon(d1).wait_exit(ELECTION).expect("vrrpd exits on SIGTERM");
    assert!(status.success(), "exit status {status:?}");
    assert!(macvlans(&lab, 1).is_empty(), "router 1 after its stop: {:?}", macvlans(&lab, 1));
    wait_until("router 2 taking over", ELECTION, || only_master(&lab, 2));
    wait_until("the client resolving the VIP through router 2", ELECTION, || {
        client_resolves_vip_to_virtual_mac(&lab)
    });

    // `vrrpd cleanup` after a crash removes the macvlan and the VIP with it.
    lab.daemon(d2).kill();
    let output = lab.cleanup(2, &c2).unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert!(macvlans(&lab, 2).is_empty(), "router 2 after cleanup: {:?}", macvlans(&lab, 2));
}

/// The source MAC of the next advertisement the client sees (tcpdump -e: the second field).
fn advert_source_mac(lab: &ReferenceLab) -> String {
    advert_source_mac_of(lab, "ip proto 112")
}

fn advert_source_mac_of(lab: &ReferenceLab, filter: &str) -> String {
    let out = text(lab.lab.exec(
        &lab.client,
        "timeout",
        &["10", "tcpdump", "-c", "1", "-e", "-n", "-i", "eth0", filter],
    ));
    out.split_whitespace().nth(1).unwrap_or_default().to_owned()
}

/// A private macvlan with the virtual MAC under another name (a run with another `use_vmac`
/// name) is replaced by the configured one, at start and by `vrrpd cleanup`.
#[test]
fn a_leftover_macvlan_with_the_virtual_mac_under_another_name_is_replaced() {
    require_root();
    let mut lab = ReferenceLab::new().expect("building the lab");
    // Down when vrrp.51 is up: two macvlans with one MAC on one parent cannot both be up.
    let old = |lab: &ReferenceLab, up: bool| {
        let args = ["link", "add", "link", "ens3", "name", "old51", "address", VIRTUAL_MAC, "type"];
        let mut args = args.to_vec();
        args.extend(["macvlan", "mode", "private"]);
        lab.lab.exec(lab.router(1), "ip", &args).unwrap();
        if up {
            lab.lab.exec(lab.router(1), "ip", &["link", "set", "old51", "up"]).unwrap();
        }
    };
    old(&lab, true);
    let c1 = lab.write_config(1, "keepalived.conf", &config(110, "    use_vmac\n")).unwrap();
    let d1 = lab.start_vrrpd(1, &c1, &[]).unwrap();
    wait_until("router 1's vrrp.51 holding the VIP", ELECTION, || vmac_holds(&lab, 1));
    let links = macvlans(&lab, 1);
    assert!(links.len() == 1 && links[0].contains(VMAC), "{links:?}");
    lab.daemon(d1).kill();
    old(&lab, false);
    assert_eq!(macvlans(&lab, 1).len(), 2, "{:?}", macvlans(&lab, 1));
    let output = lab.cleanup(1, &c1).unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert!(macvlans(&lab, 1).is_empty(), "after cleanup: {:?}", macvlans(&lab, 1));
}

#[test]
fn vmac_xmit_base_advertises_from_the_base_interface() {
    require_root();
    let mut lab = ReferenceLab::new().expect("building the lab");
    // Excluded addresses: of the instance's family on the macvlan, of the other on ens3
    // (keepalived vrrp.c vrrp_complete_instance()).
    let extra = "    use_vmac\n    vmac_xmit_base\n    virtual_ipaddress_excluded {\n        \
                 192.0.2.200/24\n        2001:db8::200/64\n    }\n";
    let c1 = lab.write_config(1, "keepalived.conf", &config(110, extra)).unwrap();
    lab.start_vrrpd(1, &c1, &[]).unwrap();
    wait_until("router 1's vrrp.51 holding the VIP", ELECTION, || vmac_holds(&lab, 1));
    wait_until("the excluded addresses in place", ELECTION, || {
        lab.holds_on(1, VMAC, "192.0.2.200").unwrap() && lab.holds(1, "2001:db8::200").unwrap()
    });
    assert!(!lab.holds_on(1, VMAC, "2001:db8::200").unwrap());
    let base = text(lab.lab.exec(lab.router(1), "cat", &["/sys/class/net/ens3/address"]));
    let source = advert_source_mac(&lab);
    assert_eq!(source, base.trim(), "advertisements leave from ens3 with its own MAC");
    wait_until("the client resolving the VIP to the virtual MAC", ELECTION, || {
        client_resolves_vip_to_virtual_mac(&lab)
    });

    // Without vmac_xmit_base they leave from the macvlan, with the virtual MAC.
    let c2 = lab.write_config(2, "keepalived.conf", &config(120, "    use_vmac\n")).unwrap();
    lab.start_vrrpd(2, &c2, &[]).unwrap();
    wait_until("router 2 preempting", ELECTION, || only_master(&lab, 2));
    let mut source = String::new();
    wait_until("an advertisement from the virtual MAC", ELECTION, || {
        source = advert_source_mac(&lab);
        source == VIRTUAL_MAC
    });
}

#[test]
fn an_ipv6_master_answers_neighbour_solicitations_with_the_virtual_mac() {
    require_root();
    const VIP6: &str = "2001:db8::100";
    const VIRTUAL_MAC6: &str = "00:00:5e:00:02:33";
    let mut lab = ReferenceLab::new().expect("building the lab");
    lab.add_address(1, "2001:db8::1/64").unwrap();
    let client = lab.client.clone();
    lab.lab
        .exec(&client, "ip", &["addr", "add", "2001:db8::10/64", "dev", "eth0", "nodad"])
        .unwrap();
    // vrrpd advertises from ens3's link-local, which must have left DAD first.
    wait_until("router 1's link-local leaving DAD", ELECTION, || {
        let shown = text(lab.lab.exec(lab.router(1), "ip", &["-6", "addr", "show", "dev", "ens3"]));
        shown.contains("scope link") && !shown.contains("tentative")
    });
    let addresses = format!("fe80::51/64\n        {VIP6}/64");
    let c1 = lab
        .write_config(1, "keepalived.conf", &config_with(110, "    use_vmac\n", &addresses))
        .unwrap();
    let d1 = lab.start_vrrpd(1, &c1, &[]).unwrap();
    wait_until("router 1's vrrp.51 holding the IPv6 VIP", ELECTION, || {
        lab.holds_on(1, VMAC, VIP6).unwrap()
    });
    assert!(!lab.holds(1, VIP6).unwrap(), "the VIP is on the macvlan, not on ens3");
    let links = macvlans(&lab, 1);
    assert!(links.len() == 1 && links[0].contains(VIRTUAL_MAC6), "{links:?}");
    wait_until("the client resolving the VIP to the virtual MAC", ELECTION, || {
        let _ = lab.lab.exec(&client, "ip", &["-6", "neigh", "flush", "dev", "eth0"]);
        lab.lab.exec(&client, "ping", &["-6", "-c", "1", "-W", "1", VIP6]).is_ok()
            && text(lab.lab.exec(&client, "ip", &["-6", "neigh", "show", VIP6]))
                .contains(VIRTUAL_MAC6)
    });
    assert_eq!(advert_source_mac_of(&lab, "ip6 proto 112"), VIRTUAL_MAC6);
    lab.daemon(d1).signal(libc::SIGTERM);
    lab.daemon(d1).wait_exit(ELECTION).expect("vrrpd exits on SIGTERM");
    assert!(macvlans(&lab, 1).is_empty(), "after the stop: {:?}", macvlans(&lab, 1));
}

/// A reload that adds `use_vmac` moves the VIP onto the macvlan; one that only adds
/// `vmac_xmit_base` restarts the instance on the same macvlan (never removed under it); one
/// that drops `use_vmac` removes the macvlan and puts the VIP back on the interface.
#[test]
fn reloads_create_keep_and_remove_the_macvlan() {
    require_root();
    let mut lab = ReferenceLab::new().expect("building the lab");
    let c1 = lab.write_config(1, "keepalived.conf", &config(110, "")).unwrap();
    let d1 = lab.start_vrrpd(1, &c1, &[]).unwrap();
    wait_until("router 1 holding the VIP on ens3", ELECTION, || lab.has_vip(1).unwrap());
    assert!(macvlans(&lab, 1).is_empty());

    reload(&mut lab, d1, &c1, "    use_vmac\n", 1);
    wait_until("the VIP moving onto vrrp.51", ELECTION, || {
        vmac_holds(&lab, 1) && !lab.has_vip(1).unwrap()
    });
    let index = text(lab.lab.exec(lab.router(1), "cat", &["/sys/class/net/vrrp.51/ifindex"]));

    reload(&mut lab, d1, &c1, "    use_vmac\n    vmac_xmit_base\n", 2);
    wait_until("the VIP back on vrrp.51 after the restart", ELECTION, || vmac_holds(&lab, 1));
    let again = text(lab.lab.exec(lab.router(1), "cat", &["/sys/class/net/vrrp.51/ifindex"]));
    assert_eq!(index, again, "the same macvlan, not a new one");
    assert_eq!(macvlans(&lab, 1).len(), 1, "{:?}", macvlans(&lab, 1));

    reload(&mut lab, d1, &c1, "", 3);
    wait_until("the macvlan gone and the VIP back on ens3", ELECTION, || {
        macvlans(&lab, 1).is_empty() && lab.has_vip(1).unwrap()
    });
}

/// Router 1's file with `extra`, then SIGHUP; returns once the `round`th reload is logged.
fn reload(
    lab: &mut ReferenceLab,
    daemon: usize,
    path: &std::path::Path,
    extra: &str,
    round: usize,
) {
    std::fs::write(path, config(110, extra)).unwrap();
    lab.daemon(daemon).signal(libc::SIGHUP);
    wait_until(&format!("reload {round}"), ELECTION, || {
        lab.daemon(daemon).log_text().matches("reloaded ").count() >= round
    });
}

/// A start that fails after one instance made its macvlan (the next one's name is taken by
/// an interface that is not a macvlan, which is never removed) leaves no macvlan behind.
#[test]
fn a_failed_start_leaves_no_macvlan() {
    require_root();
    let mut lab = ReferenceLab::new().expect("building the lab");
    lab.lab.exec(lab.router(1), "ip", &["link", "add", "dum0", "type", "bridge"]).unwrap();
    let taken = config(110, "    use_vmac dum0\n")
        .replace("VI_1", "VI_2")
        .replace("virtual_router_id 51", "virtual_router_id 52")
        .replace(VIP, "192.0.2.101");
    let text = format!("{}{taken}", config(110, "    use_vmac\n"));
    let c1 = lab.write_config(1, "keepalived.conf", &text).unwrap();
    let d1 = lab.start_vrrpd(1, &c1, &[]).unwrap();
    let status = lab.daemon(d1).wait_exit(ELECTION).expect("vrrpd gives up");
    let log = lab.daemon(d1).log_text();
    assert!(!status.success(), "{log}");
    assert!(log.contains("dum0: an interface of that name exists and is not a macvlan"), "{log}");
    assert!(macvlans(&lab, 1).is_empty(), "{:?}", macvlans(&lab, 1));
    assert!(lab.lab.exec(lab.router(1), "ip", &["link", "show", "dum0"]).is_ok(), "dum0 stays");
}
