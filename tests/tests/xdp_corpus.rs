//! The kernel programs on a corpus of crafted frames through BPF_PROG_TEST_RUN: every kind of
//! valid advertisement, one malformed frame per drop reason, traffic that is not VRRP, the
//! events a sequence of advertisements raises, and the frame sizes a test run accepts. The
//! rules run at both hooks (`at_xdp::`, `at_tcx::`), with the verdicts in XDP's terms.
//!
//! Each test loads its own programs, so its maps start empty.

use std::{
    net::{IpAddr, Ipv4Addr, Ipv6Addr},
    time::{Duration, Instant},
};

use vrrp_common::{
    event_cause, instance_flags,
    wire::{ND_NEIGHBOR_ADVERT, ND_NEIGHBOR_SOLICIT},
    AdvertEvent, Counter, InstanceConfig, InstanceKey, InstanceRecord, EVENTS_BYTES, FAMILY_IPV4,
    INSTANCE_SLOTS, NOT_ACCEPTED_SLOTS,
};
use vrrp_tests::{
    at_each_hook,
    corpus::{self, Advert, Expect, Recorded, OTHER_MAC, OTHER_PEER_V4, STRANGER_MAC},
    frames::{self, udp_ipv4_frame, PEER_MAC},
    require_root,
    rig::{coarse_clock_resolution, skb_test_run_refuses, Outcome, Rig},
    test_run::{XDP_DROP, XDP_PASS},
    wait_until,
};
use vrrp_user::hook::Hook;

fn rig(hook: Hook, extra_flags: u8) -> Rig {
    require_root();
    Rig::load(hook, extra_flags).expect("loading and configuring the kernel programs")
}

at_each_hook!(
    every_valid_advertisement_is_passed_recorded_and_reported_once,
    consume_valid_drops_valid_advertisements_after_accounting,
    every_malformed_frame_is_dropped_under_its_own_reason,
    advertisements_for_no_instance_are_counted_and_passed,
    traffic_that_is_not_vrrp_passes_uncounted,
    events_are_raised_for_changes_only,
    mirror_all_reports_every_advertisement,
    a_full_ring_buffer_counts_event_lost_and_still_records,
    an_instance_placed_past_its_home_slot_is_found_there,
    traffic_to_a_refused_address_is_dropped_and_counted_but_resolution_and_vrrp_pass,
);

fn reported() -> Vec<(&'static str, u64)> {
    vec![(Counter::Reported.name(), 1)]
}

fn absorbed() -> Vec<(&'static str, u64)> {
    vec![(Counter::Absorbed.name(), 1)]
}

/// `verdict` counted once, with the notes `expected` calls for beside it (in counter order).
fn counted_with_notes(verdict: Counter, expected: &Recorded) -> Vec<(&'static str, u64)> {
    let mut counted = vec![(verdict.name(), 1)];
    if expected.first_not_link_local {
        counted.push((Counter::NotLinkLocal.name(), 1));
    }
    counted
}

/// The event causes of a first advertisement (or any event) with `expected`'s notes.
fn causes_with_notes(causes: u8, expected: &Recorded) -> u8 {
    causes | if expected.first_not_link_local { event_cause::NOT_LINK_LOCAL } else { 0 }
}

fn assert_record(name: &str, record: &InstanceRecord, expected: &Recorded, count: u64) {
    assert_eq!(record.count, count, "{name}: record count");
    assert_eq!(record.sender, expected.sender, "{name}: record sender");
    assert_eq!(record.sender_mac, expected.sender_mac, "{name}: record sender MAC");
    assert_eq!(record.priority, expected.priority, "{name}: record priority");
    assert_eq!(record.interval_cs, expected.interval_cs, "{name}: record interval");
    assert_eq!(record.version, expected.version, "{name}: record version");
    assert_eq!(record.checksum_form, expected.checksum_form, "{name}: record checksum form");
}

fn assert_event(name: &str, event: &AdvertEvent, expected: &Recorded, causes: u8) {
    assert_eq!(event.causes, causes, "{name}: event causes");
    assert_eq!(event.key, expected.key, "{name}: event instance");
    assert_eq!(event.sender, expected.sender, "{name}: event sender");
    assert_eq!(event.sender_mac, expected.sender_mac, "{name}: event sender MAC");
    assert_eq!(event.priority, expected.priority, "{name}: event priority");
    assert_eq!(event.interval_cs, expected.interval_cs, "{name}: event interval");
    assert_eq!(event.version, expected.version, "{name}: event version");
    assert_eq!(event.checksum_form, expected.checksum_form, "{name}: event checksum form");
}

/// Runs `frame` once and checks that the record's stamp falls within the run.
fn run_timed(rig: &mut Rig, name: &str, frame: &[u8], key: &Recorded) -> (Outcome, InstanceRecord) {
    let clock = rig.datapath.clock().clone();
    let before = clock.jiffies().expect("reading the kernel clock");
    let outcome = rig.run(frame).expect("BPF_PROG_TEST_RUN");
    let after = clock.jiffies().expect("reading the kernel clock");
    let record = rig.record(&key.key).unwrap().unwrap_or_else(|| panic!("{name}: no record"));
    assert!(
        (before..=after).contains(&record.last_seen_jiffies),
        "{name}: last_seen {} outside the run [{before}, {after}]",
        record.last_seen_jiffies
    );
    for event in &outcome.events {
        assert_eq!(event.jiffies, record.last_seen_jiffies, "{name}: event stamp");
    }
    (outcome, record)
}

fn every_valid_advertisement_is_passed_recorded_and_reported_once(hook: Hook) {
    for case in corpus::valid() {
        let Expect::Valid(expected) = case.expect else { panic!("{}: not valid", case.name) };
        let name = case.name;
        let mut rig = rig(hook, 0);
        assert_eq!(rig.record(&expected.key).unwrap(), None, "{name}: recorded before any run");

        let (first, record) = run_timed(&mut rig, name, &case.frame, &expected);
        println!("{name} ({} bytes): {first:?}", case.frame.len());
        assert_eq!(first.action, XDP_PASS, "{name}: verdict");
        assert_eq!(first.counted, counted_with_notes(Counter::Reported, &expected), "{name}");
        assert_eq!(first.events.len(), 1, "{name}: one event");
        let causes = causes_with_notes(event_cause::FIRST, &expected);
        assert_event(name, &first.events[0], &expected, causes);
        assert_record(name, &record, &expected, 1);

        // Once the kernel's tick has moved on (a fixed sleep is not enough: on a loaded VM the
        // tick can lag the monotonic clock), the record must follow it.
        let clock = rig.datapath.clock().clone();
        wait_until("the kernel's tick moves on", Duration::from_secs(10), || {
            clock.jiffies().unwrap() > record.last_seen_jiffies
        })
        .unwrap();
        let (again, record_again) = run_timed(&mut rig, name, &case.frame, &expected);
        assert_eq!(again.action, XDP_PASS, "{name} again: verdict");
        let counted = counted_with_notes(Counter::Absorbed, &expected);
        assert_eq!(again.counted, counted, "{name} again: counters");
        assert!(again.events.is_empty(), "{name} again: absorbed without an event");
        assert_record(name, &record_again, &expected, 2);
        assert!(
            record_again.last_seen_jiffies > record.last_seen_jiffies,
            "{name}: last_seen advances"
        );
    }
}

fn consume_valid_drops_valid_advertisements_after_accounting(hook: Hook) {
    let mut rig = rig(hook, instance_flags::CONSUME_VALID);
    for case in corpus::valid() {
        let Expect::Valid(expected) = case.expect else { panic!("{}: not valid", case.name) };
        let count_before = rig.record(&expected.key).unwrap().map_or(0, |r| r.count);
        let outcome = rig.run(&case.frame).expect("BPF_PROG_TEST_RUN");
        assert_eq!(outcome.action, XDP_DROP, "{}: consumed", case.name);
        assert!(
            outcome.counted == counted_with_notes(Counter::Reported, &expected)
                || outcome.counted == counted_with_notes(Counter::Absorbed, &expected),
            "{}: counted as valid, got {:?}",
            case.name,
            outcome.counted
        );
        let record = rig.record(&expected.key).unwrap().expect("recorded");
        assert_record(case.name, &record, &expected, count_before + 1);
    }
    // The flag changes what happens to valid advertisements only.
    let malformed = &corpus::malformed()[0];
    let Expect::Drop(reason) = malformed.expect else { panic!("{}: not a drop", malformed.name) };
    let outcome = rig.run(&malformed.frame).expect("BPF_PROG_TEST_RUN");
    assert_eq!((outcome.action, outcome.counted), (XDP_DROP, vec![(reason.name(), 1)]));
    let other = rig.run(&corpus::not_vrrp()[0].frame).expect("BPF_PROG_TEST_RUN");
    assert_eq!((other.action, other.counted), (XDP_PASS, vec![]));
}

fn every_malformed_frame_is_dropped_under_its_own_reason(hook: Hook) {
    let mut rig = rig(hook, 0);
    let mut covered = Vec::new();
    for case in corpus::malformed() {
        let Expect::Drop(reason) = case.expect else { panic!("{}: not a drop", case.name) };
        let outcome = rig.run(&case.frame).expect("BPF_PROG_TEST_RUN");
        println!("{} ({} bytes): {outcome:?}", case.name, case.frame.len());
        assert_eq!(outcome.action, XDP_DROP, "{}: verdict", case.name);
        assert_eq!(outcome.counted, vec![(reason.name(), 1)], "{}: counters", case.name);
        assert!(outcome.events.is_empty(), "{}: no event", case.name);
        covered.push(reason);
    }
    for (key, ..) in corpus::instances(0) {
        assert_eq!(rig.record(&key).unwrap(), None, "a malformed frame was recorded on {key:?}");
    }
    let missing: Vec<_> =
        Counter::ALL.iter().filter(|c| c.is_drop() && !covered.contains(c)).collect();
    assert!(missing.is_empty(), "drop reasons without a malformed frame: {missing:?}");
}

fn advertisements_for_no_instance_are_counted_and_passed(hook: Hook) {
    // Even with CONSUME_VALID on every instance: the frame is not theirs to consume.
    let mut rig = rig(hook, instance_flags::CONSUME_VALID);
    for case in corpus::unclaimed() {
        let Expect::Passed(reason) = case.expect else { panic!("{}: not passed", case.name) };
        let outcome = rig.run(&case.frame).expect("BPF_PROG_TEST_RUN");
        println!("{} ({} bytes): {outcome:?}", case.name, case.frame.len());
        assert_eq!(outcome.action, XDP_PASS, "{}: verdict", case.name);
        assert_eq!(outcome.counted, vec![(reason.name(), 1)], "{}: counters", case.name);
        assert!(outcome.events.is_empty(), "{}: no event", case.name);
    }
    for (key, ..) in corpus::instances(0) {
        assert_eq!(rig.record(&key).unwrap(), None, "an unclaimed frame was recorded on {key:?}");
    }
}

fn traffic_that_is_not_vrrp_passes_uncounted(hook: Hook) {
    let mut rig = rig(hook, 0);
    for case in corpus::not_vrrp() {
        assert_eq!(case.expect, Expect::NotVrrp, "{}", case.name);
        if hook == Hook::Tcx && skb_test_run_refuses(&case.frame) {
            assert_eq!(refusal(&mut rig, &case.frame), libc::EINVAL, "{}: refused", case.name);
            println!("{} ({} bytes): no skb test run of it", case.name, case.frame.len());
            continue;
        }
        let outcome = rig.run(&case.frame).expect("BPF_PROG_TEST_RUN");
        println!("{} ({} bytes): {outcome:?}", case.name, case.frame.len());
        assert_eq!(outcome.action, XDP_PASS, "{}: verdict", case.name);
        assert_eq!(outcome.counted, vec![], "{}: counters", case.name);
        assert!(outcome.events.is_empty(), "{}: no event", case.name);
    }
    for (key, ..) in corpus::instances(0) {
        assert_eq!(rig.record(&key).unwrap(), None, "non-VRRP traffic was recorded on {key:?}");
    }
}

/// Accept_Mode False as the daemon sets it for a non-owner master: IPv4 and IPv6 traffic to the
/// addresses refused on the frame's interface is dropped under `not_accepted`; ARP for them,
/// neighbour solicitations and advertisements to them, VRRP, traffic to other addresses and
/// refusals on other interfaces pass; accepting again undoes it.
fn traffic_to_a_refused_address_is_dropped_and_counted_but_resolution_and_vrrp_pass(hook: Hook) {
    let mut rig = rig(hook, 0);
    let (vip, vip6) = (corpus::VIP_V4, corpus::VIP_V6);
    let router_mac = corpus::ROUTER_MAC;
    let refused = vec![
        ("ICMP echo to the VIP", frames::icmp_echo_ipv4(corpus::PEER_V4, vip)),
        ("UDP to the VIP", frames::udp_ipv4(corpus::PEER_V4, vip)),
        ("TCP SYN to the VIP", frames::tcp_syn_ipv4(corpus::PEER_V4, vip)),
        ("a fragment to the VIP", frames::udp_ipv4_fragment(corpus::PEER_V4, vip)),
        ("ICMPv6 echo to the IPv6 VIP", frames::icmpv6_echo(corpus::PEER_V6, vip6)),
    ];
    let solicit = |kind| {
        frames::neighbour_discovery(kind, (PEER_MAC, router_mac), corpus::PEER_V6, vip6, vip6)
    };
    let passed = vec![
        ("ARP request for the VIP", frames::arp_request(PEER_MAC, corpus::PEER_V4, vip)),
        ("neighbour solicitation for the IPv6 VIP (group)", {
            frames::neighbour_solicitation(PEER_MAC, corpus::PEER_V6, vip6)
        }),
        ("neighbour solicitation to the IPv6 VIP (unicast)", solicit(ND_NEIGHBOR_SOLICIT)),
        ("neighbour advertisement to the IPv6 VIP", solicit(ND_NEIGHBOR_ADVERT)),
        ("ICMP echo to the router's own address", {
            frames::icmp_echo_ipv4(corpus::PEER_V4, corpus::ROUTER_V4)
        }),
    ];
    let run = |rig: &mut Rig, frame: &[u8]| rig.run(frame).expect("BPF_PROG_TEST_RUN");

    for (name, frame) in refused.iter().chain(&passed) {
        let outcome = run(&mut rig, frame);
        assert_eq!((outcome.action, outcome.counted), (XDP_PASS, vec![]), "{name}: none refused");
    }
    // Refused on other interfaces only: one in another slot of the gate, one sharing this
    // interface's slot (the lookup runs, and misses).
    for ifindex in [corpus::IFINDEX + 1, corpus::IFINDEX + NOT_ACCEPTED_SLOTS] {
        for address in [IpAddr::V4(vip), IpAddr::V6(vip6)] {
            rig.datapath.refuse_traffic(ifindex, address).expect("refusing");
        }
    }
    for (name, frame) in &refused {
        let outcome = run(&mut rig, frame);
        assert_eq!((outcome.action, outcome.counted), (XDP_PASS, vec![]), "{name}: elsewhere");
    }
    for address in [IpAddr::V4(vip), IpAddr::V6(vip6)] {
        rig.datapath.refuse_traffic(corpus::IFINDEX, address).expect("refusing");
    }
    for (name, frame) in &refused {
        let outcome = run(&mut rig, frame);
        println!("{name}: {outcome:?}");
        assert_eq!(outcome.action, XDP_DROP, "{name}: verdict");
        assert_eq!(outcome.counted, vec![(Counter::NotAccepted.name(), 1)], "{name}: counters");
    }
    for (name, frame) in &passed {
        let outcome = run(&mut rig, frame);
        assert_eq!((outcome.action, outcome.counted), (XDP_PASS, vec![]), "{name}: passed");
    }
    // VRRP is judged by its own rules: a valid advertisement is still accepted.
    let case = &corpus::valid()[0];
    let outcome = run(&mut rig, &case.frame);
    assert_eq!(outcome.action, XDP_PASS, "{}: an advertisement passes", case.name);
    assert!(!outcome.counted.iter().any(|(name, _)| *name == Counter::NotAccepted.name()));

    // Two refusals of one address (two instances) need two acceptances.
    let here = corpus::IFINDEX;
    rig.datapath.refuse_traffic(here, IpAddr::V4(vip)).expect("refusing twice");
    rig.datapath.accept_traffic(here, IpAddr::V4(vip)).expect("accepting once");
    assert_eq!(run(&mut rig, &refused[0].1).action, XDP_DROP, "still refused by the other");
    rig.datapath.accept_traffic(here, IpAddr::V4(vip)).expect("accepting");
    rig.datapath.accept_traffic(here, IpAddr::V6(vip6)).expect("accepting");
    for (name, frame) in &refused {
        let outcome = run(&mut rig, frame);
        assert_eq!((outcome.action, outcome.counted), (XDP_PASS, vec![]), "{name}: accepted");
    }
}

/// The error number of a test run that the kernel refused.
fn refusal(rig: &mut Rig, frame: &[u8]) -> i32 {
    match rig.test_run(frame, 1) {
        Ok(result) => panic!("a {}-byte frame ran: {result:?}", frame.len()),
        // test_run reports the errno only in its message: "... (os error N)".
        Err(error) => {
            let message = format!("{error:#}");
            let errno = message.rsplit_once("(os error ").and_then(|(_, n)| n.strip_suffix(')'));
            errno.and_then(|n| n.parse().ok()).unwrap_or_else(|| panic!("no errno: {message}"))
        }
    }
}

/// BPF_PROG_TEST_RUN takes frames from an Ethernet header (14 bytes) to 73152 bytes; a program
/// without multi-buffer support, like `vrrp_xdp`, sees their first 3520 bytes.
#[test]
fn test_run_frame_sizes_and_what_the_program_sees_of_them() {
    let mut rig = rig(Hook::Xdp, 0);
    let (from, to) = (corpus::PEER_V4, corpus::ROUTER_V4);
    for len in [corpus::TEST_RUN_LINEAR_MAX, 9000, corpus::TEST_RUN_MAX_FRAME] {
        let outcome = rig.run(&udp_ipv4_frame(from, to, len)).expect("the frame runs");
        assert_eq!((outcome.action, outcome.counted), (XDP_PASS, vec![]), "{len}-byte UDP frame");
    }
    let one_more = udp_ipv4_frame(from, to, corpus::TEST_RUN_MAX_FRAME + 1);
    assert_eq!(refusal(&mut rig, &one_more), libc::ENOMEM, "one byte more than the largest");
    for runt_len in [0, 1, 13] {
        assert_eq!(refusal(&mut rig, &vec![0xaa; runt_len]), libc::EINVAL, "{runt_len}-byte runt");
    }

    // The largest VRRPv3/IPv6 advertisement that fits the linear part is valid with padding
    // after it; one with 255 addresses (4142 bytes) is cut where the linear part ends.
    let fits = Advert {
        addresses: (0..216u16)
            .map(|n| IpAddr::V6(Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 1, n)))
            .collect(),
        ..Advert::v3_ipv6()
    };
    let mut padded = fits.frame();
    assert!(padded.len() <= corpus::TEST_RUN_LINEAR_MAX, "{} bytes", padded.len());
    padded.resize(9000, 0);
    let outcome = rig.run(&padded).expect("BPF_PROG_TEST_RUN");
    assert_eq!((outcome.action, outcome.counted), (XDP_PASS, reported()), "216 addresses");
    let too_long = Advert {
        addresses: (0..255u16)
            .map(|n| IpAddr::V6(Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 2, n)))
            .collect(),
        ..Advert::v3_ipv6()
    };
    let outcome = rig.run(&too_long.frame()).expect("BPF_PROG_TEST_RUN");
    let truncated = vec![(Counter::Truncated.name(), 1)];
    assert_eq!((outcome.action, outcome.counted), (XDP_DROP, truncated), "255 addresses");
}

fn events_are_raised_for_changes_only(hook: Hook) {
    let mut rig = rig(hook, 0);
    let base = Advert::v3_ipv4();
    let higher = Advert { priority: 110, ..base.clone() };
    let other_sender =
        Advert { source: IpAddr::V4(OTHER_PEER_V4), mac: OTHER_MAC, ..higher.clone() };
    let slower = Advert { interval_cs: 200, ..other_sender.clone() };
    let resigning = Advert { priority: 0, ..slower.clone() };
    let back = Advert { priority: 110, ..slower.clone() };
    let moved_mac = Advert { mac: STRANGER_MAC, ..back.clone() };
    let first_sender = Advert { interval_cs: 200, ..higher.clone() };
    let steps: [(&str, &Advert, u8); 14] = [
        ("first advertisement", &base, event_cause::FIRST),
        ("the same again", &base, 0),
        ("a new priority", &higher, event_cause::PRIORITY),
        ("the new priority again", &higher, 0),
        ("a new sender, same priority", &other_sender, event_cause::NEW_SENDER),
        ("an interval change", &slower, event_cause::INTERVAL),
        ("priority 0", &resigning, event_cause::PRIORITY | event_cause::RESIGN),
        ("priority 0 again", &resigning, event_cause::RESIGN),
        ("priority 0 a third time", &resigning, event_cause::RESIGN),
        ("back to priority 110", &back, event_cause::PRIORITY),
        ("the sender's MAC changed (unpinned)", &moved_mac, event_cause::MAC_CHANGED),
        ("the new MAC again", &moved_mac, 0),
        ("the first sender returns", &first_sender, event_cause::NEW_SENDER),
        ("and again", &first_sender, 0),
    ];
    for (index, (name, advert, causes)) in steps.into_iter().enumerate() {
        let expected = advert.recorded();
        let (outcome, record) = run_timed(&mut rig, name, &advert.frame(), &expected);
        println!("{name}: {outcome:?}");
        assert_eq!(outcome.action, XDP_PASS, "{name}: verdict");
        assert_record(name, &record, &expected, index as u64 + 1);
        if causes == 0 {
            assert_eq!(outcome.counted, absorbed(), "{name}: counters");
            assert!(outcome.events.is_empty(), "{name}: no event, got {:?}", outcome.events);
        } else {
            assert_eq!(outcome.counted, reported(), "{name}: counters");
            assert_eq!(outcome.events.len(), 1, "{name}: one event");
            assert_event(name, &outcome.events[0], &expected, causes);
        }
    }
}

fn mirror_all_reports_every_advertisement(hook: Hook) {
    let mut rig = rig(hook, instance_flags::MIRROR_ALL);
    let base = Advert::v2();
    let higher = Advert { priority: 200, ..base.clone() };
    let steps = [
        (&base, event_cause::FIRST),
        (&base, event_cause::MIRROR),
        (&base, event_cause::MIRROR),
        // A real cause replaces the mirror bit.
        (&higher, event_cause::PRIORITY),
        (&higher, event_cause::MIRROR),
    ];
    for (index, (advert, causes)) in steps.into_iter().enumerate() {
        let name = format!("mirrored advertisement {index}");
        let outcome = rig.run(&advert.frame()).expect("BPF_PROG_TEST_RUN");
        assert_eq!(outcome.counted, reported(), "{name}: counters");
        assert_eq!(outcome.events.len(), 1, "{name}: one event");
        assert_event(&name, &outcome.events[0], &advert.recorded(), causes);
    }
}

/// Ring-buffer records carry an 8-byte header (BPF_RINGBUF_HDR_SZ) and are 8-byte aligned.
const EVENT_SLOT_BYTES: usize = (size_of::<AdvertEvent>() + 8).next_multiple_of(8);

fn a_full_ring_buffer_counts_event_lost_and_still_records(hook: Hook) {
    let mut rig = rig(hook, instance_flags::MIRROR_ALL);
    let advert =
        Advert { addresses: vec![IpAddr::V4(Ipv4Addr::new(192, 0, 2, 7))], ..Advert::v2() };
    let capacity = EVENTS_BYTES as usize / EVENT_SLOT_BYTES;
    let repeat = capacity as u64 + 1000;
    let outcome = rig.run_repeated(&advert.frame(), repeat as u32).expect("BPF_PROG_TEST_RUN");
    println!("{repeat} mirrored advertisements, ring of {capacity} events: {:?}", outcome.counted);
    assert_eq!(outcome.events.len(), capacity, "the ring holds {capacity} events");
    assert_eq!(
        outcome.counted,
        vec![(Counter::Reported.name(), capacity as u64), (Counter::EventLost.name(), 1000)],
        "reported while there was room, lost after"
    );
    let record = rig.record(&advert.key()).unwrap().expect("recorded");
    assert_record("ring full", &record, &advert.recorded(), repeat);

    let after_drain = rig.run(&advert.frame()).expect("BPF_PROG_TEST_RUN");
    assert_eq!(after_drain.counted, reported(), "reported again once drained");
}

fn an_instance_placed_past_its_home_slot_is_found_there(hook: Hook) {
    let mut rig = rig(hook, 0);
    let displaced = InstanceKey::new(corpus::IFINDEX, 200, FAMILY_IPV4);
    // An instance on another interface whose home slot is the same, configured first.
    let squatter = (2..)
        .map(|ifindex| InstanceKey::new(ifindex, 1, FAMILY_IPV4))
        .find(|key| key.home_slot() == displaced.home_slot())
        .expect("some key shares the home slot");
    let config = InstanceConfig { version: 3, ..InstanceConfig::default() };
    rig.datapath.set_instance(squatter, config, &[]).unwrap();
    rig.datapath.set_instance(displaced, config, &[]).unwrap();
    let next_slot = (displaced.home_slot() + 1) % INSTANCE_SLOTS;
    assert_eq!(rig.datapath.slot_of(&displaced), Some(next_slot), "placed one slot further");

    let frame = Advert { vrid: 200, ..Advert::v3_ipv4() }.frame();
    assert_eq!(rig.run(&frame).unwrap().counted, reported(), "found past its home slot");
    // A slot freed before it does not end the search.
    rig.datapath.remove_instance(&squatter).unwrap();
    assert_eq!(rig.run(&frame).unwrap().counted, absorbed(), "found after the squatter left");
    rig.datapath.remove_instance(&displaced).unwrap();
    let unknown = vec![(Counter::UnknownVrid.name(), 1)];
    assert_eq!(rig.run(&frame).unwrap().counted, unknown, "gone once removed");
}

#[test]
fn the_kernel_clock_reads_jiffies_at_the_tick_the_kernel_uses() {
    let rig = rig(Hook::Xdp, 0);
    let clock = rig.datapath.clock();
    // The coarse clock's resolution is the tick (TICK_NSEC): an independent reading of it.
    assert_eq!(clock.tick(), coarse_clock_resolution(), "tick from jiffies and times(2)");
    let (start, started) = (clock.jiffies().unwrap(), Instant::now());
    std::thread::sleep(Duration::from_millis(300));
    let (end, ended) = (clock.jiffies().unwrap(), Instant::now());
    let counted = clock.tick() * u32::try_from(end - start).unwrap();
    let elapsed = ended - started;
    let slack = clock.tick() * 2;
    assert!(
        counted + slack >= elapsed && counted <= elapsed + slack,
        "{} ticks of {:?} over {elapsed:?}",
        end - start,
        clock.tick()
    );
    // A stamp is dated back by its age in ticks, within a tick.
    let dated = clock.instant_of(start).unwrap();
    let error = if dated > started { dated - started } else { started - dated };
    assert!(error <= clock.tick() * 2, "tick {start} dated {error:?} away from its reading");
}
