//! Announcing virtual addresses: gratuitous ARP for IPv4, unsolicited neighbour advertisements
//! for IPv6 (RFC 9568 §6.4.2: "for each IPv4 address ... broadcast a gratuitous ARP request",
//! "for each IPv6 address ... send an Unsolicited Neighbor Advertisement with the Router Flag").

use std::{
    io,
    mem::{size_of, zeroed},
    net::{IpAddr, Ipv4Addr, Ipv6Addr},
    os::fd::{AsRawFd, FromRawFd, OwnedFd},
    sync::{Arc, LazyLock, Mutex, Weak},
};

use anyhow::{bail, Result};
use vrrp_proto::packet::upper_layer_checksum;

const ETH_P_ARP: u16 = 0x0806;
const ETH_P_IPV6: u16 = 0x86dd;
const BROADCAST: [u8; 6] = [0xff; 6];
/// 33:33:00:00:00:01, the all-nodes group ff02::1.
const ALL_NODES_MAC: [u8; 6] = [0x33, 0x33, 0, 0, 0, 1];
const ALL_NODES: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1);
const IPPROTO_ICMPV6: u8 = 58;
const ICMPV6_NEIGHBOR_ADVERTISEMENT: u8 = 136;
const NA_FLAG_ROUTER: u8 = 0x80;
const NA_FLAG_OVERRIDE: u8 = 0x20;
const OPTION_TARGET_LINK_LAYER: u8 = 2;

/// One interface announcements go out on, with what they say there: keepalived sends each
/// address's messages on the interface the address is on, with that interface's MAC
/// (vrrp_arp.c send_gratuitous_arp(), vrrp_ndisc.c ndisc_send_unsolicited_na()).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Link {
    pub ifindex: u32,
    pub name: String,
    pub mac: [u8; 6],
    /// Source of neighbour advertisements: the interface's link-local address.
    pub link_local: Option<Ipv6Addr>,
    /// The interface whose IFF_NOARP decides: the link itself, or a macvlan's parent
    /// (keepalived's IF_BASE_IFP()).
    pub base: String,
}

/// An AF_PACKET socket that sends on whichever interface each frame names.
pub struct Announcer {
    fd: OwnedFd,
}

/// The announcer in use, as long as an instance holds it.
static SHARED: LazyLock<Mutex<Weak<Announcer>>> = LazyLock::new(Mutex::default);

impl Announcer {
    /// The one packet socket every instance announces through, opened by the first and
    /// closed with the last. Closing a packet socket waits for an RCU grace period
    /// (packet_release(), synchronize_net(): about 15 ms here), so a socket per instance made
    /// a stop of a thousand instances last twelve seconds, the later ones' addresses held
    /// without advertisements while their backups took over.
    pub fn shared() -> Result<Arc<Self>> {
        let mut shared = SHARED.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(announcer) = shared.upgrade() {
            return Ok(announcer);
        }
        let announcer = Arc::new(Self::open()?);
        *shared = Arc::downgrade(&announcer);
        Ok(announcer)
    }

    fn open() -> Result<Self> {
        // SAFETY: plain socket creation; ownership passes to OwnedFd at once. Protocol 0: this
        // socket only sends.
        let raw = unsafe {
            libc::socket(
                libc::AF_PACKET,
                libc::SOCK_RAW | libc::SOCK_CLOEXEC | libc::SOCK_NONBLOCK,
                0,
            )
        };
        if raw < 0 {
            bail!("opening a packet socket (needs CAP_NET_RAW): {}", io::Error::last_os_error());
        }
        // SAFETY: raw is a fresh descriptor we own.
        Ok(Self { fd: unsafe { OwnedFd::from_raw_fd(raw) } })
    }

    /// Whether announcements go out on `link`. keepalived sends no gratuitous ARP on an
    /// interface with IFF_NOARP (vrrp_arp.c send_gratuitous_arp()), and no unsolicited NA
    /// either: it takes the same flag to mean no neighbour discovery (vrrp_ndisc.c
    /// ndisc_send_unsolicited_na()). Read at each send, as keepalived reads the flags netlink
    /// keeps current, so `ip link set ... arp off` on a running daemon counts: one
    /// SIOCGIFFLAGS on this socket, where reading sysfs opened a file per address (most of a
    /// failover's cost at a thousand instances). Flags that cannot be read count as resolving
    /// (sending then fails, and says why).
    pub fn resolves_neighbours(&self, link: &Link) -> bool {
        self.interface_flags(&link.base).is_none_or(|flags| flags & libc::IFF_NOARP == 0)
    }

    fn interface_flags(&self, ifname: &str) -> Option<i32> {
        let name = ifname.as_bytes();
        if name.is_empty() || name.len() >= libc::IFNAMSIZ || name.contains(&0) {
            return None;
        }
        // SAFETY: ifreq is plain data.
        let mut request: libc::ifreq = unsafe { zeroed() };
        for (slot, byte) in request.ifr_name.iter_mut().zip(name) {
            *slot = *byte as libc::c_char;
        }
        // SAFETY: SIOCGIFFLAGS reads the NUL-terminated ifr_name of a valid ifreq and writes
        // its flags; the descriptor is our own socket.
        let result =
            unsafe { libc::ioctl(self.fd.as_raw_fd(), libc::SIOCGIFFLAGS, &raw mut request) };
        // SAFETY: on success the kernel wrote ifru_flags.
        (result == 0).then(|| i32::from(unsafe { request.ifr_ifru.ifru_flags }) & 0xffff)
    }

    /// Announces `address` on `link`; NAs carry the Router flag where the host forwards IPv6.
    pub fn announce(&self, link: &Link, address: IpAddr) -> Result<()> {
        let frame = match address {
            IpAddr::V4(address) => gratuitous_arp(link.mac, address),
            IpAddr::V6(address) => {
                let source = link.link_local.unwrap_or(address);
                let router = ipv6_forwarding(&link.name);
                neighbour_advertisement(link.mac, source, address, router)
            }
        };
        self.send(link.ifindex, &frame)
    }

    fn send(&self, ifindex: u32, frame: &[u8]) -> Result<()> {
        // SAFETY: sockaddr_ll is plain data.
        let mut address: libc::sockaddr_ll = unsafe { zeroed() };
        address.sll_family = libc::AF_PACKET as u16;
        address.sll_ifindex = ifindex as i32;
        address.sll_halen = 6;
        address.sll_addr[..6].copy_from_slice(&frame[..6]);
        // SAFETY: frame and address are valid for the lengths given.
        let sent = unsafe {
            libc::sendto(
                self.fd.as_raw_fd(),
                frame.as_ptr().cast(),
                frame.len(),
                0,
                (&raw const address).cast(),
                size_of::<libc::sockaddr_ll>() as u32,
            )
        };
        if sent < 0 {
            bail!("sending an announcement: {}", io::Error::last_os_error());
        }
        Ok(())
    }
}

/// A gratuitous ARP request as keepalived sends it: sender and target are the virtual address,
/// broadcast to everyone.
pub fn gratuitous_arp(mac: [u8; 6], address: Ipv4Addr) -> Vec<u8> {
    let mut frame = Vec::with_capacity(42);
    frame.extend_from_slice(&BROADCAST);
    frame.extend_from_slice(&mac);
    frame.extend_from_slice(&ETH_P_ARP.to_be_bytes());
    // Ethernet, IPv4, 6-byte and 4-byte addresses, request.
    frame.extend_from_slice(&[0, 1, 0x08, 0x00, 6, 4, 0, 1]);
    frame.extend_from_slice(&mac);
    frame.extend_from_slice(&address.octets());
    frame.extend_from_slice(&BROADCAST);
    frame.extend_from_slice(&address.octets());
    frame
}

/// An unsolicited neighbour advertisement for `target` to all nodes (RFC 4861 §7.2.6), with
/// the Override flag and the target link-layer address option.
pub fn neighbour_advertisement(
    mac: [u8; 6],
    source: Ipv6Addr,
    target: Ipv6Addr,
    router: bool,
) -> Vec<u8> {
    let mut icmp = vec![ICMPV6_NEIGHBOR_ADVERTISEMENT, 0, 0, 0];
    let flags = NA_FLAG_OVERRIDE | if router { NA_FLAG_ROUTER } else { 0 };
    icmp.extend_from_slice(&[flags, 0, 0, 0]);
    icmp.extend_from_slice(&target.octets());
    icmp.extend_from_slice(&[OPTION_TARGET_LINK_LAYER, 1]);
    icmp.extend_from_slice(&mac);
    let checksum = icmpv6_checksum(source, ALL_NODES, &icmp);
    icmp[2..4].copy_from_slice(&checksum.to_be_bytes());

    let mut frame = Vec::with_capacity(14 + 40 + icmp.len());
    frame.extend_from_slice(&ALL_NODES_MAC);
    frame.extend_from_slice(&mac);
    frame.extend_from_slice(&ETH_P_IPV6.to_be_bytes());
    frame.extend_from_slice(&[0x60, 0, 0, 0]);
    frame.extend_from_slice(&(icmp.len() as u16).to_be_bytes());
    // Next header ICMPv6, hop limit 255 (RFC 4861 §7.1.2).
    frame.extend_from_slice(&[IPPROTO_ICMPV6, 255]);
    frame.extend_from_slice(&source.octets());
    frame.extend_from_slice(&ALL_NODES.octets());
    frame.extend_from_slice(&icmp);
    frame
}

fn icmpv6_checksum(source: Ipv6Addr, destination: Ipv6Addr, message: &[u8]) -> u16 {
    upper_layer_checksum(message, source.into(), destination.into(), IPPROTO_ICMPV6)
}

/// Whether the host forwards IPv6 on `ifname` (then NAs carry the Router flag).
pub fn ipv6_forwarding(ifname: &str) -> bool {
    std::fs::read_to_string(format!("/proc/sys/net/ipv6/conf/{ifname}/forwarding"))
        .is_ok_and(|value| value.trim() == "1")
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 1];

    #[test]
    fn gratuitous_arp_names_the_address_as_sender_and_target() {
        let frame = gratuitous_arp(MAC, Ipv4Addr::new(192, 0, 2, 100));
        assert_eq!(frame.len(), 42);
        assert_eq!(&frame[..6], &BROADCAST);
        assert_eq!(&frame[12..14], &[0x08, 0x06]);
        assert_eq!(&frame[20..22], &[0, 1], "an ARP request");
        assert_eq!(&frame[22..28], &MAC);
        assert_eq!(&frame[28..32], &[192, 0, 2, 100]);
        assert_eq!(&frame[38..42], &[192, 0, 2, 100]);
    }

    #[test]
    fn neighbour_advertisement_checksums_to_zero_and_sets_flags() {
        let source: Ipv6Addr = "fe80::1".parse().unwrap();
        let target: Ipv6Addr = "2001:db8::100".parse().unwrap();
        for router in [false, true] {
            let frame = neighbour_advertisement(MAC, source, target, router);
            let icmp = &frame[54..];
            assert_eq!(icmp[0], ICMPV6_NEIGHBOR_ADVERTISEMENT);
            let expected = NA_FLAG_OVERRIDE | if router { NA_FLAG_ROUTER } else { 0 };
            assert_eq!(icmp[4], expected);
            assert_eq!(&icmp[8..24], &target.octets());
            assert_eq!(frame[21], 255, "hop limit");
            // Summing the message with its checksum in place gives zero.
            let mut copy = icmp.to_vec();
            let stored = u16::from_be_bytes([copy[2], copy[3]]);
            copy[2..4].copy_from_slice(&[0, 0]);
            assert_eq!(icmpv6_checksum(source, ALL_NODES, &copy), stored);
            assert_ne!(stored, 0);
        }
    }
}
