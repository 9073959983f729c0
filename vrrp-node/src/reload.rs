//! Reload as keepalived does it: an instance that keeps its identity takes its new settings in
//! place, in its state; one whose identity changed (or that is new) starts, one that is gone
//! (or changed identity) stops.

use std::collections::BTreeSet;
use std::net::IpAddr;

use vrrp_config::{Config, Instance};
use vrrp_proto::{
    config::{RouterConfig, Transport},
    packet::V2Auth,
    ChecksumMode, Family, GarpConfig, OldChecksum, Version,
};

use crate::output::InstanceId;

/// What a reload to a configuration does to the running instances.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReloadPlan {
    /// Instances (by name) that start: new, or restarted because their identity changed. The
    /// shell prepares their I/O before the reload is applied, so a failure changes nothing.
    pub starting: Vec<String>,
    /// Running instances that stop: gone, or restarted.
    pub stopping: Vec<InstanceId>,
    /// Running instances that take their new settings in place.
    pub kept: Vec<InstanceId>,
}

/// What makes an instance the same one across a reload. keepalived vrrp.c vrrp_exist(): the
/// VRID, the family, the interface, unicast or multicast, the multicast group and the unicast
/// source address;
/// here also the version (the packets differ) and the name (the notify arguments carry it),
/// whether the router owns its addresses (priority 255 decides how the router runs), and the
/// AH key if any (AH is another IP protocol, on sockets of its own that hold the key).
#[derive(Clone, Debug, PartialEq, Eq)]
struct Identity<'a> {
    name: &'a str,
    interface: &'a str,
    vrid: u8,
    family: Family,
    version: vrrp_proto::Version,
    unicast: bool,
    source_ip: Option<IpAddr>,
    mcast_group: Option<IpAddr>,
    owner: bool,
    ah_key: Option<[u8; 8]>,
    /// keepalived vrrp.c vrrp_exist(): an instance whose use of a VMAC changes is another one.
    vmac: Option<&'a vrrp_config::Vmac>,
}

fn identity(instance: &Instance) -> Identity<'_> {
    Identity {
        name: &instance.name,
        interface: &instance.interface,
        vrid: instance.vrid,
        family: instance.family,
        version: instance.version,
        unicast: !instance.unicast_peers.is_empty(),
        source_ip: instance.source_ip,
        mcast_group: instance.mcast_group,
        owner: instance.priority == u8::MAX,
        ah_key: instance.auth_pass.filter(|_| instance.auth_ah),
        vmac: instance.vmac.as_ref(),
    }
}

/// Whether `new` is `running` under new settings (reload in place) rather than another instance.
pub fn same_identity(running: &Instance, new: &Instance) -> bool {
    identity(running) == identity(new)
}

/// Whether a change of settings touches what the shell derives from them (where
/// advertisements go, the kernel's peer table, how each address is installed).
pub(crate) fn io_changed(running: &Instance, new: &Instance) -> bool {
    running.unicast_peers != new.unicast_peers
        || running.virtual_addresses != new.virtual_addresses
        || running.excluded_addresses != new.excluded_addresses
}

/// Every interface a configuration's instances use or track, and those of its tracked static
/// entries (which are put back when their interface comes up): the node must be told whether
/// each is usable.
pub fn interfaces(config: &Config) -> BTreeSet<String> {
    let instances = config.instances.iter().flat_map(|instance| {
        std::iter::once(instance.interface.clone())
            .chain(instance.track_interfaces.iter().map(|tracked| tracked.name.clone()))
            .chain(crate::routes::tracked_interfaces(instance).into_iter().map(str::to_owned))
            .chain(instance.track_group_interfaces.iter().cloned())
    });
    let statics = crate::routes::static_interfaces(config).into_iter().map(str::to_owned);
    instances.chain(statics).collect()
}

/// The router's settings for an instance of `config` speaking from `primary_address`.
pub fn router_config(
    config: &Config,
    instance: &Instance,
    primary_address: IpAddr,
) -> RouterConfig {
    let transport = if instance.unicast_peers.is_empty() {
        Transport::Multicast
    } else {
        Transport::Unicast {
            peers: instance.unicast_peers.iter().map(|peer| peer.address).collect(),
        }
    };
    // Spacing of announcements: the interface's `garp_group`, else `vrrp_garp_interval`
    // (IPv4) or `vrrp_gna_interval` (IPv6).
    let spacing = config.announcement_spacing(&instance.interface, instance.family);
    let garp = &instance.garp;
    RouterConfig {
        vrid: instance.vrid,
        version: instance.version,
        priority: instance.priority,
        // Beyond 655.35 s only if validation let it through: saturated, the router refuses it.
        advert_interval: vrrp_proto::Centiseconds::from_duration(instance.advert_interval)
            .unwrap_or(vrrp_proto::Centiseconds::new(u16::MAX)),
        preempt: instance.preempt,
        preempt_delay: instance.preempt_delay,
        accept_mode: instance.accept,
        virtual_addresses: instance.virtual_addresses.iter().map(|vip| vip.address).collect(),
        primary_address,
        garp: GarpConfig {
            master_delay: garp.master_delay,
            master_repeat: garp.master_repeat,
            master_refresh: garp.master_refresh,
            master_refresh_repeat: garp.master_refresh_repeat,
            interval: spacing,
            lower_prio_repeat: garp.lower_prio_repeat,
            lower_prio_delay: garp.lower_prio_delay,
        },
        // keepalived's form, so a mixed keepalived/vrrpd pair keeps working; without the
        // pseudo-header with `v3_checksum_as_v2` (keepalived vrrp.c vrrp_build_vrrp_v3()).
        checksum_mode: if instance.v3_checksum_as_v2 {
            ChecksumMode::Ipv4Plain
        } else {
            ChecksumMode::Ipv4PseudoHeader
        },
        // keepalived vrrp.c vrrp_in_chk(): the old form sums the global vrrp_mcast_group4, and
        // only a unicast VRRPv3 IPv4 instance meets it.
        old_checksum: OldChecksum::new(
            instance.old_unicast_checksum,
            config.global.mcast_group4,
            !instance.unicast_peers.is_empty()
                && instance.version == Version::V3
                && instance.family == Family::Ipv4,
        ),
        transport,
        // With AH the key signs the AH header; the message says auth type 2 with zero data.
        v2_auth: match instance.auth_pass {
            Some(_) if instance.auth_ah => V2Auth::AH,
            pass => pass.map_or(V2Auth::NONE, V2Auth::password),
        },
        lower_prio_no_advert: instance.lower_prio_no_advert,
        higher_prio_send_advert: instance.higher_prio_send_advert,
    }
}
