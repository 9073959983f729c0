//! `use_vmac` in namespaces: the master's macvlan `vrrp.51` with the virtual MAC
//! 00:00:5e:00:01:33 holds the VIP and answers the client's ARP for it; a failover moves it;
//! a crashed run's macvlan is reused, never doubled; a stop and `vrrpd cleanup` remove it.

use std::time::{Duration, Instant};

use vrrp_tests::{
    lab::{ReferenceLab, VIP},
    require_root,
};

const VMAC: &str = "vrrp.51";
const VIRTUAL_MAC: &str = "00:00:5e:00:01:33";
/// A deadline, not a figure (a debug build's start-up on a loaded machine).
const ELECTION: Duration = Duration::from_secs(20);

fn config(priority: u8, extra: &str) -> String {
    format!(
        "vrrp_instance VI_1 {{
    state BACKUP
    interface ens3
    virtual_router_id 51
    priority {priority}
    advert_int 1
    version 3
{extra}    virtual_ipaddress {{
        {VIP}/24
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

/// The source MAC of the next advertisement the client sees.
fn advert_source_mac(lab: &ReferenceLab) -> String {
    let out = text(lab.lab.exec(
        &lab.client,
        "timeout",
        &["10", "tcpdump", "-c", "1", "-e", "-n", "-i", "eth0", "ip proto 112"],
    ));
    out.split_whitespace().nth(1).unwrap_or_default().to_owned()
}

#[test]
fn vmac_xmit_base_advertises_from_the_base_interface() {
    require_root();
    let mut lab = ReferenceLab::new().expect("building the lab");
    let c1 = lab
        .write_config(1, "keepalived.conf", &config(110, "    use_vmac\n    vmac_xmit_base\n"))
        .unwrap();
    lab.start_vrrpd(1, &c1, &[]).unwrap();
    wait_until("router 1's vrrp.51 holding the VIP", ELECTION, || vmac_holds(&lab, 1));
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
