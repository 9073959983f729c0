//! Failover timelines of the reference lab, in milliseconds, from what was on the wire and in
//! the daemons' logs: the last advertisement of the old master (captured on its switch port),
//! the takeover (the new master's log), its first gratuitous ARP and the first echo reply from
//! its MAC (both captured at the client, which pings the VIP every 10 ms).

use std::{
    fs,
    path::PathBuf,
    process::{Child, Command, Stdio},
    time::Duration,
};

use anyhow::{Context, Result};

use crate::lab::{ReferenceLab, VIP};

/// A capture or pinger started in a namespace, stopped (by PID) on drop.
pub struct Background {
    child: Child,
    pub output: PathBuf,
}

impl Background {
    pub fn start(namespace: &str, output: PathBuf, program: &str, args: &[&str]) -> Result<Self> {
        let file = fs::File::create(&output)?;
        let child = Command::new("ip")
            .args(["netns", "exec", namespace, program])
            .args(args)
            .stdin(Stdio::null())
            .stdout(file.try_clone()?)
            .stderr(file)
            .spawn()
            .with_context(|| format!("starting {program} in {namespace}"))?;
        Ok(Self { child, output })
    }

    pub fn text(&self) -> String {
        fs::read_to_string(&self.output).unwrap_or_default()
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        // SAFETY: signalling a child we started; SIGINT lets tcpdump flush its output.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGINT) };
        std::thread::sleep(Duration::from_millis(50));
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Captures and a pinger for one failover.
pub struct Observation {
    pub advertisements: Background,
    pub client: Background,
    pub pinger: Background,
}

impl Observation {
    /// Starts the captures; `old_master` (1 or 2) is the router whose adverts are watched.
    pub fn start(lab: &ReferenceLab, old_master: usize, label: &str) -> Result<Self> {
        let port = if old_master == 1 { "p1" } else { "p2" };
        let dir = &lab.dir;
        let advertisements = Background::start(
            &lab.switch,
            dir.join(format!("{label}-adverts.txt")),
            "tcpdump",
            &["-i", port, "-n", "-tt", "-l", "ip proto 112"],
        )?;
        let client = Background::start(
            &lab.client,
            dir.join(format!("{label}-client.txt")),
            "tcpdump",
            &["-i", "eth0", "-n", "-e", "-tt", "-l", "arp or icmp"],
        )?;
        // Bounded: at most 2000 echo requests, 10 ms apart.
        let pinger = Background::start(
            &lab.client,
            dir.join(format!("{label}-ping.txt")),
            "ping",
            &["-n", "-i", "0.01", "-c", "2000", "-W", "1", VIP],
        )?;
        std::thread::sleep(Duration::from_millis(300));
        Ok(Self { advertisements, client, pinger })
    }
}

/// Epoch milliseconds of a tcpdump `-tt` line.
fn tcpdump_ms(line: &str) -> Option<f64> {
    line.split_whitespace().next()?.parse::<f64>().ok().map(|seconds| seconds * 1000.0)
}

/// The last advertisement captured before `before_ms`.
pub fn last_advertisement_ms(capture: &str, before_ms: f64) -> Option<f64> {
    capture
        .lines()
        .filter(|line| line.contains("VRRP"))
        .filter_map(tcpdump_ms)
        .rfind(|ms| *ms <= before_ms)
}

/// The first ARP from `mac` about the VIP, after `after_ms`.
pub fn first_garp_ms(capture: &str, mac: &str, after_ms: f64) -> Option<f64> {
    capture
        .lines()
        .filter(|line| line.contains(&format!(" {mac} >")) && line.contains("ARP"))
        .filter(|line| line.contains(VIP))
        .filter_map(tcpdump_ms)
        .find(|ms| *ms >= after_ms)
}

/// The first echo reply from the VIP sent by `mac`, after `after_ms`.
pub fn first_reply_ms(capture: &str, mac: &str, after_ms: f64) -> Option<f64> {
    capture
        .lines()
        .filter(|line| line.contains(&format!(" {mac} >")) && line.contains("echo reply"))
        .filter_map(tcpdump_ms)
        .find(|ms| *ms >= after_ms)
}

/// Epoch milliseconds of the first log line containing `pattern` (vrrpd's env_logger format
/// `[2026-11-28T05:58:38.124Z ...` or keepalived's console format, both UTC).
pub fn log_ms(log: &str, pattern: &str, after_ms: f64) -> Option<f64> {
    log.lines().filter(|line| line.contains(pattern)).filter_map(line_ms).find(|ms| *ms >= after_ms)
}

fn line_ms(line: &str) -> Option<f64> {
    let start = line.find(|c: char| c.is_ascii_digit())?;
    let stamp = line.get(start..start + 23)?;
    // 2026-11-28T05:58:38.124
    let number = |range: std::ops::Range<usize>| stamp.get(range)?.parse::<i64>().ok();
    let (year, month, day) = (number(0..4)?, number(5..7)?, number(8..10)?);
    let (hour, minute, second, milli) =
        (number(11..13)?, number(14..16)?, number(17..19)?, number(20..23)?);
    let days = days_from_civil(year, month, day);
    let seconds = days * 86400 + hour * 3600 + minute * 60 + second;
    Some(seconds as f64 * 1000.0 + milli as f64)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let day_of_year = (153 * (month + if month > 2 { -3 } else { 9 }) + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146097 + day_of_era - 719468
}

/// MAC of a router's `ens3` as tcpdump prints it.
pub fn mac_text(lab: &ReferenceLab, n: usize) -> Result<String> {
    let mac = lab.lab.mac(lab.router(n), "ens3")?;
    Ok(mac.iter().map(|byte| format!("{byte:02x}")).collect::<Vec<_>>().join(":"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_timestamps_convert_to_epoch_milliseconds() {
        let line = "[2026-11-28T05:58:38.124Z INFO  vrrp_user::daemon] VI02: BACKUP -> MASTER";
        // 2026-11-28T05:58:38Z = 1795845518 s since the epoch.
        assert_eq!(line_ms(line), Some(1_795_845_518_124.0));
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11017);
    }

    #[test]
    fn captures_yield_the_first_matching_event() {
        let capture = "\
100.000000 02:00:00:00:00:01 > ff:ff:ff:ff:ff:ff, ethertype ARP (0x0806), length 42: Request who-has 192.0.2.100 tell 192.0.2.100, length 28
100.500000 02:00:00:00:00:02 > ff:ff:ff:ff:ff:ff, ethertype ARP (0x0806), length 42: Request who-has 192.0.2.100 tell 192.0.2.100, length 28
100.600000 02:00:00:00:00:02 > 02:00:00:00:00:0a, ethertype IPv4 (0x0800), length 98: 192.0.2.100 > 192.0.2.10: ICMP echo reply, id 7, seq 3, length 64";
        assert_eq!(first_garp_ms(capture, "02:00:00:00:00:02", 0.0), Some(100_500.0));
        assert_eq!(first_reply_ms(capture, "02:00:00:00:00:02", 0.0), Some(100_600.0));
        assert_eq!(first_reply_ms(capture, "02:00:00:00:00:01", 0.0), None);
    }
}
