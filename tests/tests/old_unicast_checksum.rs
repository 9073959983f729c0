//! keepalived's pre-1.3.6 unicast VRRPv3 checksum (`old_unicast_checksum`), read off keepalived
//! 2.2.7 itself: its unicast advertisement to the peer is captured and checked against
//! vrrp-proto's decoder and encoder. With the keyword keepalived sums the IPv4 pseudo-header on
//! the multicast group (vrrp.c vrrp_build_vrrp_v3(), `ipv4_phdr.dst`); without it, on the peer.
//! Then vrrpd beside it: a backup that hears the old form (kernel and socket data paths), and
//! with `old_unicast_checksum never` one that does not.

use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;
use std::time::{Duration, Instant};

use vrrp_proto::{decode_ip_packet, ChecksumForm, ChecksumMode, DecodeError, ReceiveChecks};
use vrrp_tests::{
    lab::{reference_config, ReferenceLab, SERVER1, SERVER2},
    require_root, wait_until,
};

/// Election deadlines: generous, for a loaded machine.
const ELECTION: Duration = Duration::from_secs(30);
/// How long a backup must stay one: more than vrrpd's Master_Down_Interval (about 3.6 s).
const STEADY: Duration = Duration::from_secs(6);

/// keepalived's default `vrrp_mcast_group4`.
const GROUP: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 18);

/// The first IPv4 packet of the classic pcap file at `path` (Ethernet link type).
fn first_ip_packet(path: &Path) -> Vec<u8> {
    let file = std::fs::read(path).expect("reading the capture");
    assert!(file.len() > 24 + 16 + 14, "the capture holds no packet ({} bytes)", file.len());
    let magic = u32::from_le_bytes(file[0..4].try_into().unwrap());
    assert_eq!(magic, 0xa1b2_c3d4, "a little-endian microsecond pcap file");
    let link_type = u32::from_le_bytes(file[20..24].try_into().unwrap());
    assert_eq!(link_type, 1, "Ethernet link type");
    let captured = u32::from_le_bytes(file[32..36].try_into().unwrap()) as usize;
    let frame = &file[40..40 + captured];
    assert_eq!(frame[12..14], [0x08, 0x00], "an untagged IPv4 frame");
    let ip = &frame[14..];
    let total = usize::from(u16::from_be_bytes([ip[2], ip[3]]));
    ip[..total].to_vec()
}

/// keepalived with the reference unicast VRRPv3 configuration (plus `extra` before
/// `unicast_src_ip`) on server 1, alone, so it becomes master: its first advertisement to
/// server 2, as the wire carried it.
fn keepalived_advertisement(extra: &str) -> Vec<u8> {
    require_root();
    let mut lab = ReferenceLab::new().expect("building the lab");
    let config =
        reference_config(1).replace("    unicast_src_ip", &format!("{extra}    unicast_src_ip"));
    assert!(config.contains(extra));
    let path = lab.write_config(1, "keepalived.conf", &config).unwrap();
    lab.start_keepalived(1, &path).expect("starting keepalived");
    // Blocks until keepalived, master after its Master_Down_Interval, sends; the timeout makes
    // a silent keepalived a failure with tcpdump's status.
    let capture = lab.dir.join("advert.pcap");
    let capture_arg = capture.to_string_lossy().into_owned();
    let router = lab.router(2).to_owned();
    let output = lab
        .lab
        .exec(
            &router,
            "timeout",
            &["20", "tcpdump", "-i", "ens3", "-U", "-c", "1", "-w", &capture_arg, "ip proto 112"],
        )
        .expect("capturing keepalived's advertisement");
    assert!(output.status.success(), "tcpdump: {}", String::from_utf8_lossy(&output.stderr));
    first_ip_packet(&capture)
}

fn allowing() -> ReceiveChecks {
    ReceiveChecks { require_ttl_255: false, old_unicast_group: Some(GROUP) }
}

fn without_old() -> ReceiveChecks {
    ReceiveChecks { require_ttl_255: false, ..ReceiveChecks::default() }
}

#[test]
fn keepalived_old_unicast_checksum_is_the_form_vrrp_proto_reads_and_writes() {
    let packet = keepalived_advertisement("    old_unicast_checksum\n");
    let header_len = usize::from(packet[0] & 0x0f) * 4;
    assert_eq!(packet[16..20], SERVER2.parse::<Ipv4Addr>().unwrap().octets(), "sent to the peer");

    // Without the instance's leave (vrrpd today, and `never`): a bad checksum.
    assert_eq!(decode_ip_packet(&packet, without_old()), Err(DecodeError::BadChecksum));
    // With it: recognised as its own form.
    let received = decode_ip_packet(&packet, allowing()).unwrap().expect("a whole packet");
    assert_eq!(received.checksum_form, ChecksumForm::V3Ipv4OldUnicast);
    // vrrp-proto's encoder writes the same bytes keepalived wrote.
    let source: IpAddr = SERVER1.parse().unwrap();
    let peer: IpAddr = SERVER2.parse().unwrap();
    let ours = received
        .advertisement
        .encode_payload(source, peer, ChecksumMode::Ipv4OldUnicast { group: GROUP })
        .unwrap();
    assert_eq!(ours, packet[header_len..]);
}

#[test]
fn keepalived_without_the_keyword_sends_the_rfc_form() {
    let packet = keepalived_advertisement("");
    let header_len = usize::from(packet[0] & 0x0f) * 4;
    // The old form is tried only after the RFC one failed: leave to read it changes nothing.
    for checks in [without_old(), allowing()] {
        let received = decode_ip_packet(&packet, checks).unwrap().expect("a whole packet");
        assert_eq!(received.checksum_form, ChecksumForm::V3Ipv4PseudoHeader);
    }
    let received = decode_ip_packet(&packet, without_old()).unwrap().unwrap();
    let source: IpAddr = SERVER1.parse().unwrap();
    let peer: IpAddr = SERVER2.parse().unwrap();
    let ours = received
        .advertisement
        .encode_payload(source, peer, ChecksumMode::Ipv4PseudoHeader)
        .unwrap();
    assert_eq!(ours, packet[header_len..]);
}

fn require_keepalived() {
    let found = std::process::Command::new("keepalived").arg("--version").output().is_ok();
    assert!(
        found,
        "keepalived is not installed: run `cargo xtask setup` (Debian package keepalived)"
    );
}

/// The reference configuration of server `n` with `line` in its instance.
fn config_with(n: usize, line: &str) -> String {
    let config =
        reference_config(n).replace("    unicast_src_ip", &format!("{line}    unicast_src_ip"));
    assert!(config.contains(line));
    config
}

/// keepalived with `old_unicast_checksum` as master on server 1 (priority 110), then vrrpd
/// (`vrrpd_line` in its instance, `args` on its command line) on server 2 (priority 100).
fn keepalived_old_master_then_vrrpd(vrrpd_line: &str, args: &[&str]) -> (ReferenceLab, usize) {
    require_root();
    require_keepalived();
    let mut lab = ReferenceLab::new().expect("building the lab");
    let path = lab
        .write_config(1, "keepalived.conf", &config_with(1, "    old_unicast_checksum\n"))
        .unwrap();
    let keepalived = lab.start_keepalived(1, &path).expect("starting keepalived");
    lab.wait_for_master(1, ELECTION).expect("keepalived becomes master alone");
    let path = lab.write_config(2, "keepalived.conf", &config_with(2, vrrpd_line)).unwrap();
    lab.start_vrrpd(2, &path, args).expect("starting vrrpd");
    (lab, keepalived)
}

/// vrrpd by default hears keepalived's old form: it stays backup, then takes the VIP when
/// keepalived stops.
fn vrrpd_backup_hears_the_old_form(args: &[&str]) {
    let (mut lab, keepalived) = keepalived_old_master_then_vrrpd("", args);
    let deadline = Instant::now() + STEADY;
    while Instant::now() < deadline {
        assert!(
            lab.has_vip(1).unwrap() && !lab.has_vip(2).unwrap(),
            "the VIP must stay on keepalived alone"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    lab.daemon(keepalived).stop(Duration::from_secs(5));
    lab.wait_for_master(2, ELECTION).expect("vrrpd takes over when keepalived stops");
}

#[test]
fn vrrpd_backup_hears_keepalived_old_unicast_checksum_at_the_kernel() {
    vrrpd_backup_hears_the_old_form(&[]);
}

#[test]
fn vrrpd_backup_hears_keepalived_old_unicast_checksum_on_the_socket_path() {
    vrrpd_backup_hears_the_old_form(&["--datapath", "socket"]);
}

/// With `old_unicast_checksum never` the old form is a bad checksum: vrrpd hears no master and
/// takes the VIP too (the check is real, and the default is what keeps one master).
#[test]
fn vrrpd_with_never_does_not_hear_the_old_form() {
    let (mut lab, _) = keepalived_old_master_then_vrrpd("    old_unicast_checksum never\n", &[]);
    let two =
        wait_until("two masters", ELECTION, || lab.has_vip(1).unwrap() && lab.has_vip(2).unwrap());
    let vrrpd = lab.daemon_count() - 1;
    if let Err(error) = two {
        panic!("{error:#}\nvrrpd's log:\n{}", lab.daemon(vrrpd).log_text());
    }
}

/// vrrpd (`vrrpd_line` in its instance) as master on server 1 (priority 110), keepalived with
/// `old_unicast_checksum` on server 2 (100): one master once vrrpd sends the old form, and the
/// VIP moves to keepalived when vrrpd stops.
fn vrrpd_master_beside_keepalived_old(vrrpd_line: &str) -> ReferenceLab {
    require_root();
    require_keepalived();
    let mut lab = ReferenceLab::new().expect("building the lab");
    let path = lab.write_config(1, "keepalived.conf", &config_with(1, vrrpd_line)).unwrap();
    let vrrpd = lab.start_vrrpd(1, &path, &[]).expect("starting vrrpd");
    let old = config_with(2, "    old_unicast_checksum\n");
    let path = lab.write_config(2, "keepalived.conf", &old).unwrap();
    lab.start_keepalived(2, &path).expect("starting keepalived");
    lab.wait_for_master(1, ELECTION).expect("vrrpd (110) becomes the only master");
    let deadline = Instant::now() + STEADY;
    while Instant::now() < deadline {
        assert!(
            lab.has_vip(1).unwrap() && !lab.has_vip(2).unwrap(),
            "the VIP must stay on vrrpd alone"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    lab.daemon(vrrpd).stop(Duration::from_secs(5));
    lab.wait_for_master(2, ELECTION).expect("keepalived takes over when vrrpd stops");
    lab
}

#[test]
fn vrrpd_master_switches_to_keepalived_old_unicast_checksum() {
    let mut lab = vrrpd_master_beside_keepalived_old("");
    let log = lab.daemon(0).log_text();
    let switches = log.matches("Setting unicast VRRPv3 checksum to old version").count();
    assert_eq!(switches, 1, "vrrpd says once that it switched:\n{log}");
}

#[test]
fn vrrpd_with_old_unicast_checksum_sends_it_from_the_start() {
    let mut lab = vrrpd_master_beside_keepalived_old("    old_unicast_checksum\n");
    let log = lab.daemon(0).log_text();
    assert!(!log.contains("Setting unicast VRRPv3 checksum"), "nothing to switch:\n{log}");
}
