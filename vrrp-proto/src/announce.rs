//! When a master announces its addresses (gratuitous ARP / unsolicited neighbour advertisement),
//! with keepalived's knobs: a burst on becoming master (RFC 9568 §6.4.1, §6.4.2), a second burst
//! `garp_master_delay` later, and optional periodic refreshes.

use core::time::Duration;
use std::time::Instant;

/// keepalived's gratuitous ARP settings of one instance, defaults included.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct GarpConfig {
    /// `garp_master_delay`: the second burst after becoming master; zero disables it.
    pub master_delay: Duration,
    /// `garp_master_repeat`: announcements per burst.
    pub master_repeat: u32,
    /// `garp_master_refresh` (or the global `vrrp_garp_master_refresh`): period of refreshes
    /// while master; `None` (keepalived's 0) disables them.
    pub master_refresh: Option<Duration>,
    /// `garp_master_refresh_repeat`: announcements per refresh.
    pub master_refresh_repeat: u32,
    /// `garp_interval`: spacing of the announcements within one burst.
    pub interval: Duration,
    /// `garp_lower_prio_repeat`: announcements sent when a master hears a lower priority (the
    /// other router was master too, e.g. across a partition: hosts may have its MAC).
    pub lower_prio_repeat: u32,
    /// `garp_lower_prio_delay`: at most one announcement round per this period in answer to
    /// lower priorities; zero leaves every one answered.
    pub lower_prio_delay: Duration,
}

impl Default for GarpConfig {
    fn default() -> Self {
        Self {
            master_delay: Duration::from_secs(5),
            master_repeat: 5,
            master_refresh: None,
            master_refresh_repeat: 1,
            interval: Duration::ZERO,
            lower_prio_repeat: 5,
            lower_prio_delay: Duration::from_secs(5),
        }
    }
}

/// The announcement deadlines of a master.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Announcer {
    delayed_burst_at: Option<Instant>,
    refresh_at: Option<Instant>,
    /// The latest burst answering a lower priority, which `garp_lower_prio_delay` counts from.
    last_lower_prio_burst_at: Option<Instant>,
    /// The one burst owed to lower priorities heard within `garp_lower_prio_delay` of it.
    lower_prio_burst_at: Option<Instant>,
}

impl Announcer {
    /// Arms the delayed burst and the refreshes; returns the size of the burst due now.
    pub(crate) fn start(&mut self, now: Instant, config: &GarpConfig) -> u32 {
        self.delayed_burst_at = (!config.master_delay.is_zero()).then(|| now + config.master_delay);
        self.refresh_at = config.master_refresh.map(|period| now + period);
        self.last_lower_prio_burst_at = None;
        self.lower_prio_burst_at = None;
        config.master_repeat
    }

    /// A master heard a lower priority (or a resignation) at `at`: the size of the burst that
    /// answers it now. keepalived vrrp.c vrrp_state_master_rx() answers each one with
    /// `garp_lower_prio_repeat` messages and again `garp_lower_prio_delay` later; a peer's
    /// advertisements queued behind ARP resolution arrive together, so answering each one
    /// would flood the link. Here one heard within `garp_lower_prio_delay` of the previous burst
    /// is owed one burst when that delay has passed, however many arrive: at most one burst per
    /// delay, and every lower priority answered within it.
    pub(crate) fn lower_priority_heard(&mut self, at: Instant, config: &GarpConfig) -> u32 {
        if config.lower_prio_repeat == 0 {
            return 0;
        }
        match self.last_lower_prio_burst_at.map(|last| last + config.lower_prio_delay) {
            Some(next) if at < next => {
                self.lower_prio_burst_at.get_or_insert(next);
                0
            }
            _ => {
                self.last_lower_prio_burst_at = Some(at);
                self.lower_prio_burst_at = None;
                config.lower_prio_repeat
            }
        }
    }

    pub(crate) fn stop(&mut self) {
        *self = Self::default();
    }

    /// How many announcements are due at `now` (0 if none), re-arming the refresh.
    pub(crate) fn due(&mut self, now: Instant, config: &GarpConfig) -> u32 {
        let mut count = 0;
        if self.delayed_burst_at.is_some_and(|at| at <= now) {
            self.delayed_burst_at = None;
            count += config.master_repeat;
        }
        if let (Some(at), Some(period)) = (self.refresh_at, config.master_refresh) {
            if at <= now {
                // A late call does not owe the refreshes it missed, only one.
                let next = at + period;
                self.refresh_at = Some(if next > now { next } else { now + period });
                count += config.master_refresh_repeat;
            }
        }
        if self.lower_prio_burst_at.is_some_and(|at| at <= now) {
            self.lower_prio_burst_at = None;
            self.last_lower_prio_burst_at = Some(now);
            count += config.lower_prio_repeat;
        }
        count
    }

    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        [self.delayed_burst_at, self.refresh_at, self.lower_prio_burst_at]
            .into_iter()
            .flatten()
            .min()
    }
}
