//! vrrpd beside another XDP program: xdp-tools' `xdp-filter`, loaded as a plain program (no
//! libxdp dispatcher) on both routers' interfaces, holds their XDP hooks. With `--hook auto`
//! vrrpd takes tc ingress (tcx) there and says why; it elects, fails over, reloads and
//! restarts, while the filter keeps filtering and stays attached through vrrpd's stop and
//! SIGKILL; keepalived and vrrpd on tcx interoperate as they do on XDP.

use std::{
    path::PathBuf,
    process::{Command, Output},
    time::Duration,
};

use aya::programs::{SchedClassifier, TcAttachType};
use vrrp_common::names;
use vrrp_tests::{
    lab::{reference_config, vrrpd_binary, ReferenceLab, SERVER1},
    netns, require_root, wait_until,
};
use vrrp_user::{status::Status, tcx};

const ELECTION: Duration = Duration::from_secs(30);
/// The UDP port the filter is told to drop.
const FILTERED_PORT: &str = "9";
/// Datagrams sent to it: a bounded send.
const DATAGRAMS: usize = 5;
/// xdp-filter's program for its default mode (allow everything but the rules).
const FILTER_PROGRAM: &str = "xdpfilt_alw_all";

/// Runs an xdp-tools command in router `n` in a mount namespace of its own: /sys/fs/bpf (where
/// the tools look first for their pins) is the router's folder of the lab's bpffs, and /run
/// (their lock) is private, so routers and labs side by side never meet. No dispatcher: the
/// program is attached alone, as a program that knows nothing of libxdp would be.
fn xdp_tools(lab: &ReferenceLab, n: usize, program: &str, args: &[&str]) -> Output {
    let pins = lab.bpffs.join(format!("xdp-tools-r{n}"));
    std::fs::create_dir_all(&pins).expect("the router's folder for xdp-tools' pins");
    let private = format!(
        "mount --bind {} /sys/fs/bpf && mount -t tmpfs tmpfs /run && exec \"$@\"",
        pins.display()
    );
    let mut full = vec!["--mount", "--propagation", "private", "sh", "-c", &private, "sh"];
    full.extend_from_slice(&["env", "LIBXDP_SKIP_DISPATCHER=1", program]);
    full.extend_from_slice(args);
    lab.lab.exec(lab.router(n), "unshare", &full).unwrap_or_else(|error| {
        panic!("{program} {args:?} in router {n} (is xdp-tools installed? cargo xtask setup): {error:#}")
    })
}

/// What `ip -d link show ens3` says of router `n`'s interface.
fn link_details(lab: &ReferenceLab, n: usize) -> String {
    let out = lab.lab.exec(lab.router(n), "ip", &["-d", "link", "show", "ens3"]).unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn filter_attached(lab: &ReferenceLab, n: usize) -> bool {
    let details = link_details(lab, n);
    details.contains("prog/xdp") && details.contains(FILTER_PROGRAM)
}

/// Whether router `n`'s tc ingress runs vrrpd's program (a tcx link), asked of the kernel from
/// inside the router's namespace.
fn vrrp_tc_attached(lab: &ReferenceLab, n: usize) -> bool {
    let _inside = netns::enter(lab.router(n)).expect("entering the router's namespace");
    let (_, programs) =
        SchedClassifier::query_tcx("ens3", TcAttachType::Ingress).expect("querying tcx ingress");
    programs.iter().any(|program| program.name_as_str() == Some(names::TC_PROGRAM))
}

/// Packets xdp-filter dropped on router `n`, from its status.
fn filter_drops(lab: &ReferenceLab, n: usize) -> u64 {
    let out = xdp_tools(lab, n, "xdp-filter", &["status"]);
    let text = String::from_utf8_lossy(&out.stdout);
    text.lines()
        .find_map(|line| line.trim().strip_prefix("XDP_DROP"))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|count| count.parse().ok())
        .unwrap_or_else(|| panic!("no XDP_DROP line in xdp-filter status:\n{text}"))
}

fn runtime_dir(lab: &ReferenceLab, n: usize) -> PathBuf {
    // Where the lab's start_vrrpd puts router n's runtime folder.
    lab.dir.join(format!("run-r{n}"))
}

/// `vrrpd status --json` of router `n`; `None` while it does not answer.
fn status(lab: &ReferenceLab, n: usize) -> Option<Status> {
    let output = Command::new(vrrpd_binary().expect("vrrpd built"))
        .args(["status", "--json", "--runtime-dir"])
        .arg(runtime_dir(lab, n))
        .output()
        .expect("running vrrpd status");
    output.status.success().then(|| serde_json::from_slice(&output.stdout).expect("its schema"))
}

fn accepted(status: &Status) -> u64 {
    let counters = status.datapath_counters.iter();
    counters.filter(|c| c.verdict == "accepted").map(|c| c.frames).sum()
}

/// Sends `DATAGRAMS` UDP datagrams from the client to router 1's filtered port.
fn send_to_filtered_port(lab: &ReferenceLab) {
    let script = format!(
        "for i in $(seq {DATAGRAMS}); do echo probe > /dev/udp/{SERVER1}/{FILTERED_PORT}; done"
    );
    lab.lab.exec(&lab.client, "bash", &["-c", &script]).expect("sending the probes");
}

#[test]
fn beside_a_plain_xdp_program_vrrpd_runs_on_tcx_and_leaves_the_program_alone() {
    require_root();
    let mut lab = ReferenceLab::with_prefix("hk").expect("building the lab");
    for n in [1, 2] {
        let loaded = xdp_tools(&lab, n, "xdp-filter", &["load", "--mode", "skb", "ens3"]);
        assert!(loaded.status.success(), "xdp-filter load in router {n}: {loaded:?}");
        assert!(filter_attached(&lab, n), "router {n}: {}", link_details(&lab, n));
    }
    let rule = xdp_tools(&lab, 1, "xdp-filter", &["port", FILTERED_PORT]);
    assert!(rule.status.success(), "xdp-filter port: {rule:?}");

    let c1 = lab.write_config(1, "keepalived.conf", &reference_config(1)).unwrap();
    let c2 = lab.write_config(2, "keepalived.conf", &reference_config(2)).unwrap();
    let d1 = lab.start_vrrpd(1, &c1, &[]).unwrap();
    let d2 = lab.start_vrrpd(2, &c2, &[]).unwrap();
    for d in [d1, d2] {
        let daemon = lab.daemon(d);
        daemon.wait_for_log("because XDP does not serve there", ELECTION).unwrap();
        daemon.wait_for_log("data path: tcx\n", ELECTION).unwrap();
        let log = daemon.log_text();
        assert!(log.contains(FILTER_PROGRAM), "the log names the program holding XDP:\n{log}");
    }
    lab.wait_for_master(1, ELECTION).expect("server 1 (priority 110) becomes master");
    assert!(lab.client_ping(), "the client reaches the VIP through server 1");
    for n in [1, 2] {
        assert!(vrrp_tc_attached(&lab, n), "router {n} runs vrrp_tc at tc ingress");
        assert!(filter_attached(&lab, n), "router {n} keeps the filter");
    }

    // The kernel path is the one at work: server 2's program accepts server 1's adverts, and
    // the status names the hook.
    wait_until("server 2's kernel program accepts advertisements", ELECTION, || {
        status(&lab, 2).is_some_and(|status| accepted(&status) > 0)
    })
    .unwrap();
    let s2 = status(&lab, 2).expect("server 2 answers");
    let hooks: Vec<(&str, &str)> =
        s2.daemon.hooks.iter().map(|h| (h.interface.as_str(), h.hook.as_str())).collect();
    assert_eq!(hooks, [("ens3", "tcx")], "{s2:?}");

    // The filter still filters in front of vrrpd.
    let drops = filter_drops(&lab, 1);
    send_to_filtered_port(&lab);
    wait_until("xdp-filter drops the probes", ELECTION, || filter_drops(&lab, 1) > drops).unwrap();

    // A reload keeps the hook and the mastership.
    lab.daemon(d1).signal(libc::SIGHUP);
    lab.daemon(d1).wait_for_log("reloaded", ELECTION).unwrap();
    assert!(lab.has_vip(1).unwrap(), "server 1 stays master across the reload");
    assert!(vrrp_tc_attached(&lab, 1) && filter_attached(&lab, 1), "both programs stay");

    // SIGKILL: the tcx link dies with the process, the filter stays, server 2 takes over
    // (server 1 keeps the address it held until its next run removes it).
    lab.daemon(d1).kill();
    wait_until("server 2 takes the VIP", ELECTION, || lab.has_vip(2).unwrap()).unwrap();
    wait_until("router 1's tcx link goes with vrrpd", ELECTION, || !vrrp_tc_attached(&lab, 1))
        .unwrap();
    assert!(filter_attached(&lab, 1), "the filter survives vrrpd's SIGKILL");

    // A restart takes tcx again (no stale attachment stands in the way) and preempts.
    let d1 = lab.start_vrrpd(1, &c1, &[]).unwrap();
    lab.daemon(d1).wait_for_log("data path: tcx\n", ELECTION).unwrap();
    lab.wait_for_master(1, ELECTION).expect("server 1 preempts after its restart");
    let drops = filter_drops(&lab, 1);
    send_to_filtered_port(&lab);
    wait_until("xdp-filter still drops the probes", ELECTION, || filter_drops(&lab, 1) > drops)
        .unwrap();

    // A clean stop detaches vrrpd's program only.
    lab.daemon(d2).signal(libc::SIGTERM);
    let exit = lab.daemon(d2).wait_exit(ELECTION).expect("server 2 exits on SIGTERM");
    assert!(exit.success(), "server 2's exit: {exit:?}");
    assert!(!vrrp_tc_attached(&lab, 2), "server 2 detached vrrp_tc");
    assert!(filter_attached(&lab, 2), "the filter survives vrrpd's stop");
}

#[test]
fn with_hook_xdp_vrrpd_refuses_an_interface_whose_xdp_another_program_holds() {
    require_root();
    let mut lab = ReferenceLab::with_prefix("hk").expect("building the lab");
    let loaded = xdp_tools(&lab, 1, "xdp-filter", &["load", "--mode", "skb", "ens3"]);
    assert!(loaded.status.success(), "xdp-filter load: {loaded:?}");
    let c1 = lab.write_config(1, "keepalived.conf", &reference_config(1)).unwrap();
    let d1 = lab.start_vrrpd(1, &c1, &["--hook", "xdp", "--datapath", "xdp"]).unwrap();
    let exit = lab.daemon(d1).wait_exit(ELECTION).expect("vrrpd gives up");
    assert!(!exit.success(), "vrrpd must not start: {exit:?}");
    let log = lab.daemon(d1).log_text();
    assert!(
        log.contains(FILTER_PROGRAM) && log.contains("--hook tcx"),
        "the refusal says why:\n{log}"
    );
    assert!(filter_attached(&lab, 1), "the filter is left alone");
}

#[test]
fn cleanup_detaches_a_vrrp_tc_link_that_outlived_its_daemon() {
    require_root();
    let mut lab = ReferenceLab::with_prefix("hk").expect("building the lab");
    let c1 = lab.write_config(1, "keepalived.conf", &reference_config(1)).unwrap();
    let d1 = lab.start_vrrpd(1, &c1, &["--hook", "tcx"]).unwrap();
    lab.daemon(d1).wait_for_log("data path: tcx\n", ELECTION).unwrap();
    // Another process holds vrrpd's link (as a pin or an inherited descriptor would), so the
    // link outlives the daemon's SIGKILL.
    let link = {
        let _inside = netns::enter(lab.router(1)).unwrap();
        let ifindex = lab.lab.ifindex(lab.router(1), "ens3").unwrap();
        let attachments = tcx::ingress(ifindex).expect("querying tcx ingress");
        let ours = attachments.iter().find(|a| a.link_id != 0).expect("vrrpd's tcx link");
        tcx::open(ours.link_id).expect("holding vrrpd's link")
    };
    lab.daemon(d1).kill();
    lab.daemon(d1).wait_exit(ELECTION).expect("vrrpd dies");
    assert!(vrrp_tc_attached(&lab, 1), "the held link keeps vrrp_tc attached");

    let cleanup = Command::new("ip")
        .args(["netns", "exec", lab.router(1)])
        .arg(vrrpd_binary().unwrap())
        .args(["cleanup", "-f"])
        .arg(&c1)
        .arg("--pin-dir")
        .arg(lab.bpffs.join("r1"))
        .arg("--runtime-dir")
        .arg(runtime_dir(&lab, 1))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&cleanup.stderr);
    assert!(cleanup.status.success(), "vrrpd cleanup: {stderr}");
    assert!(stderr.contains("detached a stale vrrp_tc"), "cleanup says what it removed:\n{stderr}");
    assert!(!vrrp_tc_attached(&lab, 1), "cleanup detached the link");
    drop(link);
}

#[test]
fn on_tcx_beside_the_filter_vrrpd_backs_up_keepalived_and_takes_over_when_it_stops() {
    require_root();
    let mut lab = ReferenceLab::with_prefix("hk").expect("building the lab");
    let loaded = xdp_tools(&lab, 2, "xdp-filter", &["load", "--mode", "skb", "ens3"]);
    assert!(loaded.status.success(), "xdp-filter load: {loaded:?}");
    let c1 = lab.write_config(1, "keepalived.conf", &reference_config(1)).unwrap();
    let c2 = lab.write_config(2, "keepalived.conf", &reference_config(2)).unwrap();
    let keepalived = lab.start_keepalived(1, &c1).expect("keepalived (cargo xtask setup)");
    let vrrpd = lab.start_vrrpd(2, &c2, &[]).unwrap();
    lab.daemon(vrrpd).wait_for_log("data path: tcx\n", ELECTION).unwrap();
    lab.wait_for_master(1, ELECTION).expect("keepalived (110) becomes master");
    // vrrpd hears keepalived in the kernel, at tc ingress, and stays backup.
    wait_until("vrrpd's kernel program accepts keepalived's advertisements", ELECTION, || {
        status(&lab, 2).is_some_and(|status| accepted(&status) > 0)
    })
    .unwrap();
    assert!(!lab.has_vip(2).unwrap(), "vrrpd stays backup while keepalived advertises");

    lab.daemon(keepalived).stop(Duration::from_secs(5));
    lab.wait_for_master(2, ELECTION).expect("vrrpd takes over when keepalived stops");
    assert!(lab.client_ping(), "the client reaches the VIP through vrrpd");
    assert!(filter_attached(&lab, 2), "the filter stays in front of vrrpd");
}
