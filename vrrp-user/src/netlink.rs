//! rtnetlink: interfaces, their addresses, the virtual addresses we own, and change events
//! (routes and rules: `routes.rs`).
//!
//! Virtual addresses are installed as keepalived does: a host address (`/32`, `/128`, or the
//! configured prefix) with the configured label and scope, so `ip addr` shows them the same way.

use std::net::IpAddr;

use anyhow::{anyhow, bail, Context, Result};
use futures_util::{StreamExt, TryStreamExt};
use netlink_packet_core::{NetlinkMessage, NetlinkPayload};
use netlink_packet_route::{
    address::{AddressAttribute, AddressHeaderFlags, AddressMessage, AddressScope},
    link::{LinkAttribute, LinkFlags, LinkMessage, LinkXdp, XdpAttached},
    RouteNetlinkMessage,
};
use netlink_sys::{AsyncSocket, SocketAddr};
use rtnetlink::{
    constants::{RTMGRP_IPV4_IFADDR, RTMGRP_IPV6_IFADDR, RTMGRP_LINK},
    Handle,
};
use tokio::sync::mpsc::UnboundedReceiver;
use vrrp_config::Rule;
use vrrp_node::RouteKey;

use crate::routes;

/// A virtual address as installed on an interface.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VirtualAddress {
    pub address: IpAddr,
    pub prefix_len: u8,
    pub ifindex: u32,
    pub label: Option<String>,
    pub scope: AddressScope,
}

/// What the kernel told us changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NetEvent {
    /// A link changed; `usable` is administratively up and carrier present.
    Link {
        ifindex: u32,
        name: String,
        usable: bool,
    },
    LinkRemoved {
        ifindex: u32,
    },
    AddressAdded {
        ifindex: u32,
        address: IpAddr,
    },
    AddressRemoved {
        ifindex: u32,
        address: IpAddr,
    },
    /// A route with keepalived's protocol was deleted.
    RouteRemoved(RouteKey),
    /// A rule with keepalived's protocol was deleted.
    RuleRemoved(Rule),
}

/// Cheap to clone: clones share one netlink connection, whose requests are in flight together.
#[derive(Clone)]
pub struct Netlink {
    pub(crate) handle: Handle,
}

/// The handle for requests and the stream of change notifications.
pub fn connect() -> Result<(Netlink, UnboundedReceiver<NetEvent>)> {
    let (mut connection, handle, mut messages) =
        rtnetlink::new_connection().context("opening a netlink socket")?;
    let groups = RTMGRP_LINK | RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR;
    connection
        .socket_mut()
        .socket_mut()
        .bind(&SocketAddr::new(0, groups))
        .context("subscribing to link and address changes")?;
    tokio::spawn(connection);
    let (sender, events) = tokio::sync::mpsc::unbounded_channel();
    routes::watch(sender.clone())?;
    tokio::spawn(async move {
        while let Some((message, _)) = messages.next().await {
            if let Some(event) = net_event(message) {
                if sender.send(event).is_err() {
                    break;
                }
            }
        }
    });
    Ok((Netlink { handle }, events))
}

fn net_event(message: NetlinkMessage<RouteNetlinkMessage>) -> Option<NetEvent> {
    let NetlinkPayload::InnerMessage(message) = message.payload else {
        return None;
    };
    match message {
        RouteNetlinkMessage::NewLink(link) => Some(NetEvent::Link {
            ifindex: link.header.index,
            name: link_name(&link).unwrap_or_default(),
            usable: link_usable(&link),
        }),
        RouteNetlinkMessage::DelLink(link) => {
            Some(NetEvent::LinkRemoved { ifindex: link.header.index })
        }
        RouteNetlinkMessage::NewAddress(address) => Some(NetEvent::AddressAdded {
            ifindex: address.header.index,
            address: address_of(&address)?,
        }),
        RouteNetlinkMessage::DelAddress(address) => Some(NetEvent::AddressRemoved {
            ifindex: address.header.index,
            address: address_of(&address)?,
        }),
        _ => None,
    }
}

/// Up and with carrier: keepalived's test for a usable interface.
fn link_usable(link: &LinkMessage) -> bool {
    link.header.flags.contains(LinkFlags::Up) && link.header.flags.contains(LinkFlags::LowerUp)
}

fn link_name(link: &LinkMessage) -> Option<String> {
    link.attributes.iter().find_map(|attribute| match attribute {
        LinkAttribute::IfName(name) => Some(name.clone()),
        _ => None,
    })
}

fn address_of(message: &AddressMessage) -> Option<IpAddr> {
    // IFA_LOCAL is the interface's own address on point-to-point links; prefer it.
    let local = message.attributes.iter().find_map(|attribute| match attribute {
        AddressAttribute::Local(address) => Some(*address),
        _ => None,
    });
    local.or_else(|| {
        message.attributes.iter().find_map(|attribute| match attribute {
            AddressAttribute::Address(address) => Some(*address),
            _ => None,
        })
    })
}

/// An interface as the daemon needs it.
#[derive(Debug, Clone)]
pub struct Interface {
    pub ifindex: u32,
    pub name: String,
    pub usable: bool,
    pub mac: Option<[u8; 6]>,
}

impl Netlink {
    pub async fn interface(&self, name: &str) -> Result<Interface> {
        let mut links = self.handle.link().get().match_name(name.to_owned()).execute();
        let link = match links.try_next().await {
            Ok(Some(link)) => link,
            Ok(None) | Err(rtnetlink::Error::NetlinkError(_)) => {
                bail!("no interface named {name:?}")
            }
            Err(error) => return Err(error).context(format!("looking up interface {name}")),
        };
        let mac = link.attributes.iter().find_map(|attribute| match attribute {
            LinkAttribute::Address(bytes) if bytes.len() == 6 => {
                let mut mac = [0u8; 6];
                mac.copy_from_slice(bytes);
                Some(mac)
            }
            _ => None,
        });
        Ok(Interface {
            ifindex: link.header.index,
            name: name.to_owned(),
            usable: link_usable(&link),
            mac,
        })
    }

    /// The addresses on an interface, in the kernel's order (primary first).
    pub async fn addresses(&self, ifindex: u32) -> Result<Vec<(IpAddr, u8, AddressScope)>> {
        let mut stream = self.handle.address().get().set_link_index_filter(ifindex).execute();
        let mut addresses = Vec::new();
        while let Some(message) = stream.try_next().await.context("listing addresses")? {
            if message.header.index != ifindex {
                continue;
            }
            if let Some(address) = address_of(&message) {
                addresses.push((address, message.header.prefix_len, message.header.scope));
            }
        }
        Ok(addresses)
    }

    pub async fn has_address(&self, ifindex: u32, address: IpAddr) -> Result<bool> {
        Ok(self.addresses(ifindex).await?.iter().any(|(present, _, _)| *present == address))
    }

    /// Adds a virtual address; an address already there is not an error (it is ours to own).
    pub async fn add(&self, vip: &VirtualAddress) -> Result<()> {
        let mut request = self.handle.address().add(vip.ifindex, vip.address, vip.prefix_len);
        let message = request.message_mut();
        message.header.scope = vip.scope;
        if vip.address.is_ipv6() {
            // A virtual address moves between routers: no duplicate address detection, as
            // keepalived does (it would hold the address tentative for a second or more).
            message.header.flags |= AddressHeaderFlags::Nodad;
        }
        if let Some(label) = &vip.label {
            message.attributes.push(AddressAttribute::Label(label.clone()));
        }
        match request.execute().await {
            Ok(()) => Ok(()),
            Err(rtnetlink::Error::NetlinkError(error)) if error.raw_code() == -libc::EEXIST => {
                Ok(())
            }
            Err(error) => Err(anyhow!(error)).context(format!("adding {}", vip.address)),
        }
    }

    /// Removes a virtual address; one already gone is not an error.
    pub async fn remove(&self, vip: &VirtualAddress) -> Result<()> {
        let mut stream = self.handle.address().get().set_link_index_filter(vip.ifindex).execute();
        while let Some(message) = stream.try_next().await.context("listing addresses")? {
            if message.header.index == vip.ifindex && address_of(&message) == Some(vip.address) {
                return match self.handle.address().del(message).execute().await {
                    Ok(()) => Ok(()),
                    Err(rtnetlink::Error::NetlinkError(error))
                        if error.raw_code() == -libc::EADDRNOTAVAIL =>
                    {
                        Ok(())
                    }
                    Err(error) => Err(anyhow!(error)).context(format!("removing {}", vip.address)),
                };
            }
        }
        Ok(())
    }

    /// The XDP program on an interface, if any: its id and how it is attached.
    pub async fn xdp_program(&self, ifindex: u32) -> Result<Option<(u32, XdpAttached)>> {
        let mut links = self.handle.link().get().match_index(ifindex).execute();
        let Some(link) = links.try_next().await.context("reading the interface")? else {
            return Ok(None);
        };
        let Some(xdp) = link.attributes.iter().find_map(|attribute| match attribute {
            LinkAttribute::Xdp(xdp) => Some(xdp),
            _ => None,
        }) else {
            return Ok(None);
        };
        let mode = xdp.iter().find_map(|item| match item {
            LinkXdp::Attached(mode) => Some(*mode),
            _ => None,
        });
        let id = xdp.iter().find_map(|item| match item {
            LinkXdp::ProgId(id) | LinkXdp::DrvProgId(id) | LinkXdp::SkbProgId(id) => Some(*id),
            _ => None,
        });
        Ok(match (id, mode) {
            (Some(id), Some(mode)) if mode != XdpAttached::None => Some((id, mode)),
            _ => None,
        })
    }

    /// Detaches a program attached through netlink (a BPF link refuses: its owner is alive).
    pub async fn detach_xdp(&self, ifindex: u32, mode: &XdpAttached) -> Result<()> {
        const XDP_FLAGS_SKB_MODE: u32 = 1 << 1;
        const XDP_FLAGS_DRV_MODE: u32 = 1 << 2;
        let flags = match mode {
            XdpAttached::SocketBuffer => XDP_FLAGS_SKB_MODE,
            _ => XDP_FLAGS_DRV_MODE,
        };
        let mut message = LinkMessage::default();
        message.header.index = ifindex;
        message.attributes.push(LinkAttribute::Xdp(vec![LinkXdp::Fd(-1), LinkXdp::Flags(flags)]));
        self.handle.link().set(message).execute().await.context("detaching the XDP program")
    }
}
