//! Why a packet was rejected, with the kernel counter each reason is counted under.

use core::fmt;

use vrrp_common::Counter;

/// A malformed or unacceptable advertisement. The variants are listed in the order the decoder
/// checks them, which is also the order of the XDP program, so both name the same reason for a
/// packet with several faults.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DecodeError {
    /// IPv4 header length below 5 words.
    BadIhl(u8),
    /// An IPv4 fragment: VRRP messages are never fragmented and a fragment cannot be checked.
    Fragment,
    /// The bytes end before the length the IP header announces, or that length leaves no room
    /// for a VRRP header.
    Truncated { needed: usize, available: usize },
    /// Version is neither 2 nor 3 (RFC 9568 §5.2.1).
    BadVersion(u8),
    /// VRRPv2 over IPv6, or source and destination of different families.
    FamilyMismatch,
    /// Type is not 1, Advertisement (RFC 9568 §5.2.2).
    BadType(u8),
    /// Count IPvX Addr is zero (RFC 9568 §5.2.5: at least one address).
    ZeroAddressCount,
    /// A keepalived 2.4 `auth_hmac` trailer follows the message: vrrpd cannot verify it yet.
    AuthTrailer,
    /// The message length does not match the address count (RFC 9568 §7.1).
    LengthMismatch { count: u8, expected: usize, actual: usize },
    /// The checksum verifies in none of the forms allowed for this version and family.
    BadChecksum,
    /// Adver Int / Max Adver Int is zero: no timer can run on it.
    ZeroInterval,
    /// VRID 0 does not exist (RFC 9568 §5.2.3), so no instance can be configured for it.
    ZeroVrid,
    /// TTL / hop limit is not 255 (RFC 9568 §7.1: the packet may come from off-link), or
    /// outside a unicast peer's `min_ttl` / `max_ttl`.
    BadTtl(u8),
    /// VRRPv2 authentication type or password other than the instance's.
    AuthMismatch,
}

impl DecodeError {
    /// The per-reason counter of the XDP program that counts this rejection.
    ///
    /// VRID 0 has no counter of its own: it counts as `unknown_vrid`, since no instance can
    /// have it.
    pub const fn counter(&self) -> Counter {
        match self {
            DecodeError::Truncated { .. } => Counter::Truncated,
            DecodeError::BadIhl(_) => Counter::BadIhl,
            DecodeError::Fragment => Counter::Fragment,
            DecodeError::BadTtl(_) => Counter::BadTtl,
            DecodeError::BadVersion(_) => Counter::BadVersion,
            DecodeError::FamilyMismatch => Counter::FamilyMismatch,
            DecodeError::BadType(_) => Counter::BadType,
            DecodeError::ZeroAddressCount => Counter::BadAddrCount,
            DecodeError::AuthTrailer => Counter::AuthTrailer,
            DecodeError::LengthMismatch { .. } => Counter::BadLength,
            DecodeError::BadChecksum => Counter::BadChecksum,
            DecodeError::ZeroInterval => Counter::ZeroInterval,
            DecodeError::ZeroVrid => Counter::UnknownVrid,
            DecodeError::AuthMismatch => Counter::AuthMismatch,
        }
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeError::Truncated { needed, available } => {
                write!(f, "truncated: {needed} bytes needed, {available} available")
            }
            DecodeError::BadIhl(ihl) => write!(f, "bad IPv4 header length {ihl}"),
            DecodeError::Fragment => write!(f, "IPv4 fragment"),
            DecodeError::BadTtl(ttl) => write!(f, "TTL/hop limit {ttl} not accepted"),
            DecodeError::BadVersion(v) => write!(f, "unknown VRRP version {v}"),
            DecodeError::FamilyMismatch => write!(f, "VRRP version or addresses of another family"),
            DecodeError::BadType(t) => write!(f, "unknown VRRP type {t}"),
            DecodeError::ZeroAddressCount => write!(f, "address count 0"),
            DecodeError::AuthTrailer => {
                write!(f, "keepalived auth_hmac trailer (not supported yet)")
            }
            DecodeError::LengthMismatch { count, expected, actual } => {
                write!(f, "{count} addresses need a {expected}-byte message, got {actual} bytes")
            }
            DecodeError::BadChecksum => write!(f, "bad checksum"),
            DecodeError::ZeroInterval => write!(f, "advertisement interval 0"),
            DecodeError::ZeroVrid => write!(f, "VRID 0"),
            DecodeError::AuthMismatch => write!(f, "VRRPv2 authentication mismatch"),
        }
    }
}

impl std::error::Error for DecodeError {}

/// Why an advertisement cannot be put in a packet between the given addresses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EncodeError {
    /// Source or destination is not of the advertisement's address family.
    FamilyMismatch,
    /// keepalived's IPsec AH carries VRRPv2 over IPv4 only.
    AhNotV2Ipv4,
}

impl fmt::Display for EncodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EncodeError::FamilyMismatch => {
                write!(f, "source or destination not of the advertised family")
            }
            EncodeError::AhNotV2Ipv4 => write!(f, "IPsec AH carries VRRPv2 over IPv4 only"),
        }
    }
}

impl std::error::Error for EncodeError {}
