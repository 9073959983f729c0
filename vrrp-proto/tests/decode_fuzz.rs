//! A bounded, seeded fuzz run of the decoders: no input panics them, and whatever decodes
//! re-encodes to the same bytes. `VRRP_FUZZ_SEED` replays one seed.

use std::net::IpAddr;

use vrrp_proto::{
    decode_ip_packet, decode_payload, Advertisement, Centiseconds, ChecksumForm, ChecksumMode,
    IpMetadata, ReceiveChecks, Received, Version,
};

const CASES_PER_SEED: usize = 5_000;
const SEEDS: u64 = 32;

#[path = "support/split_mix.rs"]
mod split_mix;
use split_mix::SplitMix;

fn valid_packets() -> Vec<Vec<u8>> {
    let v4 = |last: u8| IpAddr::from([10, 1, 1, last]);
    let group_v4 = IpAddr::from([224, 0, 0, 18]);
    let source_v6: IpAddr = "fe80::1".parse().unwrap();
    let group_v6: IpAddr = "ff02::12".parse().unwrap();
    let second_v6: IpAddr = "2001:db8::1".parse().unwrap();
    let adverts = [
        (Version::V2, Centiseconds::from_seconds(1), vec![v4(100)]),
        (Version::V2, Centiseconds::from_seconds(255), vec![v4(100), v4(101), v4(102)]),
        (Version::V3, Centiseconds::new(100), vec![v4(100)]),
        (Version::V3, Centiseconds::new(4095), vec![v4(100), v4(101)]),
        (Version::V3, Centiseconds::new(5), vec!["fe80::64".parse().unwrap(), second_v6]),
    ];
    let mut packets = Vec::new();
    for (version, interval, addresses) in adverts {
        let advert = Advertisement::new(version, 42, 100, interval, addresses).unwrap();
        let (source, destination) = match advert.family() {
            vrrp_proto::Family::Ipv4 => (v4(1), group_v4),
            vrrp_proto::Family::Ipv6 => (source_v6, group_v6),
        };
        for mode in [ChecksumMode::Ipv4PseudoHeader, ChecksumMode::Ipv4Plain] {
            packets.push(advert.encode_ip_packet(source, destination, mode).unwrap());
        }
    }
    packets
}

fn mutate(rng: &mut SplitMix, packet: &mut Vec<u8>) {
    for _ in 0..=rng.below(3) {
        match rng.below(5) {
            0 if !packet.is_empty() => {
                let index = rng.below(packet.len());
                packet[index] ^= 1 << rng.below(8);
            }
            1 if !packet.is_empty() => {
                let index = rng.below(packet.len());
                packet[index] = rng.byte();
            }
            2 => packet.truncate(rng.below(packet.len() + 1)),
            3 => {
                let index = rng.below(packet.len() + 1);
                packet.insert(index, rng.byte());
            }
            _ => packet.extend((0..rng.below(8)).map(|_| rng.byte())),
        }
    }
}

fn mode_of(form: ChecksumForm) -> ChecksumMode {
    match form {
        ChecksumForm::V3Ipv4Plain => ChecksumMode::Ipv4Plain,
        _ => ChecksumMode::Ipv4PseudoHeader,
    }
}

/// Re-encodes what decoded and compares with the bytes it came from. A checksum field of 0xffff
/// where 0x0000 is computed is the same one's complement zero; it verifies, so it is accepted, and
/// an encoder never produces it. VRRPv3 reserved bits are ignored on receive (RFC 9568 §5.2.6)
/// and sent as zero, so the checksum that covered them differs too. Those are the differences
/// allowed.
fn assert_round_trip(received: &Received, payload: &[u8], seed: u64) {
    let mut expected = payload.to_vec();
    if received.advertisement.version() == Version::V3 && expected[4] >> 4 != 0 {
        expected[4] &= 0x0f;
        let resealed = received.advertisement.encode_payload(
            received.ip.source,
            received.ip.destination,
            mode_of(received.checksum_form),
        );
        expected[6..8].copy_from_slice(&resealed.unwrap()[6..8]);
    }
    let payload = &expected[..];
    let mut encoded = received
        .advertisement
        .encode_payload(
            received.ip.source,
            received.ip.destination,
            mode_of(received.checksum_form),
        )
        .unwrap();
    if payload[6..8] == [0xff, 0xff] && encoded[6..8] == [0, 0] {
        encoded[6..8].copy_from_slice(&[0xff, 0xff]);
    }
    assert_eq!(encoded, payload, "round trip differs; replay with VRRP_FUZZ_SEED={seed}");
}

fn run_seed(seed: u64, valid: &[Vec<u8>]) {
    let mut rng = SplitMix(seed);
    let checks = [
        ReceiveChecks::default(),
        ReceiveChecks { require_ttl_255: false, ..ReceiveChecks::default() },
    ];
    for case in 0..CASES_PER_SEED {
        let check = checks[case % 2];
        let mut packet = valid[rng.below(valid.len())].clone();
        if case % 8 == 0 {
            // Arbitrary bytes behind a plausible first byte.
            let len = rng.below(120);
            packet = (0..len).map(|_| rng.byte()).collect();
        } else {
            mutate(&mut rng, &mut packet);
        }

        if let Ok(Some(received)) = decode_ip_packet(&packet, check) {
            let header_len = match received.ip.source {
                IpAddr::V4(_) => usize::from(packet[0] & 0x0f) * 4,
                IpAddr::V6(_) => 40,
            };
            let payload = &packet[header_len..header_len + received.advertisement.payload_len()];
            assert_round_trip(&received, payload, seed);
        }

        // The same bytes as a bare payload under either family.
        for (source, destination) in [
            (IpAddr::from([10, 1, 1, 1]), IpAddr::from([224, 0, 0, 18])),
            ("fe80::1".parse().unwrap(), "ff02::12".parse().unwrap()),
        ] {
            let meta = IpMetadata { source, destination, ttl: 255 };
            if let Ok(received) = decode_payload(&packet, meta, check) {
                assert_round_trip(&received, &packet, seed);
            }
        }
    }
}

#[test]
fn decoders_never_panic_and_round_trip() {
    let valid = valid_packets();
    for packet in &valid {
        assert!(decode_ip_packet(packet, ReceiveChecks::default()).unwrap().is_some());
    }
    let seeds: Vec<u64> = match std::env::var("VRRP_FUZZ_SEED") {
        Ok(seed) => vec![seed.parse().expect("VRRP_FUZZ_SEED is a number")],
        Err(_) => (0..SEEDS).collect(),
    };
    for seed in seeds {
        run_seed(seed, &valid);
    }
}

#[test]
fn mutations_reach_both_outcomes() {
    // Guards the fuzzer itself: if mutations never decoded (or always did), the round-trip
    // property above would be tested on nothing.
    let valid = valid_packets();
    let mut rng = SplitMix(7);
    let (mut accepted, mut rejected) = (0, 0);
    for _ in 0..2_000 {
        let mut packet = valid[rng.below(valid.len())].clone();
        mutate(&mut rng, &mut packet);
        match decode_ip_packet(&packet, ReceiveChecks::default()) {
            Ok(Some(_)) => accepted += 1,
            _ => rejected += 1,
        }
    }
    assert!(accepted > 20, "only {accepted} mutated packets decoded");
    assert!(rejected > 1_000, "only {rejected} mutated packets were rejected");
}
