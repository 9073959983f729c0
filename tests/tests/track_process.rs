//! `vrrp_track_process` in the namespace lab: server 1 (110) tracks a process with weight -20.
//! The process is a `sleep` run under a name of this test's own (a symlink, so its process
//! name is the link's). Server 2 (100) starts first and is master; server 1 starts with the
//! process running and preempts; killing the process (by its PID) makes server 1's priority
//! 90 and the VIP moves to server 2; starting it again brings it back (preemption). Each step
//! is a move, so each proves the process was seen.
//!
//! The kernel sends process events only to the first network namespace, the test's own:
//! vrrpd opens their socket there (`--process-events-netns`).
//!
//! No keepalived run beside it: Debian's keepalived 2.2.7 is built without track_process (nor
//! net_namespace), so it reads neither `vrrp_track_process` nor `track_process`.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use vrrp_tests::{
    lab::{reference_config, ReferenceLab},
    require_root,
};

/// Start-up and a move of the VIP (Master_Down_Interval or a preemption), with room for a
/// loaded machine.
const ELECTION: Duration = Duration::from_secs(30);

/// Server 1's file, tracking `worker` as `tracker` (the block's lines) says.
fn server1(tracker: &str) -> String {
    reference_config(1)
        .replace(
            "vrrp_instance VI01 {",
            &format!("vrrp_track_process worker {{\n{tracker}}}\nvrrp_instance VI01 {{"),
        )
        .replace(
            "    virtual_ipaddress {",
            "    track_process {\n        worker\n    }\n    virtual_ipaddress {",
        )
}

/// The tracked process: killed (by PID) and reaped on drop.
struct Worker(Child);

impl Worker {
    fn start(program: &Path) -> Self {
        let child = Command::new(program)
            .arg("1000")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("starting the tracked process");
        Worker(child)
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

struct ProcessLab {
    lab: ReferenceLab,
    program: PathBuf,
    tracker: String,
}

impl ProcessLab {
    fn new() -> Self {
        let lab = ReferenceLab::with_prefix("tp").unwrap();
        // A process name of 15 bytes at most, unique to this run.
        let name = format!("vtp{}", std::process::id());
        let program = lab.dir.join(&name);
        let sleep = ["/usr/bin/sleep", "/bin/sleep"]
            .into_iter()
            .find(|path| Path::new(path).exists())
            .expect("sleep is installed");
        std::os::unix::fs::symlink(sleep, &program).unwrap();
        let tracker = format!("    process {name}\n    weight -20\n");
        Self { lab, program, tracker }
    }

    fn start(&mut self, n: usize) {
        let netns = format!("/proc/{}/ns/net", std::process::id());
        self.start_with(n, &netns);
    }

    fn start_with(&mut self, n: usize, netns: &str) {
        let config = match n {
            1 => server1(&self.tracker),
            _ => reference_config(2),
        };
        let path = self.lab.write_config(n, "keepalived.conf", &config).unwrap();
        self.lab.start_vrrpd(n, &path, &["--process-events-netns", netns]).unwrap();
    }

    /// Steps 1 to 4 of the module's scenario; `lower` says what takes server 1 below 100.
    fn run(mut self, lower: &str) {
        self.start(2);
        self.lab.wait_for_master(2, ELECTION).expect("server 2 (100) alone is master");
        let worker = Worker::start(&self.program);
        self.start(1);
        self.lab.wait_for_master(1, ELECTION).expect("process running: server 1 at 110 preempts");

        drop(worker);
        if let Err(error) = self.lab.wait_for_master(2, ELECTION) {
            panic!("process gone: server 1 ({lower}) yields to 100: {error:#}");
        }
        let _worker = Worker::start(&self.program);
        self.lab.wait_for_master(1, ELECTION).expect("process back: server 1 at 110 preempts");
    }
}

#[test]
fn vrrpd_moves_the_vip_when_the_tracked_process_ends() {
    require_root();
    ProcessLab::new().run("at 90");
}

/// The same by command line: the program's path and its argument, compared exactly, and
/// weight 0, so that without the process server 1 is in FAULT.
#[test]
fn a_command_line_tracker_with_weight_0_faults_the_instance() {
    require_root();
    let mut lab = ProcessLab::new();
    lab.tracker = format!("    process {} 1000\n    weight 0\n", lab.program.display());
    lab.run("in FAULT");
}

/// Where the process events socket cannot be opened (here: in the router's namespace, which
/// the kernel sends none to), the tracker counts as without quorum, as keepalived's do when
/// their socket fails (track_process.c init_track_processes()): server 1 runs at 90 although
/// the process runs, and says why.
#[test]
fn without_process_events_the_tracker_has_no_quorum() {
    require_root();
    let mut lab = ProcessLab::new();
    let _worker = Worker::start(&lab.program);
    lab.start_with(1, "/proc/self/ns/net");
    let daemon = lab.lab.daemon(0);
    daemon.wait_for_log("tracked processes are not followed", ELECTION).unwrap();
    let deadline = std::time::Instant::now() + ELECTION;
    let status = loop {
        if let Some(status) = lab.lab.vrrpd_status(1).unwrap() {
            break status;
        }
        assert!(std::time::Instant::now() < deadline, "vrrpd status answered within {ELECTION:?}");
        std::thread::sleep(Duration::from_millis(100));
    };
    let instance = &status.instances[0];
    assert_eq!(instance.effective_priority, 90, "110 - 20: no quorum");
    let tracking: Vec<_> =
        instance.tracking.iter().map(|t| (t.kind.as_str(), t.name.as_str(), t.weight)).collect();
    assert_eq!(tracking, [("process", "worker", Some(-20))]);
}

/// A reload reads `/proc` again for the new trackers: server 1, master while tracking a
/// running process, reloads into tracking one that does not run (the VIP moves to server 2),
/// and takes it back once that one starts, followed from the kernel's events.
#[test]
fn a_reload_follows_the_new_trackers() {
    require_root();
    let mut lab = ProcessLab::new();
    lab.start(2);
    lab.lab.wait_for_master(2, ELECTION).expect("server 2 (100) alone is master");
    let _first = Worker::start(&lab.program);
    lab.start(1);
    lab.lab.wait_for_master(1, ELECTION).expect("first process running: server 1 preempts");

    let second = lab.lab.dir.join(format!("vtq{}", std::process::id()));
    std::os::unix::fs::symlink(std::fs::read_link(&lab.program).unwrap(), &second).unwrap();
    let tracker =
        format!("    process {}\n    weight -20\n", second.file_name().unwrap().to_string_lossy());
    lab.lab.write_config(1, "keepalived.conf", &server1(&tracker)).unwrap();
    let daemon = lab.lab.daemon(1);
    daemon.signal(libc::SIGHUP);
    daemon.wait_for_log("reloaded", ELECTION).unwrap();
    lab.lab.wait_for_master(2, ELECTION).expect("second process not running: server 1 at 90");
    let _second = Worker::start(&second);
    lab.lab.wait_for_master(1, ELECTION).expect("second process started: server 1 preempts");
}
