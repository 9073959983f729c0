//! systemd integration: the unit file verifies, and the daemon speaks the notify protocol
//! (READY, STATUS=, RELOADING then READY on SIGHUP, STOPPING on SIGTERM, the watchdog), and logs
//! under the journal carry its priority prefix instead of a timestamp.

use std::{os::unix::net::UnixDatagram, process::Command, time::Duration};

use vrrp_tests::{
    lab::{reference_config, vrrpd_binary, ReferenceLab},
    require_root,
};

const UNIT: &str = include_str!("../../dist/vrrpd.service");

#[test]
fn unit_file_verifies() {
    let dir = std::env::temp_dir().join(format!("vrrpd-unit-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    // verify checks that ExecStart exists: point it at the binary under test.
    let binary = vrrpd_binary().expect("vrrpd built");
    let unit = dir.join("vrrpd.service");
    std::fs::write(&unit, UNIT.replace("/usr/sbin/vrrpd", &binary.to_string_lossy())).unwrap();
    // --man=no: the unit's man pages exist once the package is installed (`cargo xtask package
    // test` verifies the installed unit with them); here none is.
    let output = Command::new("systemd-analyze").args(["verify", "--man=no"]).arg(&unit).output();
    let output = output.expect("systemd-analyze must be installed (Debian package systemd)");
    std::fs::remove_dir_all(&dir).ok();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success() && stderr.trim().is_empty(),
        "systemd-analyze verify:\n{stderr}"
    );
    for needed in ["NoNewPrivileges=yes", "ProtectSystem=strict", "CapabilityBoundingSet="] {
        assert!(UNIT.contains(needed), "the unit must keep {needed}");
    }
    assert!(!UNIT.contains("CAP_SYS_ADMIN"), "the unit must not grant CAP_SYS_ADMIN");
}

fn next_message(socket: &UnixDatagram) -> String {
    let mut buffer = [0u8; 1024];
    let len = socket.recv(&mut buffer).expect("a notification within the timeout");
    String::from_utf8_lossy(&buffer[..len]).into_owned()
}

fn wait_for(socket: &UnixDatagram, wanted: &str) -> Vec<String> {
    let mut seen = Vec::new();
    loop {
        let message = next_message(socket);
        seen.push(message.clone());
        if message.contains(wanted) {
            return seen;
        }
    }
}

#[test]
fn daemon_notifies_ready_reloading_watchdog_and_stopping() {
    require_root();
    let mut lab = ReferenceLab::new().unwrap();
    let socket_path = lab.dir.join("notify.sock");
    let socket = UnixDatagram::bind(&socket_path).unwrap();
    socket.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let config = lab.write_config(1, "keepalived.conf", &reference_config(1)).unwrap();
    let daemon = lab
        .start_vrrpd_with_env(
            1,
            &config,
            &[],
            &[("NOTIFY_SOCKET", &socket_path.to_string_lossy()), ("WATCHDOG_USEC", "400000")],
        )
        .unwrap();
    let seen = wait_for(&socket, "READY=1");
    println!("start: {seen:?}");
    // STATUS= counts the instances by state once the election is over.
    let seen = wait_for(&socket, "STATUS=1 MASTER");
    println!("master: {seen:?}");
    let seen = wait_for(&socket, "WATCHDOG=1");
    println!("watchdog: {seen:?}");
    lab.daemon(daemon).signal(libc::SIGHUP);
    let seen = wait_for(&socket, "RELOADING=1");
    assert!(seen.last().unwrap().contains("MONOTONIC_USEC="), "{seen:?}");
    let seen = wait_for(&socket, "READY=1");
    println!("reload: {seen:?}");
    lab.daemon(daemon).signal(libc::SIGTERM);
    let seen = wait_for(&socket, "STOPPING=1");
    println!("stop: {seen:?}");
    let status = lab.daemon(daemon).wait_exit(Duration::from_secs(5)).expect("exits");
    assert!(status.success());
}

/// The log lines `vrrpd check-config` writes for a file with an unknown keyword, stderr going to
/// a file whose device and inode `journal_stream` may name.
fn warning_lines(lab_dir: &std::path::Path, journal_stream: Option<&str>) -> String {
    use std::os::unix::fs::MetadataExt;
    let config = lab_dir.join("unknown-keyword.conf");
    std::fs::write(&config, format!("{}no_such_keyword 1\n", reference_config(1))).unwrap();
    let log = lab_dir.join("stderr.log");
    let file = std::fs::File::create(&log).unwrap();
    let metadata = file.metadata().unwrap();
    let ours = format!("{}:{}", metadata.dev(), metadata.ino());
    let mut command = Command::new(vrrpd_binary().expect("vrrpd built"));
    // The reference file's interface is the lab's, not this host's.
    command.arg("check-config").arg(&config).arg("--no-host-checks");
    command.stdout(std::process::Stdio::null()).stderr(file);
    command.env_remove("JOURNAL_STREAM");
    if let Some(value) = journal_stream {
        command.env("JOURNAL_STREAM", if value == "ours" { ours.as_str() } else { value });
    }
    assert!(command.status().unwrap().success());
    std::fs::read_to_string(&log).unwrap()
}

#[test]
fn under_the_journal_log_lines_carry_its_priority_and_no_timestamp_of_their_own() {
    let dir = std::env::temp_dir().join(format!("vrrpd-journal-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let journal = warning_lines(&dir, Some("ours"));
    let inherited = warning_lines(&dir, Some("8:1"));
    let terminal = warning_lines(&dir, None);
    std::fs::remove_dir_all(&dir).ok();
    assert!(journal.starts_with("<4>") && journal.contains("no_such_keyword"), "{journal}");
    assert!(!journal.contains("WARN") && !journal.contains("Z "), "no timestamp: {journal}");
    // A stream the variable does not name (inherited by a child) is not the journal.
    for text in [inherited, terminal] {
        assert!(text.starts_with('[') && text.contains("WARN"), "{text}");
    }
}
