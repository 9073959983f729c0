//! Accept_Mode False (RFC 9568 §6.4.3): a master that is not the address owner does not accept
//! packets addressed to the virtual addresses. The daemon lists those addresses while it holds
//! them, per interface; what is dropped follows keepalived's firewall rules (vrrp_iptables.c
//! handle_iptable_rule_to_vip()): every IPv4 / IPv6 packet to the address, except neighbour
//! solicitations and advertisements for it, so the address still resolves. ARP is not IP and
//! never reaches here; VRRP is judged by its own rules before.

use vrrp_common::{
    wire::{IPPROTO_ICMPV6, ND_NEIGHBOR_ADVERT, ND_NEIGHBOR_SOLICIT},
    AddressKey, FAMILY_IPV4,
};

use crate::{
    maps,
    packet::Packet,
    parse::{IpPacket, Window},
};

/// Whether `ip` is refused. On an interface that refuses nothing this is one array read.
#[inline(always)]
pub fn refused(ctx: &impl Packet, ip: &IpPacket) -> bool {
    let ifindex = ctx.ingress_ifindex();
    if !maps::refusing_on(ifindex) {
        return false;
    }
    let mut key = AddressKey { ifindex, family: ip.family, _pad: [0; 3], addr: [0; 16] };
    if ip.family == FAMILY_IPV4 {
        key.addr[..4].copy_from_slice(&ip.header.bytes::<4>(16));
    } else {
        key.addr = ip.header.bytes::<16>(24);
    }
    maps::refused(&key) && !is_neighbour_discovery(ctx, ip)
}

/// An ICMPv6 neighbour solicitation or advertisement directly after the IPv6 header.
#[inline(always)]
fn is_neighbour_discovery(ctx: &impl Packet, ip: &IpPacket) -> bool {
    if ip.family == FAMILY_IPV4 || ip.header.u8(6) != IPPROTO_ICMPV6 {
        return false;
    }
    let Some(icmp) = Window::new(ctx, ip.payload, 2) else {
        return false;
    };
    matches!(icmp.u8(0), ND_NEIGHBOR_SOLICIT | ND_NEIGHBOR_ADVERT)
}
