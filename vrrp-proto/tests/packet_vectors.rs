//! Byte-exact vectors for every kind of advertisement. The checksums of the IPv4 vectors were
//! summed by hand (the arithmetic is beside each); the IPv6 one is summed by an independent
//! RFC 1071 loop written here, not the crate's.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Instant;

use vrrp_proto::{
    decode_ip_packet, decode_payload, Advertisement, Centiseconds, ChecksumForm, ChecksumMode,
    DecodeError, EncodeError, InvalidAdvertisement, IpMetadata, Output, ReceiveChecks, Router,
    RouterConfig, V2Auth, Version,
};

const SOURCE_V4: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 168, 200, 1));
const GROUP_V4: IpAddr = IpAddr::V4(Ipv4Addr::new(224, 0, 0, 18));
const VIP_V4: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 168, 200, 16));

fn v4_meta(destination: IpAddr) -> IpMetadata {
    IpMetadata { source: SOURCE_V4, destination, ttl: 255 }
}

/// RFC 1071 written out longhand, independent of the crate.
fn reference_checksum(chunks: &[&[u8]]) -> u16 {
    let bytes: Vec<u8> = chunks.concat();
    let mut sum: u32 = 0;
    let mut index = 0;
    while index + 1 < bytes.len() {
        sum += (u32::from(bytes[index]) << 8) | u32::from(bytes[index + 1]);
        index += 2;
    }
    if index < bytes.len() {
        sum += u32::from(bytes[index]) << 8;
    }
    while sum >> 16 != 0 {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

#[test]
fn v2_vector_matches_keepalived_layout() {
    // 0x2133 + 0x6401 + 0x0001 + 0xc0a8 + 0xc810 = 0x20ded -> 0x0def -> !0x0def = 0xf210
    let expected: [u8; 20] = [
        0x21, 51, 100, 1, // version 2, type 1, VRID 51, priority 100, one address
        0, 1, 0xf2, 0x10, // auth type 0, advert 1 s, checksum
        192, 168, 200, 16, // the virtual address
        0, 0, 0, 0, 0, 0, 0, 0, // authentication data
    ];
    let advert =
        Advertisement::new(Version::V2, 51, 100, Centiseconds::from_seconds(1), vec![VIP_V4])
            .unwrap();
    let encoded = advert.encode_payload(SOURCE_V4, GROUP_V4, ChecksumMode::default()).unwrap();
    assert_eq!(encoded, expected);

    let received = decode_payload(&expected, v4_meta(GROUP_V4), ReceiveChecks::default()).unwrap();
    assert_eq!(received.advertisement, advert);
    assert_eq!(received.checksum_form, ChecksumForm::V2);
    assert_eq!(received.advertisement.v2_auth(), Some(V2Auth::NONE));
}

#[test]
fn v2_simple_password_round_trips() {
    let auth = V2Auth { auth_type: 1, data: *b"secret\0\0" };
    let advert =
        Advertisement::new(Version::V2, 7, 150, Centiseconds::from_seconds(3), vec![VIP_V4])
            .unwrap()
            .with_v2_auth(auth);
    let encoded = advert.encode_payload(SOURCE_V4, GROUP_V4, ChecksumMode::default()).unwrap();
    assert_eq!(&encoded[4..6], &[1, 3]);
    assert_eq!(&encoded[12..], b"secret\0\0");
    let expected_checksum = reference_checksum(&[&encoded[..6], &encoded[8..]]);
    assert_eq!(encoded[6..8], expected_checksum.to_be_bytes());
    let received = decode_payload(&encoded, v4_meta(GROUP_V4), ReceiveChecks::default()).unwrap();
    assert_eq!(received.advertisement.v2_auth(), Some(auth));
}

#[test]
fn v2_authentication_is_checked_as_keepalived_does() {
    let password = V2Auth::password(*b"secret\0\0");
    let receive = |auth: V2Auth| {
        let advert =
            Advertisement::new(Version::V2, 7, 150, Centiseconds::from_seconds(1), vec![VIP_V4])
                .unwrap()
                .with_v2_auth(auth);
        let encoded = advert.encode_payload(SOURCE_V4, GROUP_V4, ChecksumMode::default()).unwrap();
        decode_payload(&encoded, v4_meta(GROUP_V4), ReceiveChecks::default()).unwrap()
    };
    let mismatch = Err(DecodeError::AuthMismatch);
    assert_eq!(receive(password).authenticate(&password), Ok(()));
    assert_eq!(receive(V2Auth::NONE).authenticate(&password), mismatch, "0 auth, expecting 1");
    let other = V2Auth::password(*b"secreT\0\0");
    assert_eq!(receive(other).authenticate(&password), mismatch, "another password");
    assert_eq!(receive(password).authenticate(&V2Auth::NONE), mismatch, "1 auth, expecting 0");
    // Without a password the data is not read (keepalived compares it only for PASS).
    let stray = V2Auth { auth_type: 0, data: *b"leftover" };
    assert_eq!(receive(stray).authenticate(&V2Auth::NONE), Ok(()));
    assert_eq!(DecodeError::AuthMismatch.counter(), vrrp_common::Counter::AuthMismatch);
    // VRRPv3 carries none: nothing to check.
    let v3 = v3_ipv4_advert().encode_payload(SOURCE_V4, GROUP_V4, ChecksumMode::default());
    let v3 = decode_payload(&v3.unwrap(), v4_meta(GROUP_V4), ReceiveChecks::default()).unwrap();
    assert_eq!(v3.authenticate(&password), Ok(()));
}

#[test]
fn a_router_sends_its_configured_password() {
    let config = RouterConfig {
        v2_auth: V2Auth::password(*b"s3cret\0\0"),
        ..RouterConfig::new(7, SOURCE_V4, vec![VIP_V4])
    };
    // The address owner advertises at once (RFC 9568 §6.4.1).
    let mut router = Router::new(RouterConfig { priority: 255, ..config }).unwrap();
    router.handle_startup(Instant::now());
    let sent = std::iter::from_fn(|| router.poll_output())
        .find_map(|output| match output {
            Output::SendAdvertisement(advertisement) => Some(advertisement),
            _ => None,
        })
        .expect("an advertisement at startup");
    assert_eq!(sent.v2_auth(), Some(V2Auth::password(*b"s3cret\0\0")));
    let encoded = sent.encode_payload(SOURCE_V4, GROUP_V4, ChecksumMode::default()).unwrap();
    assert_eq!((encoded[4], &encoded[12..]), (1, &b"s3cret\0\0"[..]));
}

fn v3_ipv4_advert() -> Advertisement {
    Advertisement::new(Version::V3, 51, 100, Centiseconds::new(100), vec![VIP_V4]).unwrap()
}

#[test]
fn v3_ipv4_with_pseudo_header_matches_keepalived() {
    // message: 0x3133 + 0x6401 + 0x0064 + 0xc0a8 + 0xc810 = 0x21e50
    // pseudo:  0xc0a8 + 0xc801 + 0xe000 + 0x0012 + 0x0070 (proto) + 0x000c (length) = 0x26937
    // 0x21e50 + 0x26937 = 0x48787 -> 0x878b -> !0x878b = 0x7874
    let expected: [u8; 12] = [0x31, 51, 100, 1, 0x00, 0x64, 0x78, 0x74, 192, 168, 200, 16];
    let advert = v3_ipv4_advert();
    let encoded =
        advert.encode_payload(SOURCE_V4, GROUP_V4, ChecksumMode::Ipv4PseudoHeader).unwrap();
    assert_eq!(encoded, expected);
    assert_eq!(ChecksumMode::default(), ChecksumMode::Ipv4PseudoHeader);

    let received = decode_payload(&expected, v4_meta(GROUP_V4), ReceiveChecks::default()).unwrap();
    assert_eq!(received.advertisement, advert);
    assert_eq!(received.checksum_form, ChecksumForm::V3Ipv4PseudoHeader);
    assert_eq!(received.checksum_form.as_common(), vrrp_common::checksum_form::V3_IPV4_PSEUDO);
}

#[test]
fn v3_ipv4_without_pseudo_header_matches_rfc9568() {
    // 0x21e50 -> 0x1e52 -> !0x1e52 = 0xe1ad
    let expected: [u8; 12] = [0x31, 51, 100, 1, 0x00, 0x64, 0xe1, 0xad, 192, 168, 200, 16];
    let advert = v3_ipv4_advert();
    let encoded = advert.encode_payload(SOURCE_V4, GROUP_V4, ChecksumMode::Ipv4Plain).unwrap();
    assert_eq!(encoded, expected);
    let received = decode_payload(&expected, v4_meta(GROUP_V4), ReceiveChecks::default()).unwrap();
    assert_eq!(received.checksum_form, ChecksumForm::V3Ipv4Plain);
    assert_eq!(received.checksum_form.as_common(), vrrp_common::checksum_form::V3_IPV4_PLAIN);
}

#[test]
fn v3_ipv4_unicast_checksum_covers_the_peer_address() {
    let peer = IpAddr::V4(Ipv4Addr::new(192, 168, 200, 2));
    let advert = v3_ipv4_advert();
    let encoded = advert.encode_payload(SOURCE_V4, peer, ChecksumMode::Ipv4PseudoHeader).unwrap();
    let pseudo =
        [&[192, 168, 200, 1, 192, 168, 200, 2, 0, 112, 0, 12][..], &encoded[..6], &encoded[8..]];
    assert_eq!(encoded[6..8], reference_checksum(&pseudo).to_be_bytes());
    let received = decode_payload(&encoded, v4_meta(peer), ReceiveChecks::default()).unwrap();
    assert_eq!(received.checksum_form, ChecksumForm::V3Ipv4PseudoHeader);
    // The same bytes sent to the group would not verify: the destination is in the sum.
    assert!(decode_payload(&encoded, v4_meta(GROUP_V4), ReceiveChecks::default()).is_err());
}

#[test]
fn v3_ipv4_old_unicast_checksum_sums_the_group_not_the_peer() {
    // keepalived before 1.3.6 (and `old_unicast_checksum`): sent to the peer, summed with the
    // multicast group as pseudo-header destination (vrrp.c vrrp_build_vrrp_v3()).
    let peer = IpAddr::V4(Ipv4Addr::new(192, 168, 200, 2));
    let group = Ipv4Addr::new(224, 0, 0, 18);
    let advert = v3_ipv4_advert();
    let mode = ChecksumMode::Ipv4OldUnicast { group };
    assert_eq!(advert.checksum_form(mode), ChecksumForm::V3Ipv4OldUnicast);
    let encoded = advert.encode_payload(SOURCE_V4, peer, mode).unwrap();
    let pseudo =
        [&[192, 168, 200, 1, 224, 0, 0, 18, 0, 112, 0, 12][..], &encoded[..6], &encoded[8..]];
    assert_eq!(encoded[6..8], reference_checksum(&pseudo).to_be_bytes());
    // The same message to the group is the RFC form: only the real destination tells them apart.
    let to_group = advert.encode_payload(SOURCE_V4, GROUP_V4, ChecksumMode::default()).unwrap();
    assert_eq!(encoded, to_group);

    // Without the instance's leave the old form is a bad checksum (keepalived's `never`) ...
    let refused = decode_payload(&encoded, v4_meta(peer), ReceiveChecks::default());
    assert_eq!(refused, Err(DecodeError::BadChecksum));
    // ... with it, recognised as its own form, after the RFC and plain forms failed.
    let allowing = ReceiveChecks { old_unicast_group: Some(group), ..ReceiveChecks::default() };
    let received = decode_payload(&encoded, v4_meta(peer), allowing).unwrap();
    assert_eq!(received.checksum_form, ChecksumForm::V3Ipv4OldUnicast);
    assert_eq!(received.checksum_form.as_common(), vrrp_common::checksum_form::V3_IPV4_OLD_UNICAST);
    // An RFC-form advert is still read as the RFC form when the old one is allowed.
    let rfc = advert.encode_payload(SOURCE_V4, peer, ChecksumMode::default()).unwrap();
    let received = decode_payload(&rfc, v4_meta(peer), allowing).unwrap();
    assert_eq!(received.checksum_form, ChecksumForm::V3Ipv4PseudoHeader);
    // A different group does not verify.
    let other = ReceiveChecks {
        old_unicast_group: Some(Ipv4Addr::new(224, 0, 0, 19)),
        ..ReceiveChecks::default()
    };
    assert_eq!(decode_payload(&encoded, v4_meta(peer), other), Err(DecodeError::BadChecksum));
}

#[test]
fn old_unicast_mode_leaves_v2_and_ipv6_alone() {
    let group = Ipv4Addr::new(224, 0, 0, 18);
    let mode = ChecksumMode::Ipv4OldUnicast { group };
    let v2 = Advertisement::new(Version::V2, 51, 100, Centiseconds::from_seconds(1), vec![VIP_V4])
        .unwrap();
    assert_eq!(
        v2.encode_payload(SOURCE_V4, GROUP_V4, mode).unwrap(),
        v2.encode_payload(SOURCE_V4, GROUP_V4, ChecksumMode::default()).unwrap()
    );
    let source: IpAddr = "fe80::1".parse::<Ipv6Addr>().unwrap().into();
    let peer: IpAddr = "fe80::2".parse::<Ipv6Addr>().unwrap().into();
    let vip: IpAddr = "fe80::10".parse::<Ipv6Addr>().unwrap().into();
    let v6 = Advertisement::new(Version::V3, 51, 100, Centiseconds::new(100), vec![vip]).unwrap();
    assert_eq!(v6.checksum_form(mode), ChecksumForm::V3Ipv6);
    assert_eq!(
        v6.encode_payload(source, peer, mode).unwrap(),
        v6.encode_payload(source, peer, ChecksumMode::default()).unwrap()
    );
}

#[test]
fn v3_ipv6_vector_with_pseudo_header() {
    let source: Ipv6Addr = "fe80::1".parse().unwrap();
    let group: Ipv6Addr = "ff02::12".parse().unwrap();
    let link_local: Ipv6Addr = "fe80::5".parse().unwrap();
    let global: Ipv6Addr = "2001:db8::5".parse().unwrap();
    let mut expected = vec![0x31, 10, 200, 2, 0x00, 0x32, 0, 0];
    expected.extend_from_slice(&link_local.octets());
    expected.extend_from_slice(&global.octets());
    let mut pseudo = Vec::new();
    pseudo.extend_from_slice(&source.octets());
    pseudo.extend_from_slice(&group.octets());
    pseudo.extend_from_slice(&[0, 0, 0, 40, 0, 0, 0, 112]);
    let checksum = reference_checksum(&[&pseudo, &expected]);
    expected[6..8].copy_from_slice(&checksum.to_be_bytes());

    let advert = Advertisement::new(
        Version::V3,
        10,
        200,
        Centiseconds::new(50),
        vec![IpAddr::V6(link_local), IpAddr::V6(global)],
    )
    .unwrap();
    let encoded =
        advert.encode_payload(source.into(), group.into(), ChecksumMode::Ipv4Plain).unwrap();
    assert_eq!(encoded, expected, "the IPv4 mode does not change IPv6");
    let meta = IpMetadata { source: source.into(), destination: group.into(), ttl: 255 };
    let received = decode_payload(&expected, meta, ReceiveChecks::default()).unwrap();
    assert_eq!(received.advertisement, advert);
    assert_eq!(received.checksum_form, ChecksumForm::V3Ipv6);
}

#[test]
fn v3_interval_uses_all_twelve_bits() {
    let advert =
        Advertisement::new(Version::V3, 1, 100, Centiseconds::V3_MAX, vec![VIP_V4]).unwrap();
    let encoded = advert.encode_payload(SOURCE_V4, GROUP_V4, ChecksumMode::default()).unwrap();
    assert_eq!(&encoded[4..6], &[0x0f, 0xff]);
    let received = decode_payload(&encoded, v4_meta(GROUP_V4), ReceiveChecks::default()).unwrap();
    assert_eq!(received.advertisement.interval(), Centiseconds::new(4095));
}

#[test]
fn ipv4_packet_has_ttl_255_protocol_112_and_a_valid_header_checksum() {
    let advert = v3_ipv4_advert();
    let packet = advert.encode_ip_packet(SOURCE_V4, GROUP_V4, ChecksumMode::default()).unwrap();
    assert_eq!(packet.len(), 32);
    assert_eq!(packet[0], 0x45);
    assert_eq!(u16::from_be_bytes([packet[2], packet[3]]), 32);
    assert_eq!(packet[8], 255);
    assert_eq!(packet[9], 112);
    assert_eq!(&packet[12..20], &[192, 168, 200, 1, 224, 0, 0, 18]);
    assert_eq!(reference_checksum(&[&packet[..20]]), 0, "header sums to all ones");
    assert_eq!(&packet[20..24], &[0x31, 51, 100, 1]);

    let received = decode_ip_packet(&packet, ReceiveChecks::default()).unwrap().unwrap();
    assert_eq!(received.advertisement, advert);
    assert_eq!(received.ip, v4_meta(GROUP_V4));

    // Ethernet pads short frames; the padding is not part of the message.
    let mut padded = packet.clone();
    padded.extend_from_slice(&[0; 14]);
    assert_eq!(decode_ip_packet(&padded, ReceiveChecks::default()).unwrap(), Some(received));
}

#[test]
fn ipv6_packet_has_hop_limit_255_and_next_header_112() {
    let source: IpAddr = "fe80::1".parse().unwrap();
    let group: IpAddr = "ff02::12".parse().unwrap();
    let advert = Advertisement::new(
        Version::V3,
        3,
        90,
        Centiseconds::new(100),
        vec!["fe80::3".parse().unwrap()],
    )
    .unwrap();
    let packet = advert.encode_ip_packet(source, group, ChecksumMode::default()).unwrap();
    assert_eq!(packet.len(), 40 + 24);
    assert_eq!(packet[0] >> 4, 6);
    assert_eq!(u16::from_be_bytes([packet[4], packet[5]]), 24);
    assert_eq!((packet[6], packet[7]), (112, 255));
    let received = decode_ip_packet(&packet, ReceiveChecks::default()).unwrap().unwrap();
    assert_eq!(received.advertisement, advert);
    assert_eq!(received.checksum_form, ChecksumForm::V3Ipv6);
    assert_eq!(received.ip.source, source);
}

#[test]
fn other_protocols_are_not_vrrp() {
    let mut packet =
        v3_ipv4_advert().encode_ip_packet(SOURCE_V4, GROUP_V4, ChecksumMode::default()).unwrap();
    packet[9] = 17;
    assert_eq!(decode_ip_packet(&packet, ReceiveChecks::default()), Ok(None));
    assert_eq!(decode_ip_packet(&[0x50; 40], ReceiveChecks::default()), Ok(None));
}

#[test]
fn encoding_refuses_addresses_of_another_family() {
    let v6: IpAddr = "fe80::1".parse().unwrap();
    let advert = v3_ipv4_advert();
    assert_eq!(
        advert.encode_payload(v6, GROUP_V4, ChecksumMode::default()),
        Err(EncodeError::FamilyMismatch)
    );
    assert_eq!(
        advert.encode_ip_packet(SOURCE_V4, v6, ChecksumMode::default()),
        Err(EncodeError::FamilyMismatch)
    );
}

#[test]
fn advertisements_that_cannot_be_encoded_cannot_be_built() {
    let v6_global: IpAddr = "2001:db8::1".parse().unwrap();
    let v6_link: IpAddr = "fe80::1".parse().unwrap();
    let one_second = Centiseconds::ONE_SECOND;
    let build = |version, vrid, interval, addresses| {
        Advertisement::new(version, vrid, 100, interval, addresses)
    };
    assert_eq!(
        build(Version::V3, 0, one_second, vec![VIP_V4]),
        Err(InvalidAdvertisement::ZeroVrid)
    );
    assert_eq!(
        build(Version::V3, 1, one_second, vec![]),
        Err(InvalidAdvertisement::AddressCount(0))
    );
    assert_eq!(
        build(Version::V3, 1, one_second, vec![VIP_V4; 256]),
        Err(InvalidAdvertisement::AddressCount(256))
    );
    assert_eq!(
        build(Version::V3, 1, one_second, vec![VIP_V4, v6_link]),
        Err(InvalidAdvertisement::MixedFamilies)
    );
    assert_eq!(
        build(Version::V2, 1, one_second, vec![v6_link]),
        Err(InvalidAdvertisement::MixedFamilies)
    );
    // As keepalived and FRR send them: the configuration warns, the packet carries them.
    assert!(build(Version::V3, 1, one_second, vec![v6_global]).is_ok());
    for (version, cs) in
        [(Version::V3, 0), (Version::V3, 4096), (Version::V2, 150), (Version::V2, 0)]
    {
        let interval = Centiseconds::new(cs);
        assert_eq!(
            build(version, 1, interval, vec![VIP_V4]),
            Err(InvalidAdvertisement::Interval(interval))
        );
    }
    assert!(build(Version::V3, 1, one_second, vec![VIP_V4; 255]).is_ok());
}
