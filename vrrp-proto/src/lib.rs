//! VRRP packets and the RFC 9568 state machine, without sockets, clocks or a runtime.
//!
//! - [`packet`]: advertisements, encode and decode (VRRPv2, VRRPv3, IPv4, IPv6, checksums,
//!   keepalived's IPsec AH for VRRPv2);
//! - [`router`]: the state machine, driven by `handle_*` and drained by `poll_*`;
//! - [`config`]: a virtual router's settings, validated;
//! - [`timer`]: Skew_Time and Master_Down_Interval;
//! - [`announce`]: when a master announces its addresses;
//! - [`old_checksum`]: keepalived's pre-1.3.6 unicast checksum, when it is accepted and sent.

pub mod announce;
pub mod config;
pub mod interval;
pub mod old_checksum;
pub mod packet;
pub mod router;
pub mod timer;

pub use announce::GarpConfig;
pub use config::{ConfigError, InitialState, RouterConfig, Transport};
pub use interval::Centiseconds;
pub use old_checksum::{OldChecksum, OldChecksumPolicy, OldChecksumVerdict};
pub use packet::{
    decode_ah_packet, decode_ip_packet, decode_payload, Advertisement, AhEnvelope, AhKey, AhPacket,
    AhSequence, ChecksumForm, ChecksumMode, DecodeError, EncodeError, Family, InvalidAdvertisement,
    IpMetadata, ReceiveChecks, Received, V2Auth, Version,
};
pub use router::{DiscardReason, Disposition, Output, Reason, Router, State};
