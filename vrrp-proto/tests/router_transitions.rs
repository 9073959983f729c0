//! One router driven through scripted inputs on a virtual clock: every transition of
//! RFC 9568 §6.4, plus keepalived's Fault, preempt_delay, `state MASTER` and announcements.

use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use vrrp_proto::{
    Advertisement, Centiseconds, ConfigError, DiscardReason, Disposition, GarpConfig, Output,
    Reason, Router, RouterConfig, State, Version,
};

const LOCAL: IpAddr = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2));
const LOWER_PEER: IpAddr = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1));
const HIGHER_PEER: IpAddr = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 3));
const VIP: IpAddr = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 100));

/// Master_Down_Interval of priority 100 at 1 s: 3 s + 156/256 s.
const MDI_100: Duration = Duration::from_nanos(3_609_375_000);
/// Skew_Time of priority 100 at 1 s.
const SKEW_100: Duration = Duration::from_nanos(609_375_000);
const SECOND: Duration = Duration::from_secs(1);

fn config() -> RouterConfig {
    RouterConfig { version: Version::V3, ..RouterConfig::new(7, LOCAL, vec![VIP]) }
}

fn advert(priority: u8) -> Advertisement {
    Advertisement::new(Version::V3, 7, priority, Centiseconds::new(100), vec![VIP]).unwrap()
}

fn drain(router: &mut Router) -> Vec<Output> {
    std::iter::from_fn(|| router.poll_output()).collect()
}

fn changed(from: State, to: State, reason: Reason) -> Output {
    Output::StateChanged { from, to, reason }
}

fn becoming_master(from: State, reason: Reason, priority: u8, accept: bool) -> Vec<Output> {
    vec![
        changed(from, State::Master, reason),
        Output::AddAddresses { addresses: vec![VIP], accept },
        Output::SendAdvertisement(advert(priority)),
        Output::AnnounceAddresses { addresses: vec![VIP], count: 5, spacing: Duration::ZERO },
    ]
}

fn started(config: RouterConfig, t0: Instant) -> Router {
    let mut router = Router::new(config).unwrap();
    router.handle_startup(t0);
    drain(&mut router);
    router
}

/// A backup that took over on its timer, outputs drained.
fn master(t0: Instant) -> Router {
    let mut router = started(config(), t0);
    router.handle_timeout(t0 + MDI_100);
    assert_eq!(router.state(), State::Master);
    drain(&mut router);
    router
}

#[test]
fn initialize_to_backup_arms_master_down_interval() {
    // RFC 9568 §6.4.1
    let t0 = Instant::now();
    let mut router = Router::new(config()).unwrap();
    assert_eq!(router.state(), State::Initialize);
    assert_eq!(router.poll_timeout(), None);
    router.handle_startup(t0);
    assert_eq!(
        drain(&mut router),
        vec![changed(State::Initialize, State::Backup, Reason::Startup)]
    );
    assert_eq!(router.poll_timeout(), Some(t0 + MDI_100));
    // Starting twice does nothing.
    router.handle_startup(t0 + SECOND);
    assert_eq!(drain(&mut router), vec![]);
}

#[test]
fn initialize_to_master_for_the_owner() {
    // RFC 9568 §6.4.1: priority 255 takes over at once and always accepts.
    let t0 = Instant::now();
    let mut router = Router::new(RouterConfig { priority: 255, ..config() }).unwrap();
    router.handle_startup(t0);
    assert_eq!(
        drain(&mut router),
        becoming_master(State::Initialize, Reason::AddressOwner, 255, true)
    );
    assert_eq!(router.poll_timeout(), Some(t0 + SECOND));
    // The owner discards advertisements (RFC 9568 §7.1).
    let result = router.handle_advertisement(t0, HIGHER_PEER, &advert(254));
    assert_eq!(result, Disposition::Discarded(DiscardReason::LocalOwner));
}

#[test]
fn backup_to_master_when_the_timer_fires() {
    // RFC 9568 §6.4.2
    let t0 = Instant::now();
    let mut router = started(config(), t0);
    router.handle_timeout(t0 + MDI_100 - Duration::from_nanos(1));
    assert_eq!(router.state(), State::Backup);
    assert_eq!(drain(&mut router), vec![]);
    router.handle_timeout(t0 + MDI_100);
    assert_eq!(drain(&mut router), becoming_master(State::Backup, Reason::MasterDown, 100, false));
    assert_eq!(router.poll_timeout(), Some(t0 + MDI_100 + SECOND));
}

#[test]
fn backup_stays_while_a_higher_priority_master_advertises() {
    // RFC 9568 §6.4.2: reset the Master_Down_Timer on each advertisement.
    let t0 = Instant::now();
    let mut router = started(config(), t0);
    for second in 1..=20 {
        let at = t0 + SECOND * second;
        router.handle_timeout(at);
        let result = router.handle_advertisement(at, HIGHER_PEER, &advert(200));
        assert_eq!(result, Disposition::Accepted);
        assert_eq!(router.poll_timeout(), Some(at + MDI_100));
    }
    assert_eq!(router.state(), State::Backup);
    assert_eq!(drain(&mut router), vec![]);
}

#[test]
fn backup_learns_the_masters_interval() {
    // RFC 9568 §6.4.2: Master_Adver_Interval comes from the advertisement (VRRPv3).
    let t0 = Instant::now();
    let mut router = started(config(), t0);
    let fast = Advertisement::new(Version::V3, 7, 200, Centiseconds::new(50), vec![VIP]).unwrap();
    router.handle_advertisement(t0, HIGHER_PEER, &fast);
    assert_eq!(router.master_adver_interval(), Centiseconds::new(50));
    // 3 * 0.5 s + 156 * 50 / 256 cs = 1.5 s + 304.6875 ms
    assert_eq!(router.poll_timeout(), Some(t0 + Duration::from_nanos(1_804_687_500)));
}

#[test]
fn backup_preempts_a_lower_priority_master() {
    // RFC 9568 §6.4.2: with Preempt_Mode a lower priority is discarded and the timer runs out.
    let t0 = Instant::now();
    let mut router = started(config(), t0);
    let result = router.handle_advertisement(t0 + SECOND, LOWER_PEER, &advert(50));
    assert_eq!(result, Disposition::Discarded(DiscardReason::Preempting));
    assert_eq!(router.poll_timeout(), Some(t0 + MDI_100));
    router.handle_timeout(t0 + MDI_100);
    assert_eq!(drain(&mut router), becoming_master(State::Backup, Reason::Preempted, 100, false));
}

#[test]
fn nopreempt_follows_a_lower_priority_master() {
    let t0 = Instant::now();
    let mut router = started(RouterConfig { preempt: false, ..config() }, t0);
    for second in 1..=10 {
        let at = t0 + SECOND * second;
        router.handle_timeout(at);
        assert_eq!(router.handle_advertisement(at, LOWER_PEER, &advert(50)), Disposition::Accepted);
    }
    assert_eq!(router.state(), State::Backup);
}

#[test]
fn preempt_delay_follows_a_lower_master_until_it_passes() {
    // keepalived vrrp.c vrrp_state_backup(): the first lower-priority advertisement starts
    // preempt_delay; they are followed until it has passed.
    let t0 = Instant::now();
    let delay = Duration::from_secs(10);
    let mut router = started(RouterConfig { preempt_delay: delay, ..config() }, t0);
    let mut last_accepted = t0;
    for second in 1..=12 {
        let at = t0 + SECOND * second;
        router.handle_timeout(at);
        assert_eq!(router.state(), State::Backup, "at {second} s");
        if router.handle_advertisement(at, LOWER_PEER, &advert(50)) == Disposition::Accepted {
            last_accepted = at;
        }
    }
    assert_eq!(last_accepted, t0 + SECOND * 10, "accepted until the delay passed");
    router.handle_timeout(last_accepted + MDI_100);
    assert_eq!(router.state(), State::Master);
    let outputs = drain(&mut router);
    assert_eq!(outputs[0], changed(State::Backup, State::Master, Reason::Preempted));
}

#[test]
fn master_to_backup_on_a_higher_priority() {
    // RFC 9568 §6.4.3; one last advertisement at our priority tells the new master that two
    // masters existed, so it announces its addresses again (keepalived vrrp.c
    // vrrp_state_master_rx() with higher_prio_send_advert, vrrpd's default).
    let t0 = Instant::now();
    let mut router = master(t0);
    let at = t0 + Duration::from_secs(5);
    assert_eq!(router.handle_advertisement(at, LOWER_PEER, &advert(101)), Disposition::Accepted);
    let reason = Reason::HigherPriority { source: LOWER_PEER, priority: 101 };
    assert_eq!(
        drain(&mut router),
        vec![
            changed(State::Master, State::Backup, reason),
            Output::SendAdvertisement(advert(100)),
            Output::RemoveAddresses { addresses: vec![VIP] },
        ]
    );
    assert_eq!(router.poll_timeout(), Some(at + MDI_100));
}

#[test]
fn master_to_backup_on_equal_priority_and_a_higher_address() {
    // RFC 9568 §6.4.3: ties go to the higher primary address.
    let t0 = Instant::now();
    let mut router = master(t0);
    let at = t0 + Duration::from_secs(5);
    router.handle_advertisement(at, HIGHER_PEER, &advert(100));
    let reason = Reason::HigherAddress { source: HIGHER_PEER };
    assert_eq!(
        drain(&mut router),
        vec![
            changed(State::Master, State::Backup, reason),
            Output::SendAdvertisement(advert(100)),
            Output::RemoveAddresses { addresses: vec![VIP] },
        ]
    );
}

#[test]
fn without_higher_prio_send_advert_a_master_yields_silently() {
    // keepalived vrrp.c vrrp_state_master_rx(): higher_prio_send_advert off: a higher
    // priority, or an equal one from a higher address, is not answered; the master becomes
    // backup at once.
    let t0 = Instant::now();
    let cases = [
        (LOWER_PEER, 101, Reason::HigherPriority { source: LOWER_PEER, priority: 101 }),
        (HIGHER_PEER, 100, Reason::HigherAddress { source: HIGHER_PEER }),
    ];
    for (source, priority, reason) in cases {
        let mut router = started(RouterConfig { higher_prio_send_advert: false, ..config() }, t0);
        router.handle_timeout(t0 + MDI_100);
        drain(&mut router);
        let at = t0 + Duration::from_secs(5);
        router.handle_advertisement(at, source, &advert(priority));
        assert_eq!(
            drain(&mut router),
            vec![
                changed(State::Master, State::Backup, reason),
                Output::RemoveAddresses { addresses: vec![VIP] },
            ]
        );
        assert_eq!(router.poll_timeout(), Some(at + MDI_100));
    }
}

#[test]
fn lower_prio_no_advert_leaves_a_lower_priority_unanswered() {
    // keepalived vrrp.c vrrp_state_master_rx(): with lower_prio_no_advert a master hearing a
    // lower priority sends no advertisement and keeps its Adver_Timer (vrrp_scheduler.c
    // vrrp_dispatcher_read() does not reset it); the addresses are still announced again.
    // A resignation (priority 0) is still answered at once.
    let t0 = Instant::now();
    let lower_prio_delay = GarpConfig::default().lower_prio_delay;
    let mut router = started(RouterConfig { lower_prio_no_advert: true, ..config() }, t0);
    let became_master = t0 + MDI_100;
    router.handle_timeout(became_master);
    drain(&mut router);
    let at = became_master + lower_prio_delay;
    router.handle_timeout(at);
    drain(&mut router);
    let next_advert = router.poll_timeout().expect("an Adver_Timer");
    router.handle_advertisement(at, LOWER_PEER, &advert(50));
    assert_eq!(router.state(), State::Master);
    assert_eq!(
        drain(&mut router),
        vec![Output::AnnounceAddresses {
            addresses: vec![VIP],
            count: GarpConfig::default().lower_prio_repeat,
            spacing: Duration::ZERO,
        }]
    );
    assert_eq!(router.poll_timeout(), Some(next_advert), "the Adver_Timer was not reset");
    router.handle_advertisement(at, LOWER_PEER, &advert(0));
    let outputs = drain(&mut router);
    assert_eq!(outputs.first(), Some(&Output::SendAdvertisement(advert(100))));
}

#[test]
fn master_answers_a_lower_priority_or_lower_address_at_once() {
    // RFC 9568 §6.4.3: stay master and advertise now, re-arming the Adver_Timer; announce the
    // addresses again (keepalived's garp_lower_prio_repeat): the other was master too.
    let t0 = Instant::now();
    let lower_prio_delay = GarpConfig::default().lower_prio_delay;
    for (source, priority) in [(HIGHER_PEER, 99), (LOWER_PEER, 100)] {
        let mut router = master(t0);
        let at = t0 + MDI_100 + lower_prio_delay;
        router.handle_timeout(at);
        drain(&mut router);
        router.handle_advertisement(at, source, &advert(priority));
        assert_eq!(router.state(), State::Master);
        assert_eq!(
            drain(&mut router),
            vec![
                Output::SendAdvertisement(advert(100)),
                Output::AnnounceAddresses {
                    addresses: vec![VIP],
                    count: GarpConfig::default().lower_prio_repeat,
                    spacing: Duration::ZERO,
                },
            ]
        );
        assert_eq!(router.poll_timeout(), Some(at + SECOND));
    }
}

#[test]
fn lower_priority_answers_announce_once_per_garp_lower_prio_delay() {
    // keepalived vrrp.c vrrp_state_master_rx() announces on every lower priority heard, and
    // again garp_lower_prio_delay later; a peer's advertisements queued behind ARP resolution
    // arrive in one burst, so vrrpd announces at most once per garp_lower_prio_delay: at once
    // (however recently it became master: hosts may have followed the other master since),
    // then once more when the delay has passed if more were heard meanwhile.
    let t0 = Instant::now();
    let delay = Duration::from_secs(2);
    let garp = GarpConfig {
        lower_prio_delay: delay,
        master_delay: Duration::ZERO,
        ..GarpConfig::default()
    };
    let mut router = started(RouterConfig { garp, ..config() }, t0);
    router.handle_timeout(t0 + MDI_100);
    drain(&mut router);
    let became_master = t0 + MDI_100;
    let announced = |router: &mut Router| {
        drain(router).iter().any(|o| matches!(o, Output::AnnounceAddresses { .. }))
    };
    let mut rounds = Vec::new();
    for step in 0..40 {
        let at = became_master + Duration::from_millis(100) * step;
        router.handle_timeout(at);
        if announced(&mut router) {
            rounds.push(at);
        }
        router.handle_advertisement(at, LOWER_PEER, &advert(50));
        assert_eq!(router.state(), State::Master);
        if announced(&mut router) {
            rounds.push(at);
        }
    }
    assert_eq!(rounds, [became_master, became_master + delay]);
    // A late-reported one (dated before the last round) is covered by the round owed.
    router.handle_advertisement(became_master, LOWER_PEER, &advert(50));
    assert!(!announced(&mut router));
    let owed = became_master + delay * 2;
    assert!(router.poll_timeout().is_some_and(|at| at <= owed));
    router.handle_timeout(owed);
    assert!(announced(&mut router), "the advertisements after the second round are answered");
    router.handle_timeout(owed + delay * 2);
    assert!(!announced(&mut router), "nothing more is owed");
    // Zero leaves every one answered, as keepalived does.
    let garp = GarpConfig { lower_prio_delay: Duration::ZERO, ..GarpConfig::default() };
    let mut router = started(RouterConfig { garp, ..config() }, t0);
    router.handle_timeout(became_master);
    drain(&mut router);
    for step in 0..3 {
        router.handle_advertisement(became_master + SECOND * step, LOWER_PEER, &advert(50));
        assert!(announced(&mut router));
    }
}

#[test]
fn backup_takes_over_skew_time_after_the_master_resigns() {
    // RFC 9568 §6.4.2: priority 0 sets the Master_Down_Timer to Skew_Time.
    let t0 = Instant::now();
    let mut router = started(config(), t0);
    router.handle_advertisement(t0 + SECOND, HIGHER_PEER, &advert(200));
    let at = t0 + SECOND * 2;
    router.handle_advertisement(at, HIGHER_PEER, &advert(0));
    assert_eq!(router.poll_timeout(), Some(at + SKEW_100));
    router.handle_timeout(at + SKEW_100);
    assert_eq!(
        drain(&mut router),
        becoming_master(State::Backup, Reason::MasterResigned, 100, false)
    );
}

#[test]
fn master_reasserts_when_another_router_resigns() {
    // RFC 9568 §6.4.3: priority 0 received: advertise at once, reset the Adver_Timer. The
    // resigning router was master too: announce the addresses again.
    let t0 = Instant::now();
    let mut router = master(t0);
    let at = t0 + MDI_100 + GarpConfig::default().lower_prio_delay;
    router.handle_timeout(at);
    drain(&mut router);
    router.handle_advertisement(at, HIGHER_PEER, &advert(0));
    assert_eq!(
        drain(&mut router),
        vec![
            Output::SendAdvertisement(advert(100)),
            Output::AnnounceAddresses {
                addresses: vec![VIP],
                count: GarpConfig::default().lower_prio_repeat,
                spacing: Duration::ZERO,
            },
        ]
    );
    assert_eq!(router.state(), State::Master);
    assert_eq!(router.poll_timeout(), Some(at + SECOND));
}

#[test]
fn master_shutdown_resigns_and_gives_the_addresses_up() {
    // RFC 9568 §6.4.3: send priority 0, go to Initialize.
    let t0 = Instant::now();
    let mut router = master(t0);
    router.handle_shutdown(t0 + Duration::from_secs(5));
    assert_eq!(
        drain(&mut router),
        vec![
            changed(State::Master, State::Initialize, Reason::Shutdown),
            Output::SendAdvertisement(advert(0)),
            Output::RemoveAddresses { addresses: vec![VIP] },
        ]
    );
    assert_eq!(router.poll_timeout(), None);
    // A restart elects again from scratch.
    let again = t0 + Duration::from_secs(6);
    router.handle_startup(again);
    assert_eq!(
        drain(&mut router),
        vec![changed(State::Initialize, State::Backup, Reason::Startup)]
    );
    assert_eq!(router.poll_timeout(), Some(again + MDI_100));
}

#[test]
fn backup_shutdown_cancels_its_timer() {
    // RFC 9568 §6.4.2
    let t0 = Instant::now();
    let mut router = started(config(), t0);
    router.handle_shutdown(t0 + SECOND);
    assert_eq!(
        drain(&mut router),
        vec![changed(State::Backup, State::Initialize, Reason::Shutdown)]
    );
    assert_eq!(router.poll_timeout(), None);
    router.handle_timeout(t0 + MDI_100 * 2);
    assert_eq!(drain(&mut router), vec![]);
}

#[test]
fn fault_takes_a_master_out_and_recovery_elects_again() {
    let t0 = Instant::now();
    let mut router = master(t0);
    let at = t0 + Duration::from_secs(5);
    router.handle_fault(at, true);
    assert_eq!(
        drain(&mut router),
        vec![
            changed(State::Master, State::Fault, Reason::Fault),
            Output::SendAdvertisement(advert(0)),
            Output::RemoveAddresses { addresses: vec![VIP] },
        ]
    );
    assert_eq!(router.poll_timeout(), None);
    let result = router.handle_advertisement(at, HIGHER_PEER, &advert(200));
    assert_eq!(result, Disposition::Discarded(DiscardReason::NotRunning));
    router.handle_fault(at, true);
    assert_eq!(drain(&mut router), vec![], "a repeated fault is not a new one");

    let later = at + SECOND;
    router.handle_fault(later, false);
    assert_eq!(
        drain(&mut router),
        vec![changed(State::Fault, State::Backup, Reason::FaultCleared)]
    );
    assert_eq!(router.poll_timeout(), Some(later + MDI_100));
}

#[test]
fn fault_before_startup_starts_in_fault() {
    let t0 = Instant::now();
    let mut router = Router::new(config()).unwrap();
    router.handle_fault(t0, true);
    assert_eq!(drain(&mut router), vec![]);
    router.handle_startup(t0);
    assert_eq!(drain(&mut router), vec![changed(State::Initialize, State::Fault, Reason::Fault)]);
    let mut backup = started(config(), t0);
    backup.handle_fault(t0, true);
    assert_eq!(drain(&mut backup), vec![changed(State::Backup, State::Fault, Reason::Fault)]);
}

#[test]
fn a_master_advertises_a_new_priority_at_once() {
    let t0 = Instant::now();
    let mut router = master(t0);
    let at = t0 + Duration::from_secs(4);
    router.handle_priority(at, 80);
    assert_eq!(router.priority(), 80);
    assert_eq!(drain(&mut router), vec![Output::SendAdvertisement(advert(80))]);
    assert_eq!(router.poll_timeout(), Some(at + SECOND));
    // Tracking cannot make a non-owner resign or own the addresses.
    router.handle_priority(at, 0);
    assert_eq!(router.priority(), 1);
    router.handle_priority(at, 255);
    assert_eq!(router.priority(), 254);
}

#[test]
fn a_backup_raised_above_the_master_preempts_it() {
    let t0 = Instant::now();
    let mut router = started(RouterConfig { priority: 90, ..config() }, t0);
    router.handle_advertisement(t0 + SECOND, LOWER_PEER, &advert(100));
    router.handle_priority(t0 + SECOND, 120);
    let at = t0 + SECOND * 2;
    let result = router.handle_advertisement(at, LOWER_PEER, &advert(100));
    assert_eq!(result, Disposition::Discarded(DiscardReason::Preempting));
    // Priority 120 skew: 136/256 s; the timer still runs from the last accepted advertisement.
    let deadline = router.poll_timeout().unwrap();
    router.handle_timeout(deadline);
    assert_eq!(router.state(), State::Master);
}

#[test]
fn announcements_follow_garp_master_delay_and_refresh() {
    let t0 = Instant::now();
    let garp = GarpConfig {
        master_delay: Duration::from_secs(5),
        master_repeat: 3,
        master_refresh: Some(Duration::from_secs(60)),
        master_refresh_repeat: 2,
        interval: Duration::from_millis(10),
        lower_prio_repeat: 5,
        lower_prio_delay: Duration::from_secs(5),
    };
    let mut router = Router::new(RouterConfig { priority: 255, garp, ..config() }).unwrap();
    router.handle_startup(t0);
    let announce = |count| Output::AnnounceAddresses {
        addresses: vec![VIP],
        count,
        spacing: Duration::from_millis(10),
    };
    let announcements = |outputs: Vec<Output>| -> Vec<Output> {
        outputs.into_iter().filter(|o| matches!(o, Output::AnnounceAddresses { .. })).collect()
    };
    assert_eq!(announcements(drain(&mut router)), vec![announce(3)]);

    let mut seen = Vec::new();
    let mut now = t0;
    while now < t0 + Duration::from_secs(125) {
        now = router.poll_timeout().unwrap();
        router.handle_timeout(now);
        for output in announcements(drain(&mut router)) {
            seen.push((now - t0, output));
        }
    }
    assert_eq!(
        seen,
        vec![
            (Duration::from_secs(5), announce(3)),
            (Duration::from_secs(60), announce(2)),
            (Duration::from_secs(120), announce(2)),
        ]
    );
}

#[test]
fn spurious_timeouts_do_nothing() {
    let t0 = Instant::now();
    let mut router = started(config(), t0);
    for millis in (0..3_600).step_by(7) {
        router.handle_timeout(t0 + Duration::from_millis(millis));
    }
    assert_eq!(router.state(), State::Backup);
    assert_eq!(drain(&mut router), vec![]);
    let mut router = master(t0);
    let deadline = router.poll_timeout().unwrap();
    router.handle_timeout(deadline - Duration::from_millis(1));
    router.handle_timeout(t0);
    assert_eq!(drain(&mut router), vec![]);
}

#[test]
fn a_late_reported_advertisement_never_shortens_the_timer() {
    // The shell may learn of an advertisement after a later one was handled.
    let t0 = Instant::now();
    let mut router = started(config(), t0);
    router.handle_advertisement(t0 + SECOND * 3, HIGHER_PEER, &advert(200));
    router.handle_advertisement(t0 + SECOND, HIGHER_PEER, &advert(200));
    assert_eq!(router.poll_timeout(), Some(t0 + SECOND * 3 + MDI_100));
    // A resignation older than the newest advertisement is stale.
    let result = router.handle_advertisement(t0 + SECOND * 2, HIGHER_PEER, &advert(0));
    assert_eq!(result, Disposition::Discarded(DiscardReason::Stale));
    assert_eq!(router.poll_timeout(), Some(t0 + SECOND * 3 + MDI_100));
    // And one received before the last poll still counts: it moves the timer forward.
    let mut router = started(config(), t0);
    router.handle_timeout(t0 + SECOND * 3);
    router.handle_advertisement(t0 + SECOND * 2, HIGHER_PEER, &advert(200));
    assert_eq!(router.poll_timeout(), Some(t0 + SECOND * 2 + MDI_100));
}

#[test]
fn foreign_and_looped_back_advertisements_are_discarded() {
    let t0 = Instant::now();
    let mut router = started(config(), t0);
    let other_vrid =
        Advertisement::new(Version::V3, 8, 200, Centiseconds::new(100), vec![VIP]).unwrap();
    let v2 = Advertisement::new(Version::V2, 7, 200, Centiseconds::new(100), vec![VIP]).unwrap();
    let v6 = Advertisement::new(
        Version::V3,
        7,
        200,
        Centiseconds::new(100),
        vec!["fe80::1".parse().unwrap()],
    )
    .unwrap();
    let cases = [
        (HIGHER_PEER, &other_vrid, DiscardReason::OtherVrid),
        (HIGHER_PEER, &v2, DiscardReason::OtherVersion),
        ("fe80::3".parse().unwrap(), &v6, DiscardReason::OtherFamily),
        (LOCAL, &advert(200), DiscardReason::OwnAdvertisement),
    ];
    for (source, advert, reason) in cases {
        assert_eq!(router.handle_advertisement(t0, source, advert), Disposition::Discarded(reason));
    }
    assert_eq!(router.poll_timeout(), Some(t0 + MDI_100), "no discarded advert reset the timer");
}

#[test]
fn v2_discards_a_different_advertisement_interval() {
    // RFC 3768 §7.1
    let t0 = Instant::now();
    let mut router = started(RouterConfig::new(7, LOCAL, vec![VIP]), t0);
    let three_seconds =
        Advertisement::new(Version::V2, 7, 200, Centiseconds::from_seconds(3), vec![VIP]).unwrap();
    let result = router.handle_advertisement(t0, HIGHER_PEER, &three_seconds);
    assert_eq!(result, Disposition::Discarded(DiscardReason::IntervalMismatch));
    let one_second =
        Advertisement::new(Version::V2, 7, 200, Centiseconds::from_seconds(1), vec![VIP]).unwrap();
    assert_eq!(router.handle_advertisement(t0, HIGHER_PEER, &one_second), Disposition::Accepted);
}

#[test]
fn impossible_configurations_are_refused() {
    let v6_global: IpAddr = "2001:db8::1".parse().unwrap();
    let cases = [
        (RouterConfig { vrid: 0, ..config() }, ConfigError::ZeroVrid),
        (RouterConfig { priority: 0, ..config() }, ConfigError::ZeroPriority),
        (
            RouterConfig { advert_interval: Centiseconds::new(0), ..config() },
            ConfigError::Interval(Centiseconds::new(0)),
        ),
        (
            RouterConfig { advert_interval: Centiseconds::new(4096), ..config() },
            ConfigError::Interval(Centiseconds::new(4096)),
        ),
        (
            RouterConfig {
                advert_interval: Centiseconds::new(150),
                ..RouterConfig::new(7, LOCAL, vec![VIP])
            },
            ConfigError::Interval(Centiseconds::new(150)),
        ),
        (RouterConfig { virtual_addresses: vec![], ..config() }, ConfigError::NoAddresses),
        (
            RouterConfig { virtual_addresses: vec![VIP; 256], ..config() },
            ConfigError::TooManyAddresses(256),
        ),
        (
            RouterConfig { virtual_addresses: vec![VIP, v6_global], ..config() },
            ConfigError::MixedFamilies,
        ),
        (
            RouterConfig { primary_address: "fe80::2".parse().unwrap(), ..config() },
            ConfigError::PrimaryAddressFamily,
        ),
        (
            RouterConfig {
                transport: vrrp_proto::Transport::Unicast { peers: vec![v6_global] },
                ..config()
            },
            ConfigError::PeerFamily,
        ),
        (
            RouterConfig {
                garp: GarpConfig { master_refresh: Some(Duration::ZERO), ..GarpConfig::default() },
                ..config()
            },
            ConfigError::ZeroGarpRefresh,
        ),
    ];
    for (config, error) in cases {
        assert_eq!(config.validate(), Err(error));
        assert!(Router::new(config).is_err());
    }
    assert_eq!(config().validate(), Ok(()));
}

#[test]
fn the_owners_priority_never_moves() {
    // keepalived vrrp_track.c vrrp_set_effective_priority() returns at once for the address
    // owner: it discards every advertisement, so a lowered owner would never yield.
    let t0 = Instant::now();
    let mut owner = started(RouterConfig { priority: 255, ..config() }, t0);
    owner.handle_priority(t0 + SECOND, 200);
    assert_eq!(owner.priority(), 255);
    assert_eq!(drain(&mut owner), vec![]);
    let mut router = master(t0);
    router.handle_priority(t0 + SECOND * 5, 255);
    assert_eq!(router.priority(), 254, "a non-owner never reaches 255");
}

#[test]
fn preempt_delay_restarts_after_a_higher_master() {
    // keepalived vrrp.c vrrp_state_backup(): an advertisement at or above our priority stops
    // the preempt delay; the next lower one starts it again.
    let t0 = Instant::now();
    let delay = Duration::from_secs(10);
    let mut router = started(RouterConfig { preempt_delay: delay, ..config() }, t0);
    for second in 1..=30 {
        router.handle_advertisement(t0 + SECOND * second, HIGHER_PEER, &advert(200));
    }
    let dropped = t0 + SECOND * 31;
    let mut last_accepted = None;
    for second in 0..12 {
        let at = dropped + SECOND * second;
        router.handle_timeout(at);
        assert_eq!(router.state(), State::Backup);
        if router.handle_advertisement(at, HIGHER_PEER, &advert(50)) == Disposition::Accepted {
            last_accepted = Some(at);
        }
    }
    assert_eq!(last_accepted, Some(dropped + delay - SECOND), "the whole delay, counted anew");
}

#[test]
fn a_priority_change_in_backup_retimes_the_master_down_timer() {
    // keepalived vrrp_track.c vrrp_set_effective_priority(): the running timer moves by the
    // change of Master_Down_Interval (and Skew_Time after a resignation).
    let t0 = Instant::now();
    let mut router = started(config(), t0);
    let heard = t0 + SECOND;
    router.handle_advertisement(heard, HIGHER_PEER, &advert(254));
    assert_eq!(router.poll_timeout(), Some(heard + MDI_100));
    router.handle_priority(heard + SECOND / 2, 200);
    assert_eq!(router.poll_timeout(), Some(heard + router.master_down_interval()));
    assert!(router.master_down_interval() < MDI_100);
    let resigned = heard + SECOND;
    router.handle_advertisement(resigned, HIGHER_PEER, &advert(0));
    router.handle_priority(resigned, 50);
    assert_eq!(router.poll_timeout(), Some(resigned + router.skew_time()));
    assert!(router.skew_time() > SKEW_100);
}

#[test]
fn a_late_reported_advertisement_does_not_teach_its_interval() {
    // RFC 9568 §6.4.2 learns Master_Adver_Interval from the master's current advertisement;
    // one dated before the newest handled is history.
    let t0 = Instant::now();
    let mut router = started(config(), t0);
    let newest = t0 + SECOND * 5;
    router.handle_advertisement(newest, HIGHER_PEER, &advert(200));
    let before = router.poll_timeout();
    let old = Advertisement::new(Version::V3, 7, 200, Centiseconds::new(400), vec![VIP]).unwrap();
    router.handle_advertisement(t0 + SECOND * 4, HIGHER_PEER, &old);
    assert_eq!(router.master_adver_interval(), Centiseconds::new(100));
    assert_eq!(router.poll_timeout(), before);
    let slower =
        Advertisement::new(Version::V3, 7, 200, Centiseconds::new(200), vec![VIP]).unwrap();
    router.handle_advertisement(newest + SECOND, HIGHER_PEER, &slower);
    assert_eq!(router.master_adver_interval(), Centiseconds::new(200), "a current one does");
}

#[test]
fn a_held_master_down_timer_rearms_for_a_whole_interval() {
    // keepalived vrrp_sync.c vrrp_sync_can_goto_master(): the sync group holds the backup.
    let t0 = Instant::now();
    let mut router = started(config(), t0);
    assert!(!router.master_down_due(t0 + MDI_100 - SECOND));
    let due = t0 + MDI_100;
    assert!(router.master_down_due(due));
    router.hold_master_down(due);
    assert_eq!(router.state(), State::Backup);
    assert_eq!(router.poll_timeout(), Some(due + MDI_100));
    assert_eq!(drain(&mut router), vec![]);
    router.hold_master_down(due + SECOND);
    assert_eq!(router.poll_timeout(), Some(due + MDI_100), "not due: left alone");
}

#[test]
fn a_sync_group_takes_a_backup_to_master_and_a_master_to_backup() {
    let t0 = Instant::now();
    let mut router = started(config(), t0);
    let at = t0 + SECOND;
    router.handle_sync(at, State::Master);
    assert_eq!(drain(&mut router), becoming_master(State::Backup, Reason::SyncGroup, 100, false));
    router.handle_sync(at, State::Master);
    assert_eq!(drain(&mut router), vec![], "already there");
    let later = at + SECOND;
    router.handle_sync(later, State::Backup);
    assert_eq!(
        drain(&mut router),
        vec![
            changed(State::Master, State::Backup, Reason::SyncGroup),
            Output::SendAdvertisement(advert(100)),
            Output::RemoveAddresses { addresses: vec![VIP] },
        ]
    );
    assert_eq!(router.poll_timeout(), Some(later + MDI_100));
    router.handle_fault(later, true);
    drain(&mut router);
    router.handle_sync(later, State::Master);
    assert_eq!(drain(&mut router), vec![], "a router in Fault stays there");
}

#[test]
fn the_master_down_timer_may_be_watched_only_while_a_followed_master_resets_it() {
    // RFC 9568 §6.4.2: what `followed_master` promises the shell is exactly the rule that
    // resets the Master_Down_Timer.
    let t0 = Instant::now();
    let mut router = started(config(), t0);
    assert_eq!(router.followed_master(), None, "no master heard yet: the start-up timer runs");
    router.handle_advertisement(t0 + SECOND, HIGHER_PEER, &advert(200));
    assert_eq!(router.followed_master(), Some(100), "preempting: its equals and betters");
    // A lower priority is discarded and the timer runs out: nothing to watch.
    router.handle_advertisement(t0 + SECOND * 2, LOWER_PEER, &advert(50));
    assert_eq!(router.followed_master(), None, "preempting a lower master");
    router.handle_advertisement(t0 + SECOND * 3, HIGHER_PEER, &advert(200));
    assert_eq!(router.followed_master(), Some(100));
    // A resignation arms Skew_Time, which no advertisement of the kernel's resets.
    router.handle_advertisement(t0 + SECOND * 4, HIGHER_PEER, &advert(0));
    assert_eq!(router.followed_master(), None, "after a resignation");
    router.handle_timeout(t0 + SECOND * 5);
    assert_eq!(router.state(), State::Master);
    assert_eq!(router.followed_master(), None, "a master watches nobody");

    // Without preemption, every master is followed.
    let mut router = started(RouterConfig { preempt: false, ..config() }, t0);
    router.handle_advertisement(t0 + SECOND, LOWER_PEER, &advert(50));
    assert_eq!(router.followed_master(), Some(1));
    // A preempt delay makes the rule depend on time: the shell's timers keep it.
    let delayed = RouterConfig { preempt_delay: SECOND * 5, ..config() };
    let mut router = started(delayed, t0);
    router.handle_advertisement(t0 + SECOND, HIGHER_PEER, &advert(200));
    assert_eq!(router.followed_master(), None, "with a preempt delay");
}
