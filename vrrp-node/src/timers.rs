//! The node's timer table (quinn-proto's `TimerTable` is the model): every deadline of every
//! instance, named, and the schedule that orders instances by their earliest one, so the next
//! deadline and the instances due cost a lookup, not a pass over every instance.

use std::collections::{BTreeSet, HashMap};
use std::net::IpAddr;
use std::time::{Duration, Instant};

use crate::output::InstanceId;

/// A named timer of one instance.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Timer {
    /// The router's own deadlines (RFC 9568 Master_Down_Timer and Adver_Timer, the delayed
    /// announcement burst and refreshes), which the router keeps.
    Router,
    /// The next round of an announcement burst, `garp_interval` after the previous one.
    AnnouncementRound,
    /// The end of `vrrp_startup_delay`, when an instance that waits for it starts.
    DelayedStart,
    /// A master's next `garp_extra_if` round on its other interfaces.
    ExtraInterfaces,
}

/// Pending announcement rounds of a master.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct AnnouncementRounds {
    pub(crate) next_at: Option<Instant>,
    pub(crate) remaining: u32,
    pub(crate) addresses: Vec<IpAddr>,
    pub(crate) spacing: Duration,
}

impl AnnouncementRounds {
    /// A burst of `count` rounds for `addresses` asked for: the rounds still owed become the
    /// larger of the two (a new burst supersedes, it does not stack), for every address of
    /// both.
    pub(crate) fn extend(&mut self, count: u32, addresses: Vec<IpAddr>, spacing: Duration) {
        if count == 0 {
            return;
        }
        self.remaining = self.remaining.max(count);
        for address in addresses {
            if !self.addresses.contains(&address) {
                self.addresses.push(address);
            }
        }
        self.spacing = spacing;
    }

    pub(crate) fn cancel(&mut self) {
        *self = Self::default();
    }
}

/// Every instance's earliest deadline, ordered by time.
#[derive(Clone, Debug, Default)]
pub(crate) struct Schedule {
    by_time: BTreeSet<(Instant, InstanceId)>,
    armed: HashMap<InstanceId, Instant>,
}

impl Schedule {
    /// Instance `id`'s earliest deadline is now `at` (`None`: it has none).
    pub(crate) fn set(&mut self, id: InstanceId, at: Option<Instant>) {
        if self.armed.get(&id).copied() == at {
            return;
        }
        if let Some(previous) = self.armed.remove(&id) {
            self.by_time.remove(&(previous, id));
        }
        if let Some(at) = at {
            self.armed.insert(id, at);
            self.by_time.insert((at, id));
        }
    }

    /// The earliest deadline of all.
    pub(crate) fn first(&self) -> Option<Instant> {
        self.by_time.first().map(|(at, _)| *at)
    }

    /// Every deadline, earliest first.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (Instant, InstanceId)> + '_ {
        self.by_time.iter().copied()
    }

    /// The instances with a deadline at or before `now`, in id order (the order a pass over
    /// every instance would take).
    pub(crate) fn due(&self, now: Instant) -> Vec<InstanceId> {
        let mut due: Vec<InstanceId> =
            self.by_time.iter().take_while(|(at, _)| *at <= now).map(|(_, id)| *id).collect();
        due.sort_unstable();
        due
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_schedule_keeps_one_deadline_per_instance_in_time_order() {
        let t0 = Instant::now();
        let (a, b, c) = (InstanceId(0), InstanceId(1), InstanceId(2));
        let mut schedule = Schedule::default();
        schedule.set(c, Some(t0 + Duration::from_millis(10)));
        schedule.set(a, Some(t0 + Duration::from_millis(30)));
        schedule.set(b, Some(t0 + Duration::from_millis(20)));
        assert_eq!(schedule.first(), Some(t0 + Duration::from_millis(10)));
        // Re-arming moves the instance; it is never listed twice.
        schedule.set(c, Some(t0 + Duration::from_millis(40)));
        assert_eq!(schedule.first(), Some(t0 + Duration::from_millis(20)));
        assert_eq!(schedule.due(t0 + Duration::from_millis(30)), vec![a, b]);
        schedule.set(a, None);
        schedule.set(b, None);
        assert_eq!(schedule.due(t0 + Duration::from_millis(100)), vec![c]);
        schedule.set(c, None);
        assert_eq!(schedule.first(), None);
    }
}
