//! `vrrp_track_process`: the kernel's process events (the proc connector: a NETLINK_CONNECTOR
//! socket in group CN_IDX_PROC, subscribed with PROC_CN_MCAST_LISTEN) and `/proc`, read for
//! the node's [`ProcessTable`], which decides what they mean (keepalived core/track_process.c).
//! `/proc` is read once at start and on each reload, and again after the socket overran
//! (ENOBUFS: events were lost); otherwise only the process an event names is read, so nothing
//! polls.
//!
//! The kernel sends process events only to sockets of the first network namespace: a daemon
//! started in another (`ip netns exec`) opens its socket there (PID 1's, or the one
//! `--process-events-netns` names) from a short-lived thread, while it still may (keepalived
//! opens it before joining its `net_namespace`, main.c).

use std::{
    fs,
    io::{self, Read},
    mem::size_of,
    os::{
        fd::{AsRawFd, FromRawFd, OwnedFd, RawFd},
        unix::fs::MetadataExt,
    },
    path::Path,
    time::{Duration, Instant},
};

use anyhow::{bail, Context, Result};
use tokio::{
    io::{unix::AsyncFd, Interest},
    sync::{mpsc, oneshot},
    task::JoinHandle,
};
use vrrp_node::process_table::{ProcessTable, QuorumChange, Seen};

/// linux/netlink.h NETLINK_CONNECTOR; linux/connector.h CN_IDX_PROC, CN_VAL_PROC.
const NETLINK_CONNECTOR: libc::c_int = 11;
const CN_IDX_PROC: u32 = 1;
const CN_VAL_PROC: u32 = 1;
/// linux/cn_proc.h enum proc_cn_mcast_op.
const PROC_CN_MCAST_LISTEN: u32 = 1;
/// linux/cn_proc.h enum what.
const PROC_EVENT_FORK: u32 = 0x1;
const PROC_EVENT_EXEC: u32 = 0x2;
const PROC_EVENT_COMM: u32 = 0x200;
const PROC_EVENT_EXIT: u32 = 0x8000_0000;
/// struct nlmsghdr (16 bytes), then struct cn_msg (20), then struct proc_event: `what`, `cpu`,
/// `timestamp_ns`, then the event's data.
const CN_MSG: usize = 16;
const PROC_EVENT: usize = CN_MSG + 20;
const EVENT_DATA: usize = PROC_EVENT + 16;
/// keepalived process_lost_messages_timer_thread(): after an overrun, wait for things to
/// settle (a second), then read `/proc` again.
const RESCAN_AFTER: Duration = Duration::from_secs(1);

/// One event of the proc connector, as far as tracking cares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Event {
    Fork { parent: u32, child: u32 },
    Exec(u32),
    Comm { pid: u32, comm: [u8; 16] },
    Exit(u32),
}

/// A process event message as the kernel writes it; threads are left out, as keepalived
/// handle_proc_ev() leaves them (their pid differs from their thread group's).
fn parse(message: &[u8]) -> Option<Event> {
    let word = |at: usize| -> Option<u32> {
        Some(u32::from_ne_bytes(message.get(at..at + 4)?.try_into().ok()?))
    };
    if word(CN_MSG)? != CN_IDX_PROC || word(CN_MSG + 4)? != CN_VAL_PROC {
        return None;
    }
    let data = |index: usize| word(EVENT_DATA + 4 * index);
    match word(PROC_EVENT)? {
        PROC_EVENT_FORK => {
            let (parent_tgid, child_pid, child_tgid) = (data(1)?, data(2)?, data(3)?);
            (child_pid == child_tgid)
                .then_some(Event::Fork { parent: parent_tgid, child: child_tgid })
        }
        PROC_EVENT_EXEC => (data(0)? == data(1)?).then_some(Event::Exec(data(1)?)),
        PROC_EVENT_COMM => {
            let bytes = message.get(EVENT_DATA + 8..EVENT_DATA + 24)?;
            let comm = bytes.try_into().ok()?;
            (data(0)? == data(1)?).then_some(Event::Comm { pid: data(1)?, comm })
        }
        PROC_EVENT_EXIT => (data(0)? == data(1)?).then_some(Event::Exit(data(1)?)),
        _ => None,
    }
}

/// A C string field: the bytes before the first NUL.
fn until_nul(bytes: &[u8]) -> &[u8] {
    bytes.split(|&b| b == 0).next().unwrap_or(bytes)
}

/// The subscribed proc connector socket.
struct Socket(OwnedFd);

impl AsRawFd for Socket {
    fn as_raw_fd(&self) -> RawFd {
        self.0.as_raw_fd()
    }
}

/// Opens and subscribes the socket in the first network namespace when this one is another
/// and the daemon may join it, else here.
fn open_socket(netns: &Path) -> Result<Socket> {
    match same_namespace(netns) {
        Ok(true) => return open_here(),
        Ok(false) => {}
        Err(error) => {
            return open_here()
                .with_context(|| format!("{} cannot be read ({error})", netns.display()))
        }
    }
    let path = netns.to_owned();
    let opened = std::thread::spawn(move || -> Result<Socket> {
        let file = fs::File::open(&path).with_context(|| format!("opening {}", path.display()))?;
        // SAFETY: setns on this thread only, which ends once the socket is open.
        if unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) } != 0 {
            bail!(
                "joining the network namespace {}: {}",
                path.display(),
                io::Error::last_os_error()
            );
        }
        open_here()
    })
    .join()
    .map_err(|_| anyhow::anyhow!("the thread opening the process events socket panicked"))?;
    opened.or_else(|error| {
        log::warn!("vrrp_track_process: {error:#}; trying this network namespace");
        open_here()
    })
}

fn same_namespace(netns: &Path) -> io::Result<bool> {
    let own = fs::metadata("/proc/self/ns/net")?;
    let other = fs::metadata(netns)?;
    Ok(own.dev() == other.dev() && own.ino() == other.ino())
}

/// keepalived nl_connect(), set_proc_ev_listen().
fn open_here() -> Result<Socket> {
    // SAFETY: plain socket(2); the descriptor is owned at once.
    let fd = unsafe {
        libc::socket(
            libc::AF_NETLINK,
            libc::SOCK_DGRAM | libc::SOCK_CLOEXEC | libc::SOCK_NONBLOCK,
            NETLINK_CONNECTOR,
        )
    };
    if fd < 0 {
        let error = io::Error::last_os_error();
        if error.raw_os_error() == Some(libc::EPROTONOSUPPORT) {
            bail!("the kernel has no process events (CONFIG_PROC_EVENTS)");
        }
        bail!("process events socket: {error}");
    }
    // SAFETY: fd was just created and is owned by nothing else.
    let socket = Socket(unsafe { OwnedFd::from_raw_fd(fd) });
    // SAFETY: sockaddr_nl is plain data; all-zero is valid.
    let mut address: libc::sockaddr_nl = unsafe { std::mem::zeroed() };
    address.nl_family = libc::AF_NETLINK as libc::sa_family_t;
    address.nl_groups = CN_IDX_PROC;
    // SAFETY: address is a valid sockaddr_nl of the size given.
    let bound = unsafe {
        libc::bind(
            fd,
            (&address as *const libc::sockaddr_nl).cast(),
            size_of::<libc::sockaddr_nl>() as libc::socklen_t,
        )
    };
    if bound != 0 {
        bail!("binding the process events socket: {}", io::Error::last_os_error());
    }
    // nlmsghdr, cn_msg { id { CN_IDX_PROC, CN_VAL_PROC }, seq, ack, len 4, flags }, the op.
    let mut message = Vec::with_capacity(40);
    message.extend_from_slice(&40u32.to_ne_bytes());
    message.extend_from_slice(&(libc::NLMSG_DONE as u16).to_ne_bytes());
    message.extend_from_slice(&0u16.to_ne_bytes());
    message.extend_from_slice(&0u32.to_ne_bytes());
    message.extend_from_slice(&std::process::id().to_ne_bytes());
    for value in [CN_IDX_PROC, CN_VAL_PROC, 0, 0] {
        message.extend_from_slice(&value.to_ne_bytes());
    }
    message.extend_from_slice(&4u16.to_ne_bytes());
    message.extend_from_slice(&0u16.to_ne_bytes());
    message.extend_from_slice(&PROC_CN_MCAST_LISTEN.to_ne_bytes());
    // SAFETY: message is a valid buffer of its length.
    let sent = unsafe { libc::send(fd, message.as_ptr().cast(), message.len(), 0) };
    if sent < 0 {
        let error = io::Error::last_os_error();
        if error.raw_os_error() == Some(libc::ECONNREFUSED) {
            bail!(
                "the kernel sends process events only to the first network namespace, and \
                 vrrpd could not open its socket there"
            );
        }
        bail!("subscribing to process events (needs CAP_NET_ADMIN): {error}");
    }
    Ok(socket)
}

/// What one receive gave.
enum Received {
    Event(Event),
    /// Not for us, or not from the kernel.
    Nothing,
    WouldBlock,
    /// ENOBUFS: the kernel dropped events.
    Overrun,
}

fn receive(socket: &Socket) -> io::Result<Received> {
    let mut buffer = [0u8; 256];
    // SAFETY: sockaddr_nl is plain data; all-zero is valid.
    let mut from: libc::sockaddr_nl = unsafe { std::mem::zeroed() };
    let mut from_len = size_of::<libc::sockaddr_nl>() as libc::socklen_t;
    // SAFETY: buffer and from are valid for the sizes given.
    let length = unsafe {
        libc::recvfrom(
            socket.as_raw_fd(),
            buffer.as_mut_ptr().cast(),
            buffer.len(),
            0,
            (&mut from as *mut libc::sockaddr_nl).cast(),
            &mut from_len,
        )
    };
    if length < 0 {
        let error = io::Error::last_os_error();
        return match error.raw_os_error() {
            Some(libc::EAGAIN) => Ok(Received::WouldBlock),
            Some(libc::EINTR) => Ok(Received::Nothing),
            Some(libc::ENOBUFS) => Ok(Received::Overrun),
            _ => Err(error),
        };
    }
    // keepalived handle_proc_ev(): only the kernel (port 0) is listened to.
    if from.nl_pid != 0 {
        return Ok(Received::Nothing);
    }
    Ok(parse(&buffer[..length as usize]).map_or(Received::Nothing, Received::Event))
}

/// What `/proc` says of one process: its name and command line, as the table needs them.
struct ProcessRead {
    comm: Option<Vec<u8>>,
    cmdline: Option<Vec<u8>>,
}

impl ProcessRead {
    fn seen(&self) -> Seen<'_> {
        Seen { comm: self.comm.as_deref(), cmdline: self.cmdline.as_deref() }
    }
}

/// Reads at most `limit` bytes of a `/proc` file; `None` when the process is gone.
fn read_bounded(path: &str, limit: usize) -> Option<Vec<u8>> {
    let file = fs::File::open(path).ok()?;
    let mut bytes = Vec::with_capacity(limit.min(4096));
    file.take(limit as u64).read_to_end(&mut bytes).ok()?;
    Some(bytes)
}

/// keepalived check_process(): `/proc/PID/comm` and `/proc/PID/cmdline`, each read only if
/// some tracker compares it. `None`: the process is gone.
fn read_process(table: &ProcessTable, pid: u32) -> Option<ProcessRead> {
    let comm = if table.needs_comm() {
        let mut comm = read_bounded(&format!("/proc/{pid}/comm"), 16)?;
        if comm.last() == Some(&b'\n') {
            comm.pop();
        }
        Some(comm)
    } else {
        None
    };
    let cmdline = if table.needs_cmdline() {
        Some(read_bounded(&format!("/proc/{pid}/cmdline"), table.cmdline_limit())?)
    } else {
        None
    };
    Some(ProcessRead { comm, cmdline })
}

/// keepalived read_procs(): every process in `/proc`, the name read from `/proc/PID/stat`
/// (whose state also tells a zombie, left out).
fn scan(table: &mut ProcessTable, now: Instant, first: bool) -> Vec<QuorumChange> {
    let before = table.begin_scan();
    let entries = match fs::read_dir("/proc") {
        Ok(entries) => entries,
        Err(error) => {
            log::error!("vrrp_track_process: cannot read /proc: {error}");
            return table.end_scan(now, &before, first);
        }
    };
    for entry in entries.flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|name| name.parse::<u32>().ok()) else {
            continue;
        };
        let Some(stat) = read_bounded(&format!("/proc/{pid}/stat"), 128) else { continue };
        // "PID (COMM) S ...": the name may hold ')' itself, so the last one ends it.
        let (Some(open), Some(close)) =
            (stat.iter().position(|&b| b == b'('), stat.iter().rposition(|&b| b == b')'))
        else {
            continue;
        };
        if open >= close || stat.get(close + 2) == Some(&b'Z') {
            continue;
        }
        let comm = table.needs_comm().then(|| stat[open + 1..close].to_vec());
        let cmdline = if table.needs_cmdline() {
            match read_bounded(&format!("/proc/{pid}/cmdline"), table.cmdline_limit()) {
                Some(line) => Some(line),
                None => continue,
            }
        } else {
            None
        };
        table.scanned(pid, ProcessRead { comm, cmdline }.seen());
    }
    table.end_scan(now, &before, first)
}

/// A configuration's trackers to follow, and where to say what the first scan found.
type Follow = (ProcessTable, oneshot::Sender<Vec<QuorumChange>>);

/// The task following process events for the node, and its socket.
pub struct ProcessWatcher {
    follow: mpsc::Sender<Follow>,
    task: JoinHandle<()>,
}

impl Drop for ProcessWatcher {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl ProcessWatcher {
    /// Opens the socket (before `/proc` is read, so that no change between is missed) and
    /// starts the task, which sends each change of quorum to `changes`. Without the socket
    /// nothing could be followed: an error, as keepalived's trackers then never gain quorum
    /// (track_process.c init_track_processes()).
    pub fn spawn(netns: &Path, changes: mpsc::Sender<QuorumChange>) -> Result<Self> {
        let socket = open_socket(netns).context("vrrp_track_process")?;
        // SAFETY: the socket moves into the AsyncFd and lives as long.
        let socket = unsafe { AsyncFd::register_with_interest(socket, Interest::READABLE) }
            .map_err(|error| anyhow::anyhow!("polling the process events socket: {error}"))?;
        let (follow, requests) = mpsc::channel(4);
        let task = tokio::spawn(run(socket, requests, changes));
        Ok(ProcessWatcher { follow, task })
    }

    /// Follows `table` from now on: `/proc` is read for it, and what it found returned (each
    /// tracker's quorum), in time for the node to start with it.
    pub async fn follow(&self, table: ProcessTable) -> Result<Vec<QuorumChange>> {
        let (reply, found) = oneshot::channel();
        self.follow.send((table, reply)).await.context("the process events task ended")?;
        found.await.context("the process events task ended")
    }
}

async fn run(
    socket: AsyncFd<Socket>,
    mut requests: mpsc::Receiver<Follow>,
    changes: mpsc::Sender<QuorumChange>,
) {
    let mut table = ProcessTable::default();
    let mut rescan_at: Option<tokio::time::Instant> = None;
    loop {
        let delay_due = table.poll_timeout().map(tokio::time::Instant::from_std);
        let next = [delay_due, rescan_at].into_iter().flatten().min();
        let found = tokio::select! {
            request = requests.recv() => {
                let Some((new_table, reply)) = request else { return };
                table = new_table;
                scan(&mut table, Instant::now(), true);
                // Every tracker's, not only the changes: the node may hold a reload's
                // predecessor under the same name.
                let _ = reply.send(table.quorums());
                continue;
            }
            ready = socket.readable() => {
                let Ok(mut ready) = ready else { return };
                let mut found = Vec::new();
                loop {
                    match receive(ready.get_inner()) {
                        Ok(Received::Event(event)) => found.extend(apply(&mut table, event)),
                        Ok(Received::Nothing) => {}
                        Ok(Received::WouldBlock) => {
                            ready.clear_ready();
                            break;
                        }
                        Ok(Received::Overrun) => {
                            if rescan_at.is_none() {
                                log::warn!(
                                    "vrrp_track_process: process events were lost (the socket \
                                     overran); /proc is read again in {RESCAN_AFTER:?}"
                                );
                            }
                            rescan_at = Some(tokio::time::Instant::now() + RESCAN_AFTER);
                        }
                        Err(error) => {
                            log::error!(
                                "vrrp_track_process: the process events socket cannot be read \
                                 ({error}): processes are no longer followed"
                            );
                            return;
                        }
                    }
                }
                found
            }
            _ = sleep_until(next), if next.is_some() => {
                let now = Instant::now();
                let mut found = table.handle_timeout(now);
                if rescan_at.is_some_and(|at| at <= tokio::time::Instant::now()) {
                    rescan_at = None;
                    found.extend(scan(&mut table, now, false));
                }
                found
            }
        };
        for change in found {
            log::info!(
                "vrrp_track_process {}: quorum {}",
                change.0,
                if change.1 { "gained" } else { "lost" }
            );
            if changes.send(change).await.is_err() {
                return;
            }
        }
    }
}

async fn sleep_until(at: Option<tokio::time::Instant>) {
    if let Some(at) = at {
        tokio::time::sleep_until(at).await;
    }
}

/// One event into the table, reading `/proc` for a new program.
fn apply(table: &mut ProcessTable, event: Event) -> Vec<QuorumChange> {
    let now = Instant::now();
    if table.is_empty() {
        return Vec::new();
    }
    match event {
        Event::Fork { parent, child } => table.handle_fork(now, parent, child),
        Event::Exec(pid) => match read_process(table, pid) {
            Some(read) => table.handle_exec(now, pid, read.seen()),
            // Gone already: its exit follows.
            None => Vec::new(),
        },
        Event::Comm { pid, comm } => table.handle_comm(now, pid, until_nul(&comm)),
        Event::Exit(pid) => table.handle_exit(now, pid),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(what: u32, data: &[u32]) -> Vec<u8> {
        let mut bytes = vec![0u8; EVENT_DATA];
        bytes[CN_MSG..CN_MSG + 4].copy_from_slice(&CN_IDX_PROC.to_ne_bytes());
        bytes[CN_MSG + 4..CN_MSG + 8].copy_from_slice(&CN_VAL_PROC.to_ne_bytes());
        bytes[PROC_EVENT..PROC_EVENT + 4].copy_from_slice(&what.to_ne_bytes());
        for value in data {
            bytes.extend_from_slice(&value.to_ne_bytes());
        }
        bytes.resize(EVENT_DATA + 40, 0);
        bytes
    }

    #[test]
    fn events_are_read_as_the_kernel_lays_them_out_and_threads_left_out() {
        assert_eq!(
            parse(&message(PROC_EVENT_FORK, &[5, 5, 9, 9])),
            Some(Event::Fork { parent: 5, child: 9 })
        );
        assert_eq!(parse(&message(PROC_EVENT_FORK, &[5, 5, 10, 9])), None, "a new thread");
        assert_eq!(parse(&message(PROC_EVENT_EXEC, &[7, 7])), Some(Event::Exec(7)));
        assert_eq!(parse(&message(PROC_EVENT_EXIT, &[7, 7, 0, 9])), Some(Event::Exit(7)));
        assert_eq!(parse(&message(PROC_EVENT_EXIT, &[8, 7, 0, 9])), None, "a thread's end");
        let mut comm = message(PROC_EVENT_COMM, &[7, 7]);
        comm[EVENT_DATA + 8..EVENT_DATA + 13].copy_from_slice(b"abcde");
        let Some(Event::Comm { pid: 7, comm }) = parse(&comm) else { panic!("{comm:?}") };
        assert_eq!(until_nul(&comm), b"abcde");
        let mut other = message(PROC_EVENT_EXEC, &[7, 7]);
        other[CN_MSG] = 9;
        assert_eq!(parse(&other), None, "another connector");
        assert_eq!(parse(&message(PROC_EVENT_EXEC, &[7, 7])[..EVENT_DATA + 4]), None, "short");
    }
}
