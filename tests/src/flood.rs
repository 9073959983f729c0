//! A bounded flood of forged VRRP advertisements from an AF_PACKET socket, and what a flood costs
//! the daemon under attack: CPU ticks, log bytes, the kernel's per-reason counters, interface
//! statistics. Used by `benches/flood.rs`.
//!
//! Every flood stops by itself after `max_frames` frames or `max_time`, whichever comes first.

use std::{
    fs,
    net::{IpAddr, Ipv4Addr},
    path::Path,
    time::{Duration, Instant},
};

use anyhow::{bail, Result};
use vrrp_common::{wire::ETH_P_IP, Counter};
use vrrp_proto::{Advertisement, Centiseconds, ChecksumMode, Version};

use crate::{
    frames::{ethernet_tagged, internet_checksum, ipv4_pseudo_sum},
    netns::{enter, Lab, PacketSocket},
};

/// The kinds of forged advertisement, each with one defect (or none: `Forged255`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Well-formed VRRPv3, priority 255, from an address that is not the configured peer.
    Forged255,
    /// As `Forged255`, with the VRRP checksum off by one.
    BadChecksum,
    /// As `Forged255`, with IPv4 TTL 64 (a routed packet).
    Ttl64,
    /// As `Forged255`, with VRRP version 1 in the first nibble (checksum recomputed).
    BadVersion,
    /// An IPv4 packet whose VRRP message is 4 bytes: shorter than a VRRP header.
    Truncated,
}

impl Kind {
    pub const ALL: [Kind; 5] =
        [Kind::Forged255, Kind::BadChecksum, Kind::Ttl64, Kind::BadVersion, Kind::Truncated];

    pub const fn name(self) -> &'static str {
        match self {
            Kind::Forged255 => "forged-255",
            Kind::BadChecksum => "bad-checksum",
            Kind::Ttl64 => "ttl-64",
            Kind::BadVersion => "bad-version",
            Kind::Truncated => "truncated",
        }
    }

    /// The counter the XDP program must file this frame under, for an instance with peers.
    /// A unicast instance checks no TTL (keepalived's rule: peers may be routed), so a TTL 64
    /// frame from a non-peer is refused as a non-peer.
    pub const fn counter(self) -> Counter {
        match self {
            Kind::Forged255 => Counter::NotAPeer,
            Kind::BadChecksum => Counter::BadChecksum,
            Kind::Ttl64 => Counter::NotAPeer,
            Kind::BadVersion => Counter::BadVersion,
            Kind::Truncated => Counter::Truncated,
        }
    }
}

/// Addresses of the forged frames.
#[derive(Clone, Copy, Debug)]
pub struct Target {
    pub source_mac: [u8; 6],
    pub destination_mac: [u8; 6],
    pub source: Ipv4Addr,
    pub destination: Ipv4Addr,
    pub vrid: u8,
    pub vip: Ipv4Addr,
}

/// The Ethernet frame of `kind` towards `target`. IPv4 header checksums are always correct, so
/// the IP stack delivers every kind to a raw socket (a daemon without XDP sees them all).
pub fn frame(kind: Kind, target: &Target) -> Vec<u8> {
    let advertisement = Advertisement::new(
        Version::V3,
        target.vrid,
        255,
        Centiseconds::new(100),
        vec![IpAddr::V4(target.vip)],
    )
    .expect("a valid advertisement");
    let mut packet = advertisement
        .encode_ip_packet(
            IpAddr::V4(target.source),
            IpAddr::V4(target.destination),
            ChecksumMode::Ipv4PseudoHeader,
        )
        .expect("IPv4 addresses on both sides");
    match kind {
        Kind::Forged255 => {}
        Kind::BadChecksum => {
            let at = 20 + 6;
            let checksum = u16::from_be_bytes([packet[at], packet[at + 1]]).wrapping_add(1);
            packet[at..at + 2].copy_from_slice(&checksum.to_be_bytes());
        }
        Kind::Ttl64 => packet[8] = 64,
        Kind::BadVersion => {
            packet[20] = 0x11;
            reseal_vrrp(&mut packet);
        }
        Kind::Truncated => {
            packet.truncate(20 + 4);
            packet[2..4].copy_from_slice(&24u16.to_be_bytes());
        }
    }
    reseal_ip(&mut packet);
    ethernet_tagged(target.destination_mac, target.source_mac, ETH_P_IP, &[], &packet)
}

fn reseal_ip(packet: &mut [u8]) {
    packet[10..12].copy_from_slice(&[0, 0]);
    let checksum = internet_checksum(&packet[..20], 0);
    packet[10..12].copy_from_slice(&checksum.to_be_bytes());
}

fn reseal_vrrp(packet: &mut [u8]) {
    let address =
        |at: usize| Ipv4Addr::new(packet[at], packet[at + 1], packet[at + 2], packet[at + 3]);
    let (source, destination) = (address(12), address(16));
    packet[26..28].copy_from_slice(&[0, 0]);
    let message = &packet[20..];
    let pseudo =
        ipv4_pseudo_sum(source, destination, vrrp_common::wire::IPPROTO_VRRP, message.len());
    let checksum = internet_checksum(message, pseudo);
    packet[26..28].copy_from_slice(&checksum.to_be_bytes());
}

/// How fast and how long to send.
#[derive(Clone, Copy, Debug)]
pub struct Pace {
    /// Frames per second; `None`: as fast as one thread can.
    pub rate: Option<u64>,
    pub max_frames: u64,
    pub max_time: Duration,
}

/// What the sender did.
#[derive(Clone, Debug, Default)]
pub struct Sent {
    /// Frames the kernel accepted from the socket.
    pub frames: u64,
    /// `sendmmsg` calls that failed (ENOBUFS and the like), and the last error.
    pub failures: u64,
    pub last_error: Option<String>,
    pub elapsed: Duration,
    /// Frames of each entry of the frame list (sent round-robin).
    pub per_frame: Vec<u64>,
}

impl Sent {
    pub fn rate(&self) -> f64 {
        self.frames as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

/// Frames per `sendmmsg` call at most.
const BATCH: usize = 64;

/// Sends `frames` round-robin out of `ifname` in `namespace` at `pace`, from a thread of its
/// own; returns when the count or the time bound is reached.
pub fn flood(namespace: &str, ifname: &str, frames: &[Vec<u8>], pace: Pace) -> Result<Sent> {
    start_flood(namespace, ifname, frames, pace)?
        .join()
        .map_err(|_| anyhow::anyhow!("flood thread panicked"))?
}

/// As [`flood`], without waiting: the caller joins the thread (and may observe meanwhile).
pub fn start_flood(
    namespace: &str,
    ifname: &str,
    frames: &[Vec<u8>],
    pace: Pace,
) -> Result<std::thread::JoinHandle<Result<Sent>>> {
    if frames.is_empty() {
        bail!("nothing to send");
    }
    let (namespace, ifname, frames) = (namespace.to_owned(), ifname.to_owned(), frames.to_vec());
    Ok(std::thread::spawn(move || -> Result<Sent> {
        let _inside = enter(&namespace)?;
        let socket = PacketSocket::bound(&ifname)?;
        Ok(send_loop(&socket, &frames, pace))
    }))
}

fn send_loop(socket: &PacketSocket, frames: &[Vec<u8>], pace: Pace) -> Sent {
    let kinds = frames.len();
    // Message j carries frame j % kinds, so a batch that starts at message (sent % kinds)
    // continues the round-robin exactly, whatever a previous call managed to send.
    let mut iovecs: Vec<libc::iovec> = (0..BATCH + kinds)
        .map(|j| libc::iovec {
            iov_base: frames[j % kinds].as_ptr() as *mut libc::c_void,
            iov_len: frames[j % kinds].len(),
        })
        .collect();
    let mut messages: Vec<libc::mmsghdr> = iovecs
        .iter_mut()
        .map(|iovec| {
            // SAFETY: mmsghdr is plain data; zero is a valid "no name, no control" header.
            let mut message: libc::mmsghdr = unsafe { std::mem::zeroed() };
            message.msg_hdr.msg_iov = iovec;
            message.msg_hdr.msg_iovlen = 1;
            message
        })
        .collect();

    let mut sent = Sent::default();
    let start = Instant::now();
    let mut total: u64 = 0;
    loop {
        let elapsed = start.elapsed();
        if total >= pace.max_frames || elapsed >= pace.max_time {
            break;
        }
        let due = match pace.rate {
            None => pace.max_frames,
            Some(rate) => ((rate as f64 * elapsed.as_secs_f64()) as u64 + 1).min(pace.max_frames),
        };
        if due <= total {
            let rate = pace.rate.unwrap_or(1).max(1);
            let next = Duration::from_secs_f64((total + 1) as f64 / rate as f64);
            std::thread::sleep(next.saturating_sub(elapsed).min(Duration::from_millis(1)));
            continue;
        }
        let count = ((due - total) as usize).min(BATCH);
        let first = (total % kinds as u64) as usize;
        let batch = &mut messages[first..first + count];
        // SAFETY: the messages point at iovecs and frames that outlive the call.
        let done =
            unsafe { libc::sendmmsg(socket.fd, batch.as_mut_ptr(), count as libc::c_uint, 0) };
        if done < 0 {
            sent.failures += 1;
            sent.last_error = Some(std::io::Error::last_os_error().to_string());
            std::thread::sleep(Duration::from_micros(50));
            continue;
        }
        total += done as u64;
    }
    sent.elapsed = start.elapsed();
    sent.frames = total;
    sent.per_frame = (0..kinds as u64)
        .map(|j| total / kinds as u64 + u64::from(j < total % kinds as u64))
        .collect();
    sent
}

/// The kernel's counters of the data path pinned under `pin_dir`, summed over CPUs, indexed
/// by `Counter as usize`.
pub fn read_counters(pin_dir: &Path) -> Result<Vec<u64>> {
    Ok(vrrp_user::xdp::pinned_counters(pin_dir)?.to_vec())
}

/// Utime + stime (clock ticks) and on-CPU nanoseconds (schedstat, all threads) of `pids`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Cpu {
    pub ticks: u64,
    pub nanos: u64,
}

impl Cpu {
    pub fn of(pids: &[i32]) -> Self {
        let mut cpu = Cpu::default();
        for pid in pids {
            if let Ok(stat) = fs::read_to_string(format!("/proc/{pid}/stat")) {
                let fields: Vec<&str> = stat
                    .rsplit_once(')')
                    .map(|(_, rest)| rest)
                    .unwrap_or("")
                    .split_whitespace()
                    .collect();
                // After the command: state (3) ... utime (14), stime (15).
                let field = |n: usize| fields.get(n - 3).and_then(|v| v.parse::<u64>().ok());
                cpu.ticks += field(14).unwrap_or(0) + field(15).unwrap_or(0);
            }
            if let Ok(tasks) = fs::read_dir(format!("/proc/{pid}/task")) {
                for task in tasks.flatten() {
                    let schedstat = fs::read_to_string(task.path().join("schedstat"));
                    if let Some(ns) = schedstat.ok().and_then(|s| {
                        s.split_whitespace().next().and_then(|v| v.parse::<u64>().ok())
                    }) {
                        cpu.nanos += ns;
                    }
                }
            }
        }
        cpu
    }

    pub fn since(self, before: Cpu) -> Cpu {
        Cpu {
            ticks: self.ticks.saturating_sub(before.ticks),
            nanos: self.nanos.saturating_sub(before.nanos),
        }
    }
}

/// Clock ticks per second.
pub fn ticks_per_second() -> u64 {
    // SAFETY: sysconf has no preconditions.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if ticks > 0 {
        ticks as u64
    } else {
        100
    }
}

/// `pid` and all its descendants (keepalived's VRRP child, threads are inside each).
pub fn process_tree(pid: i32) -> Vec<i32> {
    let mut parents: Vec<(i32, i32)> = Vec::new();
    if let Ok(entries) = fs::read_dir("/proc") {
        for entry in entries.flatten() {
            let Some(child) = entry.file_name().to_str().and_then(|n| n.parse::<i32>().ok()) else {
                continue;
            };
            let Ok(stat) = fs::read_to_string(entry.path().join("stat")) else { continue };
            let ppid = stat
                .rsplit_once(')')
                .and_then(|(_, rest)| rest.split_whitespace().nth(1))
                .and_then(|v| v.parse::<i32>().ok());
            if let Some(ppid) = ppid {
                parents.push((child, ppid));
            }
        }
    }
    let mut tree = vec![pid];
    let mut index = 0;
    while index < tree.len() {
        let parent = tree[index];
        tree.extend(parents.iter().filter(|(_, ppid)| *ppid == parent).map(|(child, _)| *child));
        index += 1;
    }
    tree
}

/// Interface statistics (`/sys/class/net/<if>/statistics`) of `ifname` in `namespace`.
#[derive(Clone, Copy, Debug, Default)]
pub struct Link {
    pub rx_packets: u64,
    pub rx_dropped: u64,
    pub tx_packets: u64,
    pub tx_dropped: u64,
}

impl Link {
    pub fn read(lab: &Lab, namespace: &str, ifname: &str) -> Result<Self> {
        let base = format!("/sys/class/net/{ifname}/statistics");
        let files =
            ["rx_packets", "rx_dropped", "tx_packets", "tx_dropped"].map(|f| format!("{base}/{f}"));
        let args: Vec<&str> = files.iter().map(String::as_str).collect();
        let out = lab.exec(namespace, "cat", &args)?;
        let values: Vec<u64> = String::from_utf8_lossy(&out.stdout)
            .split_whitespace()
            .map(|v| v.parse().unwrap_or(0))
            .collect();
        if values.len() != 4 {
            bail!("unexpected statistics of {ifname} in {namespace}: {values:?}");
        }
        Ok(Self {
            rx_packets: values[0],
            rx_dropped: values[1],
            tx_packets: values[2],
            tx_dropped: values[3],
        })
    }

    pub fn since(self, before: Link) -> Link {
        Link {
            rx_packets: self.rx_packets.saturating_sub(before.rx_packets),
            rx_dropped: self.rx_dropped.saturating_sub(before.rx_dropped),
            tx_packets: self.tx_packets.saturating_sub(before.tx_packets),
            tx_dropped: self.tx_dropped.saturating_sub(before.tx_dropped),
        }
    }
}

/// Frames dropped by the raw IPPROTO_VRRP (112) sockets of `namespace` because their receive
/// buffer was full (the `drops` column of /proc/net/raw), and how many such sockets there are.
pub fn raw_vrrp_socket_drops(lab: &Lab, namespace: &str) -> Result<(u64, usize)> {
    let out = lab.exec(namespace, "cat", &["/proc/net/raw"])?;
    let mut drops = 0;
    let mut sockets = 0;
    for line in String::from_utf8_lossy(&out.stdout).lines().skip(1) {
        let fields: Vec<&str> = line.split_whitespace().collect();
        // sl local_address(:proto) rem_address st tx:rx tr:when retrnsmt uid timeout inode
        // ref pointer drops
        let protocol = fields.get(1).and_then(|a| a.rsplit_once(':')).map(|(_, p)| p);
        if protocol.and_then(|p| u16::from_str_radix(p, 16).ok()) == Some(112) {
            sockets += 1;
            drops += fields.last().and_then(|d| d.parse::<u64>().ok()).unwrap_or(0);
        }
    }
    Ok((drops, sockets))
}

/// Watches whether `address` is on any interface of `namespace` every `period`, from a thread
/// inside the namespace (netlink through `getifaddrs`, no process spawned), until `stop` is
/// set. Returns (polls, polls that found the address).
pub fn watch_address(
    namespace: &str,
    address: Ipv4Addr,
    period: Duration,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
) -> std::thread::JoinHandle<Result<(usize, usize)>> {
    let namespace = namespace.to_owned();
    std::thread::spawn(move || -> Result<(usize, usize)> {
        let _inside = enter(&namespace)?;
        let (mut polls, mut seen) = (0, 0);
        while !stop.load(std::sync::atomic::Ordering::Relaxed) {
            polls += 1;
            seen += usize::from(has_ipv4(address)?);
            std::thread::sleep(period);
        }
        Ok((polls, seen))
    })
}

fn has_ipv4(address: Ipv4Addr) -> Result<bool> {
    let mut list: *mut libc::ifaddrs = std::ptr::null_mut();
    // SAFETY: getifaddrs fills `list`, which is walked read-only and freed once below.
    unsafe {
        if libc::getifaddrs(&mut list) != 0 {
            bail!("getifaddrs: {}", std::io::Error::last_os_error());
        }
        let mut found = false;
        let mut entry = list;
        while !entry.is_null() {
            let addr = (*entry).ifa_addr;
            if !addr.is_null() && i32::from((*addr).sa_family) == libc::AF_INET {
                let v4 = &*(addr as *const libc::sockaddr_in);
                found |= Ipv4Addr::from(u32::from_be(v4.sin_addr.s_addr)) == address;
            }
            entry = (*entry).ifa_next;
        }
        libc::freeifaddrs(list);
        Ok(found)
    }
}

/// Size of a file in bytes (0 when missing).
pub fn file_len(path: &Path) -> u64 {
    fs::metadata(path).map(|m| m.len()).unwrap_or(0)
}

/// The bytes of `path` from `offset` on, as text.
pub fn tail_from(path: &Path, offset: u64) -> String {
    let bytes = fs::read(path).unwrap_or_default();
    String::from_utf8_lossy(bytes.get(offset as usize..).unwrap_or(&[])).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    const IP: usize = 14;
    const MESSAGE: usize = IP + 20;

    fn target() -> Target {
        Target {
            source_mac: [2, 0, 0, 0, 0, 0x42],
            destination_mac: [2, 0, 0, 0, 0, 2],
            source: Ipv4Addr::new(192, 0, 2, 66),
            destination: Ipv4Addr::new(192, 0, 2, 2),
            vrid: 123,
            vip: Ipv4Addr::new(192, 0, 2, 100),
        }
    }

    #[test]
    fn frames_carry_exactly_their_defect() {
        let target = target();
        let good = frame(Kind::Forged255, &target);
        let decode =
            |f: &[u8]| vrrp_proto::decode_ip_packet(&f[IP..], vrrp_proto::ReceiveChecks::default());
        assert!(matches!(decode(&good), Ok(Some(_))), "{:?}", decode(&good));
        assert_eq!(good[MESSAGE + 2], 255);
        for kind in Kind::ALL {
            let f = frame(kind, &target);
            assert_eq!(internet_checksum(&f[IP..IP + 20], 0), 0, "{kind:?}: IP header checksum");
            if kind != Kind::Forged255 {
                assert!(decode(&f).is_err(), "{kind:?} must not decode");
            }
        }
        assert_eq!(frame(Kind::Ttl64, &target)[IP + 8], 64);
        assert_eq!(frame(Kind::Truncated, &target).len(), IP + 24);
    }
}
