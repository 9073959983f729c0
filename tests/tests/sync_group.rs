//! A vrrp_sync_group in the namespace lab: two routers, each with an outside instance (ens3,
//! on the reference bridge) and an inside one (on a second bridge), both in one group. The
//! inside link of the master fails: both addresses move to the other router; it comes back:
//! both move back (preemption). The same files run under vrrpd and under keepalived 2.2.7,
//! and each shows the same addresses after each step and runs the group's notify.
//!
//! ```text
//!   r1 (ens3 192.0.2.1,    sgin 198.51.100.1) ─┐ br0 (outside), sgbr (inside) in sw
//!   r2 (ens3 192.0.2.2,    sgin 198.51.100.2) ─┘
//!   VIPs: 192.0.2.100 (VI_OUT, vrid 51), 198.51.100.100 (VI_IN, vrid 52)
//! ```

use std::path::{Path, PathBuf};
use std::time::Duration;

use vrrp_tests::{lab::ReferenceLab, netns::run, require_root, wait_until};

const OUTSIDE_VIP: &str = "192.0.2.100";
const INSIDE_VIP: &str = "198.51.100.100";
/// Start-up, a failover (Master_Down_Interval, ~3.6 s, then the held member's) and preemption,
/// with room for a loaded machine.
const ELECTION: Duration = Duration::from_secs(30);
/// A notify script is spawned at the transition and may take this long to run on a loaded machine.
const SCRIPT_RUN: Duration = Duration::from_secs(10);

fn config(n: usize, notify: &Path) -> String {
    let priority = if n == 1 { 110 } else { 100 };
    let instance = |name: &str, interface: &str, vrid: u8, vip: &str| {
        format!(
            "vrrp_instance {name} {{\n    state BACKUP\n    interface {interface}\n    \
             virtual_router_id {vrid}\n    priority {priority}\n    advert_int 1\n    \
             virtual_ipaddress {{\n        {vip}/24\n    }}\n}}\n"
        )
    };
    format!(
        "global_defs {{\n    router_id sg-r{n}\n    vrrp_version 3\n}}\n{}{}\
         vrrp_sync_group G1 {{\n    group {{\n        VI_OUT\n        VI_IN\n    }}\n    \
         notify {}\n}}\n",
        instance("VI_OUT", "ens3", 51, OUTSIDE_VIP),
        instance("VI_IN", "sgin", 52, INSIDE_VIP),
        notify.display()
    )
}

struct SyncLab {
    lab: ReferenceLab,
    configs: [PathBuf; 2],
    notified: [PathBuf; 2],
}

impl SyncLab {
    /// The reference lab plus the inside bridge and links, and each router's files.
    fn new() -> Self {
        let lab = ReferenceLab::with_prefix("sg").unwrap();
        let switch = lab.switch.clone();
        lab.lab.exec(&switch, "ip", &["link", "add", "sgbr", "type", "bridge"]).unwrap();
        lab.lab.exec(&switch, "ip", &["link", "set", "sgbr", "up"]).unwrap();
        for n in 1..=2 {
            let router = lab.router(n).to_owned();
            let port = format!("sgp{n}");
            run(
                "ip",
                &[
                    "link", "add", "sgin", "netns", &router, "type", "veth", "peer", "name", &port,
                    "netns", &switch,
                ],
            )
            .unwrap();
            lab.lab.exec(&switch, "ip", &["link", "set", &port, "master", "sgbr", "up"]).unwrap();
            let address = format!("198.51.100.{n}/24");
            lab.lab.exec(&router, "ip", &["addr", "add", &address, "dev", "sgin"]).unwrap();
            lab.lab.exec(&router, "ip", &["link", "set", "sgin", "up"]).unwrap();
        }
        let mut configs = Vec::new();
        let mut notified = Vec::new();
        for n in 1..=2 {
            let log = lab.dir.join(format!("notified-r{n}.log"));
            let script = lab.dir.join(format!("notify-r{n}.sh"));
            std::fs::write(&script, format!("#!/bin/sh\necho \"$@\" >> {}\n", log.display()))
                .unwrap();
            std::process::Command::new("chmod").arg("755").arg(&script).status().unwrap();
            configs.push(lab.write_config(n, "keepalived.conf", &config(n, &script)).unwrap());
            notified.push(log);
        }
        let configs = configs.try_into().expect("two");
        let notified = notified.try_into().expect("two");
        Self { lab, configs, notified }
    }

    /// Which of the two VIPs router `n` holds: (outside, inside).
    fn holds(&self, n: usize) -> (bool, bool) {
        let shown = |dev: &str, vip: &str| {
            let out =
                self.lab.lab.exec(self.lab.router(n), "ip", &["-o", "addr", "show", "dev", dev]);
            out.is_ok_and(|out| {
                String::from_utf8_lossy(&out.stdout).contains(&format!("inet {vip}/"))
            })
        };
        (shown("ens3", OUTSIDE_VIP), shown("sgin", INSIDE_VIP))
    }

    /// Waits until router `n` holds both VIPs and the other neither.
    fn wait_for_group_master(&self, n: usize, step: &str) {
        let result = wait_until(step, ELECTION, || {
            self.holds(n) == (true, true) && self.holds(3 - n) == (false, false)
        });
        if let Err(error) = result {
            panic!("{error}: r1 holds {:?}, r2 holds {:?}", self.holds(1), self.holds(2));
        }
    }

    fn set_inside(&self, n: usize, up: bool) {
        let state = if up { "up" } else { "down" };
        self.lab.lab.exec(self.lab.router(n), "ip", &["link", "set", "sgin", state]).unwrap();
    }

    fn wait_for_notify(&self, n: usize, line: &str) {
        let log = &self.notified[n - 1];
        let result =
            wait_until(&format!("router {n}'s notify ran with {line:?}"), SCRIPT_RUN, || {
                std::fs::read_to_string(log).unwrap_or_default().lines().any(|l| l == line)
            });
        if let Err(error) = result {
            panic!("{error}; it ran with:\n{}", std::fs::read_to_string(log).unwrap_or_default());
        }
    }

    /// The scenario, whichever daemon runs it.
    fn run(mut self, start: impl Fn(&mut ReferenceLab, usize, &Path)) {
        start(&mut self.lab, 1, &self.configs[0].clone());
        start(&mut self.lab, 2, &self.configs[1].clone());
        self.wait_for_group_master(1, "router 1 (110) holds both addresses at start-up");
        self.wait_for_notify(1, "GROUP G1 MASTER 0");
        self.wait_for_notify(2, "GROUP G1 BACKUP 0");

        self.set_inside(1, false);
        self.wait_for_group_master(2, "router 1's inside link down: both addresses on router 2");
        self.wait_for_notify(1, "GROUP G1 FAULT 0");
        self.wait_for_notify(2, "GROUP G1 MASTER 0");

        self.set_inside(1, true);
        self.wait_for_group_master(1, "router 1's inside link back: both addresses back (preempt)");
        let backups = |n: usize| {
            let text = std::fs::read_to_string(&self.notified[n - 1]).unwrap_or_default();
            text.lines().filter(|line| *line == "GROUP G1 BACKUP 0").count()
        };
        wait_until("router 2's group went back to BACKUP", SCRIPT_RUN, || backups(2) >= 2).unwrap();
    }
}

#[test]
fn vrrpd_moves_both_addresses_when_the_inside_link_fails_and_back_when_it_returns() {
    require_root();
    SyncLab::new().run(|lab, n, config| {
        lab.start_vrrpd(n, config, &[]).unwrap();
    });
}

#[test]
fn keepalived_does_the_same_with_the_same_files() {
    require_root();
    SyncLab::new().run(|lab, n, config| {
        lab.start_keepalived(n, config).unwrap();
    });
}
