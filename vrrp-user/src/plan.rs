//! From a validated configuration to what the daemon runs: one plan per instance.
//!
//! A plan holds everything an instance's behaviour depends on. On reload, an instance whose
//! plan is equal to the running one keeps its state and its addresses (no flap).

use std::net::IpAddr;

use anyhow::{anyhow, bail, Result};
use vrrp_config::{Config, Family, Instance, Scope};
use vrrp_proto::{
    announce::GarpConfig,
    config::{InitialState, RouterConfig, Transport},
    packet::{ChecksumMode, Version},
    Centiseconds,
};

/// One instance as configured, with the global settings it depends on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Plan {
    pub spec: Instance,
    /// Spacing of announcements: `vrrp_garp_interval` (IPv4) or `vrrp_gna_interval` (IPv6).
    pub announce_spacing: std::time::Duration,
}

impl Plan {
    pub fn name(&self) -> &str {
        &self.spec.name
    }

    /// The state machine's configuration, once the router's own address is known.
    pub fn router_config(&self, primary_address: IpAddr) -> Result<RouterConfig> {
        let spec = &self.spec;
        let advert_interval =
            Centiseconds::from_duration(spec.advert_interval).ok_or_else(|| {
                anyhow!("{}: advert_int {:?} is out of range", spec.name, spec.advert_interval)
            })?;
        let transport = if spec.unicast_peers.is_empty() {
            Transport::Multicast
        } else {
            Transport::Unicast {
                peers: spec.unicast_peers.iter().map(|peer| peer.address).collect(),
            }
        };
        let config = RouterConfig {
            vrid: spec.vrid,
            version: match spec.version {
                vrrp_config::Version::V2 => Version::V2,
                vrrp_config::Version::V3 => Version::V3,
            },
            priority: spec.priority,
            advert_interval,
            preempt: spec.preempt,
            preempt_delay: spec.preempt_delay,
            accept_mode: spec.accept,
            virtual_addresses: spec.virtual_addresses.iter().map(|vip| vip.address).collect(),
            primary_address,
            initial_state: match spec.state {
                vrrp_config::InitialState::Master => InitialState::Master,
                vrrp_config::InitialState::Backup => InitialState::Backup,
            },
            garp: GarpConfig {
                master_delay: spec.garp.master_delay,
                master_repeat: spec.garp.master_repeat,
                master_refresh: spec.garp.master_refresh,
                master_refresh_repeat: spec.garp.master_refresh_repeat,
                interval: self.announce_spacing,
                lower_prio_repeat: spec.garp.lower_prio_repeat,
            },
            // keepalived's form, so a mixed keepalived/vrrpd pair keeps working.
            checksum_mode: ChecksumMode::Ipv4PseudoHeader,
            transport,
        };
        config.validate().map_err(|error| anyhow!("{}: {error}", spec.name))?;
        Ok(config)
    }

    /// Whether `address` is one of the instance's virtual (advertised or excluded) addresses.
    pub fn is_virtual_address(&self, address: IpAddr) -> bool {
        let spec = &self.spec;
        spec.virtual_addresses
            .iter()
            .chain(&spec.excluded_addresses)
            .any(|vip| vip.address == address)
    }

    /// Where advertisements go: each unicast peer, or the VRRP group.
    pub fn destinations(&self) -> Vec<IpAddr> {
        if !self.spec.unicast_peers.is_empty() {
            return self.spec.unicast_peers.iter().map(|peer| peer.address).collect();
        }
        match self.spec.family {
            Family::Ipv4 => vec![IpAddr::from(vrrp_common::wire::VRRP_GROUP_V4)],
            Family::Ipv6 => vec![IpAddr::from(vrrp_common::wire::VRRP_GROUP_V6)],
        }
    }
}

/// Plans for every instance of a configuration.
pub fn plans(config: &Config) -> Result<Vec<Plan>> {
    if config.instances.is_empty() {
        bail!("the configuration has no vrrp_instance");
    }
    Ok(config
        .instances
        .iter()
        .map(|spec| Plan {
            spec: spec.clone(),
            announce_spacing: match spec.family {
                Family::Ipv4 => config.global.garp_interval,
                Family::Ipv6 => config.global.gna_interval,
            },
        })
        .collect())
}

/// rtnetlink's scope for a configured one (keepalived's default is global).
pub fn scope(scope: Option<Scope>) -> netlink_packet_route::address::AddressScope {
    use netlink_packet_route::address::AddressScope;
    match scope {
        None | Some(Scope::Global) => AddressScope::Universe,
        Some(Scope::Site) => AddressScope::Site,
        Some(Scope::Link) => AddressScope::Link,
        Some(Scope::Host) => AddressScope::Host,
        Some(Scope::Nowhere) => AddressScope::Nowhere,
    }
}
