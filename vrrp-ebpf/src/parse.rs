//! Frame parsing: Ethernet (with up to two VLAN tags), IPv4 or IPv6, then the VRRP header.
//!
//! Classification (is this VRRP?) answers `Parsed::Ip` for other IP traffic and
//! `Parsed::Other` for anything else, including frames too short to classify: those are never
//! dropped as VRRP (Accept_Mode may refuse IP traffic, see `accept_mode`). Once a frame is known
//! to be VRRP, every defect is an `Err` with its reason.
//!
//! Fields are read in place through a [`Window`], 16 bits at a time: copying headers out as
//! byte arrays made the compiler load them a byte at a time.

use vrrp_common::{
    checksum_form,
    wire::{
        AUTH_HMAC_TRAILER_LEN, ETH_HLEN, ETH_P_8021AD, ETH_P_8021Q, ETH_P_IP, ETH_P_IPV6,
        IPPROTO_VRRP, VLAN_HLEN, VRRP_HEADER_LEN, VRRP_TYPE_ADVERTISEMENT, VRRP_V2_AUTH_LEN,
    },
    Counter, FAMILY_IPV4, FAMILY_IPV6, VLAN_STACKED,
};

use crate::{checksum, packet::Packet};

const IPV4_MIN_HLEN: usize = 20;
const IPV6_HLEN: usize = 40;
/// The VLAN ID bits of a tag's TCI (IEEE 802.1Q).
const VLAN_VID_MASK: u16 = 0x0fff;
/// IPv4 "more fragments" flag and fragment offset bits of the flags/offset field.
const IPV4_FRAGMENT_MASK: u16 = 0x3fff;

/// `Frame::checksum_form` of a VRRPv3 IPv4 advertisement whose RFC and plain checksums both
/// failed: it may carry keepalived's pre-1.3.6 form, which only an instance that allows it
/// checks (after its lookup); for any other it is a bad checksum, as before.
pub const OLD_FORM_PENDING: u8 = 0;

/// A valid VRRP advertisement, as far as the packet alone can tell.
pub struct Frame {
    pub family: u8,
    pub version: u8,
    pub vrid: u8,
    pub priority: u8,
    pub interval_cs: u16,
    /// One of `checksum_form`, or [`OLD_FORM_PENDING`]: only the instance can tell.
    pub checksum_form: u8,
    /// With [`OLD_FORM_PENDING`]: the message and pseudo-header sum without its destination,
    /// to which the instance's group is added (`rules`).
    pub pending_sum: u32,
    /// TTL (IPv4) or hop limit (IPv6): which values are accepted depends on the instance.
    pub ttl: u8,
    /// IPv4 addresses in the first four bytes.
    pub source: [u8; 16],
    pub destination: [u8; 16],
    pub source_mac: [u8; 6],
    /// IPv6 only: the first address is not link-local.
    pub first_not_link_local: bool,
    /// The VLAN the frame was tagged with (see `InstanceKey::vlan`).
    pub vlan: u16,
    /// VRRPv2 only: Auth Type and the authentication data after the addresses.
    pub auth_type: u8,
    pub auth_data: [u8; 8],
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
    destination: [u8; 16],
    /// The IP header, for the pseudo-header sum a VRRPv3 checksum needs.
    header: Window,
}

impl IpView {
    /// Sum of the pseudo-header words in memory order (RFC 5798 §5.2.8 for IPv4, RFC 8200 §8.1
    /// for IPv6): source and destination addresses, protocol, message length.
    #[inline(always)]
    fn pseudo_sum(&self) -> u32 {
        let addresses = if self.family == FAMILY_IPV4 {
            checksum::words(self.header, 12, 8)
        } else {
            checksum::words(self.header, 8, 32)
        };
        addresses + word(u16::from(IPPROTO_VRRP)) + word(self.len as u16)
    }

    /// The IPv4 pseudo-header sum without the destination address (keepalived's pre-1.3.6
    /// unicast form puts the multicast group there, which only the instance knows).
    #[inline(always)]
    fn pseudo_sum_without_destination(&self) -> u32 {
        checksum::words(self.header, 12, 4) + word(u16::from(IPPROTO_VRRP)) + word(self.len as u16)
    }
}

/// `len` bytes of the frame at `offset`, checked against its end (the verifier checks it too).
///
/// Every offset read as 16 bits is even, counted from the frame's start, which the kernel
/// places at an even address (a page, or an skb's head, plus an even headroom); on x86-64 and
/// arm64 an odd one would still load correctly.
#[derive(Clone, Copy)]
pub struct Window {
    start: usize,
}

impl Window {
    #[inline(always)]
    pub fn new(packet: &impl Packet, offset: usize, len: usize) -> Option<Self> {
        let start = packet.data() + offset;
        (start + len <= packet.data_end()).then_some(Self { start })
    }

    /// The window's first byte, for helpers that read it.
    #[inline(always)]
    pub fn as_ptr(self) -> *mut u32 {
        self.start as *mut u32
    }

    #[inline(always)]
    pub fn u8(self, at: usize) -> u8 {
        // SAFETY: `at` lies inside the window, whose bounds were checked.
        unsafe { *((self.start + at) as *const u8) }
    }

    /// The 16-bit word at `at` in memory order: for sums that do not depend on byte order.
    #[inline(always)]
    pub fn ne16(self, at: usize) -> u16 {
        // SAFETY: inside the checked window, at an even address (see the type's comment).
        unsafe { *((self.start + at) as *const u16) }
    }

    /// The big-endian field at `at`.
    #[inline(always)]
    pub fn be16(self, at: usize) -> u16 {
        u16::from_be(self.ne16(at))
    }

    /// `N` bytes at `at` (`N` even), copied 16 bits at a time.
    #[inline(always)]
    pub fn bytes<const N: usize>(self, at: usize) -> [u8; N] {
        let mut out = [0u8; N];
        let mut index = 0;
        while index < N {
            out[index..index + 2].copy_from_slice(&self.ne16(at + index).to_ne_bytes());
            index += 2;
        }
        out
    }
}

/// A big-endian 16-bit value as a word of the frame reads in memory order.
#[inline(always)]
pub const fn word(value: u16) -> u32 {
    value.to_be() as u32
}

/// What a frame is, as far as the rules need to know.
pub enum Parsed {
    /// A valid VRRP advertisement.
    Vrrp(Frame),
    /// IPv4 or IPv6 that is not VRRP: traffic Accept_Mode may refuse.
    Ip(IpPacket),
    /// Anything else (ARP among it), and frames too short to classify.
    Other,
}

/// An IP packet that is not VRRP, its header in place.
pub struct IpPacket {
    pub family: u8,
    /// The IP header: 20 bytes of IPv4, or IPv6's 40.
    pub header: Window,
    /// Offset of the IP payload from the start of the frame (past IPv6's extension headers
    /// it is their first, not followed).
    pub payload: usize,
}

/// Where classification of the IP layer ends.
enum IpLayer {
    Vrrp(IpView),
    Other(IpPacket),
    /// Not IPv4 / IPv6, or too short to tell.
    Unclassified,
}

#[inline(always)]
pub fn parse_frame(ctx: &impl Packet) -> Result<Parsed, Counter> {
    let Some(ethernet) = Window::new(ctx, 0, ETH_HLEN) else {
        return Ok(Parsed::Other);
    };
    let mut ethertype = ethernet.be16(12);
    let mut offset = ETH_HLEN;
    let mut vlan = 0;
    let mut tags_in_frame = 0;
    // 802.1ad outer tag, then 802.1Q: at most two tags.
    for tags in 0..2 {
        if ethertype != ETH_P_8021Q && ethertype != ETH_P_8021AD {
            break;
        }
        let Some(tag) = Window::new(ctx, offset, VLAN_HLEN) else {
            return Ok(Parsed::Other);
        };
        vlan = if tags == 0 { tag.be16(0) & VLAN_VID_MASK } else { VLAN_STACKED };
        tags_in_frame = tags + 1;
        ethertype = tag.be16(2);
        offset += VLAN_HLEN;
    }
    let ip = match ethertype {
        ETH_P_IP => parse_ipv4(ctx, offset)?,
        ETH_P_IPV6 => parse_ipv6(ctx, offset)?,
        _ => IpLayer::Unclassified,
    };
    match ip {
        IpLayer::Vrrp(ip) => {
            // An outer tag the kernel or the driver took out of the frame counts as the first
            // of the two, the frame's own tags coming after it. Asked for VRRP frames only: on
            // a device-bound XDP program it is a kernel function call.
            let vlan = match ctx.offloaded_vlan_tci() {
                None => vlan,
                Some(tci) if tags_in_frame == 0 => tci & VLAN_VID_MASK,
                Some(_) if tags_in_frame == 1 => VLAN_STACKED,
                Some(_) => return Ok(Parsed::Other),
            };
            parse_vrrp(ctx, &ip, ethernet.bytes::<6>(6), vlan).map(Parsed::Vrrp)
        }
        IpLayer::Other(packet) => Ok(Parsed::Ip(packet)),
        IpLayer::Unclassified => Ok(Parsed::Other),
    }
}

#[inline(always)]
fn parse_ipv4(ctx: &impl Packet, offset: usize) -> Result<IpLayer, Counter> {
    let Some(header) = Window::new(ctx, offset, IPV4_MIN_HLEN) else {
        return Ok(IpLayer::Unclassified);
    };
    let version_ihl = header.u8(0);
    if version_ihl >> 4 != 4 {
        return Ok(IpLayer::Unclassified);
    }
    if header.u8(9) != IPPROTO_VRRP {
        let payload = offset + usize::from(version_ihl & 0x0f) * 4;
        return Ok(IpLayer::Other(IpPacket { family: FAMILY_IPV4, header, payload }));
    }
    let header_len = usize::from(version_ihl & 0x0f) * 4;
    if header_len < IPV4_MIN_HLEN {
        return Err(Counter::BadIhl);
    }
    if header.be16(6) & IPV4_FRAGMENT_MASK != 0 {
        return Err(Counter::Fragment);
    }
    let total_len = usize::from(header.be16(2));
    if total_len < header_len + VRRP_HEADER_LEN || offset + total_len > ctx.len() {
        return Err(Counter::Truncated);
    }
    let (mut source, mut destination) = ([0u8; 16], [0u8; 16]);
    source[..4].copy_from_slice(&header.bytes::<4>(12));
    destination[..4].copy_from_slice(&header.bytes::<4>(16));
    let len = total_len - header_len;
    Ok(IpLayer::Vrrp(IpView {
        family: FAMILY_IPV4,
        offset: offset + header_len,
        len,
        ttl: header.u8(8),
        source,
        destination,
        header,
    }))
}

#[inline(always)]
fn parse_ipv6(ctx: &impl Packet, offset: usize) -> Result<IpLayer, Counter> {
    let Some(header) = Window::new(ctx, offset, IPV6_HLEN) else {
        return Ok(IpLayer::Unclassified);
    };
    if header.u8(0) >> 4 != 6 {
        return Ok(IpLayer::Unclassified);
    }
    // Extension headers are not followed: such a frame is not VRRP to the rules.
    if header.u8(6) != IPPROTO_VRRP {
        let payload = offset + IPV6_HLEN;
        return Ok(IpLayer::Other(IpPacket { family: FAMILY_IPV6, header, payload }));
    }
    let len = usize::from(header.be16(4));
    if len < VRRP_HEADER_LEN || offset + IPV6_HLEN + len > ctx.len() {
        return Err(Counter::Truncated);
    }
    Ok(IpLayer::Vrrp(IpView {
        family: FAMILY_IPV6,
        offset: offset + IPV6_HLEN,
        len,
        ttl: header.u8(7),
        source: header.bytes::<16>(8),
        destination: header.bytes::<16>(24),
        header,
    }))
}

#[inline(always)]
fn parse_vrrp(
    ctx: &impl Packet,
    ip: &IpView,
    source_mac: [u8; 6],
    vlan: u16,
) -> Result<Frame, Counter> {
    let Some(header) = Window::new(ctx, ip.offset, VRRP_HEADER_LEN) else {
        return Err(Counter::Truncated);
    };
    let version_type = header.u8(0);
    let version = version_type >> 4;
    // RFC 9568 §5.2.1 (v3), RFC 3768 §5.3.1 (v2, IPv4 only).
    if version != 2 && version != 3 {
        return Err(Counter::BadVersion);
    }
    if version == 2 && ip.family == FAMILY_IPV6 {
        return Err(Counter::FamilyMismatch);
    }
    // RFC 9568 §5.2.2: advertisement is the only type.
    if version_type & 0x0f != VRRP_TYPE_ADVERTISEMENT {
        return Err(Counter::BadType);
    }
    // RFC 9568 §5.2.5, §7.1: the count must match the length.
    let count = usize::from(header.u8(3));
    if count == 0 {
        return Err(Counter::BadAddrCount);
    }
    let address_len = if ip.family == FAMILY_IPV4 { 4 } else { 16 };
    let auth_len = if version == 2 { VRRP_V2_AUTH_LEN } else { 0 };
    let expected = VRRP_HEADER_LEN + count * address_len + auth_len;
    if ip.len != expected {
        // keepalived vrrp.c vrrp_check_packet(): a message longer by the trailer's length
        // carries an auth_hmac trailer; named apart so a signing peer is not taken for noise.
        let signed = ip.len == expected + AUTH_HMAC_TRAILER_LEN;
        return Err(if signed { Counter::AuthTrailer } else { Counter::BadLength });
    }
    // RFC 9568 §5.2.8 / RFC 3768 §5.3.8.
    let sum = checksum::message(ctx, ip.offset, ip.len)?;
    let mut pending_sum = 0;
    let checksum_form = if version == 2 {
        checksum::is_valid(sum).then_some(checksum_form::V2)
    } else if ip.family == FAMILY_IPV6 {
        checksum::is_valid(sum + ip.pseudo_sum()).then_some(checksum_form::V3_IPV6)
    } else if checksum::is_valid(sum + ip.pseudo_sum()) {
        Some(checksum_form::V3_IPV4_PSEUDO)
    } else if checksum::is_valid(sum) {
        Some(checksum_form::V3_IPV4_PLAIN)
    } else {
        pending_sum = sum + ip.pseudo_sum_without_destination();
        Some(OLD_FORM_PENDING)
    };
    let Some(checksum_form) = checksum_form else {
        return Err(Counter::BadChecksum);
    };
    let interval_cs = if version == 2 {
        // RFC 3768 §5.3.7: whole seconds.
        u16::from(header.u8(5)) * 100
    } else {
        // RFC 9568 §5.2.6: 4 reserved bits, ignored on receive (keepalived vrrp.c
        // vrrp_check_packet() masks them too), then Max Adver Int in centiseconds.
        header.be16(4) & 0x0fff
    };
    // A pending checksum is judged first (`rules`), then this.
    if interval_cs == 0 && checksum_form != OLD_FORM_PENDING {
        return Err(Counter::ZeroInterval);
    }
    // RFC 9568 §5.2.9 asks for the link-local virtual address first, but FRR sends its global
    // address alone and keepalived runs without a link-local one: noted, never dropped, since
    // a backup that drops its master's advertisements becomes a second master.
    let mut first_not_link_local = false;
    if ip.family == FAMILY_IPV6 {
        let Some(first) = Window::new(ctx, ip.offset + VRRP_HEADER_LEN, 2) else {
            return Err(Counter::Truncated);
        };
        first_not_link_local = first.be16(0) & 0xffc0 != 0xfe80;
    }
    let (mut auth_type, mut auth_data) = (0, [0u8; VRRP_V2_AUTH_LEN]);
    if version == 2 {
        // RFC 3768 §5.3.10: the last 8 bytes (the length was checked against the count). Read
        // by the kernel's helper: a direct read at this variable offset is one the compiler
        // rebases out of the range the verifier has checked.
        let auth_at = (ip.offset + ip.len - VRRP_V2_AUTH_LEN) as u32;
        if !ctx.load_bytes(auth_at, &mut auth_data) {
            return Err(Counter::Truncated);
        }
        auth_type = header.u8(4);
    }
    Ok(Frame {
        family: ip.family,
        version,
        vrid: header.u8(1),
        priority: header.u8(2),
        interval_cs,
        checksum_form,
        pending_sum,
        ttl: ip.ttl,
        source: ip.source,
        destination: ip.destination,
        source_mac,
        first_not_link_local,
        vlan,
        auth_type,
        auth_data,
    })
}
