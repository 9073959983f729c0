//! More of RFC 9568 and keepalived's behaviour in the namespace lab, with the XDP data path:
//! nopreempt, preempt_delay, a partition that heals, multicast, and IPv6 with neighbour
//! advertisements.

use std::time::{Duration, Instant};

use vrrp_tests::{
    lab::{reference_config, ReferenceLab, VIP},
    require_root, timeline, wait_until,
};

/// A deadline, not a figure: a debug build's start-up plus Master_Down_Interval took past
/// 12 s on a loaded 2-core machine.
const ELECTION: Duration = Duration::from_secs(30);
/// A notify script is spawned at the transition and may take this long to run on a loaded machine.
const SCRIPT_RUN: Duration = Duration::from_secs(10);

fn lab_with(configs: [String; 2]) -> (ReferenceLab, [std::path::PathBuf; 2]) {
    let lab = ReferenceLab::new().unwrap();
    let [a, b] = configs;
    let paths = [
        lab.write_config(1, "keepalived.conf", &a).unwrap(),
        lab.write_config(2, "keepalived.conf", &b).unwrap(),
    ];
    (lab, paths)
}

/// The reference file of server `n` without its unicast lines: multicast advertisements.
fn multicast_config(n: usize) -> String {
    let text = reference_config(n);
    let start = text.find("    # The IP address of the interface keepalived listens on").unwrap();
    let end = text.find("    virtual_ipaddress").unwrap();
    format!("{}{}", &text[..start], &text[end..])
}

#[test]
fn nopreempt_leaves_the_running_master_alone() {
    require_root();
    let server1 = reference_config(1).replace("state BACKUP", "state BACKUP\n    nopreempt");
    let (mut lab, [c1, c2]) = lab_with([server1, reference_config(2)]);
    lab.start_vrrpd(2, &c2, &[]).unwrap();
    lab.wait_for_master(2, ELECTION).unwrap();
    let d1 = lab.start_vrrpd(1, &c1, &[]).unwrap();
    lab.daemon(d1).wait_for_log("INIT -> BACKUP", ELECTION).unwrap();
    std::thread::sleep(Duration::from_secs(6));
    assert!(lab.has_vip(2).unwrap() && !lab.has_vip(1).unwrap(), "server 1 must not preempt");
}

#[test]
fn preempt_delay_holds_preemption_back() {
    require_root();
    let server1 = reference_config(1).replace("state BACKUP", "state BACKUP\n    preempt_delay 7");
    let (mut lab, [c1, c2]) = lab_with([server1, reference_config(2)]);
    lab.start_vrrpd(2, &c2, &[]).unwrap();
    lab.wait_for_master(2, ELECTION).unwrap();
    let started = Instant::now();
    lab.start_vrrpd(1, &c1, &[]).unwrap();
    lab.wait_for_master(1, ELECTION + Duration::from_secs(7)).unwrap();
    let waited = started.elapsed();
    println!("server 1 preempted {waited:?} after its start (preempt_delay 7 s)");
    assert!(waited >= Duration::from_secs(7), "preempted after {waited:?}, before the delay");
}

#[test]
fn a_healed_partition_leaves_one_master_and_fresh_announcements() {
    require_root();
    let (mut lab, [c1, c2]) = lab_with([reference_config(1), reference_config(2)]);
    // Server 2 first, then server 1 preempts it: server 1 has already heard server 2, so the
    // advertisements after the heal are not news to its kernel record.
    lab.start_vrrpd(2, &c2, &[]).unwrap();
    lab.wait_for_master(2, ELECTION).unwrap();
    lab.start_vrrpd(1, &c1, &[]).unwrap();
    lab.wait_for_master(1, ELECTION).unwrap();
    // Cut server 1 off the bridge: server 2 becomes master too, and the client follows it.
    lab.lab.exec(&lab.switch, "ip", &["link", "set", "p1", "nomaster"]).unwrap();
    let deadline = Instant::now() + ELECTION;
    while !(lab.has_vip(2).unwrap() && lab.client_ping()) {
        assert!(Instant::now() < deadline, "server 2 did not take over during the partition");
    }
    assert!(lab.has_vip(1).unwrap(), "two masters while partitioned");
    let observed = timeline::Observation::start(&lab, 2, "heal").unwrap();
    let healed = vrrp_tests::lab::now_ms();
    lab.lab.exec(&lab.switch, "ip", &["link", "set", "p1", "master", "br0"]).unwrap();
    let took = lab.wait_for_master(1, Duration::from_secs(3)).expect("one master after healing");
    println!("healed: one master {:.0} ms after the heal", vrrp_tests::lab::now_ms() - healed);
    let _ = took;
    // Server 1 answers server 2's lower priority with announcements at once, or, when it
    // answered one within garp_lower_prio_delay (keepalived's default: vrrp_garp_master_delay,
    // 5 s) before the partition, once that delay has passed.
    let mac1 = timeline::mac_text(&lab, 1).unwrap();
    let announced = || timeline::first_garp_ms(&observed.client.text(), &mac1, healed).is_some();
    let garp =
        vrrp_tests::wait_until("an announcement after the heal", Duration::from_secs(6), announced);
    assert!(
        garp.is_ok(),
        "server 1 announced the VIP again after the heal:\n{}\n{}",
        lab.daemon(0).log_text(),
        observed.client.text()
    );
    let neighbour = lab.lab.exec(&lab.client, "ip", &["neigh", "show", VIP]).unwrap();
    let neighbour = String::from_utf8_lossy(&neighbour.stdout).into_owned();
    assert!(neighbour.contains(&mac1), "the client follows server 1 again: {neighbour}");
}

#[test]
fn multicast_advertisements_elect_and_fail_over() {
    require_root();
    assert!(!multicast_config(1).contains("unicast"));
    let (mut lab, [c1, c2]) = lab_with([multicast_config(1), multicast_config(2)]);
    let d1 = lab.start_vrrpd(1, &c1, &[]).unwrap();
    let d2 = lab.start_vrrpd(2, &c2, &[]).unwrap();
    lab.wait_for_master(1, ELECTION).unwrap();
    lab.daemon(d2).wait_for_log("multicast", Duration::from_secs(1)).unwrap();
    lab.daemon(d1).signal(libc::SIGTERM);
    lab.wait_for_master(2, ELECTION).expect("server 2 takes over over multicast");
}

#[test]
fn ipv6_addresses_move_with_neighbour_advertisements() {
    require_root();
    let config = |priority: u8| {
        format!(
            "vrrp_instance V6 {{\n    interface ens3\n    virtual_router_id 61\n    priority {priority}\n    \
             advert_int 1\n    virtual_ipaddress {{\n        fe80::61/64\n        2001:db8::100/64\n    }}\n}}\n"
        )
    };
    let (mut lab, [c1, c2]) = lab_with([config(110), config(100)]);
    lab.lab.exec(&lab.client, "ip", &["addr", "add", "2001:db8::10/64", "dev", "eth0"]).unwrap();
    let d1 = lab.start_vrrpd(1, &c1, &[]).unwrap();
    lab.start_vrrpd(2, &c2, &[]).unwrap();
    let holds = |lab: &ReferenceLab, n: usize| {
        let out = lab
            .lab
            .exec(lab.router(n), "ip", &["-6", "-o", "addr", "show", "dev", "ens3"])
            .unwrap();
        String::from_utf8_lossy(&out.stdout).contains("2001:db8::100/64")
    };
    let deadline = Instant::now() + ELECTION;
    while !holds(&lab, 1) {
        assert!(Instant::now() < deadline, "server 1 did not take the IPv6 VIP");
        std::thread::sleep(Duration::from_millis(20));
    }
    let ping = |lab: &ReferenceLab| {
        lab.lab.exec(&lab.client, "ping", &["-6", "-c", "1", "-W", "1", "2001:db8::100"]).is_ok()
    };
    assert!(ping(&lab), "the client reaches the IPv6 VIP through server 1");
    let mac2 = timeline::mac_text(&lab, 2).unwrap();

    lab.daemon(d1).signal(libc::SIGTERM);
    let deadline = Instant::now() + ELECTION;
    while !holds(&lab, 2) {
        assert!(Instant::now() < deadline, "server 2 did not take the IPv6 VIP");
        std::thread::sleep(Duration::from_millis(20));
    }
    // The unsolicited NA (Override flag) updates the client's entry without a new solicitation.
    let deadline = Instant::now() + Duration::from_secs(2);
    loop {
        let out =
            lab.lab.exec(&lab.client, "ip", &["-6", "neigh", "show", "2001:db8::100"]).unwrap();
        let entry = String::from_utf8_lossy(&out.stdout).into_owned();
        if entry.contains(&mac2) {
            break;
        }
        assert!(Instant::now() < deadline, "the client still has {entry:?}, not server 2's {mac2}");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(ping(&lab), "the client reaches the IPv6 VIP through server 2");
}

#[test]
fn a_new_primary_address_is_followed() {
    require_root();
    // Multicast, no unicast_src_ip: the instance speaks from the interface's primary address.
    let (mut lab, [c1, _]) = lab_with([multicast_config(1), multicast_config(2)]);
    let daemon = lab.start_vrrpd(1, &c1, &[]).unwrap();
    lab.wait_for_master(1, ELECTION).unwrap();
    let router = lab.router(1).to_owned();
    lab.lab.exec(&router, "ip", &["addr", "add", "198.51.100.1/24", "dev", "ens3"]).unwrap();
    lab.lab.exec(&router, "ip", &["addr", "del", "192.0.2.1/24", "dev", "ens3"]).unwrap();
    lab.daemon(daemon)
        .wait_for_log("primary address changed from 192.0.2.1 to 198.51.100.1", ELECTION)
        .unwrap();
    lab.daemon(daemon).wait_for_log("BACKUP -> MASTER", ELECTION).unwrap();
}

#[test]
fn link_down_is_a_fault_and_a_removed_vip_is_put_back() {
    require_root();
    let (mut lab, [c1, c2]) = lab_with([reference_config(1), reference_config(2)]);
    let d1 = lab.start_vrrpd(1, &c1, &[]).unwrap();
    lab.start_vrrpd(2, &c2, &[]).unwrap();
    lab.wait_for_master(1, ELECTION).unwrap();

    // Another agent removes the VIP from the master: it comes back.
    lab.lab
        .exec(lab.router(1), "ip", &["addr", "del", &format!("{VIP}/32"), "dev", "ens3"])
        .unwrap();
    lab.daemon(d1).wait_for_log("removed by another agent", Duration::from_secs(2)).unwrap();
    lab.wait_for_master(1, Duration::from_secs(2)).expect("the VIP is back on server 1");

    // keepalived's semantics: the interface going down puts the instance in FAULT.
    lab.set_link(1, false).unwrap();
    lab.daemon(d1).wait_for_log("MASTER -> FAULT", Duration::from_secs(2)).unwrap();
    lab.wait_for_release(1, Duration::from_secs(2)).expect("a faulty instance holds no address");
    lab.wait_for_master(2, ELECTION).expect("server 2 takes over");
    lab.set_link(1, true).unwrap();
    lab.daemon(d1).wait_for_log("FAULT -> BACKUP", Duration::from_secs(2)).unwrap();
    lab.wait_for_master(1, ELECTION).expect("server 1 preempts once its link is back");
}

#[test]
fn scripts_notify_and_track() {
    require_root();
    let lab = ReferenceLab::new().unwrap();
    let notified = lab.dir.join("notified.log");
    let notify = lab.dir.join("notify.sh");
    std::fs::write(&notify, format!("#!/bin/sh\necho \"$@\" >> {}\n", notified.display())).unwrap();
    let marker = lab.dir.join("became-master");
    std::process::Command::new("chmod").arg("755").arg(&notify).status().unwrap();
    // Server 1 runs a failing check weighing -20: priority 110 - 20 = 90 < 100.
    let server1 = reference_config(1)
        .replace(
            "vrrp_instance VI01 {",
            "vrrp_script chk {\n    script \"/bin/false\"\n    interval 1\n    fall 1\n    rise 1\n    weight -20\n}\n\nvrrp_instance VI01 {",
        )
        .replace(
            "    virtual_ipaddress {",
            &format!(
                "    track_script {{\n        chk\n    }}\n    notify {}\n    notify_master \"/usr/bin/touch {}\"\n    virtual_ipaddress {{",
                notify.display(),
                marker.display()
            ),
        );
    let (mut lab, [c1, c2]) = {
        let paths = [
            lab.write_config(1, "keepalived.conf", &server1).unwrap(),
            lab.write_config(2, "keepalived.conf", &reference_config(2)).unwrap(),
        ];
        (lab, paths)
    };
    let d1 = lab.start_vrrpd(1, &c1, &[]).unwrap();
    lab.wait_for_master(1, ELECTION).expect("alone, server 1 becomes master");
    // Notify scripts run asynchronously: the VIP can be there before they have run.
    wait_until("notify_master ran", SCRIPT_RUN, || marker.exists()).unwrap();
    wait_until("notify ran with keepalived's arguments", SCRIPT_RUN, || {
        std::fs::read_to_string(&notified).unwrap_or_default().contains("INSTANCE VI01 MASTER")
    })
    .unwrap();
    lab.daemon(d1).wait_for_log("vrrp_script chk: failed", ELECTION).unwrap();
    lab.start_vrrpd(2, &c2, &[]).unwrap();
    lab.wait_for_master(2, ELECTION).expect("server 2 (100) wins against server 1 at 110 - 20");
}

#[test]
fn a_tracked_interface_fault_takes_its_sync_group_with_it() {
    require_root();
    // Two instances on server 1; the second tracks uplink0; both are one sync group.
    let second = reference_config(1)
        .replace("VI01", "VI03")
        .replace("virtual_router_id 123", "virtual_router_id 124")
        .replace("192.0.2.100", "192.0.2.101")
        .replace(
            "    virtual_ipaddress {",
            "    track_interface {\n        uplink0\n    }\n    virtual_ipaddress {",
        );
    let second = &second[second.find("vrrp_instance").unwrap()..];
    let config = format!(
        "{}\n{second}\nvrrp_sync_group G1 {{\n    group {{\n        VI01\n        VI03\n    }}\n}}\n",
        reference_config(1)
    );
    let (mut lab, [c1, _]) = lab_with([config, reference_config(2)]);
    let router = lab.router(1).to_owned();
    // A veth pair inside server 1 stands for a second link (its carrier follows both ends).
    let link = ["link", "add", "uplink0", "type", "veth", "peer", "name", "uplink1"];
    lab.lab.exec(&router, "ip", &link).unwrap();
    lab.lab.exec(&router, "ip", &["link", "set", "uplink1", "up"]).unwrap();
    lab.lab.exec(&router, "ip", &["link", "set", "uplink0", "up"]).unwrap();
    let daemon = lab.start_vrrpd(1, &c1, &[]).unwrap();
    lab.wait_for_master(1, ELECTION).unwrap();
    lab.daemon(daemon).wait_for_log("VI03: BACKUP -> MASTER", ELECTION).unwrap();

    lab.lab.exec(&router, "ip", &["link", "set", "uplink0", "down"]).unwrap();
    lab.daemon(daemon).wait_for_log("VI03: MASTER -> FAULT", Duration::from_secs(2)).unwrap();
    lab.daemon(daemon).wait_for_log("VI01: MASTER -> FAULT", Duration::from_secs(2)).unwrap();
    lab.wait_for_release(1, Duration::from_secs(2))
        .expect("the group's other instance gave its address up too");
    lab.lab.exec(&router, "ip", &["link", "set", "uplink0", "up"]).unwrap();
    lab.daemon(daemon).wait_for_log("VI01: FAULT -> BACKUP", Duration::from_secs(2)).unwrap();
    lab.wait_for_master(1, ELECTION).expect("back to master once uplink0 is up");
}

#[test]
fn reload_removes_an_instance_and_detaches_its_interface_without_touching_the_others() {
    require_root();
    // Server 1 alone, with a second instance (multicast) on a second link.
    let second = "vrrp_instance VI09 {\n    interface uplink0\n    virtual_router_id 9\n    \
                  priority 110\n    virtual_ipaddress {\n        198.51.100.100\n    }\n}\n";
    let both = format!("{}\n{second}", reference_config(1));
    let (mut lab, [c1, _]) = lab_with([both, reference_config(2)]);
    let router = lab.router(1).to_owned();
    let link = ["link", "add", "uplink0", "type", "veth", "peer", "name", "uplink1"];
    lab.lab.exec(&router, "ip", &link).unwrap();
    lab.lab.exec(&router, "ip", &["addr", "add", "198.51.100.1/24", "dev", "uplink0"]).unwrap();
    lab.lab.exec(&router, "ip", &["link", "set", "uplink1", "up"]).unwrap();
    lab.lab.exec(&router, "ip", &["link", "set", "uplink0", "up"]).unwrap();
    let daemon = lab.start_vrrpd(1, &c1, &[]).unwrap();
    lab.daemon(daemon).wait_for_log("VI09: BACKUP -> MASTER", ELECTION).unwrap();
    lab.wait_for_master(1, ELECTION).unwrap();
    let uplink_xdp = |lab: &ReferenceLab| {
        let out = lab.lab.exec(lab.router(1), "ip", &["-d", "link", "show", "uplink0"]).unwrap();
        String::from_utf8_lossy(&out.stdout).contains("prog/xdp")
    };
    assert!(uplink_xdp(&lab), "XDP on the second link");

    std::fs::write(&c1, reference_config(1)).unwrap();
    lab.daemon(daemon).signal(libc::SIGHUP);
    lab.daemon(daemon).wait_for_log("XDP detached from uplink0", Duration::from_secs(3)).unwrap();
    assert!(!uplink_xdp(&lab), "no XDP left on the link no instance uses");
    let uplink = lab.lab.exec(&router, "ip", &["-o", "addr", "show", "dev", "uplink0"]).unwrap();
    assert!(!String::from_utf8_lossy(&uplink.stdout).contains("198.51.100.100"), "VI09's VIP gone");
    let log = lab.daemon(daemon).log_text();
    let after = &log[log.find("reloading").unwrap()..];
    assert!(!after.contains("VI01: MASTER ->"), "VI01 must not flap:\n{after}");
    assert!(lab.has_vip(1).unwrap());
}

#[test]
fn a_pinned_peer_mac_refuses_a_forger_in_the_kernel() {
    require_root();
    // Server 2 pins server 1's address to a MAC server 1 does not have: to server 2, server 1's
    // advertisements are forgeries, dropped in the kernel, so server 2 becomes master as well.
    let lab = ReferenceLab::new().unwrap();
    let mac1 = timeline::mac_text(&lab, 1).unwrap();
    let pinned = |mac: &str| {
        reference_config(2).replace(
            &format!("        {}\n", vrrp_tests::lab::SERVER1),
            &format!("        {} mac {mac}\n", vrrp_tests::lab::SERVER1),
        )
    };
    assert!(pinned("x").contains(" mac x"), "the unicast_peer line was found");
    let c1 = lab.write_config(1, "keepalived.conf", &reference_config(1)).unwrap();
    let wrong = lab.write_config(2, "wrong.conf", &pinned("02:00:00:00:00:99")).unwrap();
    let right = lab.write_config(2, "right.conf", &pinned(&mac1)).unwrap();
    let mut lab = lab;
    lab.start_vrrpd(1, &c1, &[]).unwrap();
    lab.wait_for_master(1, ELECTION).unwrap();
    let d2 = lab.start_vrrpd(2, &wrong, &[]).unwrap();
    lab.daemon(d2).wait_for_log("BACKUP -> MASTER", ELECTION).unwrap();
    let pins = lab.bpffs.join("r2");
    let counters = vrrp_user::xdp::pinned_counters(&pins).unwrap();
    let dropped = counters[vrrp_common::Counter::MacMismatch as usize];
    assert!(dropped > 0, "server 1's advertisements counted as mac_mismatch");
    lab.daemon(d2).stop(Duration::from_secs(5));

    // With server 1's real MAC pinned, server 2 follows it.
    let d2 = lab.start_vrrpd(2, &right, &[]).unwrap();
    lab.daemon(d2).wait_for_log("INIT -> BACKUP", ELECTION).unwrap();
    std::thread::sleep(Duration::from_secs(5));
    assert!(!lab.has_vip(2).unwrap(), "server 2 stays backup behind the pinned master");
    let counters = vrrp_user::xdp::pinned_counters(&pins).unwrap();
    assert_eq!(counters[vrrp_common::Counter::MacMismatch as usize], 0);
}

#[test]
fn after_a_crash_ipv6_adverts_come_from_the_interfaces_own_link_local_address() {
    require_root();
    let config = "vrrp_instance V6 {\n    interface ens3\n    virtual_router_id 62\n    \
                  priority 110\n    advert_int 1\n    virtual_ipaddress {\n        fe80::62/64\n        \
                  2001:db8::62/64\n    }\n}\n";
    let mut lab = ReferenceLab::with_prefix("sk").unwrap();
    let path = lab.write_config(1, "keepalived.conf", config).unwrap();
    let own = {
        let out = lab.lab.exec(lab.router(1), "ip", &["-6", "-o", "addr", "show", "dev", "ens3"]);
        let text = String::from_utf8_lossy(&out.unwrap().stdout).into_owned();
        let word = text.split_whitespace().find(|word| word.starts_with("fe80::"));
        word.and_then(|word| word.split('/').next()).expect("ens3's own link-local").to_owned()
    };
    let crashed = lab.start_vrrpd(1, &path, &[]).unwrap();
    lab.daemon(crashed).wait_for_log("BACKUP -> MASTER", ELECTION).unwrap();
    // The state is logged before the addresses are in place: killed earlier, there would be
    // no leftover to avoid.
    let addresses = |lab: &ReferenceLab| {
        let out = lab.lab.exec(lab.router(1), "ip", &["-6", "-o", "addr", "show", "dev", "ens3"]);
        String::from_utf8_lossy(&out.unwrap().stdout).into_owned()
    };
    let deadline = Instant::now() + ELECTION;
    while !addresses(&lab).contains("fe80::62/64") {
        assert!(Instant::now() < deadline, "the master never added fe80::62");
        std::thread::sleep(Duration::from_millis(20));
    }
    lab.daemon(crashed).kill();
    let leftovers = lab.lab.exec(lab.router(1), "ip", &["-6", "-o", "addr", "show", "dev", "ens3"]);
    let leftovers = String::from_utf8_lossy(&leftovers.unwrap().stdout).into_owned();
    assert!(
        leftovers.contains("fe80::62/64"),
        "the crash left the virtual link-local:\n{leftovers}"
    );

    let restarted = lab.start_vrrpd(1, &path, &[]).unwrap();
    lab.daemon(restarted).wait_for_log("BACKUP -> MASTER", ELECTION).unwrap();
    // Three adverts seen on the peer's side of the wire, within a bounded capture.
    let out = lab
        .lab
        .exec(
            lab.router(2),
            "timeout",
            &["10", "tcpdump", "-n", "-l", "-c", "3", "-i", "ens3", "ip6 and ip6[6] == 112"],
        )
        .expect("three IPv6 VRRP adverts within 10 s");
    let capture = String::from_utf8_lossy(&out.stdout).into_owned();
    let sources: Vec<&str> = capture
        .lines()
        .filter_map(|line| line.split_whitespace().skip_while(|w| *w != "IP6").nth(1))
        .collect();
    assert_eq!(sources.len(), 3, "{capture}");
    assert!(
        sources.iter().all(|source| *source == own),
        "sources {sources:?}, not {own}:\n{capture}"
    );
}

/// A VIP a crashed run left under another prefix (its configuration said /24, this one says
/// /32) is still this router's: removed while it is backup, so that only the master's own form
/// is on the interface once it is master. vrrpd deletes an address in the form it adds it, and
/// falls back to the interface's listing when that form is not there.
#[test]
fn a_leftover_vip_under_another_prefix_is_removed_before_the_router_is_master() {
    require_root();
    let mut lab = ReferenceLab::with_prefix("sk").unwrap();
    let leftover = format!("{VIP}/24");
    lab.lab.exec(lab.router(1), "ip", &["addr", "add", &leftover, "dev", "ens3"]).unwrap();
    let path = lab.write_config(1, "keepalived.conf", &reference_config(1)).unwrap();
    let daemon = lab.start_vrrpd(1, &path, &[]).unwrap();
    lab.daemon(daemon).wait_for_log("is already on the interface", ELECTION).unwrap();
    lab.daemon(daemon).wait_for_log("BACKUP -> MASTER", ELECTION).unwrap();
    let addresses = |lab: &ReferenceLab| {
        let out = lab.lab.exec(lab.router(1), "ip", &["-4", "-o", "addr", "show", "dev", "ens3"]);
        String::from_utf8_lossy(&out.unwrap().stdout).into_owned()
    };
    let own = format!("{VIP}/32");
    wait_until("the master's VIP", ELECTION, || addresses(&lab).contains(&own)).unwrap();
    let on_interface = addresses(&lab);
    assert!(!on_interface.contains(&leftover), "the leftover stayed:\n{on_interface}");
    let log = lab.daemon(daemon).log_text();
    assert!(!log.contains("ERROR"), "{log}");
}
