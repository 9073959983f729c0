//! The VRRP message itself: encoding, and decoding with the receive checks of RFC 9568 §7.1.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use vrrp_common::wire::{
    AUTH_HMAC_TRAILER_LEN, IPPROTO_VRRP, VRRP_HEADER_LEN, VRRP_TTL, VRRP_TYPE_ADVERTISEMENT,
    VRRP_V2_AUTH_LEN,
};

use super::checksum::{self, ChecksumForm, ChecksumMode};
use super::{is_link_local, Advertisement, DecodeError, EncodeError, Family, V2Auth, Version};
use crate::interval::Centiseconds;

/// Byte offset of the checksum inside the VRRP header.
const CHECKSUM_OFFSET: usize = 6;

/// What the IP layer said about a received message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct IpMetadata {
    pub source: IpAddr,
    pub destination: IpAddr,
    /// TTL (IPv4) or hop limit (IPv6).
    pub ttl: u8,
}

/// Receive checks that depend on the instance's configuration.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ReceiveChecks {
    /// RFC 9568 §7.1 requires TTL / hop limit 255: on for a multicast instance (the default).
    /// Off for a unicast one, whose peers may be routed (keepalived vrrp.c
    /// vrrp_check_packet() checks no TTL for unicast); a peer's `min_ttl` / `max_ttl` are then
    /// checked with [`Received::ttl_within`].
    pub require_ttl_255: bool,
    /// A unicast VRRPv3 IPv4 instance that may meet keepalived's pre-1.3.6 checksum: the group
    /// its pseudo-header uses. Tried only after the RFC and plain forms both failed, as
    /// keepalived vrrp.c vrrp_in_chk() does; `None` (the default, and `old_unicast_checksum
    /// never`) makes that form a bad checksum. The kernel tries it after its instance lookup.
    pub old_unicast_group: Option<Ipv4Addr>,
}

impl Default for ReceiveChecks {
    fn default() -> Self {
        Self { require_ttl_255: true, old_unicast_group: None }
    }
}

/// A valid advertisement and how it arrived.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Received {
    pub advertisement: Advertisement,
    pub checksum_form: ChecksumForm,
    pub ip: IpMetadata,
    /// IPv6 only: the first address is not link-local, as RFC 9568 §5.2.9 asks (the kernel
    /// counts it under `not_link_local`).
    pub first_not_link_local: bool,
}

/// Decodes the VRRP message `payload` (the whole IP payload, nothing more) that arrived with `ip`.
///
/// The checks run in the order of [`DecodeError`]'s variants.
pub fn decode_payload(
    payload: &[u8],
    ip: IpMetadata,
    checks: ReceiveChecks,
) -> Result<Received, DecodeError> {
    let family = Family::of(&ip.source);
    if Family::of(&ip.destination) != family {
        return Err(DecodeError::FamilyMismatch);
    }
    let Some(header) = payload.first_chunk::<VRRP_HEADER_LEN>() else {
        return Err(DecodeError::Truncated { needed: VRRP_HEADER_LEN, available: payload.len() });
    };

    // RFC 9568 §5.2.1, §5.2.2; RFC 3768 is IPv4 only.
    let version = match header[0] >> 4 {
        2 => Version::V2,
        3 => Version::V3,
        other => return Err(DecodeError::BadVersion(other)),
    };
    if version == Version::V2 && family == Family::Ipv6 {
        return Err(DecodeError::FamilyMismatch);
    }
    let message_type = header[0] & 0x0f;
    if message_type != VRRP_TYPE_ADVERTISEMENT {
        return Err(DecodeError::BadType(message_type));
    }

    // RFC 9568 §5.2.5, §7.1: the count must match the message that is there.
    let count = header[3];
    if count == 0 {
        return Err(DecodeError::ZeroAddressCount);
    }
    let expected = message_len(version, family, usize::from(count));
    if payload.len() == expected + AUTH_HMAC_TRAILER_LEN {
        // keepalived 2.4's auth_hmac trailer (vrrp.c vrrp_check_packet() finds it by length).
        return Err(DecodeError::AuthTrailer);
    }
    if payload.len() != expected {
        return Err(DecodeError::LengthMismatch { count, expected, actual: payload.len() });
    }

    let checksum_form = verify_checksum(payload, version, &ip, checks.old_unicast_group)?;

    let interval = match version {
        Version::V2 => Centiseconds::from_seconds(header[5]),
        // RFC 9568 §5.2.6: the top 4 bits are reserved, ignored on receive (keepalived
        // vrrp.c vrrp_check_packet() masks them too).
        Version::V3 => Centiseconds::new(u16::from_be_bytes([header[4] & 0x0f, header[5]])),
    };
    if interval.get() == 0 {
        return Err(DecodeError::ZeroInterval);
    }

    let address_bytes =
        &payload[VRRP_HEADER_LEN..VRRP_HEADER_LEN + usize::from(count) * family.address_len()];
    let addresses = parse_addresses(address_bytes, family);
    // RFC 9568 §5.2.9 asks for the link-local address first; FRR sends its global address
    // alone. Accepted (a dropped master's advertisement makes two masters), and said.
    let first_not_link_local =
        matches!(addresses.first(), Some(IpAddr::V6(first)) if !is_link_local(first));

    let vrid = header[1];
    if vrid == 0 {
        return Err(DecodeError::ZeroVrid);
    }

    // RFC 9568 §7.1: a TTL below 255 means the packet crossed a router. Checked last, as the
    // kernel checks it with the instance's configuration, after the packet's own checks.
    if checks.require_ttl_255 && ip.ttl != VRRP_TTL {
        return Err(DecodeError::BadTtl(ip.ttl));
    }

    let v2_auth = (version == Version::V2).then(|| {
        let mut data = [0; VRRP_V2_AUTH_LEN];
        data.copy_from_slice(&payload[expected - VRRP_V2_AUTH_LEN..]);
        V2Auth { auth_type: header[4], data }
    });
    let advertisement =
        Advertisement { version, vrid, priority: header[2], interval, addresses, v2_auth };
    Ok(Received { advertisement, checksum_form, ip, first_not_link_local })
}

impl Received {
    /// The instance's VRRPv2 authentication (see [`V2Auth::admits`]), checked as the kernel
    /// does after the version; a VRRPv3 advertisement carries none and passes.
    pub fn authenticate(&self, configured: &V2Auth) -> Result<(), DecodeError> {
        match self.advertisement.v2_auth() {
            Some(received) if !configured.admits(&received) => Err(DecodeError::AuthMismatch),
            _ => Ok(()),
        }
    }

    /// A unicast peer's `min_ttl` / `max_ttl` (keepalived vrrp.c vrrp_check_packet(): "TTL/HL
    /// not in range"), checked as the kernel does after the peer is found.
    pub fn ttl_within(&self, min: u8, max: u8) -> Result<(), DecodeError> {
        if (min..=max).contains(&self.ip.ttl) {
            Ok(())
        } else {
            Err(DecodeError::BadTtl(self.ip.ttl))
        }
    }
}

fn message_len(version: Version, family: Family, count: usize) -> usize {
    let auth_len = match version {
        Version::V2 => VRRP_V2_AUTH_LEN,
        Version::V3 => 0,
    };
    VRRP_HEADER_LEN + count * family.address_len() + auth_len
}

/// RFC 9568 §5.2.8 and RFC 3768 §5.3.8. Over IPv4 a VRRPv3 message may carry either form; the
/// pseudo-header form is tried first because it is what keepalived sends by default; the old
/// unicast form last, and only when the instance allows it.
fn verify_checksum(
    payload: &[u8],
    version: Version,
    ip: &IpMetadata,
    old_unicast_group: Option<Ipv4Addr>,
) -> Result<ChecksumForm, DecodeError> {
    let pseudo_header =
        || checksum::pseudo_header_sum(ip.source, ip.destination, IPPROTO_VRRP, payload.len());
    let form = match (version, Family::of(&ip.source)) {
        (Version::V2, _) => checksum::verifies(payload, 0).then_some(ChecksumForm::V2),
        (Version::V3, Family::Ipv6) => {
            checksum::verifies(payload, pseudo_header()).then_some(ChecksumForm::V3Ipv6)
        }
        (Version::V3, Family::Ipv4) => {
            if checksum::verifies(payload, pseudo_header()) {
                Some(ChecksumForm::V3Ipv4PseudoHeader)
            } else if checksum::verifies(payload, 0) {
                Some(ChecksumForm::V3Ipv4Plain)
            } else {
                old_unicast_group
                    .filter(|group| {
                        let sum = checksum::pseudo_header_sum(
                            ip.source,
                            IpAddr::V4(*group),
                            IPPROTO_VRRP,
                            payload.len(),
                        );
                        checksum::verifies(payload, sum)
                    })
                    .map(|_| ChecksumForm::V3Ipv4OldUnicast)
            }
        }
    };
    form.ok_or(DecodeError::BadChecksum)
}

fn parse_addresses(bytes: &[u8], family: Family) -> Vec<IpAddr> {
    match family {
        Family::Ipv4 => bytes
            .chunks_exact(4)
            .map(|a| IpAddr::V4(Ipv4Addr::new(a[0], a[1], a[2], a[3])))
            .collect(),
        Family::Ipv6 => bytes
            .chunks_exact(16)
            .map(|a| {
                let mut octets = [0; 16];
                octets.copy_from_slice(a);
                IpAddr::V6(Ipv6Addr::from(octets))
            })
            .collect(),
    }
}

impl Advertisement {
    /// The checksum form this advertisement gets when sent with `mode`.
    pub fn checksum_form(&self, mode: ChecksumMode) -> ChecksumForm {
        match (self.version, self.family(), mode) {
            (Version::V2, _, _) => ChecksumForm::V2,
            (Version::V3, Family::Ipv6, _) => ChecksumForm::V3Ipv6,
            (Version::V3, Family::Ipv4, ChecksumMode::Ipv4PseudoHeader) => {
                ChecksumForm::V3Ipv4PseudoHeader
            }
            (Version::V3, Family::Ipv4, ChecksumMode::Ipv4Plain) => ChecksumForm::V3Ipv4Plain,
            (Version::V3, Family::Ipv4, ChecksumMode::Ipv4OldUnicast { .. }) => {
                ChecksumForm::V3Ipv4OldUnicast
            }
        }
    }

    /// The VRRP message, checksummed for a packet from `source` to `destination` (the
    /// pseudo-header forms cover both, so a unicast packet is checksummed for its peer).
    pub fn encode_payload(
        &self,
        source: IpAddr,
        destination: IpAddr,
        mode: ChecksumMode,
    ) -> Result<Vec<u8>, EncodeError> {
        let mut out = Vec::with_capacity(self.payload_len());
        self.encode_payload_into(&mut out, source, destination, mode)?;
        Ok(out)
    }

    /// [`Self::encode_payload`], appending to `out`.
    pub fn encode_payload_into(
        &self,
        out: &mut Vec<u8>,
        source: IpAddr,
        destination: IpAddr,
        mode: ChecksumMode,
    ) -> Result<(), EncodeError> {
        let family = self.family();
        if Family::of(&source) != family || Family::of(&destination) != family {
            return Err(EncodeError::FamilyMismatch);
        }
        let start = out.len();
        out.push(self.version.number() << 4 | VRRP_TYPE_ADVERTISEMENT);
        out.push(self.vrid);
        out.push(self.priority);
        // At most 255 addresses by construction.
        out.push(self.addresses.len() as u8);
        match self.v2_auth {
            // v2: Auth Type, Adver Int in seconds (whole seconds by construction).
            Some(auth) => {
                out.push(auth.auth_type);
                out.push(self.interval.as_whole_seconds().unwrap_or(0));
            }
            // v3: reserved zero, 12-bit Max Adver Int (at most 4095 by construction).
            None => out.extend_from_slice(&(self.interval.get() & 0x0fff).to_be_bytes()),
        }
        out.extend_from_slice(&[0, 0]);
        for address in &self.addresses {
            match address {
                IpAddr::V4(a) => out.extend_from_slice(&a.octets()),
                IpAddr::V6(a) => out.extend_from_slice(&a.octets()),
            }
        }
        if let Some(auth) = self.v2_auth {
            out.extend_from_slice(&auth.data);
        }

        let message = &mut out[start..];
        let pseudo_header = match (self.checksum_form(mode), mode) {
            (ChecksumForm::V2 | ChecksumForm::V3Ipv4Plain, _) => 0,
            (ChecksumForm::V3Ipv4OldUnicast, ChecksumMode::Ipv4OldUnicast { group }) => {
                checksum::pseudo_header_sum(source, group.into(), IPPROTO_VRRP, message.len())
            }
            _ => checksum::pseudo_header_sum(source, destination, IPPROTO_VRRP, message.len()),
        };
        let sum = checksum::compute(message, pseudo_header);
        message[CHECKSUM_OFFSET..CHECKSUM_OFFSET + 2].copy_from_slice(&sum.to_be_bytes());
        Ok(())
    }
}
