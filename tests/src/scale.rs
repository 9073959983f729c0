//! The scale lab: `count` instances between the reference lab's two routers, in the reference
//! scenario's shape (VRRPv3 unicast, one VIP each, priorities 110 and 100), and what the scale
//! test and benchmark read from it.
//!
//! At most `PER_INTERFACE` instances share an interface (VRIDs are 1-255 per interface and
//! family). Up to that many run on `ens3`; more run on further links (this kernel has no VLAN
//! devices): interface `e<k>` of each router on a bridge `br<k>` of the switch namespace
//! (ports `p1x<k>`, `p2x<k>`, so captures on the switch see every link), `PER_INTERFACE`
//! instances on each, each link with its own /28 of 203.0.113.0/24, and none on `ens3`.

use std::time::Duration;

use anyhow::{Context, Result};

use crate::lab::{ReferenceLab, SERVER1, SERVER2};

pub const PER_INTERFACE: usize = 250;
/// The routers' priorities: router 1 is the master.
pub const PRIORITIES: [u8; 2] = [110, 100];

/// Each router's interfaces for `count` instances, created where `ens3` does not suffice.
pub fn interfaces(lab: &ReferenceLab, count: usize) -> Result<[Vec<String>; 2]> {
    if count <= PER_INTERFACE {
        return Ok([vec!["ens3".to_owned()], vec!["ens3".to_owned()]]);
    }
    let mut names = [Vec::new(), Vec::new()];
    for link in 1..=count.div_ceil(PER_INTERFACE) {
        let bridge = format!("br{link}");
        let sw = |args: &[&str]| lab.lab.exec(&lab.switch, "ip", args);
        sw(&["link", "add", &bridge, "type", "bridge"])?;
        sw(&["link", "set", &bridge, "up"])?;
        for n in [1, 2] {
            let (name, port) = (format!("e{link}"), format!("p{n}x{link}"));
            let router = lab.router(n);
            let address = format!("{}/28", link_address(n, link));
            crate::netns::run(
                "ip",
                &[
                    "link",
                    "add",
                    &name,
                    "netns",
                    router,
                    "type",
                    "veth",
                    "peer",
                    "name",
                    &port,
                    "netns",
                    &lab.switch,
                ],
            )?;
            sw(&["link", "set", &port, "master", &bridge, "up"])?;
            for args in
                [&["addr", "add", &address, "dev", &name][..], &["link", "set", &name, "up"]]
            {
                let out = lab.lab.exec(router, "ip", args)?;
                anyhow::ensure!(out.status.success(), "ip {args:?}: {:?}", out.stderr);
            }
            names[n - 1].push(name);
        }
    }
    Ok(names)
}

/// Router `n`'s address (1 or 2) on further link `link` (1-15).
fn link_address(n: usize, link: usize) -> String {
    format!("203.0.113.{}", 16 * link + n)
}

/// Takes every interface of router `n` in `interfaces` down (the "cables").
pub fn unplug(lab: &ReferenceLab, n: usize, interfaces: &[String]) -> Result<()> {
    for name in interfaces {
        lab.lab.exec(lab.router(n), "ip", &["link", "set", name, "down"])?;
    }
    Ok(())
}

/// Router `n`'s keepalived.conf: `count` instances advertising every `interval`, on
/// `interfaces` (router `n`'s from [`interfaces`]).
pub fn config(n: usize, count: usize, interval: Duration, interfaces: &[String]) -> String {
    let priority = PRIORITIES[n - 1];
    let interval = format!("{}", interval.as_secs_f64());
    let mut text = String::from("global_defs {\n    vrrp_version 3\n}\n");
    for index in 0..count {
        let (link, vrid) = (index / PER_INTERFACE, index % PER_INTERFACE + 1);
        let interface = &interfaces[link];
        let (me, peer) = if count <= PER_INTERFACE {
            let [me, peer] = if n == 1 { [SERVER1, SERVER2] } else { [SERVER2, SERVER1] };
            (me.to_owned(), peer.to_owned())
        } else {
            (link_address(n, link + 1), link_address(3 - n, link + 1))
        };
        text += &format!(
            "vrrp_instance VI{index:04} {{\n    interface {interface}\n    virtual_router_id \
             {vrid}\n    state BACKUP\n    priority {priority}\n    advert_int {interval}\n    \
             unicast_src_ip {me}\n    unicast_peer {{\n        {peer}\n    }}\n    \
             virtual_ipaddress {{\n        {}/32\n    }}\n}}\n",
            vip(vrid)
        );
    }
    text
}

/// The VIP of the instance with `vrid` (the same on every link: addresses are per interface).
pub fn vip(vrid: usize) -> String {
    format!("198.51.100.{vrid}")
}

/// RFC 9568 §6.1: Master_Down_Interval = 3 * Master_Adver_Interval + Skew_Time, with
/// Skew_Time = ((256 - Priority) * Master_Adver_Interval) / 256, for a backup of `priority`.
pub fn master_down_interval(interval: Duration, priority: u8) -> Duration {
    interval * 3 + interval * (256 - u32::from(priority)) / 256
}

/// How many of the lab's VIPs router `n` holds.
pub fn vips_held(lab: &ReferenceLab, n: usize) -> Result<usize> {
    let out = lab.lab.exec(lab.router(n), "ip", &["-o", "-4", "addr", "show"])?;
    let text = String::from_utf8_lossy(&out.stdout);
    Ok(text.lines().filter(|line| line.contains(" inet 198.51.100.")).count())
}

/// Datagrams the kernel dropped at router `n`'s raw IPv4 sockets (a full receive queue):
/// the `drops` column of /proc/net/raw, summed.
pub fn raw_socket_drops(lab: &ReferenceLab, n: usize) -> Result<u64> {
    let out = lab.lab.exec(lab.router(n), "cat", &["/proc/net/raw"])?;
    let text = String::from_utf8_lossy(&out.stdout);
    let drops = text.lines().skip(1).filter_map(|line| line.split_whitespace().last());
    Ok(drops.filter_map(|value| value.parse::<u64>().ok()).sum())
}

/// MASTER transitions in a vrrpd or keepalived log.
pub fn master_transitions(log: &str) -> usize {
    log.lines()
        .filter(|line| line.contains("-> MASTER") || line.contains("Entering MASTER STATE"))
        .count()
}

/// Process `pid` and its descendants (keepalived runs its VRRP half in a child).
pub fn process_tree(pid: i32) -> Vec<i32> {
    let mut tree = vec![pid];
    let mut next = 0;
    while next < tree.len() {
        let parent = tree[next];
        next += 1;
        let Ok(tasks) = std::fs::read_dir(format!("/proc/{parent}/task")) else { continue };
        for task in tasks.flatten() {
            let children =
                std::fs::read_to_string(task.path().join("children")).unwrap_or_default();
            tree.extend(children.split_whitespace().filter_map(|pid| pid.parse::<i32>().ok()));
        }
    }
    tree
}

/// User plus system CPU time of `pids`, in seconds (proc(5) stat fields 14 and 15).
pub fn cpu_seconds(pids: &[i32]) -> Result<f64> {
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    let mut ticks = 0;
    for pid in pids {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .with_context(|| format!("reading /proc/{pid}/stat"))?;
        // The command name (field 2) may hold spaces: count from the closing parenthesis.
        let fields: Vec<&str> =
            stat[stat.rfind(')').context("no command")? + 2..].split(' ').collect();
        ticks += fields[11].parse::<u64>()? + fields[12].parse::<u64>()?;
    }
    Ok(ticks as f64 / hz)
}

/// Resident memory of `pids`, in KiB (VmRSS).
pub fn rss_kib(pids: &[i32]) -> u64 {
    pids.iter()
        .filter_map(|pid| std::fs::read_to_string(format!("/proc/{pid}/status")).ok())
        .filter_map(|status| {
            let line = status.lines().find(|line| line.starts_with("VmRSS:"))?;
            line.split_whitespace().nth(1)?.parse::<u64>().ok()
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_master_down_interval_is_rfc_9568s() {
        // 3 * 100 ms + (256 - 100) * 100 ms / 256 = 360.9375 ms.
        let interval = master_down_interval(Duration::from_millis(100), 100);
        assert_eq!(interval, Duration::from_micros(360_937) + Duration::from_nanos(500));
    }

    #[test]
    fn more_instances_than_vrids_go_to_further_interfaces() {
        let interfaces = ["a".to_owned(), "b".to_owned()];
        let text = config(2, 251, Duration::from_millis(100), &interfaces);
        assert!(text.contains("interface b\n    virtual_router_id 1\n"), "{text}");
        assert!(text.contains("unicast_src_ip 203.0.113.34\n"), "{text}");
        assert_eq!(text.matches("vrrp_instance").count(), 251);
    }
}
