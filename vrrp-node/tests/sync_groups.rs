//! keepalived's vrrp_sync_group through the node's public contract: two routers, each with an
//! outside and an inside instance in one group, on a virtual clock and a lossless wire. The
//! inside link of the master fails: both addresses move; it comes back: both move back.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use vrrp_node::{InstanceId, Node, Output};
use vrrp_proto::{Advertisement, Reason, State};

const INSTANCES: [(&str, &str); 2] = [("VI01", "outside"), ("VI02", "inside")];
/// Master_Down_Interval at priority 100 with a 1 s interval (3 s + 156/256 s).
const MDI_100: Duration = Duration::from_nanos(3_609_375_000);

fn config(host: u8, priority: u8, global_extra: &str, group_extra: &str) -> vrrp_config::Config {
    let text = format!(
        "global_defs {{\n    vrrp_version 3\n{global_extra}}}\n\
         vrrp_instance VI01 {{\n    interface outside\n    virtual_router_id 1\n    \
         priority {priority}\n    advert_int 1\n    mcast_src_ip 192.0.2.{host}\n    \
         notify /bin/i\n    virtual_ipaddress {{\n        192.0.2.100\n    }}\n}}\n\
         vrrp_instance VI02 {{\n    interface inside\n    virtual_router_id 2\n    \
         priority {priority}\n    advert_int 1\n    mcast_src_ip 198.51.100.{host}\n    \
         notify /bin/i\n    virtual_ipaddress {{\n        198.51.100.100\n    }}\n}}\n\
         vrrp_sync_group G1 {{\n    group {{\n        VI01\n        VI02\n    }}\n\
         {group_extra}}}\n"
    );
    vrrp_config::parse_str(&text, Path::new("sync.conf")).expect("valid").config
}

struct Host {
    node: Node,
    names: HashMap<InstanceId, &'static str>,
    address: [u8; 2],
    links: HashMap<&'static str, bool>,
}

/// What happened, in order: (time, host, event).
#[derive(Clone, Debug, PartialEq, Eq)]
enum Event {
    Changed(&'static str, State, State, Reason),
    Script(Vec<String>),
}

struct Lab {
    now: Instant,
    hosts: Vec<Host>,
    wire: VecDeque<(usize, &'static str, IpAddr, Advertisement)>,
    events: Vec<(Instant, usize, Event)>,
    fifo_lines: Vec<(Instant, usize, String)>,
}

impl Lab {
    /// Host 0 at priority 110, host 1 at 100, every link up.
    fn new(group_extra: &str) -> Self {
        Self::with_global("", group_extra)
    }

    fn with_global(global_extra: &str, group_extra: &str) -> Self {
        let now = Instant::now();
        let mut lab = Self {
            now,
            hosts: Vec::new(),
            wire: VecDeque::new(),
            events: Vec::new(),
            fifo_lines: Vec::new(),
        };
        for (index, priority) in [110, 100].into_iter().enumerate() {
            let mut node = Node::new();
            for (_, interface) in INSTANCES {
                node.handle_link(now, interface, true);
            }
            let address = [1 + index as u8; 2];
            let config = config(address[0], priority, global_extra, group_extra);
            node.handle_reload(now, config, &HashMap::new()).expect("runs");
            let links = INSTANCES.iter().map(|(_, interface)| (*interface, true)).collect();
            lab.hosts.push(Host { node, names: HashMap::new(), address, links });
            lab.drain(index);
        }
        lab
    }

    fn drain(&mut self, index: usize) {
        while let Some(output) = self.hosts[index].node.poll_output() {
            let host = &mut self.hosts[index];
            match output {
                Output::InstanceStarted { id, name } => {
                    let name = INSTANCES.iter().find(|(n, _)| *n == name).expect("known").0;
                    host.names.insert(id, name);
                }
                Output::SendAdvertisement { id, advertisement } => {
                    let name = host.names[&id];
                    let slot = INSTANCES.iter().position(|(n, _)| *n == name).expect("known");
                    let source = match slot {
                        0 => IpAddr::from([192, 0, 2, host.address[0]]),
                        _ => IpAddr::from([198, 51, 100, host.address[1]]),
                    };
                    self.wire.push_back((index, name, source, advertisement));
                }
                Output::StateChanged { id, from, to, reason } => {
                    let event = Event::Changed(host.names[&id], from, to, reason);
                    self.events.push((self.now, index, event));
                }
                Output::RunScript(run) => {
                    self.events.push((self.now, index, Event::Script(run.argv)));
                }
                Output::NotifyFifo { line } => self.fifo_lines.push((self.now, index, line)),
                _ => {}
            }
        }
    }

    /// Delivers what is on the wire, over links up at both ends.
    fn deliver(&mut self) {
        while let Some((from, name, source, advertisement)) = self.wire.pop_front() {
            let interface = INSTANCES.iter().find(|(n, _)| *n == name).expect("known").1;
            for to in (0..self.hosts.len()).filter(|to| *to != from) {
                if !(self.hosts[from].links[interface] && self.hosts[to].links[interface]) {
                    continue;
                }
                let host = &mut self.hosts[to];
                let id = host.names.iter().find(|(_, n)| **n == name).map(|(id, _)| *id);
                if let Some(id) = id {
                    host.node.handle_advertisement(self.now, id, source, &advertisement);
                }
                self.drain(to);
            }
        }
    }

    fn run_for(&mut self, span: Duration) {
        let end = self.now + span;
        self.deliver();
        loop {
            let next = (0..self.hosts.len())
                .filter_map(|index| self.hosts[index].node.poll_timeout().map(|at| (at, index)))
                .min();
            let Some((at, index)) = next.filter(|(at, _)| *at <= end) else { break };
            self.now = self.now.max(at);
            self.hosts[index].node.handle_timeout(self.now);
            self.drain(index);
            self.deliver();
        }
        self.now = end;
    }

    fn link(&mut self, index: usize, interface: &'static str, up: bool) {
        self.hosts[index].links.insert(interface, up);
        self.hosts[index].node.handle_link(self.now, interface, up);
        self.drain(index);
        self.deliver();
    }

    fn states(&self, index: usize) -> Vec<State> {
        let host = &self.hosts[index];
        INSTANCES
            .iter()
            .map(|(name, _)| {
                let id = host.names.iter().find(|(_, n)| *n == name).expect("running").0;
                host.node.instance(*id).expect("running").router().state()
            })
            .collect()
    }

    /// When each instance of host `index` entered `state` since `since`.
    fn entered(&self, index: usize, state: State, since: Instant) -> Vec<(&'static str, Instant)> {
        self.events
            .iter()
            .filter(|(at, host, _)| *host == index && *at >= since)
            .filter_map(|(at, _, event)| match event {
                Event::Changed(name, _, to, _) if *to == state => Some((*name, *at)),
                _ => None,
            })
            .collect()
    }

    fn scripts(&self, index: usize, since: Instant) -> Vec<Vec<String>> {
        self.events
            .iter()
            .filter(|(at, host, _)| *host == index && *at >= since)
            .filter_map(|(_, _, event)| match event {
                Event::Script(argv) => Some(argv.clone()),
                _ => None,
            })
            .collect()
    }
}

use State::{Backup, Fault, Master};

fn argv(words: &[&str]) -> Vec<String> {
    words.iter().map(|word| word.to_string()).collect()
}

#[test]
fn the_group_starts_together_on_the_higher_router() {
    let mut lab = Lab::new("");
    lab.run_for(Duration::from_secs(10));
    assert_eq!(lab.states(0), [Master, Master]);
    assert_eq!(lab.states(1), [Backup, Backup]);
    let masters = lab.entered(0, Master, lab.events[0].0);
    assert_eq!(masters.len(), 2, "{masters:?}");
    assert_eq!(masters[0].1, masters[1].1, "the members became MASTER together");
}

#[test]
fn the_inside_link_failing_moves_both_addresses_and_its_return_moves_them_back() {
    let mut lab = Lab::new("    notify_master /bin/m\n    notify \"/bin/n G\"\n");
    lab.run_for(Duration::from_secs(10));
    assert_eq!((lab.states(0), lab.states(1)), (vec![Master, Master], vec![Backup, Backup]));

    let failed = lab.now;
    lab.link(0, "inside", false);
    assert_eq!(lab.states(0), [Fault, Fault], "the inside member's fault is the group's");
    // Host 1's outside instance hears the resignation, but waits for its inside one, which
    // heard nothing and waits Master_Down_Interval since the last advertisement.
    lab.run_for(Duration::from_secs(2));
    assert_eq!(lab.states(1), [Backup, Backup], "held until the inside member wants MASTER");
    lab.run_for(MDI_100);
    assert_eq!(lab.states(1), [Master, Master]);
    let masters = lab.entered(1, Master, failed);
    assert_eq!(masters.len(), 2);
    assert_eq!(masters[0].1, masters[1].1, "together");
    assert_eq!(
        lab.scripts(1, failed),
        [
            argv(&["/bin/i", "INSTANCE", "VI02", "MASTER", "100"]),
            argv(&["/bin/i", "INSTANCE", "VI01", "MASTER", "100"]),
            argv(&["/bin/m"]),
            argv(&["/bin/n", "G", "GROUP", "G1", "MASTER", "0"]),
        ],
        "each member's scripts, then the group's"
    );
    assert_eq!(
        lab.scripts(0, failed),
        [
            argv(&["/bin/i", "INSTANCE", "VI01", "FAULT", "110"]),
            argv(&["/bin/i", "INSTANCE", "VI02", "FAULT", "110"]),
            argv(&["/bin/n", "G", "GROUP", "G1", "FAULT", "0"]),
        ]
    );

    let back = lab.now;
    lab.link(0, "inside", true);
    assert_eq!(lab.states(0), [Backup, Backup]);
    lab.run_for(Duration::from_secs(10));
    assert_eq!((lab.states(0), lab.states(1)), (vec![Master, Master], vec![Backup, Backup]));
    let masters = lab.entered(0, Master, back);
    assert_eq!(masters.len(), 2);
    assert_eq!(masters[0].1, masters[1].1, "host 0 preempted with both members at once");
    // On host 1 the member that heard the higher priority took the other along.
    let reasons: Vec<Reason> = lab
        .events
        .iter()
        .filter(|(at, host, _)| *host == 1 && *at >= back)
        .filter_map(|(_, _, event)| match event {
            Event::Changed(_, Master, Backup, reason) => Some(*reason),
            _ => None,
        })
        .collect();
    assert_eq!(reasons.len(), 2);
    assert!(matches!(reasons[0], Reason::HigherPriority { priority: 110, .. }), "{reasons:?}");
    assert_eq!(reasons[1], Reason::SyncGroup);
    assert_eq!(
        lab.scripts(1, back).last(),
        Some(&argv(&["/bin/n", "G", "GROUP", "G1", "BACKUP", "0"]))
    );

    lab.hosts[1].node.handle_shutdown(lab.now);
    let stopped = lab.now;
    lab.drain(1);
    assert_eq!(
        lab.scripts(1, stopped),
        [
            argv(&["/bin/i", "INSTANCE", "VI01", "STOP", "100"]),
            argv(&["/bin/i", "INSTANCE", "VI02", "STOP", "100"]),
            argv(&["/bin/n", "G", "GROUP", "G1", "STOP", "0"]),
        ]
    );
}

#[test]
fn a_group_track_interface_applies_to_every_member() {
    let mut lab = Lab::new("    track_interface {\n        uplink\n    }\n");
    for index in 0..2 {
        lab.hosts[index].node.handle_link(lab.now, "uplink", true);
        lab.drain(index);
    }
    lab.run_for(Duration::from_secs(10));
    assert_eq!(lab.states(0), [Master, Master]);
    lab.hosts[0].node.handle_link(lab.now, "uplink", false);
    lab.drain(0);
    assert_eq!(lab.states(0), [Fault, Fault]);
    lab.run_for(Duration::from_secs(2));
    assert_eq!(lab.states(1), [Master, Master], "both resigned: skew time, no wait");
}

#[test]
fn fifo_lines_give_each_member_then_the_group() {
    let mut lab = Lab::with_global("    vrrp_notify_fifo /run/vrrp.fifo\n", "");
    lab.run_for(Duration::from_secs(10));
    let lines: Vec<&str> = lab
        .fifo_lines
        .iter()
        .filter(|(_, host, _)| *host == 0)
        .map(|(_, _, line)| line.trim_end())
        .collect();
    assert_eq!(
        lines,
        [
            "INSTANCE \"VI01\" BACKUP 110",
            "INSTANCE \"VI02\" BACKUP 110",
            "GROUP \"G1\" BACKUP 0",
            // VI01's timer expired first and was held; VI02's took both.
            "INSTANCE \"VI02\" MASTER 110",
            "INSTANCE \"VI01\" MASTER 110",
            "GROUP \"G1\" MASTER 0",
        ]
    );
}

#[test]
fn the_snapshot_names_each_members_group_and_its_state() {
    let mut lab = Lab::new("");
    lab.run_for(Duration::from_secs(10));
    let snapshot = lab.hosts[0].node.snapshot();
    for instance in &snapshot.instances {
        assert_eq!(instance.sync_group, Some(("G1".to_owned(), Master)), "{}", instance.name);
    }
    lab.link(0, "inside", false);
    let snapshot = lab.hosts[0].node.snapshot();
    assert_eq!(snapshot.instances[0].sync_group, Some(("G1".to_owned(), Fault)));
}
