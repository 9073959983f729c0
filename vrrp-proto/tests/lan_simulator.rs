//! A deterministic simulated LAN of 2 to 5 routers: loss, delay, reordering, partitions,
//! crashes, graceful restarts, frozen processes and faults, on a virtual clock.
//!
//! Each seed runs a chaotic phase (only causality is checked there), then calm phases with
//! targeted disturbances whose outcome the RFC bounds:
//! - after convergence exactly one master, the highest priority (ties: highest address);
//! - a dead master is replaced within Master_Down_Interval of its last advertisement + delay;
//! - a resigning master is replaced within Skew_Time + delay;
//! - after a partition heals, one master within one advertisement interval + delay;
//! - every state change has a cause: the input that produced it justifies its reason.
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
}

#[derive(Debug)]
enum Event {
    Deliver { to: usize, source: IpAddr, advert: Advertisement },
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
    heard_lower_since_wait: bool,
}

impl Node {
    fn address(&self) -> IpAddr {
        self.config.primary_address
    }

    /// Whether an advertisement of `priority` is one this router follows (RFC 9568 §6.4.2).
    fn follows(&self, priority: u8) -> bool {
        priority >= self.router.priority() || !self.config.preempt
    }
}

#[derive(Clone, Copy, Debug)]
enum Input {
    Startup,
    Shutdown,
    Fault,
    Timeout,
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
    interval: Centiseconds,
}

impl Lan {
    fn new(seed: u64) -> Self {
        let mut rng = SplitMix(seed);
        let count = 2 + rng.below(4);
        let version = if rng.percent(30) { Version::V2 } else { Version::V3 };
        let interval = match version {
            Version::V2 => Centiseconds::from_seconds(1),
            Version::V3 => Centiseconds::new([50, 100, 100, 200][rng.below(4)]),
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
                    heard_lower_since_wait: false,
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
            interval,
        }
    }

    fn fail(&self, message: String) -> ! {
        let routers: Vec<String> = self
            .nodes
            .iter()
            .map(|node| {
                format!(
                    "{} prio {} {:?} {}",
                    node.address(),
                    node.router.priority(),
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
            Event::Deliver { to, source, advert } => match self.nodes[to].liveness {
                Liveness::Running => self.deliver(to, self.now, source, &advert),
                Liveness::Frozen => self.nodes[to].backlog.push((self.now, source, advert)),
                Liveness::Crashed => {}
            },
            Event::Script(action) => self.act(action),
        }
    }

    fn deliver(&mut self, to: usize, received_at: Instant, source: IpAddr, advert: &Advertisement) {
        let node = &mut self.nodes[to];
        let before = node.router.state();
        let disposition = node.router.handle_advertisement(received_at, source, advert);
        let priority = advert.priority();
        if disposition == Disposition::Accepted && before == State::Backup {
            if priority == 0 {
                node.resigned_at = Some(received_at);
            } else if node.follows(priority) {
                node.waiting_since =
                    Some(node.waiting_since.map_or(received_at, |w| w.max(received_at)));
                node.heard_lower_since_wait = false;
                node.resigned_at = None;
            }
        }
        if before == State::Backup && priority != 0 && !node.follows(priority) {
            node.heard_lower_since_wait = true;
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
                let faulty = node.faulty;
                node.router.handle_fault(now, faulty);
                self.drain(index, Input::Fault);
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
                    node.heard_lower_since_wait = false;
                }
                Output::AddAddresses { .. }
                | Output::RemoveAddresses { .. }
                | Output::AnnounceAddresses { .. } => {}
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
        let mdi = node.router.master_down_interval();
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
                node.heard_lower_since_wait
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

    /// The slowest election: a backup waits up to Master_Down_Interval, and a preempting one
    /// another, at the lowest priority; plus delays and an interval of slack for announcements.
    fn settle_time(&self) -> Duration {
        let worst = vrrp_proto::timer::master_down_interval(Version::V3, 1, self.interval)
            .max(vrrp_proto::timer::master_down_interval(Version::V2, 1, self.interval));
        worst * 2 + self.interval.as_duration() * 2 + self.max_delay * 4
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
            let (action, undo) = match self.rng.below(7) {
                0 => (Action::Crash(index), Action::Restart(index)),
                1 => (Action::Shutdown(index), Action::Startup(index)),
                2 => (Action::Freeze(index), Action::Resume(index)),
                3 => (Action::Fault(index, true), Action::Fault(index, false)),
                4 => (Action::Partition(self.random_split()), Action::Heal),
                5 => (Action::Loss(self.rng.below(40) as u64), Action::Loss(0)),
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
        self.queue.retain(|s| matches!(s.event, Event::Deliver { .. }));
        self.loss_percent = 0;
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
        self.run_until(self.now + self.interval.as_duration() * 6);
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
        let deadline = resigned + skew + self.max_delay;
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
        let deadline = healed + self.interval.as_duration() + self.max_delay;
        self.run_until(deadline);
        let masters = self.masters();
        if masters.len() != 1 {
            self.fail(format!("partition healed at {:?}: masters {masters:?}", healed - self.t0));
        }
        self.settle("after the partition healed");
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
    lan.crash_the_master();
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
