//! The node's timer table (quinn-proto's `TimerTable` is the model): every deadline of every
//! instance, named.

use std::net::IpAddr;
use std::time::{Duration, Instant};

/// A named timer of one instance.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Timer {
    /// The router's own deadlines (RFC 9568 Master_Down_Timer and Adver_Timer, the delayed
    /// announcement burst and refreshes), which the router keeps.
    Router,
    /// The next round of an announcement burst, `garp_interval` after the previous one.
    AnnouncementRound,
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
