//! VRRP packets and the RFC 9568 state machine, without sockets, clocks or a runtime.

pub mod interval;
pub mod packet;

pub use interval::Centiseconds;
pub use packet::{
    decode_ip_packet, decode_payload, Advertisement, ChecksumForm, ChecksumMode, DecodeError,
    EncodeError, Family, InvalidAdvertisement, IpMetadata, ReceiveChecks, Received, V2Auth,
    Version,
};
