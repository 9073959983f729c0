//! One running instance: its state machine and the sockets and addresses it acts on.

use std::{
    net::{IpAddr, Ipv6Addr},
    sync::Arc,
};

use anyhow::{anyhow, bail, Context, Result};
use vrrp_common::{instance_flags, InstanceConfig, InstanceKey, Peer};
use vrrp_config::Family;
use vrrp_proto::{Advertisement, Router, State};

use crate::{
    advert_socket::AdvertSocket,
    announce::Announcer,
    arrivals::Arrival,
    netlink::{Netlink, VirtualAddress},
    plan::{self, Plan},
    xdp::XdpDatapath,
};

pub struct Instance {
    pub plan: Plan,
    pub router: Router,
    pub ifindex: u32,
    pub key: InstanceKey,
    pub socket: Arc<AdvertSocket>,
    pub announcer: Arc<Announcer>,
    /// Advertised and excluded addresses, as installed.
    pub addresses: Vec<VirtualAddress>,
    pub destinations: Vec<IpAddr>,
    /// Source of neighbour advertisements: the interface's link-local address.
    pub link_local: Option<Ipv6Addr>,
    /// Kernel stamp (jiffies) of the newest advertisement from the XDP program given to the
    /// state machine: a record stamped no later has been delivered already.
    pub last_delivered_tick: Option<u64>,
    /// Whether the addresses are installed (so a removal by another agent is put back).
    pub owns_addresses: bool,
}

impl Instance {
    /// Resolves the interface and addresses, opens the sockets, builds the state machine.
    pub async fn create(plan: Plan, netlink: &Netlink) -> Result<Self> {
        let spec = &plan.spec;
        let interface = netlink.interface(&spec.interface).await.with_context(|| {
            format!("{}: interface {} (from the configuration)", spec.name, spec.interface)
        })?;
        let mut addresses_on_link = netlink.addresses(interface.ifindex).await?;
        // The source is the interface's own address: a virtual one left by a crashed run is
        // still on the link here (it is removed later, while the instance starts as backup).
        addresses_on_link.retain(|(address, _, _)| !plan.is_virtual_address(*address));
        let link_local = addresses_on_link.iter().find_map(|(address, _, _)| match address {
            IpAddr::V6(v6) if v6.is_unicast_link_local() => Some(*v6),
            _ => None,
        });
        let primary = match spec.source_ip {
            Some(source) => source,
            None => {
                primary_address(spec.family, &addresses_on_link, link_local).ok_or_else(|| {
                    anyhow!(
                        "{}: {} has no {} address to send advertisements from; set unicast_src_ip",
                        spec.name,
                        spec.interface,
                        spec.family
                    )
                })?
            }
        };
        let router = Router::new(plan.router_config(primary)?)
            .map_err(|error| anyhow!("{}: {error}", spec.name))?;
        let mut addresses = Vec::new();
        for vip in spec.virtual_addresses.iter().chain(&spec.excluded_addresses) {
            let ifindex = match &vip.device {
                Some(device) if *device != spec.interface => {
                    netlink
                        .interface(device)
                        .await
                        .with_context(|| format!("{}: dev {device} of {}", spec.name, vip.address))?
                        .ifindex
                }
                _ => interface.ifindex,
            };
            addresses.push(VirtualAddress {
                address: vip.address,
                prefix_len: vip.prefix_len,
                ifindex,
                label: vip.label.clone(),
                scope: plan::scope(vip.scope),
            });
        }
        let Some(mac) = interface.mac else {
            bail!("{}: {} has no Ethernet address", spec.name, spec.interface);
        };
        let socket = AdvertSocket::open(&spec.interface, interface.ifindex, primary)
            .with_context(|| format!("{}: advertisement socket", spec.name))?;
        let announcer = Announcer::open(interface.ifindex, mac)?;
        let family = match spec.family {
            Family::Ipv4 => vrrp_common::FAMILY_IPV4,
            Family::Ipv6 => vrrp_common::FAMILY_IPV6,
        };
        Ok(Self {
            key: InstanceKey::new(interface.ifindex, spec.vrid, family),
            ifindex: interface.ifindex,
            destinations: plan.destinations(),
            plan,
            router,
            socket: Arc::new(socket),
            announcer: Arc::new(announcer),
            addresses,
            link_local,
            last_delivered_tick: None,
            owns_addresses: false,
        })
    }

    pub fn name(&self) -> &str {
        self.plan.name()
    }

    /// Tells the kernel about this instance (its VRID, version, peers and pinned MACs) and
    /// clears its record.
    pub fn configure_xdp(&self, datapath: &mut XdpDatapath, consume: bool) -> Result<()> {
        self.set_xdp_flags(datapath, consume)
            .and_then(|()| datapath.forget_record(&self.key))
            .with_context(|| format!("{}: configuring the XDP program", self.name()))
    }

    /// The instance's flags in the kernel, which follow its state: a backup lets the kernel
    /// absorb its master's advertisements, while a master hears about every advertisement,
    /// since any other router advertising means preemption or a second master (a partition
    /// that healed), even one it heard before.
    pub fn set_xdp_flags(&self, datapath: &mut XdpDatapath, consume: bool) -> Result<()> {
        let spec = &self.plan.spec;
        let mut flags = if consume { instance_flags::CONSUME_VALID } else { 0 };
        if self.router.state() == State::Master {
            flags |= instance_flags::MIRROR_ALL;
        }
        let version = match spec.version {
            vrrp_config::Version::V2 => 2,
            vrrp_config::Version::V3 => 3,
        };
        let config = InstanceConfig { version, flags, ..InstanceConfig::default() };
        datapath.set_instance(self.key, config, &self.xdp_peers())
    }

    /// The unicast peers as the kernel holds them (none: any sender is accepted).
    fn xdp_peers(&self) -> Vec<Peer> {
        let peers = &self.plan.spec.unicast_peers;
        peers
            .iter()
            .map(|peer| {
                let mut addr = [0u8; 16];
                match peer.address {
                    IpAddr::V4(v4) => addr[..4].copy_from_slice(&v4.octets()),
                    IpAddr::V6(v6) => addr.copy_from_slice(&v6.octets()),
                }
                let (mac, pinned) = peer.mac.map_or(([0; 6], 0), |mac| (mac.0, 1));
                Peer { addr, mac, pinned, _pad: 0 }
            })
            .collect()
    }

    /// The advertisement the state machine sees for an arrival. The kernel's summary carries
    /// no address list; the configured one stands in (no decision depends on it).
    pub fn advertisement_of(&self, arrival: &Arrival) -> Result<Advertisement> {
        let addresses = arrival
            .addresses
            .clone()
            .unwrap_or_else(|| self.router.config().virtual_addresses.clone());
        let version = self.router.config().version;
        Advertisement::new(version, self.key.vrid, arrival.priority, arrival.interval, addresses)
            .map_err(|error| {
                anyhow!("{}: advertisement from {}: {error:?}", self.name(), arrival.source)
            })
    }
}

/// keepalived's choice of source when `unicast_src_ip` is absent: the interface's first
/// address of the family (IPv6: its link-local address).
pub fn primary_address(
    family: Family,
    addresses: &[(IpAddr, u8, netlink_packet_route::address::AddressScope)],
    link_local: Option<Ipv6Addr>,
) -> Option<IpAddr> {
    match family {
        Family::Ipv4 => addresses.iter().map(|(address, _, _)| *address).find(IpAddr::is_ipv4),
        Family::Ipv6 => link_local.map(IpAddr::V6),
    }
}
