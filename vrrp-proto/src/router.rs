//! The virtual router state machine of RFC 9568 §6.4, with keepalived's Fault state, preemption
//! delay and address announcements. Sans-IO: every input carries its time, every effect is an
//! [`Output`], and the next deadline is [`Router::poll_timeout`].

use core::fmt;
use core::time::Duration;
use std::collections::VecDeque;
use std::net::IpAddr;
use std::time::Instant;

use crate::announce::Announcer;
use crate::config::{ConfigError, RouterConfig};
use crate::interval::Centiseconds;
use crate::packet::{Advertisement, Version};
use crate::timer::{master_down_interval, skew_time};

/// Where a virtual router is. Operators know MASTER and BACKUP; Fault is keepalived's state for a
/// router that cannot serve (interface down, a tracked check failing).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum State {
    Initialize,
    Backup,
    Master,
    Fault,
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            State::Initialize => "INIT",
            State::Backup => "BACKUP",
            State::Master => "MASTER",
            State::Fault => "FAULT",
        })
    }
}

/// Why the state changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Reason {
    /// Started, not the owner: wait for a master (RFC 9568 §6.4.1).
    Startup,
    /// Started with priority 255 (RFC 9568 §6.4.1).
    AddressOwner,
    /// No advertisement for Master_Down_Interval (RFC 9568 §6.4.2).
    MasterDown,
    /// The master resigned with priority 0 and Skew_Time passed (RFC 9568 §6.4.2).
    MasterResigned,
    /// Only lower-priority advertisements were heard, and Preempt_Mode is on (RFC 9568 §6.4.2).
    Preempted,
    /// An advertisement of a higher priority (RFC 9568 §6.4.3).
    HigherPriority { source: IpAddr, priority: u8 },
    /// An advertisement of the same priority from a higher primary address (RFC 9568 §6.4.3).
    HigherAddress { source: IpAddr },
    /// Shut down (RFC 9568 §6.4.2, §6.4.3).
    Shutdown,
    /// The interface went down or a tracked check failed.
    Fault,
    /// The fault is over: elect again.
    FaultCleared,
    /// Another member of its sync group changed state, and it follows (keepalived
    /// vrrp_sync.c vrrp_sync_master(), vrrp_sync_backup()).
    SyncGroup,
}

/// What the shell must do, in order.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Output {
    /// Encode and send this advertisement (to the group, or each unicast peer).
    SendAdvertisement(Advertisement),
    /// Configure the virtual addresses. `accept` is Accept_Mode (RFC 9568 §6.1), always on for
    /// the owner: whether to accept packets addressed to them. `vrrp-node` turns it into the
    /// shell's refusal of that traffic while the addresses are held.
    AddAddresses {
        addresses: Vec<IpAddr>,
        accept: bool,
    },
    /// Remove the virtual addresses.
    RemoveAddresses {
        addresses: Vec<IpAddr>,
    },
    /// Send `count` gratuitous ARPs / unsolicited neighbour advertisements for the addresses,
    /// `spacing` apart (`garp_interval`).
    AnnounceAddresses {
        addresses: Vec<IpAddr>,
        count: u32,
        spacing: Duration,
    },
    StateChanged {
        from: State,
        to: State,
        reason: Reason,
    },
}

/// What became of a received advertisement.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Disposition {
    /// It reset a timer, changed the state, or was answered.
    Accepted,
    Discarded(DiscardReason),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DiscardReason {
    /// Not in Backup or Master.
    NotRunning,
    OtherVrid,
    OtherVersion,
    OtherFamily,
    /// Our own advertisement, looped back.
    OwnAdvertisement,
    /// The address owner ignores advertisements (RFC 9568 §7.1).
    LocalOwner,
    /// VRRPv2 requires the same Adver_Interval on all routers (RFC 3768 §7.1).
    IntervalMismatch,
    /// A lower priority while preempting: the master-down timer runs out (RFC 9568 §6.4.2).
    Preempting,
    /// A resignation received before the newest advertisement already handled.
    Stale,
}

/// What the master-down timer means when it expires.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum DownCause {
    NoMaster,
    Resigned,
    Preempting,
}

#[derive(Clone, Copy, Debug)]
struct MasterDownTimer {
    at: Instant,
    cause: DownCause,
}

/// One virtual router.
#[derive(Clone, Debug)]
pub struct Router {
    config: RouterConfig,
    /// What this router advertises, at its configured priority.
    advertisement: Advertisement,
    state: State,
    /// Effective priority: configured, adjusted by tracking.
    priority: u8,
    fault: bool,
    /// Master_Adver_Interval (RFC 9568 §6.1): learnt from the master in VRRPv3.
    master_adver_interval: Centiseconds,
    adver_timer: Option<Instant>,
    master_down_timer: Option<MasterDownTimer>,
    /// Receive time of the newest advertisement a backup followed: the master-down timer counts
    /// from it, so a late-reported older advertisement cannot shorten it.
    last_heard: Option<Instant>,
    /// keepalived's preempt_delay: no preemption before this time.
    preempt_after: Option<Instant>,
    announcer: Announcer,
    outputs: VecDeque<Output>,
}

impl Router {
    /// A router in Initialize; [`Router::handle_startup`] starts it.
    pub fn new(config: RouterConfig) -> Result<Self, ConfigError> {
        config.validate()?;
        let advertisement = config.advertisement()?;
        Ok(Self {
            priority: config.priority,
            master_adver_interval: config.advert_interval,
            config,
            advertisement,
            state: State::Initialize,
            fault: false,
            adver_timer: None,
            master_down_timer: None,
            last_heard: None,
            preempt_after: None,
            announcer: Announcer::default(),
            outputs: VecDeque::new(),
        })
    }

    pub fn config(&self) -> &RouterConfig {
        &self.config
    }

    pub fn state(&self) -> State {
        self.state
    }

    /// The effective priority.
    pub fn priority(&self) -> u8 {
        self.priority
    }

    pub fn master_adver_interval(&self) -> Centiseconds {
        self.master_adver_interval
    }

    /// Skew_Time with the current priority and Master_Adver_Interval.
    pub fn skew_time(&self) -> Duration {
        skew_time(self.config.version, self.priority, self.master_adver_interval)
    }

    /// Master_Down_Interval with the current priority and Master_Adver_Interval.
    pub fn master_down_interval(&self) -> Duration {
        master_down_interval(self.config.version, self.priority, self.master_adver_interval)
    }

    /// The next effect to carry out, until `None`.
    pub fn poll_output(&mut self) -> Option<Output> {
        self.outputs.pop_front()
    }

    /// Whether the master-down timer of this backup may be watched elsewhere (the kernel's
    /// timer): `Some(p)` when it was last reset by a followed master's advertisement, so that
    /// every later advertisement of priority `p` or more resets it again for
    /// [`Router::master_down_interval`] and nothing else changes it (RFC 9568 §6.4.2; priority
    /// 0 is not among them). `None` in any other state, while a resignation or a preemption
    /// runs it out, or with a preempt delay, whose rule depends on time.
    pub fn followed_master(&self) -> Option<u8> {
        let timer = self.master_down_timer?;
        let reset_by_master = self.last_heard? + self.master_down_interval() == timer.at;
        let watchable = self.state == State::Backup
            && timer.cause == DownCause::NoMaster
            && reset_by_master
            && self.config.preempt_delay.is_zero();
        // A backup that may preempt follows only its equals and betters; one that may not
        // follows everyone.
        watchable.then_some(if self.config.preempt { self.priority } else { 1 })
    }

    /// When [`Router::handle_timeout`] must be called next.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let announce = match self.state {
            State::Master => self.announcer.next_deadline(),
            _ => None,
        };
        [self.adver_timer, self.master_down_timer.map(|timer| timer.at), announce]
            .into_iter()
            .flatten()
            .min()
    }

    /// New settings for the running router, kept in its state: keepalived's reload applies a
    /// changed interval, address list, preemption or announcement setting to the running
    /// instance. Whether this router owns the addresses (priority 255) decides how it runs, so a
    /// change of ownership is not accepted here (the caller restarts the router). A master
    /// advertises the new settings at once; a configured priority reaches the router through
    /// [`Router::handle_priority`], as a tracked change does.
    pub fn reconfigure(&mut self, now: Instant, config: RouterConfig) -> Result<(), ConfigError> {
        config.validate()?;
        if config.is_owner() != self.config.is_owner()
            || config.primary_address != self.config.primary_address
        {
            return Err(ConfigError::Identity);
        }
        self.advertisement = config.advertisement()?;
        let advertised_changed = config.virtual_addresses != self.config.virtual_addresses
            || config.advert_interval != self.config.advert_interval;
        if config.version == Version::V2 || self.state != State::Backup {
            // VRRPv2 requires one interval on every router; a VRRPv3 backup keeps its master's.
            self.master_adver_interval = config.advert_interval;
        }
        if config.preempt_delay != self.config.preempt_delay && config.preempt_delay.is_zero() {
            self.preempt_after = None;
        }
        self.config = config;
        if self.state == State::Master && advertised_changed {
            self.send_advertisement(self.priority);
            self.adver_timer = Some(now + self.advert_interval());
        }
        Ok(())
    }

    /// Starts the router (RFC 9568 §6.4.1). Only an Initialize router starts.
    pub fn handle_startup(&mut self, now: Instant) {
        if self.state != State::Initialize {
            return;
        }
        if self.fault {
            self.change_state(now, State::Fault, Reason::Fault);
        } else if self.config.is_owner() {
            self.change_state(now, State::Master, Reason::AddressOwner);
        } else {
            self.change_state(now, State::Backup, Reason::Startup);
        }
    }

    /// Shuts the router down (RFC 9568 §6.4.2, §6.4.3): a master resigns first.
    pub fn handle_shutdown(&mut self, now: Instant) {
        if self.state != State::Initialize {
            self.change_state(now, State::Initialize, Reason::Shutdown);
        }
    }

    /// The interface or a tracked check failed (`true`) or recovered (`false`).
    pub fn handle_fault(&mut self, now: Instant, faulty: bool) {
        if faulty == self.fault {
            return;
        }
        self.fault = faulty;
        match (faulty, self.state) {
            (true, State::Backup | State::Master) => {
                self.change_state(now, State::Fault, Reason::Fault)
            }
            (false, State::Fault) if self.config.is_owner() => {
                self.change_state(now, State::Master, Reason::FaultCleared)
            }
            (false, State::Fault) => self.change_state(now, State::Backup, Reason::FaultCleared),
            // Before startup the flag decides where startup goes.
            _ => {}
        }
    }

    /// A new effective priority (tracking weights). keepalived vrrp_track.c
    /// vrrp_set_effective_priority(): the address owner's priority never moves (it discards
    /// every advertisement, so a lower one would never yield), and anyone else's stays 1-254,
    /// since 0 means resigning and 255 owning.
    pub fn handle_priority(&mut self, now: Instant, priority: u8) {
        if self.config.is_owner() {
            return;
        }
        let priority = priority.clamp(1, u8::MAX - 1);
        if priority == self.priority {
            return;
        }
        let before = (self.master_down_interval(), self.skew_time());
        self.priority = priority;
        let after = (self.master_down_interval(), self.skew_time());
        if let Some(timer) = self.master_down_timer.as_mut().filter(|_| self.state == State::Backup)
        {
            // keepalived vrrp_track.c vrrp_set_effective_priority(): a backup's running
            // master-down timer moves by the change of its length, so the higher backup still
            // takes over first when the master dies.
            let (old, new) = match timer.cause {
                DownCause::Resigned => (before.1, after.1),
                DownCause::NoMaster | DownCause::Preempting => (before.0, after.0),
            };
            timer.at = timer.at + new - old;
        }
        if self.state == State::Master {
            // Tell the backups now, so a higher one preempts without waiting an interval.
            self.send_advertisement(priority);
            self.adver_timer = Some(now + self.advert_interval());
        }
    }

    /// A valid advertisement from `source`, received at `received_at`. The time may be earlier
    /// than an earlier call's (the kernel absorbed it and the shell learnt of it later): timers
    /// are set from it, and a master-down deadline is never moved earlier by an older message.
    pub fn handle_advertisement(
        &mut self,
        received_at: Instant,
        source: IpAddr,
        advert: &Advertisement,
    ) -> Disposition {
        if let Err(reason) = self.check_receivable(source, advert) {
            return Disposition::Discarded(reason);
        }
        match self.state {
            State::Backup => self.backup_receives(received_at, advert),
            State::Master => self.master_receives(received_at, source, advert),
            State::Initialize | State::Fault => Disposition::Discarded(DiscardReason::NotRunning),
        }
    }

    /// Timers that are due at `now` fire; anything else is left alone, so extra calls are
    /// harmless.
    pub fn handle_timeout(&mut self, now: Instant) {
        match self.state {
            State::Master => {
                if let Some(at) = self.adver_timer.filter(|at| *at <= now) {
                    // RFC 9568 §6.4.3: Adver_Timer fired: advertise and re-arm.
                    self.send_advertisement(self.priority);
                    let next = at + self.advert_interval();
                    self.adver_timer =
                        Some(if next > now { next } else { now + self.advert_interval() });
                }
                let count = self.announcer.due(now, &self.config.garp);
                self.announce(count);
            }
            State::Backup => {
                if let Some(timer) = self.master_down_timer.filter(|timer| timer.at <= now) {
                    // RFC 9568 §6.4.2: Master_Down_Timer fired.
                    let reason = match timer.cause {
                        DownCause::NoMaster => Reason::MasterDown,
                        DownCause::Resigned => Reason::MasterResigned,
                        DownCause::Preempting => Reason::Preempted,
                    };
                    self.change_state(now, State::Master, reason);
                }
            }
            State::Initialize | State::Fault => {}
        }
    }

    /// Whether the master-down timer of a backup is due at `now`: the moment a sync group
    /// decides whether this router may become master ([`Router::hold_master_down`]).
    pub fn master_down_due(&self, now: Instant) -> bool {
        self.state == State::Backup && self.master_down_timer.is_some_and(|timer| timer.at <= now)
    }

    /// keepalived vrrp_sync.c vrrp_sync_can_goto_master(): a sync group member whose
    /// master-down timer expired while another member does not yet want MASTER stays in
    /// Backup, its timer re-armed for a whole Master_Down_Interval, with the same cause.
    pub fn hold_master_down(&mut self, now: Instant) {
        if !self.master_down_due(now) {
            return;
        }
        let at = now + self.master_down_interval();
        if let Some(timer) = self.master_down_timer.as_mut() {
            timer.at = at;
        }
    }

    /// A sync group takes this router along to `to` (Master or Backup), as keepalived's
    /// vrrp_sync_master() / vrrp_sync_backup() do: a Backup becomes Master, a Master becomes
    /// Backup. A router in Fault or Initialize, or already there, stays as it is.
    pub fn handle_sync(&mut self, now: Instant, to: State) {
        match (self.state, to) {
            (State::Backup, State::Master) | (State::Master, State::Backup) => {
                self.change_state(now, to, Reason::SyncGroup)
            }
            _ => {}
        }
    }

    /// RFC 9568 §7.1 checks that need the configuration (the packet checks are the decoder's).
    fn check_receivable(
        &self,
        source: IpAddr,
        advert: &Advertisement,
    ) -> Result<(), DiscardReason> {
        if advert.vrid() != self.config.vrid {
            return Err(DiscardReason::OtherVrid);
        }
        if advert.version() != self.config.version {
            return Err(DiscardReason::OtherVersion);
        }
        if advert.family() != self.config.family() {
            return Err(DiscardReason::OtherFamily);
        }
        if source == self.config.primary_address {
            return Err(DiscardReason::OwnAdvertisement);
        }
        if self.config.is_owner() {
            return Err(DiscardReason::LocalOwner);
        }
        if self.config.version == Version::V2 && advert.interval() != self.config.advert_interval {
            return Err(DiscardReason::IntervalMismatch);
        }
        Ok(())
    }

    fn backup_receives(&mut self, at: Instant, advert: &Advertisement) -> Disposition {
        if advert.priority() == 0 {
            if self.last_heard.is_some_and(|newest| newest > at) {
                return Disposition::Discarded(DiscardReason::Stale);
            }
            // RFC 9568 §6.4.2: the master resigned: Master_Down_Timer = Skew_Time.
            let at = at + self.skew_time();
            self.master_down_timer = Some(MasterDownTimer { at, cause: DownCause::Resigned });
            return Disposition::Accepted;
        }
        let worth_following = advert.priority() >= self.priority;
        if worth_following {
            // keepalived vrrp.c vrrp_state_backup(): an advertisement at or above our priority
            // stops the preempt delay, so a master that later drops below us is given the
            // whole delay again.
            self.preempt_after = None;
        }
        if worth_following || !self.may_preempt(at) {
            // RFC 9568 §6.4.2: a master worth following: learn its interval (VRRPv3), reset
            // the Master_Down_Timer. An advertisement reported late (the kernel absorbed it
            // before a newer one was handled) says nothing of the master's current interval.
            let late = self.last_heard.is_some_and(|newest| newest > at);
            if !late {
                self.learn_interval(advert);
            }
            let newest = self.last_heard.map_or(at, |newest| newest.max(at));
            self.last_heard = Some(newest);
            let at = newest + self.master_down_interval();
            self.master_down_timer = Some(MasterDownTimer { at, cause: DownCause::NoMaster });
            return Disposition::Accepted;
        }
        // RFC 9568 §6.4.2: lower priority with Preempt_Mode: discard; the timer runs out. A
        // timer armed by a resignation or the `state MASTER` hint keeps that cause.
        if let Some(timer) = &mut self.master_down_timer {
            if timer.cause == DownCause::NoMaster {
                timer.cause = DownCause::Preempting;
            }
        }
        Disposition::Discarded(DiscardReason::Preempting)
    }

    fn master_receives(
        &mut self,
        at: Instant,
        source: IpAddr,
        advert: &Advertisement,
    ) -> Disposition {
        let theirs = advert.priority();
        if theirs == 0 {
            // RFC 9568 §6.4.3: another router resigned: advertise at once, reset Adver_Timer.
            // It was master too, so hosts may have its MAC: announce the addresses again.
            self.send_advertisement(self.priority);
            self.adver_timer = Some(at + self.advert_interval());
            let count = self.announcer.lower_priority_heard(at, &self.config.garp);
            self.announce(count);
        } else if theirs > self.priority {
            // RFC 9568 §6.4.3: a better master: follow it.
            self.learn_interval(advert);
            self.change_state(
                at,
                State::Backup,
                Reason::HigherPriority { source, priority: theirs },
            );
        } else if theirs == self.priority && source > self.config.primary_address {
            // RFC 9568 §6.4.3: a tie goes to the higher primary address (unsigned, network
            // order, which is how `IpAddr` orders addresses of one family).
            self.learn_interval(advert);
            self.change_state(at, State::Backup, Reason::HigherAddress { source });
        } else {
            // RFC 9568 §6.4.3: a lower priority: advertise at once so that router hears its
            // master now rather than after an interval, and announce the addresses again
            // (keepalived's garp_lower_prio_repeat, at most once per garp_lower_prio_delay):
            // hosts may have learnt the other's MAC. keepalived vrrp.c vrrp_state_master_rx():
            // `lower_prio_no_advert` keeps the advertisement (and the Adver_Timer) as they
            // were, the announcement still goes.
            if !self.config.lower_prio_no_advert {
                self.send_advertisement(self.priority);
                self.adver_timer = Some(at + self.advert_interval());
            }
            let count = self.announcer.lower_priority_heard(at, &self.config.garp);
            self.announce(count);
        }
        Disposition::Accepted
    }

    fn learn_interval(&mut self, advert: &Advertisement) {
        if self.config.version == Version::V3 {
            self.master_adver_interval = advert.interval();
        }
    }

    /// keepalived's preempt_delay (vrrp.c vrrp_state_backup()): the first lower-priority
    /// advertisement since entering Backup, or since a master at or above our priority spoke,
    /// starts the delay; preemption waits until it has passed.
    fn may_preempt(&mut self, at: Instant) -> bool {
        if !self.config.preempt {
            return false;
        }
        if self.config.preempt_delay.is_zero() {
            return true;
        }
        match self.preempt_after {
            Some(after) => at >= after,
            None => {
                self.preempt_after = Some(at + self.config.preempt_delay);
                false
            }
        }
    }

    fn advert_interval(&self) -> Duration {
        self.config.advert_interval.as_duration()
    }

    fn send_advertisement(&mut self, priority: u8) {
        let advert = self.advertisement.clone().with_priority(priority);
        self.outputs.push_back(Output::SendAdvertisement(advert));
    }

    fn announce(&mut self, count: u32) {
        if count > 0 {
            self.outputs.push_back(Output::AnnounceAddresses {
                addresses: self.config.virtual_addresses.clone(),
                count,
                spacing: self.config.garp.interval,
            });
        }
    }

    /// Every state change happens here: the event, the address actions, the timers.
    fn change_state(&mut self, now: Instant, to: State, reason: Reason) {
        let from = self.state;
        self.state = to;
        self.outputs.push_back(Output::StateChanged { from, to, reason });
        self.adver_timer = None;
        self.master_down_timer = None;
        // keepalived vrrp.c vrrp_state_leave_master(), vrrp_state_leave_fault(): every state
        // change clears preempt_time; in Backup the first lower-priority advertisement starts
        // the delay.
        self.preempt_after = None;
        // A master-down timer armed below counts from now (the better master's advertisement).
        self.last_heard = (to == State::Backup && from == State::Master).then_some(now);

        if from == State::Master {
            if matches!(to, State::Initialize | State::Fault) {
                // RFC 9568 §6.4.3 (shutdown): resign with priority 0 so a backup takes over
                // after Skew_Time instead of Master_Down_Interval. keepalived does the same
                // when it enters Fault.
                self.send_advertisement(0);
            } else if reason == Reason::SyncGroup || self.config.higher_prio_send_advert {
                // Yielding to a better master, which may not know two masters existed (a
                // partition healed): one last advertisement at our priority makes it answer
                // and announce its addresses again, so hosts stop using our MAC. Not priority
                // 0: that would start every backup's Skew_Time, and an owner never answers.
                // keepalived vrrp.c vrrp_state_master_rx(): `higher_prio_send_advert`; with
                // it off the master yields silently.
                self.send_advertisement(self.priority);
            }
            self.announcer.stop();
            self.outputs.push_back(Output::RemoveAddresses {
                addresses: self.config.virtual_addresses.clone(),
            });
        }

        match to {
            State::Master => {
                // RFC 9568 §6.4.1 (owner) and §6.4.2 (Master_Down_Timer fired): take the
                // addresses, advertise, announce them, arm the Adver_Timer.
                self.outputs.push_back(Output::AddAddresses {
                    addresses: self.config.virtual_addresses.clone(),
                    accept: self.config.accept_mode || self.config.is_owner(),
                });
                self.send_advertisement(self.priority);
                let count = self.announcer.start(now, &self.config.garp);
                self.announce(count);
                self.adver_timer = Some(now + self.advert_interval());
            }
            State::Backup => {
                // RFC 9568 §6.4.1 (startup, Master_Adver_Interval = Advertisement_Interval)
                // and §6.4.3 (a better master, whose interval the caller learnt): arm the
                // Master_Down_Timer.
                if from != State::Master {
                    self.master_adver_interval = self.config.advert_interval;
                }
                // keepalived vrrp_scheduler.c vrrp_init_state(): `state MASTER` takes over at
                // once only for the address owner (which starts in Master above); any other
                // router waits Master_Down_Interval like `state BACKUP`.
                self.master_down_timer = Some(MasterDownTimer {
                    at: now + self.master_down_interval(),
                    cause: DownCause::NoMaster,
                });
            }
            // RFC 9568 §6.4.2, §6.4.3: timers cancelled above; nothing runs until startup or
            // the fault clears.
            State::Initialize | State::Fault => {}
        }
    }
}
