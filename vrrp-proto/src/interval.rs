//! Advertisement intervals as typed values.
//!
//! VRRPv3 counts in centiseconds (12 bits on the wire, RFC 9568 §5.2.7), VRRPv2 in whole seconds
//! (8 bits, RFC 3768 §5.3.7). Inside the crate every interval is a [`Centiseconds`]; seconds are
//! converted at the edges so the two units never meet as bare integers.

use core::fmt;
use core::time::Duration;

/// A span of time in hundredths of a second.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Centiseconds(u16);

impl Centiseconds {
    /// The largest Max Advertise Interval a VRRPv3 header can carry (12 bits).
    pub const V3_MAX: Centiseconds = Centiseconds(0x0fff);
    /// One second, the VRRPv2 unit and keepalived's default `advert_int`.
    pub const ONE_SECOND: Centiseconds = Centiseconds(100);

    pub const fn new(centiseconds: u16) -> Self {
        Self(centiseconds)
    }

    /// Whole seconds, as VRRPv2 carries them (at most 255 s, so this never overflows).
    pub const fn from_seconds(seconds: u8) -> Self {
        Self(seconds as u16 * 100)
    }

    /// The exact number of centiseconds in `duration`, or `None` when it is not a whole number of
    /// centiseconds or does not fit in 16 bits.
    pub fn from_duration(duration: Duration) -> Option<Self> {
        let nanos = duration.as_nanos();
        if !nanos.is_multiple_of(10_000_000) {
            return None;
        }
        u16::try_from(nanos / 10_000_000).ok().map(Self)
    }

    pub const fn get(self) -> u16 {
        self.0
    }

    /// Whole seconds when this is an exact number of seconds that fits VRRPv2's 8-bit field.
    pub const fn as_whole_seconds(self) -> Option<u8> {
        if self.0.is_multiple_of(100) && self.0 / 100 <= u8::MAX as u16 {
            Some((self.0 / 100) as u8)
        } else {
            None
        }
    }

    pub const fn as_duration(self) -> Duration {
        Duration::from_millis(self.0 as u64 * 10)
    }
}

impl fmt::Display for Centiseconds {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:02}s", self.0 / 100, self.0 % 100)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn converts_exactly_or_not_at_all() {
        assert_eq!(Centiseconds::from_seconds(3).get(), 300);
        assert_eq!(Centiseconds::from_duration(Duration::from_millis(250)), Some(Centiseconds(25)));
        assert_eq!(Centiseconds::from_duration(Duration::from_millis(255)), None);
        assert_eq!(Centiseconds::from_duration(Duration::from_secs(700)), None);
        assert_eq!(Centiseconds(150).as_whole_seconds(), None);
        assert_eq!(Centiseconds(25500).as_whole_seconds(), Some(255));
        assert_eq!(Centiseconds(25600).as_whole_seconds(), None);
        assert_eq!(Centiseconds(125).as_duration(), Duration::from_millis(1250));
        assert_eq!(Centiseconds(125).to_string(), "1.25s");
    }
}
