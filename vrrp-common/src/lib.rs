//! Types shared by the XDP program (`vrrp-ebpf`) and the daemon (`vrrp-user`).
//!
//! Everything here is `#[repr(C)]` plain data with explicit padding, so the kernel and user space
//! agree byte for byte, and BTF shows readable field names in `bpftool map dump`.
#![no_std]

mod counters;
pub mod wire;

/// Names of the maps and the program. They are also the file names under the pin folder in bpffs,
/// so they are part of the operator interface: change them only with a release note.
pub mod names {
    pub const PROGRAM: &str = "vrrp_xdp";
    /// The same rules at tc ingress, attached with tcx where XDP is not free.
    pub const TC_PROGRAM: &str = "vrrp_tc";
    /// Never attached: the daemon runs it to read the kernel's jiffies (see `InstanceRecord`).
    pub const CLOCK_PROGRAM: &str = "vrrp_clock";
    pub const INSTANCES: &str = "VRRP_INSTANCES";
    pub const COUNTERS: &str = "VRRP_COUNTERS";
    pub const EVENTS: &str = "VRRP_EVENTS";
    /// Addresses whose traffic is not accepted (Accept_Mode False, `no_accept`).
    pub const NOT_ACCEPTED: &str = "VRRP_NOT_ACCEPTED";
    /// How many entries of `NOT_ACCEPTED` each slot of interfaces has: the one read a frame pays
    /// on an interface that refuses nothing.
    pub const NOT_ACCEPTED_COUNT: &str = "VRRP_NOT_ACCEPTED_COUNT";
    /// One kernel timer per slot of `INSTANCES`: a backup's master-down timer.
    pub const MASTER_DOWN: &str = "VRRP_MASTER_DOWN";
}

/// Slots of `VRRP_INSTANCES`, an array: its lookups are inlined by the verifier, where a hash
/// map's cost a call of about 30 ns (see BENCHMARKS.md). A power of two.
pub const INSTANCE_SLOTS: u32 = 1 << INSTANCE_SLOT_BITS;
const INSTANCE_SLOT_BITS: u32 = 11;
/// An instance lives in one of this many slots from its home slot ([`InstanceKey::home_slot`]):
/// the program probes no further. With 2048 slots, 512 instances of random keys always fit
/// (simulated); the daemon refuses an instance whose slots are all taken.
pub const SLOT_PROBES: u32 = 16;
/// Unicast peers an instance may list: they are kept inline in its slot, so accepting a peer
/// costs no second lookup.
pub const MAX_UNICAST_PEERS: usize = 16;
/// Ring buffer size in bytes (a power of two, a multiple of the page size).
pub const EVENTS_BYTES: u32 = 256 * 1024;

/// Address family of an instance, as stored in keys.
pub const FAMILY_IPV4: u8 = 4;
pub const FAMILY_IPV6: u8 = 6;

/// [`InstanceKey::vlan`] of a frame with two VLAN tags: no VLAN ID, so no instance has it (an
/// instance on a stacked VLAN runs on that VLAN's own device, where the frame is untagged).
pub const VLAN_STACKED: u16 = 0xffff;

/// An address as keys, records and peers store it: IPv4 in the first four bytes, the rest zero.
pub fn address_bytes(address: core::net::IpAddr) -> [u8; 16] {
    match address {
        core::net::IpAddr::V4(v4) => {
            let mut bytes = [0; 16];
            bytes[..4].copy_from_slice(&v4.octets());
            bytes
        }
        core::net::IpAddr::V6(v6) => v6.octets(),
    }
}

/// The address `bytes` hold, of the family [`FAMILY_IPV4`] or [`FAMILY_IPV6`] (the inverse of
/// [`address_bytes`]).
pub fn address_of(family: u8, bytes: [u8; 16]) -> core::net::IpAddr {
    if family == FAMILY_IPV4 {
        core::net::Ipv4Addr::new(bytes[0], bytes[1], bytes[2], bytes[3]).into()
    } else {
        core::net::Ipv6Addr::from(bytes).into()
    }
}

/// One virtual router on one interface and VLAN: the key of `VRRP_INSTANCES`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct InstanceKey {
    pub ifindex: u32,
    pub vrid: u8,
    /// [`FAMILY_IPV4`] or [`FAMILY_IPV6`].
    pub family: u8,
    /// The VLAN ID of the frame's one 802.1Q / 802.1ad tag, 0 for an untagged frame (or a
    /// priority tag), [`VLAN_STACKED`] for two tags. The daemon's instances are all untagged:
    /// one on `eth0.100` runs on `eth0.100`, where its frames arrive untagged, so a frame
    /// tagged for VLAN 100 on `eth0` is not `eth0`'s instance's.
    pub vlan: u16,
}

impl InstanceKey {
    /// An instance hearing the interface's untagged frames.
    pub const fn new(ifindex: u32, vrid: u8, family: u8) -> Self {
        Self::tagged(ifindex, 0, vrid, family)
    }

    /// An instance hearing the frames tagged `vlan` on the interface.
    pub const fn tagged(ifindex: u32, vlan: u16, vrid: u8, family: u8) -> Self {
        Self { ifindex, vrid, family, vlan }
    }

    /// The first slot of `VRRP_INSTANCES` where this instance may live; the daemon places it in
    /// the first free one of the [`SLOT_PROBES`] slots from there (wrapping around).
    #[inline(always)]
    pub const fn home_slot(&self) -> u32 {
        // The VLAN above the interface index: untagged keys hash as they always have.
        let packed = (self.vlan as u64) << 48
            | (self.ifindex as u64) << 16
            | (self.vrid as u64) << 8
            | self.family as u64;
        // Fibonacci hashing: the product's top bits spread neighbouring keys (VRIDs in a row,
        // VLAN interfaces created one after another) over the whole table.
        (packed.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> (64 - INSTANCE_SLOT_BITS)) as u32
    }
}

/// Entries `VRRP_NOT_ACCEPTED` may hold: the virtual addresses of every non-owner master
/// without Accept_Mode.
pub const NOT_ACCEPTED_ENTRIES: u32 = 4096;
/// Slots of `VRRP_NOT_ACCEPTED_COUNT`, a power of two: interface `i` counts its entries in slot
/// `i % NOT_ACCEPTED_SLOTS` ([`not_accepted_slot`]), so a frame on an interface without any
/// pays one array read, unless its slot is shared with one that has some (then a lookup).
pub const NOT_ACCEPTED_SLOTS: u32 = 256;

/// The slot of `VRRP_NOT_ACCEPTED_COUNT` that gates the lookups of interface `ifindex`.
pub const fn not_accepted_slot(ifindex: u32) -> u32 {
    ifindex & (NOT_ACCEPTED_SLOTS - 1)
}

/// A key of `VRRP_NOT_ACCEPTED`: a destination address whose IPv4 / IPv6 traffic arriving on
/// interface `ifindex` (that of the instance holding the address) is dropped. keepalived's IPv4
/// firewall rule names no interface (vrrp_iptables.c handle_iptable_rule_to_vip()); the program
/// runs only on the instances' interfaces anyway. The value is unused.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct AddressKey {
    pub ifindex: u32,
    /// [`FAMILY_IPV4`] or [`FAMILY_IPV6`].
    pub family: u8,
    pub _pad: [u8; 3],
    /// As [`address_bytes`] stores it.
    pub addr: [u8; 16],
}

impl AddressKey {
    pub fn of(ifindex: u32, address: core::net::IpAddr) -> Self {
        let family = if address.is_ipv4() { FAMILY_IPV4 } else { FAMILY_IPV6 };
        Self { ifindex, family, _pad: [0; 3], addr: address_bytes(address) }
    }
}

/// Flags of [`InstanceConfig::flags`].
pub mod instance_flags {
    /// A valid advertisement is consumed (`XDP_DROP`) after accounting instead of passed up.
    pub const CONSUME_VALID: u8 = 1 << 0;
    /// Every valid advertisement raises an event, not only changes: set by the daemon while the
    /// instance is master (any advertisement then matters), and a debug switch.
    pub const MIRROR_ALL: u8 = 1 << 1;
    /// The kernel runs the instance's master-down timer: every valid advertisement at or above
    /// [`InstanceConfig::follow_priority`](super::InstanceConfig) re-arms it for
    /// `master_down_us`, and its expiry raises a [`event_kind::MASTER_DOWN`](super::event_kind)
    /// event. Set by the daemon while the instance is backup.
    pub const WATCH_MASTER: u8 = 1 << 2;
    /// A unicast VRRPv3 IPv4 instance that accepts keepalived's pre-1.3.6 checksum (the
    /// pseudo-header on [`InstanceConfig::old_unicast_group`]), tried only after the RFC and
    /// plain forms failed (keepalived vrrp.c vrrp_in_chk()).
    pub const OLD_UNICAST_CHECKSUM: u8 = 1 << 3;
}

/// What the daemon configured for an instance.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct InstanceConfig {
    /// VRRP version expected (2 or 3).
    pub version: u8,
    /// Bits of [`instance_flags`].
    pub flags: u8,
    /// Unicast peers in [`InstanceState::peers`]; when non-zero, only they are accepted.
    pub peer_count: u8,
    /// VRRPv2 Auth Type required of every advertisement (0: none, 1: password).
    pub auth_type: u8,
    /// With [`instance_flags::WATCH_MASTER`]: the instance's Master_Down_Interval in
    /// microseconds (RFC 9568 §6.1).
    pub master_down_us: u32,
    /// With [`instance_flags::WATCH_MASTER`]: the lowest priority whose advertisement resets
    /// the master-down timer (the backup's own, or 1 where it may not preempt); priority 0
    /// never does.
    pub follow_priority: u8,
    pub _pad: [u8; 3],
    /// With [`instance_flags::OLD_UNICAST_CHECKSUM`]: the IPv4 group the old checksum's
    /// pseudo-header uses as destination, in network order.
    pub old_unicast_group: [u8; 4],
    /// VRRPv2 password (Auth Type 1), compared whole; unread otherwise.
    pub auth_data: [u8; 8],
    /// A multicast instance's group (as [`address_bytes`] stores it): advertisements to another
    /// destination are not its own. All zeros: any destination (a unicast instance).
    pub group: [u8; 16],
}

/// A unicast peer of an instance, with an optional pinned MAC and TTL limits.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Peer {
    /// IPv4 addresses occupy the first four bytes, the rest is zero.
    pub addr: [u8; 16],
    /// Expected source MAC, enforced when `pinned` is 1.
    pub mac: [u8; 6],
    pub pinned: u8,
    /// 1: the TTL / hop limit must lie in `min_ttl..=max_ttl` (keepalived's `min_ttl` and
    /// `max_ttl` of `unicast_peer`); 0: any (a unicast peer may be routed).
    pub ttl_limited: u8,
    pub min_ttl: u8,
    pub max_ttl: u8,
    pub _pad: [u8; 2],
}

/// How the checksum of an accepted advertisement was computed.
pub mod checksum_form {
    /// VRRPv2: over the VRRP message only.
    pub const V2: u8 = 1;
    /// VRRPv3 over IPv4 with the IPv4 pseudo-header (RFC 5798, keepalived's default).
    pub const V3_IPV4_PSEUDO: u8 = 2;
    /// VRRPv3 over IPv4 without a pseudo-header (RFC 9568).
    pub const V3_IPV4_PLAIN: u8 = 3;
    /// VRRPv3 over IPv6 with the IPv6 pseudo-header.
    pub const V3_IPV6: u8 = 4;
    /// VRRPv3 over IPv4 unicast with the IPv4 pseudo-header built on the multicast group
    /// instead of the real destination: keepalived before 1.3.6, and `old_unicast_checksum`.
    pub const V3_IPV4_OLD_UNICAST: u8 = 5;
}

/// The kernel's summary of the last valid advertisement of an instance, kept beside its
/// configuration in `VRRP_INSTANCES`. The daemon reads `last_seen_jiffies` before declaring the
/// master down, so an advertisement absorbed without an event still counts.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct InstanceRecord {
    /// The kernel tick (`bpf_jiffies64`) of the last valid advertisement: one inlined load,
    /// where a clock helper is a call. The daemon learns the current tick by running
    /// `vrrp_clock`, and the tick's length once at start.
    pub last_seen_jiffies: u64,
    /// Valid advertisements seen.
    pub count: u64,
    pub sender: [u8; 16],
    pub sender_mac: [u8; 6],
    pub priority: u8,
    /// One of [`checksum_form`].
    pub checksum_form: u8,
    /// Advertisement interval in centiseconds (v2 seconds are converted).
    pub interval_cs: u16,
    pub version: u8,
    pub _pad: [u8; 5],
}

/// A slot of `VRRP_INSTANCES`: which instance lives there, what the daemon configured and what
/// the kernel recorded, in one value so an advertisement costs one (inlined) lookup. A free slot
/// is all zeros (no interface has index 0). The kernel writes only `record`, in place;
/// `record.count == 0` means no advertisement since the daemon last cleared it.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct InstanceState {
    pub key: InstanceKey,
    pub config: InstanceConfig,
    pub record: InstanceRecord,
    /// The first `config.peer_count` entries are in use.
    pub peers: [Peer; MAX_UNICAST_PEERS],
}

/// Why an event was raised: bits of [`AdvertEvent::causes`].
pub mod event_cause {
    pub const FIRST: u8 = 1 << 0;
    pub const NEW_SENDER: u8 = 1 << 1;
    pub const PRIORITY: u8 = 1 << 2;
    pub const INTERVAL: u8 = 1 << 3;
    /// Priority 0: the master resigns (RFC 9568 §6.4.3).
    pub const RESIGN: u8 = 1 << 4;
    /// `MIRROR_ALL` is set (the instance is master, or debugging) and nothing else changed.
    pub const MIRROR: u8 = 1 << 5;
    /// The peer's source MAC changed while it was not pinned.
    pub const MAC_CHANGED: u8 = 1 << 6;
    /// Beside another cause: an IPv6 advertisement whose first address is not link-local
    /// (RFC 9568 §5.2.9), accepted; the daemon warns once per sender.
    pub const NOT_LINK_LOCAL: u8 = 1 << 7;
}

/// What an event reports: [`AdvertEvent::kind`].
pub mod event_kind {
    /// An advertisement (the fields describe it).
    pub const ADVERTISEMENT: u8 = 0;
    /// The kernel's master-down timer of the instance expired (`instance_flags::WATCH_MASTER`):
    /// no advertisement reset it for `master_down_us`. Only `key` and `jiffies` (the expiry)
    /// are set.
    pub const MASTER_DOWN: u8 = 1;
}

/// A ring-buffer record: something a router must react to.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AdvertEvent {
    pub key: InstanceKey,
    /// Bits of [`event_cause`].
    pub causes: u8,
    pub priority: u8,
    pub interval_cs: u16,
    pub version: u8,
    pub checksum_form: u8,
    pub sender_mac: [u8; 6],
    pub sender: [u8; 16],
    /// One of [`event_kind`].
    pub kind: u8,
    pub _pad: [u8; 3],
    /// The kernel tick of the advertisement, as in [`InstanceRecord::last_seen_jiffies`].
    pub jiffies: u64,
}

pub use counters::{Counter, CounterTable, Verdict};

#[cfg(feature = "user")]
mod pod {
    use super::*;
    // SAFETY: all of these are #[repr(C)] plain data with explicit padding fields, so every
    // bit pattern is valid and there are no implicit padding bytes.
    unsafe impl aya::Pod for InstanceKey {}
    unsafe impl aya::Pod for InstanceConfig {}
    unsafe impl aya::Pod for Peer {}
    unsafe impl aya::Pod for InstanceRecord {}
    unsafe impl aya::Pod for InstanceState {}
    unsafe impl aya::Pod for CounterTable {}
    unsafe impl aya::Pod for AdvertEvent {}
    unsafe impl aya::Pod for AddressKey {}
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::mem::size_of;

    #[test]
    fn addresses_round_trip_through_their_stored_form() {
        let v4 = core::net::IpAddr::V4(core::net::Ipv4Addr::new(192, 0, 2, 1));
        let v6: core::net::IpAddr =
            core::net::Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1).into();
        assert_eq!(address_bytes(v4)[..4], [192, 0, 2, 1]);
        assert_eq!(address_bytes(v4)[4..], [0; 12]);
        assert_eq!(address_of(FAMILY_IPV4, address_bytes(v4)), v4);
        assert_eq!(address_of(FAMILY_IPV6, address_bytes(v6)), v6);
    }

    #[test]
    fn layouts_have_no_implicit_padding() {
        assert_eq!(size_of::<InstanceKey>(), 8);
        assert_eq!(size_of::<InstanceConfig>(), 40);
        assert_eq!(size_of::<Peer>(), 28);
        assert_eq!(size_of::<InstanceRecord>(), 48);
        assert_eq!(size_of::<InstanceState>(), 96 + 28 * MAX_UNICAST_PEERS);
        assert_eq!(size_of::<AdvertEvent>(), 48);
    }
}
