//! The backup's master-down timer in the kernel (`WATCH_MASTER`): an advertisement of a master
//! worth following arms it, its expiry queues one MASTER_DOWN event, and advertisements that
//! do not reset it (lower priority, resignation, watch off) arm nothing; advertisements in time
//! keep it from running out.

use std::{
    net::Ipv4Addr,
    time::{Duration, Instant},
};

use vrrp_common::{
    event_kind, instance_flags, AdvertEvent, InstanceConfig, InstanceKey, Peer, FAMILY_IPV4,
};
use vrrp_tests::{frames, require_root, test_run};
use vrrp_user::xdp::XdpDatapath;

const ROUTER: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);
const PEER: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 2);
const VIP: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 100);
const VRID: u8 = 77;
const LOOPBACK_IFINDEX: u32 = 1;
/// The Master_Down_Interval the test configures: short, so the test is quick.
const MASTER_DOWN_US: u32 = 50_000;
/// How long an event may take on a loaded machine.
const PATIENCE: Duration = Duration::from_secs(20);

fn watching(datapath: &mut XdpDatapath, flags: u8) -> InstanceKey {
    let key = InstanceKey::new(LOOPBACK_IFINDEX, VRID, FAMILY_IPV4);
    let config = InstanceConfig {
        version: 3,
        flags,
        master_down_us: MASTER_DOWN_US,
        follow_priority: 100,
        ..InstanceConfig::default()
    };
    let mut peer = Peer::default();
    peer.addr[..4].copy_from_slice(&PEER.octets());
    datapath.set_instance(key, config, &[peer]).expect("configuring the instance");
    key
}

fn advertise(datapath: &mut XdpDatapath, priority: u8) {
    let frame = frames::vrrp_v3_ipv4(PEER, ROUTER, VRID, priority, 100, &[VIP]);
    let program = datapath.program().unwrap().fd().unwrap();
    let result = test_run::run(program, &frame, LOOPBACK_IFINDEX, 1).expect("BPF_PROG_TEST_RUN");
    assert_eq!(result.action, test_run::XDP_PASS, "priority {priority}: verdict");
}

/// The next master-down event within `within`, the advertisement events before it dropped.
fn master_down(datapath: &mut XdpDatapath, within: Duration) -> Option<AdvertEvent> {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        match datapath.next_event() {
            Some(event) if event.kind == event_kind::MASTER_DOWN => return Some(event),
            Some(_) => {}
            None => std::thread::sleep(Duration::from_millis(5)),
        }
    }
    None
}

#[test]
fn a_followed_master_arms_the_timer_and_its_expiry_raises_one_event() {
    require_root();
    let mut datapath = XdpDatapath::load(None).expect("loading the XDP program");
    let key = watching(&mut datapath, instance_flags::WATCH_MASTER);
    let armed_at = Instant::now();
    advertise(&mut datapath, 100);
    let event = master_down(&mut datapath, PATIENCE).expect("no master-down event in 20 s");
    println!("master-down event after {:?}: {event:?}", armed_at.elapsed());
    assert_eq!(event.key, key);
    assert!(armed_at.elapsed() >= Duration::from_micros(MASTER_DOWN_US.into()), "fired early");
    // One expiry, one event: the timer is not periodic.
    assert_eq!(master_down(&mut datapath, Duration::from_millis(500)), None, "a second event");

    // Each advertisement re-arms it (the timer is re-initialised only once).
    advertise(&mut datapath, 120);
    let again = master_down(&mut datapath, PATIENCE).expect("no event after a re-arm");
    assert_eq!(again.key, key);
}

#[test]
fn advertisements_that_do_not_reset_the_timer_arm_nothing() {
    require_root();
    let mut datapath = XdpDatapath::load(None).expect("loading the XDP program");
    watching(&mut datapath, instance_flags::WATCH_MASTER);
    // Below follow_priority (a backup that may preempt ignores it), and a resignation.
    advertise(&mut datapath, 99);
    advertise(&mut datapath, 0);
    assert_eq!(master_down(&mut datapath, Duration::from_millis(500)), None, "lower priority");
    // The watch off (the instance is master, or the kernel timer unused).
    watching(&mut datapath, 0);
    advertise(&mut datapath, 100);
    assert_eq!(master_down(&mut datapath, Duration::from_millis(500)), None, "watch off");
    // A control that the same steps do arm it with the watch on.
    watching(&mut datapath, instance_flags::WATCH_MASTER);
    advertise(&mut datapath, 100);
    assert!(master_down(&mut datapath, PATIENCE).is_some(), "no event with the watch on");
}

#[test]
fn advertisements_in_time_keep_the_timer_from_running_out() {
    require_root();
    let mut datapath = XdpDatapath::load(None).expect("loading the XDP program");
    watching(&mut datapath, instance_flags::WATCH_MASTER);
    let interval = Duration::from_micros(MASTER_DOWN_US.into());
    // The longest time the kernel can have gone without an advertisement: from the start of
    // one test run to the end of the next, as this thread saw it (a loaded machine may stall
    // it past the interval, and then an event is right).
    let mut longest_gap = Duration::ZERO;
    let mut previous_start = Instant::now();
    advertise(&mut datapath, 100);
    let started = Instant::now();
    while started.elapsed() < Duration::from_millis(500) {
        std::thread::sleep(interval / 10);
        let start = Instant::now();
        advertise(&mut datapath, 100);
        longest_gap = longest_gap.max(previous_start.elapsed());
        previous_start = start;
        while let Some(event) = datapath.next_event() {
            assert!(
                event.kind != event_kind::MASTER_DOWN || longest_gap >= interval,
                "the timer ran out although no gap reached {interval:?} (longest {longest_gap:?})"
            );
        }
    }
    // Silence: now it runs out.
    assert!(master_down(&mut datapath, PATIENCE).is_some(), "no event once the master is silent");
}
