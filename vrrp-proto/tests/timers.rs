//! Skew_Time and Master_Down_Interval at the priorities that matter, to the nanosecond.
//! Expected values were worked out by hand: (256 - p) / 256 s is (256 - p) * 3_906_250 ns.

use std::time::Duration;

use vrrp_proto::timer::{master_down_interval, skew_time};
use vrrp_proto::{Centiseconds, Version};

const PRIORITIES: [u8; 5] = [1, 100, 110, 254, 255];

fn ns(nanos: u64) -> Duration {
    Duration::from_nanos(nanos)
}

#[test]
fn v3_at_one_second() {
    let interval = Centiseconds::new(100);
    let skews = [996_093_750, 609_375_000, 570_312_500, 7_812_500, 3_906_250];
    for (priority, skew) in PRIORITIES.into_iter().zip(skews) {
        assert_eq!(skew_time(Version::V3, priority, interval), ns(skew), "priority {priority}");
        assert_eq!(
            master_down_interval(Version::V3, priority, interval),
            ns(3_000_000_000 + skew),
            "priority {priority}"
        );
    }
}

#[test]
fn v3_skew_scales_with_the_masters_interval() {
    // 50 cs: (256 - p) * 1_953_125 ns; 3 * 0.5 s = 1.5 s.
    let interval = Centiseconds::new(50);
    let skews = [498_046_875, 304_687_500, 285_156_250, 3_906_250, 1_953_125];
    for (priority, skew) in PRIORITIES.into_iter().zip(skews) {
        assert_eq!(skew_time(Version::V3, priority, interval), ns(skew), "priority {priority}");
        assert_eq!(
            master_down_interval(Version::V3, priority, interval),
            ns(1_500_000_000 + skew),
            "priority {priority}"
        );
    }
}

#[test]
fn v3_at_the_largest_interval() {
    // 4095 cs, priority 1: 255 * 4095 / 256 cs = 1_044_225 / 256 cs = 4079.00390625 cs,
    // 40_790_039_062.5 ns, truncated to the nanosecond; 3 * 40.95 s = 122.85 s.
    let interval = Centiseconds::V3_MAX;
    assert_eq!(skew_time(Version::V3, 1, interval), ns(40_790_039_062));
    assert_eq!(master_down_interval(Version::V3, 1, interval), ns(163_640_039_062));
}

#[test]
fn v2_skew_is_a_fraction_of_a_second_whatever_the_interval() {
    // RFC 3768: Skew_Time = (256 - p) / 256 s; with advert_int 3, MDI = 9 s + Skew_Time.
    let interval = Centiseconds::from_seconds(3);
    let skews = [996_093_750, 609_375_000, 570_312_500, 7_812_500, 3_906_250];
    for (priority, skew) in PRIORITIES.into_iter().zip(skews) {
        assert_eq!(skew_time(Version::V2, priority, interval), ns(skew), "priority {priority}");
        assert_eq!(
            master_down_interval(Version::V2, priority, interval),
            ns(9_000_000_000 + skew),
            "priority {priority}"
        );
    }
    // The same interval under VRRPv3 scales the skew by 3: the two rules really differ.
    assert_eq!(skew_time(Version::V3, 100, interval), ns(3 * 609_375_000));
}
