//! VRRP advertisements: the message, its checksums, and its IPv4 / IPv6 envelopes.
//!
//! VRRPv3 (RFC 9568 §5.1):
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |Version| Type  | Virtual Rtr ID|   Priority    |Count IPvX Addr|
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |(rsvd) |     Max Adver Int     |          Checksum             |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                       IPvX Address(es)                        |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```
//!
//! VRRPv2 (RFC 3768 §5.1), IPv4 only:
//!
//! ```text
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |Version| Type  | Virtual Rtr ID|   Priority    | Count IP Addrs|
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |   Auth Type   |   Adver Int   |          Checksum             |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                         IP Address(es)                        |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                     Authentication Data (1)                   |
//! |                     Authentication Data (2)                   |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```

mod ah;
mod checksum;
mod codec;
mod error;
mod ip;

use std::net::IpAddr;

pub use ah::{
    decode_ah_packet, AhEnvelope, AhKey, AhPacket, AhSequence, AH_HEADER_LEN, IPPROTO_AH,
};
pub use checksum::{upper_layer_checksum, ChecksumForm, ChecksumMode};
pub use codec::{decode_payload, IpMetadata, ReceiveChecks, Received};
pub use error::{DecodeError, EncodeError};
pub use ip::decode_ip_packet;

use crate::interval::Centiseconds;

/// VRRP protocol version.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Version {
    /// RFC 3768: IPv4 only, interval in whole seconds, authentication fields.
    V2,
    /// RFC 9568 (and RFC 5798): IPv4 and IPv6, interval in centiseconds.
    V3,
}

impl Version {
    pub const fn number(self) -> u8 {
        match self {
            Version::V2 => 2,
            Version::V3 => 3,
        }
    }
}

/// Address family of a virtual router.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Family {
    Ipv4,
    Ipv6,
}

impl Family {
    pub const fn of(address: &IpAddr) -> Self {
        match address {
            IpAddr::V4(_) => Family::Ipv4,
            IpAddr::V6(_) => Family::Ipv6,
        }
    }

    /// Bytes of one address on the wire.
    pub const fn address_len(self) -> usize {
        match self {
            Family::Ipv4 => 4,
            Family::Ipv6 => 16,
        }
    }

    /// The value stored in the kernel's map keys.
    pub const fn as_common(self) -> u8 {
        match self {
            Family::Ipv4 => vrrp_common::FAMILY_IPV4,
            Family::Ipv6 => vrrp_common::FAMILY_IPV6,
        }
    }
}

/// VRRPv2 authentication fields (RFC 3768 §5.3.6, §5.3.10), carried verbatim. RFC 3768 removed
/// authentication, but keepalived still sends type 1 (simple text) when `authentication` is set,
/// so the fields round-trip unchanged.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct V2Auth {
    pub auth_type: u8,
    pub data: [u8; 8],
}

impl V2Auth {
    /// Auth Type 0, data zero: what RFC 3768 senders put there.
    pub const NONE: V2Auth = V2Auth { auth_type: 0, data: [0; 8] };
    /// Auth Type 1, simple text password (RFC 2338 §5.3.6.1; keepalived's `auth_type PASS`).
    pub const TYPE_PASS: u8 = vrrp_common::wire::VRRP_AUTH_PASS;
    /// Auth Type 2, IPsec AH (RFC 2338 §5.3.6.2; keepalived's `auth_type AH`): the data is zero,
    /// the proof is in the AH header around the message (see [`decode_ah_packet`]).
    pub const AH: V2Auth = V2Auth { auth_type: 2, data: [0; 8] };

    /// keepalived's `auth_type PASS` with `auth_pass`, padded with zeros to 8 bytes.
    pub const fn password(data: [u8; 8]) -> Self {
        Self { auth_type: Self::TYPE_PASS, data }
    }

    /// Whether a received advertisement's fields pass this configuration, as keepalived
    /// judges them (vrrp.c vrrp_check_packet()): the type must match ("received a 0 auth,
    /// expecting 1"), and for a password the 8 bytes too; without one the data is not read.
    pub fn admits(&self, received: &V2Auth) -> bool {
        received.auth_type == self.auth_type
            && (self.auth_type != Self::TYPE_PASS || received.data == self.data)
    }
}

/// Why an [`Advertisement`] cannot be built from the given fields.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InvalidAdvertisement {
    /// VRID 0 does not exist (RFC 9568 §5.2.3: 1-255).
    ZeroVrid,
    /// No addresses, or more than the 8-bit count can carry.
    AddressCount(usize),
    /// Addresses of both families, or IPv6 addresses in a VRRPv2 message.
    MixedFamilies,
    /// The interval is zero, above 4095 cs (v3), or not whole seconds up to 255 s (v2).
    Interval(Centiseconds),
}

/// One VRRP advertisement, valid by construction: every value of this type can be encoded.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Advertisement {
    version: Version,
    vrid: u8,
    priority: u8,
    interval: Centiseconds,
    addresses: Vec<IpAddr>,
    /// `Some` exactly for VRRPv2.
    v2_auth: Option<V2Auth>,
}

impl Advertisement {
    /// Checks the fields against what the wire format can say; VRRPv2 gets [`V2Auth::NONE`].
    pub fn new(
        version: Version,
        vrid: u8,
        priority: u8,
        interval: Centiseconds,
        addresses: Vec<IpAddr>,
    ) -> Result<Self, InvalidAdvertisement> {
        if vrid == 0 {
            return Err(InvalidAdvertisement::ZeroVrid);
        }
        let Some(first) = addresses.first() else {
            return Err(InvalidAdvertisement::AddressCount(0));
        };
        if addresses.len() > usize::from(u8::MAX) {
            return Err(InvalidAdvertisement::AddressCount(addresses.len()));
        }
        let family = Family::of(first);
        if addresses.iter().any(|a| Family::of(a) != family)
            || (version == Version::V2 && family == Family::Ipv6)
        {
            return Err(InvalidAdvertisement::MixedFamilies);
        }
        // RFC 9568 §5.2.9 asks for a link-local first IPv6 address; keepalived advertises the
        // addresses as configured, and the configuration says when they do not follow it.
        let interval_fits = match version {
            Version::V2 => matches!(interval.as_whole_seconds(), Some(s) if s > 0),
            Version::V3 => interval.get() > 0 && interval <= Centiseconds::V3_MAX,
        };
        if !interval_fits {
            return Err(InvalidAdvertisement::Interval(interval));
        }
        let v2_auth = (version == Version::V2).then_some(V2Auth::NONE);
        Ok(Self { version, vrid, priority, interval, addresses, v2_auth })
    }

    /// Replaces the VRRPv2 authentication fields; a VRRPv3 message has none and is unchanged.
    pub fn with_v2_auth(mut self, auth: V2Auth) -> Self {
        if self.version == Version::V2 {
            self.v2_auth = Some(auth);
        }
        self
    }

    /// The same advertisement with another priority (0 when resigning, RFC 9568 §6.4.3).
    pub fn with_priority(mut self, priority: u8) -> Self {
        self.priority = priority;
        self
    }

    pub fn version(&self) -> Version {
        self.version
    }

    pub fn vrid(&self) -> u8 {
        self.vrid
    }

    pub fn priority(&self) -> u8 {
        self.priority
    }

    /// Adver Int (v2, converted from seconds) or Max Adver Int (v3).
    pub fn interval(&self) -> Centiseconds {
        self.interval
    }

    pub fn addresses(&self) -> &[IpAddr] {
        &self.addresses
    }

    pub fn family(&self) -> Family {
        // Non-empty by construction; IPv4 is only a formal fallback.
        self.addresses.first().map_or(Family::Ipv4, Family::of)
    }

    pub fn v2_auth(&self) -> Option<V2Auth> {
        self.v2_auth
    }

    /// Length of the VRRP message on the wire.
    pub fn payload_len(&self) -> usize {
        let auth_len = match self.version {
            Version::V2 => vrrp_common::wire::VRRP_V2_AUTH_LEN,
            Version::V3 => 0,
        };
        vrrp_common::wire::VRRP_HEADER_LEN
            + self.addresses.len() * self.family().address_len()
            + auth_len
    }
}

/// `fe80::/10`.
fn is_link_local(address: &std::net::Ipv6Addr) -> bool {
    address.segments()[0] & 0xffc0 == 0xfe80
}
