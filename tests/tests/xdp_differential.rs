//! Differential test: the kernel programs (`vrrp_xdp` and `vrrp_tc`, each in its own test) and
//! `vrrp-proto`'s decoder must reach the same verdict, for the same reason, on every valid
//! corpus frame and on thousands of seeded mutations of each.
//!
//! The decoder gets what the kernel's stack would hand it: the link layer is stripped here (two
//! VLAN tags at most, as in the program), `decode_ip_packet` runs, and the configuration checks
//! the program makes after decoding (VRID known, a multicast instance's group as destination,
//! version, TTL 255 for a multicast instance,
//! peer, the peer's TTL limits, pinned MAC, VRRPv2 authentication) are applied to the decoded
//! advertisement against the same corpus configuration. A valid verdict also compares what the
//! kernel recorded with what the decoder read.
//!
//! `XDP_DIFF_SEED` (decimal) replaces the base seed; every disagreement prints the seed that
//! reproduces it.

use vrrp_common::{
    checksum_form, instance_flags,
    wire::{ETH_HLEN, ETH_P_8021AD, ETH_P_8021Q, ETH_P_IP, ETH_P_IPV6, VLAN_HLEN},
    Counter, InstanceKey, Verdict as CounterVerdict, FAMILY_IPV4, VLAN_STACKED,
};
use vrrp_proto::{decode_ip_packet, DecodeError, Family, ReceiveChecks, Received, V2Auth};
use vrrp_tests::{
    corpus::{
        self, Expect, Layout, CUSTOM_GROUP_V4, CUSTOM_GROUP_V6, GROUP_V4, GROUP_V6, OTHER_PEER_V4,
        PEER_V4, PEER_V6, ROUTER_V4, STRANGER_MAC, STRANGER_V4, VRID_CUSTOM_GROUP,
        VRID_CUSTOM_GROUP_V6, VRID_OLD_UNICAST, VRID_PEERS, VRID_PINNED, VRID_TTL_LIMITED,
        VRID_UNCONFIGURED, VRID_V2, VRID_V2_PASS, VRID_V3, VRID_V6,
    },
    frames::{self, PEER_MAC},
    require_root,
    rig::{skb_test_run_refuses, Outcome, Rig},
    test_run::{XDP_DROP, XDP_PASS},
};
use vrrp_user::hook::Hook;

/// Mutations per valid corpus frame: 280,000 runs in all, about 10 s on two shared cores.
const MUTATIONS_PER_FRAME: u64 = 20_000;
#[path = "../../vrrp-proto/tests/support/split_mix.rs"]
mod split_mix;
use split_mix::SplitMix;

const DEFAULT_SEED: u64 = 0x7872_7270_6469_6666;

/// What happened to a frame, in terms both sides can state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Verdict {
    NotVrrp,
    /// Accepted; `noted` when counted under `not_link_local` too.
    Valid {
        noted: bool,
    },
    /// Valid, for no instance: passed and counted under this reason.
    Passed(Counter),
    Drop(Counter),
}

fn counter_named(name: &str) -> Counter {
    *Counter::ALL.iter().find(|c| c.name() == name).expect("a known counter name")
}

/// The program's verdict; a run that is not exactly one of the shapes is a bug of its own.
fn kernel_verdict(outcome: &Outcome) -> Result<Verdict, String> {
    let (notes, verdicts): (Vec<_>, Vec<_>) = outcome
        .counted
        .iter()
        .map(|(name, count)| (counter_named(name), *count))
        .partition(|(counter, _)| counter.verdict() == CounterVerdict::Note);
    let noted = match notes.as_slice() {
        [] => false,
        [(Counter::NotLinkLocal, 1)] => true,
        _ => return Err(format!("unexpected notes: {outcome:?}")),
    };
    let quiet = outcome.events.is_empty();
    match (outcome.action, verdicts.as_slice()) {
        (XDP_PASS, []) if quiet && !noted => Ok(Verdict::NotVrrp),
        (XDP_PASS, [(counter, 1)]) if counter.verdict() == CounterVerdict::Accepted => {
            Ok(Verdict::Valid { noted })
        }
        (XDP_PASS, [(counter, 1)]) if counter.verdict() == CounterVerdict::Passed && quiet => {
            Ok(Verdict::Passed(*counter))
        }
        (XDP_DROP, [(counter, 1)]) if counter.is_drop() && quiet && !noted => {
            Ok(Verdict::Drop(*counter))
        }
        _ => Err(format!("inconsistent run: {outcome:?}")),
    }
}

/// The IP packet the link layer would hand up, and its VLAN key, as the program reads the link
/// layer: an Ethernet header, at most two 802.1ad/802.1Q tags (one: its VLAN ID; two: stacked),
/// then IPv4 or IPv6. A packet whose version nibble disagrees with the EtherType is not handed
/// up (Linux's ip_rcv/ipv6_rcv drop it).
fn ip_packet(frame: &[u8]) -> Option<(&[u8], u16)> {
    let be16_at =
        |offset: usize| frame.get(offset..offset + 2).map(|b| u16::from_be_bytes([b[0], b[1]]));
    let mut offset = ETH_HLEN - 2;
    let mut ethertype = be16_at(offset)?;
    let mut vlan = 0;
    for tags in 0..2 {
        if ethertype != ETH_P_8021Q && ethertype != ETH_P_8021AD {
            break;
        }
        vlan = if tags == 0 { be16_at(offset + 2)? & 0x0fff } else { VLAN_STACKED };
        offset += VLAN_HLEN;
        ethertype = be16_at(offset)?;
    }
    let packet = &frame[offset + 2..];
    let version = packet.first()? >> 4;
    match ethertype {
        ETH_P_IP if version == 4 => Some((packet, vlan)),
        ETH_P_IPV6 if version == 6 => Some((packet, vlan)),
        _ => None,
    }
}

/// The decoder's verdict, with the program's configuration checks (RFC 9568 §7.1: the VRID must
/// be configured on the interface; the rest is this daemon's unicast policy).
fn decoder_verdict(frame: &[u8]) -> (Verdict, Option<Received>) {
    let Some((packet, vlan)) = ip_packet(frame) else { return (Verdict::NotVrrp, None) };
    // The TTL rule depends on the instance: checked below, with the configuration.
    let checks = ReceiveChecks { require_ttl_255: false, ..ReceiveChecks::default() };
    let mut decoded = decode_ip_packet(packet, checks);
    // keepalived's pre-1.3.6 unicast checksum: only the instance can allow it, so the program
    // looks it up first; so does the daemon's socket path.
    if matches!(&decoded, Err(error) if error.counter() == Counter::BadChecksum) {
        if let Some(group) = old_unicast_group(packet, vlan) {
            let checks = ReceiveChecks { old_unicast_group: Some(group), ..checks };
            decoded = decode_ip_packet(packet, checks);
        }
    }
    let received = match decoded {
        Ok(None) => return (Verdict::NotVrrp, None),
        // VRID 0: no instance can have it, so the program passes it as unknown.
        Err(DecodeError::ZeroVrid) => return (Verdict::Passed(Counter::UnknownVrid), None),
        Err(error) => return (Verdict::Drop(error.counter()), None),
        Ok(Some(received)) => received,
    };
    let advertisement = &received.advertisement;
    let key = InstanceKey::tagged(
        corpus::IFINDEX,
        vlan,
        advertisement.vrid(),
        Family::of(&received.ip.source).as_common(),
    );
    let Some((_, config, peers)) = corpus::instances(0).into_iter().find(|(k, ..)| *k == key)
    else {
        return (Verdict::Passed(Counter::UnknownVrid), None);
    };
    // keepalived vrrp.c open_vrrp_read_socket(): a multicast instance hears its group only.
    let destination = corpus::address_key(received.ip.destination);
    if peers.is_empty() && config.group != [0; 16] && config.group != destination {
        return (Verdict::Passed(Counter::UnknownVrid), None);
    }
    if config.version != advertisement.version().number() {
        return (Verdict::Drop(Counter::VersionMismatch), None);
    }
    if peers.is_empty() {
        // RFC 9568 §7.1, for a multicast instance.
        let multicast = ReceiveChecks { require_ttl_255: true, ..ReceiveChecks::default() };
        if let Err(error) = decode_ip_packet(packet, multicast) {
            return (Verdict::Drop(error.counter()), None);
        }
    } else {
        let address = corpus::address_key(received.ip.source);
        let Some(peer) = peers.iter().find(|peer| peer.addr == address) else {
            return (Verdict::Drop(Counter::NotAPeer), None);
        };
        if peer.ttl_limited != 0 {
            if let Err(error) = received.ttl_within(peer.min_ttl, peer.max_ttl) {
                return (Verdict::Drop(error.counter()), None);
            }
        }
        if peer.pinned != 0 && peer.mac[..] != frame[6..12] {
            return (Verdict::Drop(Counter::MacMismatch), None);
        }
    }
    let auth = V2Auth { auth_type: config.auth_type, data: config.auth_data };
    if let Err(error) = received.authenticate(&auth) {
        return (Verdict::Drop(error.counter()), None);
    }
    (Verdict::Valid { noted: received.first_not_link_local }, Some(received))
}

/// The group of the corpus instance that allows keepalived's old unicast checksum, if the
/// VRRPv3 IPv4 `packet` is for it.
fn old_unicast_group(packet: &[u8], vlan: u16) -> Option<std::net::Ipv4Addr> {
    let first = *packet.first()?;
    if first >> 4 != 4 {
        return None;
    }
    let header_len = usize::from(first & 0x0f) * 4;
    let vrid = *packet.get(header_len + 1)?;
    let key = InstanceKey::tagged(corpus::IFINDEX, vlan, vrid, FAMILY_IPV4);
    let (_, config, _) = corpus::instances(0).into_iter().find(|(k, ..)| *k == key)?;
    (config.flags & instance_flags::OLD_UNICAST_CHECKSUM != 0)
        .then(|| config.old_unicast_group.into())
}

/// Differences between the kernel's record and the decoded advertisement, if any.
fn record_differences(rig: &Rig, frame: &[u8], received: &Received) -> Option<String> {
    let advertisement = &received.advertisement;
    let vlan = ip_packet(frame).map_or(0, |(_, vlan)| vlan);
    let key = InstanceKey::tagged(
        corpus::IFINDEX,
        vlan,
        advertisement.vrid(),
        Family::of(&received.ip.source).as_common(),
    );
    let Ok(Some(record)) = rig.record(&key) else {
        return Some(format!("no record for {key:?}"));
    };
    let decoded = (
        advertisement.priority(),
        advertisement.interval().get(),
        advertisement.version().number(),
        received.checksum_form.as_common(),
        corpus::address_key(received.ip.source),
        &frame[6..12],
    );
    let kernel = (
        record.priority,
        record.interval_cs,
        record.version,
        record.checksum_form,
        record.sender,
        &record.sender_mac[..],
    );
    (decoded != kernel).then(|| {
        format!("record (priority, interval, version, form, sender, MAC): kernel {kernel:?}, decoder {decoded:?}")
    })
}

/// Rewrites fields behind the checksum, then reseals it, so mutations reach the checks that
/// follow the checksum (reserved bits, interval, link-local, VRID, version, peers, MAC).
fn edit_sealed_fields(rng: &mut SplitMix, frame: &mut [u8], layout: Layout, form: u8) {
    let message = layout.message;
    let (any, other) = (rng.byte(), rng.byte());
    match rng.below(10) {
        0 => frame[message] = (rng.below(16) as u8) << 4 | (frame[message] & 0x0f),
        1 => frame[message] = (frame[message] & 0xf0) | rng.below(16) as u8,
        2 => {
            let vrids = [
                VRID_V2,
                VRID_V3,
                VRID_V6,
                VRID_PEERS,
                VRID_PINNED,
                VRID_TTL_LIMITED,
                VRID_V2_PASS,
                VRID_CUSTOM_GROUP,
                VRID_CUSTOM_GROUP_V6,
                VRID_OLD_UNICAST,
                VRID_UNCONFIGURED,
            ];
            frame[message + 1] = if rng.one_in(4) { rng.pick(&[0, any]) } else { rng.pick(&vrids) };
        }
        3 => frame[message + 2] = rng.pick(&[0, 1, 254, 255, any]),
        4 => {
            frame[message + 4] = rng.pick(&[0, 0x10, 0x80, any]);
            frame[message + 5] = rng.pick(&[0, 1, other]);
        }
        5 => frame[message + 3] = rng.pick(&[0, 1, 2, frame[message + 3].wrapping_add(1), any]),
        6 if layout.family == FAMILY_IPV4 => {
            let source = rng.pick(&[PEER_V4, OTHER_PEER_V4, STRANGER_V4]);
            frame[layout.ip + 12..layout.ip + 16].copy_from_slice(&source.octets());
        }
        // The prefix of the first IPv6 address: link-local or not.
        6 => frame[message + 8 + rng.below(2)] ^= 1 << rng.below(8),
        7 => frame[6..12].copy_from_slice(&rng.pick(&[PEER_MAC, STRANGER_MAC, [any; 6]])),
        // The destination: the standard group, another group, or unicast.
        8 if layout.family == FAMILY_IPV4 => {
            let destination = rng.pick(&[GROUP_V4, CUSTOM_GROUP_V4, ROUTER_V4]);
            frame[layout.ip + 16..layout.ip + 20].copy_from_slice(&destination.octets());
        }
        8 => {
            let destination = rng.pick(&[GROUP_V6, CUSTOM_GROUP_V6, PEER_V6]);
            frame[layout.ip + 24..layout.ip + 40].copy_from_slice(&destination.octets());
        }
        // The last byte of the message: a VRRPv2 password, or an address.
        _ => frame[message + layout.message_len - 1] ^= 1 << rng.below(8),
    }
    let forms = [
        checksum_form::V2,
        checksum_form::V3_IPV4_PSEUDO,
        checksum_form::V3_IPV4_PLAIN,
        checksum_form::V3_IPV6,
        checksum_form::V3_IPV4_OLD_UNICAST,
    ];
    let form = if rng.one_in(8) { rng.pick(&forms) } else { form };
    corpus::reseal(frame, form);
}

/// Breaks the frame's bytes without resealing: headers, lengths, TTL, count, truncation.
fn edit_raw(rng: &mut SplitMix, frame: &mut Vec<u8>, layout: Layout) {
    let headers_end = (layout.message + 8).min(frame.len());
    let set = |frame: &mut Vec<u8>, offset: usize, value: u8| {
        if let Some(byte) = frame.get_mut(offset) {
            *byte = value;
        }
    };
    let other = rng.byte();
    match rng.below(11) {
        0 => {
            let bit = rng.below(frame.len() * 8);
            frame[bit / 8] ^= 1 << (bit % 8);
        }
        1 => {
            let offset = rng.below(headers_end);
            frame[offset] = rng.byte();
        }
        2 if frame.len() > ETH_HLEN => frame.truncate(ETH_HLEN + rng.below(frame.len() - ETH_HLEN)),
        // A keepalived auth_hmac trailer, inside the IP packet, within what the program sees of
        // a test-run frame.
        3 if rng.one_in(4)
            && frame.len() + frames::AUTH_HMAC_TRAILER.len() <= corpus::TEST_RUN_LINEAR_MAX =>
        {
            corpus::with_trailer(frame, layout, &frames::AUTH_HMAC_TRAILER)
        }
        3 => {
            let field = layout.ip_length();
            let current = layout.ip_len_field() as i64;
            let value = if rng.one_in(4) {
                rng.next() as u16
            } else {
                (current + rng.below(33) as i64 - 16).clamp(0, 0xffff) as u16
            };
            for (index, byte) in value.to_be_bytes().into_iter().enumerate() {
                set(frame, field + index, byte);
            }
        }
        4 => set(frame, layout.ttl(), rng.pick(&[0, 1, 64, 128, 249, 250, 253, 254, 255, other])),
        5 => set(frame, layout.message + 3, rng.pick(&[0, 1, 2, 16, 255, other])),
        6 if layout.family == FAMILY_IPV4 => {
            set(frame, layout.ip, 0x40 | rng.below(16) as u8);
        }
        6 => set(frame, layout.ip, rng.byte()),
        7 if layout.family == FAMILY_IPV4 => {
            set(frame, layout.ip + 6, rng.pick(&[0x20, 0x40, 0x00, other]));
            set(frame, layout.ip + 7, rng.pick(&[0, 1, other]));
        }
        7 | 8 => {
            let protocol = layout.ip + if layout.family == FAMILY_IPV4 { 9 } else { 6 };
            set(frame, protocol, rng.pick(&[0, 6, 17, 58, 111, 113, other]));
        }
        9 => {
            // The EtherType or a tag's TPID.
            let offset = rng.pick(&[12, 16, 20, layout.ip - 2]);
            let value = rng.pick(&[ETH_P_IP, ETH_P_IPV6, ETH_P_8021Q, ETH_P_8021AD, 0x0806]);
            for (index, byte) in value.to_be_bytes().into_iter().enumerate() {
                set(frame, offset + index, byte);
            }
        }
        _ => {
            // Link-layer padding, within what the program sees of a test-run frame.
            let room = corpus::TEST_RUN_LINEAR_MAX.saturating_sub(frame.len()).min(64);
            for _ in 0..rng.below(room + 1) {
                frame.push(rng.byte());
            }
        }
    }
}

/// A mutation of `base` (valid, with checksum `form`), fully determined by `seed`.
fn mutate(base: &[u8], form: u8, seed: u64) -> Vec<u8> {
    let mut rng = SplitMix(seed);
    let mut frame = base.to_vec();
    let layout = Layout::of(base);
    let sealed = rng.one_in(2);
    if sealed {
        edit_sealed_fields(&mut rng, &mut frame, layout, form);
    }
    let raw_edits = if sealed { rng.below(3) } else { 1 + rng.below(3) };
    for _ in 0..raw_edits {
        edit_raw(&mut rng, &mut frame, layout);
    }
    frame
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// One frame through both sides: `None` when they agree, else a description.
fn compare(rig: &mut Rig, frame: &[u8]) -> Option<String> {
    if rig.hook == Hook::Tcx && skb_test_run_refuses(frame) {
        // Too short for the network header its EtherType announces: the kernel builds no skb
        // for a test run of it (the rules pass such frames unclassified, as at XDP).
        return rig.test_run(frame, 1).ok().map(|run| format!("an skb test run took it: {run:?}"));
    }
    let outcome = rig.run(frame).expect("BPF_PROG_TEST_RUN");
    let (expected, received) = decoder_verdict(frame);
    let kernel = match kernel_verdict(&outcome) {
        Ok(verdict) => verdict,
        Err(problem) => return Some(problem),
    };
    if kernel != expected {
        return Some(format!("kernel {kernel:?}, decoder {expected:?}"));
    }
    received.and_then(|received| record_differences(rig, frame, &received))
}

vrrp_tests::at_each_hook!(the_program_and_the_decoder_agree_on_corpus_frames_and_their_mutations);

fn the_program_and_the_decoder_agree_on_corpus_frames_and_their_mutations(hook: Hook) {
    require_root();
    let seed = std::env::var("XDP_DIFF_SEED")
        .map_or(DEFAULT_SEED, |text| text.parse().expect("XDP_DIFF_SEED is a decimal u64"));
    let mut rig = Rig::load(hook, 0).expect("loading and configuring the kernel programs");
    let mut disagreements = Vec::new();
    let mut tally = std::collections::BTreeMap::<String, u64>::new();
    let started = std::time::Instant::now();

    // The hand-made malformed and non-VRRP frames first, unmutated.
    let hand_made = corpus::malformed().into_iter().chain(corpus::unclaimed());
    for case in hand_made.chain(corpus::not_vrrp()) {
        if let Some(problem) = compare(&mut rig, &case.frame) {
            disagreements.push(format!("{}: {problem}\n  frame {}", case.name, hex(&case.frame)));
        }
    }
    for (index, case) in corpus::valid().into_iter().enumerate() {
        let Expect::Valid(expected) = case.expect else { panic!("{}: not valid", case.name) };
        if let Some(problem) = compare(&mut rig, &case.frame) {
            disagreements.push(format!(
                "{}: unmutated: {problem}\n  frame {}",
                case.name,
                hex(&case.frame)
            ));
        }
        for mutation in 0..MUTATIONS_PER_FRAME {
            let mutation_seed = SplitMix(seed ^ ((index as u64) << 48) ^ mutation).next();
            let frame = mutate(&case.frame, expected.checksum_form, mutation_seed);
            let verdict = decoder_verdict(&frame).0;
            *tally.entry(format!("{verdict:?}")).or_default() += 1;
            if let Some(problem) = compare(&mut rig, &frame) {
                disagreements.push(format!(
                    "{} mutation {mutation} (seed {mutation_seed:#018x}): {problem}\n  frame {}",
                    case.name,
                    hex(&frame)
                ));
            }
        }
    }
    println!(
        "base seed {seed}, {:.1} s; decoder verdicts: {tally:?}",
        started.elapsed().as_secs_f64()
    );
    for disagreement in disagreements.iter().take(20) {
        println!("DISAGREEMENT {disagreement}");
    }
    assert!(disagreements.is_empty(), "{} disagreements (first 20 above)", disagreements.len());
    // The mutations must reach every verdict, or the comparison proves little.
    for reason in Counter::ALL.iter().filter(|c| c.is_drop()) {
        let key = format!("{:?}", Verdict::Drop(*reason));
        assert!(tally.contains_key(&key), "no mutation reached {}", reason.name());
    }
    for verdict in [
        Verdict::Valid { noted: false },
        Verdict::Valid { noted: true },
        Verdict::Passed(Counter::UnknownVrid),
        Verdict::NotVrrp,
    ] {
        assert!(tally.contains_key(&format!("{verdict:?}")), "no mutation reached {verdict:?}");
    }
}
