//! A deterministic simulated LAN of 2 to 4 nodes, each running a whole configuration (two
//! instances, tracking, maybe a sync group) on a virtual clock, with delays on the wire.
//!
//! Each seed disturbs the LAN the way an operator and the world do, and after each disturbance
//! checks, within the time RFC 9568 allows (Master_Down_Interval of the lowest priority, plus
//! the wire's delay):
//! - exactly one master per virtual router, of the highest effective priority among the nodes
//!   not in FAULT (a backup follows a master of equal priority, RFC 9568 §6.4.2, so the address
//!   breaks ties only between simultaneous masters);
//! - a tracked script's weight moves the running priority; an interface of weight 0 faults the
//!   instance, and in a sync group every member on that node;
//! - a sync group's members on a node are in one state (MASTER together, BACKUP together);
//! - a reload between two configurations changes what it must, and a reload that does not
//!   change an instance never changes its state (no StateChanged for it at all).
//!
//! A failure names its seed; `VRRP_SIM_SEED=n` replays it, `VRRP_SIM_SEEDS=n` runs more.

use std::collections::{BinaryHeap, HashMap};
use std::net::IpAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use vrrp_config::Config;
use vrrp_node::{InstanceId, Node, Output};
use vrrp_proto::{Advertisement, State};

#[path = "../../vrrp-proto/tests/support/split_mix.rs"]
mod split_mix;
use split_mix::SplitMix;

const DEFAULT_SEEDS: u64 = 300;
const NAMES: [&str; 2] = ["VI01", "VI02"];
const MAX_DELAY: Duration = Duration::from_millis(5);
/// The slowest election: a backup waits up to Master_Down_Interval at priority 1 with a 1 s
/// interval (3 s + 255/256 s), and a preempting one another; plus two intervals for the
/// advertisements that tell the old master, and the wire's delay both ways.
const SETTLE: Duration = Duration::from_millis(2 * 3_997 + 2 * 1_000 + 4 * 5);

/// What one node runs: its address, its priorities, whether the two instances are one group.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Settings {
    address: u8,
    priorities: [u8; 2],
    script_weight: i32,
    grouped: bool,
    extra_vip: bool,
}

impl Settings {
    fn config(&self) -> Config {
        let mut text = String::from(
            "global_defs {\n    vrrp_version 3\n    vrrp_garp_master_delay 0\n}\n\
             vrrp_script chk {\n    script \"/bin/true\"\n    interval 1\n}\n",
        );
        for (index, name) in NAMES.iter().enumerate() {
            let vip = if index == 0 && self.extra_vip {
                "192.0.2.100\n        192.0.2.102"
            } else if index == 0 {
                "192.0.2.100"
            } else {
                "192.0.2.101"
            };
            let tracking = match index {
                0 => format!(
                    "    track_script {{\n        chk weight {}\n    }}\n",
                    self.script_weight
                ),
                _ => "    track_interface {\n        uplink\n    }\n".to_owned(),
            };
            text.push_str(&format!(
                "vrrp_instance {name} {{\n    interface eth0\n    virtual_router_id {}\n    \
                 priority {}\n    advert_int 1\n    mcast_src_ip 192.0.2.{}\n{tracking}    \
                 virtual_ipaddress {{\n        {vip}\n    }}\n}}\n",
                index + 1,
                self.priorities[index],
                self.address
            ));
        }
        if self.grouped {
            text.push_str(
                "vrrp_sync_group G {\n    group {\n        VI01\n        VI02\n    }\n}\n",
            );
        }
        vrrp_config::parse_str(&text, Path::new("sim.conf")).expect("valid configuration").config
    }
}

struct Host {
    settings: Settings,
    node: Node,
    ids: HashMap<InstanceId, &'static str>,
}

impl Host {
    fn id_of(&self, name: &str) -> Option<InstanceId> {
        self.ids.iter().find(|(_, n)| **n == name).map(|(id, _)| *id)
    }

    fn address(&self) -> IpAddr {
        IpAddr::from([192, 0, 2, self.settings.address])
    }
}

struct Delivery {
    at: Instant,
    sequence: u64,
    to: usize,
    name: &'static str,
    source: IpAddr,
    advertisement: Advertisement,
}

impl PartialEq for Delivery {
    fn eq(&self, other: &Self) -> bool {
        (self.at, self.sequence) == (other.at, other.sequence)
    }
}
impl Eq for Delivery {}
impl PartialOrd for Delivery {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Delivery {
    /// Reversed: the heap pops the earliest, ties in sending order.
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (other.at, other.sequence).cmp(&(self.at, self.sequence))
    }
}

struct Lan {
    seed: u64,
    rng: SplitMix,
    now: Instant,
    hosts: Vec<Host>,
    wire: BinaryHeap<Delivery>,
    sequence: u64,
    /// State changes seen, per host: (time, instance, from, to).
    changes: Vec<Vec<(Instant, &'static str, State, State)>>,
}

impl Lan {
    fn new(seed: u64) -> Self {
        let mut rng = SplitMix(seed);
        let count = 2 + rng.below(3);
        let grouped = rng.percent(50);
        let now = Instant::now();
        let mut lan = Self {
            seed,
            rng,
            now,
            hosts: Vec::new(),
            wire: BinaryHeap::new(),
            sequence: 0,
            changes: vec![Vec::new(); count],
        };
        for index in 0..count {
            // A sync group's members move together, so its routers rank the same way in
            // both virtual routers (crossed priorities would flap, in keepalived too).
            let first = lan.priority();
            let second = if grouped { first } else { lan.priority() };
            let settings = Settings {
                address: 1 + index as u8,
                priorities: [first, second],
                script_weight: -(lan.rng.below(100) as i32) - 1,
                grouped,
                extra_vip: false,
            };
            let mut node = Node::new();
            node.handle_link(now, "eth0", true);
            node.handle_link(now, "uplink", true);
            let host = Host { settings, node, ids: HashMap::new() };
            lan.hosts.push(host);
            lan.reload(index, None);
        }
        lan
    }

    fn priority(&mut self) -> u8 {
        self.rng.pick(&[1, 50, 100, 100, 110, 200, 254])
    }

    fn fail(&self, message: String) -> ! {
        let states: Vec<String> = self
            .hosts
            .iter()
            .map(|host| {
                let each: Vec<String> = host
                    .node
                    .instances()
                    .map(|(_, i)| {
                        format!("{}={}@{}", i.name(), i.router().state(), i.router().priority())
                    })
                    .collect();
                format!("{:?}: {}", host.settings, each.join(" "))
            })
            .collect();
        panic!("seed {}: {message}\n{}", self.seed, states.join("\n"));
    }

    /// Reloads host `index` with its settings, or with `settings` when given.
    fn reload(&mut self, index: usize, settings: Option<Settings>) {
        let host = &mut self.hosts[index];
        if let Some(settings) = settings {
            host.settings = settings;
        }
        let config = host.settings.config();
        host.node.handle_reload(self.now, config, &HashMap::new()).expect("the reload runs");
        self.drain(index);
    }

    fn drain(&mut self, index: usize) {
        while let Some(output) = self.hosts[index].node.poll_output() {
            match output {
                Output::InstanceStarted { id, name } => {
                    let name = NAMES.into_iter().find(|n| *n == name).expect("configured");
                    self.hosts[index].ids.insert(id, name);
                }
                Output::InstanceStopped { id } => {
                    self.hosts[index].ids.remove(&id);
                }
                Output::SendAdvertisement { id, advertisement } => {
                    let name = self.hosts[index].ids[&id];
                    let source = self.hosts[index].address();
                    for to in (0..self.hosts.len()).filter(|to| *to != index) {
                        let delay = self.rng.duration(MAX_DELAY);
                        self.sequence += 1;
                        self.wire.push(Delivery {
                            at: self.now + delay,
                            sequence: self.sequence,
                            to,
                            name,
                            source,
                            advertisement: advertisement.clone(),
                        });
                    }
                }
                Output::StateChanged { id, from, to, .. } => {
                    let name = self.hosts[index].ids[&id];
                    self.changes[index].push((self.now, name, from, to));
                }
                _ => {}
            }
        }
    }

    fn run_for(&mut self, span: Duration) {
        let end = self.now + span;
        loop {
            let timer = (0..self.hosts.len())
                .filter_map(|index| self.hosts[index].node.poll_timeout().map(|at| (at, index)))
                .min();
            let delivery = self.wire.peek().map(|delivery| delivery.at);
            let next = match (timer, delivery) {
                (Some((at, _)), Some(d)) => at.min(d),
                (Some((at, _)), None) => at,
                (None, Some(d)) => d,
                (None, None) => break,
            };
            if next > end {
                break;
            }
            self.now = self.now.max(next);
            if delivery == Some(next) {
                let delivery = self.wire.pop().expect("peeked");
                let host = &mut self.hosts[delivery.to];
                if let Some(id) = host.id_of(delivery.name) {
                    host.node.handle_advertisement(
                        self.now,
                        id,
                        delivery.source,
                        &delivery.advertisement,
                    );
                }
                self.drain(delivery.to);
            } else if let Some((_, index)) = timer {
                self.hosts[index].node.handle_timeout(self.now);
                self.drain(index);
            }
        }
        self.now = end;
    }

    fn state(&self, index: usize, name: &str) -> (State, u8) {
        let host = &self.hosts[index];
        let id = host.id_of(name).unwrap_or_else(|| self.fail(format!("{name} not running")));
        let router = host.node.instance(id).expect("running").router();
        (router.state(), router.priority())
    }

    /// One master per virtual router, of the top priority; sync groups fault together.
    fn check(&self, context: &str) {
        for name in NAMES {
            let masters: Vec<usize> =
                (0..self.hosts.len()).filter(|&i| self.state(i, name).0 == State::Master).collect();
            let top = (0..self.hosts.len())
                .filter(|&i| self.state(i, name).0 != State::Fault)
                .map(|i| self.state(i, name).1)
                .max();
            let Some(top) = top else {
                if !masters.is_empty() {
                    self.fail(format!("{context}: {name} masters {masters:?} while all faulty"));
                }
                continue;
            };
            if masters.len() != 1 || self.state(masters[0], name).1 != top {
                self.fail(format!(
                    "{context}: {name} masters {masters:?}, expected one of priority {top}"
                ));
            }
        }
        for (index, host) in self.hosts.iter().enumerate() {
            let faults: Vec<bool> =
                NAMES.iter().map(|name| self.state(index, name).0 == State::Fault).collect();
            if host.settings.grouped && faults[0] != faults[1] {
                self.fail(format!("{context}: host {index}'s sync group is half in FAULT"));
            }
            let states: Vec<State> = NAMES.iter().map(|name| self.state(index, name).0).collect();
            if host.settings.grouped && states[0] != states[1] {
                self.fail(format!("{context}: host {index}'s sync group is split: {states:?}"));
            }
        }
    }

    fn settle(&mut self, context: &str) {
        self.run_for(SETTLE);
        self.check(context);
    }

    fn disturb(&mut self) {
        let index = self.rng.below(self.hosts.len());
        match self.rng.below(5) {
            0 => {
                let passed = self.rng.percent(50);
                self.hosts[index].node.handle_script(self.now, "chk", passed);
                self.drain(index);
                let (_, priority) = self.state(index, "VI01");
                let configured = i32::from(self.hosts[index].settings.priorities[0]);
                // In a sync group keepalived drops a member's weighted script (vrrp.c
                // vrrp_complete_instance()).
                let grouped = self.hosts[index].settings.grouped;
                let weight =
                    if passed || grouped { 0 } else { self.hosts[index].settings.script_weight };
                let expected = (configured + weight).clamp(1, 254) as u8;
                if priority != expected {
                    self.fail(format!(
                        "chk {passed} on host {index}: priority {priority}, not {expected}"
                    ));
                }
                self.settle(&format!("chk {passed} on host {index}"));
            }
            1 => {
                let usable = self.rng.percent(50);
                self.hosts[index].node.handle_link(self.now, "uplink", usable);
                self.drain(index);
                let context = format!("uplink {usable} on host {index}");
                if !usable && self.state(index, "VI02").0 != State::Fault {
                    self.fail(format!(
                        "{context}: VI02 tracks it with weight 0, yet is not in FAULT"
                    ));
                }
                self.settle(&context);
            }
            2 => {
                let before = self.changes[index].len();
                self.reload(index, None);
                if self.changes[index].len() != before {
                    let new = &self.changes[index][before..];
                    self.fail(format!(
                        "an unchanged reload on host {index} changed states: {new:?}"
                    ));
                }
                self.settle(&format!("unchanged reload on host {index}"));
            }
            _ => {
                let mut settings = self.hosts[index].settings.clone();
                let priority = self.priority();
                if settings.grouped {
                    settings.priorities = [priority; 2];
                } else {
                    settings.priorities[self.rng.below(2)] = priority;
                }
                settings.extra_vip = self.rng.percent(50);
                let master_before = self.state(index, "VI01").0 == State::Master;
                let before = self.changes[index].len();
                self.reload(index, Some(settings.clone()));
                // Reload in place: the change acts through the protocol, never at once.
                if let Some(change) = self.changes[index][before..].first() {
                    self.fail(format!("reload to {settings:?} on host {index} changed {change:?} at once (master before: {master_before})"));
                }
                self.settle(&format!("reload to {settings:?} on host {index}"));
            }
        }
    }
}

fn run_seed(seed: u64) {
    let mut lan = Lan::new(seed);
    lan.settle("start-up");
    for _ in 0..8 {
        lan.disturb();
    }
}

#[test]
fn nodes_hold_their_invariants_over_many_seeds() {
    if let Some(seed) = std::env::var("VRRP_SIM_SEED").ok().and_then(|s| s.parse().ok()) {
        run_seed(seed);
        return;
    }
    let seeds =
        std::env::var("VRRP_SIM_SEEDS").ok().and_then(|s| s.parse().ok()).unwrap_or(DEFAULT_SEEDS);
    for seed in 0..seeds {
        run_seed(seed);
    }
}
