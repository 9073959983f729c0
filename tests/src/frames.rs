//! Crafting frames for the kernel tests: Ethernet (optionally VLAN-tagged) around IPv4 or IPv6.
//!
//! The VRRP message itself comes from `vrrp-proto`'s encoder where a test wants a valid one;
//! tests that need malformed messages start from those bytes and break them.

use std::net::{Ipv4Addr, Ipv6Addr};

use vrrp_common::wire::{
    ETH_P_8021Q, ETH_P_IP, ETH_P_IPV6, IPPROTO_ICMPV6, IPPROTO_VRRP, ND_NEIGHBOR_SOLICIT, VRRP_TTL,
};

pub const VRRP_MULTICAST_MAC: [u8; 6] = [0x01, 0x00, 0x5e, 0x00, 0x00, 0x12];
pub const PEER_MAC: [u8; 6] = [0x02, 0x00, 0x00, 0x00, 0x00, 0x02];
pub const BROADCAST_MAC: [u8; 6] = [0xff; 6];
const ETH_P_ARP: u16 = 0x0806;
/// IPv4 flags/offset word with More Fragments set.
pub const IPV4_MORE_FRAGMENTS: u16 = 0x2000;
/// A keepalived 2.4 `auth_hmac` trailer (vrrp_auth_hmac.h vrrp_auth_ext_t): HMAC-SHA256 (type
/// 1), key 1, a time-based sequence, a 16-byte truncated HMAC (made up: nothing verifies it).
pub const AUTH_HMAC_TRAILER: [u8; 28] = [
    1, 1, 0, 0, 0x69, 0x2e, 0x1a, 0x00, 0x80, 0x00, 0x00, 0x01, 0xde, 0xad, 0xbe, 0xef, 0xde, 0xad,
    0xbe, 0xef, 0xde, 0xad, 0xbe, 0xef, 0xde, 0xad, 0xbe, 0xef,
];

/// A VLAN tag: its TPID (802.1Q 0x8100 or 802.1ad 0x88a8) and VLAN id.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tag {
    pub tpid: u16,
    pub vid: u16,
}

/// RFC 1071 checksum of `data` with an initial `sum`.
pub fn internet_checksum(data: &[u8], mut sum: u32) -> u16 {
    for chunk in data.chunks(2) {
        let word = u16::from_be_bytes([chunk[0], *chunk.get(1).unwrap_or(&0)]);
        sum += u32::from(word);
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// Ethernet header, `vlans` 802.1Q tags (VLAN ids), then `payload`.
pub fn ethernet(source: [u8; 6], ethertype: u16, vlans: &[u16], payload: &[u8]) -> Vec<u8> {
    let tags: Vec<Tag> = vlans.iter().map(|&vid| Tag { tpid: ETH_P_8021Q, vid }).collect();
    ethernet_tagged(VRRP_MULTICAST_MAC, source, ethertype, &tags, payload)
}

/// Ethernet header with `tags` (outermost first), then `payload`.
pub fn ethernet_tagged(
    destination: [u8; 6],
    source: [u8; 6],
    ethertype: u16,
    tags: &[Tag],
    payload: &[u8],
) -> Vec<u8> {
    let mut frame = Vec::with_capacity(14 + 4 * tags.len() + payload.len());
    frame.extend_from_slice(&destination);
    frame.extend_from_slice(&source);
    for tag in tags {
        frame.extend_from_slice(&tag.tpid.to_be_bytes());
        frame.extend_from_slice(&tag.vid.to_be_bytes());
    }
    frame.extend_from_slice(&ethertype.to_be_bytes());
    frame.extend_from_slice(payload);
    frame
}

/// An IPv4 packet (no options) with a correct header checksum.
pub fn ipv4(
    source: Ipv4Addr,
    destination: Ipv4Addr,
    ttl: u8,
    protocol: u8,
    payload: &[u8],
) -> Vec<u8> {
    let total = (20 + payload.len()) as u16;
    let mut packet = vec![0x45, 0];
    packet.extend_from_slice(&total.to_be_bytes());
    packet.extend_from_slice(&[0, 0, 0, 0, ttl, protocol, 0, 0]);
    packet.extend_from_slice(&source.octets());
    packet.extend_from_slice(&destination.octets());
    let checksum = internet_checksum(&packet, 0);
    packet[10..12].copy_from_slice(&checksum.to_be_bytes());
    packet.extend_from_slice(payload);
    packet
}

/// An IPv6 packet without extension headers.
pub fn ipv6(
    source: Ipv6Addr,
    destination: Ipv6Addr,
    hop_limit: u8,
    next: u8,
    payload: &[u8],
) -> Vec<u8> {
    let mut packet = vec![0x60, 0, 0, 0];
    packet.extend_from_slice(&(payload.len() as u16).to_be_bytes());
    packet.extend_from_slice(&[next, hop_limit]);
    packet.extend_from_slice(&source.octets());
    packet.extend_from_slice(&destination.octets());
    packet.extend_from_slice(payload);
    packet
}

/// A VRRPv3 advertisement over IPv4 with keepalived's checksum (IPv4 pseudo-header), in an
/// Ethernet frame from `PEER_MAC`: the most common frame in the field.
pub fn vrrp_v3_ipv4(
    source: Ipv4Addr,
    destination: Ipv4Addr,
    vrid: u8,
    priority: u8,
    interval_cs: u16,
    addresses: &[Ipv4Addr],
) -> Vec<u8> {
    let mut message = vec![0x31, vrid, priority, addresses.len() as u8];
    message.extend_from_slice(&interval_cs.to_be_bytes());
    message.extend_from_slice(&[0, 0]);
    for address in addresses {
        message.extend_from_slice(&address.octets());
    }
    let pseudo_sum = ipv4_pseudo_sum(source, destination, IPPROTO_VRRP, message.len());
    let checksum = internet_checksum(&message, pseudo_sum);
    message[6..8].copy_from_slice(&checksum.to_be_bytes());
    let packet = ipv4(source, destination, VRRP_TTL, IPPROTO_VRRP, &message);
    ethernet(PEER_MAC, ETH_P_IP, &[], &packet)
}

/// A frame that is not VRRP: a small UDP datagram.
pub fn udp_ipv4(source: Ipv4Addr, destination: Ipv4Addr) -> Vec<u8> {
    udp_ipv4_frame(source, destination, 14 + 20 + 12)
}

/// A UDP datagram in a frame of exactly `frame_len` bytes (at least 42), zero payload bytes.
pub fn udp_ipv4_frame(source: Ipv4Addr, destination: Ipv4Addr, frame_len: usize) -> Vec<u8> {
    let udp_len = frame_len - 14 - 20;
    let mut udp = vec![0x30, 0x39, 0x00, 0x35];
    udp.extend_from_slice(&(udp_len as u16).to_be_bytes());
    udp.resize(udp_len, 0);
    ethernet(PEER_MAC, ETH_P_IP, &[], &ipv4(source, destination, 64, libc::IPPROTO_UDP as u8, &udp))
}

/// The first fragment of a UDP datagram (More Fragments set).
pub fn udp_ipv4_fragment(source: Ipv4Addr, destination: Ipv4Addr) -> Vec<u8> {
    let mut frame = udp_ipv4_frame(source, destination, 14 + 20 + 64);
    frame[14 + 6..14 + 8].copy_from_slice(&IPV4_MORE_FRAGMENTS.to_be_bytes());
    frame
}

/// A TCP SYN (20-byte TCP header, no options).
pub fn tcp_syn_ipv4(source: Ipv4Addr, destination: Ipv4Addr) -> Vec<u8> {
    let mut tcp = vec![0xc3, 0x50, 0x00, 0x16, 0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x02, 0xff, 0xff];
    tcp.extend_from_slice(&[0, 0, 0, 0]);
    ethernet(PEER_MAC, ETH_P_IP, &[], &ipv4(source, destination, 64, libc::IPPROTO_TCP as u8, &tcp))
}

/// An ARP request (RFC 826) for `target`, broadcast.
pub fn arp_request(sender_mac: [u8; 6], sender: Ipv4Addr, target: Ipv4Addr) -> Vec<u8> {
    let mut arp = vec![0x00, 0x01, 0x08, 0x00, 6, 4, 0x00, 0x01];
    arp.extend_from_slice(&sender_mac);
    arp.extend_from_slice(&sender.octets());
    arp.extend_from_slice(&[0; 6]);
    arp.extend_from_slice(&target.octets());
    ethernet_tagged(BROADCAST_MAC, sender_mac, ETH_P_ARP, &[], &arp)
}

/// An ICMPv6 neighbour solicitation (RFC 4861 §4.3) for `target`, with the source link-layer
/// address option, to the target's solicited-node group.
pub fn neighbour_solicitation(sender_mac: [u8; 6], source: Ipv6Addr, target: Ipv6Addr) -> Vec<u8> {
    let t = target.octets();
    let low = u16::from_be_bytes([t[14], t[15]]);
    let group = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 1, 0xff00 | u16::from(t[13]), low);
    let group_mac = [0x33, 0x33, 0xff, t[13], t[14], t[15]];
    neighbour_discovery(ND_NEIGHBOR_SOLICIT, (sender_mac, group_mac), source, group, target)
}

/// A neighbour solicitation or advertisement (`kind`) about `target`, from `source` to
/// `destination`, between the MACs `(from, to)`: a unicast one addresses the target itself
/// (RFC 4861 §7.3.1 reachability confirmation).
pub fn neighbour_discovery(
    kind: u8,
    (from, to): ([u8; 6], [u8; 6]),
    source: Ipv6Addr,
    destination: Ipv6Addr,
    target: Ipv6Addr,
) -> Vec<u8> {
    let mut icmp = vec![kind, 0, 0, 0, 0, 0, 0, 0];
    icmp.extend_from_slice(&target.octets());
    icmp.extend_from_slice(&[1, 1]);
    icmp.extend_from_slice(&from);
    let pseudo = ipv6_pseudo_sum(source, destination, IPPROTO_ICMPV6, icmp.len());
    let checksum = internet_checksum(&icmp, pseudo);
    icmp[2..4].copy_from_slice(&checksum.to_be_bytes());
    let packet = ipv6(source, destination, VRRP_TTL, IPPROTO_ICMPV6, &icmp);
    ethernet_tagged(to, from, ETH_P_IPV6, &[], &packet)
}

/// An ICMP echo request (RFC 792) from `PEER_MAC`.
pub fn icmp_echo_ipv4(source: Ipv4Addr, destination: Ipv4Addr) -> Vec<u8> {
    let mut icmp = vec![8, 0, 0, 0, 0x12, 0x34, 0, 1];
    let checksum = internet_checksum(&icmp, 0);
    icmp[2..4].copy_from_slice(&checksum.to_be_bytes());
    let packet = ipv4(source, destination, 64, libc::IPPROTO_ICMP as u8, &icmp);
    ethernet(PEER_MAC, ETH_P_IP, &[], &packet)
}

/// An ICMPv6 echo request (RFC 4443 §4.1) from `PEER_MAC`.
pub fn icmpv6_echo(source: Ipv6Addr, destination: Ipv6Addr) -> Vec<u8> {
    let mut icmp = vec![128, 0, 0, 0, 0x12, 0x34, 0, 1];
    let pseudo = ipv6_pseudo_sum(source, destination, IPPROTO_ICMPV6, icmp.len());
    let checksum = internet_checksum(&icmp, pseudo);
    icmp[2..4].copy_from_slice(&checksum.to_be_bytes());
    ethernet(PEER_MAC, ETH_P_IPV6, &[], &ipv6(source, destination, 64, IPPROTO_ICMPV6, &icmp))
}

/// Sum of the IPv4 pseudo-header words (RFC 768) for an upper-layer message of `len` bytes.
pub fn ipv4_pseudo_sum(source: Ipv4Addr, destination: Ipv4Addr, protocol: u8, len: usize) -> u32 {
    word_sum(&source.octets()) + word_sum(&destination.octets()) + u32::from(protocol) + len as u32
}

/// Sum of the IPv6 pseudo-header words (RFC 8200 §8.1) for an upper-layer message of `len` bytes.
pub fn ipv6_pseudo_sum(source: Ipv6Addr, destination: Ipv6Addr, next: u8, len: usize) -> u32 {
    word_sum(&source.octets()) + word_sum(&destination.octets()) + u32::from(next) + len as u32
}

fn word_sum(bytes: &[u8]) -> u32 {
    bytes.chunks(2).map(|word| u32::from(u16::from_be_bytes([word[0], word[1]]))).sum()
}
