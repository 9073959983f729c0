//! What the daemon had to recover from, for `vrrpd status`: address changes retried or given
//! up, and resynchronisations after lost netlink or XDP ring events. Counted where it happens
//! (in tasks and the loop alike), read by the status readers.

use std::sync::atomic::{AtomicU64, Ordering};

use serde::{Deserialize, Serialize};

static ADDRESS_RETRIES: AtomicU64 = AtomicU64::new(0);
static ADDRESS_FAILURES: AtomicU64 = AtomicU64::new(0);
static NETLINK_RESYNCS: AtomicU64 = AtomicU64::new(0);
static RING_RESYNCS: AtomicU64 = AtomicU64::new(0);

/// One of the counts.
#[derive(Clone, Copy, Debug)]
pub enum Event {
    /// An address change failed transiently and was tried again.
    AddressRetry,
    /// An address change failed for good (after its retries, or at once on a lasting error).
    AddressFailure,
    /// The netlink event socket overflowed; links and addresses were read again.
    NetlinkResync,
    /// The XDP event ring overflowed; the instances' records were read again.
    RingResync,
}

pub fn count(event: Event) {
    let counter = match event {
        Event::AddressRetry => &ADDRESS_RETRIES,
        Event::AddressFailure => &ADDRESS_FAILURES,
        Event::NetlinkResync => &NETLINK_RESYNCS,
        Event::RingResync => &RING_RESYNCS,
    };
    counter.fetch_add(1, Ordering::Relaxed);
}

/// The counts since start-up, as `vrrpd status` shows them (`daemon.recovery`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecoveryStatus {
    pub address_change_retries: u64,
    pub address_change_failures: u64,
    pub netlink_resyncs: u64,
    pub ring_resyncs: u64,
}

impl RecoveryStatus {
    pub fn now() -> Self {
        Self {
            address_change_retries: ADDRESS_RETRIES.load(Ordering::Relaxed),
            address_change_failures: ADDRESS_FAILURES.load(Ordering::Relaxed),
            netlink_resyncs: NETLINK_RESYNCS.load(Ordering::Relaxed),
            ring_resyncs: RING_RESYNCS.load(Ordering::Relaxed),
        }
    }

    /// One line for the status table, or `None` when there was nothing to recover from.
    pub fn line(&self) -> Option<String> {
        (*self != Self::default()).then(|| {
            format!(
                "recovered: {} address change{} retried, {} failed; {} netlink and {} XDP ring \
                 resynchronisation{}",
                self.address_change_retries,
                if self.address_change_retries == 1 { "" } else { "s" },
                self.address_change_failures,
                self.netlink_resyncs,
                self.ring_resyncs,
                if self.ring_resyncs == 1 { "" } else { "s" },
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nothing_recovered_says_nothing() {
        assert_eq!(RecoveryStatus::default().line(), None);
        let some =
            RecoveryStatus { address_change_failures: 1, netlink_resyncs: 2, ..Default::default() };
        assert_eq!(
            some.line().unwrap(),
            "recovered: 0 address changes retried, 1 failed; 2 netlink and 0 XDP ring \
             resynchronisations"
        );
    }
}
