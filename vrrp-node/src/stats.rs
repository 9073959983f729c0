//! Per-instance statistics, counted where the protocol runs (FRR's `struct vrrp_router.stats`
//! and RFC 8347's `statistics` container are the models).

use std::time::Instant;

use vrrp_proto::{Reason, State};

use crate::output::InstanceId;

/// One state change, as the statistics keep the latest.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Transition {
    pub at: Instant,
    pub from: State,
    pub to: State,
    pub reason: Reason,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Statistics {
    /// Advertisements sent (RFC 8347 `advertisement-sent`), priority 0 included.
    pub advertisements_sent: u64,
    /// Advertisements given to the router (RFC 8347 `advertisement-rcvd`).
    pub advertisements_received: u64,
    /// Resignations sent and received (RFC 8347 `priority-zero-pkts-sent`/`-rcvd`).
    pub priority_zero_sent: u64,
    pub priority_zero_received: u64,
    /// Transitions into and out of MASTER (RFC 8347 `master-transitions`; FRR counts both).
    pub became_master: u64,
    pub left_master: u64,
    /// The latest transition into or out of MASTER: when, and why.
    pub last_master_transition: Option<Transition>,
    /// Rounds of gratuitous ARP / unsolicited NA sent.
    pub announcements_sent: u64,
}

/// One instance as a status reader sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InstanceSnapshot {
    pub id: InstanceId,
    pub name: String,
    pub state: State,
    pub priority: u8,
    pub statistics: Statistics,
}

/// The node, read-only, at one moment.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Snapshot {
    pub instances: Vec<InstanceSnapshot>,
}

impl Statistics {
    pub(crate) fn record_transition(&mut self, transition: Transition) {
        if transition.to == State::Master {
            self.became_master += 1;
        } else if transition.from == State::Master {
            self.left_master += 1;
        } else {
            return;
        }
        self.last_master_transition = Some(transition);
    }
}
