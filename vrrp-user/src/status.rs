//! What the daemon holds, as `vrrpd status`, the control socket and the metrics read it: the
//! node's snapshot, published after every round of the event loop, with the data path's
//! counters, read from their one source when asked (the kernel's table while XDP runs, else the
//! socket path's), and their JSON form (schema version 1, documented in docs/status-json.md) and table.
//!
//! The JSON fields follow FRR's `show vrrp json` (priorities, intervals, addresses), keepalived's
//! JSON dump (state, last transition) and RFC 8347's `statistics` container (counters), in
//! snake_case. Fields are only ever added within a schema version.

use std::{
    fmt::Write as _,
    net::IpAddr,
    sync::Arc,
    time::{Instant, SystemTime, UNIX_EPOCH},
};

use serde::{Deserialize, Serialize};
use tokio::sync::watch;
use vrrp_common::{Counter, Verdict};
use vrrp_node::{
    tracking::{Effect, TrackedItem},
    InstanceSnapshot, Snapshot,
};
use vrrp_proto::{Family, Reason, State, Version};

use crate::{
    hook::Hook,
    socket_receiver::SocketCounters,
    xdp::{self, CounterMap, Counters},
};

/// The version of the JSON schema; a reader refuses another.
pub const SCHEMA_VERSION: u32 = 1;

/// Which data path validates advertisements (and so which one's counters are shown).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Datapath {
    Xdp,
    Socket,
}

impl Datapath {
    pub fn name(self) -> &'static str {
        match self {
            Datapath::Xdp => "xdp",
            Datapath::Socket => "socket",
        }
    }
}

/// Where the data path's per-reason counters are read.
pub enum CounterSource {
    Kernel(CounterMap),
    Socket(Arc<SocketCounters>),
}

impl CounterSource {
    pub fn datapath(&self) -> Datapath {
        match self {
            CounterSource::Kernel(_) => Datapath::Xdp,
            CounterSource::Socket(_) => Datapath::Socket,
        }
    }

    pub fn read(&self) -> anyhow::Result<Counters> {
        match self {
            CounterSource::Kernel(map) => xdp::sum_counters(map),
            CounterSource::Socket(counters) => Ok(counters.snapshot()),
        }
    }
}

/// The node as of the end of one round of the event loop, and where its data path counts.
#[derive(Clone)]
pub struct Published {
    pub snapshot: Snapshot,
    pub counters: Arc<CounterSource>,
    /// The kernel hook of each interface the kernel path is attached to.
    pub hooks: Arc<Vec<InterfaceHook>>,
}

/// The event loop's side: cheap to publish (an `Arc` swapped in a watch channel), never blocked
/// by readers.
pub struct Publisher(watch::Sender<Arc<Published>>);

impl Publisher {
    pub fn new(counters: CounterSource) -> Self {
        let empty = Published {
            snapshot: Snapshot::default(),
            counters: Arc::new(counters),
            hooks: Arc::default(),
        };
        Self(watch::Sender::new(Arc::new(empty)))
    }

    pub fn publish(&self, snapshot: Snapshot) {
        let (counters, hooks) = {
            let published = self.0.borrow();
            (Arc::clone(&published.counters), Arc::clone(&published.hooks))
        };
        self.0.send_replace(Arc::new(Published { snapshot, counters, hooks }));
    }

    /// Records the hooks in use (after an attachment or a detachment), for the next readers.
    pub fn set_hooks(&self, hooks: Vec<(String, Hook)>) {
        let hooks = hooks
            .into_iter()
            .map(|(interface, hook)| InterfaceHook { interface, hook: hook.name().to_owned() })
            .collect();
        let (snapshot, counters) = {
            let published = self.0.borrow();
            (published.snapshot.clone(), Arc::clone(&published.counters))
        };
        self.0.send_replace(Arc::new(Published { snapshot, counters, hooks: Arc::new(hooks) }));
    }

    pub fn subscribe(&self) -> watch::Receiver<Arc<Published>> {
        self.0.subscribe()
    }
}

/// systemd's STATUS= line: how many instances are in each state ("2 MASTER, 1 BACKUP").
pub fn summary(states: impl Iterator<Item = State>) -> String {
    let states: Vec<State> = states.collect();
    let order = [State::Master, State::Backup, State::Fault, State::Initialize];
    let counts: Vec<String> = order
        .iter()
        .map(|wanted| (wanted, states.iter().filter(|state| *state == wanted).count()))
        .filter(|(_, count)| *count != 0)
        .map(|(state, count)| format!("{count} {state}"))
        .collect();
    if counts.is_empty() {
        "no instance".to_owned()
    } else {
        counts.join(", ")
    }
}

/// The whole answer to a status request.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Status {
    /// [`SCHEMA_VERSION`].
    pub schema: u32,
    pub daemon: DaemonStatus,
    pub instances: Vec<InstanceStatus>,
    /// The data path's per-reason frame counters (kernel table, or the socket path's).
    pub datapath_counters: Vec<FrameCount>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DaemonStatus {
    pub pid: u32,
    /// vrrpd's version.
    pub version: String,
    pub datapath: Datapath,
    /// The kernel path's hook on each interface (empty on the socket path).
    #[serde(default)]
    pub hooks: Vec<InterfaceHook>,
    /// When the status was taken, seconds since the Unix epoch.
    pub time: f64,
    /// Address changes retried or failed, resynchronisations after lost events.
    #[serde(default)]
    pub recovery: crate::recovery::RecoveryStatus,
}

/// Where the kernel program runs on one interface: `xdp` or `tcx`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InterfaceHook {
    pub interface: String,
    pub hook: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InstanceStatus {
    pub name: String,
    pub interface: String,
    /// `use_vmac`: the macvlan, with the virtual MAC, that holds the addresses.
    #[serde(default)]
    pub vmac: Option<String>,
    pub vrid: u8,
    /// 2 or 3.
    pub version: u8,
    /// "ipv4" or "ipv6".
    pub family: String,
    /// "INIT", "BACKUP", "MASTER" or "FAULT".
    pub state: String,
    /// The latest state change; `None` before the first one.
    pub last_transition: Option<TransitionStatus>,
    pub base_priority: u8,
    pub effective_priority: u8,
    /// The tracked items acting on the instance now (what moved its priority or faults it).
    pub tracking: Vec<TrackingStatus>,
    pub primary_address: IpAddr,
    pub preempt: bool,
    /// Advertisement_Interval as configured, and Master_Adver_Interval as learnt (RFC 9568 §6.1).
    pub advert_interval_ms: u32,
    pub master_adver_interval_ms: u32,
    /// The master as last heard (this router itself while it is master).
    pub master: Option<MasterStatus>,
    pub virtual_addresses: Vec<IpAddr>,
    /// Whether this router has the virtual addresses installed.
    pub holds_addresses: bool,
    /// The `vrrp_sync_group` the instance is in, if any.
    #[serde(default)]
    pub sync_group: Option<SyncGroupStatus>,
    pub statistics: StatisticsStatus,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SyncGroupStatus {
    pub name: String,
    /// The group's state: "INIT" (starting or stopped), "BACKUP", "MASTER" or "FAULT".
    pub state: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TransitionStatus {
    pub from: String,
    pub to: String,
    /// A stable code: startup, address_owner, master_down, master_resigned, preempted,
    /// higher_priority, higher_address, shutdown, fault, fault_cleared.
    pub reason: String,
    /// The reason in words, with the sender and priority that caused it where there is one.
    pub reason_text: String,
    /// Seconds since the Unix epoch.
    pub since: f64,
    pub seconds_ago: f64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrackingStatus {
    /// "interface", "script", "file", "process" or "configuration".
    pub kind: String,
    pub name: String,
    /// "fault", or "weight" with `weight` added to the base priority.
    pub effect: String,
    pub weight: Option<i32>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MasterStatus {
    pub address: IpAddr,
    pub priority: u8,
    /// Whether the master is this router.
    pub is_self: bool,
    /// How long ago its latest advertisement was accepted (`None` for this router).
    pub heard_seconds_ago: Option<f64>,
}

/// RFC 8347 `statistics`, plus keepalived's announcements.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StatisticsStatus {
    pub advertisements_sent: u64,
    pub advertisements_received: u64,
    pub priority_zero_sent: u64,
    pub priority_zero_received: u64,
    /// Transitions into each state.
    pub transitions_to_init: u64,
    pub transitions_to_backup: u64,
    pub transitions_to_master: u64,
    pub transitions_to_fault: u64,
    pub left_master: u64,
    pub announcements_sent: u64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FrameCount {
    pub reason: String,
    /// "accepted", "passed", "dropped", "note" (a remark beside the frame's verdict) or
    /// "refused" (not VRRP: traffic dropped for `no_accept`).
    pub verdict: String,
    pub frames: u64,
}

/// The verdict label of a counter.
pub fn verdict_name(counter: Counter) -> &'static str {
    match counter.verdict() {
        Verdict::Accepted => "accepted",
        Verdict::Passed => "passed",
        Verdict::Dropped => "dropped",
        Verdict::Note => "note",
        Verdict::Refused => "refused",
    }
}

impl Status {
    /// The status now: `published`, and the data path's counters read now.
    pub fn read(published: &Published) -> anyhow::Result<Self> {
        let counters = published.counters.read()?;
        let datapath = published.counters.datapath();
        let mut status =
            Self::of(&published.snapshot, datapath, &counters, Instant::now(), SystemTime::now());
        status.daemon.hooks = published.hooks.as_ref().clone();
        Ok(status)
    }

    /// `snapshot` and `counters` as of `now` (`wall` is the same moment on the system clock).
    pub fn of(
        snapshot: &Snapshot,
        datapath: Datapath,
        counters: &Counters,
        now: Instant,
        wall: SystemTime,
    ) -> Self {
        let time = wall.duration_since(UNIX_EPOCH).map_or(0.0, |since| since.as_secs_f64());
        let ago = |at: Instant| now.saturating_duration_since(at).as_secs_f64();
        let instances = snapshot.instances.iter().map(|i| instance(i, time, &ago)).collect();
        let datapath_counters = Counter::ALL
            .iter()
            .map(|counter| FrameCount {
                reason: counter.name().to_owned(),
                verdict: verdict_name(*counter).to_owned(),
                frames: counters[*counter as usize],
            })
            .collect();
        let daemon = DaemonStatus {
            pid: std::process::id(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
            datapath,
            hooks: Vec::new(),
            time,
            recovery: crate::recovery::RecoveryStatus::now(),
        };
        Status { schema: SCHEMA_VERSION, daemon, instances, datapath_counters }
    }

    /// Why `vrrpd status --check` fails: every instance not in BACKUP or MASTER.
    pub fn problems(&self) -> Vec<String> {
        self.instances
            .iter()
            .filter(|i| i.state != "BACKUP" && i.state != "MASTER")
            .map(|i| format!("{} is {}", i.name, i.state))
            .collect()
    }

    /// The table `vrrpd status` prints.
    pub fn table(&self) -> String {
        let mut text = String::new();
        let datapath = match self.daemon.datapath {
            Datapath::Xdp if !self.daemon.hooks.is_empty() => {
                let each: Vec<String> = self
                    .daemon
                    .hooks
                    .iter()
                    .map(|h| format!("{} on {}", h.hook, h.interface))
                    .collect();
                format!("kernel ({})", each.join(", "))
            }
            Datapath::Xdp => "XDP".to_owned(),
            Datapath::Socket => "raw sockets".to_owned(),
        };
        let _ = writeln!(
            text,
            "vrrpd {} (pid {}), data path: {datapath}, {} instance{}",
            self.daemon.version,
            self.daemon.pid,
            self.instances.len(),
            if self.instances.len() == 1 { "" } else { "s" }
        );
        if let Some(line) = self.daemon.recovery.line() {
            let _ = writeln!(text, "{line}");
        }
        for i in &self.instances {
            let _ = writeln!(text);
            let _ = writeln!(
                text,
                "{}: {} on {}, VRID {}, {} VRRPv{}",
                i.name, i.state, i.interface, i.vrid, i.family, i.version
            );
            if let Some(t) = &i.last_transition {
                let _ = writeln!(
                    text,
                    "  since       {:.1} s ago ({} -> {}: {})",
                    t.seconds_ago, t.from, t.to, t.reason_text
                );
            }
            let mut priority =
                format!("{} effective, {} base", i.effective_priority, i.base_priority);
            for tracked in &i.tracking {
                let effect = match tracked.weight {
                    Some(weight) => format!("{weight:+}"),
                    None => "FAULT".to_owned(),
                };
                let _ = write!(priority, "; {} {} {effect}", tracked.kind, tracked.name);
            }
            let _ = writeln!(text, "  priority    {priority}");
            let master = match &i.master {
                Some(m) if m.is_self => {
                    format!("this router ({}), priority {}", m.address, m.priority)
                }
                Some(m) => format!(
                    "{}, priority {}, heard {:.1} s ago",
                    m.address,
                    m.priority,
                    m.heard_seconds_ago.unwrap_or_default()
                ),
                None => "none heard".to_owned(),
            };
            let _ = writeln!(text, "  master      {master}");
            if let Some(group) = &i.sync_group {
                let _ = writeln!(text, "  sync group  {} ({})", group.name, group.state);
            }
            let _ = writeln!(
                text,
                "  interval    {} ms learnt, {} ms configured; preempt {}; source {}",
                i.master_adver_interval_ms,
                i.advert_interval_ms,
                if i.preempt { "on" } else { "off" },
                i.primary_address
            );
            let addresses: Vec<String> =
                i.virtual_addresses.iter().map(IpAddr::to_string).collect();
            let on = i.vmac.as_ref().map(|vmac| format!(" on {vmac}")).unwrap_or_default();
            let _ = writeln!(
                text,
                "  addresses   {} ({}){on}",
                addresses.join(" "),
                if i.holds_addresses { "held" } else { "not held" }
            );
            let s = &i.statistics;
            let _ = writeln!(
                text,
                "  adverts     {} sent, {} received, {}/{} priority 0 sent/received",
                s.advertisements_sent,
                s.advertisements_received,
                s.priority_zero_sent,
                s.priority_zero_received
            );
            let _ = writeln!(
                text,
                "  transitions {} to MASTER, {} to BACKUP, {} to FAULT; {} announcement rounds",
                s.transitions_to_master,
                s.transitions_to_backup,
                s.transitions_to_fault,
                s.announcements_sent
            );
        }
        let counted: Vec<&FrameCount> =
            self.datapath_counters.iter().filter(|c| c.frames != 0).collect();
        let _ = writeln!(text);
        let _ = writeln!(text, "data path frames ({datapath}):");
        if counted.is_empty() {
            let _ = writeln!(text, "  none counted");
        }
        for count in counted {
            let _ =
                writeln!(text, "  {:<18} {:>12}  {}", count.reason, count.frames, count.verdict);
        }
        text
    }
}

fn instance(i: &InstanceSnapshot, time: f64, ago: &dyn Fn(Instant) -> f64) -> InstanceStatus {
    let stats = &i.statistics;
    let last_transition = stats.last_transition.map(|t| TransitionStatus {
        from: t.from.to_string(),
        to: t.to.to_string(),
        reason: reason_code(t.reason).to_owned(),
        reason_text: reason_text(t.reason),
        since: time - ago(t.at),
        seconds_ago: ago(t.at),
    });
    let master = if i.state == State::Master {
        Some(MasterStatus {
            address: i.primary_address,
            priority: i.effective_priority,
            is_self: true,
            heard_seconds_ago: None,
        })
    } else {
        stats.last_heard.filter(|_| i.state == State::Backup).map(|heard| MasterStatus {
            address: heard.source,
            priority: heard.priority,
            is_self: false,
            heard_seconds_ago: Some(ago(heard.at)),
        })
    };
    let tracking = i
        .adjustments
        .iter()
        .map(|adjustment| {
            let (kind, name) = match &adjustment.item {
                TrackedItem::Interface(name) => ("interface", name.clone()),
                TrackedItem::Script(name) => ("script", name.clone()),
                TrackedItem::File(name) => ("file", name.clone()),
                TrackedItem::Process(name) => ("process", name.clone()),
                TrackedItem::NoUnicastPeer => ("configuration", "unicast_fault_no_peer".into()),
                TrackedItem::SourceAddress(address) => ("address", address.to_string()),
            };
            let (effect, weight) = match adjustment.effect {
                Effect::Fault => ("fault", None),
                Effect::Weight(weight) => ("weight", Some(weight)),
            };
            TrackingStatus { kind: kind.to_owned(), name, effect: effect.to_owned(), weight }
        })
        .collect();
    InstanceStatus {
        name: i.name.clone(),
        interface: i.interface.clone(),
        vmac: i.vmac.clone(),
        vrid: i.vrid,
        version: match i.version {
            Version::V2 => 2,
            Version::V3 => 3,
        },
        family: match i.family {
            Family::Ipv4 => "ipv4",
            Family::Ipv6 => "ipv6",
        }
        .to_owned(),
        state: i.state.to_string(),
        last_transition,
        base_priority: i.base_priority,
        effective_priority: i.effective_priority,
        tracking,
        primary_address: i.primary_address,
        preempt: i.preempt,
        advert_interval_ms: u32::from(i.advert_interval.get()) * 10,
        master_adver_interval_ms: u32::from(i.master_adver_interval.get()) * 10,
        master,
        virtual_addresses: i.virtual_addresses.clone(),
        holds_addresses: i.holds_addresses,
        sync_group: i
            .sync_group
            .as_ref()
            .map(|(name, state)| SyncGroupStatus { name: name.clone(), state: state.to_string() }),
        statistics: StatisticsStatus {
            advertisements_sent: stats.advertisements_sent,
            advertisements_received: stats.advertisements_received,
            priority_zero_sent: stats.priority_zero_sent,
            priority_zero_received: stats.priority_zero_received,
            transitions_to_init: stats.entered.init,
            transitions_to_backup: stats.entered.backup,
            transitions_to_master: stats.entered.master,
            transitions_to_fault: stats.entered.fault,
            left_master: stats.left_master,
            announcements_sent: stats.announcements_sent,
        },
    }
}

fn reason_code(reason: Reason) -> &'static str {
    match reason {
        Reason::Startup => "startup",
        Reason::AddressOwner => "address_owner",
        Reason::MasterDown => "master_down",
        Reason::MasterResigned => "master_resigned",
        Reason::Preempted => "preempted",
        Reason::HigherPriority { .. } => "higher_priority",
        Reason::HigherAddress { .. } => "higher_address",
        Reason::Shutdown => "shutdown",
        Reason::Fault => "fault",
        Reason::FaultCleared => "fault_cleared",
        Reason::SyncGroup => "sync_group",
    }
}

fn reason_text(reason: Reason) -> String {
    match reason {
        Reason::Startup => "started, waiting for a master".to_owned(),
        Reason::AddressOwner => "address owner (priority 255)".to_owned(),
        Reason::MasterDown => "no advertisement for Master_Down_Interval".to_owned(),
        Reason::MasterResigned => "the master resigned (priority 0)".to_owned(),
        Reason::Preempted => "preempted a lower-priority master".to_owned(),
        Reason::HigherPriority { source, priority } => {
            format!("higher priority {priority} from {source}")
        }
        Reason::HigherAddress { source } => {
            format!("same priority from the higher address {source}")
        }
        Reason::Shutdown => "shut down".to_owned(),
        Reason::Fault => "interface down or a tracked check failed".to_owned(),
        Reason::FaultCleared => "the fault cleared".to_owned(),
        Reason::SyncGroup => "another member of its sync group changed state".to_owned(),
    }
}

/// A status of one master instance (VI_1, VRID 51, base 150, effective 130: tracked script
/// `chk` of weight -20 failing) and 7 absorbed frames, for the readers' tests.
#[cfg(test)]
pub(crate) fn sample_status() -> Status {
    let (node, now) = tests::master_node();
    Status::of(&node.snapshot(), Datapath::Xdp, &tests::counters(), now, SystemTime::now())
}

#[cfg(test)]
mod tests {
    use std::{collections::HashMap, path::Path, time::Duration};

    use vrrp_node::Node;

    use super::*;

    /// A node with one instance that became master, tracked script `chk` (weight -20) failing.
    pub(super) fn master_node() -> (Node, Instant) {
        let text = "global_defs {\n vrrp_version 3\n}\n\
                    vrrp_script chk {\n script \"/bin/true\"\n weight -20\n}\n\
                    vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 51\n priority 150\n \
                    unicast_src_ip 192.0.2.1\n unicast_peer {\n 192.0.2.2\n }\n \
                    track_script {\n chk\n }\n virtual_ipaddress {\n 192.0.2.100\n }\n}\n";
        let config = vrrp_config::parse_str(text, Path::new("t.conf")).unwrap().config;
        let start = Instant::now();
        let mut node = Node::new();
        node.handle_link(start, "eth0", true);
        node.handle_reload(start, config, &HashMap::new()).unwrap();
        let mut now = start;
        while let Some(at) = node.poll_timeout().filter(|at| *at <= start + Duration::from_secs(5))
        {
            now = at;
            node.handle_timeout(now);
        }
        node.handle_script(now, "chk", false);
        while node.poll_output().is_some() {}
        (node, now)
    }

    pub(super) fn counters() -> Counters {
        let mut counters = [0; Counter::COUNT as usize];
        counters[Counter::Absorbed as usize] = 7;
        counters
    }

    #[test]
    fn the_json_says_who_is_master_since_when_and_why() {
        let (node, _) = master_node();
        let became = node.snapshot().instances[0].statistics.last_transition.unwrap().at;
        let now = became + Duration::from_secs(10);
        let wall = UNIX_EPOCH + Duration::from_secs(1_000_000);
        let status = Status::of(&node.snapshot(), Datapath::Xdp, &counters(), now, wall);
        let json: serde_json::Value = serde_json::to_value(&status).unwrap();
        assert_eq!(json["schema"], 1);
        assert_eq!(json["daemon"]["datapath"], "xdp");
        let vi = &json["instances"][0];
        assert_eq!(vi["name"], "VI_1");
        assert_eq!((vi["state"].as_str(), vi["vrid"].as_u64()), (Some("MASTER"), Some(51)));
        assert_eq!((vi["family"].as_str(), vi["version"].as_u64()), (Some("ipv4"), Some(3)));
        assert_eq!(vi["base_priority"], 150);
        assert_eq!(vi["effective_priority"], 130);
        assert_eq!(vi["tracking"][0]["kind"], "script");
        assert_eq!(vi["tracking"][0]["weight"], -20);
        assert_eq!(vi["master"]["is_self"], true);
        assert_eq!(vi["master"]["address"], "192.0.2.1");
        assert_eq!(vi["last_transition"]["to"], "MASTER");
        assert_eq!(vi["last_transition"]["reason"], "master_down");
        assert_eq!(vi["last_transition"]["seconds_ago"], 10.0);
        assert_eq!(vi["last_transition"]["since"], 999_990.0);
        assert_eq!(vi["virtual_addresses"][0], "192.0.2.100");
        assert_eq!(vi["holds_addresses"], true);
        assert_eq!(vi["statistics"]["transitions_to_master"], 1);
        let absorbed = json["datapath_counters"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["reason"] == Counter::Absorbed.name())
            .unwrap();
        assert_eq!(
            (absorbed["verdict"].as_str(), absorbed["frames"].as_u64()),
            (Some("accepted"), Some(7))
        );
        let back: Status = serde_json::from_value(json).unwrap();
        assert_eq!(back, status, "a reader decodes what the daemon encodes");
    }

    #[test]
    fn systemd_hears_how_many_instances_are_in_each_state() {
        let states = [State::Backup, State::Master, State::Master, State::Fault];
        assert_eq!(summary(states.into_iter()), "2 MASTER, 1 BACKUP, 1 FAULT");
        assert_eq!(summary(std::iter::empty()), "no instance");
    }

    #[test]
    fn the_table_and_the_check_read_the_same_status() {
        let mut status = sample_status();
        let table = status.table();
        for part in [
            "VI_1: MASTER on eth0, VRID 51, ipv4 VRRPv3",
            "130 effective, 150 base; script chk -20",
            "this router (192.0.2.1), priority 130",
            "192.0.2.100 (held)",
            "absorbed",
        ] {
            assert!(table.contains(part), "no {part:?} in:\n{table}");
        }
        assert!(status.problems().is_empty());
        status.instances[0].state = "FAULT".into();
        assert_eq!(status.problems(), vec!["VI_1 is FAULT".to_owned()]);
    }
}
