//! Whole IPv4 / IPv6 packets around a VRRP message: what raw sockets and XDP see.
//!
//! ```text
//! IPv4 (RFC 791), as VRRP sends it (RFC 9568 §5.1.1): TTL 255, protocol 112
//! +-------+-------+---------------+-------------------------------+
//! |Version|  IHL  |Type of Service|          Total Length         |
//! +-------+-------+---------------+-----+-------------------------+
//! |         Identification        |Flags|      Fragment Offset    |
//! +---------------+---------------+-----+-------------------------+
//! |  TTL = 255    | Protocol= 112 |         Header Checksum       |
//! +---------------+---------------+-------------------------------+
//! |                       Source Address                          |
//! |                    Destination Address                        |
//! +---------------------------------------------------------------+
//!
//! IPv6 (RFC 8200), as VRRP sends it (RFC 9568 §5.1.2): hop limit 255, next header 112
//! +-------+---------------+---------------------------------------+
//! |Version| Traffic Class |           Flow Label                  |
//! +-------+---------------+-------+---------------+---------------+
//! |         Payload Length        |  Next Header  |   Hop Limit   |
//! +-------------------------------+---------------+---------------+
//! |                 Source Address (16 bytes)                     |
//! |              Destination Address (16 bytes)                   |
//! +---------------------------------------------------------------+
//! ```

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use vrrp_common::wire::{IPPROTO_VRRP, VRRP_HEADER_LEN, VRRP_TTL};

use super::checksum;
use super::codec::{decode_payload, IpMetadata, ReceiveChecks, Received};
use super::{Advertisement, ChecksumMode, DecodeError, EncodeError};

pub(crate) const IPV4_HEADER_LEN: usize = 20;
const IPV6_HEADER_LEN: usize = 40;
/// Precedence "internetwork control", what keepalived and routing protocols put in the TOS.
pub(crate) const IPV4_TOS_INTERNETWORK_CONTROL: u8 = 0xc0;
/// More Fragments flag and Fragment Offset of the IPv4 flags/offset word.
const IPV4_FRAGMENT_MASK: u16 = 0x3fff;

/// Decodes a whole IPv4 or IPv6 packet (starting at the IP header).
///
/// `Ok(None)` when it is not a VRRP packet at all (another protocol, not IP, or too short to
/// tell): the XDP program lets those pass without counting them. Extension headers are not followed: VRRP senders do not
/// use them, so a packet with one is "not VRRP" here as in the kernel.
pub fn decode_ip_packet(
    packet: &[u8],
    checks: ReceiveChecks,
) -> Result<Option<Received>, DecodeError> {
    match packet.first().map(|byte| byte >> 4) {
        Some(4) => decode_ipv4(packet, checks),
        Some(6) => decode_ipv6(packet, checks),
        Some(_) => Ok(None),
        None => Ok(None),
    }
}

/// The fixed IPv4 header of a packet carrying `protocol`, checked as the kernel program checks
/// it (header length, fragments), before anything after it is read.
pub(crate) struct Ipv4Header {
    pub header_len: usize,
    /// The Total Length field, not checked against the packet.
    pub total_len: usize,
    pub ip: IpMetadata,
}

/// `Ok(None)` when the packet is not IPv4 carrying `protocol`, or too short to tell.
pub(crate) fn ipv4_header(packet: &[u8], protocol: u8) -> Result<Option<Ipv4Header>, DecodeError> {
    let Some(header) = packet.first_chunk::<IPV4_HEADER_LEN>() else {
        return Ok(None);
    };
    if header[0] >> 4 != 4 || header[9] != protocol {
        return Ok(None);
    }
    let ihl = header[0] & 0x0f;
    let header_len = usize::from(ihl) * 4;
    if header_len < IPV4_HEADER_LEN {
        return Err(DecodeError::BadIhl(ihl));
    }
    if u16::from_be_bytes([header[6], header[7]]) & IPV4_FRAGMENT_MASK != 0 {
        return Err(DecodeError::Fragment);
    }
    let ip = IpMetadata {
        source: IpAddr::V4(Ipv4Addr::new(header[12], header[13], header[14], header[15])),
        destination: IpAddr::V4(Ipv4Addr::new(header[16], header[17], header[18], header[19])),
        ttl: header[8],
    };
    let total_len = usize::from(u16::from_be_bytes([header[2], header[3]]));
    Ok(Some(Ipv4Header { header_len, total_len, ip }))
}

fn decode_ipv4(packet: &[u8], checks: ReceiveChecks) -> Result<Option<Received>, DecodeError> {
    let Some(header) = ipv4_header(packet, IPPROTO_VRRP)? else {
        return Ok(None);
    };
    let packet = ip_packet(packet, header.header_len, header.total_len)?;
    decode_payload(&packet[header.header_len..], header.ip, checks).map(Some)
}

fn decode_ipv6(packet: &[u8], checks: ReceiveChecks) -> Result<Option<Received>, DecodeError> {
    let Some(header) = packet.first_chunk::<IPV6_HEADER_LEN>() else {
        return Ok(None);
    };
    if header[6] != IPPROTO_VRRP {
        return Ok(None);
    }
    let total_len = IPV6_HEADER_LEN + usize::from(u16::from_be_bytes([header[4], header[5]]));
    let packet = ip_packet(packet, IPV6_HEADER_LEN, total_len)?;
    let address_at = |offset: usize| {
        let mut octets = [0; 16];
        octets.copy_from_slice(&header[offset..offset + 16]);
        IpAddr::V6(Ipv6Addr::from(octets))
    };
    let ip = IpMetadata { source: address_at(8), destination: address_at(24), ttl: header[7] };
    decode_payload(&packet[IPV6_HEADER_LEN..], ip, checks).map(Some)
}

/// The packet without link-layer padding, when the IP header's length fits the bytes there and
/// leaves room for a VRRP header. This runs before the TTL check, as in the kernel.
fn ip_packet(packet: &[u8], header_len: usize, total_len: usize) -> Result<&[u8], DecodeError> {
    let needed = total_len.max(header_len + VRRP_HEADER_LEN);
    match packet.get(..total_len) {
        Some(packet) if total_len >= header_len + VRRP_HEADER_LEN => Ok(packet),
        _ => Err(DecodeError::Truncated { needed, available: packet.len().min(total_len) }),
    }
}

impl Advertisement {
    /// A whole IP packet carrying this advertisement, TTL / hop limit 255: for raw sockets that
    /// write their own header, pcaps and tests.
    pub fn encode_ip_packet(
        &self,
        source: IpAddr,
        destination: IpAddr,
        mode: ChecksumMode,
    ) -> Result<Vec<u8>, EncodeError> {
        let payload_len = self.payload_len();
        let mut out;
        match (source, destination) {
            (IpAddr::V4(src), IpAddr::V4(dst)) => {
                let total_len = (IPV4_HEADER_LEN + payload_len) as u16;
                out = Vec::with_capacity(IPV4_HEADER_LEN + payload_len);
                out.extend_from_slice(&[0x45, IPV4_TOS_INTERNETWORK_CONTROL]);
                out.extend_from_slice(&total_len.to_be_bytes());
                // Identification and flags/fragment offset: never fragmented.
                out.extend_from_slice(&[0, 0, 0, 0]);
                out.extend_from_slice(&[VRRP_TTL, IPPROTO_VRRP, 0, 0]);
                out.extend_from_slice(&src.octets());
                out.extend_from_slice(&dst.octets());
                let header_checksum = checksum::compute(&out, 0);
                out[10..12].copy_from_slice(&header_checksum.to_be_bytes());
            }
            (IpAddr::V6(src), IpAddr::V6(dst)) => {
                out = Vec::with_capacity(IPV6_HEADER_LEN + payload_len);
                out.extend_from_slice(&[0x60, 0, 0, 0]);
                out.extend_from_slice(&(payload_len as u16).to_be_bytes());
                out.extend_from_slice(&[IPPROTO_VRRP, VRRP_TTL]);
                out.extend_from_slice(&src.octets());
                out.extend_from_slice(&dst.octets());
            }
            _ => return Err(EncodeError::FamilyMismatch),
        }
        self.encode_payload_into(&mut out, source, destination, mode)?;
        Ok(out)
    }
}
