//! A full XDP event ring loses no change: the kernel counts the events it could not queue
//! (`event_lost`) and still updates the instance's record, and the daemon, seeing the count
//! move once it has drained the ring, gives every instance its record again.
//!
//! The master is frozen (SIGSTOP) so nothing drains its ring; BPF_PROG_TEST_RUN on its pinned
//! program fills the ring with lower-priority advertisements (a master mirrors every one),
//! then one from a higher priority, whose event is lost. Resumed, the daemon reads the ring's
//! events (none of which would move it) and the loss: the record's priority 200 makes it
//! BACKUP. Without the resynchronisation it would stay MASTER.

use std::{
    net::Ipv4Addr,
    time::{Duration, Instant},
};

use vrrp_common::{names, AdvertEvent, Counter, EVENTS_BYTES};
use vrrp_tests::{
    frames,
    lab::{reference_config, ReferenceLab, SERVER1, SERVER2, VIP},
    netns, require_root, test_run,
};

const ELECTION: Duration = Duration::from_secs(30);
const VRID: u8 = 123;

#[test]
fn events_lost_to_a_full_ring_are_recovered_from_the_records() {
    require_root();
    let mut lab = ReferenceLab::with_prefix("hd").expect("building the lab");
    let config = lab.write_config(1, "keepalived.conf", &reference_config(1)).unwrap();
    let daemon = lab.start_vrrpd(1, &config, &[]).unwrap();
    lab.wait_for_master(1, ELECTION).expect("router 1 alone becomes master");
    lab.daemon(daemon).wait_for_log("-> MASTER", ELECTION).unwrap();
    let pin_dir = lab.bpffs.join("r1");
    let lost_before = lost(&pin_dir);
    let r1 = lab.router(1).to_owned();
    let ifindex = lab.lab.ifindex(&r1, "ens3").unwrap();
    let (peer, own, vip): (Ipv4Addr, Ipv4Addr, Ipv4Addr) =
        (SERVER2.parse().unwrap(), SERVER1.parse().unwrap(), VIP.parse().unwrap());

    lab.daemon(daemon).signal(libc::SIGSTOP);
    let frozen = Instant::now();
    {
        let _inside = netns::enter(&r1).unwrap();
        let program = aya::programs::Xdp::from_pin(
            pin_dir.join(names::PROGRAM),
            aya_obj::programs::XdpAttachType::Interface,
        )
        .expect("the daemon's pinned program");
        let fd = program.fd().unwrap();
        // Ring records carry an 8-byte header and are 8-byte aligned.
        let slot = (size_of::<AdvertEvent>() + 8).next_multiple_of(8);
        let capacity = EVENTS_BYTES as usize / slot;
        let lower = frames::vrrp_v3_ipv4(peer, own, VRID, 50, 100, &[vip]);
        test_run::run(fd, &lower, ifindex, capacity as u32 + 100).unwrap();
        let higher = frames::vrrp_v3_ipv4(peer, own, VRID, 200, 100, &[vip]);
        test_run::run(fd, &higher, ifindex, 1).unwrap();
    }
    let lost_now = lost(&pin_dir);
    assert!(lost_now > lost_before, "the ring overflowed: event_lost {lost_before} -> {lost_now}");
    assert!(lab.has_vip(1).unwrap(), "frozen, router 1 still holds the VIP");
    lab.daemon(daemon).signal(libc::SIGCONT);
    println!("frozen for {:?}, {} events lost", frozen.elapsed(), lost_now - lost_before);

    lab.daemon(daemon).wait_for_log("the XDP event ring overflowed", ELECTION).unwrap();
    lab.daemon(daemon).wait_for_log("MASTER -> BACKUP", ELECTION).unwrap();
    let log = lab.daemon(daemon).log_text();
    let overflow = log.find("the XDP event ring overflowed").unwrap();
    assert!(log[overflow..].contains("MASTER -> BACKUP"), "backup after the resync:\n{log}");
    let status = vrrp_user::control::request_status(&lab.dir.join("run-r1")).unwrap();
    assert!(status.daemon.recovery.ring_resyncs >= 1, "{:?}", status.daemon.recovery);
    let status = lab.daemon(daemon).stop(Duration::from_secs(10));
    assert!(status.is_some_and(|status| status.success()), "exit: {status:?}\n{log}");
    assert!(!lab.has_vip(1).unwrap(), "the VIP outlived the daemon");
}

fn lost(pin_dir: &std::path::Path) -> u64 {
    vrrp_tests::flood::read_counters(pin_dir).expect("the pinned counters")
        [Counter::EventLost as usize]
}
