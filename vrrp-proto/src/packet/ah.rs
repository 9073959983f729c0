//! keepalived's `auth_type AH`: a VRRPv2 advertisement inside an IPsec Authentication Header
//! (RFC 2402) signed with HMAC-MD5-96 (RFC 2403), keyed by the 8 bytes of `auth_pass`. No
//! security association is negotiated: the SPI is the sender's address and the sequence number
//! is the instance's own counter (keepalived vrrp_ipsecah.h, vrrp.c vrrp_build_ipsecah()).
//!
//! ```text
//! IPv4 header (protocol 51) | AH (24 bytes)                                   | VRRPv2
//!                           | next header 112, payload len 4, reserved 0,     | auth type 2,
//!                           | SPI = source, sequence number, ICV (12 bytes)   | data zero
//! ```
//!
//! The ICV covers the IPv4 header with its mutable fields zeroed (TOS, flags and fragment
//! offset, header checksum, and for unicast the TTL, which routers change), the AH header with
//! the ICV zeroed, and the VRRP message.

use std::net::Ipv4Addr;

use hmac::{Hmac, Mac};
use md5::Md5;
use vrrp_common::wire::IPPROTO_VRRP;

use super::checksum;
use super::codec::{decode_payload, ReceiveChecks, Received};
use super::ip::{ipv4_header, Ipv4Header, IPV4_HEADER_LEN, IPV4_TOS_INTERNETWORK_CONTROL};
use super::{Advertisement, ChecksumMode, DecodeError, EncodeError, Family, Version};

/// IP protocol number of the Authentication Header (RFC 2402).
pub const IPPROTO_AH: u8 = 51;
/// The AH header keepalived sends: 12 fixed bytes and a 96-bit ICV.
pub const AH_HEADER_LEN: usize = 24;
/// HMAC-MD5 truncated to 96 bits (RFC 2403 §2; keepalived HMAC_MD5_TRUNC).
const ICV_LEN: usize = 12;
const ICV_OFFSET: usize = AH_HEADER_LEN - ICV_LEN;
/// AH Payload Len: the header in 32-bit words minus 2 (RFC 2402 §2.2; keepalived IPSEC_AH_PLEN).
const AH_PAYLOAD_LEN: u8 = (AH_HEADER_LEN / 4 - 2) as u8;

/// The HMAC key: `auth_pass`, padded with zeros to 8 bytes (keepalived vrrp_parser.c
/// vrrp_auth_pass_handler()).
pub type AhKey = [u8; 8];

/// What changes from one AH-protected advertisement to the next.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AhEnvelope {
    pub source: Ipv4Addr,
    pub destination: Ipv4Addr,
    pub ttl: u8,
    /// Never 0: the kernel fills in an identification left at 0, after the ICV is computed
    /// (keepalived vrrp.c vrrp_update_pkt() skips 0 for that reason).
    pub identification: u16,
    pub sequence: u32,
    /// A unicast advertisement's TTL is left out of the ICV (routers decrement it).
    pub unicast: bool,
}

impl Advertisement {
    /// The whole IPv4 packet of an AH-protected VRRPv2 advertisement, header checksum included
    /// (an IP_HDRINCL socket recomputes it anyway), as keepalived builds it (vrrp.c
    /// vrrp_build_ip4(), vrrp_build_ipsecah(), vrrp_update_pkt()).
    pub fn encode_ah_packet(
        &self,
        envelope: &AhEnvelope,
        key: &AhKey,
    ) -> Result<Vec<u8>, EncodeError> {
        if self.version() != Version::V2 || self.family() != Family::Ipv4 {
            return Err(EncodeError::AhNotV2Ipv4);
        }
        let total_len = IPV4_HEADER_LEN + AH_HEADER_LEN + self.payload_len();
        let mut out = Vec::with_capacity(total_len);
        out.extend_from_slice(&[0x45, IPV4_TOS_INTERNETWORK_CONTROL]);
        out.extend_from_slice(&(total_len as u16).to_be_bytes());
        out.extend_from_slice(&envelope.identification.to_be_bytes());
        out.extend_from_slice(&[0, 0, envelope.ttl, IPPROTO_AH, 0, 0]);
        out.extend_from_slice(&envelope.source.octets());
        out.extend_from_slice(&envelope.destination.octets());
        out.extend_from_slice(&[IPPROTO_VRRP, AH_PAYLOAD_LEN, 0, 0]);
        out.extend_from_slice(&envelope.source.octets());
        out.extend_from_slice(&envelope.sequence.to_be_bytes());
        out.extend_from_slice(&[0; ICV_LEN]);
        // VRRPv2's checksum covers the message alone: the mode is not used.
        self.encode_payload_into(
            &mut out,
            envelope.source.into(),
            envelope.destination.into(),
            ChecksumMode::default(),
        )?;
        let icv = compute_icv(&out, IPV4_HEADER_LEN, key, envelope.unicast);
        let icv_at = IPV4_HEADER_LEN + ICV_OFFSET;
        out[icv_at..icv_at + ICV_LEN].copy_from_slice(&icv[..ICV_LEN]);
        let header_checksum = checksum::compute(&out[..IPV4_HEADER_LEN], 0);
        out[10..12].copy_from_slice(&header_checksum.to_be_bytes());
        Ok(out)
    }
}

/// A decoded AH-protected advertisement, not yet authenticated: the instance (found by the
/// VRID inside) holds the key and the sequence number.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AhPacket<'a> {
    pub received: Received,
    pub sequence: u32,
    /// The packet up to the end of the VRRP message, which the ICV covers.
    bytes: &'a [u8],
    header_len: usize,
}

/// Decodes a whole IPv4 packet read from an IPPROTO_AH raw socket.
///
/// `Ok(None)` when it is not an AH packet around VRRP (another protocol, or AH protecting
/// something else, which keepalived ignores: vrrp.c vrrp_check_packet() "AH header for some
/// other protocol"). The VRRP message gets the usual checks.
pub fn decode_ah_packet(
    packet: &[u8],
    checks: ReceiveChecks,
) -> Result<Option<AhPacket<'_>>, DecodeError> {
    let Some(Ipv4Header { header_len, total_len, ip }) = ipv4_header(packet, IPPROTO_AH)? else {
        return Ok(None);
    };
    // keepalived vrrp.c vrrp_get_header(): "IPv4 VRRP packet with AH too short".
    let needed = header_len + AH_HEADER_LEN + vrrp_common::wire::VRRP_HEADER_LEN;
    let bytes = match packet.get(..total_len) {
        Some(bytes) if total_len >= needed => bytes,
        _ => {
            let available = packet.len().min(total_len);
            return Err(DecodeError::Truncated { needed: needed.max(total_len), available });
        }
    };
    let ah = &bytes[header_len..header_len + AH_HEADER_LEN];
    if ah[0] != IPPROTO_VRRP {
        return Ok(None);
    }
    let received = decode_payload(&bytes[header_len + AH_HEADER_LEN..], ip, checks)?;
    let sequence = u32::from_be_bytes([ah[8], ah[9], ah[10], ah[11]]);
    Ok(Some(AhPacket { received, sequence, bytes, header_len }))
}

impl AhPacket<'_> {
    /// keepalived vrrp.c vrrp_in_chk_ipsecah(), its first two checks: the ICV under `key`
    /// (compared in constant time), then the SPI, which must be the sender's address.
    /// `unicast` is the receiving instance's mode: its senders leave the TTL out of the ICV.
    pub fn authenticate(&self, key: &AhKey, unicast: bool) -> Result<(), DecodeError> {
        let ah = &self.bytes[self.header_len..self.header_len + AH_HEADER_LEN];
        let mut mac = keyed_mac(key);
        feed_icv_input(&mut mac, self.bytes, self.header_len, unicast);
        mac.verify_truncated_left(&ah[ICV_OFFSET..]).map_err(|_| DecodeError::AuthMismatch)?;
        if ah[4..8] != self.bytes[12..16] {
            return Err(DecodeError::AuthMismatch);
        }
        Ok(())
    }
}

/// The instance's AH sequence number: one counter for what it sends and what it accepts, as
/// keepalived keeps it (vrrp_t ipsecah_counter). A backup follows its master's numbers, so
/// when it takes over, its own continue above them and its peers accept them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AhSequence {
    last: u32,
}

impl AhSequence {
    /// keepalived stops counting at this value (vrrp.c vrrp_update_pkt(): "Cycled assumed if
    /// 0xFFFFFFFD reached"), which a 1 s interval reaches after 136 years; its reset of a
    /// cycled counter on becoming master is not reproduced.
    const LAST: u32 = 0xffff_fffe;

    /// The number of the next advertisement sent.
    pub fn next_to_send(&mut self) -> u32 {
        if self.last < Self::LAST {
            self.last += 1;
        }
        self.last
    }

    /// Anti-replay (keepalived vrrp.c vrrp_in_chk_ipsecah(): "sequence number already
    /// processed"): an authenticated advertisement is accepted only above the last number
    /// seen or sent, which it then becomes.
    pub fn admit(&mut self, sequence: u32) -> bool {
        if sequence > self.last {
            self.last = sequence;
            true
        } else {
            false
        }
    }
}

fn keyed_mac(key: &AhKey) -> Hmac<Md5> {
    // HMAC takes a key of any length.
    Hmac::<Md5>::new_from_slice(key).expect("HMAC accepts any key length")
}

fn compute_icv(packet: &[u8], header_len: usize, key: &AhKey, unicast: bool) -> [u8; 16] {
    let mut mac = keyed_mac(key);
    feed_icv_input(&mut mac, packet, header_len, unicast);
    mac.finalize().into_bytes().into()
}

/// What the ICV covers: the IP header with its mutable fields zeroed, AH with the ICV zeroed,
/// then the VRRP message (keepalived vrrp.c vrrp_in_chk_ipsecah() and vrrp_update_pkt()).
fn feed_icv_input(mac: &mut Hmac<Md5>, packet: &[u8], header_len: usize, unicast: bool) {
    let headers_len = header_len + AH_HEADER_LEN;
    // At most 60 bytes of IPv4 header and the AH header.
    let mut headers = [0u8; 60 + AH_HEADER_LEN];
    let headers = &mut headers[..headers_len];
    headers.copy_from_slice(&packet[..headers_len]);
    headers[1] = 0; // TOS
    headers[6..8].fill(0); // flags, fragment offset
    headers[10..12].fill(0); // header checksum
    if unicast {
        headers[8] = 0; // TTL
    }
    headers[header_len + ICV_OFFSET..].fill(0);
    mac.update(headers);
    mac.update(&packet[headers_len..]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Centiseconds, V2Auth};
    use std::net::IpAddr;

    const KEY: AhKey = *b"s3cret\0\0";

    fn advertisement() -> Advertisement {
        let vip = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 100));
        Advertisement::new(Version::V2, 51, 150, Centiseconds::from_seconds(1), vec![vip])
            .unwrap()
            .with_v2_auth(V2Auth::AH)
    }

    fn envelope(unicast: bool) -> AhEnvelope {
        AhEnvelope {
            source: Ipv4Addr::new(192, 0, 2, 1),
            destination: if unicast {
                Ipv4Addr::new(192, 0, 2, 2)
            } else {
                Ipv4Addr::new(224, 0, 0, 18)
            },
            ttl: 255,
            identification: 7,
            sequence: 42,
            unicast,
        }
    }

    fn decode(packet: &[u8]) -> AhPacket<'_> {
        decode_ah_packet(packet, ReceiveChecks::default()).unwrap().unwrap()
    }

    /// keepalived 2.2.7 (Debian), `auth_type AH`, `auth_pass s3cret`, VRID 51, priority 150,
    /// advert_int 1, VIP 192.0.2.100, sending from 192.0.2.1 as master: its first advertisement
    /// (identification 1, sequence number 1), captured with tcpdump in a network namespace.
    const KEEPALIVED_MULTICAST: [u8; 64] = [
        0x45, 0xc0, 0x00, 0x40, 0x00, 0x01, 0x00, 0x00, 0xff, 0x33, 0x18, 0xb6, 0xc0, 0x00, 0x02,
        0x01, 0xe0, 0x00, 0x00, 0x12, 0x70, 0x04, 0x00, 0x00, 0xc0, 0x00, 0x02, 0x01, 0x00, 0x00,
        0x00, 0x01, 0xdb, 0xf6, 0x3c, 0x07, 0x11, 0x4b, 0xcf, 0x7e, 0xc7, 0x3a, 0xea, 0xfa, 0x21,
        0x33, 0x96, 0x01, 0x02, 0x01, 0x84, 0x65, 0xc0, 0x00, 0x02, 0x64, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00,
    ];
    /// The same with `unicast_src_ip 192.0.2.1` and `unicast_peer { 192.0.2.2 }`.
    const KEEPALIVED_UNICAST: [u8; 64] = [
        0x45, 0xc0, 0x00, 0x40, 0x00, 0x01, 0x00, 0x00, 0xff, 0x33, 0x36, 0xc6, 0xc0, 0x00, 0x02,
        0x01, 0xc0, 0x00, 0x02, 0x02, 0x70, 0x04, 0x00, 0x00, 0xc0, 0x00, 0x02, 0x01, 0x00, 0x00,
        0x00, 0x01, 0xd2, 0x96, 0x7b, 0xc5, 0xad, 0x86, 0x57, 0x17, 0x02, 0x48, 0x8f, 0xa0, 0x21,
        0x33, 0x96, 0x01, 0x02, 0x01, 0x84, 0x65, 0xc0, 0x00, 0x02, 0x64, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00,
    ];

    #[test]
    fn keepalived_packets_authenticate_and_ours_are_the_same_bytes() {
        for (captured, unicast) in [(KEEPALIVED_MULTICAST, false), (KEEPALIVED_UNICAST, true)] {
            let decoded = decode(&captured);
            assert_eq!(decoded.sequence, 1);
            assert_eq!(decoded.received.advertisement, advertisement());
            assert_eq!(decoded.authenticate(&KEY, unicast), Ok(()), "unicast {unicast}");
            assert_eq!(
                decoded.authenticate(b"s3cre7\0\0", unicast),
                Err(DecodeError::AuthMismatch)
            );
            let ours = AhEnvelope { identification: 1, sequence: 1, ..envelope(unicast) };
            assert_eq!(advertisement().encode_ah_packet(&ours, &KEY).unwrap(), captured);
        }
    }

    #[test]
    fn a_built_packet_decodes_and_authenticates() {
        let packet = advertisement().encode_ah_packet(&envelope(false), &KEY).unwrap();
        assert_eq!(packet.len(), 20 + 24 + 20);
        assert_eq!(checksum::compute(&packet[..20], 0), 0, "IPv4 header checksum");
        let decoded = decode(&packet);
        assert_eq!(decoded.sequence, 42);
        assert_eq!(decoded.received.advertisement, advertisement());
        assert_eq!(decoded.authenticate(&KEY, false), Ok(()));
        assert_eq!(decoded.authenticate(b"wrong\0\0\0", false), Err(DecodeError::AuthMismatch));
    }

    #[test]
    fn mutable_fields_are_outside_the_icv() {
        let mut packet = advertisement().encode_ah_packet(&envelope(false), &KEY).unwrap();
        packet[1] = 0x10; // TOS
        packet[10] ^= 0xff; // header checksum
        assert_eq!(decode(&packet).authenticate(&KEY, false), Ok(()));
        // Multicast TTL is covered: it must stay 255 on the link.
        packet[8] = 254;
        let checks = ReceiveChecks { require_ttl_255: false, ..ReceiveChecks::default() };
        let decoded = decode_ah_packet(&packet, checks).unwrap().unwrap();
        assert_eq!(decoded.authenticate(&KEY, false), Err(DecodeError::AuthMismatch));
        // A unicast sender's TTL is not (routed peers).
        let mut unicast = advertisement().encode_ah_packet(&envelope(true), &KEY).unwrap();
        unicast[8] = 64;
        let decoded = decode_ah_packet(&unicast, checks).unwrap().unwrap();
        assert_eq!(decoded.authenticate(&KEY, true), Ok(()));
    }

    #[test]
    fn any_covered_byte_changed_fails() {
        let packet = advertisement().encode_ah_packet(&envelope(false), &KEY).unwrap();
        // Identification, source, destination, SPI, sequence number, ICV.
        for offset in [4, 12, 16, 24, 28, 32] {
            let mut forged = packet.clone();
            forged[offset] ^= 1;
            assert_eq!(decode(&forged).authenticate(&KEY, false), Err(DecodeError::AuthMismatch));
        }
        // A VRRP field, with its checksum made right again: priority 150 -> 255.
        let mut forged = packet.clone();
        forged[46] = 255;
        forged[50..52].fill(0);
        let vrrp_checksum = checksum::compute(&forged[44..], 0);
        forged[50..52].copy_from_slice(&vrrp_checksum.to_be_bytes());
        let decoded = decode(&forged);
        assert_eq!(decoded.received.advertisement.priority(), 255);
        assert_eq!(decoded.authenticate(&KEY, false), Err(DecodeError::AuthMismatch));
    }

    #[test]
    fn the_spi_must_be_the_source() {
        // Signed correctly, but with an SPI that is not the sender's address.
        let mut packet = advertisement().encode_ah_packet(&envelope(false), &KEY).unwrap();
        packet[20 + 4..20 + 8].copy_from_slice(&[192, 0, 2, 9]);
        let icv = compute_icv(&packet, 20, &KEY, false);
        packet[20 + ICV_OFFSET..20 + AH_HEADER_LEN].copy_from_slice(&icv[..ICV_LEN]);
        assert_eq!(decode(&packet).authenticate(&KEY, false), Err(DecodeError::AuthMismatch));
    }

    #[test]
    fn other_packets_are_not_ah_vrrp() {
        let mut packet = advertisement().encode_ah_packet(&envelope(false), &KEY).unwrap();
        packet[20] = 6; // AH protecting TCP
        assert_eq!(decode_ah_packet(&packet, ReceiveChecks::default()), Ok(None));
        let plain = advertisement()
            .encode_ip_packet(
                Ipv4Addr::new(192, 0, 2, 1).into(),
                Ipv4Addr::new(224, 0, 0, 18).into(),
                ChecksumMode::default(),
            )
            .unwrap();
        assert_eq!(decode_ah_packet(&plain, ReceiveChecks::default()), Ok(None));
        let packet = advertisement().encode_ah_packet(&envelope(false), &KEY).unwrap();
        assert!(matches!(
            decode_ah_packet(&packet[..50], ReceiveChecks::default()),
            Err(DecodeError::Truncated { .. })
        ));
    }

    #[test]
    fn only_vrrpv2_over_ipv4_is_carried() {
        let vip = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 100));
        let v3 =
            Advertisement::new(Version::V3, 51, 150, Centiseconds::new(100), vec![vip]).unwrap();
        assert_eq!(v3.encode_ah_packet(&envelope(false), &KEY), Err(EncodeError::AhNotV2Ipv4));
    }

    #[test]
    fn the_sequence_counter_is_shared_by_sending_and_receiving() {
        let mut sequence = AhSequence::default();
        assert_eq!(sequence.next_to_send(), 1);
        assert!(!sequence.admit(1), "a replay of what was sent");
        assert!(sequence.admit(10));
        assert!(!sequence.admit(10), "a replay");
        assert!(!sequence.admit(9), "an older one");
        assert_eq!(sequence.next_to_send(), 11, "a new master continues above its master's");
        let mut last = AhSequence { last: AhSequence::LAST };
        assert_eq!(last.next_to_send(), AhSequence::LAST);
        assert!(!last.admit(AhSequence::LAST));
        assert!(last.admit(u32::MAX));
    }
}
