//! Frame parsing: Ethernet (with up to two VLAN tags), IPv4 or IPv6, then the VRRP header.
//!
//! Classification (is this VRRP?) answers `Ok(None)` for anything else, including frames too
//! short to classify: those are passed, never dropped. Once a frame is known to be VRRP, every
//! defect is an `Err` with its reason.

use aya_ebpf::programs::XdpContext;
use vrrp_common::{
    checksum_form,
    wire::{
        ETH_HLEN, ETH_P_8021AD, ETH_P_8021Q, ETH_P_IP, ETH_P_IPV6, IPPROTO_VRRP, VLAN_HLEN,
        VRRP_HEADER_LEN, VRRP_TTL, VRRP_TYPE_ADVERTISEMENT, VRRP_V2_AUTH_LEN,
    },
    Counter, FAMILY_IPV4, FAMILY_IPV6,
};

use crate::checksum;

const IPV4_MIN_HLEN: usize = 20;
const IPV6_HLEN: usize = 40;
/// IPv4 "more fragments" flag and fragment offset bits of the flags/offset field.
const IPV4_FRAGMENT_MASK: u16 = 0x3fff;

/// A valid VRRP advertisement, as far as the packet alone can tell.
pub struct Frame {
    pub family: u8,
    pub version: u8,
    pub vrid: u8,
    pub priority: u8,
    pub interval_cs: u16,
    pub checksum_form: u8,
    /// IPv4 addresses in the first four bytes.
    pub source: [u8; 16],
    pub source_mac: [u8; 6],
}

/// Where the VRRP message sits in the frame, and what the IP header said about it.
struct IpView {
    family: u8,
    /// Offset of the VRRP message from the start of the frame.
    offset: usize,
    /// Length of the VRRP message (IP payload length).
    len: usize,
    ttl: u8,
    source: [u8; 16],
    /// Sum of the pseudo-header words (RFC 8200 §8.1 for IPv6, RFC 5798 §5.2.8 for IPv4).
    pseudo_sum: u32,
}

/// Reads `N` bytes at `offset`, or `None` when the frame is shorter.
#[inline(always)]
pub fn bytes<const N: usize>(ctx: &XdpContext, offset: usize) -> Option<[u8; N]> {
    let start = ctx.data();
    let end = ctx.data_end();
    if start + offset + N > end {
        return None;
    }
    // SAFETY: the range was checked against data_end just above (the verifier checks it too).
    Some(unsafe { *((start + offset) as *const [u8; N]) })
}

#[inline(always)]
fn be16(bytes: [u8; 2]) -> u16 {
    u16::from_be_bytes(bytes)
}

#[inline(always)]
pub fn parse_frame(ctx: &XdpContext) -> Result<Option<Frame>, Counter> {
    let Some(ethernet) = bytes::<ETH_HLEN>(ctx, 0) else {
        return Ok(None);
    };
    let mut ethertype = be16([ethernet[12], ethernet[13]]);
    let mut offset = ETH_HLEN;
    // 802.1ad outer tag, then 802.1Q: at most two tags.
    for _ in 0..2 {
        if ethertype != ETH_P_8021Q && ethertype != ETH_P_8021AD {
            break;
        }
        let Some(tag) = bytes::<VLAN_HLEN>(ctx, offset) else {
            return Ok(None);
        };
        ethertype = be16([tag[2], tag[3]]);
        offset += VLAN_HLEN;
    }
    let ip = match ethertype {
        ETH_P_IP => parse_ipv4(ctx, offset)?,
        ETH_P_IPV6 => parse_ipv6(ctx, offset)?,
        _ => None,
    };
    let Some(ip) = ip else {
        return Ok(None);
    };
    let mut source_mac = [0u8; 6];
    source_mac.copy_from_slice(&ethernet[6..12]);
    parse_vrrp(ctx, &ip, source_mac).map(Some)
}

#[inline(always)]
fn parse_ipv4(ctx: &XdpContext, offset: usize) -> Result<Option<IpView>, Counter> {
    let Some(header) = bytes::<IPV4_MIN_HLEN>(ctx, offset) else {
        return Ok(None);
    };
    if header[9] != IPPROTO_VRRP || header[0] >> 4 != 4 {
        return Ok(None);
    }
    let header_len = usize::from(header[0] & 0x0f) * 4;
    if header_len < IPV4_MIN_HLEN {
        return Err(Counter::BadIhl);
    }
    if be16([header[6], header[7]]) & IPV4_FRAGMENT_MASK != 0 {
        return Err(Counter::Fragment);
    }
    let total_len = usize::from(be16([header[2], header[3]]));
    if total_len < header_len + VRRP_HEADER_LEN || offset + total_len > frame_len(ctx) {
        return Err(Counter::Truncated);
    }
    let mut source = [0u8; 16];
    source[..4].copy_from_slice(&header[12..16]);
    let len = total_len - header_len;
    let pseudo_sum = checksum::words(&header[12..20]) + u32::from(IPPROTO_VRRP) + len as u32;
    Ok(Some(IpView {
        family: FAMILY_IPV4,
        offset: offset + header_len,
        len,
        ttl: header[8],
        source,
        pseudo_sum,
    }))
}

#[inline(always)]
fn parse_ipv6(ctx: &XdpContext, offset: usize) -> Result<Option<IpView>, Counter> {
    let Some(header) = bytes::<IPV6_HLEN>(ctx, offset) else {
        return Ok(None);
    };
    // Extension headers are not followed: such a frame is passed unclassified.
    if header[6] != IPPROTO_VRRP || header[0] >> 4 != 6 {
        return Ok(None);
    }
    let len = usize::from(be16([header[4], header[5]]));
    if len < VRRP_HEADER_LEN || offset + IPV6_HLEN + len > frame_len(ctx) {
        return Err(Counter::Truncated);
    }
    let mut source = [0u8; 16];
    source.copy_from_slice(&header[8..24]);
    let pseudo_sum = checksum::words(&header[8..40]) + u32::from(IPPROTO_VRRP) + len as u32;
    Ok(Some(IpView {
        family: FAMILY_IPV6,
        offset: offset + IPV6_HLEN,
        len,
        ttl: header[7],
        source,
        pseudo_sum,
    }))
}

#[inline(always)]
fn parse_vrrp(ctx: &XdpContext, ip: &IpView, source_mac: [u8; 6]) -> Result<Frame, Counter> {
    // RFC 9568 §7.1: the TTL / hop limit must be 255 (the sender is on the link).
    if ip.ttl != VRRP_TTL {
        return Err(Counter::BadTtl);
    }
    let Some(header) = bytes::<VRRP_HEADER_LEN>(ctx, ip.offset) else {
        return Err(Counter::Truncated);
    };
    let version = header[0] >> 4;
    // RFC 9568 §5.2.1 (v3), RFC 3768 §5.3.1 (v2, IPv4 only).
    if version != 2 && version != 3 {
        return Err(Counter::BadVersion);
    }
    if version == 2 && ip.family == FAMILY_IPV6 {
        return Err(Counter::FamilyMismatch);
    }
    // RFC 9568 §5.2.2: advertisement is the only type.
    if header[0] & 0x0f != VRRP_TYPE_ADVERTISEMENT {
        return Err(Counter::BadType);
    }
    // RFC 9568 §5.2.5, §7.1: the count must match the length.
    let count = usize::from(header[3]);
    if count == 0 {
        return Err(Counter::BadAddrCount);
    }
    let address_len = if ip.family == FAMILY_IPV4 { 4 } else { 16 };
    let auth_len = if version == 2 { VRRP_V2_AUTH_LEN } else { 0 };
    if ip.len != VRRP_HEADER_LEN + count * address_len + auth_len {
        return Err(Counter::BadLength);
    }
    // RFC 9568 §5.2.8 / RFC 3768 §5.3.8.
    let sum = checksum::message(ctx, ip.offset, ip.len)?;
    let checksum_form = if version == 2 {
        checksum::is_valid(sum).then_some(checksum_form::V2)
    } else if ip.family == FAMILY_IPV6 {
        checksum::is_valid(sum + ip.pseudo_sum).then_some(checksum_form::V3_IPV6)
    } else if checksum::is_valid(sum + ip.pseudo_sum) {
        Some(checksum_form::V3_IPV4_PSEUDO)
    } else {
        checksum::is_valid(sum).then_some(checksum_form::V3_IPV4_PLAIN)
    };
    let Some(checksum_form) = checksum_form else {
        return Err(Counter::BadChecksum);
    };
    let interval_cs = if version == 2 {
        // RFC 3768 §5.3.7: whole seconds.
        u16::from(header[5]) * 100
    } else {
        // RFC 9568 §5.2.6: 4 reserved bits, then Max Adver Int in centiseconds.
        let field = be16([header[4], header[5]]);
        if field >> 12 != 0 {
            return Err(Counter::ReservedBits);
        }
        field & 0x0fff
    };
    if interval_cs == 0 {
        return Err(Counter::ZeroInterval);
    }
    if ip.family == FAMILY_IPV6 {
        // RFC 9568 §5.2.9: the first IPv6 address is the link-local virtual address.
        let Some(first) = bytes::<2>(ctx, ip.offset + VRRP_HEADER_LEN) else {
            return Err(Counter::Truncated);
        };
        if first[0] != 0xfe || first[1] & 0xc0 != 0x80 {
            return Err(Counter::NotLinkLocal);
        }
    }
    Ok(Frame {
        family: ip.family,
        version,
        vrid: header[1],
        priority: header[2],
        interval_cs,
        checksum_form,
        source: ip.source,
        source_mac,
    })
}

#[inline(always)]
fn frame_len(ctx: &XdpContext) -> usize {
    ctx.data_end() - ctx.data()
}
