//! rtnetlink: interfaces, their addresses, the virtual addresses we own, and change events
//! (routes and rules: `routes.rs`).
//!
//! Virtual addresses are installed as keepalived does: a host address (`/32`, `/128`, or the
//! configured prefix) with the configured label and scope, so `ip addr` shows them the same way.

use std::{net::IpAddr, time::Duration};

use anyhow::{anyhow, bail, Context, Result};
use futures_util::{StreamExt, TryStreamExt};
use netlink_packet_core::{NetlinkMessage, NetlinkPayload};
use netlink_packet_route::{
    address::{AddressAttribute, AddressHeaderFlags, AddressMessage, AddressScope},
    link::{InfoKind, LinkAttribute, LinkFlags, LinkInfo, LinkMessage, LinkXdp, XdpAttached},
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

/// What a removal in the added form found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Removal {
    /// Removed, or gone with its interface.
    Done,
    /// No address in that form on the interface.
    NotInThatForm,
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
    /// The event socket overflowed (ENOBUFS): events were lost, links and addresses must be
    /// read again.
    Overrun,
}

/// Test-only: the event socket's receive buffer in bytes (the kernel's default otherwise), so
/// that a lab can overflow it.
pub const RCVBUF_VARIABLE: &str = "VRRPD_NETLINK_RCVBUF";
const RCVBUF_RANGE: std::ops::RangeInclusive<usize> = 4096..=(16 << 20);

/// Cheap to clone: clones share one netlink connection, whose requests are in flight together.
#[derive(Clone)]
pub struct Netlink {
    pub(crate) handle: Handle,
}

/// The handle for requests and the stream of change notifications.
///
/// Requests and notifications use two sockets: notifications come without waiting for the
/// reader, and when they overflow its buffer the kernel drops what does not fit, which on a
/// shared socket could be a request's answer (the request would never complete).
pub fn connect() -> Result<(Netlink, UnboundedReceiver<NetEvent>)> {
    let (connection, handle, _) =
        rtnetlink::new_connection().context("opening a netlink socket")?;
    tokio::spawn(connection);
    let (mut connection, _, mut messages) =
        rtnetlink::new_connection().context("opening a netlink socket for events")?;
    let groups = RTMGRP_LINK | RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR;
    let socket = connection.socket_mut().socket_mut();
    socket.bind(&SocketAddr::new(0, groups)).context("subscribing to link and address changes")?;
    if let Ok(bytes) = std::env::var(RCVBUF_VARIABLE) {
        let bytes: usize =
            bytes.parse().ok().filter(|bytes| RCVBUF_RANGE.contains(bytes)).with_context(|| {
                format!("{RCVBUF_VARIABLE}={bytes}: not a size in {RCVBUF_RANGE:?}")
            })?;
        socket.set_rx_buf_sz(bytes).context("setting the event socket's buffer")?;
    }
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
    let message = match message.payload {
        NetlinkPayload::InnerMessage(message) => message,
        // netlink-proto reports a read that failed with ENOBUFS as NLMSG_OVERRUN.
        NetlinkPayload::Overrun(_) => return Some(NetEvent::Overrun),
        _ => return None,
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

/// How long one address request may take before it counts as lost (and is retried).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(2);
/// Attempts of an address change, the first included.
const ATTEMPTS: u32 = 5;

/// After attempt `attempt` (0 for the first) failed with `errno` (`None`: no answer within
/// [`REQUEST_TIMEOUT`]), how long to wait before the next, or `None` to give up: only
/// transient failures are retried (the kernel short of memory or busy), with a doubling delay
/// from 20 ms, at most [`ATTEMPTS`] attempts (about 0.3 s of waiting in all).
pub fn retry_delay(errno: Option<i32>, attempt: u32) -> Option<Duration> {
    let transient = errno.is_none_or(|code| {
        [libc::EBUSY, libc::ENOBUFS, libc::EAGAIN, libc::ENOMEM].contains(&code)
    });
    (transient && attempt + 1 < ATTEMPTS).then(|| Duration::from_millis(20 << attempt))
}

/// Runs `request` until it succeeds, fails for good, or has used its attempts. Each retry is
/// logged; the final error says how many attempts were made.
async fn retrying<F, R>(what: &str, mut request: R) -> Result<()>
where
    R: FnMut() -> F,
    F: std::future::Future<Output = Result<(), rtnetlink::Error>>,
{
    let mut attempt = 0;
    loop {
        let (errno, error) = match tokio::time::timeout(REQUEST_TIMEOUT, request()).await {
            Ok(Ok(())) => return Ok(()),
            Ok(Err(rtnetlink::Error::NetlinkError(message))) => {
                let errno = -message.raw_code();
                (Some(errno), anyhow!(rtnetlink::Error::NetlinkError(message)))
            }
            Ok(Err(error)) => (None, anyhow!(error)),
            Err(_) => (None, anyhow!("no answer within {REQUEST_TIMEOUT:?}")),
        };
        match retry_delay(errno, attempt) {
            Some(delay) => {
                crate::recovery::count(crate::recovery::Event::AddressRetry);
                log::warn!("{what}: {error:#}; retrying in {delay:?}");
                tokio::time::sleep(delay).await;
                attempt += 1;
            }
            None => {
                crate::recovery::count(crate::recovery::Event::AddressFailure);
                return Err(error)
                    .context(format!("{what} (failed after {} attempts)", attempt + 1));
            }
        }
    }
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

    /// Every link: name, ifindex, usable.
    pub async fn links(&self) -> Result<Vec<(String, u32, bool)>> {
        let mut stream = self.handle.link().get().execute();
        let mut links = Vec::new();
        while let Some(link) = stream.try_next().await.context("listing links")? {
            if let Some(name) = link_name(&link) {
                links.push((name, link.header.index, link_usable(&link)));
            }
        }
        Ok(links)
    }

    /// Every address of every interface, with its ifindex.
    pub async fn all_addresses(&self) -> Result<Vec<(u32, IpAddr)>> {
        let mut stream = self.handle.address().get().execute();
        let mut addresses = Vec::new();
        while let Some(message) = stream.try_next().await.context("listing addresses")? {
            if let Some(address) = address_of(&message) {
                addresses.push((message.header.index, address));
            }
        }
        Ok(addresses)
    }

    /// Adds a virtual address; an address already there is not an error (it is ours to own).
    /// Transient failures are retried ([`retry_delay`]).
    pub async fn add(&self, vip: &VirtualAddress) -> Result<()> {
        retrying(&format!("adding {}", vip.address), || self.add_once(vip)).await
    }

    async fn add_once(&self, vip: &VirtualAddress) -> Result<(), rtnetlink::Error> {
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
            Err(rtnetlink::Error::NetlinkError(error)) if error.raw_code() == -libc::EEXIST => {
                Ok(())
            }
            result => result,
        }
    }

    /// Removes a virtual address in the form it was added, as keepalived deletes it
    /// (vrrp_ipaddress.c netlink_ipaddress()): one request, no listing, so that a stop of a
    /// thousand masters is not a thousand listings of a thousand addresses while their backups
    /// take over. One already gone (or gone with its interface) is not an error. Transient
    /// failures are retried ([`retry_delay`]).
    pub async fn remove(&self, vip: &VirtualAddress) -> Result<()> {
        let what = format!("removing {}", vip.address);
        retrying(&what, || async { self.remove_once(vip).await.map(drop) }).await
    }

    /// [`Self::remove`], and where that form is not on the interface, the same address under
    /// another prefix: a leftover of a crashed run with an older configuration is still this
    /// router's to remove. Reads the interface's addresses when the first form is not there.
    pub async fn remove_any_form(&self, vip: &VirtualAddress) -> Result<()> {
        let what = format!("removing {}", vip.address);
        retrying(&what, || async {
            if self.remove_once(vip).await? == Removal::Done {
                return Ok(());
            }
            let mut stream =
                self.handle.address().get().set_link_index_filter(vip.ifindex).execute();
            while let Some(message) = stream.try_next().await? {
                if message.header.index == vip.ifindex && address_of(&message) == Some(vip.address)
                {
                    return match self.handle.address().del(message).execute().await {
                        Err(rtnetlink::Error::NetlinkError(error))
                            if error.raw_code() == -libc::EADDRNOTAVAIL =>
                        {
                            Ok(())
                        }
                        result => result,
                    };
                }
            }
            Ok(())
        })
        .await
    }

    async fn remove_once(&self, vip: &VirtualAddress) -> Result<Removal, rtnetlink::Error> {
        let mut ours = self.handle.address().add(vip.ifindex, vip.address, vip.prefix_len);
        match self.handle.address().del(ours.message_mut().clone()).execute().await {
            Ok(()) => Ok(Removal::Done),
            Err(rtnetlink::Error::NetlinkError(error))
                if error.raw_code() == -libc::EADDRNOTAVAIL =>
            {
                Ok(Removal::NotInThatForm)
            }
            // Gone with its interface.
            Err(rtnetlink::Error::NetlinkError(error)) if error.raw_code() == -libc::ENODEV => {
                Ok(Removal::Done)
            }
            Err(error) => Err(error),
        }
    }

    /// The interface under `name` when `name` is a VLAN device (802.1Q or 802.1ad), by name.
    pub async fn vlan_parent(&self, name: &str) -> Result<Option<String>> {
        let mut links = self.handle.link().get().match_name(name.to_owned()).execute();
        let Ok(Some(link)) = links.try_next().await else { return Ok(None) };
        let vlan = link.attributes.iter().any(|attribute| match attribute {
            LinkAttribute::LinkInfo(infos) => {
                infos.iter().any(|info| matches!(info, LinkInfo::Kind(InfoKind::Vlan)))
            }
            _ => false,
        });
        let parent = link.attributes.iter().find_map(|attribute| match attribute {
            LinkAttribute::Link(ifindex) => Some(*ifindex),
            _ => None,
        });
        let Some(parent) = parent.filter(|_| vlan) else { return Ok(None) };
        let mut links = self.handle.link().get().match_index(parent).execute();
        let link = links.try_next().await.with_context(|| format!("the link under {name}"))?;
        Ok(link.and_then(|link| {
            link.attributes.into_iter().find_map(|attribute| match attribute {
                LinkAttribute::IfName(parent) => Some(parent),
                _ => None,
            })
        }))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_transient_failures_are_retried_with_a_doubling_delay() {
        let delays: Vec<_> =
            (0..ATTEMPTS).map(|attempt| retry_delay(Some(libc::ENOBUFS), attempt)).collect();
        let ms = |ms| Some(Duration::from_millis(ms));
        assert_eq!(delays, [ms(20), ms(40), ms(80), ms(160), None]);
        for transient in [libc::EBUSY, libc::EAGAIN, libc::ENOMEM] {
            assert_eq!(retry_delay(Some(transient), 0), ms(20));
        }
        // A request that got no answer is retried too.
        assert_eq!(retry_delay(None, 1), ms(40));
        for lasting in [libc::EPERM, libc::EINVAL, libc::ENODEV, libc::EADDRNOTAVAIL] {
            assert_eq!(retry_delay(Some(lasting), 0), None);
        }
    }

    #[test]
    fn an_overrun_is_an_event() {
        let mut header = netlink_packet_core::NetlinkHeader::default();
        header.message_type = netlink_packet_core::NLMSG_OVERRUN;
        let message = NetlinkMessage::new(header, NetlinkPayload::Overrun(Vec::new()));
        assert_eq!(net_event(message), Some(NetEvent::Overrun));
    }
}
