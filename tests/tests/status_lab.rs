//! Who is master, asked the way an operator and a monitoring system ask: `vrrpd status`
//! (table, `--json`, `--check`) over the control socket and a Prometheus scrape, on both nodes
//! of the reference lab through election, failover and preemption; and the control socket's
//! refusals (a non-root peer, an oversized, late or unknown request).

use std::{
    io::{Read, Write},
    net::TcpStream,
    os::unix::{fs::PermissionsExt, net::UnixStream},
    path::{Path, PathBuf},
    process::{Command, Output, Stdio},
    time::{Duration, Instant},
};

use vrrp_tests::{
    lab::{reference_config, vrrpd_binary, ReferenceLab, SERVER1, SERVER2, VIP},
    netns, require_root,
};
use vrrp_user::status::{Datapath, InstanceStatus, Status};

const ELECTION: Duration = Duration::from_secs(30);
const METRICS_PORT: u16 = 9650;

fn runtime_dir(lab: &ReferenceLab, n: usize) -> PathBuf {
    // Where the lab's start_vrrpd puts router n's runtime folder.
    lab.dir.join(format!("run-r{n}"))
}

fn vrrpd_status(lab: &ReferenceLab, n: usize, extra: &[&str]) -> Output {
    Command::new(vrrpd_binary().expect("vrrpd built"))
        .arg("status")
        .arg("--runtime-dir")
        .arg(runtime_dir(lab, n))
        .args(extra)
        .output()
        .expect("running vrrpd status")
}

/// `vrrpd status --json` of router n, decoded; `None` while the daemon does not answer.
fn json_status(lab: &ReferenceLab, n: usize) -> Option<Status> {
    let output = vrrpd_status(lab, n, &["--json"]);
    if !output.status.success() {
        return None;
    }
    Some(serde_json::from_slice(&output.stdout).expect("status --json follows its schema"))
}

fn only_instance(status: &Status) -> &InstanceStatus {
    assert_eq!(status.instances.len(), 1, "{status:?}");
    &status.instances[0]
}

/// Waits until router 1's and router 2's statuses say `states`; returns both.
fn wait_for_states(lab: &ReferenceLab, states: [&str; 2]) -> [Status; 2] {
    let deadline = Instant::now() + ELECTION;
    loop {
        let seen = [json_status(lab, 1), json_status(lab, 2)];
        if let [Some(r1), Some(r2)] = &seen {
            if only_instance(r1).state == states[0] && only_instance(r2).state == states[1] {
                return [r1.clone(), r2.clone()];
            }
        }
        assert!(Instant::now() < deadline, "not {states:?} within {ELECTION:?}: {seen:#?}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Sends `request` to router n's metrics endpoint on its loopback, from inside its namespace;
/// returns the response (empty when the server closed without one).
fn http(lab: &ReferenceLab, n: usize, request: Vec<u8>) -> String {
    let namespace = lab.router(n).to_owned();
    std::thread::spawn(move || {
        let _inside = netns::enter(&namespace).expect("entering the router's namespace");
        let mut stream = TcpStream::connect(("127.0.0.1", METRICS_PORT)).expect("metrics endpoint");
        stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        // The server may answer (and close) before it has read all of an oversized request.
        let _ = stream.write_all(&request);
        let mut response = Vec::new();
        let _ = stream.read_to_end(&mut response);
        String::from_utf8_lossy(&response).into_owned()
    })
    .join()
    .expect("talking to the metrics endpoint")
}

/// `GET /metrics` on router n; returns the body.
fn scrape(lab: &ReferenceLab, n: usize) -> String {
    let response = http(lab, n, b"GET /metrics HTTP/1.1\r\nHost: localhost\r\n\r\n".to_vec());
    let (head, body) = response.split_once("\r\n\r\n").expect("headers, then the body");
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(head.contains("text/plain; version=0.0.4"), "{head}");
    body.to_owned()
}

/// The sample of `name` whose labels include every one of `labels`.
fn sample(text: &str, name: &str, labels: &[&str]) -> Option<f64> {
    text.lines().filter(|line| !line.starts_with('#')).find_map(|line| {
        let (series, value) = line.rsplit_once(' ')?;
        let rest = series.strip_prefix(name)?.strip_prefix('{')?;
        labels.iter().all(|label| rest.contains(label)).then(|| value.parse().ok())?
    })
}

fn promtool_accepts(text: &str) {
    let mut child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool must be installed (Debian package prometheus, cargo xtask setup)");
    child.stdin.take().unwrap().write_all(text.as_bytes()).unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "promtool check metrics:\n{}{}\n{text}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Waits until router n's scrape satisfies `check`; returns it.
fn wait_for_scrape(
    lab: &ReferenceLab,
    n: usize,
    what: &str,
    check: impl Fn(&str) -> bool,
) -> String {
    let deadline = Instant::now() + ELECTION;
    loop {
        let text = scrape(lab, n);
        if check(&text) {
            return text;
        }
        assert!(Instant::now() < deadline, "router {n}'s metrics: not {what}:\n{text}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The reference instance (VI01 on server 1, VI02 on server 2).
const VRID: &[&str] = &["vrid=\"123\""];

fn is_master(text: &str) -> Option<f64> {
    sample(text, "vrrpd_instance_master", VRID)
}

fn entered(text: &str, state: &str) -> f64 {
    let to = format!("to=\"{state}\"");
    sample(text, "vrrpd_transitions_total", &["vrid=\"123\"", &to]).expect("a transition count")
}

#[test]
fn status_and_metrics_follow_election_failover_and_preemption_on_both_nodes() {
    require_root();
    let mut lab = ReferenceLab::with_prefix("st").expect("building the lab");
    let listen = format!("127.0.0.1:{METRICS_PORT}");
    // Server 2 on the socket data path: each path's counters are shown from their one source.
    for (n, datapath) in [(1, "xdp"), (2, "socket")] {
        let config = lab.write_config(n, "keepalived.conf", &reference_config(n)).unwrap();
        let args = ["--metrics-listen", &listen, "--datapath", datapath];
        lab.start_vrrpd(n, &config, &args).unwrap();
    }

    // Election: server 1 (priority 110) is master, server 2 (100) heard it.
    let [r1, r2] = wait_for_states(&lab, ["MASTER", "BACKUP"]);
    let (one, two) = (only_instance(&r1), only_instance(&r2));
    assert_eq!((one.vrid, one.interface.as_str(), one.family.as_str()), (123, "ens3", "ipv4"));
    assert_eq!((one.base_priority, one.effective_priority), (110, 110));
    let own = one.master.as_ref().expect("a master");
    assert!(own.is_self && own.address.to_string() == SERVER1, "{own:?}");
    assert!(one.holds_addresses && one.virtual_addresses.iter().any(|a| a.to_string() == VIP));
    // Master_Down_Interval ran out first on server 1 (110), or server 2 got there first (it
    // started earlier) and server 1 preempted it.
    let reason = &one.last_transition.as_ref().unwrap().reason;
    assert!(reason == "master_down" || reason == "preempted", "{one:?}");
    let heard = two.master.as_ref().expect("server 2 heard a master");
    assert_eq!((heard.address.to_string().as_str(), heard.priority), (SERVER1, 110));
    assert!(!heard.is_self && !two.holds_addresses, "{two:?}");
    assert!(two.statistics.advertisements_received > 0, "{two:?}");
    assert_eq!((r1.daemon.datapath, r2.daemon.datapath), (Datapath::Xdp, Datapath::Socket));
    let accepted = |status: &Status| -> u64 {
        let counters = status.datapath_counters.iter();
        counters.filter(|c| c.verdict == "accepted").map(|c| c.frames).sum()
    };
    assert!(accepted(&r2) > 0, "the socket path counted what it accepted: {r2:?}");
    let table = String::from_utf8(vrrpd_status(&lab, 1, &[]).stdout).unwrap();
    assert!(table.contains("VI01: MASTER on ens3, VRID 123, ipv4 VRRPv3"), "{table}");
    assert!(table.contains(&format!("this router ({SERVER1}), priority 110")), "{table}");
    let table = String::from_utf8(vrrpd_status(&lab, 2, &[]).stdout).unwrap();
    assert!(table.contains("VI02: BACKUP on ens3"), "{table}");
    assert!(table.contains(&format!("master      {SERVER1}, priority 110")), "{table}");
    for n in [1, 2] {
        assert!(vrrpd_status(&lab, n, &["--check"]).status.success(), "router {n} is healthy");
    }
    let before = wait_for_scrape(&lab, 2, "a backup", |text| is_master(text) == Some(0.0));
    promtool_accepts(&before);
    let first = scrape(&lab, 1);
    promtool_accepts(&first);
    assert_eq!(is_master(&first), Some(1.0));
    let state = sample(&first, "vrrpd_instance_state", VRID);
    assert_eq!(state, Some(2.0), "keepalived's encoding: 2 is MASTER");
    let base = sample(&first, "vrrpd_instance_priority", &["vrid=\"123\"", "kind=\"base\""]);
    assert_eq!(base, Some(110.0));
    let elsewhere = http(&lab, 1, b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n".to_vec());
    assert!(elsewhere.starts_with("HTTP/1.1 404"), "{elsewhere}");
    let mut oversized = b"GET /metrics HTTP/1.1\r\nHost: localhost\r\nX-Padding: ".to_vec();
    oversized.extend(std::iter::repeat_n(b'a', 64 * 1024));
    oversized.extend(b"\r\n\r\n");
    let refused = http(&lab, 1, oversized);
    assert!(refused.starts_with("HTTP/1.1 431"), "an oversized request is refused: {refused:?}");

    // Failover: server 1's link goes down, so it is FAULT; server 2 takes over.
    lab.set_link(1, false).unwrap();
    let [r1, r2] = wait_for_states(&lab, ["FAULT", "MASTER"]);
    let (one, two) = (only_instance(&r1), only_instance(&r2));
    let cause = one.tracking.iter().find(|t| t.kind == "interface" && t.name == "ens3");
    assert_eq!(cause.map(|t| t.effect.as_str()), Some("fault"), "{one:?}");
    assert_eq!(one.last_transition.as_ref().unwrap().reason, "fault");
    assert_eq!(two.last_transition.as_ref().unwrap().reason, "master_down");
    assert_eq!(two.master.as_ref().map(|m| m.address.to_string()), Some(SERVER2.to_owned()));
    let check = vrrpd_status(&lab, 1, &["--check"]);
    let stderr = String::from_utf8_lossy(&check.stderr);
    assert!(!check.status.success(), "--check fails while an instance is FAULT");
    assert!(stderr.contains("VI01 is FAULT"), "{stderr}");
    assert!(vrrpd_status(&lab, 2, &["--check"]).status.success());
    let table = String::from_utf8(vrrpd_status(&lab, 1, &[]).stdout).unwrap();
    assert!(table.contains("VI01: FAULT") && table.contains("interface ens3 FAULT"), "{table}");
    let after = wait_for_scrape(&lab, 2, "master", |text| is_master(text) == Some(1.0));
    promtool_accepts(&after);
    assert_eq!(entered(&after, "MASTER"), entered(&before, "MASTER") + 1.0);
    let sent = |text: &str| sample(text, "vrrpd_advertisements_sent_total", VRID).unwrap();
    assert!(sent(&after) > sent(&before), "a master sends");
    let faulty = scrape(&lab, 1);
    assert_eq!(sample(&faulty, "vrrpd_instance_state", VRID), Some(3.0), "3 is FAULT");
    assert_eq!(entered(&faulty, "FAULT"), 1.0);

    // Preemption: server 1 returns, hears the lower priority and takes over again.
    lab.set_link(1, true).unwrap();
    let [r1, r2] = wait_for_states(&lab, ["MASTER", "BACKUP"]);
    let (one, two) = (only_instance(&r1), only_instance(&r2));
    assert_eq!(one.last_transition.as_ref().unwrap().reason, "preempted", "{one:?}");
    let yielded = two.last_transition.as_ref().unwrap();
    assert_eq!(yielded.reason, "higher_priority", "{two:?}");
    assert!(yielded.reason_text.contains(SERVER1) && yielded.reason_text.contains("110"));
    assert!(one.tracking.is_empty(), "the fault cleared: {one:?}");
    assert!(accepted(&r1) > 0, "the kernel counted server 2's advertisements: {r1:?}");
    let back = wait_for_scrape(&lab, 2, "a backup again", |text| is_master(text) == Some(0.0));
    promtool_accepts(&back);
    assert_eq!(entered(&back, "BACKUP"), entered(&after, "BACKUP") + 1.0);
    let again = wait_for_scrape(&lab, 1, "master again", |text| is_master(text) == Some(1.0));
    assert_eq!(entered(&again, "MASTER"), 2.0);
}

/// Sends `request` to the control socket at `path` and returns the answer line.
fn ask(path: &Path, request: &[u8]) -> String {
    let mut stream = UnixStream::connect(path).expect("connecting as root");
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    stream.write_all(request).unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    answer
}

/// Connects to `path` as uid 65534 and prints what the daemon answered (or the error).
fn ask_as_nobody(path: &Path) -> String {
    let code = format!(
        "import socket\ns=socket.socket(socket.AF_UNIX)\n\
         try:\n s.connect({:?})\n s.sendall(b'{{\"version\":1,\"request\":\"status\"}}\\n')\n \
         print(s.makefile().readline().strip())\nexcept OSError as e:\n print('refused', e.errno)",
        path.to_string_lossy()
    );
    let output = Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups", "/usr/bin/python3", "-c", &code])
        .output()
        .expect("/usr/bin/python3 and setpriv (util-linux) are needed");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).unwrap().trim().to_owned()
}

#[test]
fn the_control_socket_is_root_only_bounded_replaced_when_stale_and_removed_on_stop() {
    require_root();
    let mut lab = ReferenceLab::with_prefix("st").expect("building the lab");
    // A socket file left by a crashed daemon: the lock proves it is nobody's.
    let dir = runtime_dir(&lab, 1);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).unwrap();
    let socket = dir.join("control");
    drop(std::os::unix::net::UnixListener::bind(&socket).unwrap());
    assert!(UnixStream::connect(&socket).is_err(), "the stale socket has no listener");
    let config = lab.write_config(1, "keepalived.conf", &reference_config(1)).unwrap();
    let daemon = lab.start_vrrpd(1, &config, &[]).unwrap();
    vrrp_tests::wait_until("the daemon answering", ELECTION, || json_status(&lab, 1).is_some())
        .unwrap();
    let mode = std::fs::metadata(&socket).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "root's alone");

    // A non-root user: the folder and the socket's mode keep it out, and the peer check
    // refuses it even where an operator loosened the modes.
    let answer = ask_as_nobody(&socket);
    assert_eq!(answer, format!("refused {}", libc::EACCES), "{answer}");
    for path in [lab.dir.as_path(), dir.as_path()] {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o711)).unwrap();
    }
    std::fs::set_permissions(&socket, std::fs::Permissions::from_mode(0o666)).unwrap();
    let answer = ask_as_nobody(&socket);
    assert!(answer.contains("\"error\":\"the control socket is for root only\""), "{answer}");
    assert!(!answer.contains("\"status\""), "{answer}");

    // Bounded requests: too long, unknown, another version, none at all.
    let long = vec![b' '; 4096];
    let answer = ask(&socket, &long);
    assert!(answer.contains("a request is one line of at most 1024 bytes"), "{answer}");
    let answer = ask(&socket, b"{\"version\":1,\"request\":\"dump\"}\n");
    assert!(answer.contains("unknown request"), "{answer}");
    let answer = ask(&socket, b"{\"version\":2,\"request\":\"status\"}\n");
    assert!(answer.contains("protocol version 1 only"), "{answer}");
    let mut silent = UnixStream::connect(&socket).unwrap();
    silent.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut answer = String::new();
    silent.read_to_string(&mut answer).unwrap();
    assert!(answer.contains("no request within the read timeout"), "{answer}");
    let answer = ask(&socket, b"{\"version\":1,\"request\":\"status\"}\n");
    assert!(answer.contains("\"name\":\"VI01\""), "still serving: {answer}");

    lab.daemon(daemon).signal(libc::SIGTERM);
    let status = lab.daemon(daemon).wait_exit(Duration::from_secs(5)).expect("exits");
    assert!(status.success());
    assert!(!socket.exists(), "the control socket is removed on stop");
    let refused = vrrpd_status(&lab, 1, &["--check"]);
    assert!(!refused.status.success(), "--check fails when no daemon answers");
}
