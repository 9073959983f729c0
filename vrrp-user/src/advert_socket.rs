//! The raw IPPROTO_VRRP socket of one instance, for sending advertisements (multicast with TTL /
//! hop limit 255, RFC 9568 §5.1.1.3, §5.1.2.3; unicast as keepalived does). Receiving is
//! `socket_receiver`'s, on one socket per interface and family.
//!
//! The socket joins the VRRP multicast group on its interface, so the interface accepts the
//! group's frames and XDP sees them. A classic BPF filter that accepts nothing keeps it from
//! ever queueing a copy of what arrives.
//!
//! Instances that send from the same address on the same interface share one socket, as
//! keepalived's socket pool does (vrrp_scheduler.c vrrp_create_sockpool()): the kernel offers
//! every VRRP packet that arrives to every raw VRRP socket that matches it, cloning it for each
//! one's filter, so one socket per instance made each advertisement cost as many clones as there
//! are instances (250 at advert_int 0.01: most of a backup's CPU, in raw_local_deliver()).
//!
//! An `auth_type AH` instance sends on a raw IPPROTO_AH socket instead, writing the whole IPv4
//! header itself (IP_HDRINCL), since the AH signature covers it (keepalived vrrp.c
//! open_vrrp_send_socket(), vrrp_build_pkt()).

use std::{
    collections::HashMap,
    net::{IpAddr, Ipv4Addr, SocketAddr, SocketAddrV6},
    sync::{Arc, LazyLock, Mutex, Weak},
};

use anyhow::{anyhow, Context, Result};
use socket2::{Domain, InterfaceIndexOrAddress, Protocol, SockAddr, SockFilter, Socket, Type};
use vrrp_common::wire::{IPPROTO_VRRP, VRRP_TTL};
use vrrp_proto::{packet::IPPROTO_AH, Advertisement, AhEnvelope, AhKey, AhSequence, ChecksumMode};

pub struct AdvertSocket {
    socket: Socket,
    ifindex: u32,
    source: IpAddr,
    /// The IPv4 header is written here (IP_HDRINCL) because the kernel would not send from
    /// `source` (see `AdvertSocket::open`).
    header_included: bool,
    /// Set for an `auth_type AH` instance: the socket is then IPPROTO_AH with IP_HDRINCL.
    ah: Option<AhSender>,
}

/// An AH instance's key and sequence number, shared by its sending and receiving sides.
#[derive(Clone)]
pub struct AhAuth {
    pub key: AhKey,
    pub sequence: Arc<Mutex<AhSequence>>,
}

impl std::fmt::Debug for AhAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The key stays out of logs.
        f.debug_struct("AhAuth").field("sequence", &*self.sequence()).finish_non_exhaustive()
    }
}

impl AhAuth {
    pub fn new(key: AhKey) -> Self {
        Self { key, sequence: Arc::default() }
    }

    /// The counter, whole even if a holder panicked.
    pub fn sequence(&self) -> std::sync::MutexGuard<'_, AhSequence> {
        self.sequence.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

struct AhSender {
    auth: AhAuth,
    ttl: u8,
    unicast: bool,
    /// The IPv4 identification of the last advertisement (keepalived vrrp_t ip_id).
    identification: Mutex<u16>,
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

/// Joins multicast `group` on interface `ifindex`: the VRRP group, or the one the
/// configuration names (keepalived vrrp.c open_vrrp_read_socket(), vrrp_if.c
/// if_join_vrrp_group() with the instance's `mcast_daddr`).
pub fn join_vrrp_group(socket: &Socket, group: IpAddr, ifindex: u32) -> Result<()> {
    match group {
        IpAddr::V4(group) => socket
            .join_multicast_v4_n(&group, &InterfaceIndexOrAddress::Index(ifindex))
            .with_context(|| format!("joining {group}")),
        IpAddr::V6(group) => {
            socket.join_multicast_v6(&group, ifindex).with_context(|| format!("joining {group}"))
        }
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

/// What makes two instances' sockets the same: interface, source, `unicast_ttl`, group.
type SharedKey = (String, u32, IpAddr, Option<u8>, IpAddr);

/// The sockets in use, each as long as an instance holds it.
static SHARED: LazyLock<Mutex<HashMap<SharedKey, Weak<AdvertSocket>>>> =
    LazyLock::new(Mutex::default);

impl AdvertSocket {
    /// The socket of [`Self::open`] for these settings: the one another instance already uses,
    /// or a new one.
    pub fn shared(
        ifname: &str,
        ifindex: u32,
        source: IpAddr,
        unicast_ttl: Option<u8>,
        group: IpAddr,
    ) -> Result<Arc<Self>> {
        let mut shared = SHARED.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        shared.retain(|_, socket| socket.strong_count() > 0);
        let key = (ifname.to_owned(), ifindex, source, unicast_ttl, group);
        if let Some(socket) = shared.get(&key).and_then(Weak::upgrade) {
            return Ok(socket);
        }
        let socket = Arc::new(Self::open(ifname, ifindex, source, unicast_ttl, group)?);
        shared.insert(key, Arc::downgrade(&socket));
        Ok(socket)
    }

    /// Opens the socket on `ifname` (index `ifindex`), sending from `source`; `unicast_ttl` is
    /// keepalived's keyword of that name (see `set_hop_limits`); it joins `group`, so the
    /// interface takes the group's frames in and XDP sees them.
    fn open(
        ifname: &str,
        ifindex: u32,
        source: IpAddr,
        unicast_ttl: Option<u8>,
        group: IpAddr,
    ) -> Result<Self> {
        let socket = raw_vrrp_socket(ifname, source.is_ipv4())?;
        // `ret 0`: the socket keeps nothing of what arrives.
        socket.attach_filter(&[SockFilter::new(0x06, 0, 0, 0)]).context("SO_ATTACH_FILTER")?;
        set_hop_limits(&socket, source, unicast_ttl)?;
        join_vrrp_group(&socket, group, ifindex)?;
        // The interface by index, whatever the source (keepalived vrrp.c open_vrrp_send_socket(),
        // if_setsockopt_mcast_if()): a source that is not an address of the interface still
        // sends there.
        match source {
            IpAddr::V4(_) => {
                socket.set_multicast_loop_v4(false).context("IP_MULTICAST_LOOP")?;
                set_multicast_if_index_v4(&socket, ifindex).context("IP_MULTICAST_IF")?;
            }
            IpAddr::V6(_) => {
                socket.set_multicast_loop_v6(false).context("IPV6_MULTICAST_LOOP")?;
                socket.set_multicast_if_v6(ifindex).context("IPV6_MULTICAST_IF")?;
            }
        }
        let header_included = needs_own_header(source);
        if header_included {
            // keepalived sends a configured `mcast_src_ip` as the packet's source, whatever it
            // is (vrrp.c vrrp_update_pkt() keeps a source from the configuration; its IPv4
            // send socket writes the header, IP_HDRINCL). The kernel routes no packet from a
            // multicast or broadcast source, so the header is written here too. Receivers
            // drop such packets (RFC 1122 §3.2.1.3; Linux discards them as martians).
            log::warn!(
                "advertisements on {ifname} are sent from {source}, as configured and as \
                 keepalived sends them; it is not a unicast address, so peers discard them: \
                 set mcast_src_ip to an address of {ifname}, or remove it"
            );
            socket.set_header_included_v4(true).context("IP_HDRINCL")?;
        } else {
            // Binding fixes the source address of what is sent; nothing is received here.
            socket
                .bind(&socket_address(source, ifindex))
                .with_context(|| format!("binding the VRRP socket to {source}"))?;
        }
        Ok(Self { socket, ifindex, source, header_included, ah: None })
    }

    /// Opens the IPPROTO_AH socket of an `auth_type AH` instance (VRRPv2 over IPv4, which the
    /// configuration ensures): it writes its own IPv4 header, with TTL 255 or `unicast_ttl`.
    pub fn open_ah(
        ifname: &str,
        ifindex: u32,
        source: Ipv4Addr,
        unicast: bool,
        unicast_ttl: Option<u8>,
        auth: AhAuth,
        group: IpAddr,
    ) -> Result<Self> {
        let socket = raw_ah_socket(ifname)?;
        socket.attach_filter(&[SockFilter::new(0x06, 0, 0, 0)]).context("SO_ATTACH_FILTER")?;
        socket.set_header_included_v4(true).context("IP_HDRINCL")?;
        join_vrrp_group(&socket, group, ifindex)?;
        socket.set_multicast_loop_v4(false).context("IP_MULTICAST_LOOP")?;
        set_multicast_if_index_v4(&socket, ifindex).context("IP_MULTICAST_IF")?;
        let ttl = if unicast { unicast_ttl.unwrap_or(VRRP_TTL) } else { VRRP_TTL };
        let ah = AhSender { auth, ttl, unicast, identification: Mutex::new(0) };
        Ok(Self {
            socket,
            ifindex,
            source: IpAddr::V4(source),
            header_included: true,
            ah: Some(ah),
        })
    }

    pub fn source(&self) -> IpAddr {
        self.source
    }

    /// Sends one advertisement to each destination; what failed, per destination.
    pub fn send_advertisement(
        &self,
        advertisement: &Advertisement,
        destinations: &[IpAddr],
        mode: ChecksumMode,
    ) -> Vec<anyhow::Error> {
        let packets: Vec<Result<(IpAddr, Vec<u8>)>> = match &self.ah {
            None => destinations
                .iter()
                .map(|&destination| {
                    let bytes = if self.header_included {
                        advertisement.encode_ip_packet(self.source, destination, mode)?
                    } else {
                        advertisement.encode_payload(self.source, destination, mode)?
                    };
                    Ok((destination, bytes))
                })
                .collect(),
            Some(ah) => self.ah_packets(ah, advertisement, destinations),
        };
        packets
            .into_iter()
            .filter_map(|packet| packet.and_then(|(to, bytes)| self.send(&bytes, to)).err())
            .collect()
    }

    /// One AH packet per destination, all with the same sequence number and identification,
    /// each signed for its destination (keepalived vrrp.c vrrp_update_pkt()).
    fn ah_packets(
        &self,
        ah: &AhSender,
        advertisement: &Advertisement,
        destinations: &[IpAddr],
    ) -> Vec<Result<(IpAddr, Vec<u8>)>> {
        let sequence = ah.auth.sequence().next_to_send();
        let identification = {
            let mut last = ah.identification.lock().unwrap_or_else(|e| e.into_inner());
            // 0 would let the kernel choose one after the signature was made.
            *last = last.checked_add(1).unwrap_or(1);
            *last
        };
        let IpAddr::V4(source) = self.source else {
            return vec![Err(anyhow!("AH needs an IPv4 source"))];
        };
        destinations
            .iter()
            .map(|&to| {
                let IpAddr::V4(destination) = to else {
                    return Err(anyhow!("AH needs an IPv4 destination, not {to}"));
                };
                let envelope = AhEnvelope {
                    source,
                    destination,
                    ttl: ah.ttl,
                    identification,
                    sequence,
                    unicast: ah.unicast,
                };
                Ok((to, advertisement.encode_ah_packet(&envelope, &ah.auth.key)?))
            })
            .collect()
    }

    /// Sends one VRRP message (already checksummed for `destination`), or one whole AH packet.
    fn send(&self, bytes: &[u8], destination: IpAddr) -> Result<()> {
        self.socket
            .send_to(bytes, &socket_address(destination, self.ifindex))
            .with_context(|| format!("sending an advertisement to {destination}"))
            .map(drop)
    }
}

/// Whether the kernel would refuse to send from `source` (it routes nothing from a multicast,
/// broadcast or unspecified IPv4 source), so that the IPv4 header must be written here.
fn needs_own_header(source: IpAddr) -> bool {
    match source {
        IpAddr::V4(v4) => v4.is_multicast() || v4.is_broadcast() || v4.is_unspecified(),
        IpAddr::V6(_) => false,
    }
}

/// IP_MULTICAST_IF by interface index (`struct ip_mreqn`), which socket2 sets only by address.
fn set_multicast_if_index_v4(socket: &Socket, ifindex: u32) -> std::io::Result<()> {
    use std::os::fd::AsRawFd;
    let request = libc::ip_mreqn {
        imr_multiaddr: libc::in_addr { s_addr: 0 },
        imr_address: libc::in_addr { s_addr: 0 },
        imr_ifindex: i32::try_from(ifindex).map_err(|_| std::io::ErrorKind::InvalidInput)?,
    };
    // SAFETY: the option value is a live ip_mreqn of the length given.
    let status = unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            libc::IPPROTO_IP,
            libc::IP_MULTICAST_IF,
            (&raw const request).cast(),
            std::mem::size_of::<libc::ip_mreqn>() as libc::socklen_t,
        )
    };
    if status == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// A raw IPPROTO_AH socket bound to `ifname`, non-blocking.
pub fn raw_ah_socket(ifname: &str) -> Result<Socket> {
    let protocol = Protocol::from(i32::from(IPPROTO_AH));
    let socket = Socket::new(Domain::IPV4, Type::RAW.nonblocking().cloexec(), Some(protocol))
        .context("opening a raw AH socket (needs CAP_NET_RAW)")?;
    socket
        .bind_device(Some(ifname.as_bytes()))
        .with_context(|| format!("binding the AH socket to {ifname}"))?;
    Ok(socket)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_sources_the_kernel_will_not_route_get_a_header_of_their_own() {
        for source in ["224.0.0.1", "239.1.2.3", "255.255.255.255", "0.0.0.0"] {
            assert!(needs_own_header(source.parse().unwrap()), "{source}");
        }
        for source in ["192.0.2.1", "169.254.0.2", "fe80::1", "ff02::1", "2001:db8::1"] {
            assert!(!needs_own_header(source.parse().unwrap()), "{source}");
        }
    }
}
