//! The Internet checksum (RFC 1071) and the pseudo-headers VRRP puts under it.
//!
//! - VRRPv2: over the VRRP message only (RFC 3768 §5.3.8).
//! - VRRPv3 over IPv6: with the IPv6 pseudo-header (RFC 8200 §8.1, RFC 9568 §5.2.8).
//! - VRRPv3 over IPv4: RFC 5798 said "with a pseudo-header" and keepalived (and most of the field)
//!   read that as the IPv4 pseudo-header of RFC 768, built on the packet's real destination (the
//!   peer's address in unicast mode); RFC 9568 §5.2.8 says IPv4 has no pseudo-header. Both exist.
//! - VRRPv3 over IPv4 unicast, keepalived before 1.3.6 (and its `old_unicast_checksum`): the
//!   IPv4 pseudo-header with the multicast group as destination although the packet goes to the
//!   peer (keepalived vrrp.c vrrp_build_vrrp_v3(), vrrp_in_chk()).

use std::net::{IpAddr, Ipv4Addr};

use vrrp_common::checksum_form;

/// Which checksum to put on VRRPv3 over IPv4. Other kinds have only one form.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum ChecksumMode {
    /// With the IPv4 pseudo-header: RFC 5798 as keepalived implements it (its default).
    #[default]
    Ipv4PseudoHeader,
    /// Over the VRRP message only: RFC 9568 §5.2.8.
    Ipv4Plain,
    /// The IPv4 pseudo-header with `group` as its destination whatever the real one:
    /// keepalived's pre-1.3.6 unicast form (vrrp.c vrrp_build_vrrp_v3(), `ipv4_phdr.dst` set to
    /// global_data->vrrp_mcast_group4 when `unicast_chksum_compat` is CONFIG or AUTO).
    Ipv4OldUnicast { group: Ipv4Addr },
}

/// Which checksum a received advertisement carried.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ChecksumForm {
    V2,
    V3Ipv4PseudoHeader,
    V3Ipv4Plain,
    V3Ipv6,
    /// The pseudo-header on the multicast group (see [`ChecksumMode::Ipv4OldUnicast`]).
    V3Ipv4OldUnicast,
}

impl ChecksumForm {
    /// The value the kernel records, one of [`vrrp_common::checksum_form`].
    pub const fn as_common(self) -> u8 {
        match self {
            ChecksumForm::V2 => checksum_form::V2,
            ChecksumForm::V3Ipv4PseudoHeader => checksum_form::V3_IPV4_PSEUDO,
            ChecksumForm::V3Ipv4Plain => checksum_form::V3_IPV4_PLAIN,
            ChecksumForm::V3Ipv6 => checksum_form::V3_IPV6,
            ChecksumForm::V3Ipv4OldUnicast => checksum_form::V3_IPV4_OLD_UNICAST,
        }
    }
}

/// The one's complement sum of `data` as big-endian 16-bit words, added to `sum`, not folded.
pub(crate) fn sum_words(data: &[u8], mut sum: u64) -> u64 {
    let mut words = data.chunks_exact(2);
    for word in &mut words {
        sum += u64::from(u16::from_be_bytes([word[0], word[1]]));
    }
    if let [last] = words.remainder() {
        sum += u64::from(*last) << 8;
    }
    sum
}

/// Folds a sum to 16 bits with end-around carry.
pub(crate) fn fold(mut sum: u64) -> u16 {
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    sum as u16
}

/// The sum of the pseudo-header for an upper-layer message of `length` bytes: source,
/// destination, `protocol` and the length, in the layout of RFC 768 (IPv4) or RFC 8200 §8.1
/// (IPv6). The layouts differ only in field widths, which do not change a one's complement sum.
pub(crate) fn pseudo_header_sum(
    source: IpAddr,
    destination: IpAddr,
    protocol: u8,
    length: usize,
) -> u64 {
    let address_sum = |address: IpAddr| match address {
        IpAddr::V4(a) => sum_words(&a.octets(), 0),
        IpAddr::V6(a) => sum_words(&a.octets(), 0),
    };
    address_sum(source) + address_sum(destination) + u64::from(protocol) + length as u64
}

/// The checksum of an upper-layer `message` of `protocol` (its checksum field zero) with its
/// pseudo-header: what VRRPv3 and ICMPv6 (neighbour advertisements, RFC 4443 §2.3) both use.
pub fn upper_layer_checksum(
    message: &[u8],
    source: IpAddr,
    destination: IpAddr,
    protocol: u8,
) -> u16 {
    compute(message, pseudo_header_sum(source, destination, protocol, message.len()))
}

/// The checksum field value for `message` whose checksum field is zero.
pub(crate) fn compute(message: &[u8], pseudo_header: u64) -> u16 {
    !fold(sum_words(message, pseudo_header))
}

/// Whether `message`, checksum field included, sums to all ones.
pub(crate) fn verifies(message: &[u8], pseudo_header: u64) -> bool {
    fold(sum_words(message, pseudo_header)) == 0xffff
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc1071_example_sums_as_published() {
        // RFC 1071 §3: the bytes 00 01 f2 03 f4 f5 f6 f7 sum to ddf2.
        let data = [0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7];
        assert_eq!(fold(sum_words(&data, 0)), 0xddf2);
        assert_eq!(compute(&data, 0), !0xddf2);
    }

    #[test]
    fn odd_length_pads_with_a_zero_byte() {
        assert_eq!(fold(sum_words(&[0x12, 0x34, 0x56], 0)), 0x1234 + 0x5600);
    }
}
