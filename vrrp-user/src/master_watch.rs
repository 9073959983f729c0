//! The kernel's master-down timer (`instance_flags::WATCH_MASTER`): while a backup follows a
//! master, the XDP program re-arms a kernel timer on each of the master's advertisements and
//! raises a `MASTER_DOWN` event only when it runs out, so the daemon is not woken once per
//! Master_Down_Interval to read the instance's record. The node keeps the timers and decides;
//! this module only chooses when the shell looks. The contract:
//!
//! 1. Which backups the kernel may watch, and from which priority up an advertisement resets
//!    the timer, is the node's answer (`Router::followed_master`). The kernel's configuration
//!    follows it after the loop's rounds (`follow_master_watches`), written only on a change.
//! 2. A watched backup's master-down deadline is deferred (`next_deadline`) only while the
//!    kernel holds what the node wants now, and once the timer is known to be armed: an
//!    advertisement stamped after the watch was written (or after the timer last fired) was
//!    delivered.
//! 3. The deferral is bounded: [`SAFETY_NET_FACTOR`] Master_Down_Intervals (at least
//!    [`SAFETY_NET_MIN`]) after the node's deadline, the shell reads the record as it does
//!    without the kernel's timer, so a lost event delays a failover but cannot block it.
//! 4. A `MASTER_DOWN` event is a hint, never a decision: the newest record is given to the
//!    node first, then the node's timers are judged as on any expiry, so an advertisement the
//!    kernel absorbed meanwhile still counts and a false alarm cannot make a second master.

use std::time::{Duration, Instant};

use vrrp_proto::State;

use crate::{arrivals::Arrival, daemon::Daemon};

/// The safety net of rule 3, in Master_Down_Intervals past the node's deadline.
pub const SAFETY_NET_FACTOR: u32 = 8;
/// The safety net's shortest period: with 10 ms advertisements, eight intervals are 0.25 s.
pub const SAFETY_NET_MIN: Duration = Duration::from_secs(2);
/// How often, at most, the loop compares the kernel's watches with the node's wishes: a
/// master's loop turns often, and a watch that lags costs wake-ups only (rule 2).
const FOLLOW_PERIOD: Duration = Duration::from_millis(50);

/// What the kernel was told to watch for one backup.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MasterWatch {
    /// Advertisements at or above this priority reset the timer.
    pub follow_priority: u8,
    /// The Master_Down_Interval the timer is armed for.
    pub master_down_us: u32,
    /// The kernel tick when the watch was written or its timer last fired (rule 2).
    pub armed_after: u64,
}

impl MasterWatch {
    fn wants(&self, wanted: Option<(u8, u32)>) -> bool {
        wanted == Some((self.follow_priority, self.master_down_us))
    }
}

/// The loop's memory for this module.
#[derive(Debug, Default)]
pub(crate) struct Watches {
    followed_at: Option<Instant>,
}

fn micros(interval: Duration) -> u32 {
    u32::try_from(interval.as_micros()).unwrap_or(u32::MAX)
}

impl Daemon {
    /// What the node wants the kernel to watch for instance `id`: `(follow_priority,
    /// master_down_us)`.
    fn wanted_watch(&self, id: vrrp_node::InstanceId) -> Option<(u8, u32)> {
        let router = self.node.instance(id)?.router();
        let priority = router.followed_master()?;
        Some((priority, micros(router.master_down_interval())))
    }

    /// Rule 1: the kernel's watches follow the node, at most every [`FOLLOW_PERIOD`] unless a
    /// state changed.
    pub(crate) fn follow_master_watches(&mut self, states_changed: bool) {
        let now = Instant::now();
        let recent = self.watches.followed_at.is_some_and(|at| now < at + FOLLOW_PERIOD);
        if self.xdp.is_none() || (recent && !states_changed) {
            return;
        }
        self.watches.followed_at = Some(now);
        let changes: Vec<_> = self
            .io
            .iter()
            .filter(|(_, instance)| instance.ah.is_none())
            .filter_map(|(id, instance)| {
                let wanted = (instance.state == State::Backup).then(|| self.wanted_watch(*id));
                let wanted = wanted.flatten();
                let current = instance.master_watch;
                let unchanged = match current {
                    Some(watch) => watch.wants(wanted),
                    None => wanted.is_none(),
                };
                (!unchanged).then_some((*id, wanted))
            })
            .collect();
        if changes.is_empty() {
            return;
        }
        let Some(xdp) = &mut self.xdp else { return };
        let tick = match xdp.clock().jiffies() {
            Ok(tick) => tick,
            Err(error) => {
                log::warn!("reading the kernel clock: {error:#}");
                return;
            }
        };
        for (id, wanted) in changes {
            let Some(instance) = self.io.get_mut(&id) else { continue };
            instance.master_watch = wanted.map(|(follow_priority, master_down_us)| MasterWatch {
                follow_priority,
                master_down_us,
                armed_after: tick,
            });
            if let Err(error) = instance.set_xdp_flags(xdp, !self.options.pass_valid) {
                log::warn!("{}: {error:#}", instance.name());
            }
        }
    }

    /// The loop's next wake-up: the node's, with the deadlines the kernel watches deferred to
    /// their safety net (rules 2 and 3).
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        if self.xdp.is_none() {
            return self.node.poll_timeout();
        }
        self.node.poll_timeout_deferring(|id, at| {
            let instance = self.io.get(&id)?;
            let watch = instance.master_watch?;
            let armed = instance.last_delivered_tick.is_some_and(|tick| tick > watch.armed_after);
            if !armed || !watch.wants(self.wanted_watch(id)) {
                return None;
            }
            let interval = Duration::from_micros(watch.master_down_us.into());
            Some(at + (interval * SAFETY_NET_FACTOR).max(SAFETY_NET_MIN))
        })
    }

    /// Rule 4: the kernel says the master of `arrival.key` is late.
    pub(crate) fn handle_master_down(&mut self, arrival: &Arrival) {
        let Some((id, instance)) = self.io.by_key_mut(&arrival.key) else { return };
        if let (Some(watch), Some(tick)) = (instance.master_watch.as_mut(), arrival.kernel_tick) {
            // The timer is spent: no deferral until an advertisement proves it armed again.
            watch.armed_after = watch.armed_after.max(tick);
        }
        log::debug!("{}: the kernel's master-down timer expired", instance.name());
        self.deliver_record(id, true);
        self.handle_timers();
    }
}
