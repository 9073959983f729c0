//! One virtual router's settings after parsing, checked so the state machine can trust them.

use core::fmt;
use core::time::Duration;
use std::net::{IpAddr, Ipv4Addr};

use crate::announce::GarpConfig;
use crate::interval::Centiseconds;
use crate::old_checksum::{OldChecksum, OldChecksumPolicy};
use crate::packet::{Advertisement, ChecksumMode, Family, InvalidAdvertisement, V2Auth, Version};

/// keepalived's `state`. It does not change how a router starts: keepalived vrrp_scheduler.c
/// vrrp_init_state() takes over at once only as the address owner, and any other router waits
/// Master_Down_Interval whatever its `state` (RFC 9568 §6.4.1). It changes the configuration:
/// keepalived vrrp.c vrrp_complete_instance() gives `state MASTER` without `priority` the
/// owner's 255, and clears `nopreempt` and `preempt_delay` under it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum InitialState {
    /// `state BACKUP`.
    #[default]
    Backup,
    /// `state MASTER`.
    Master,
}

/// How advertisements travel; the state machine does not care, the shell does (vrrpd's
/// `instance::destinations` turns it into the addresses each advertisement is sent to).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub enum Transport {
    /// To 224.0.0.18 / ff02::12.
    #[default]
    Multicast,
    /// keepalived's `unicast_peer`: one copy to each peer.
    Unicast { peers: Vec<IpAddr> },
}

/// Settings of one virtual router (VRRP instance).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct RouterConfig {
    pub vrid: u8,
    pub version: Version,
    /// 1-254, or 255 for the address owner (RFC 9568 §5.2.4).
    pub priority: u8,
    /// Advertisement_Interval (`advert_int`): whole seconds for VRRPv2, 1-4095 cs for VRRPv3.
    pub advert_interval: Centiseconds,
    /// Preempt_Mode (RFC 9568 §6.1); keepalived's `nopreempt` clears it.
    pub preempt: bool,
    /// keepalived's `preempt_delay`: after first hearing a lower-priority master (since
    /// entering Backup, or since a master at or above our priority spoke), wait this long
    /// before preempting it.
    pub preempt_delay: Duration,
    /// Accept_Mode (RFC 9568 §6.1): a non-owner master accepts packets for the addresses.
    pub accept_mode: bool,
    /// The addresses, in advertisement order (over IPv6 the link-local one first).
    pub virtual_addresses: Vec<IpAddr>,
    /// This router's own address on the link: the source of its advertisements and the
    /// tie-breaker of equal priorities (RFC 9568 §6.4.3).
    pub primary_address: IpAddr,
    pub garp: GarpConfig,
    pub checksum_mode: ChecksumMode,
    /// keepalived's pre-1.3.6 unicast checksum: whether the instance accepts it (the shell's
    /// receive checks, kernel and socket) and, later, sends it.
    pub old_checksum: OldChecksum,
    pub transport: Transport,
    /// VRRPv2 authentication sent in every advertisement (keepalived's `authentication`);
    /// VRRPv3 has none and ignores it.
    pub v2_auth: V2Auth,
    /// keepalived's `lower_prio_no_advert`: a master hearing a lower priority does not answer
    /// with an advertisement (keepalived vrrp.c vrrp_state_master_rx()).
    pub lower_prio_no_advert: bool,
    /// keepalived's `higher_prio_send_advert`: a master hearing a higher priority (or an equal
    /// one from a higher address) sends one advertisement at its own priority before it
    /// becomes backup (keepalived vrrp.c vrrp_state_master_rx()). On by default, where
    /// keepalived's is off: the new master, which may not know two masters existed (a healed
    /// partition), answers and announces its addresses again, so hosts stop using our MAC.
    pub higher_prio_send_advert: bool,
}

impl RouterConfig {
    /// keepalived's defaults (VRRPv2, priority 100, `advert_int 1`, preempt; vrrpd's
    /// `higher_prio_send_advert`) for the given router and addresses.
    pub fn new(vrid: u8, primary_address: IpAddr, virtual_addresses: Vec<IpAddr>) -> Self {
        Self {
            vrid,
            version: Version::V2,
            priority: 100,
            advert_interval: Centiseconds::ONE_SECOND,
            preempt: true,
            preempt_delay: Duration::ZERO,
            accept_mode: false,
            virtual_addresses,
            primary_address,
            garp: GarpConfig::default(),
            checksum_mode: ChecksumMode::default(),
            // Not unicast VRRPv3 over IPv4 until the caller says so: the RFC forms only.
            old_checksum: OldChecksum::new(
                OldChecksumPolicy::Detect,
                Ipv4Addr::from(vrrp_common::wire::VRRP_GROUP_V4),
                false,
            ),
            transport: Transport::Multicast,
            v2_auth: V2Auth::NONE,
            lower_prio_no_advert: false,
            higher_prio_send_advert: true,
        }
    }

    pub fn family(&self) -> Family {
        Family::of(&self.primary_address)
    }

    /// Whether this router owns the addresses (priority 255).
    pub fn is_owner(&self) -> bool {
        self.priority == u8::MAX
    }

    /// Rejects settings no router can run with.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.priority == 0 {
            // Priority 0 only means "resigning" on the wire (RFC 9568 §5.2.4).
            return Err(ConfigError::ZeroPriority);
        }
        if let Transport::Unicast { peers } = &self.transport {
            if peers.iter().any(|peer| Family::of(peer) != self.family()) {
                return Err(ConfigError::PeerFamily);
            }
        }
        if self.garp.master_refresh.is_some_and(|period| period.is_zero()) {
            return Err(ConfigError::ZeroGarpRefresh);
        }
        if self.virtual_addresses.first().is_some_and(|a| Family::of(a) != self.family()) {
            return Err(ConfigError::PrimaryAddressFamily);
        }
        self.advertisement().map(|_| ()).map_err(ConfigError::from)
    }

    /// The advertisement this router sends, at its configured priority.
    pub(crate) fn advertisement(&self) -> Result<Advertisement, InvalidAdvertisement> {
        Advertisement::new(
            self.version,
            self.vrid,
            self.priority,
            self.advert_interval,
            self.virtual_addresses.clone(),
        )
        .map(|advertisement| advertisement.with_v2_auth(self.v2_auth))
    }
}

/// Why a [`RouterConfig`] cannot run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConfigError {
    ZeroVrid,
    ZeroPriority,
    /// Zero, above 4095 cs (VRRPv3), or not whole seconds up to 255 (VRRPv2).
    Interval(Centiseconds),
    NoAddresses,
    TooManyAddresses(usize),
    /// Virtual addresses of two families, or IPv6 with VRRPv2 (RFC 3768 is IPv4 only).
    MixedFamilies,
    /// The primary address is not of the virtual addresses' family.
    PrimaryAddressFamily,
    /// A unicast peer is not of the virtual addresses' family.
    PeerFamily,
    /// `garp_master_refresh` of zero means off: say `None`.
    ZeroGarpRefresh,
    /// A running router cannot take a new primary address or become (or stop being) the
    /// address owner: it restarts instead.
    Identity,
}

impl From<InvalidAdvertisement> for ConfigError {
    fn from(error: InvalidAdvertisement) -> Self {
        match error {
            InvalidAdvertisement::ZeroVrid => ConfigError::ZeroVrid,
            InvalidAdvertisement::AddressCount(0) => ConfigError::NoAddresses,
            InvalidAdvertisement::AddressCount(count) => ConfigError::TooManyAddresses(count),
            InvalidAdvertisement::MixedFamilies => ConfigError::MixedFamilies,
            InvalidAdvertisement::Interval(interval) => ConfigError::Interval(interval),
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::ZeroVrid => write!(f, "virtual_router_id must be 1-255"),
            ConfigError::ZeroPriority => write!(f, "priority must be 1-255"),
            ConfigError::Interval(interval) => write!(
                f,
                "advert_int {interval} is not possible: VRRPv3 needs 0.01-40.95 s, VRRPv2 whole seconds 1-255"
            ),
            ConfigError::NoAddresses => write!(f, "no virtual addresses"),
            ConfigError::TooManyAddresses(count) => {
                write!(f, "{count} virtual addresses; an advertisement carries at most 255")
            }
            ConfigError::MixedFamilies => {
                write!(f, "virtual addresses mix IPv4 and IPv6, or IPv6 with VRRPv2")
            }
            ConfigError::PrimaryAddressFamily => {
                write!(f, "the router's address is not of the virtual addresses' family")
            }
            ConfigError::PeerFamily => {
                write!(f, "a unicast peer is not of the virtual addresses' family")
            }
            ConfigError::ZeroGarpRefresh => write!(f, "garp_master_refresh 0 means off"),
            ConfigError::Identity => {
                write!(f, "a new primary address or address ownership needs a restart")
            }
        }
    }
}

impl std::error::Error for ConfigError {}

impl fmt::Display for crate::packet::Family {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            crate::packet::Family::Ipv4 => "IPv4",
            crate::packet::Family::Ipv6 => "IPv6",
        })
    }
}
