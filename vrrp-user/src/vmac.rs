//! The virtual MAC (`use_vmac`): keepalived's private-mode macvlan on the instance's
//! interface, with the MAC 00-00-5E-00-01-{VRID}, which holds the virtual addresses, answers
//! ARP for them and sends the gratuitous ARPs (and the advertisements, unless
//! `vmac_xmit_base`). Advertisements still arrive on the base interface, where the kernel
//! program stays: a private macvlan's parent receives every multicast frame itself.
//!
//! For IPv6 (00-00-5E-00-02-{VRID}) the macvlan gets the instance's link-local source
//! address, unless it advertises from the base.
//!
//! Created when its instance starts, removed when it stops (keepalived vrrp_vmac.c
//! netlink_link_add_vmac(), netlink_link_del_vmac()); a crashed run's is reused when it is
//! what would be created, replaced otherwise, and removed by `vrrpd cleanup`.

use std::net::{IpAddr, Ipv6Addr};

use anyhow::{bail, Context, Result};
use futures_util::TryStreamExt;
use netlink_packet_core::DefaultNla;
use netlink_packet_route::address::AddressScope;
use netlink_packet_route::link::{
    AfSpecInet, AfSpecInet6, AfSpecUnspec, In6AddrGenMode, InfoData, InfoKind, InfoMacVlan,
    LinkAttribute, LinkInfo, LinkMessage, MacVlanMode,
};
use rtnetlink::{LinkMacVlan, LinkUnspec};
use vrrp_config::{Family, Vmac};

use crate::netlink::{Interface, Netlink, VirtualAddress};

/// The macvlan as it runs.
#[derive(Debug, Clone)]
pub struct VmacLink {
    pub name: String,
    pub ifindex: u32,
    pub mac: [u8; 6],
    pub parent: u32,
    /// Made by this start (not found in place): what a start that fails removes.
    pub created: bool,
    /// The parent's `arp_ignore` and `arp_filter` before they were set, put back on removal
    /// (keepalived vrrp_if_config.c reset_interface_parameters()); IPv4 only, as keepalived.
    parent_arp: Option<(u32, u32)>,
}

/// What a link of that name is.
struct Existing {
    ifindex: u32,
    macvlan: bool,
    parent: Option<u32>,
    mac: Option<[u8; 6]>,
    private: bool,
}

// IPV4_DEVCONF_* of linux/ip.h (IFLA_INET_CONF attribute kinds).
const DEVCONF_RP_FILTER: u16 = 8;
const DEVCONF_ARPFILTER: u16 = 13;
const DEVCONF_ARP_IGNORE: u16 = 19;
const DEVCONF_PROMOTE_SECONDARIES: u16 = 20;
const DEVCONF_ACCEPT_LOCAL: u16 = 23;
const IFLA_INET_CONF: u16 = 1;
const NLA_F_NESTED: u16 = 0x8000;

/// Creates (or reuses) the instance's macvlan on `parent`, up, with keepalived's settings.
/// An IPv6 instance that advertises from the macvlan gives it `link_local`, its source.
pub async fn ensure(
    netlink: &Netlink,
    vmac: &Vmac,
    family: Family,
    vrid: u8,
    parent: &Interface,
    link_local: Option<Ipv6Addr>,
) -> Result<VmacLink> {
    ensure_named(netlink, &vmac.name, family, vrid, parent, link_local, family == Family::Ipv4)
        .await
}

/// The macvlan for an instance's addresses on `parent` of `family` (`use_vmac_addr`, or
/// `use_vmac` on the address line): a private macvlan there with the family's virtual MAC is
/// taken under whatever name it has (keepalived vrrp_if.c if_get_by_vmac()), else one is made
/// under keepalived's name, the first of `PREFIX.VRID`, (for IPv6 `PREFIX6.VRID`),
/// `PREFIX1.VRID`, ... ([`Vmac::names`]) that no instance's `use_vmac` names (`taken`) and no
/// interface has (vrrp.c create_vmac_name()).
pub async fn ensure_for_addresses(
    netlink: &Netlink,
    (family, vrid): (Family, u8),
    prefix: &str,
    parent: &Interface,
    taken: &[String],
) -> Result<VmacLink> {
    let mac = Vmac::mac(family, vrid).0;
    let found = twins(netlink, parent.ifindex, mac).await?.into_iter().next();
    let name = match found {
        Some((name, _)) => name,
        None => {
            let mut chosen = None;
            for name in Vmac::names(prefix, family, vrid) {
                if !taken.contains(&name) && lookup(netlink, &name).await?.is_none() {
                    chosen = Some(name);
                    break;
                }
            }
            chosen.with_context(|| format!("no free name for a macvlan of vrid {vrid}"))?
        }
    };
    // An IPv6 one gets the IPv4 settings too: beside the IPv4 macvlan on the same parent, it
    // would otherwise answer ARP for that one's addresses with the IPv6 virtual MAC, as
    // keepalived 2.2.7's does (vrrp_vmac.c netlink_link_add_vmac() sets them for AF_INET only;
    // tests/tests/vmac_addr.rs shows both).
    ensure_named(netlink, &name, family, vrid, parent, None, true).await
}

async fn ensure_named(
    netlink: &Netlink,
    name: &str,
    family: Family,
    vrid: u8,
    parent: &Interface,
    link_local: Option<Ipv6Addr>,
    ipv4_settings: bool,
) -> Result<VmacLink> {
    let mac = Vmac::mac(family, vrid).0;
    let handle = &netlink.handle;
    let mut reused = false;
    if let Some(existing) = lookup(netlink, name).await? {
        if !existing.macvlan {
            // keepalived vrrp_vmac.c netlink_link_add_vmac(): "VMAC %s conflicts with
            // existing interface"; never remove an interface that is not a macvlan.
            bail!("use_vmac {name}: an interface of that name exists and is not a macvlan");
        }
        if existing.parent == Some(parent.ifindex) && existing.mac == Some(mac) && existing.private
        {
            log::info!(
                "{name}: reusing the macvlan already on {} (this run's, or left by an earlier \
                 one)",
                parent.name
            );
            reused = true;
        } else {
            // keepalived: "Removing old VMAC interface %s due to conflicting interface".
            log::warn!(
                "{name}: replacing a macvlan with another parent, MAC or mode (left by an \
                 earlier run?)"
            );
            handle.link().del(existing.ifindex).execute().await.context("removing it")?;
        }
    }
    if !reused {
        // keepalived vrrp.c vrrp_complete_instance() ("Found matching interface") takes a
        // private macvlan with this MAC on this parent under any name, left by a run with
        // another configuration; here it goes, and the one made has the configured name (two
        // with one MAC on one parent cannot both be up).
        for (other, existing) in twins(netlink, parent.ifindex, mac).await? {
            log::warn!("{name}: removing macvlan {other}, which has its MAC on {}", parent.name);
            handle.link().del(existing.ifindex).execute().await.context("removing it")?;
        }
        let message = LinkMacVlan::new(name, parent.ifindex, MacVlanMode::Private)
            .address(mac.to_vec())
            .build();
        handle
            .link()
            .add(message)
            .execute()
            .await
            .with_context(|| format!("creating macvlan {name} on {}", parent.name))?;
    }
    let Some(created) = lookup(netlink, name).await? else {
        bail!("{name}: gone right after its creation");
    };
    let ifindex = created.ifindex;
    // No IPv6 link-local of its own (RFC 9568 §7.4; keepalived sets IN6_ADDR_GEN_MODE_NONE),
    // and keepalived's IPv4 settings (vrrp_if_config.c set_interface_parameters()):
    // arp_ignore 1 (ARP answered only for its own addresses), accept_local 1 (another
    // instance's advertisements from this host heard), rp_filter 0 (received while it holds
    // no address), promote_secondaries 1.
    let mut settings =
        vec![AfSpecUnspec::Inet6(vec![AfSpecInet6::AddrGenMode(In6AddrGenMode::None)])];
    if ipv4_settings {
        settings.push(AfSpecUnspec::Inet(vec![devconf(&[
            (DEVCONF_ARP_IGNORE, 1),
            (DEVCONF_ACCEPT_LOCAL, 1),
            (DEVCONF_RP_FILTER, 0),
            (DEVCONF_PROMOTE_SECONDARIES, 1),
        ])]));
    }
    set(netlink, ifindex, settings).await.with_context(|| format!("configuring {name}"))?;
    // Up after the address generation mode, or the kernel adds a link-local first
    // (keepalived netlink_link_up() comes last for that reason).
    let up = LinkUnspec::new_with_index(ifindex).up().build();
    handle.link().set(up).execute().await.with_context(|| format!("bringing {name} up"))?;
    if let Some(address) = link_local {
        // keepalived vrrp_vmac.c set_link_local_address(): advertisements leave the macvlan
        // from a non-virtual address, with the virtual MAC.
        let address = VirtualAddress {
            address: IpAddr::V6(address),
            prefix_len: 64,
            ifindex,
            label: None,
            scope: AddressScope::Link,
        };
        netlink.add(&address).await.with_context(|| format!("{name}: its link-local address"))?;
    }
    let parent_arp = match family {
        Family::Ipv4 => parent_arp(netlink, parent.ifindex).await,
        Family::Ipv6 => Some((1, 1)),
    };
    // The parent answers no ARP for the macvlan's addresses (arp_ignore 1, arp_filter 1).
    if parent_arp != Some((1, 1)) {
        let settings = vec![AfSpecUnspec::Inet(vec![devconf(&[
            (DEVCONF_ARP_IGNORE, 1),
            (DEVCONF_ARPFILTER, 1),
        ])])];
        set(netlink, parent.ifindex, settings)
            .await
            .with_context(|| format!("setting arp_ignore and arp_filter on {}", parent.name))?;
    }
    if !reused {
        log::info!(
            "{name}: macvlan created on {} with MAC {}",
            parent.name,
            vrrp_config::MacAddr(mac)
        );
    }
    Ok(VmacLink {
        name: name.to_owned(),
        ifindex,
        mac,
        parent: parent.ifindex,
        created: !reused,
        parent_arp,
    })
}

/// Removes the macvlan and puts the parent's ARP settings back.
pub async fn remove(netlink: &Netlink, link: &VmacLink) -> Result<()> {
    if let Some((ignore, filter)) = link.parent_arp.filter(|&values| values != (1, 1)) {
        let settings = vec![AfSpecUnspec::Inet(vec![devconf(&[
            (DEVCONF_ARP_IGNORE, ignore),
            (DEVCONF_ARPFILTER, filter),
        ])])];
        if let Err(error) = set(netlink, link.parent, settings).await {
            log::warn!(
                "{}: putting the parent's arp_ignore and arp_filter back: {error:#}",
                link.name
            );
        }
    }
    netlink
        .handle
        .link()
        .del(link.ifindex)
        .execute()
        .await
        .with_context(|| format!("removing macvlan {}", link.name))?;
    log::info!("{}: macvlan removed", link.name);
    Ok(())
}

/// `vrrpd cleanup`: removes `name` if it is a macvlan on `parent`, and any private macvlan
/// with the instance's virtual MAC there (never anything else). Returns the names removed.
pub async fn remove_leftovers(
    netlink: &Netlink,
    name: &str,
    parent: u32,
    mac: [u8; 6],
) -> Result<Vec<String>> {
    let mut removed = Vec::new();
    if let Some(existing) = lookup(netlink, name).await? {
        if existing.macvlan && existing.parent == Some(parent) {
            netlink.handle.link().del(existing.ifindex).execute().await?;
            removed.push(name.to_owned());
        }
    }
    for (other, existing) in twins(netlink, parent, mac).await? {
        netlink.handle.link().del(existing.ifindex).execute().await?;
        removed.push(other);
    }
    Ok(removed)
}

/// `vrrpd cleanup` for an instance's address macvlans: removes every private macvlan on
/// `parent` with `mac`. Returns the names removed.
pub async fn remove_twins(netlink: &Netlink, parent: u32, mac: [u8; 6]) -> Result<Vec<String>> {
    let mut removed = Vec::new();
    for (name, existing) in twins(netlink, parent, mac).await? {
        netlink.handle.link().del(existing.ifindex).execute().await?;
        removed.push(name);
    }
    Ok(removed)
}

/// The private macvlans on `parent` with `mac`, by name.
async fn twins(netlink: &Netlink, parent: u32, mac: [u8; 6]) -> Result<Vec<(String, Existing)>> {
    let mut links = netlink.handle.link().get().execute();
    let mut found = Vec::new();
    while let Some(link) = links.try_next().await.context("listing links")? {
        let existing = existing(&link);
        let name = link.attributes.iter().find_map(|attribute| match attribute {
            LinkAttribute::IfName(name) => Some(name.clone()),
            _ => None,
        });
        if let (Some(name), true) = (
            name,
            existing.macvlan
                && existing.private
                && existing.parent == Some(parent)
                && existing.mac == Some(mac),
        ) {
            found.push((name, existing));
        }
    }
    Ok(found)
}

async fn lookup(netlink: &Netlink, name: &str) -> Result<Option<Existing>> {
    let mut links = netlink.handle.link().get().match_name(name.to_owned()).execute();
    let link = match links.try_next().await {
        Ok(Some(link)) => link,
        Ok(None) | Err(rtnetlink::Error::NetlinkError(_)) => return Ok(None),
        Err(error) => return Err(error).context(format!("looking up interface {name}")),
    };
    Ok(Some(existing(&link)))
}

fn existing(link: &LinkMessage) -> Existing {
    let mut found = Existing {
        ifindex: link.header.index,
        macvlan: false,
        parent: None,
        mac: None,
        private: false,
    };
    for attribute in &link.attributes {
        match attribute {
            LinkAttribute::Link(parent) => found.parent = Some(*parent),
            LinkAttribute::Address(bytes) if bytes.len() == 6 => {
                found.mac = bytes.as_slice().try_into().ok();
            }
            LinkAttribute::LinkInfo(infos) => {
                for info in infos {
                    match info {
                        LinkInfo::Kind(InfoKind::MacVlan) => found.macvlan = true,
                        LinkInfo::Data(InfoData::MacVlan(data)) => {
                            found.private = data
                                .iter()
                                .any(|d| matches!(d, InfoMacVlan::Mode(MacVlanMode::Private)));
                        }
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }
    found
}

/// The interface's `arp_ignore` and `arp_filter`, as the kernel reports them.
async fn parent_arp(netlink: &Netlink, ifindex: u32) -> Option<(u32, u32)> {
    let mut links = netlink.handle.link().get().match_index(ifindex).execute();
    let link = links.try_next().await.ok()??;
    link.attributes.iter().find_map(|attribute| match attribute {
        LinkAttribute::AfSpecUnspec(specs) => specs.iter().find_map(|spec| match spec {
            AfSpecUnspec::Inet(inet) => inet.iter().find_map(|entry| match entry {
                AfSpecInet::DevConf(conf) => Some((conf.arp_ignore as u32, conf.arpfilter as u32)),
                _ => None,
            }),
            _ => None,
        }),
        _ => None,
    })
}

/// IFLA_INET_CONF with these entries, zeros included (the crate's request form leaves zeros
/// out, and rp_filter must be set to 0).
fn devconf(entries: &[(u16, u32)]) -> AfSpecInet {
    let mut payload = Vec::with_capacity(entries.len() * 8);
    for &(kind, value) in entries {
        payload.extend_from_slice(&8u16.to_ne_bytes());
        payload.extend_from_slice(&kind.to_ne_bytes());
        payload.extend_from_slice(&value.to_ne_bytes());
    }
    AfSpecInet::Other(DefaultNla::new(IFLA_INET_CONF | NLA_F_NESTED, payload))
}

async fn set(netlink: &Netlink, ifindex: u32, settings: Vec<AfSpecUnspec>) -> Result<()> {
    let message = LinkUnspec::new_with_index(ifindex)
        .append_extra_attribute(LinkAttribute::AfSpecUnspec(settings))
        .build();
    netlink.handle.link().set(message).execute().await?;
    Ok(())
}
