//! The unit's sandbox: `systemd-analyze security --offline=yes` rates it below 2.5, and its
//! capabilities are the start-up's (the daemon drops to CAP_NET_ADMIN and CAP_NET_RAW itself,
//! see the `privileges` lab test). Needs no running systemd.

use std::process::Command;

const UNIT: &str = include_str!("../../dist/vrrpd.service");

/// The score in "→ Overall exposure level for vrrpd.service: 2.3 OK".
fn exposure(report: &str) -> Option<f64> {
    let line = report.lines().find(|line| line.contains("Overall exposure level"))?;
    line.rsplit(": ").next()?.split_whitespace().next()?.parse().ok()
}

#[test]
fn systemd_analyze_security_rates_the_unit_below_2_5() {
    let dir = std::env::temp_dir().join(format!("vrrpd-unit-security-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let unit = dir.join("vrrpd.service");
    std::fs::write(&unit, UNIT).unwrap();
    let output = Command::new("systemd-analyze")
        .args(["security", "--offline=yes", "--no-pager"])
        .arg(&unit)
        .output()
        .expect("systemd-analyze must be installed (Debian package systemd)");
    std::fs::remove_dir_all(&dir).ok();
    let report = String::from_utf8_lossy(&output.stdout);
    let score = exposure(&report).unwrap_or_else(|| {
        panic!("no score in:\n{report}\n{}", String::from_utf8_lossy(&output.stderr))
    });
    println!("systemd-analyze security --offline=yes: {score}");
    assert!(score < 2.5, "exposure {score}:\n{report}");
    let bounding = UNIT
        .lines()
        .find_map(|line| line.strip_prefix("CapabilityBoundingSet="))
        .expect("CapabilityBoundingSet=");
    assert_eq!(bounding, "CAP_NET_ADMIN CAP_NET_RAW CAP_BPF CAP_PERFMON");
    assert!(UNIT.contains("SecureBits=noroot noroot-locked"));
}
