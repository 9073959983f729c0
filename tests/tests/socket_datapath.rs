//! The raw-socket data path as a peer of the XDP path, in namespaces: exactly one master over
//! IPv4 and IPv6 multicast, beside an XDP peer in unicast, and with many instances.
//!
//! "One master" is checked over a steady-state window after convergence, not at one instant:
//! a split brain shows as the backup taking the addresses a master-down interval later.

use std::time::{Duration, Instant};

use vrrp_tests::{
    lab::{reference_config, ReferenceLab, VIP},
    require_root,
};

/// A deadline, not a figure: a debug build's start-up plus Master_Down_Interval took past
/// 12 s on a loaded 2-core machine.
const ELECTION: Duration = Duration::from_secs(30);
/// Several master-down intervals at advert_int 1 (3.6 s for priority 100).
const STEADY: Duration = Duration::from_secs(8);

fn addresses(lab: &ReferenceLab, n: usize) -> String {
    let out = lab.lab.exec(lab.router(n), "ip", &["-o", "addr", "show", "dev", "ens3"]).unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Whether router `n` holds `address` (as `ip -o addr` prints it, with its prefix length).
fn holds(lab: &ReferenceLab, n: usize, address: &str) -> bool {
    addresses(lab, n).contains(&format!(" {address} "))
}

/// Waits until router `n` alone holds `address`.
fn wait_for_only(lab: &ReferenceLab, n: usize, address: &str, timeout: Duration) {
    let deadline = Instant::now() + timeout;
    while !holds(lab, n, address) || holds(lab, 3 - n, address) {
        assert!(
            Instant::now() < deadline,
            "router {n} did not become the only holder of {address} within {timeout:?} \
             (r1: {}, r2: {})",
            holds(lab, 1, address),
            holds(lab, 2, address)
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Asserts that router `n` alone holds `address` throughout `window`.
fn stays_only(lab: &ReferenceLab, n: usize, address: &str, window: Duration) {
    let end = Instant::now() + window;
    while Instant::now() < end {
        let (mine, other) = (holds(lab, n, address), holds(lab, 3 - n, address));
        assert!(mine && !other, "{address}: router {n} holds it: {mine}, the other: {other}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn master_transitions(log: &str) -> usize {
    log.lines().filter(|line| line.contains("-> MASTER")).count()
}

/// The reference file of server `n` without its unicast lines: multicast advertisements.
fn multicast_config(n: usize) -> String {
    let text = reference_config(n);
    let start = text.find("    # The IP address of the interface keepalived listens on").unwrap();
    let end = text.find("    virtual_ipaddress").unwrap();
    format!("{}{}", &text[..start], &text[end..])
}

/// Two daemons with `configs` and per-router arguments; router 1 (priority 110) must win,
/// stay the only master, and hand over to router 2 when it stops.
fn elects_and_fails_over(configs: [String; 2], args: [&[&str]; 2], address: &str) {
    let mut lab = ReferenceLab::with_prefix("sk").unwrap();
    let mut daemons = Vec::new();
    for (n, (config, args)) in [1, 2].into_iter().zip(configs.iter().zip(args)) {
        let path = lab.write_config(n, "keepalived.conf", config).unwrap();
        daemons.push(lab.start_vrrpd(n, &path, args).unwrap());
    }
    wait_for_only(&lab, 1, address, ELECTION);
    // Both start as backup, so the slower starter may lose the first race: only what happens
    // after convergence counts.
    let before = master_transitions(&lab.daemon(daemons[1]).log_text());
    stays_only(&lab, 1, address, STEADY);
    let backup_log = lab.daemon(daemons[1]).log_text();
    assert_eq!(master_transitions(&backup_log), before, "the backup was master:\n{backup_log}");
    lab.daemon(daemons[0]).signal(libc::SIGTERM);
    wait_for_only(&lab, 2, address, ELECTION);
}

#[test]
fn two_socket_daemons_elect_one_master_over_ipv4_multicast() {
    require_root();
    let configs = [multicast_config(1), multicast_config(2)];
    assert!(!configs[0].contains("unicast"));
    let socket: &[&str] = &["--datapath", "socket"];
    elects_and_fails_over(configs, [socket, socket], &format!("{VIP}/32"));
}

#[test]
fn two_socket_daemons_elect_one_master_over_ipv6_multicast() {
    require_root();
    let config = |priority: u8| {
        format!(
            "vrrp_instance V6 {{\n    interface ens3\n    virtual_router_id 71\n    \
             priority {priority}\n    advert_int 1\n    virtual_ipaddress {{\n        \
             fe80::71/64\n        2001:db8::71/64\n    }}\n}}\n"
        )
    };
    let socket: &[&str] = &["--datapath", "socket"];
    elects_and_fails_over([config(110), config(100)], [socket, socket], "2001:db8::71/64");
}

#[test]
fn an_xdp_daemon_and_a_socket_daemon_elect_one_master_in_unicast() {
    require_root();
    let configs = [reference_config(1), reference_config(2)];
    assert!(configs[0].contains("unicast_peer"));
    let (xdp, socket): (&[&str], &[&str]) = (&["--datapath", "xdp"], &["--datapath", "socket"]);
    elects_and_fails_over(configs.clone(), [xdp, socket], &format!("{VIP}/32"));
    elects_and_fails_over(configs, [socket, xdp], &format!("{VIP}/32"));
}

/// The reference scenario's shape, `count` times: VRRPv3 unicast, one VIP each, 0.1 s.
fn many_instances(n: usize, count: u8) -> String {
    let (me, peer, priority) =
        if n == 1 { ("192.0.2.1", "192.0.2.2", 110) } else { ("192.0.2.2", "192.0.2.1", 100) };
    let mut text = String::from("global_defs {\n    vrrp_version 3\n}\n");
    for vrid in 1..=count {
        text += &format!(
            "vrrp_instance VI{vrid:03} {{\n    interface ens3\n    virtual_router_id {vrid}\n    \
             state BACKUP\n    priority {priority}\n    advert_int 0.1\n    unicast_src_ip {me}\n    \
             unicast_peer {{\n        {peer}\n    }}\n    virtual_ipaddress {{\n        \
             198.51.100.{vrid}/32\n    }}\n}}\n"
        );
    }
    text
}

fn vips_held(lab: &ReferenceLab, n: usize) -> usize {
    addresses(lab, n).lines().filter(|line| line.contains(" inet 198.51.100.")).count()
}

#[test]
fn two_hundred_and_fifty_instances_on_the_socket_path_hold_steady() {
    require_root();
    const COUNT: u8 = 250;
    let mut lab = ReferenceLab::with_prefix("sk").unwrap();
    let mut daemons = Vec::new();
    for n in [1, 2] {
        let path = lab.write_config(n, "keepalived.conf", &many_instances(n, COUNT)).unwrap();
        daemons.push(lab.start_vrrpd(n, &path, &["--datapath", "socket"]).unwrap());
    }
    let deadline = Instant::now() + Duration::from_secs(20);
    while vips_held(&lab, 1) != usize::from(COUNT) || vips_held(&lab, 2) != 0 {
        assert!(
            Instant::now() < deadline,
            "no convergence within 20 s: r1 holds {}, r2 holds {}",
            vips_held(&lab, 1),
            vips_held(&lab, 2)
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let before = master_transitions(&lab.daemon(daemons[1]).log_text());
    let pids = [lab.daemon(daemons[0]).pid(), lab.daemon(daemons[1]).pid()];
    let cpu_before = pids.map(cpu_ticks);
    let start = Instant::now();
    let end = start + Duration::from_secs(10);
    while Instant::now() < end {
        let (held, stolen) = (vips_held(&lab, 1), vips_held(&lab, 2));
        assert!(held == usize::from(COUNT) && stolen == 0, "r1 holds {held}, r2 holds {stolen}");
        std::thread::sleep(Duration::from_millis(100));
    }
    let window = start.elapsed().as_secs_f64();
    for (n, (pid, ticks)) in pids.iter().zip(cpu_before).enumerate() {
        // SAFETY: sysconf has no preconditions.
        let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
        let busy = (cpu_ticks(*pid) - ticks) as f64 / hz / window * 100.0;
        println!("r{}: {busy:.1} % of a core over {window:.1} s of steady state", n + 1);
    }
    let log = lab.daemon(daemons[1]).log_text();
    let during = master_transitions(&log) - before;
    assert_eq!(during, 0, "the backup made {during} MASTER transitions in steady state");
}

/// User plus system CPU time of process `pid`, in clock ticks (proc(5): fields 14 and 15).
fn cpu_ticks(pid: i32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    // The command name (field 2) may hold spaces: count from the closing parenthesis.
    let fields: Vec<&str> = stat[stat.rfind(')').unwrap() + 2..].split(' ').collect();
    fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap()
}

#[test]
fn a_pinned_peer_mac_refuses_a_forger_on_the_socket_path_too() {
    require_root();
    // As the kernel program does (daemon_scenarios.rs
    // a_pinned_peer_mac_refuses_a_forger_in_the_kernel), with server 2 on the socket path:
    // server 1's address pinned to a MAC it does not have makes its advertisements forgeries,
    // cut by the socket's filter and counted, so server 2 becomes master as well.
    let lab = ReferenceLab::new().unwrap();
    let mac1 = vrrp_tests::timeline::mac_text(&lab, 1).unwrap();
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
    let socket: &[&str] = &["--datapath", "socket"];
    lab.start_vrrpd(1, &c1, &[]).unwrap();
    lab.wait_for_master(1, ELECTION).unwrap();
    let d2 = lab.start_vrrpd(2, &wrong, socket).unwrap();
    // Its start on a loaded machine, then Master_Down_Interval: twice the usual deadline.
    let took_over = lab.daemon(d2).wait_for_log("BACKUP -> MASTER", 2 * ELECTION);
    assert!(took_over.is_ok(), "{took_over:?}:\n{}", lab.daemon(d2).log_text());
    lab.daemon(d2).stop(Duration::from_secs(5));
    let log = lab.daemon(d2).log_text();
    let counted = log.lines().find(|line| line.contains("receive socket counters"));
    assert!(counted.is_some_and(|line| line.contains("mac_mismatch")), "{log}");

    // With server 1's real MAC pinned, server 2 follows it, and nothing is cut.
    let d2 = lab.start_vrrpd(2, &right, socket).unwrap();
    lab.daemon(d2).wait_for_log("INIT -> BACKUP", ELECTION).unwrap();
    stays_only(&lab, 1, &format!("{VIP}/32"), STEADY);
    lab.daemon(d2).stop(Duration::from_secs(5));
    let log = lab.daemon(d2).log_text();
    assert!(!log.contains("mac_mismatch"), "{log}");
    assert!(log.contains("receive socket counters"), "the counters were logged: {log}");
}
