//! `vrrp_rt_priority`, `vrrp_rlimit_rttime`, `vrrp_priority` and `vrrp_no_swap`, read back
//! from /proc as the kernel applies them: the loop's thread runs SCHED_RR (or at its nice
//! value), RLIMIT_RTTIME is half and whole of the limit, memory is locked, a notify script
//! started from the loop runs at normal priority (SCHED_RESET_ON_FORK), SIGXCPU is logged
//! rather than fatal, and each reload brings the file's settings, back and forth. Without
//! CAP_SYS_NICE (the systemd unit's default) the daemon says so and runs on at normal
//! priority, as keepalived does.

use std::{fs, path::Path, time::Duration};

use vrrp_tests::{
    lab::{ReferenceLab, AS_THE_UNIT, VIP},
    require_root, wait_until,
};

const ELECTION: Duration = Duration::from_secs(30);
const SCHED_OTHER: u32 = 0;
const SCHED_RR: u32 = 2;
/// Generous: the limit ends a debug build that spins, not one that is slow under load.
const RTTIME_US: u32 = 400_000;

/// The fields of /proc/PID/stat that say how a thread is scheduled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Sched {
    nice: i32,
    rt_priority: u32,
    policy: u32,
}

impl Sched {
    /// proc_pid_stat(5): nice is field 19, rt_priority 40, policy 41; the command name (2)
    /// is in parentheses and may hold spaces.
    fn parse(stat: &str) -> Option<Sched> {
        let after_name = &stat[stat.rfind(')')? + 2..];
        let fields: Vec<&str> = after_name.split_whitespace().collect();
        let field = |n: usize| fields.get(n - 3).copied();
        Some(Sched {
            nice: field(19)?.parse().ok()?,
            rt_priority: field(40)?.parse().ok()?,
            policy: field(41)?.parse().ok()?,
        })
    }

    fn of(path: &Path) -> Option<Sched> {
        Sched::parse(&fs::read_to_string(path).ok()?)
    }

    /// The daemon's main thread, which runs the loop.
    fn of_loop(pid: i32) -> Option<Sched> {
        Sched::of(Path::new(&format!("/proc/{pid}/task/{pid}/stat")))
    }
}

/// `Max realtime timeout` of /proc/PID/limits: soft and hard, in microseconds.
fn rttime_limits(pid: i32) -> Option<(String, String)> {
    let limits = fs::read_to_string(format!("/proc/{pid}/limits")).ok()?;
    let line = limits.lines().find(|line| line.starts_with("Max realtime timeout"))?;
    let mut values = line["Max realtime timeout".len()..].split_whitespace();
    Some((values.next()?.to_owned(), values.next()?.to_owned()))
}

/// VmLck of /proc/PID/status, in kB.
fn locked_kb(pid: i32) -> Option<u64> {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|line| line.starts_with("VmLck:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// One instance, alone on its link so it becomes master, whose notify_master records how the
/// script is scheduled; `global` goes into global_defs.
fn config(dir: &Path, global: &str) -> String {
    let record = dir.join("master.stat");
    format!(
        "global_defs {{
{global}}}
vrrp_instance A {{
    interface ens3
    virtual_router_id 51
    priority 200
    advert_int 1
    notify_master \"/bin/sh -c 'cat /proc/self/stat > {}'\"
    virtual_ipaddress {{
        {VIP}/24
    }}
}}
",
        record.display()
    )
}

fn realtime_settings() -> String {
    format!("    vrrp_rt_priority 30\n    vrrp_rlimit_rttime {RTTIME_US}\n    vrrp_no_swap\n")
}

fn script_sched(lab: &ReferenceLab) -> Sched {
    let record = lab.dir.join("master.stat");
    wait_until("notify_master recorded its scheduling", ELECTION, || Sched::of(&record).is_some())
        .unwrap();
    Sched::of(&record).unwrap()
}

/// The daemon's lines about scheduling, memory and capabilities, for the test's output.
fn print_scheduling_lines(log: &str) {
    let topics = ["SCHED_", "nice", "memory", "RLIMIT", "capabilities", "not kept"];
    for line in log.lines().filter(|line| topics.iter().any(|topic| line.contains(topic))) {
        println!("  {line}");
    }
}

fn reload(lab: &mut ReferenceLab, daemon: usize, path: &Path, text: &str, nth: usize) {
    fs::write(path, text).unwrap();
    lab.daemon(daemon).signal(libc::SIGHUP);
    let applied = format!("reloaded {}", path.display());
    wait_until("the reload applied", ELECTION, || {
        lab.daemon(daemon).log_text().matches(&applied).count() >= nth
    })
    .unwrap();
    let log = lab.daemon(daemon).log_text();
    assert!(!log.contains("reload refused"), "{log}");
}

#[test]
fn a_realtime_loop_with_locked_memory_follows_reloads() {
    require_root();
    let mut lab = ReferenceLab::with_prefix("sr").expect("building the lab");
    let text = config(&lab.dir, &realtime_settings());
    let path = lab.write_config(1, "keepalived.conf", &text).unwrap();
    let daemon = lab.start_vrrpd(1, &path, &[]).unwrap();
    lab.daemon(daemon).wait_for_log("capabilities kept", ELECTION).unwrap();
    let pid = lab.daemon(daemon).pid();
    let realtime = Sched { nice: 0, rt_priority: 30, policy: SCHED_RR };
    assert_eq!(Sched::of_loop(pid), Some(realtime), "{}", lab.daemon(daemon).log_text());
    let (soft, hard) = (RTTIME_US / 2, RTTIME_US);
    assert_eq!(rttime_limits(pid), Some((soft.to_string(), hard.to_string())));
    assert!(locked_kb(pid).is_some_and(|kb| kb > 0), "VmLck {:?}", locked_kb(pid));
    let log = lab.daemon(daemon).log_text();
    assert!(log.contains("CAP_IPC_LOCK, CAP_SYS_NICE"), "kept for reloads:\n{log}");
    println!("vrrpd {pid}: loop {realtime:?}, RLIMIT_RTTIME {soft}/{hard} us, memory locked");

    // Master alone on its link; its script began at normal priority.
    wait_until("the VIP", ELECTION, || lab.holds(1, VIP).unwrap_or(false)).unwrap();
    let script = script_sched(&lab);
    assert_eq!(script, Sched { nice: 0, rt_priority: 0, policy: SCHED_OTHER });

    // SIGXCPU (the kernel's at half the limit) is logged, where by default it ends the process.
    lab.daemon(daemon).signal(libc::SIGXCPU);
    let hint = "vrrp_rlimit_rttime may need to be increased";
    lab.daemon(daemon).wait_for_log(hint, ELECTION).unwrap();

    // A reload without the settings: normal priority, memory unlocked.
    let plain = config(&lab.dir, "");
    reload(&mut lab, daemon, &path, &plain, 1);
    let normal = Sched { nice: 0, rt_priority: 0, policy: SCHED_OTHER };
    wait_until("the loop at normal priority", ELECTION, || Sched::of_loop(pid) == Some(normal))
        .unwrap();
    wait_until("memory unlocked", ELECTION, || locked_kb(pid) == Some(0)).unwrap();

    // And back: CAP_SYS_NICE was kept for this.
    reload(&mut lab, daemon, &path, &text, 2);
    let again = Sched { nice: 0, rt_priority: 30, policy: SCHED_RR };
    wait_until("the loop realtime again", ELECTION, || Sched::of_loop(pid) == Some(again)).unwrap();
    wait_until("memory locked again", ELECTION, || locked_kb(pid).is_some_and(|kb| kb > 0))
        .unwrap();
    assert!(lab.holds(1, VIP).unwrap(), "the VIP stayed through both reloads");
    let log = lab.daemon(daemon).log_text();
    assert!(!log.contains("cannot "), "{log}");
    print_scheduling_lines(&log);

    let status = lab.daemon(daemon).stop(Duration::from_secs(10));
    assert!(status.is_some_and(|status| status.success()), "exit: {status:?}");
    assert!(!lab.holds(1, VIP).unwrap(), "VIP left behind");
}

#[test]
fn a_nice_value_applies_to_the_loop_only() {
    require_root();
    let mut lab = ReferenceLab::with_prefix("sn").expect("building the lab");
    let text = config(&lab.dir, "    vrrp_priority -7\n");
    let path = lab.write_config(1, "keepalived.conf", &text).unwrap();
    let daemon = lab.start_vrrpd(1, &path, &[]).unwrap();
    lab.daemon(daemon).wait_for_log("capabilities kept", ELECTION).unwrap();
    let pid = lab.daemon(daemon).pid();
    let niced = Sched { nice: -7, rt_priority: 0, policy: SCHED_OTHER };
    assert_eq!(Sched::of_loop(pid), Some(niced), "{}", lab.daemon(daemon).log_text());
    wait_until("the VIP", ELECTION, || lab.holds(1, VIP).unwrap_or(false)).unwrap();
    assert_eq!(script_sched(&lab), Sched { nice: 0, rt_priority: 0, policy: SCHED_OTHER });
    println!("vrrpd {pid}: loop {niced:?}, its script at nice 0");

    // Unset again: the nice value it was started with.
    let plain = config(&lab.dir, "");
    reload(&mut lab, daemon, &path, &plain, 1);
    let normal = Sched { nice: 0, rt_priority: 0, policy: SCHED_OTHER };
    wait_until("the loop at nice 0", ELECTION, || Sched::of_loop(pid) == Some(normal)).unwrap();
    let status = lab.daemon(daemon).stop(Duration::from_secs(10));
    assert!(status.is_some_and(|status| status.success()), "exit: {status:?}");
}

/// dist/vrrpd.service gives no CAP_SYS_NICE: the daemon warns and runs on, as keepalived.
#[test]
fn without_cap_sys_nice_the_loop_runs_at_normal_priority_and_says_why() {
    require_root();
    let mut lab = ReferenceLab::with_prefix("su").expect("building the lab");
    let text = config(&lab.dir, &realtime_settings());
    let path = lab.write_config(1, "keepalived.conf", &text).unwrap();
    let daemon = lab.start_vrrpd_under(1, AS_THE_UNIT, &path, &[], &[]).unwrap();
    lab.daemon(daemon).wait_for_log("capabilities kept", ELECTION).unwrap();
    let pid = lab.daemon(daemon).pid();
    let log = lab.daemon(daemon).log_text();
    assert!(log.contains("cannot raise priority: SCHED_RR 30 refused"), "{log}");
    assert!(log.contains("vrrp_no_swap not applied: it needs CAP_IPC_LOCK"), "{log}");
    assert!(log.contains("capabilities kept: CAP_NET_ADMIN, CAP_NET_RAW\n"), "{log}");
    assert!(log.contains("not held, so not kept: CAP_IPC_LOCK, CAP_SYS_NICE"), "{log}");
    print_scheduling_lines(&log);
    let normal = Sched { nice: 0, rt_priority: 0, policy: SCHED_OTHER };
    assert_eq!(Sched::of_loop(pid), Some(normal));
    wait_until("the VIP", ELECTION, || lab.holds(1, VIP).unwrap_or(false)).unwrap();
    let status = lab.daemon(daemon).stop(Duration::from_secs(10));
    assert!(status.is_some_and(|status| status.success()), "exit: {status:?}");
}
