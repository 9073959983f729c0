//! Wire constants both sides need (RFC 9568 §5, RFC 3768 §5).

pub const ETH_HLEN: usize = 14;
pub const ETH_P_IP: u16 = 0x0800;
pub const ETH_P_IPV6: u16 = 0x86DD;
pub const ETH_P_8021Q: u16 = 0x8100;
pub const ETH_P_8021AD: u16 = 0x88A8;
pub const VLAN_HLEN: usize = 4;

/// IP protocol number of VRRP (RFC 9568 §5.1.1.4).
pub const IPPROTO_VRRP: u8 = 112;
pub const IPPROTO_ICMPV6: u8 = 58;
/// ICMPv6 neighbour solicitation and advertisement (RFC 4861 §4.3, §4.4).
pub const ND_NEIGHBOR_SOLICIT: u8 = 135;
pub const ND_NEIGHBOR_ADVERT: u8 = 136;
/// TTL / hop limit every advertisement must carry (RFC 9568 §5.1.1.3, §5.1.2.3).
pub const VRRP_TTL: u8 = 255;
/// IPv4 multicast group 224.0.0.18 (RFC 9568 §5.1.1.2).
pub const VRRP_GROUP_V4: [u8; 4] = [224, 0, 0, 18];
/// IPv6 multicast group ff02::12 (RFC 9568 §5.1.2.2).
pub const VRRP_GROUP_V6: [u8; 16] = [0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x12];

/// Fixed part of the VRRP header, before the addresses (RFC 9568 §5.2).
pub const VRRP_HEADER_LEN: usize = 8;
/// VRRPv2 carries 8 bytes of authentication data after the addresses (RFC 3768 §5.3.10).
pub const VRRP_V2_AUTH_LEN: usize = 8;
/// VRRPv2 Auth Type 1: a simple text password in the authentication data (RFC 2338 §5.3.6.1,
/// keepalived's `auth_type PASS`).
pub const VRRP_AUTH_PASS: u8 = 1;
/// keepalived 2.4's `auth_hmac` trailer after the VRRP message (vrrp_auth_hmac.h
/// vrrp_auth_ext_t): recognised, as keepalived does, by the message being this much longer than
/// its address count says.
pub const AUTH_HMAC_TRAILER_LEN: usize = 28;
/// Advertisement is the only VRRP message type (RFC 9568 §5.2.2).
pub const VRRP_TYPE_ADVERTISEMENT: u8 = 1;
