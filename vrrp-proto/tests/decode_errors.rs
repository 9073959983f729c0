//! One test per [`DecodeError`]: a valid packet broken in exactly one way, and the kernel
//! counter that reason is counted under.

use std::net::{IpAddr, Ipv4Addr};

use vrrp_common::Counter;
use vrrp_proto::{
    decode_ip_packet, decode_payload, Advertisement, Centiseconds, ChecksumMode, DecodeError,
    IpMetadata, ReceiveChecks, Version,
};

const SOURCE: IpAddr = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1));
const GROUP: IpAddr = IpAddr::V4(Ipv4Addr::new(224, 0, 0, 18));
const VIP: IpAddr = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 100));

fn meta() -> IpMetadata {
    IpMetadata { source: SOURCE, destination: GROUP, ttl: 255 }
}

fn v3_payload() -> Vec<u8> {
    Advertisement::new(Version::V3, 5, 100, Centiseconds::new(100), vec![VIP])
        .unwrap()
        .encode_payload(SOURCE, GROUP, ChecksumMode::default())
        .unwrap()
}

fn v2_payload() -> Vec<u8> {
    Advertisement::new(Version::V2, 5, 100, Centiseconds::from_seconds(1), vec![VIP])
        .unwrap()
        .encode_payload(SOURCE, GROUP, ChecksumMode::default())
        .unwrap()
}

fn ipv4_packet() -> Vec<u8> {
    Advertisement::new(Version::V3, 5, 100, Centiseconds::new(100), vec![VIP])
        .unwrap()
        .encode_ip_packet(SOURCE, GROUP, ChecksumMode::default())
        .unwrap()
}

/// Pseudo-header words of 10.0.0.1 -> 224.0.0.18, protocol 112, without the length.
const IPV4_PSEUDO_HEADER: Option<u64> = Some(0x0a00 + 0x0001 + 0xe000 + 0x0012 + 112);
/// Pseudo-header words of fe80::1 -> ff02::12, next header 112, without the length.
const IPV6_PSEUDO_HEADER: Option<u64> = Some(0xfe80 + 0x0001 + 0xff02 + 0x0012 + 112);

/// Rewrites the VRRP checksum after an edit, so only the intended fault remains.
fn fix_checksum(payload: &mut [u8], pseudo_header: Option<u64>) {
    payload[6..8].fill(0);
    let mut sum: u64 = 0;
    if let Some(addresses_and_protocol) = pseudo_header {
        sum += addresses_and_protocol + payload.len() as u64;
    }
    for word in payload.chunks(2) {
        sum += u64::from(u16::from_be_bytes([word[0], *word.get(1).unwrap_or(&0)]));
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    payload[6..8].copy_from_slice(&(!(sum as u16)).to_be_bytes());
}

fn decode(payload: &[u8]) -> Result<(), DecodeError> {
    decode_payload(payload, meta(), ReceiveChecks::default()).map(|_| ())
}

fn assert_rejected(result: Result<(), DecodeError>, expected: DecodeError, counter: Counter) {
    assert_eq!(result, Err(expected));
    assert_eq!(expected.counter(), counter);
}

#[test]
fn valid_payloads_decode() {
    assert_eq!(decode(&v3_payload()), Ok(()));
    assert_eq!(decode(&v2_payload()), Ok(()));
}

#[test]
fn truncated_header() {
    let payload = v3_payload();
    let error = DecodeError::Truncated { needed: 8, available: 7 };
    assert_rejected(decode(&payload[..7]), error, Counter::Truncated);
}

#[test]
fn truncated_ip_packet() {
    let packet = ipv4_packet();
    let result = decode_ip_packet(&packet[..packet.len() - 1], ReceiveChecks::default());
    let error = DecodeError::Truncated { needed: 32, available: 31 };
    assert_rejected(result.map(|_| ()), error, Counter::Truncated);

    // The IP header leaves no room for a VRRP header: caught before the TTL, as in the kernel.
    let mut short = packet.clone();
    short[3] = 27;
    short[8] = 1;
    let result = decode_ip_packet(&short, ReceiveChecks::default()).map(|_| ());
    let error = DecodeError::Truncated { needed: 28, available: 27 };
    assert_rejected(result, error, Counter::Truncated);

    let ipv6 = Advertisement::new(
        Version::V3,
        5,
        100,
        Centiseconds::new(100),
        vec!["fe80::64".parse().unwrap()],
    )
    .unwrap()
    .encode_ip_packet(
        "fe80::1".parse().unwrap(),
        "ff02::12".parse().unwrap(),
        ChecksumMode::default(),
    )
    .unwrap();
    let result = decode_ip_packet(&ipv6[..63], ReceiveChecks::default()).map(|_| ());
    let error = DecodeError::Truncated { needed: 64, available: 63 };
    assert_rejected(result, error, Counter::Truncated);
}

#[test]
fn too_short_to_classify_is_not_vrrp() {
    // The kernel passes frames it cannot classify; the decoder agrees.
    let packet = ipv4_packet();
    assert_eq!(decode_ip_packet(&packet[..19], ReceiveChecks::default()), Ok(None));
    assert_eq!(decode_ip_packet(&[], ReceiveChecks::default()), Ok(None));
    assert_eq!(decode_ip_packet(&[0x60; 39], ReceiveChecks::default()), Ok(None));
}

#[test]
fn bad_ihl() {
    let mut packet = ipv4_packet();
    packet[0] = 0x44;
    let result = decode_ip_packet(&packet, ReceiveChecks::default()).map(|_| ());
    assert_rejected(result, DecodeError::BadIhl(4), Counter::BadIhl);
    // A header longer than the packet leaves no VRRP message: the length check names it.
    packet[0] = 0x49;
    let result = decode_ip_packet(&packet, ReceiveChecks::default()).map(|_| ());
    let error = DecodeError::Truncated { needed: 44, available: 32 };
    assert_rejected(result, error, Counter::Truncated);
}

#[test]
fn fragment() {
    for flags_and_offset in [[0x20, 0x00], [0x00, 0x01]] {
        let mut packet = ipv4_packet();
        packet[6..8].copy_from_slice(&flags_and_offset);
        let result = decode_ip_packet(&packet, ReceiveChecks::default()).map(|_| ());
        assert_rejected(result, DecodeError::Fragment, Counter::Fragment);
    }
    // Don't Fragment is not a fragment.
    let mut packet = ipv4_packet();
    packet[6] = 0x40;
    assert!(decode_ip_packet(&packet, ReceiveChecks::default()).unwrap().is_some());
}

#[test]
fn bad_ttl_unless_the_check_is_off() {
    let payload = v3_payload();
    let off_link = IpMetadata { ttl: 254, ..meta() };
    let result = decode_payload(&payload, off_link, ReceiveChecks::default()).map(|_| ());
    assert_rejected(result, DecodeError::BadTtl(254), Counter::BadTtl);
    let relaxed = ReceiveChecks { require_ttl_255: false, ..ReceiveChecks::default() };
    assert!(decode_payload(&payload, off_link, relaxed).is_ok());

    let mut packet = ipv4_packet();
    packet[8] = 64;
    let result = decode_ip_packet(&packet, ReceiveChecks::default()).map(|_| ());
    assert_rejected(result, DecodeError::BadTtl(64), Counter::BadTtl);
}

#[test]
fn a_unicast_peers_ttl_limits() {
    // keepalived `unicast_peer { ADDR min_ttl 250 max_ttl 254 }`: a peer two routers away.
    let relaxed = ReceiveChecks { require_ttl_255: false, ..ReceiveChecks::default() };
    for (ttl, within) in [(249, false), (250, true), (253, true), (254, true), (255, false)] {
        let meta = IpMetadata { ttl, ..meta() };
        let received = decode_payload(&v3_payload(), meta, relaxed).unwrap();
        let expected = if within { Ok(()) } else { Err(DecodeError::BadTtl(ttl)) };
        assert_eq!(received.ttl_within(250, 254), expected, "TTL {ttl}");
        assert_eq!(received.ttl_within(0, 255), Ok(()), "TTL {ttl}, no limits");
    }
}

#[test]
fn bad_version() {
    let mut payload = v3_payload();
    payload[0] = 0x41;
    fix_checksum(&mut payload, IPV4_PSEUDO_HEADER);
    assert_rejected(decode(&payload), DecodeError::BadVersion(4), Counter::BadVersion);
}

#[test]
fn family_mismatch_v2_over_ipv6() {
    let mut payload = v3_payload();
    payload[0] = 0x21;
    let meta = IpMetadata {
        source: "fe80::1".parse().unwrap(),
        destination: "ff02::12".parse().unwrap(),
        ttl: 255,
    };
    let result = decode_payload(&payload, meta, ReceiveChecks::default()).map(|_| ());
    assert_rejected(result, DecodeError::FamilyMismatch, Counter::FamilyMismatch);
}

#[test]
fn family_mismatch_between_source_and_destination() {
    let meta = IpMetadata { destination: "ff02::12".parse().unwrap(), ..meta() };
    let result = decode_payload(&v3_payload(), meta, ReceiveChecks::default()).map(|_| ());
    assert_rejected(result, DecodeError::FamilyMismatch, Counter::FamilyMismatch);
}

#[test]
fn bad_type() {
    let mut payload = v3_payload();
    payload[0] = 0x32;
    fix_checksum(&mut payload, IPV4_PSEUDO_HEADER);
    assert_rejected(decode(&payload), DecodeError::BadType(2), Counter::BadType);
}

#[test]
fn zero_address_count() {
    let mut payload = v3_payload();
    payload[3] = 0;
    payload.truncate(8);
    fix_checksum(&mut payload, IPV4_PSEUDO_HEADER);
    assert_rejected(decode(&payload), DecodeError::ZeroAddressCount, Counter::BadAddrCount);
}

#[test]
fn address_count_against_length() {
    let mut payload = v3_payload();
    payload[3] = 2;
    let error = DecodeError::LengthMismatch { count: 2, expected: 16, actual: 12 };
    assert_rejected(decode(&payload), error, Counter::BadLength);

    let mut payload = v3_payload();
    payload.extend_from_slice(&[0, 0]);
    let error = DecodeError::LengthMismatch { count: 1, expected: 12, actual: 14 };
    assert_rejected(decode(&payload), error, Counter::BadLength);

    // VRRPv2 must carry its 8 bytes of authentication data.
    let payload = v2_payload();
    let error = DecodeError::LengthMismatch { count: 1, expected: 20, actual: 12 };
    assert_rejected(decode(&payload[..12]), error, Counter::BadLength);
}

#[test]
fn a_keepalived_auth_hmac_trailer_is_named() {
    // keepalived 2.4 appends 28 bytes (vrrp_auth_ext_t) to a signed message, v2 or v3.
    for payload in [v3_payload(), v2_payload()] {
        let mut signed = payload.clone();
        signed.extend_from_slice(&[1; 28]);
        assert_rejected(decode(&signed), DecodeError::AuthTrailer, Counter::AuthTrailer);
        let mut longer = payload;
        longer.extend_from_slice(&[1; 32]);
        assert_eq!(decode(&longer).unwrap_err().counter(), Counter::BadLength, "not 28 bytes");
    }
}

#[test]
fn bad_checksum() {
    let mut payload = v3_payload();
    payload[2] = 101;
    assert_rejected(decode(&payload), DecodeError::BadChecksum, Counter::BadChecksum);
    let mut payload = v2_payload();
    payload[19] ^= 1;
    assert_rejected(decode(&payload), DecodeError::BadChecksum, Counter::BadChecksum);
}

#[test]
fn reserved_bits_are_ignored() {
    // RFC 9568 §5.2.6: set or not, the interval is the low 12 bits.
    let plain = decode_payload(&v3_payload(), meta(), ReceiveChecks::default()).unwrap();
    for bits in [0x10, 0x80, 0xf0] {
        let mut payload = v3_payload();
        payload[4] |= bits;
        fix_checksum(&mut payload, IPV4_PSEUDO_HEADER);
        let received = decode_payload(&payload, meta(), ReceiveChecks::default())
            .unwrap_or_else(|error| panic!("reserved bits {bits:#x}: {error}"));
        assert_eq!(received.advertisement, plain.advertisement, "reserved bits {bits:#x}");
    }
}

#[test]
fn zero_interval() {
    let mut payload = v3_payload();
    payload[4..6].fill(0);
    fix_checksum(&mut payload, IPV4_PSEUDO_HEADER);
    assert_rejected(decode(&payload), DecodeError::ZeroInterval, Counter::ZeroInterval);
    let mut payload = v2_payload();
    payload[5] = 0;
    fix_checksum(&mut payload, None);
    assert_rejected(decode(&payload), DecodeError::ZeroInterval, Counter::ZeroInterval);
}

#[test]
fn first_ipv6_address_not_link_local_is_accepted_and_said() {
    let source: IpAddr = "fe80::1".parse().unwrap();
    let group: IpAddr = "ff02::12".parse().unwrap();
    let mut payload = Advertisement::new(
        Version::V3,
        5,
        100,
        Centiseconds::new(100),
        vec!["fe80::64".parse().unwrap()],
    )
    .unwrap()
    .encode_payload(source, group, ChecksumMode::default())
    .unwrap();
    let meta = IpMetadata { source, destination: group, ttl: 255 };
    let link_local = decode_payload(&payload, meta, ReceiveChecks::default()).unwrap();
    assert!(!link_local.first_not_link_local, "fe80::64 first");
    // FRR's form: the global virtual address alone. Accepted, and said.
    payload[8..10].copy_from_slice(&[0x20, 0x01]);
    fix_checksum(&mut payload, IPV6_PSEUDO_HEADER);
    let global = decode_payload(&payload, meta, ReceiveChecks::default()).unwrap();
    assert!(global.first_not_link_local, "2001::64 first");
    let first: IpAddr = "2001::64".parse().unwrap();
    assert_eq!(global.advertisement.addresses(), &[first]);
}

#[test]
fn zero_vrid() {
    let mut payload = v3_payload();
    payload[1] = 0;
    fix_checksum(&mut payload, IPV4_PSEUDO_HEADER);
    assert_rejected(decode(&payload), DecodeError::ZeroVrid, Counter::UnknownVrid);
}

#[test]
fn checks_run_in_the_kernel_order() {
    // A packet with a bad TTL and a bad version is rejected for its version first, as the XDP
    // program does (it checks the TTL with the instance's configuration, after the packet's
    // own checks), so both count it under the same reason.
    let mut payload = v3_payload();
    payload[0] = 0x41;
    let off_link = IpMetadata { ttl: 1, ..meta() };
    let result = decode_payload(&payload, off_link, ReceiveChecks::default()).map(|_| ());
    assert_eq!(result, Err(DecodeError::BadVersion(4)));
    let result = decode_payload(&v3_payload(), off_link, ReceiveChecks::default()).map(|_| ());
    assert_eq!(result, Err(DecodeError::BadTtl(1)));
}
