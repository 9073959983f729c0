//! Per-instance statistics, counted where the protocol runs (FRR's `struct vrrp_router.stats`
//! and RFC 8347's `statistics` container are the models).

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Instant;

use vrrp_config::Config;
use vrrp_proto::{Centiseconds, Family, Reason, State, Version};

use crate::output::InstanceId;
use crate::tracking::Adjustment;

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
    /// The latest transition of any kind (the state's "since when, and why").
    pub last_transition: Option<Transition>,
    /// The newest advertisement the router accepted: the master as last heard.
    pub last_heard: Option<Heard>,
    /// Transitions into each state (keepalived's and the exporters' per-state counts).
    pub entered: Entered,
    /// Rounds of gratuitous ARP / unsolicited NA sent.
    pub announcements_sent: u64,
}

/// An accepted advertisement, as the statistics keep the newest.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Heard {
    pub at: Instant,
    pub source: IpAddr,
    pub priority: u8,
    pub interval: Centiseconds,
}

/// Transitions into each state.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Entered {
    pub init: u64,
    pub backup: u64,
    pub master: u64,
    pub fault: u64,
}

impl Entered {
    fn count(&mut self, state: State) {
        match state {
            State::Initialize => self.init += 1,
            State::Backup => self.backup += 1,
            State::Master => self.master += 1,
            State::Fault => self.fault += 1,
        }
    }
}

/// One instance as a status reader sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InstanceSnapshot {
    pub id: InstanceId,
    pub name: String,
    pub interface: String,
    /// `use_vmac`: the macvlan that holds the addresses.
    pub vmac: Option<String>,
    pub vrid: u8,
    pub version: Version,
    pub family: Family,
    pub state: State,
    /// The configured priority.
    pub base_priority: u8,
    /// The priority the router runs with, after tracking.
    pub effective_priority: u8,
    /// The tracked items acting on it now (what moved the priority, or caused a FAULT).
    pub adjustments: Vec<Adjustment>,
    /// This router's own address (advertisements' source, RFC 9568 §6.4.3 tie-breaker).
    pub primary_address: IpAddr,
    /// The configured Advertisement_Interval and Master_Adver_Interval as learnt (RFC 9568
    /// §6.1: from the master's advertisements in VRRPv3).
    pub advert_interval: Centiseconds,
    pub master_adver_interval: Centiseconds,
    pub preempt: bool,
    /// Advertised, then excluded addresses.
    pub virtual_addresses: Vec<IpAddr>,
    /// Whether the instance has the addresses installed now.
    pub holds_addresses: bool,
    /// The sync group it belongs to, and that group's state.
    pub sync_group: Option<(String, State)>,
    pub statistics: Statistics,
}

/// The node, read-only, at one moment.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Snapshot {
    pub instances: Vec<InstanceSnapshot>,
    /// The configuration the instances run (`None` before the first one): what the dumps
    /// show beside the state, as keepalived's do.
    pub config: Option<Arc<Config>>,
    /// The latest result of each tracking script, by name (true: passed).
    pub scripts: BTreeMap<String, bool>,
}

impl Statistics {
    pub(crate) fn record_transition(&mut self, transition: Transition) {
        self.last_transition = Some(transition);
        self.entered.count(transition.to);
        if transition.to == State::Master {
            self.became_master += 1;
        } else if transition.from == State::Master {
            self.left_master += 1;
        } else {
            return;
        }
        self.last_master_transition = Some(transition);
    }

    /// Counts an advertisement given to the router, and keeps it as the master last heard when
    /// the router accepted it.
    pub(crate) fn record_received(&mut self, heard: Heard, accepted: bool) {
        self.advertisements_received += 1;
        if heard.priority == 0 {
            self.priority_zero_received += 1;
        }
        if accepted {
            self.last_heard = Some(heard);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;
    use std::time::Duration;

    use super::*;

    fn transition(at: Instant, from: State, to: State) -> Transition {
        Transition { at, from, to, reason: Reason::MasterDown }
    }

    #[test]
    fn every_transition_is_the_latest_and_only_master_ones_are_counted() {
        let start = Instant::now();
        let mut stats = Statistics::default();
        stats.record_transition(transition(start, State::Initialize, State::Backup));
        assert_eq!(stats.last_transition.map(|t| t.to), Some(State::Backup));
        assert_eq!((stats.became_master, stats.last_master_transition), (0, None));
        let later = start + Duration::from_secs(3);
        stats.record_transition(transition(later, State::Backup, State::Master));
        stats.record_transition(transition(later, State::Master, State::Fault));
        assert_eq!((stats.became_master, stats.left_master), (1, 1));
        assert_eq!(stats.last_transition.map(|t| t.to), Some(State::Fault));
        assert_eq!(stats.last_master_transition.map(|t| t.from), Some(State::Master));
        assert_eq!(stats.entered, Entered { init: 0, backup: 1, master: 1, fault: 1 });
    }

    #[test]
    fn only_an_accepted_advertisement_is_the_master_last_heard() {
        let heard = |priority| Heard {
            at: Instant::now(),
            source: Ipv4Addr::new(192, 0, 2, 1).into(),
            priority,
            interval: Centiseconds::ONE_SECOND,
        };
        let mut stats = Statistics::default();
        stats.record_received(heard(120), true);
        stats.record_received(heard(0), false);
        assert_eq!((stats.advertisements_received, stats.priority_zero_received), (2, 1));
        assert_eq!(stats.last_heard.map(|h| h.priority), Some(120));
    }
}
