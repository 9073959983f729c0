//! The raw IPPROTO_VRRP socket of one instance, for sending advertisements (multicast with TTL /
//! hop limit 255, RFC 9568 §5.1.1.3, §5.1.2.3; unicast as keepalived does). Receiving is
//! `socket_receiver`'s, on one socket per interface and family.
//!
//! The socket joins the VRRP multicast group on its interface, so the interface accepts the
//! group's frames and XDP sees them. A classic BPF filter that accepts nothing keeps it from
//! ever queueing a copy of what arrives.

use std::net::{IpAddr, SocketAddr, SocketAddrV6};

use anyhow::{Context, Result};
use socket2::{Domain, InterfaceIndexOrAddress, Protocol, SockAddr, SockFilter, Socket, Type};
use vrrp_common::wire::{IPPROTO_VRRP, VRRP_GROUP_V4, VRRP_GROUP_V6, VRRP_TTL};

pub struct AdvertSocket {
    socket: Socket,
    ifindex: u32,
    source: IpAddr,
}

/// A raw VRRP socket of `family`'s domain, bound to `ifname`, non-blocking.
pub fn raw_vrrp_socket(ifname: &str, ipv4: bool) -> Result<Socket> {
    let domain = if ipv4 { Domain::IPV4 } else { Domain::IPV6 };
    let protocol = Protocol::from(i32::from(IPPROTO_VRRP));
    let socket = Socket::new(domain, Type::RAW.nonblocking().cloexec(), Some(protocol))
        .context("opening a raw VRRP socket (needs CAP_NET_RAW)")?;
    socket
        .bind_device(Some(ifname.as_bytes()))
        .with_context(|| format!("binding the VRRP socket to {ifname}"))?;
    Ok(socket)
}

/// Joins the VRRP group of the family on interface `ifindex`.
pub fn join_vrrp_group(socket: &Socket, ipv4: bool, ifindex: u32) -> Result<()> {
    if ipv4 {
        let group = VRRP_GROUP_V4.into();
        socket
            .join_multicast_v4_n(&group, &InterfaceIndexOrAddress::Index(ifindex))
            .context("joining 224.0.0.18")
    } else {
        socket.join_multicast_v6(&VRRP_GROUP_V6.into(), ifindex).context("joining ff02::12")
    }
}

/// The TTL / hop limit of what the socket sends. Multicast: 255. Unicast: keepalived's
/// `unicast_ttl`, and without it 255 over IPv4 and the kernel's default hop limit over IPv6
/// (keepalived vrrp.c vrrp_complete_instance(): "For IPv6 the default is to let the kernel set
/// the default").
fn set_hop_limits(socket: &Socket, source: IpAddr, unicast_ttl: Option<u8>) -> Result<()> {
    let ttl = u32::from(VRRP_TTL);
    match source {
        IpAddr::V4(_) => {
            socket.set_ttl_v4(unicast_ttl.map_or(ttl, u32::from)).context("IP_TTL")?;
            socket.set_multicast_ttl_v4(ttl).context("IP_MULTICAST_TTL")
        }
        IpAddr::V6(_) => {
            if let Some(hops) = unicast_ttl {
                socket.set_unicast_hops_v6(u32::from(hops)).context("IPV6_UNICAST_HOPS")?;
            }
            socket.set_multicast_hops_v6(ttl).context("IPV6_MULTICAST_HOPS")
        }
    }
}

impl AdvertSocket {
    /// Opens the socket on `ifname` (index `ifindex`), sending from `source`; `unicast_ttl` is
    /// keepalived's keyword of that name (see `set_hop_limits`).
    pub fn open(
        ifname: &str,
        ifindex: u32,
        source: IpAddr,
        unicast_ttl: Option<u8>,
    ) -> Result<Self> {
        let socket = raw_vrrp_socket(ifname, source.is_ipv4())?;
        // `ret 0`: the socket keeps nothing of what arrives.
        socket.attach_filter(&[SockFilter::new(0x06, 0, 0, 0)]).context("SO_ATTACH_FILTER")?;
        set_hop_limits(&socket, source, unicast_ttl)?;
        join_vrrp_group(&socket, source.is_ipv4(), ifindex)?;
        match source {
            IpAddr::V4(v4) => {
                socket.set_multicast_loop_v4(false).context("IP_MULTICAST_LOOP")?;
                socket.set_multicast_if_v4(&v4).context("IP_MULTICAST_IF")?;
            }
            IpAddr::V6(_) => {
                socket.set_multicast_loop_v6(false).context("IPV6_MULTICAST_LOOP")?;
                socket.set_multicast_if_v6(ifindex).context("IPV6_MULTICAST_IF")?;
            }
        }
        // Binding fixes the source address of what is sent; nothing is received here.
        socket
            .bind(&socket_address(source, ifindex))
            .with_context(|| format!("binding the VRRP socket to {source}"))?;
        Ok(Self { socket, ifindex, source })
    }

    pub fn source(&self) -> IpAddr {
        self.source
    }

    /// Sends one VRRP message (already checksummed for `destination`).
    pub fn send(&self, payload: &[u8], destination: IpAddr) -> Result<()> {
        self.socket
            .send_to(payload, &socket_address(destination, self.ifindex))
            .with_context(|| format!("sending an advertisement to {destination}"))
            .map(drop)
    }
}

/// `address` with port 0 (raw sockets have none) and, when link-scoped, the interface's scope.
fn socket_address(address: IpAddr, ifindex: u32) -> SockAddr {
    match address {
        IpAddr::V4(v4) => SocketAddr::new(v4.into(), 0).into(),
        IpAddr::V6(v6) => {
            let scoped = v6.is_unicast_link_local() || v6.is_multicast();
            SocketAddrV6::new(v6, 0, 0, if scoped { ifindex } else { 0 }).into()
        }
    }
}
