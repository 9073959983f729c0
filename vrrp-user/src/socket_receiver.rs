//! The socket data path's receiving side: one raw VRRP socket per interface and family, shared
//! by every instance there and demultiplexed by VRID, as keepalived does (vrrp_scheduler.c
//! vrrp_dispatcher_read(): one socket per interface, the instance found by the VRID of the
//! header in the socket's tree). One socket per instance would copy every advertisement to
//! every instance's socket.
//!
//! The socket is bound to its interface but to no address: Linux's raw_v4_match() delivers
//! nothing addressed to 224.0.0.18 to a raw socket bound to a unicast address. Each datagram
//! gets the checks of the kernel program (`vrrp-proto`'s decoder, then the instance's VRID,
//! version and peers), rejections counted under the kernel's reasons.
//!
//! `auth_type AH` instances receive on an IPPROTO_AH socket of their interface, whatever data
//! path the others use: the XDP program cannot check the signature, and passes protocol 51
//! (keepalived vrrp.c open_vrrp_read_socket() opens an AH socket for them too). Their
//! advertisements get the same checks, then the signature and the sequence number.

use std::{
    collections::{HashMap, HashSet},
    io::{self, IoSliceMut},
    net::{IpAddr, Ipv4Addr, Ipv6Addr},
    os::fd::AsRawFd,
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc, Mutex,
    },
    time::{Duration, Instant},
};

use anyhow::{anyhow, Context, Result};
use nix::sys::socket::{
    recvmsg, setsockopt, sockopt, ControlMessageOwned, MsgFlags, SockaddrStorage,
};
use socket2::Socket;
use tokio::{io::unix::AsyncFd, sync::mpsc, task::JoinHandle};
use vrrp_common::{event_cause, wire::VRRP_TTL, Counter, InstanceKey, FAMILY_IPV4};
use vrrp_proto::{
    decode_ah_packet, decode_ip_packet, decode_payload, ChecksumForm, DecodeError, IpMetadata,
    ReceiveChecks, Received, V2Auth, Version,
};

use crate::{
    advert_socket::{join_vrrp_group, raw_ah_socket, raw_vrrp_socket, AhAuth},
    arrivals::Arrival,
    instance::{self, Instance},
    mac_filter, xdp,
};

/// Rejections and deliveries of the socket data path, by the kernel's reasons.
#[derive(Default)]
pub struct SocketCounters([AtomicU64; Counter::COUNT as usize]);

impl SocketCounters {
    pub fn count(&self, counter: Counter) {
        self.0[counter as usize].fetch_add(1, Ordering::Relaxed);
    }

    pub fn snapshot(&self) -> xdp::Counters {
        let mut totals = [0u64; Counter::COUNT as usize];
        for (total, counter) in totals.iter_mut().zip(&self.0) {
            *total = counter.load(Ordering::Relaxed);
        }
        totals
    }
}

/// What an instance accepts beyond the decoder, as the kernel checks it with its maps.
#[derive(Clone, Debug)]
pub struct SocketFilter {
    pub key: InstanceKey,
    pub version: Version,
    /// Empty: a multicast instance, any sender; otherwise a unicast one, only these.
    pub peers: Vec<PeerFilter>,
    /// VRRPv2 authentication the instance expects (keepalived's `auth_type PASS`, or type 2
    /// for AH).
    pub auth: V2Auth,
    /// `auth_type AH`: the key and sequence number its AH packets are checked with.
    pub ah: Option<AhAuth>,
    /// Its advertisement interval: how often its master sends, which sizes the socket's queue.
    pub interval: Duration,
    /// A multicast instance's group: the destination it hears (`None`: unicast).
    pub group: Option<IpAddr>,
    /// The group of keepalived's pre-1.3.6 unicast checksum, when the instance accepts it.
    pub old_unicast_group: Option<Ipv4Addr>,
}

/// A unicast peer as the kernel holds it: its address and its TTL limits, if it has any.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PeerFilter {
    pub address: IpAddr,
    /// `min_ttl`..=`max_ttl`, when either is set (0 and 255 stand in for the one not set,
    /// keepalived vrrp_data.c alloc_vrrp_unicast_peer()).
    pub ttl: Option<(u8, u8)>,
    /// `mac`: its pinned MAC, which the socket's filter checks ([`mac_filter`]).
    pub mac: Option<[u8; 6]>,
}

impl SocketFilter {
    pub fn of(instance: &Instance) -> Self {
        let spec = &instance.spec;
        let peers = spec
            .unicast_peers
            .iter()
            .map(|peer| PeerFilter {
                address: peer.address,
                ttl: (peer.min_ttl.is_some() || peer.max_ttl.is_some())
                    .then(|| (peer.min_ttl.unwrap_or(0), peer.max_ttl.unwrap_or(u8::MAX))),
                mac: peer.mac.map(|mac| mac.0),
            })
            .collect();
        let auth = instance::v2_auth(spec);
        Self {
            key: instance.key,
            version: spec.version,
            peers,
            auth,
            ah: instance.ah.clone(),
            interval: spec.advert_interval,
            group: spec.unicast_peers.is_empty().then(|| instance::mcast_group(spec)),
            old_unicast_group: instance.old_unicast_group,
        }
    }

    /// An instance's filter judges a datagram that carries its VRID, in the kernel program's
    /// order: destination, version, peer and its TTL limits (or TTL 255 for multicast), auth.
    fn judge(&self, received: &Received) -> Result<(), Counter> {
        let ip = &received.ip;
        // keepalived vrrp.c vrrp_check_packet() (and vrrp_dispatcher_read() for IPv6): a
        // multicast instance takes packets to its group only (open_vrrp_read_socket() binds
        // its socket to the group), a unicast instance unicast ones. Counted as an unknown
        // VRID: no instance here listens for it at that destination.
        let addressed_to_it = match self.group {
            Some(group) => ip.destination == group,
            None => !ip.destination.is_multicast(),
        };
        if !addressed_to_it {
            return Err(Counter::UnknownVrid);
        }
        if received.advertisement.version() != self.version {
            return Err(Counter::VersionMismatch);
        }
        if self.peers.is_empty() {
            // RFC 9568 §7.1: a multicast advertisement comes from the link.
            if ip.ttl != VRRP_TTL {
                return Err(Counter::BadTtl);
            }
        } else {
            // As the kernel program does (keepalived's vrrp_check_packet() with
            // vrrp_check_unicast_src): a unicast instance hears its peers only, whose TTL is
            // checked only against the limits their `unicast_peer` line sets (they may be
            // routed).
            let peer = self
                .peers
                .iter()
                .find(|peer| peer.address == ip.source)
                .ok_or(Counter::NotAPeer)?;
            if let Some((min, max)) = peer.ttl {
                received.ttl_within(min, max).map_err(|error| error.counter())?;
            }
        }
        received.authenticate(&self.auth).map_err(|error| error.counter())
    }
}

/// The filters of the instances one socket serves, by VRID.
type Filters = HashMap<u8, SocketFilter>;

/// Which IP protocol a receive socket reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Carrier {
    /// IPPROTO_VRRP, IPv4 or IPv6.
    Vrrp,
    /// IPPROTO_AH around VRRPv2, IPv4 only.
    Ah,
}

impl Carrier {
    fn of(instance: &Instance) -> Self {
        if instance.ah.is_some() {
            Carrier::Ah
        } else {
            Carrier::Vrrp
        }
    }
}

/// The receive sockets of the socket data path (and of AH instances), by interface, family and
/// protocol.
pub struct SocketReceivers {
    sockets: HashMap<(u32, u8, Carrier), Receiver>,
    counters: Arc<SocketCounters>,
    arrivals: mpsc::Sender<Arrival>,
    /// The event loop's own buffers, for reading the queues before the timers are judged.
    reader: Reader,
}

/// One interface and family: its socket and the instances it serves, shared by its task and
/// the event loop.
struct Shared {
    socket: AsyncFd<Socket>,
    ipv4: bool,
    carrier: Carrier,
    ifname: String,
    filters: Mutex<Filters>,
    /// The groups the socket has joined: those of its instances, each once.
    groups: Mutex<HashSet<IpAddr>>,
}

struct Receiver {
    shared: Arc<Shared>,
    task: JoinHandle<()>,
}

impl Drop for Receiver {
    fn drop(&mut self) {
        // Once the task is gone, dropping `shared` closes the socket.
        self.task.abort();
    }
}

/// Buffers for reading datagrams, and whether a read error was logged.
struct Reader {
    buffer: Vec<u8>,
    control: Vec<u8>,
    error_logged: bool,
}

impl Reader {
    fn new() -> Self {
        Self {
            buffer: vec![0; BUFFER_LEN],
            control: nix::cmsg_space!(libc::in6_pktinfo, libc::c_int),
            error_logged: false,
        }
    }

    /// Reads and judges one datagram: `None` when the queue is empty (or unreadable).
    fn next(&mut self, shared: &Shared, counters: &SocketCounters) -> Option<Option<Arrival>> {
        let datagram = match read_datagram(
            shared.socket.get_ref(),
            &mut self.buffer,
            &mut self.control,
            shared.ipv4,
        ) {
            Ok(datagram) => datagram,
            Err(error) if error.kind() == io::ErrorKind::WouldBlock => return None,
            Err(error) => {
                if !self.error_logged {
                    log::warn!(
                        "{}: reading the receive socket: {error} (logged once)",
                        shared.ifname
                    );
                    self.error_logged = true;
                }
                return None;
            }
        };
        let filters = lock(&shared.filters);
        let verdict = accept(&filters, shared.carrier, &datagram, &self.buffer, Instant::now());
        match &verdict {
            Ok(Some(arrival)) => {
                counters.count(Counter::Reported);
                // A note beside the verdict, as the kernel program counts it.
                if arrival.causes & event_cause::NOT_LINK_LOCAL != 0 {
                    counters.count(Counter::NotLinkLocal);
                }
            }
            // AH around another protocol: not VRRP, not counted (as XDP counts no other IP).
            Ok(None) => {}
            Err(counter) => counters.count(*counter),
        }
        Some(verdict.ok().flatten())
    }
}

/// How long the event loop may be busy elsewhere (a slow netlink answer, a loaded machine)
/// before advertisements are lost: the socket's queue holds what every instance's master sends
/// in that time. The default queue (net.core.rmem_default, 208 KiB) holds about 10 ms of 250
/// instances at advert_int 0.01, less than a master-down interval; what overflows is the newest:
/// a master's priority 0 (its backup then waits a whole Master_Down_Interval instead of
/// Skew_Time), a preempting master's first advertisements, any change of priority or interval.
const QUEUE_FOR: Duration = Duration::from_millis(500);

/// What the kernel charges a small datagram against the queue (its skb's truesize, about 1 KiB;
/// the kernel doubles the size it is given, which leaves room); and the least it charges, which
/// bounds how many datagrams a queue holds.
const DATAGRAM_COST: usize = 1024;
const MIN_DATAGRAM_COST: usize = 512;

/// The queue's bounds: never below the kernel's default, never more than this.
const MIN_QUEUE_BYTES: usize = 256 * 1024;
const MAX_QUEUE_BYTES: usize = 32 * 1024 * 1024;

/// The receive queue for instances with these advertisement intervals (see [`QUEUE_FOR`]).
fn queue_bytes(intervals: impl Iterator<Item = Duration>) -> usize {
    let datagrams: f64 = intervals
        .map(|interval| QUEUE_FOR.as_secs_f64() / interval.as_secs_f64().max(0.001))
        .map(|per_interval| per_interval.max(1.0))
        .sum();
    let bytes = (datagrams * DATAGRAM_COST as f64).ceil() as usize;
    bytes.clamp(MIN_QUEUE_BYTES, MAX_QUEUE_BYTES)
}

/// At most this many datagrams are read per wake-up of a receive task before it yields.
const BATCH: usize = 64;

impl SocketReceivers {
    pub fn new(arrivals: mpsc::Sender<Arrival>) -> Self {
        Self {
            sockets: HashMap::new(),
            counters: Default::default(),
            arrivals,
            reader: Reader::new(),
        }
    }

    /// Starts delivering `instance`'s advertisements: on the socket of its interface and
    /// family, opened by the first instance there.
    pub fn register(&mut self, instance: &Instance) -> Result<()> {
        let spec = &instance.spec;
        let key = instance.key;
        let carrier = Carrier::of(instance);
        let slot = (key.ifindex, key.family, carrier);
        if !self.sockets.contains_key(&slot) {
            let receiver = self.open(&spec.interface, key, carrier)?;
            self.sockets.insert(slot, receiver);
        }
        if carrier == Carrier::Ah {
            log::info!(
                "{}: receiving on the AH socket of {} on either data path (auth_type AH: the XDP \
                 program cannot check the signature)",
                instance.name(),
                spec.interface
            );
        }
        let shared = &self.sockets[&slot].shared;
        let group = instance::mcast_group(spec);
        let mut groups = shared.groups.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if !groups.contains(&group) {
            join_vrrp_group(shared.socket.get_ref(), group, key.ifindex)
                .with_context(|| format!("the receive socket of {}", spec.interface))?;
            groups.insert(group);
        }
        drop(groups);
        let mut filters = lock(&shared.filters);
        filters.insert(key.vrid, SocketFilter::of(instance));
        let wanted = queue_bytes(filters.values().map(|filter| filter.interval));
        let pinned = shared.pin_macs(&filters);
        drop(filters);
        shared.size_queue(wanted);
        pinned.with_context(|| format!("{}: checking the pinned peer MACs", instance.name()))
    }

    /// Stops delivering the instance's advertisements; the last instance of a socket closes it.
    pub fn unregister(&mut self, key: &InstanceKey) {
        for carrier in [Carrier::Vrrp, Carrier::Ah] {
            let slot = (key.ifindex, key.family, carrier);
            let Some(receiver) = self.sockets.get(&slot) else {
                continue;
            };
            let mut filters = lock(&receiver.shared.filters);
            if filters.get(&key.vrid).is_some_and(|filter| filter.key == *key) {
                filters.remove(&key.vrid);
            }
            let empty = filters.is_empty();
            if !empty {
                if let Err(error) = receiver.shared.pin_macs(&filters) {
                    log::warn!("{}: the pinned peer MACs: {error:#}", receiver.shared.ifname);
                }
            }
            drop(filters);
            if empty {
                self.sockets.remove(&slot);
            }
        }
    }

    /// What the sockets hold and no task has read yet, read now: before a backup's timer is
    /// judged, an advertisement that arrived in time counts, as the kernel's record does on
    /// the XDP path. The whole queue: its newest datagrams are the ones that count.
    pub fn read_queued(&mut self) -> Vec<Arrival> {
        let mut arrivals = Vec::new();
        for receiver in self.sockets.values() {
            // Bounded by what the queue can hold, so a flood cannot keep the loop here.
            let limit = receiver.shared.queue_bytes() / MIN_DATAGRAM_COST;
            for _ in 0..limit.max(BATCH) {
                match self.reader.next(&receiver.shared, &self.counters) {
                    Some(arrival) => arrivals.extend(arrival),
                    None => break,
                }
            }
        }
        arrivals
    }

    /// The socket data path's counters, shared with status readers.
    pub fn counters(&self) -> Arc<SocketCounters> {
        Arc::clone(&self.counters)
    }

    /// Closes every socket and logs what the data path counted.
    pub fn shut_down(&mut self) {
        self.sockets.clear();
        let counted: Vec<String> = Counter::ALL
            .iter()
            .zip(self.counters.snapshot())
            .filter(|(_, value)| *value != 0)
            .map(|(counter, value)| format!("{} {value}", counter.name()))
            .collect();
        if !counted.is_empty() {
            log::info!("receive socket counters: {}", counted.join(", "));
        }
    }

    fn open(&self, ifname: &str, key: InstanceKey, carrier: Carrier) -> Result<Receiver> {
        let ipv4 = key.family == FAMILY_IPV4;
        let socket = match carrier {
            Carrier::Vrrp => open_receive_socket(ifname, ipv4),
            Carrier::Ah if ipv4 => raw_ah_socket(ifname),
            Carrier::Ah => Err(anyhow!("auth_type AH needs IPv4")),
        }
        .with_context(|| format!("the receive socket of {ifname}"))?;
        // SAFETY: the socket moves into the AsyncFd, which keeps its descriptor open and
        // unchanged until dropped.
        let socket =
            unsafe { AsyncFd::register_with_interest(socket, tokio::io::Interest::READABLE) }
                .map_err(|error| anyhow!("polling the receive socket of {ifname}: {error}"))?;
        let shared = Arc::new(Shared {
            socket,
            ipv4,
            carrier,
            ifname: ifname.to_owned(),
            filters: Mutex::default(),
            groups: Mutex::default(),
        });
        let task = tokio::spawn(receive_loop(
            shared.clone(),
            self.counters.clone(),
            self.arrivals.clone(),
        ));
        log::info!(
            "{ifname}: receiving IPv{} {} advertisements on a raw socket",
            if ipv4 { 4 } else { 6 },
            if carrier == Carrier::Ah { "AH-protected" } else { "VRRP" }
        );
        Ok(Receiver { shared, task })
    }
}

impl Shared {
    /// Puts the filter for the pinned MACs of every instance here on the socket: one whose
    /// pinned peer arrives from another MAC is cut to the mark [`accept`] counts.
    fn pin_macs(&self, filters: &Filters) -> io::Result<()> {
        let pinned: Vec<(IpAddr, [u8; 6])> = filters
            .values()
            .flat_map(|filter| &filter.peers)
            .filter_map(|peer| peer.mac.map(|mac| (peer.address, mac)))
            .collect();
        let program = mac_filter::program(self.ipv4, &pinned);
        mac_filter::apply(self.socket.get_ref(), program.as_deref())
    }

    /// Sets the receive queue to `bytes` (SO_RCVBUFFORCE, which CAP_NET_ADMIN allows beyond
    /// net.core.rmem_max; SO_RCVBUF, capped by it, otherwise), growing only.
    fn size_queue(&self, bytes: usize) {
        let socket = self.socket.get_ref();
        if self.queue_bytes() >= bytes {
            return;
        }
        if set_receive_buffer_force(socket, bytes).is_err() {
            let _ = socket.set_recv_buffer_size(bytes);
        }
        let got = self.queue_bytes();
        // The kernel doubles the value it is given (socket(7)), and reports the double.
        if got < bytes {
            log::warn!(
                "{}: the receive queue holds {got} bytes, not the {bytes} wanted for the \
                 instances there: advertisements may be lost while the daemon is busy \
                 (raise net.core.rmem_max, or give vrrpd CAP_NET_ADMIN)",
                self.ifname
            );
        }
    }

    /// The receive queue's size as the kernel reports it.
    fn queue_bytes(&self) -> usize {
        self.socket.get_ref().recv_buffer_size().unwrap_or(MIN_QUEUE_BYTES)
    }
}

/// SO_RCVBUFFORCE, which socket2 does not offer.
fn set_receive_buffer_force(socket: &Socket, bytes: usize) -> io::Result<()> {
    let value = libc::c_int::try_from(bytes).map_err(|_| io::ErrorKind::InvalidInput)?;
    // SAFETY: the option value is a live c_int of the length given.
    let status = unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_RCVBUFFORCE,
            (&raw const value).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if status == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

fn lock(filters: &Mutex<Filters>) -> std::sync::MutexGuard<'_, Filters> {
    // A panic while holding the lock leaves a map that is still whole.
    filters.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn open_receive_socket(ifname: &str, ipv4: bool) -> Result<Socket> {
    let socket = raw_vrrp_socket(ifname, ipv4)?;
    if !ipv4 {
        // An IPv6 raw socket gets no header: the hop limit and the destination come as
        // ancillary data. IPv4's header carries both.
        socket.set_recv_hoplimit_v6(true).context("IPV6_RECVHOPLIMIT")?;
        setsockopt(&socket, sockopt::Ipv6RecvPacketInfo, &true).context("IPV6_RECVPKTINFO")?;
    }
    Ok(socket)
}

/// The largest VRRP packet: 255 IPv6 addresses behind the headers, with room to spare. A
/// longer datagram is cut (MSG_TRUNC) and counted as truncated.
const BUFFER_LEN: usize = 8192;

/// Reads the socket whenever it is readable and forwards the arrivals, until the event loop
/// is gone.
async fn receive_loop(
    shared: Arc<Shared>,
    counters: Arc<SocketCounters>,
    arrivals: mpsc::Sender<Arrival>,
) {
    let mut reader = Reader::new();
    loop {
        let mut guard = match shared.socket.readable().await {
            Ok(guard) => guard,
            Err(error) => {
                log::error!(
                    "{}: polling the receive socket: {error}; no more advertisements",
                    shared.ifname
                );
                return;
            }
        };
        // Readiness is cleared only at the queue's end; a flood yields to the event loop
        // every batch (dropped datagrams never wait on the channel).
        let mut emptied = false;
        for _ in 0..BATCH {
            match reader.next(&shared, &counters) {
                None => {
                    emptied = true;
                    break;
                }
                Some(None) => {}
                Some(Some(arrival)) => {
                    if arrivals.send(arrival).await.is_err() {
                        return;
                    }
                }
            }
        }
        if emptied {
            guard.clear_ready();
        } else {
            drop(guard);
            tokio::task::yield_now().await;
        }
    }
}

/// One datagram as read: its length in the buffer and what the socket said beside it.
struct Datagram {
    len: usize,
    truncated: bool,
    /// IPv6 only (IPv4's are in the header): source, hop limit, destination.
    ipv6: Option<IpMetadata>,
}

fn read_datagram(
    socket: &Socket,
    buffer: &mut [u8],
    control: &mut [u8],
    ipv4: bool,
) -> io::Result<Datagram> {
    let mut iov = [IoSliceMut::new(buffer)];
    let message =
        recvmsg::<SockaddrStorage>(socket.as_raw_fd(), &mut iov, Some(control), MsgFlags::empty())?;
    let truncated = message.flags.contains(MsgFlags::MSG_TRUNC);
    let len = message.bytes;
    if ipv4 {
        return Ok(Datagram { len, truncated, ipv6: None });
    }
    let source = message
        .address
        .as_ref()
        .and_then(SockaddrStorage::as_sockaddr_in6)
        .map(|address| address.ip());
    let (mut ttl, mut destination) = (0, Ipv6Addr::UNSPECIFIED);
    for cmsg in message.cmsgs()? {
        match cmsg {
            ControlMessageOwned::Ipv6HopLimit(hops) => ttl = hops.clamp(0, 255) as u8,
            ControlMessageOwned::Ipv6PacketInfo(info) => {
                destination = Ipv6Addr::from(info.ipi6_addr.s6_addr)
            }
            _ => {}
        }
    }
    let ip = IpMetadata {
        source: IpAddr::V6(source.unwrap_or(Ipv6Addr::UNSPECIFIED)),
        destination: IpAddr::V6(destination),
        ttl,
    };
    Ok(Datagram { len, truncated, ipv6: Some(ip) })
}

/// The kernel program's checks on one datagram, then its instance's: an arrival, the reason
/// it was dropped, or `None` for AH around another protocol.
fn accept(
    filters: &HashMap<u8, SocketFilter>,
    carrier: Carrier,
    datagram: &Datagram,
    buffer: &[u8],
    received_at: Instant,
) -> Result<Option<Arrival>, Counter> {
    if datagram.truncated {
        return Err(Counter::Truncated);
    }
    if datagram.len == mac_filter::MISMATCH_LEN {
        return Err(Counter::MacMismatch);
    }
    let bytes = &buffer[..datagram.len.min(buffer.len())];
    // The TTL rule depends on the instance, known once the VRID is read: `judge` applies it.
    let checks = ReceiveChecks { require_ttl_255: false, ..ReceiveChecks::default() };
    let received = match (carrier, datagram.ipv6) {
        (Carrier::Ah, _) => {
            let Some(packet) = decode_ah_packet(bytes, checks).map_err(|error| error.counter())?
            else {
                return Ok(None);
            };
            let filter = filters.get(&packet.received.advertisement.vrid());
            let filter = filter.ok_or(Counter::UnknownVrid)?;
            filter.judge(&packet.received)?;
            // keepalived vrrp.c vrrp_in_chk_ipsecah(): the signature, the SPI, then the
            // sequence number, which only an authentic packet may advance.
            let ah = filter.ah.as_ref().ok_or(Counter::AuthMismatch)?;
            packet.authenticate(&ah.key, !filter.peers.is_empty()).map_err(|e| e.counter())?;
            if !ah.sequence().admit(packet.sequence) {
                return Err(Counter::AuthMismatch);
            }
            return Ok(Some(arrival(filter, &packet.received, received_at)));
        }
        // An IPv4 raw socket gets the whole packet, reassembled.
        (Carrier::Vrrp, None) => {
            let decoded = decode_ip_packet(bytes, checks);
            let decoded = match old_form_checks(filters, &decoded, ipv4_vrid(bytes), checks) {
                Some(checks) => decode_ip_packet(bytes, checks),
                None => decoded,
            };
            decoded.map_err(|error| error.counter())?.ok_or(Counter::Truncated)?
        }
        (Carrier::Vrrp, Some(ip)) => {
            decode_payload(bytes, ip, checks).map_err(|error| error.counter())?
        }
    };
    let filter = filters.get(&received.advertisement.vrid()).ok_or(Counter::UnknownVrid)?;
    filter.judge(&received)?;
    Ok(Some(arrival(filter, &received, received_at)))
}

/// The checks to decode again with when the first decode failed on the checksum alone and the
/// VRID's instance accepts keepalived's pre-1.3.6 unicast form: only the instance can allow
/// it, as the kernel program decides after its instance lookup (keepalived vrrp.c
/// vrrp_in_chk() tries that form last).
fn old_form_checks<T>(
    filters: &HashMap<u8, SocketFilter>,
    decoded: &Result<T, DecodeError>,
    vrid: Option<u8>,
    checks: ReceiveChecks,
) -> Option<ReceiveChecks> {
    match decoded {
        Err(error) if error.counter() == Counter::BadChecksum => {}
        _ => return None,
    }
    let group = filters.get(&vrid?)?.old_unicast_group?;
    Some(ReceiveChecks { old_unicast_group: Some(group), ..checks })
}

/// The VRID of the VRRP message in a whole IPv4 packet, if the packet is that long.
fn ipv4_vrid(packet: &[u8]) -> Option<u8> {
    let header_len = usize::from(packet.first()? & 0x0f) * 4;
    packet.get(header_len + 1).copied()
}

/// What the event loop gets of an accepted advertisement.
fn arrival(filter: &SocketFilter, received: &Received, received_at: Instant) -> Arrival {
    let advert = &received.advertisement;
    Arrival {
        key: filter.key,
        source: received.ip.source,
        received_at,
        kernel_tick: None,
        priority: advert.priority(),
        interval: advert.interval(),
        addresses: Some(advert.addresses().to_vec()),
        // As the kernel notes it, so the daemon warns about such a sender once.
        causes: if received.first_not_link_local { event_cause::NOT_LINK_LOCAL } else { 0 },
        source_mac: None,
        master_down: false,
        old_checksum: received.checksum_form == ChecksumForm::V3Ipv4OldUnicast,
    }
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use vrrp_proto::{Advertisement, AhEnvelope, AhKey, Centiseconds, ChecksumMode};

    use super::*;

    const IFINDEX: u32 = 7;
    const PEER: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 2);
    const OTHER: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 9);
    const LOCAL: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);
    const GROUP: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 18);

    fn filter(vrid: u8, peers: &[Ipv4Addr]) -> SocketFilter {
        SocketFilter {
            key: InstanceKey::new(IFINDEX, vrid, FAMILY_IPV4),
            version: Version::V3,
            peers: peers
                .iter()
                .map(|peer| PeerFilter { address: IpAddr::V4(*peer), ttl: None, mac: None })
                .collect(),
            auth: V2Auth::NONE,
            ah: None,
            interval: Duration::from_secs(1),
            group: peers.is_empty().then_some(IpAddr::V4(GROUP)),
            old_unicast_group: None,
        }
    }

    /// A whole IPv4 packet, as an IPv4 raw socket reads it: TTL 255, VRRPv3, priority 100.
    fn packet(vrid: u8, version: Version, source: Ipv4Addr, destination: Ipv4Addr) -> Vec<u8> {
        let vip = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 100));
        let interval = Centiseconds::new(100);
        let advert = Advertisement::new(version, vrid, 100, interval, vec![vip]).unwrap();
        let payload = advert
            .encode_payload(source.into(), destination.into(), ChecksumMode::Ipv4PseudoHeader)
            .unwrap();
        let total = (20 + payload.len()) as u16;
        let mut header = vec![0x45, 0, 0, 0, 0, 0, 0, 0, 255, 112, 0, 0];
        header[2..4].copy_from_slice(&total.to_be_bytes());
        header.extend(source.octets());
        header.extend(destination.octets());
        header.extend(payload);
        header
    }

    fn verdict(filters: &[SocketFilter], packet: &[u8]) -> Result<Arrival, Counter> {
        verdict_on(Carrier::Vrrp, filters, packet).map(|arrival| arrival.expect("VRRP"))
    }

    fn verdict_on(
        carrier: Carrier,
        filters: &[SocketFilter],
        packet: &[u8],
    ) -> Result<Option<Arrival>, Counter> {
        let filters = filters.iter().map(|f| (f.key.vrid, f.clone())).collect();
        let datagram = Datagram { len: packet.len(), truncated: false, ipv6: None };
        accept(&filters, carrier, &datagram, packet, Instant::now())
    }

    const KEY: AhKey = *b"s3cret\0\0";

    #[test]
    fn the_old_unicast_checksum_is_accepted_only_by_an_instance_that_allows_it() {
        let mut old_form = packet(1, Version::V3, PEER, LOCAL);
        // Resealed in keepalived's pre-1.3.6 form: the pseudo-header on the group.
        let vip = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 100));
        let advert =
            Advertisement::new(Version::V3, 1, 100, Centiseconds::new(100), vec![vip]).unwrap();
        let old = ChecksumMode::Ipv4OldUnicast { group: GROUP };
        old_form[20..]
            .copy_from_slice(&advert.encode_payload(PEER.into(), LOCAL.into(), old).unwrap());
        let strict = filter(1, &[PEER]);
        assert_eq!(
            verdict(std::slice::from_ref(&strict), &old_form).err(),
            Some(Counter::BadChecksum)
        );
        let allowing = SocketFilter { old_unicast_group: Some(GROUP), ..strict.clone() };
        let arrival =
            verdict(std::slice::from_ref(&allowing), &old_form).expect("accepted in the old form");
        assert_eq!(arrival.source, IpAddr::V4(PEER));
        // Summed on another group: still a bad checksum.
        let elsewhere =
            SocketFilter { old_unicast_group: Some(Ipv4Addr::new(224, 0, 0, 99)), ..strict };
        assert_eq!(verdict(&[elsewhere], &old_form).err(), Some(Counter::BadChecksum));
        // The leave is the VRID's instance's, not another's.
        let other_vrid =
            SocketFilter { key: InstanceKey::new(IFINDEX, 2, FAMILY_IPV4), ..allowing.clone() };
        assert_eq!(verdict(&[other_vrid], &old_form).err(), Some(Counter::BadChecksum));
        // The RFC form stays accepted by an instance that allows the old one.
        let rfc = packet(1, Version::V3, PEER, LOCAL);
        assert!(verdict(&[allowing], &rfc).is_ok());
    }

    /// An `auth_type AH` VRRPv2 instance with key [`KEY`].
    #[test]
    fn the_queue_holds_half_a_second_of_every_instances_advertisements() {
        let at = |interval_ms: u64, count: usize| {
            queue_bytes(std::iter::repeat_n(Duration::from_millis(interval_ms), count))
        };
        // 250 instances at 10 ms: 12 500 datagrams in half a second.
        assert_eq!(at(10, 250), 12_500 * DATAGRAM_COST);
        // A few slow instances: the kernel's default is the least.
        assert_eq!(at(1000, 3), MIN_QUEUE_BYTES);
        // Bounded, whatever the configuration.
        assert_eq!(at(10, 10_000), MAX_QUEUE_BYTES);
        assert_eq!(queue_bytes(std::iter::empty()), MIN_QUEUE_BYTES);
    }

    fn ah_filter(vrid: u8, peers: &[Ipv4Addr]) -> SocketFilter {
        SocketFilter {
            version: Version::V2,
            auth: V2Auth::AH,
            ah: Some(AhAuth::new(KEY)),
            ..filter(vrid, peers)
        }
    }

    /// An AH-protected VRRPv2 packet, as keepalived sends it.
    fn ah_packet(vrid: u8, sequence: u32, key: &AhKey, to: Ipv4Addr, ttl: u8) -> Vec<u8> {
        let vip = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 100));
        let advert = Advertisement::new(Version::V2, vrid, 100, Centiseconds::new(100), vec![vip])
            .unwrap()
            .with_v2_auth(V2Auth::AH);
        let unicast = !to.is_multicast();
        let envelope =
            AhEnvelope { source: PEER, destination: to, ttl, identification: 1, sequence, unicast };
        advert.encode_ah_packet(&envelope, key).unwrap()
    }

    #[test]
    fn the_ah_socket_hands_each_vrid_to_its_instance_once_signed() {
        let filters = [ah_filter(1, &[]), ah_filter(2, &[PEER])];
        let multicast = verdict_on(Carrier::Ah, &filters, &ah_packet(1, 1, &KEY, GROUP, 255));
        assert_eq!(multicast.unwrap().map(|a| a.key), Some(filters[0].key));
        // A routed unicast peer: its TTL is outside the signature and not checked.
        let unicast = verdict_on(Carrier::Ah, &filters, &ah_packet(2, 1, &KEY, LOCAL, 60));
        assert_eq!(unicast.unwrap().map(|a| (a.key, a.priority)), Some((filters[1].key, 100)));
    }

    #[test]
    fn ah_rejections_are_counted() {
        let filters = [ah_filter(1, &[])];
        let on_ah = |packet: &[u8]| verdict_on(Carrier::Ah, &filters, packet).map(|a| a.is_some());
        assert_eq!(on_ah(&ah_packet(1, 5, b"wrong\0\0\0", GROUP, 255)), Err(Counter::AuthMismatch));
        assert_eq!(on_ah(&ah_packet(3, 5, &KEY, GROUP, 255)), Err(Counter::UnknownVrid));
        // The forged packet did not advance the sequence number: 5 is still new.
        assert_eq!(on_ah(&ah_packet(1, 5, &KEY, GROUP, 255)), Ok(true));
        assert_eq!(on_ah(&ah_packet(1, 5, &KEY, GROUP, 255)), Err(Counter::AuthMismatch), "replay");
        assert_eq!(on_ah(&ah_packet(1, 4, &KEY, GROUP, 255)), Err(Counter::AuthMismatch), "older");
        // What the instance sends next continues above what it accepted.
        assert_eq!(filters[0].ah.as_ref().unwrap().sequence().next_to_send(), 6);
        // Multicast still needs TTL 255.
        assert_eq!(on_ah(&ah_packet(1, 9, &KEY, GROUP, 254)), Err(Counter::BadTtl));
        // AH around another protocol is not VRRP: not counted.
        let mut tcp = ah_packet(1, 10, &KEY, GROUP, 255);
        tcp[20] = 6;
        assert_eq!(on_ah(&tcp), Ok(false));
        // A plain VRRPv2 instance's advertisement type does not pass an AH instance.
        let plain = SocketFilter { auth: V2Auth::NONE, ..ah_filter(1, &[]) };
        let packet = ah_packet(1, 11, &KEY, GROUP, 255);
        let checked = verdict_on(Carrier::Ah, &[plain], &packet).map(|a| a.is_some());
        assert_eq!(checked, Err(Counter::AuthMismatch));
    }

    #[test]
    fn one_socket_hands_each_vrid_to_its_instance() {
        let filters = [filter(1, &[]), filter(2, &[PEER])];
        let multicast = verdict(&filters, &packet(1, Version::V3, OTHER, GROUP)).unwrap();
        assert_eq!(multicast.key, filters[0].key);
        assert_eq!(multicast.source, IpAddr::V4(OTHER));
        let unicast = verdict(&filters, &packet(2, Version::V3, PEER, LOCAL)).unwrap();
        assert_eq!((unicast.key, unicast.priority), (filters[1].key, 100));
    }

    #[test]
    fn rejections_are_counted_under_the_kernels_reasons() {
        let filters = [filter(1, &[]), filter(2, &[PEER])];
        let cases = [
            (packet(3, Version::V3, PEER, GROUP), Counter::UnknownVrid),
            // A unicast packet for a multicast instance, a multicast one for a unicast instance.
            (packet(1, Version::V3, PEER, LOCAL), Counter::UnknownVrid),
            (packet(2, Version::V3, PEER, GROUP), Counter::UnknownVrid),
            (packet(2, Version::V3, OTHER, LOCAL), Counter::NotAPeer),
            (packet(1, Version::V2, OTHER, GROUP), Counter::VersionMismatch),
        ];
        for (packet, expected) in cases {
            assert_eq!(verdict(&filters, &packet).map(|a| a.key), Err(expected));
        }
        let mut low_ttl = packet(1, Version::V3, OTHER, GROUP);
        low_ttl[8] = 254;
        assert_eq!(verdict(&filters, &low_ttl).map(|a| a.key), Err(Counter::BadTtl));
        let truncated = packet(1, Version::V3, OTHER, GROUP);
        let datagram = Datagram { len: truncated.len(), truncated: true, ipv6: None };
        let filters = filters.iter().map(|f| (f.key.vrid, f.clone())).collect();
        let cut = accept(&filters, Carrier::Vrrp, &datagram, &truncated, Instant::now());
        assert_eq!(cut.map(|a| a.map(|a| a.key)), Err(Counter::Truncated));
    }

    #[test]
    fn a_multicast_instance_hears_its_own_group_only() {
        let custom = Ipv4Addr::new(224, 0, 0, 99);
        let filters = [SocketFilter { group: Some(IpAddr::V4(custom)), ..filter(1, &[]) }];
        let heard = verdict(&filters, &packet(1, Version::V3, OTHER, custom)).unwrap();
        assert_eq!(heard.key, filters[0].key);
        // keepalived binds its socket to the group: the standard group is another one.
        let standard = verdict(&filters, &packet(1, Version::V3, OTHER, GROUP));
        assert_eq!(standard.map(|a| a.key), Err(Counter::UnknownVrid));
    }
}
