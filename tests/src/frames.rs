//! Crafting frames for the kernel tests: Ethernet (optionally VLAN-tagged) around IPv4 or IPv6.
//!
//! The VRRP message itself comes from `vrrp-proto`'s encoder where a test wants a valid one;
//! tests that need malformed messages start from those bytes and break them.

use std::net::{Ipv4Addr, Ipv6Addr};

use vrrp_common::wire::{ETH_P_8021Q, ETH_P_IP, IPPROTO_VRRP, VRRP_TTL};

pub const VRRP_MULTICAST_MAC: [u8; 6] = [0x01, 0x00, 0x5e, 0x00, 0x00, 0x12];
pub const PEER_MAC: [u8; 6] = [0x02, 0x00, 0x00, 0x00, 0x00, 0x02];

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
    let mut frame = Vec::with_capacity(14 + 4 * vlans.len() + payload.len());
    frame.extend_from_slice(&VRRP_MULTICAST_MAC);
    frame.extend_from_slice(&source);
    for vlan in vlans {
        frame.extend_from_slice(&ETH_P_8021Q.to_be_bytes());
        frame.extend_from_slice(&vlan.to_be_bytes());
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
    let mut pseudo = Vec::new();
    pseudo.extend_from_slice(&source.octets());
    pseudo.extend_from_slice(&destination.octets());
    pseudo.extend_from_slice(&[0, IPPROTO_VRRP]);
    pseudo.extend_from_slice(&(message.len() as u16).to_be_bytes());
    let pseudo_sum =
        pseudo.chunks(2).map(|word| u32::from(u16::from_be_bytes([word[0], word[1]]))).sum();
    let checksum = internet_checksum(&message, pseudo_sum);
    message[6..8].copy_from_slice(&checksum.to_be_bytes());
    let packet = ipv4(source, destination, VRRP_TTL, IPPROTO_VRRP, &message);
    ethernet(PEER_MAC, ETH_P_IP, &[], &packet)
}

/// A frame that is not VRRP: a small UDP datagram.
pub fn udp_ipv4(source: Ipv4Addr, destination: Ipv4Addr) -> Vec<u8> {
    let udp = [0x30, 0x39, 0x00, 0x35, 0x00, 0x0c, 0x00, 0x00, b'p', b'i', b'n', b'g'];
    ethernet(PEER_MAC, ETH_P_IP, &[], &ipv4(source, destination, 64, libc::IPPROTO_UDP as u8, &udp))
}
