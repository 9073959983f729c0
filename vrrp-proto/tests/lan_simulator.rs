//! A deterministic simulated LAN of 2 to 5 routers: loss, delay, reordering, partitions,
//! crashes, graceful restarts, frozen processes and faults, on a virtual clock. Routers may own
//! the addresses, wait a `preempt_delay`, have their priority moved by tracking, change their
//! advertisement interval on reload, and sit behind a kernel that reports a backup only changed
//! advertisements, a few milliseconds late (and, in the chaotic phase, loses some reports): the
//! rest it learns from the kernel's record when its master-down timer is due, dated in the
//! past, as the daemon does.
//!
//! Each seed runs a chaotic phase (only causality is checked there), then calm phases with
//! targeted disturbances whose outcome the RFC bounds:
//! - after convergence exactly one master, the highest priority (ties: highest address);
//! - a dead master is replaced within Master_Down_Interval of its last advertisement + delay;
//! - a resigning master is replaced within Skew_Time + delay;
//! - after a partition heals, one master within one advertisement interval + delay;
//! - every state change has a cause: the input that produced it justifies its reason, and a
//!   preemption waits `preempt_delay` from the first lower-priority advertisement;
//! - a backup follows exactly the advertisements RFC 9568 §6.4.2 and keepalived's
//!   `preempt_delay` say it follows, and counts Master_Down_Interval from the newest one's
//!   interval;
//! - the owner's priority never moves, nobody else's reaches 255;
//! - a master answers lower priorities with at most one announcement round per
//!   `garp_lower_prio_delay`.
//!
//! A failure names its seed; `VRRP_SIM_SEED=n` replays it, `VRRP_SIM_SEEDS=n` runs more.

use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use vrrp_proto::{
    Advertisement, Centiseconds, Disposition, Output, Reason, Router, RouterConfig, State, Version,
};

const DEFAULT_SEEDS: u64 = 5_000;
/// Announcements per round answering a lower priority: not garp_master_repeat's 5, so the
/// simulator tells those rounds apart.
const LOWER_PRIO_REPEAT: u32 = 3;
/// How late the kernel's advertisement events may reach the daemon.
const EVENT_LAG: Duration = Duration::from_millis(5);
/// VRRPv3 intervals the routers are configured with, and change to on reload.
const V3_INTERVALS: [u16; 4] = [50, 100, 100, 200];
const VIP: IpAddr = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 100));

#[path = "support/split_mix.rs"]
mod split_mix;
use split_mix::SplitMix;

#[derive(Clone, Debug)]
enum Action {
    Crash(usize),
    Restart(usize),
    Shutdown(usize),
    Startup(usize),
    Freeze(usize),
    Resume(usize),
    Fault(usize, bool),
    Partition(Vec<u8>),
    Heal,
    Loss(u64),
    /// Tracking moved the router's priority.
    Track(usize, u8),
    /// A reload gave the router another advertisement interval (VRRPv3).
    Interval(usize, Centiseconds),
    /// Percentage of the kernel's advertisement events that are lost.
    LostEvents(u64),
}

#[derive(Debug)]
enum Event {
    Deliver {
        to: usize,
        source: IpAddr,
        advert: Advertisement,
    },
    /// The kernel's event for an advertisement it received at `received_at`.
    Report {
        to: usize,
        received_at: Instant,
        source: IpAddr,
        advert: Advertisement,
    },
    Script(Action),
}

struct Scheduled {
    at: Instant,
    sequence: u64,
    event: Event,
}

impl PartialEq for Scheduled {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Scheduled {}
impl PartialOrd for Scheduled {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Scheduled {
    /// Reversed: the heap pops the earliest event, ties in scheduling order.
    fn cmp(&self, other: &Self) -> Ordering {
        (other.at, other.sequence).cmp(&(self.at, self.sequence))
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Liveness {
    Running,
    Crashed,
    Frozen,
}

/// What the simulator itself saw of one router, to judge its reasons independently.
struct Node {
    config: RouterConfig,
    router: Router,
    liveness: Liveness,
    faulty: bool,
    /// Advertisements that arrived while frozen, handled with their receive times on resume.
    backlog: Vec<(Instant, IpAddr, Advertisement)>,
    last_sent: Option<Instant>,
    /// When the current wait for a master started: entering Backup, or the newest delivered
    /// advertisement this router must follow.
    waiting_since: Option<Instant>,
    resigned_at: Option<Instant>,
    /// The first lower-priority advertisement since the wait started (preempt_delay counts
    /// from it).
    first_lower_since_wait: Option<Instant>,
    /// The interval of the master it follows, as the simulator saw it: from the newest
    /// advertisement followed, never from one reported late.
    master_interval: Centiseconds,
    /// The priority tracking last gave it, applied again after a restart.
    tracked: Option<u8>,
    /// Whether a kernel program in front of it absorbs unchanged advertisements in Backup.
    absorbs: bool,
    /// What the kernel's record last saw: sender, priority, interval.
    kernel_seen: Option<(IpAddr, u8, Centiseconds)>,
    /// The kernel's record: the newest advertisement of each sender, with its receive time.
    kernel_record: Vec<(Instant, IpAddr, Advertisement)>,
    /// When, as master, it last answered a lower priority with announcements.
    last_lower_round: Option<Instant>,
}

impl Node {
    fn address(&self) -> IpAddr {
        self.config.primary_address
    }
}

#[derive(Clone, Copy, Debug)]
enum Input {
    Startup,
    Shutdown,
    Fault,
    Timeout,
    Track,
    Reload,
    Advert { source: IpAddr, priority: u8, received_at: Instant },
}

struct Lan {
    seed: u64,
    t0: Instant,
    now: Instant,
    rng: SplitMix,
    nodes: Vec<Node>,
    queue: BinaryHeap<Scheduled>,
    sequence: u64,
    loss_percent: u64,
    max_delay: Duration,
    /// Partition group of each node; packets cross only within a group.
    groups: Vec<u8>,
    transitions: Vec<(Instant, usize, State, State)>,
    lost_events_percent: u64,
    /// The interval every router starts with; the chaotic phase changes some for a while.
    configured_interval: Centiseconds,
}

impl Lan {
    fn new(seed: u64) -> Self {
        let mut rng = SplitMix(seed);
        let count = 2 + rng.below(4);
        let version = if rng.percent(30) { Version::V2 } else { Version::V3 };
        let interval = match version {
            Version::V2 => Centiseconds::from_seconds(1),
            Version::V3 => Centiseconds::new(rng.pick(&V3_INTERVALS)),
        };
        let preempt_delay = if rng.percent(25) {
            Duration::from_millis(rng.below(4_000) as u64)
        } else {
            Duration::ZERO
        };
        // A lower-priority round is told from the others by its size.
        let garp = vrrp_proto::GarpConfig {
            lower_prio_delay: Duration::from_millis(rng.pick(&[0, 500, 2_000, 5_000])),
            lower_prio_repeat: LOWER_PRIO_REPEAT,
            ..vrrp_proto::GarpConfig::default()
        };
        let preempt = !rng.percent(15);
        let owner = rng.percent(15).then(|| rng.below(count));
        let t0 = Instant::now();
        let nodes = (0..count)
            .map(|index| {
                let priority = match owner {
                    Some(owner) if owner == index => 255,
                    _ => [1, 50, 100, 100, 110, 200, 254][rng.below(7)],
                };
                let config = RouterConfig {
                    version,
                    priority,
                    advert_interval: interval,
                    preempt,
                    preempt_delay,
                    garp,
                    ..RouterConfig::new(
                        42,
                        IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1 + index as u8)),
                        vec![VIP],
                    )
                };
                Node {
                    router: Router::new(config.clone()).expect("valid configuration"),
                    config,
                    liveness: Liveness::Running,
                    faulty: false,
                    backlog: Vec::new(),
                    last_sent: None,
                    waiting_since: None,
                    resigned_at: None,
                    first_lower_since_wait: None,
                    master_interval: interval,
                    tracked: None,
                    absorbs: rng.percent(50),
                    kernel_seen: None,
                    kernel_record: Vec::new(),
                    last_lower_round: None,
                }
            })
            .collect();
        Self {
            seed,
            t0,
            now: t0,
            rng,
            nodes,
            queue: BinaryHeap::new(),
            sequence: 0,
            loss_percent: 0,
            max_delay: Duration::from_millis(5),
            groups: vec![0; count],
            transitions: Vec::new(),
            lost_events_percent: 0,
            configured_interval: interval,
        }
    }

    fn fail(&self, message: String) -> ! {
        let routers: Vec<String> = self
            .nodes
            .iter()
            .map(|node| {
                format!(
                    "{} prio {} every {} {:?} {}",
                    node.address(),
                    node.router.priority(),
                    node.config.advert_interval,
                    node.liveness,
                    node.router.state()
                )
            })
            .collect();
        let recent = &self.transitions[self.transitions.len().saturating_sub(12)..];
        let recent: Vec<String> = recent
            .iter()
            .map(|(at, index, from, to)| format!("{:?} #{index} {from}->{to}", *at - self.t0))
            .collect();
        panic!(
            "{message}\n  at {:?} after start; replay with VRRP_SIM_SEED={}\n  routers: \
             {routers:#?}\n  recent transitions: {recent:#?}",
            self.now - self.t0,
            self.seed
        )
    }

    fn schedule(&mut self, at: Instant, event: Event) {
        self.sequence += 1;
        self.queue.push(Scheduled { at, sequence: self.sequence, event });
    }

    fn next_timer(&self) -> Option<(Instant, usize)> {
        self.nodes
            .iter()
            .enumerate()
            .filter(|(_, node)| node.liveness == Liveness::Running)
            .filter_map(|(index, node)| node.router.poll_timeout().map(|at| (at, index)))
            .min()
    }

    fn run_until(&mut self, end: Instant) {
        loop {
            let timer = self.next_timer();
            let event_at = self.queue.peek().map(|scheduled| scheduled.at);
            match (timer, event_at) {
                (Some((at, index)), event_at) if at <= end && event_at.is_none_or(|e| at < e) => {
                    self.now = self.now.max(at);
                    let now = self.now;
                    if self.nodes[index].router.state() == State::Backup {
                        // The daemon reads the kernel's record before judging a master-down
                        // timer: an absorbed advertisement counts, dated when it arrived.
                        let mut record = std::mem::take(&mut self.nodes[index].kernel_record);
                        if !record.is_empty() {
                            record.sort_by_key(|(received_at, ..)| *received_at);
                            for (received_at, source, advert) in record {
                                self.deliver(index, received_at, source, &advert);
                            }
                            continue;
                        }
                    }
                    self.nodes[index].router.handle_timeout(now);
                    self.drain(index, Input::Timeout);
                    if self.nodes[index].router.poll_timeout().is_some_and(|next| next <= now) {
                        self.fail(format!("router {index}'s timer does not advance"));
                    }
                }
                (_, Some(at)) if at <= end => {
                    let scheduled = self.queue.pop().expect("peeked");
                    self.now = self.now.max(scheduled.at);
                    self.handle_event(scheduled.event);
                }
                _ => break,
            }
        }
        self.now = end;
    }

    fn handle_event(&mut self, event: Event) {
        match event {
            Event::Report { to, received_at, source, advert } => match self.nodes[to].liveness {
                Liveness::Running => self.deliver(to, received_at, source, &advert),
                Liveness::Frozen => self.nodes[to].backlog.push((received_at, source, advert)),
                Liveness::Crashed => {}
            },
            Event::Deliver { to, source, advert } => match self.nodes[to].liveness {
                Liveness::Running => self.kernel_receives(to, source, advert),
                Liveness::Frozen => self.nodes[to].backlog.push((self.now, source, advert)),
                Liveness::Crashed => {}
            },
            Event::Script(action) => self.act(action),
        }
    }

    /// The kernel in front of a backup raises an event only when the sender, priority or
    /// interval changes (and may lose one); anything else waits in its record. A master hears
    /// every advertisement.
    /// Events reach the daemon up to [`EVENT_LAG`] late, so a record read at a master-down
    /// deadline may be newer than an event handled after it.
    fn kernel_receives(&mut self, to: usize, source: IpAddr, advert: Advertisement) {
        let lost = self.rng.percent(self.lost_events_percent);
        let lag = self.rng.duration(EVENT_LAG);
        let now = self.now;
        let node = &mut self.nodes[to];
        if !(node.absorbs && node.router.state() == State::Backup) {
            self.deliver(to, now, source, &advert);
            return;
        }
        let seen = (source, advert.priority(), advert.interval());
        let changed = node.kernel_seen != Some(seen);
        node.kernel_seen = Some(seen);
        node.kernel_record.retain(|(_, from, _)| *from != source);
        node.kernel_record.push((now, source, advert.clone()));
        if changed && !lost {
            self.schedule(now + lag, Event::Report { to, received_at: now, source, advert });
        }
    }

    fn deliver(&mut self, to: usize, received_at: Instant, source: IpAddr, advert: &Advertisement) {
        let node = &mut self.nodes[to];
        let before = node.router.state();
        let own = node.router.priority();
        let priority = advert.priority();
        let mut follows = false;
        if before == State::Backup && priority != 0 {
            // RFC 9568 §6.4.2 with keepalived's preempt_delay (vrrp.c vrrp_state_backup()):
            // a master at or above us stops the delay, the first lower one starts it, and
            // lower ones are followed until it has passed.
            let delay = node.config.preempt_delay;
            if priority >= own {
                node.first_lower_since_wait = None;
            }
            let first_lower = *node.first_lower_since_wait.get_or_insert(received_at);
            follows = priority >= own
                || !node.config.preempt
                || (!delay.is_zero() && received_at < first_lower + delay);
            if priority >= own {
                node.first_lower_since_wait = None;
            }
        }
        let disposition = node.router.handle_advertisement(received_at, source, advert);
        if before == State::Backup
            && priority != 0
            && follows != (disposition == Disposition::Accepted)
        {
            self.fail(format!(
                "router {to} (priority {own}) {disposition:?} an advertisement of priority \
                 {priority} received at {:?}; expected to follow it: {follows}",
                received_at - self.t0
            ));
        }
        let node = &mut self.nodes[to];
        if disposition == Disposition::Accepted && before == State::Backup {
            if priority == 0 {
                node.resigned_at = Some(received_at);
            } else {
                let newest = node.waiting_since.is_none_or(|since| received_at >= since);
                if newest && node.config.version == Version::V3 {
                    node.master_interval = advert.interval();
                }
                node.waiting_since =
                    Some(node.waiting_since.map_or(received_at, |w| w.max(received_at)));
                node.resigned_at = None;
            }
        }
        if before == State::Master && node.router.state() == State::Backup {
            // Yielding to a better master: its interval (RFC 9568 §6.4.3).
            if node.config.version == Version::V3 {
                node.master_interval = advert.interval();
            }
        }
        self.drain(to, Input::Advert { source, priority, received_at });
    }

    fn act(&mut self, action: Action) {
        let now = self.now;
        match action {
            Action::Crash(index) => self.nodes[index].liveness = Liveness::Crashed,
            Action::Restart(index) => {
                let node = &mut self.nodes[index];
                if node.liveness != Liveness::Crashed {
                    return;
                }
                // A new process: fresh state, the fault flag as the system reports it.
                node.router = Router::new(node.config.clone()).expect("valid configuration");
                node.liveness = Liveness::Running;
                node.backlog.clear();
                node.kernel_seen = None;
                node.kernel_record.clear();
                let faulty = node.faulty;
                node.router.handle_fault(now, faulty);
                self.drain(index, Input::Fault);
                // Tracking reports before startup, as the node's retrack does.
                if let Some(priority) = self.nodes[index].tracked {
                    self.nodes[index].router.handle_priority(now, priority);
                    self.drain(index, Input::Track);
                }
                self.check_priority(index);
                self.nodes[index].router.handle_startup(now);
                self.drain(index, Input::Startup);
            }
            Action::Shutdown(index) if self.nodes[index].liveness == Liveness::Running => {
                self.nodes[index].router.handle_shutdown(now);
                self.drain(index, Input::Shutdown);
            }
            Action::Startup(index) if self.nodes[index].liveness == Liveness::Running => {
                self.nodes[index].router.handle_startup(now);
                self.drain(index, Input::Startup);
            }
            Action::Freeze(index) if self.nodes[index].liveness == Liveness::Running => {
                self.nodes[index].liveness = Liveness::Frozen;
            }
            Action::Resume(index) if self.nodes[index].liveness == Liveness::Frozen => {
                self.nodes[index].liveness = Liveness::Running;
                // The socket kept what arrived; the shell hands it over with receive times
                // older than now, then the timers catch up.
                for (received_at, source, advert) in std::mem::take(&mut self.nodes[index].backlog)
                {
                    self.deliver(index, received_at, source, &advert);
                }
                // Link events that happened meanwhile are read on resume too.
                let faulty = self.nodes[index].faulty;
                self.nodes[index].router.handle_fault(now, faulty);
                self.drain(index, Input::Fault);
                self.nodes[index].router.handle_timeout(now);
                self.drain(index, Input::Timeout);
            }
            Action::Fault(index, faulty) => {
                self.nodes[index].faulty = faulty;
                if self.nodes[index].liveness == Liveness::Running {
                    self.nodes[index].router.handle_fault(now, faulty);
                    self.drain(index, Input::Fault);
                }
            }
            Action::Partition(groups) => self.groups = groups,
            Action::Heal => self.groups.iter_mut().for_each(|group| *group = 0),
            Action::Loss(percent) => self.loss_percent = percent,
            Action::LostEvents(percent) => self.lost_events_percent = percent,
            Action::Track(index, priority) => {
                self.nodes[index].tracked = Some(priority);
                if self.nodes[index].liveness == Liveness::Running {
                    self.nodes[index].router.handle_priority(now, priority);
                    self.drain(index, Input::Track);
                    self.check_priority(index);
                }
            }
            Action::Interval(index, interval) => {
                // A reload: a crashed router restarts with the new file; a frozen one's
                // outputs wait for its resume.
                let node = &mut self.nodes[index];
                node.config.advert_interval = interval;
                let config = node.config.clone();
                node.router.reconfigure(now, config).expect("valid interval");
                if node.liveness == Liveness::Running {
                    self.drain(index, Input::Reload);
                }
            }
            _ => {}
        }
    }

    fn drain(&mut self, index: usize, input: Input) {
        while let Some(output) = self.nodes[index].router.poll_output() {
            match output {
                Output::SendAdvertisement(advert) => self.broadcast(index, advert),
                Output::StateChanged { from, to, reason } => {
                    self.check_cause(index, input, from, to, reason);
                    self.transitions.push((self.now, index, from, to));
                    let now = match input {
                        Input::Advert { received_at, .. } => received_at,
                        _ => self.now,
                    };
                    let node = &mut self.nodes[index];
                    node.waiting_since = (to == State::Backup).then_some(now);
                    node.resigned_at = None;
                    node.first_lower_since_wait = None;
                    node.kernel_seen = None;
                    node.kernel_record.clear();
                    if to == State::Backup && from != State::Master {
                        node.master_interval = node.config.advert_interval;
                    }
                    node.last_lower_round = None;
                }
                Output::AnnounceAddresses { count, .. } if count == LOWER_PRIO_REPEAT => {
                    let at = match input {
                        Input::Advert { received_at, .. } => received_at,
                        _ => self.now,
                    };
                    self.check_lower_priority_round(index, at);
                }
                Output::AnnounceAddresses { .. } => {}
                Output::AddAddresses { .. } | Output::RemoveAddresses { .. } => {}
            }
        }
    }

    fn broadcast(&mut self, from: usize, advert: Advertisement) {
        self.nodes[from].last_sent = Some(self.now);
        let source = self.nodes[from].address();
        for to in 0..self.nodes.len() {
            if to == from || self.groups[to] != self.groups[from] {
                continue;
            }
            if self.rng.percent(self.loss_percent) {
                continue;
            }
            let delay = self.rng.duration(self.max_delay);
            let at = self.now + delay;
            self.schedule(at, Event::Deliver { to, source, advert: advert.clone() });
        }
    }

    /// No state change without a cause: the input must justify the reason given.
    fn check_cause(&self, index: usize, input: Input, from: State, to: State, reason: Reason) {
        let node = &self.nodes[index];
        let own = node.router.priority();
        // Master_Down_Interval from what the simulator saw, not from the router's own belief.
        let mdi =
            vrrp_proto::timer::master_down_interval(node.config.version, own, node.master_interval);
        let ok = match (input, reason) {
            (Input::Startup, Reason::Startup) => from == State::Initialize && to == State::Backup,
            (Input::Startup, Reason::AddressOwner) => node.config.is_owner() && to == State::Master,
            (Input::Startup | Input::Fault, Reason::Fault) => node.faulty && to == State::Fault,
            (Input::Fault, Reason::FaultCleared) => !node.faulty && from == State::Fault,
            (Input::Shutdown, Reason::Shutdown) => to == State::Initialize,
            (Input::Timeout, Reason::MasterDown) => {
                node.waiting_since.is_some_and(|since| self.now >= since + mdi)
            }
            (Input::Timeout, Reason::Preempted) => {
                node.first_lower_since_wait
                    .is_some_and(|first| self.now >= first + node.config.preempt_delay)
                    && node.waiting_since.is_some_and(|since| self.now >= since + mdi)
            }
            (Input::Timeout, Reason::MasterResigned) => {
                node.resigned_at.is_some_and(|at| self.now >= at + node.router.skew_time())
            }
            (
                Input::Advert { source: s, priority: p, .. },
                Reason::HigherPriority { source, priority },
            ) => s == source && p == priority && p > own && from == State::Master,
            (Input::Advert { source: s, priority: p, .. }, Reason::HigherAddress { source }) => {
                s == source && p == own && source > node.address() && from == State::Master
            }
            _ => false,
        };
        if !ok {
            self.fail(format!(
                "router {index} went {from} -> {to} with reason {reason:?} on {input:?} \
                 (priority {own}, waiting since {:?}, resigned at {:?})",
                node.waiting_since.map(|t| t - self.t0),
                node.resigned_at.map(|t| t - self.t0),
            ));
        }
    }

    /// Announcements answering a lower priority: at most one round per garp_lower_prio_delay.
    fn check_lower_priority_round(&mut self, index: usize, received_at: Instant) {
        let node = &self.nodes[index];
        let delay = node.config.garp.lower_prio_delay;
        let previous = node.last_lower_round;
        if previous.is_some_and(|previous| received_at < previous + delay) {
            self.fail(format!(
                "router {index} announced again {:?} after the previous round \
                 (garp_lower_prio_delay {delay:?})",
                received_at - previous.expect("checked")
            ));
        }
        self.nodes[index].last_lower_round = Some(received_at);
    }

    /// Tracking never moves the owner, and never makes anyone else the owner.
    fn check_priority(&self, index: usize) {
        let node = &self.nodes[index];
        let priority = node.router.priority();
        let expected = if node.config.is_owner() {
            255
        } else {
            node.tracked.unwrap_or(node.config.priority).clamp(1, 254)
        };
        if priority != expected {
            self.fail(format!("router {index} runs at priority {priority}, expected {expected}"));
        }
    }

    fn masters(&self) -> Vec<usize> {
        (0..self.nodes.len())
            .filter(|&index| {
                self.nodes[index].liveness == Liveness::Running
                    && self.nodes[index].router.state() == State::Master
            })
            .collect()
    }

    /// The router the election must pick among the running, healthy ones.
    fn rightful_master(&self, among: impl Fn(usize) -> bool) -> Option<usize> {
        (0..self.nodes.len())
            .filter(|&index| among(index))
            .filter(|&index| self.nodes[index].liveness == Liveness::Running)
            .filter(|&index| !self.nodes[index].faulty)
            .filter(|&index| self.nodes[index].router.state() != State::Initialize)
            .max_by_key(|&index| (self.nodes[index].router.priority(), self.nodes[index].address()))
    }

    /// The longest advertisement interval configured: a backup may have learnt it.
    fn slowest_interval(&self) -> Centiseconds {
        self.nodes.iter().map(|node| node.config.advert_interval).max().expect("routers")
    }

    /// The slowest election: a backup waits up to Master_Down_Interval, and a preempting one
    /// its preempt_delay and another, at the lowest priority; plus delays and an interval of
    /// slack for announcements.
    fn settle_time(&self) -> Duration {
        let interval = self.slowest_interval();
        let worst = vrrp_proto::timer::master_down_interval(Version::V3, 1, interval)
            .max(vrrp_proto::timer::master_down_interval(Version::V2, 1, interval));
        let preempt_delay =
            self.nodes.iter().map(|node| node.config.preempt_delay).max().expect("routers");
        worst * 2 + preempt_delay + interval.as_duration() * 2 + self.max_delay * 4
    }

    fn assert_one_rightful_master(&self, context: &str) {
        let masters = self.masters();
        if masters.len() != 1 {
            self.fail(format!("{context}: masters {masters:?}, expected exactly one"));
        }
        // A backup does not preempt a master of equal priority (RFC 9568 §6.4.2: it follows
        // "greater than or equal"), so the address decides only between routers that are
        // master at the same time; after convergence the master has the top priority.
        let rightful =
            self.rightful_master(|_| true).map(|index| self.nodes[index].router.priority());
        let priority = self.nodes[masters[0]].router.priority();
        if self.nodes[0].config.preempt && Some(priority) != rightful {
            self.fail(format!(
                "{context}: master {} has priority {priority}, the highest is {rightful:?}",
                masters[0]
            ));
        }
    }

    fn chaos(&mut self) {
        let start = self.now;
        let length = Duration::from_secs(20 + self.rng.below(20) as u64);
        let count = self.nodes.len();
        for _ in 0..(4 + self.rng.below(10)) {
            let at = start + self.rng.duration(length);
            let until = at + self.rng.duration(Duration::from_secs(8));
            let index = self.rng.below(count);
            let (action, undo) = match self.rng.below(10) {
                0 => (Action::Crash(index), Action::Restart(index)),
                1 => (Action::Shutdown(index), Action::Startup(index)),
                2 => (Action::Freeze(index), Action::Resume(index)),
                3 => (Action::Fault(index, true), Action::Fault(index, false)),
                4 => (Action::Partition(self.random_split()), Action::Heal),
                5 => (Action::Loss(self.rng.below(40) as u64), Action::Loss(0)),
                6 => {
                    let configured = self.nodes[index].config.priority;
                    let tracked = self.rng.pick(&[1, 50, 99, 150, 254, 255]);
                    (Action::Track(index, tracked), Action::Track(index, configured))
                }
                7 => (Action::LostEvents(self.rng.below(50) as u64), Action::LostEvents(0)),
                8 if self.nodes[0].config.version == Version::V3 => {
                    let interval = Centiseconds::new(self.rng.pick(&V3_INTERVALS));
                    let configured = self.configured_interval;
                    (Action::Interval(index, interval), Action::Interval(index, configured))
                }
                _ => {
                    self.max_delay = Duration::from_millis(self.rng.below(60) as u64);
                    continue;
                }
            };
            self.schedule(at, Event::Script(action));
            self.schedule(until, Event::Script(undo));
        }
        self.run_until(start + length);
    }

    fn random_split(&mut self) -> Vec<u8> {
        let count = self.nodes.len();
        let mut groups: Vec<u8> = (0..count).map(|_| self.rng.below(2) as u8).collect();
        // Both sides non-empty.
        groups[0] = 0;
        groups[1 + self.rng.below(count - 1)] = 1;
        groups
    }

    /// Everything repaired, no loss, small delays; then the election must settle and hold.
    fn calm_down(&mut self) {
        self.queue.retain(|s| matches!(s.event, Event::Deliver { .. } | Event::Report { .. }));
        self.loss_percent = 0;
        self.lost_events_percent = 0;
        for index in 0..self.nodes.len() {
            if self.nodes[index].config.advert_interval != self.configured_interval {
                self.act(Action::Interval(index, self.configured_interval));
            }
        }
        self.max_delay = Duration::from_millis(self.rng.below(10) as u64);
        for index in 0..self.nodes.len() {
            for action in [
                Action::Heal,
                Action::Resume(index),
                Action::Restart(index),
                Action::Fault(index, false),
                Action::Startup(index),
            ] {
                self.act(action);
            }
        }
        self.settle("after chaos");
    }

    fn settle(&mut self, context: &str) {
        let settled = self.now + self.settle_time();
        self.run_until(settled);
        self.assert_one_rightful_master(context);
        // And it holds: no transition at all for several intervals.
        let before = self.transitions.len();
        self.run_until(self.now + self.slowest_interval().as_duration() * 6);
        if self.transitions.len() != before {
            self.fail(format!("{context}: {:?}", &self.transitions[before..]));
        }
    }

    fn first_new_master_after(&self, since: Instant, except: usize) -> Option<Instant> {
        self.transitions
            .iter()
            .find(|(at, index, _, to)| *at >= since && *index != except && *to == State::Master)
            .map(|(at, ..)| *at)
    }

    fn best_backup_timers(&self, except: usize) -> (std::time::Duration, std::time::Duration) {
        let best = self.rightful_master(|index| index != except).expect("another router");
        let router = &self.nodes[best].router;
        (router.master_down_interval(), router.skew_time())
    }

    fn crash_the_master(&mut self) {
        let master = self.masters()[0];
        let (mdi, _) = self.best_backup_timers(master);
        self.act(Action::Crash(master));
        let last = self.nodes[master].last_sent.expect("a master has advertised");
        let deadline = last + mdi + self.max_delay;
        self.run_until(deadline.max(self.now));
        match self.first_new_master_after(last, master) {
            Some(_) => {}
            None => self.fail(format!(
                "dead master {master} (last advertisement at {:?}) not replaced by {:?}",
                last - self.t0,
                deadline - self.t0
            )),
        }
        self.settle("after the master died");
        self.act(Action::Restart(master));
        self.settle("after the dead master came back");
    }

    fn shut_the_master_down(&mut self) {
        let master = self.masters()[0];
        let (_, skew) = self.best_backup_timers(master);
        // Resign once the last advertisement has arrived everywhere: one still in flight
        // could arrive after the resignation (reordering) and rightly restart the full wait.
        let last = self.nodes[master].last_sent.expect("a master has advertised");
        self.run_until(self.now.max(last + self.max_delay + Duration::from_micros(1)));
        let resigned = self.now;
        self.act(Action::Shutdown(master));
        let deadline = resigned + skew + self.max_delay + EVENT_LAG;
        self.run_until(deadline);
        if self.first_new_master_after(resigned, master).is_none() {
            self.fail(format!("resigning master {master} not replaced within Skew_Time + delay"));
        }
        self.settle("after the master resigned");
        self.act(Action::Startup(master));
        self.settle("after the resigned master restarted");
    }

    fn partition_and_heal(&mut self) {
        let groups = self.random_split();
        self.act(Action::Partition(groups));
        self.run_until(self.now + self.settle_time());
        let healed = self.now;
        self.act(Action::Heal);
        let deadline = healed + self.slowest_interval().as_duration() + self.max_delay;
        self.run_until(deadline);
        let masters = self.masters();
        if masters.len() != 1 {
            self.fail(format!("partition healed at {:?}: masters {masters:?}", healed - self.t0));
        }
        self.settle("after the partition healed");
    }

    /// Tracking moves priorities: a backup rises above the master, then the master drops below
    /// the others; the election follows (after any preempt_delay), the owner never moves.
    fn retrack(&mut self) {
        let count = self.nodes.len();
        let master = self.masters()[0];
        let backup = (master + 1 + self.rng.below(count - 1)) % count;
        let above = self.nodes[master].router.priority().saturating_add(1).min(254);
        self.act(Action::Track(backup, above));
        self.settle("after a backup's tracked priority rose");
        let master = self.masters()[0];
        let dropped = 1 + self.rng.below(20) as u8;
        self.act(Action::Track(master, dropped));
        self.settle("after the master's tracked priority dropped");
        for index in 0..count {
            let priority = self.rng.pick(&[1, 90, 100, 120, 200, 254]);
            self.act(Action::Track(index, priority));
        }
        self.settle("after every tracked priority moved");
    }

    /// A reload gives every VRRPv3 router a new interval, one after the other; backups learn
    /// the master's. (One interval for all: with mixed ones a backup that learnt a short one
    /// from a yielding master may rightly take over for a moment, which the heal bound below
    /// does not allow for.)
    fn change_intervals(&mut self) {
        if self.nodes[0].config.version != Version::V3 {
            return;
        }
        let interval = Centiseconds::new(self.rng.pick(&V3_INTERVALS));
        for index in 0..self.nodes.len() {
            self.act(Action::Interval(index, interval));
            let gap = self.rng.duration(interval.as_duration());
            self.run_until(self.now + gap);
        }
        self.settle("after the intervals changed");
    }

    /// The master's daemon restarts at once (`state MASTER` included: only an owner takes
    /// over at once, anyone else waits for a master like a backup).
    fn restart_the_master(&mut self) {
        let master = self.masters()[0];
        self.act(Action::Crash(master));
        self.act(Action::Restart(master));
        let expected =
            if self.nodes[master].config.is_owner() { State::Master } else { State::Backup };
        if self.nodes[master].router.state() != expected {
            self.fail(format!("restarted master {master} is not {expected} at once"));
        }
        self.settle("after the master restarted");
    }

    fn freeze_the_master(&mut self) {
        let master = self.masters()[0];
        self.act(Action::Freeze(master));
        self.run_until(self.now + self.settle_time());
        self.act(Action::Resume(master));
        self.settle("after the frozen master resumed");
    }
}

fn run_seed(seed: u64) {
    let mut lan = Lan::new(seed);
    for index in 0..lan.nodes.len() {
        let at = lan.t0 + lan.rng.duration(Duration::from_secs(1));
        lan.schedule(at, Event::Script(Action::Startup(index)));
    }
    lan.chaos();
    lan.calm_down();
    lan.retrack();
    lan.change_intervals();
    lan.crash_the_master();
    lan.restart_the_master();
    lan.shut_the_master_down();
    lan.partition_and_heal();
    lan.freeze_the_master();
}

#[test]
fn elections_hold_their_invariants_over_many_seeds() {
    let seeds: Vec<u64> = match std::env::var("VRRP_SIM_SEED") {
        Ok(seed) => vec![seed.parse().expect("VRRP_SIM_SEED is a number")],
        Err(_) => {
            let count = std::env::var("VRRP_SIM_SEEDS")
                .map(|count| count.parse().expect("VRRP_SIM_SEEDS is a number"))
                .unwrap_or(DEFAULT_SEEDS);
            (0..count).collect()
        }
    };
    for seed in seeds {
        run_seed(seed);
    }
}
