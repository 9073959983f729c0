//! The raw IPPROTO_VRRP socket of one instance: sends advertisements (multicast with TTL / hop
//! limit 255, RFC 9568 §5.1.1.3, §5.1.2.3; unicast as keepalived does) and, on the socket data
//! path, receives them.
//!
//! The socket always joins the VRRP multicast group on its interface, so the interface accepts
//! the group's frames and XDP sees them. When XDP is the data path, a classic BPF filter that
//! accepts nothing keeps the socket from ever queueing a copy.

use std::{
    io,
    mem::{size_of, zeroed},
    net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr},
    os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd},
};

use anyhow::{anyhow, bail, Result};
use tokio::io::{unix::AsyncFd, Interest};
use vrrp_common::wire::{IPPROTO_VRRP, VRRP_GROUP_V4, VRRP_GROUP_V6, VRRP_TTL};
use vrrp_proto::packet::IpMetadata;

pub struct AdvertSocket {
    fd: AsyncFd<OwnedFd>,
    ifindex: u32,
    source: IpAddr,
}

/// What the socket data path hands over: the VRRP payload and its IP metadata.
pub struct Datagram {
    pub payload: Vec<u8>,
    pub ip: IpMetadata,
}

fn check(result: libc::c_int, what: &str) -> Result<libc::c_int> {
    if result < 0 {
        bail!("{what}: {}", io::Error::last_os_error());
    }
    Ok(result)
}

fn set_option<T>(fd: RawFd, level: i32, name: i32, value: &T, what: &str) -> Result<()> {
    // SAFETY: value points at a live T of the size passed.
    let result = unsafe {
        libc::setsockopt(fd, level, name, (value as *const T).cast(), size_of::<T>() as u32)
    };
    check(result, what).map(drop)
}

impl AdvertSocket {
    /// Opens the socket on `ifname` (index `ifindex`), sending from `source`.
    /// `receive`: whether this socket is the data path (otherwise it never queues anything).
    /// `unicast_ttl`: keepalived's `unicast_ttl`, the TTL / hop limit of unicast advertisements;
    /// without it IPv4 sends 255 and IPv6 the kernel's default hop limit (keepalived vrrp.c
    /// vrrp_complete_instance(): "For IPv6 the default is to let the kernel set the default").
    pub fn open(
        ifname: &str,
        ifindex: u32,
        source: IpAddr,
        receive: bool,
        unicast_ttl: Option<u8>,
    ) -> Result<Self> {
        let family = if source.is_ipv4() { libc::AF_INET } else { libc::AF_INET6 };
        // SAFETY: plain socket creation; ownership passes to OwnedFd at once.
        let raw = check(
            unsafe {
                libc::socket(
                    family,
                    libc::SOCK_RAW | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
                    i32::from(IPPROTO_VRRP),
                )
            },
            "opening a raw VRRP socket (needs CAP_NET_RAW)",
        )?;
        // SAFETY: raw is a fresh descriptor we own.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        if !receive {
            attach_reject_all_filter(raw)?;
        }
        let name = std::ffi::CString::new(ifname)?;
        // SAFETY: the name buffer is valid for its length.
        check(
            unsafe {
                libc::setsockopt(
                    raw,
                    libc::SOL_SOCKET,
                    libc::SO_BINDTODEVICE,
                    name.as_ptr().cast(),
                    name.as_bytes_with_nul().len() as u32,
                )
            },
            "binding the VRRP socket to its interface",
        )?;
        let ttl = i32::from(VRRP_TTL);
        match source {
            IpAddr::V4(source) => {
                let unicast_ttl = i32::from(unicast_ttl.unwrap_or(VRRP_TTL));
                set_option(raw, libc::IPPROTO_IP, libc::IP_TTL, &unicast_ttl, "IP_TTL")?;
                set_option(
                    raw,
                    libc::IPPROTO_IP,
                    libc::IP_MULTICAST_TTL,
                    &ttl,
                    "IP_MULTICAST_TTL",
                )?;
                set_option(
                    raw,
                    libc::IPPROTO_IP,
                    libc::IP_MULTICAST_LOOP,
                    &0i32,
                    "IP_MULTICAST_LOOP",
                )?;
                // SAFETY: ip_mreqn is plain data.
                let mut request: libc::ip_mreqn = unsafe { zeroed() };
                request.imr_multiaddr.s_addr = u32::from_ne_bytes(VRRP_GROUP_V4);
                request.imr_ifindex = ifindex as i32;
                set_option(
                    raw,
                    libc::IPPROTO_IP,
                    libc::IP_MULTICAST_IF,
                    &request,
                    "IP_MULTICAST_IF",
                )?;
                set_option(
                    raw,
                    libc::IPPROTO_IP,
                    libc::IP_ADD_MEMBERSHIP,
                    &request,
                    "joining 224.0.0.18",
                )?;
                bind(raw, SocketAddr::new(IpAddr::V4(source), 0), 0)?;
            }
            IpAddr::V6(source) => {
                if let Some(hops) = unicast_ttl {
                    set_option(
                        raw,
                        libc::IPPROTO_IPV6,
                        libc::IPV6_UNICAST_HOPS,
                        &i32::from(hops),
                        "IPV6_UNICAST_HOPS",
                    )?;
                }
                set_option(
                    raw,
                    libc::IPPROTO_IPV6,
                    libc::IPV6_MULTICAST_HOPS,
                    &ttl,
                    "IPV6_MULTICAST_HOPS",
                )?;
                set_option(
                    raw,
                    libc::IPPROTO_IPV6,
                    libc::IPV6_MULTICAST_LOOP,
                    &0i32,
                    "IPV6_MULTICAST_LOOP",
                )?;
                set_option(
                    raw,
                    libc::IPPROTO_IPV6,
                    libc::IPV6_MULTICAST_IF,
                    &(ifindex as i32),
                    "IPV6_MULTICAST_IF",
                )?;
                let request = libc::ipv6_mreq {
                    ipv6mr_multiaddr: libc::in6_addr { s6_addr: VRRP_GROUP_V6 },
                    ipv6mr_interface: ifindex,
                };
                set_option(
                    raw,
                    libc::IPPROTO_IPV6,
                    libc::IPV6_ADD_MEMBERSHIP,
                    &request,
                    "joining ff02::12",
                )?;
                // The hop limit and destination come as ancillary data (no header on IPv6).
                set_option(
                    raw,
                    libc::IPPROTO_IPV6,
                    libc::IPV6_RECVHOPLIMIT,
                    &1i32,
                    "IPV6_RECVHOPLIMIT",
                )?;
                set_option(
                    raw,
                    libc::IPPROTO_IPV6,
                    libc::IPV6_RECVPKTINFO,
                    &1i32,
                    "IPV6_RECVPKTINFO",
                )?;
                bind(raw, SocketAddr::new(IpAddr::V6(source), 0), ifindex)?;
            }
        }
        // SAFETY: the OwnedFd is moved into the AsyncFd, which keeps it open until dropped.
        let fd = unsafe { AsyncFd::register_with_interest(fd, Interest::READABLE) }
            .map_err(|error| anyhow!("registering the VRRP socket: {error}"))?;
        Ok(Self { fd, ifindex, source })
    }

    pub fn source(&self) -> IpAddr {
        self.source
    }

    /// Sends one VRRP message (already checksummed for `destination`).
    pub fn send(&self, payload: &[u8], destination: IpAddr) -> Result<()> {
        let (storage, len) = sockaddr(SocketAddr::new(destination, 0), self.ifindex);
        // SAFETY: payload and the address are valid for the lengths given.
        let sent = unsafe {
            libc::sendto(
                self.fd.get_ref().as_raw_fd(),
                payload.as_ptr().cast(),
                payload.len(),
                0,
                (&raw const storage).cast(),
                len,
            )
        };
        if sent < 0 {
            bail!("sending an advertisement to {destination}: {}", io::Error::last_os_error());
        }
        Ok(())
    }

    /// Waits for the next datagram (socket data path only).
    pub async fn receive(&self) -> Result<Datagram> {
        loop {
            let mut guard = self.fd.readable().await?;
            match guard.try_io(|fd| receive_now(fd.get_ref().as_raw_fd(), self.source)) {
                Ok(result) => return result.map_err(Into::into),
                Err(_would_block) => continue,
            }
        }
    }
}

fn bind(fd: RawFd, address: SocketAddr, scope: u32) -> Result<()> {
    let (storage, len) = sockaddr(address, scope);
    // SAFETY: storage holds a valid sockaddr of length len.
    let result = unsafe { libc::bind(fd, (&raw const storage).cast(), len) };
    check(result, &format!("binding the VRRP socket to {}", address.ip())).map(drop)
}

fn sockaddr(address: SocketAddr, scope: u32) -> (libc::sockaddr_storage, u32) {
    // SAFETY: sockaddr_storage is plain data; the right variant is written below.
    let mut storage: libc::sockaddr_storage = unsafe { zeroed() };
    let len = match address {
        SocketAddr::V4(v4) => {
            // SAFETY: sockaddr_storage is large and aligned enough for sockaddr_in.
            let sin = unsafe { &mut *(&raw mut storage).cast::<libc::sockaddr_in>() };
            sin.sin_family = libc::AF_INET as u16;
            sin.sin_addr.s_addr = u32::from_ne_bytes(v4.ip().octets());
            size_of::<libc::sockaddr_in>()
        }
        SocketAddr::V6(v6) => {
            // SAFETY: as above, for sockaddr_in6.
            let sin6 = unsafe { &mut *(&raw mut storage).cast::<libc::sockaddr_in6>() };
            sin6.sin6_family = libc::AF_INET6 as u16;
            sin6.sin6_addr.s6_addr = v6.ip().octets();
            if v6.ip().is_unicast_link_local() || v6.ip().is_multicast() {
                sin6.sin6_scope_id = scope;
            }
            size_of::<libc::sockaddr_in6>()
        }
    };
    (storage, len as u32)
}

/// Reads one datagram: IPv4 raw sockets include the IP header; IPv6 ones give the hop limit
/// and destination as ancillary data.
fn receive_now(fd: RawFd, local: IpAddr) -> io::Result<Datagram> {
    let mut buffer = vec![0u8; 65536];
    let mut control = [0u8; 256];
    // SAFETY: plain data, filled in by recvmsg.
    let mut from: libc::sockaddr_storage = unsafe { zeroed() };
    let mut iov = libc::iovec { iov_base: buffer.as_mut_ptr().cast(), iov_len: buffer.len() };
    // SAFETY: msghdr is plain data; every pointer set below outlives the call.
    let mut message: libc::msghdr = unsafe { zeroed() };
    message.msg_name = (&raw mut from).cast();
    message.msg_namelen = size_of::<libc::sockaddr_storage>() as u32;
    message.msg_iov = &raw mut iov;
    message.msg_iovlen = 1;
    message.msg_control = control.as_mut_ptr().cast();
    message.msg_controllen = control.len();
    // SAFETY: message describes valid buffers.
    let len = unsafe { libc::recvmsg(fd, &raw mut message, 0) };
    if len < 0 {
        return Err(io::Error::last_os_error());
    }
    buffer.truncate(len as usize);
    match local {
        IpAddr::V4(_) => ipv4_datagram(buffer),
        IpAddr::V6(_) => {
            // SAFETY: the kernel wrote a sockaddr_in6 for an AF_INET6 socket.
            let sin6 = unsafe { &*(&raw const from).cast::<libc::sockaddr_in6>() };
            let source = IpAddr::V6(Ipv6Addr::from(sin6.sin6_addr.s6_addr));
            let (ttl, destination) = ipv6_ancillary(&message);
            Ok(Datagram { payload: buffer, ip: IpMetadata { source, destination, ttl } })
        }
    }
}

fn ipv4_datagram(packet: Vec<u8>) -> io::Result<Datagram> {
    let invalid = || io::Error::new(io::ErrorKind::InvalidData, "short IPv4 packet");
    let header_len = usize::from(packet.first().ok_or_else(invalid)? & 0x0f) * 4;
    if packet.len() < header_len || header_len < 20 {
        return Err(invalid());
    }
    let source = Ipv4Addr::new(packet[12], packet[13], packet[14], packet[15]);
    let destination = Ipv4Addr::new(packet[16], packet[17], packet[18], packet[19]);
    Ok(Datagram {
        payload: packet[header_len..].to_vec(),
        ip: IpMetadata { source: source.into(), destination: destination.into(), ttl: packet[8] },
    })
}

fn ipv6_ancillary(message: &libc::msghdr) -> (u8, IpAddr) {
    let (mut hop_limit, mut destination) = (0u8, IpAddr::V6(Ipv6Addr::UNSPECIFIED));
    // SAFETY: walking the control buffer the kernel filled, with the libc macros.
    unsafe {
        let mut cmsg = libc::CMSG_FIRSTHDR(message);
        while !cmsg.is_null() {
            let header = &*cmsg;
            if header.cmsg_level == libc::IPPROTO_IPV6 {
                let data = libc::CMSG_DATA(cmsg);
                if header.cmsg_type == libc::IPV6_HOPLIMIT {
                    hop_limit = (data.cast::<i32>().read_unaligned()).clamp(0, 255) as u8;
                } else if header.cmsg_type == libc::IPV6_PKTINFO {
                    let info = data.cast::<libc::in6_pktinfo>().read_unaligned();
                    destination = IpAddr::V6(Ipv6Addr::from(info.ipi6_addr.s6_addr));
                }
            }
            cmsg = libc::CMSG_NXTHDR(message, cmsg);
        }
    }
    (hop_limit, destination)
}

/// A classic BPF program of one instruction, `ret 0`: the socket keeps nothing.
fn attach_reject_all_filter(fd: RawFd) -> Result<()> {
    let mut reject = [libc::sock_filter { code: 0x06, jt: 0, jf: 0, k: 0 }];
    let program = libc::sock_fprog { len: 1, filter: reject.as_mut_ptr() };
    set_option(fd, libc::SOL_SOCKET, libc::SO_ATTACH_FILTER, &program, "SO_ATTACH_FILTER")
}
