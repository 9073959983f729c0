//! One running instance's I/O: the sockets, announcer and addresses the node's outputs act on.
//! The instance's state machine and policy live in `vrrp-node`; this holds only what the
//! shell needs to carry them out.

use std::{
    net::{IpAddr, Ipv4Addr},
    sync::Arc,
};

use anyhow::{anyhow, bail, Context, Result};
use vrrp_common::{instance_flags, InstanceConfig, InstanceKey, Peer};
use vrrp_config::{Family, Scope};
use vrrp_proto::{
    Advertisement, ChecksumMode, ReceiveChecks, RouterConfig, State, Transport, V2Auth,
};

use crate::{
    advert_socket::{AdvertSocket, AhAuth},
    announce::{Announcer, Link},
    arrivals::Arrival,
    master_watch::MasterWatch,
    netlink::{Netlink, VirtualAddress},
    vmac::{self, VmacLink},
    xdp::XdpDatapath,
};

pub struct Instance {
    /// The instance as configured (the node's copy is the one that decides).
    pub spec: vrrp_config::Instance,
    /// The router's state as last reported, which the kernel's flags follow.
    pub state: State,
    /// Where the advertisements are sent from: the router's primary address.
    pub primary: IpAddr,
    /// The interface advertisements arrive on (the base one, with `use_vmac`).
    pub ifindex: u32,
    /// `use_vmac`: the macvlan that holds the addresses and announces them.
    pub vmac: Option<VmacLink>,
    /// `use_vmac_addr` or `use_vmac` on address lines: the macvlans of the addresses'
    /// interfaces, one for each interface and family.
    pub address_vmacs: Vec<VmacLink>,
    pub key: InstanceKey,
    pub socket: Arc<AdvertSocket>,
    /// `auth_type AH`: its key and sequence number, shared with its receive filter.
    pub ah: Option<AhAuth>,
    pub announcer: Arc<Announcer>,
    /// Advertised and excluded addresses, as installed.
    pub addresses: Vec<VirtualAddress>,
    /// The interfaces the addresses are announced on: the instance's first, then each other
    /// `dev` of its addresses.
    pub links: Vec<Link>,
    pub destinations: Vec<IpAddr>,
    pub checksum_mode: ChecksumMode,
    /// The group of keepalived's pre-1.3.6 unicast checksum, when the instance accepts that
    /// form (kernel and socket receive checks); `None`: the RFC forms only.
    pub old_unicast_group: Option<Ipv4Addr>,
    /// Kernel stamp (jiffies) of the newest advertisement from the XDP program given to the
    /// state machine: a record stamped no later has been delivered already.
    pub last_delivered_tick: Option<u64>,
    /// The kernel's master-down timer, while it watches this backup's master (see
    /// `master_watch`).
    pub master_watch: Option<MasterWatch>,
    /// Addresses whose traffic the kernel program refuses for this instance (Accept_Mode), with
    /// the interface they are refused on.
    pub refused: Vec<(u32, IpAddr)>,
}

impl Instance {
    /// Resolves the interface and addresses and opens the sockets, speaking from `primary`
    /// (the node's choice on a restart) or else from the source the configuration and the
    /// interface give.
    pub async fn create(
        spec: vrrp_config::Instance,
        netlink: &Netlink,
        primary: Option<IpAddr>,
    ) -> Result<Self> {
        let interface = netlink.interface(&spec.interface).await.with_context(|| {
            format!("{}: interface {} (from the configuration)", spec.name, spec.interface)
        })?;
        let mut addresses_on_link = netlink.addresses(interface.ifindex).await?;
        // The source is the interface's own address: a virtual one left by a crashed run is
        // still on the link here (it is removed later, while the instance starts as backup).
        addresses_on_link.retain(|(address, _, _)| {
            !spec
                .virtual_addresses
                .iter()
                .chain(&spec.excluded_addresses)
                .any(|vip| vip.address == *address)
        });
        let link_local = addresses_on_link.iter().find_map(|(address, _, _)| match address {
            IpAddr::V6(v6) if v6.is_unicast_link_local() => Some(*v6),
            _ => None,
        });
        let on_link: Vec<IpAddr> =
            addresses_on_link.iter().map(|(address, _, _)| *address).collect();
        let primary = match primary.or(spec.source_ip) {
            Some(source) => source,
            None => vrrp_node::primary_address(&spec, &on_link).ok_or_else(|| {
                anyhow!(
                    "{}: {} has no {} address to send advertisements from; set unicast_src_ip",
                    spec.name,
                    spec.interface,
                    spec.family
                )
            })?,
        };
        if interface.mac.is_none() {
            bail!("{}: {} has no Ethernet address", spec.name, spec.interface);
        }
        let vmac = match &spec.vmac {
            Some(config) => {
                // keepalived vrrp_vmac.c set_link_local_address(): the configured source,
                // else the base interface's link-local.
                let source = match (primary, link_local) {
                    (IpAddr::V6(source), _) if spec.source_ip.is_some() => Some(source),
                    (IpAddr::V6(_), found) => found,
                    (IpAddr::V4(_), _) => None,
                };
                if spec.family == Family::Ipv6 && !config.xmit_base && source.is_none() {
                    bail!(
                        "{}: {} has no link-local address for use_vmac",
                        spec.name,
                        spec.interface
                    );
                }
                let source = source.filter(|_| !config.xmit_base);
                Some(
                    vmac::ensure(netlink, config, spec.family, spec.vrid, &interface, source)
                        .await
                        .with_context(|| format!("{}: use_vmac", spec.name))?,
                )
            }
            None => None,
        };
        let address_vmacs = match address_vmacs(&spec, &interface, vmac.as_ref(), netlink).await {
            Ok(links) => links,
            Err((made, error)) => {
                for link in made.iter().filter(|link| link.created) {
                    let _ = vmac::remove(netlink, link).await;
                }
                if let Some(link) = vmac.as_ref().filter(|link| link.created) {
                    let _ = vmac::remove(netlink, link).await;
                }
                return Err(error);
            }
        };
        let addresses = resolve_addresses(
            &spec,
            interface.ifindex,
            vmac.as_ref().map(|v| v.ifindex),
            &address_vmacs,
            netlink,
        )
        .await?;
        // keepalived vrrp.c: the addresses and the gratuitous ARPs are on the macvlan
        // (vrrp->ifp), and so are the advertisements unless vmac_xmit_base
        // (vrrp_scheduler.c vrrp_create_sockpool()).
        let (announce_ifindex, announce_name, mac) = match &vmac {
            Some(link) => (link.ifindex, link.name.clone(), link.mac),
            None => (interface.ifindex, spec.interface.clone(), interface.mac.unwrap_or_default()),
        };
        let (send_ifname, send_ifindex) = match (&vmac, &spec.vmac) {
            (Some(link), Some(config)) if !config.xmit_base => (link.name.clone(), link.ifindex),
            _ => (spec.interface.clone(), interface.ifindex),
        };
        // keepalived vrrp_parser.c: `unicast_ttl` without unicast peers is reset.
        let unicast_ttl = spec.unicast_ttl.filter(|_| !spec.unicast_peers.is_empty());
        let ah = spec.auth_pass.filter(|_| spec.auth_ah).map(AhAuth::new);
        let socket = match (&ah, primary) {
            (Some(auth), IpAddr::V4(source)) => AdvertSocket::open_ah(
                &send_ifname,
                send_ifindex,
                source,
                !spec.unicast_peers.is_empty(),
                unicast_ttl,
                auth.clone(),
                mcast_group(&spec),
            )
            .map(Arc::new),
            (Some(_), IpAddr::V6(_)) => Err(anyhow!("auth_type AH needs IPv4")),
            (None, _) => {
                let group = mcast_group(&spec);
                AdvertSocket::shared(&send_ifname, send_ifindex, primary, unicast_ttl, group)
            }
        }
        .with_context(|| format!("{}: advertisement socket", spec.name))?;
        let base = spec.interface.clone();
        let own = Link { ifindex: announce_ifindex, name: announce_name, mac, link_local, base };
        let links = links(&spec, own, &addresses, &address_vmacs, netlink).await;
        let announcer = Announcer::shared()?;
        Ok(Self {
            key: InstanceKey::new(interface.ifindex, spec.vrid, spec.family.as_common()),
            ifindex: interface.ifindex,
            vmac,
            address_vmacs,
            // Known once the node has the router's configuration (see `refresh`).
            destinations: Vec::new(),
            checksum_mode: ChecksumMode::default(),
            old_unicast_group: None,
            state: State::Initialize,
            primary,
            spec,
            socket,
            ah,
            announcer,
            addresses,
            links,
            last_delivered_tick: None,
            master_watch: None,
            refused: Vec::new(),
        })
    }

    pub fn name(&self) -> &str {
        &self.spec.name
    }

    /// The interface `address` is announced on: the one it is installed on.
    pub fn link_of(&self, address: IpAddr) -> Option<&Link> {
        let installed = self.addresses.iter().find(|a| a.address == address);
        let ifindex = installed.map_or(self.ifindex, |a| a.ifindex);
        self.links.iter().find(|link| link.ifindex == ifindex)
    }

    /// Takes new settings of the running instance (reload in place): the address details and
    /// where advertisements go.
    pub async fn refresh(
        &mut self,
        spec: vrrp_config::Instance,
        router: &RouterConfig,
        netlink: &Netlink,
    ) -> Result<()> {
        let vmac = self.vmac.as_ref().map(|link| link.ifindex);
        self.addresses =
            resolve_addresses(&spec, self.ifindex, vmac, &self.address_vmacs, netlink).await?;
        let own = self.links[0].clone();
        self.links = links(&spec, own, &self.addresses, &self.address_vmacs, netlink).await;
        self.spec = spec;
        self.destinations = destinations(&router.transport, &self.spec);
        self.checksum_mode = router.checksum_mode;
        self.old_unicast_group = old_unicast_group(router);
        Ok(())
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
        if self.ah.is_some() {
            // Not the kernel's: its advertisements are AH (protocol 51), which the program
            // passes to the AH receive socket.
            return Ok(());
        }
        let spec = &self.spec;
        let mut flags = if consume { instance_flags::CONSUME_VALID } else { 0 };
        if self.state == State::Master {
            flags |= instance_flags::MIRROR_ALL;
        }
        if self.old_unicast_group.is_some() {
            flags |= instance_flags::OLD_UNICAST_CHECKSUM;
        }
        let watch = self.master_watch.filter(|_| self.state == State::Backup);
        if watch.is_some() {
            flags |= instance_flags::WATCH_MASTER;
        }
        let auth = v2_auth(spec);
        let config = InstanceConfig {
            version: spec.version.number(),
            flags,
            auth_type: auth.auth_type,
            auth_data: auth.data,
            group: if spec.unicast_peers.is_empty() {
                vrrp_common::address_bytes(mcast_group(spec))
            } else {
                [0; 16]
            },
            master_down_us: watch.map_or(0, |watch| watch.master_down_us),
            follow_priority: watch.map_or(0, |watch| watch.follow_priority),
            old_unicast_group: self.old_unicast_group.map_or([0; 4], |group| group.octets()),
            ..InstanceConfig::default()
        };
        datapath.set_instance(self.key, config, &self.xdp_peers())
    }

    /// The unicast peers as the kernel holds them (none: any sender is accepted). A peer's
    /// `min_ttl` / `max_ttl` default to 0 and 255 when only one is set (keepalived
    /// vrrp_data.c alloc_vrrp_unicast_peer()).
    fn xdp_peers(&self) -> Vec<Peer> {
        let peers = &self.spec.unicast_peers;
        peers
            .iter()
            .map(|peer| {
                let addr = vrrp_common::address_bytes(peer.address);
                let (mac, pinned) = peer.mac.map_or(([0; 6], 0), |mac| (mac.0, 1));
                let ttl_limited = peer.min_ttl.is_some() || peer.max_ttl.is_some();
                Peer {
                    addr,
                    mac,
                    pinned,
                    ttl_limited: u8::from(ttl_limited),
                    min_ttl: peer.min_ttl.unwrap_or(0),
                    max_ttl: peer.max_ttl.unwrap_or(u8::MAX),
                    ..Peer::default()
                }
            })
            .collect()
    }

    /// The advertisement the state machine sees for an arrival. The kernel's summary carries
    /// no address list; the configured one stands in (no decision depends on it).
    pub fn advertisement_of(
        &self,
        arrival: &Arrival,
        router: &RouterConfig,
    ) -> Result<Advertisement> {
        let addresses =
            arrival.addresses.clone().unwrap_or_else(|| router.virtual_addresses.clone());
        let version = router.version;
        Advertisement::new(version, self.key.vrid, arrival.priority, arrival.interval, addresses)
            .map_err(|error| {
                anyhow!("{}: advertisement from {}: {error:?}", self.name(), arrival.source)
            })
    }
}

/// The VRRPv2 authentication fields the instance sends and expects (the node's are the same).
pub fn v2_auth(spec: &vrrp_config::Instance) -> V2Auth {
    match spec.auth_pass {
        Some(_) if spec.auth_ah => V2Auth::AH,
        pass => pass.map_or(V2Auth::NONE, V2Auth::password),
    }
}

/// Where advertisements go: each unicast peer, or the instance's multicast group. This is where
/// the router's `Transport` is carried out.
pub fn destinations(transport: &Transport, spec: &vrrp_config::Instance) -> Vec<IpAddr> {
    match transport {
        Transport::Unicast { peers } => peers.clone(),
        Transport::Multicast => vec![mcast_group(spec)],
    }
}

/// The group the instance sends to and hears on (keepalived vrrp.c vrrp_complete_instance():
/// `mcast_dst_ip`, else the global group). A unicast instance's sockets still join the
/// family's standard group, as they always have.
/// The group of the old unicast checksum the router's instance accepts, if it accepts it.
pub fn old_unicast_group(router: &RouterConfig) -> Option<Ipv4Addr> {
    router.old_checksum.receive_checks(ReceiveChecks::default()).old_unicast_group
}

pub fn mcast_group(spec: &vrrp_config::Instance) -> IpAddr {
    spec.mcast_group.unwrap_or(match spec.family {
        Family::Ipv4 => IpAddr::from(vrrp_common::wire::VRRP_GROUP_V4),
        Family::Ipv6 => IpAddr::from(vrrp_common::wire::VRRP_GROUP_V6),
    })
}

/// The macvlans `use_vmac_addr` and per-address `use_vmac` ask for, one for each interface
/// and family, made or reused (keepalived vrrp.c vrrp_complete_instance(), which makes them
/// when the instance is set up). On failure, those made so far come back with the error.
async fn address_vmacs(
    spec: &vrrp_config::Instance,
    interface: &crate::netlink::Interface,
    own: Option<&VmacLink>,
    netlink: &Netlink,
) -> Result<Vec<VmacLink>, (Vec<VmacLink>, anyhow::Error)> {
    let mut links: Vec<VmacLink> = Vec::new();
    let taken: Vec<String> = own.map(|link| link.name.clone()).into_iter().collect();
    for vip in spec.virtual_addresses.iter().chain(&spec.excluded_addresses) {
        if !spec.address_macvlan(vip) {
            continue;
        }
        let family = if vip.address.is_ipv4() { Family::Ipv4 } else { Family::Ipv6 };
        let mac = vrrp_config::Vmac::mac(family, spec.vrid).0;
        let parent = match vip.device.as_deref().filter(|dev| *dev != spec.interface) {
            Some(device) => match netlink.interface(device).await {
                Ok(parent) => parent,
                Err(error) => {
                    let error = error.context(format!("{}: dev {device}", spec.name));
                    return Err((links, error));
                }
            },
            None => interface.clone(),
        };
        if links.iter().any(|link| link.parent == parent.ifindex && link.mac == mac) {
            continue;
        }
        let mut taken = taken.clone();
        taken.extend(links.iter().map(|link| link.name.clone()));
        let prefix = &spec.address_vmac_prefix;
        let made =
            vmac::ensure_for_addresses(netlink, (family, spec.vrid), prefix, &parent, &taken);
        match made.await {
            Ok(link) => links.push(link),
            Err(error) => {
                let error = error.context(format!("{}: the macvlan of {}", spec.name, vip.address));
                return Err((links, error));
            }
        }
    }
    Ok(links)
}

/// The advertised and excluded addresses as they are installed, each on its `dev`; without
/// one, on the instance's interface (`ifindex`), or on its macvlan (`vmac`) when the address
/// is of the instance's family (keepalived vrrp.c vrrp_complete_instance(): an address of the
/// other family stays on the configured interface); one that asks for a macvlan of its own
/// interface goes on it (`address_vmacs`; where it is not there, as in `vrrpd cleanup`, on
/// its interface).
pub(crate) async fn resolve_addresses(
    spec: &vrrp_config::Instance,
    ifindex: u32,
    vmac: Option<u32>,
    address_vmacs: &[VmacLink],
    netlink: &Netlink,
) -> Result<Vec<VirtualAddress>> {
    let mut addresses = Vec::new();
    for vip in spec.virtual_addresses.iter().chain(&spec.excluded_addresses) {
        let same_family = vip.address.is_ipv4() == (spec.family == Family::Ipv4);
        let ifindex = match &vip.device {
            Some(device) if *device != spec.interface => {
                netlink
                    .interface(device)
                    .await
                    .with_context(|| format!("{}: dev {device} of {}", spec.name, vip.address))?
                    .ifindex
            }
            _ => vmac.filter(|_| same_family).unwrap_or(ifindex),
        };
        let ifindex = if spec.address_macvlan(vip) {
            let family = if vip.address.is_ipv4() { Family::Ipv4 } else { Family::Ipv6 };
            let mac = vrrp_config::Vmac::mac(family, spec.vrid).0;
            address_vmacs
                .iter()
                .find(|link| link.parent == ifindex && link.mac == mac)
                .map_or(ifindex, |link| link.ifindex)
        } else {
            ifindex
        };
        addresses.push(VirtualAddress {
            address: vip.address,
            prefix_len: vip.prefix_len,
            ifindex,
            label: vip.label.clone(),
            scope: scope(vip.scope),
        });
    }
    Ok(addresses)
}

/// `own` and every other interface the addresses are on, with its MAC and link-local
/// address. One without a MAC (not Ethernet) is left out: its addresses are not announced.
async fn links(
    spec: &vrrp_config::Instance,
    own: Link,
    addresses: &[VirtualAddress],
    address_vmacs: &[VmacLink],
    netlink: &Netlink,
) -> Vec<Link> {
    let mut links = vec![own];
    for address in addresses {
        if links.iter().any(|link| link.ifindex == address.ifindex) {
            continue;
        }
        // A macvlan of the address's interface announces with the virtual MAC (keepalived
        // sends the gratuitous ARP / NA on the address's ifp, the macvlan).
        let device = spec
            .virtual_addresses
            .iter()
            .chain(&spec.excluded_addresses)
            .find(|vip| vip.address == address.address)
            .and_then(|vip| vip.device.clone());
        if let Some(vmac) = address_vmacs.iter().find(|link| link.ifindex == address.ifindex) {
            let name = vmac.name.clone();
            // IFF_NOARP is the parent's to decide, as for the instance's own macvlan; an
            // address without `dev` has its macvlan on the instance's interface.
            let base = device.unwrap_or_else(|| spec.interface.clone());
            let mac = vmac.mac;
            links.push(Link { ifindex: vmac.ifindex, name, mac, link_local: None, base });
            continue;
        }
        let Some(device) = device else {
            continue;
        };
        match netlink.interface(&device).await {
            Ok(interface) if interface.mac.is_some() => {
                let on_link = netlink.addresses(interface.ifindex).await.unwrap_or_default();
                let link_local = on_link.iter().find_map(|(address, _, _)| match address {
                    IpAddr::V6(v6) if v6.is_unicast_link_local() => Some(*v6),
                    _ => None,
                });
                let mac = interface.mac.unwrap_or_default();
                let base = device.clone();
                links.push(Link {
                    ifindex: interface.ifindex,
                    name: device,
                    mac,
                    link_local,
                    base,
                });
            }
            Ok(_) => log::warn!(
                "{}: {device} has no Ethernet address: {} is not announced there",
                spec.name,
                address.address
            ),
            Err(error) => log::warn!("{}: {error:#}", spec.name),
        }
    }
    links
}

/// rtnetlink's scope for a configured one (keepalived's default is global).
pub(crate) fn scope(scope: Option<Scope>) -> netlink_packet_route::address::AddressScope {
    use netlink_packet_route::address::AddressScope;
    match scope {
        None | Some(Scope::Global) => AddressScope::Universe,
        Some(Scope::Site) => AddressScope::Site,
        Some(Scope::Link) => AddressScope::Link,
        Some(Scope::Host) => AddressScope::Host,
        Some(Scope::Nowhere) => AddressScope::Nowhere,
    }
}
