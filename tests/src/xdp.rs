//! Shortcuts over the daemon's data path for tests.

use vrrp_common::Counter;
use vrrp_user::xdp::Counters;

/// The counters that changed between two readings, by name, for readable assertions.
pub fn changed(before: &Counters, after: &Counters) -> Vec<(&'static str, u64)> {
    Counter::ALL
        .iter()
        .filter(|counter| after[**counter as usize] != before[**counter as usize])
        .map(|counter| (counter.name(), after[*counter as usize] - before[*counter as usize]))
        .collect()
}
