//! The timer arithmetic of RFC 9568 §6.1 and RFC 3768 §6.1, as exact values.
//!
//! Both RFCs divide by 256, which does not land on whole centiseconds, so the results are
//! [`Duration`]s computed in nanoseconds: exact for VRRPv2, and for VRRPv3 exact to the
//! nanosecond below (what keepalived computes in microseconds, to the microsecond).

use core::time::Duration;

use crate::interval::Centiseconds;
use crate::packet::Version;

const NANOS_PER_CENTISECOND: u64 = 10_000_000;

/// Skew_Time: how much sooner a higher-priority backup declares the master down.
///
/// - VRRPv3 (RFC 9568 §6.1): `((256 - Priority) * Master_Adver_Interval) / 256`.
/// - VRRPv2 (RFC 3768 §6.1): `(256 - Priority) / 256` seconds, whatever the interval.
pub fn skew_time(version: Version, priority: u8, master_adver_interval: Centiseconds) -> Duration {
    let weight = 256 - u64::from(priority);
    let nanos = match version {
        Version::V3 => {
            weight * u64::from(master_adver_interval.get()) * NANOS_PER_CENTISECOND / 256
        }
        Version::V2 => weight * 1_000_000_000 / 256,
    };
    Duration::from_nanos(nanos)
}

/// Master_Down_Interval: `3 * Master_Adver_Interval + Skew_Time` (RFC 9568 §6.1; RFC 3768 §6.1
/// with Adver_Interval).
pub fn master_down_interval(
    version: Version,
    priority: u8,
    master_adver_interval: Centiseconds,
) -> Duration {
    master_adver_interval.as_duration() * 3 + skew_time(version, priority, master_adver_interval)
}
