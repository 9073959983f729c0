//! The daemon's event loop: the node (`vrrp-node`) decides, this carries out.
//!
//! The loop's contract:
//! 1. One task owns the node, which owns every instance's state machine and keepalived's
//!    policy over them; nothing else changes them.
//! 2. Its inputs (`inputs`): arrivals (XDP ring buffer or raw sockets, see `arrivals`), the
//!    node's earliest deadline, netlink link and address changes, tracking-script results,
//!    tracked files' values (inotify), tracked processes' quorums (the kernel's process
//!    events, `track_process`), SIGTERM/SIGINT (stop), SIGHUP (reload, `lifecycle`) and the
//!    systemd watchdog tick. Each becomes one `Node::handle_*` call with the time.
//!    keepalived's dump signals (SIGUSR1, SIGUSR2, SIGRTMAX-1, SIGRTMIN+2) only note which dumps
//!    were asked for (`dumps`).
//! 3. After every input the node's outputs are drained and carried out in order (`effects`),
//!    and the node's snapshot is kept for status readers: after every change of state, else at
//!    most every `SNAPSHOT_PERIOD` (a snapshot covers every instance; taking one per round
//!    would make each advertisement sent or received cost as much as the instance count).
//!    A round that noted dump requests publishes a fresh snapshot and hands them to the dump
//!    writer task, which renders and writes off the loop.
//! 4. Before a backup's master-down timer is handled, the kernel's record of the instance is
//!    read (on the socket path: the queued arrivals and the sockets' queues): an advertisement
//!    the kernel absorbed without raising an event, or that is still queued, still counts.
//!    Where the kernel runs a backup's master-down timer (`master_watch`), the loop sleeps
//!    through that deadline until the kernel's event or a long safety net.
//! 5. The loop makes no protocol or policy decision: those are `vrrp-proto`'s and
//!    `vrrp-node`'s. Every branch here is about I/O.

use std::{
    collections::HashMap,
    net::SocketAddr,
    path::PathBuf,
    time::{Duration, Instant},
};

use anyhow::Result;
use tokio::{
    signal::unix::{signal, SignalKind},
    sync::mpsc,
};
use vrrp_node::{InstanceId, Node};

use crate::{
    arrivals::{self, Arrival},
    control,
    dumps::{self, DumpSignals, DumpWriter},
    hook::HookChoice,
    instance::Instance,
    instance_table::InstanceTable,
    lifecycle, lock, master_watch, metrics,
    netlink::{self, Netlink},
    notify_fifo::NotifyFifos,
    once_per_peer::OncePerPeer,
    pid_file, privileges, ring_resync, scheduling, scripts,
    socket_receiver::SocketReceivers,
    status::{self, CounterSource, Publisher},
    systemd, track_file, track_process,
    xdp::{AttachMode, XdpDatapath},
};

pub use crate::lifecycle::{check_privileges, load_config, load_config_on_host};

/// How old the status readers' snapshot may grow while no instance changes state.
const SNAPSHOT_PERIOD: Duration = Duration::from_millis(100);

/// Which data path receives advertisements.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum DatapathChoice {
    /// The kernel path (XDP or tcx, see `--hook`), or the socket path with a warning where no
    /// kernel hook can be loaded or attached.
    Auto,
    Xdp,
    Socket,
}

#[derive(Clone, Debug)]
pub struct Options {
    pub config: PathBuf,
    pub datapath: DatapathChoice,
    pub attach_mode: AttachMode,
    /// Which kernel hook each interface gets.
    pub hook: HookChoice,
    pub pin_dir: PathBuf,
    /// Holds the single-instance lock (systemd's `RuntimeDirectory=`).
    pub runtime_dir: PathBuf,
    /// Valid advertisements are passed up the stack after accounting instead of consumed.
    pub pass_valid: bool,
    /// How the configuration is read (its `@ID` lines), at start and on every reload.
    pub load: vrrp_config::LoadOptions,
    /// Where to serve Prometheus metrics, if anywhere.
    pub metrics_listen: Option<SocketAddr>,
    /// Where keepalived's dump files are written on its signals.
    pub dump_dir: PathBuf,
    /// Where the daemon's process id is written, if anywhere (keepalived's `--pid`).
    pub pid_file: Option<PathBuf>,
    /// The network namespace whose process events `vrrp_track_process` follows.
    pub process_events_netns: PathBuf,
}

pub(crate) struct Daemon {
    pub(crate) options: Options,
    pub(crate) node: Node,
    pub(crate) netlink: Netlink,
    pub(crate) xdp: Option<XdpDatapath>,
    /// The socket data path's receive sockets (unused while XDP runs).
    pub(crate) receivers: SocketReceivers,
    /// The I/O of each running instance.
    pub(crate) io: InstanceTable,
    /// I/O opened for the instances a reload starts, by name, until the node gives their ids.
    pub(crate) prepared: HashMap<String, Instance>,
    pub(crate) arrivals: mpsc::Sender<Arrival>,
    pub(crate) script_tasks: Vec<tokio::task::JoinHandle<()>>,
    pub(crate) script_results: mpsc::Sender<scripts::ScriptResult>,
    /// The inotify task following the tracked files, and where it sends their values.
    pub(crate) file_watcher: Option<tokio::task::JoinHandle<()>>,
    pub(crate) file_values: mpsc::Sender<track_file::FileValue>,
    /// The task following process events for `vrrp_track_process`, and where it sends each
    /// change of quorum.
    pub(crate) process_watcher: Option<track_process::ProcessWatcher>,
    pub(crate) process_changes: mpsc::Sender<vrrp_node::process_table::QuorumChange>,
    pub(crate) fifos: NotifyFifos,
    /// Peers whose MAC change was already logged (bounded: a flood of forged senders must
    /// not grow memory or the log).
    pub(crate) mac_changes_logged: OncePerPeer,
    /// Peers whose advertisements without a link-local first address were already logged.
    pub(crate) not_link_local_logged: OncePerPeer,
    /// SIGHUPs received, and the newest of them whose file was applied or refused.
    pub(crate) reloads_started: u64,
    pub(crate) reloads_applied: u64,
    /// The node as of the end of the latest round of the loop, for the control socket and the
    /// metrics.
    pub(crate) published: Publisher,
    /// What the capabilities kept after start-up were chosen for (`None` before the drop).
    pub(crate) privileges: Option<privileges::Needs>,
    /// Events lost to a full XDP ring, for a rate-limited log line.
    pub(crate) ring_loss_log: ring_resync::LossLog,
    /// When the kernel's master-down timers were last compared with the node's wishes.
    pub(crate) watches: master_watch::Watches,
    /// The loop's scheduling and the memory lock, as the running configuration asks.
    pub(crate) scheduling: scheduling::Applied,
}

pub async fn run(options: Options) -> Result<()> {
    // First: until they are handled, these signals end the process, and the exporters send
    // them on every scrape, a daemon starting up included.
    let mut dump_signals = DumpSignals::new()?;
    let config = load_config_on_host(&options.config, &options.load)?;
    let needs = privileges::Needs::of(&config);
    privileges::check_available(needs)?;
    privileges::limit_scripts_to(privileges::kept(needs));
    // Before anything is touched: a second daemon would replace the pins and fight over the
    // addresses.
    let _lock = lock::acquire(&options.runtime_dir)?;
    let _pid_file = options.pid_file.clone().map(pid_file::PidFile::write).transpose()?;
    let (netlink, mut net_events) = netlink::connect()?;
    let xdp = lifecycle::open_xdp(&options)?;
    let (arrival_sender, mut arrivals) = mpsc::channel(1024);
    let (script_sender, mut script_results) = mpsc::channel(64);
    let (file_sender, mut file_values) = mpsc::channel(64);
    let (process_sender, mut process_changes) = mpsc::channel(64);
    let receivers = SocketReceivers::new(arrival_sender.clone());
    let counters = match &xdp {
        Some(xdp) => CounterSource::Kernel(xdp.counter_map()?),
        None => CounterSource::Socket(receivers.counters()),
    };
    let mut daemon = Daemon {
        options,
        node: Node::new(),
        netlink,
        xdp,
        receivers,
        io: InstanceTable::default(),
        prepared: HashMap::new(),
        arrivals: arrival_sender,
        script_tasks: Vec::new(),
        script_results: script_sender,
        file_watcher: None,
        file_values: file_sender,
        process_watcher: None,
        process_changes: process_sender,
        fifos: NotifyFifos::default(),
        mac_changes_logged: OncePerPeer::default(),
        not_link_local_logged: OncePerPeer::default(),
        reloads_started: 0,
        reloads_applied: 0,
        published: Publisher::new(counters),
        privileges: None,
        ring_loss_log: ring_resync::LossLog::default(),
        watches: master_watch::Watches::default(),
        scheduling: scheduling::Applied::of_this_thread(),
    };
    if let Err(error) = daemon.apply(config).await {
        daemon.stop().await;
        return Err(error);
    }
    // The kernel's events must keep coming: a reader that stops would leave a master deaf to
    // preemption, so its end ends the daemon (and systemd restarts a whole one).
    let (loss_sender, mut ring_losses) = mpsc::channel(16);
    let mut ring_reader = match daemon.xdp.as_mut().and_then(|xdp| {
        xdp.take_events().map(|ring| (ring, xdp.clock().clone(), xdp.counter_map()))
    }) {
        Some((ring, clock, counters)) => {
            let arrivals = daemon.arrivals.clone();
            Some(arrivals::spawn_ring_reader(ring, arrivals, clock, counters?, loss_sender)?)
        }
        None => None,
    };
    if let Some(logger) = daemon.xdp.as_mut().and_then(XdpDatapath::take_logger) {
        arrivals::spawn_kernel_log(logger)?;
    }
    daemon.carry_out().await;
    daemon.published.publish(daemon.node.snapshot());
    let _control = control::serve(&daemon.options.runtime_dir, daemon.published.subscribe())?;
    let _metrics = match daemon.options.metrics_listen {
        Some(address) => Some(metrics::serve(address, daemon.published.subscribe()).await?),
        None => None,
    };
    // The loop's priority last, once the verifier and the rest of start-up are done: they
    // would count against RLIMIT_RTTIME.
    if let Some(config) = daemon.node.config() {
        daemon.scheduling.apply(&config.global.scheduling);
    }
    // Everything that needed more is open: keep only what reload and the loop use.
    let wanted = privileges::kept(needs);
    let kept = match privileges::drop_to(wanted).await {
        Ok(kept) => kept,
        Err(error) => {
            daemon.stop().await;
            return Err(error);
        }
    };
    daemon.privileges = Some(needs);
    log::info!("capabilities kept: {kept}");
    let missing = privileges::CapSet(wanted.0 & !kept.0);
    if missing.0 != 0 {
        // Only the optional ones can be missing here (check_available ran first); a setting
        // that needs one says so when it is refused.
        log::info!("not held, so not kept: {missing}");
    }
    systemd::notify(&format!("READY=1\nSTATUS={}", daemon.status()));

    let mut terminate = signal(SignalKind::terminate())?;
    let mut interrupt = signal(SignalKind::interrupt())?;
    let mut hangup = signal(SignalKind::hangup())?;
    let dump_writer =
        DumpWriter::spawn(daemon.options.dump_dir.clone(), daemon.published.subscribe());
    let mut dumps_asked = dumps::Requests::default();
    // Reloads are parsed off the loop, in the order the signals came.
    let (reload_sender, mut reloads) = mpsc::channel(16);
    let watchdog = systemd::watchdog_interval();
    let mut watchdog_ticks = tokio::time::interval(watchdog.unwrap_or(Duration::from_secs(3600)));
    let mut failure = None;
    let mut snapshot_taken = Instant::now();
    loop {
        let deadline = daemon.next_deadline();
        tokio::select! {
            _ = sleep_until(deadline) => {
                // Arrivals queued meanwhile count before any timer is judged (rule 4).
                while let Ok(arrival) = arrivals.try_recv() {
                    daemon.handle_arrival(arrival);
                }
                for arrival in daemon.receivers.read_queued() {
                    daemon.handle_arrival(arrival);
                }
                daemon.handle_timers();
            }
            Some(arrival) = arrivals.recv() => {
                daemon.handle_arrival(arrival);
                // The rest of a burst in one pass: outputs are carried out once for all.
                while let Ok(arrival) = arrivals.try_recv() {
                    daemon.handle_arrival(arrival);
                }
            }
            event = net_events.recv() => match event {
                Some(event) => {
                    // The rest of a burst in one pass (a failover's additions come back as
                    // one event per address).
                    let mut burst = vec![event];
                    while let Ok(event) = net_events.try_recv() {
                        burst.push(event);
                    }
                    daemon.handle_net_events(burst).await
                }
                None => {
                    failure = Some("the netlink event stream ended");
                    break;
                }
            },
            _ = wait_for(ring_reader.as_mut()) => {
                failure = Some("the XDP event ring cannot be read any more");
                break;
            }
            Some(lost) = ring_losses.recv() => {
                // The events read before the loss was seen count first.
                while let Ok(arrival) = arrivals.try_recv() {
                    daemon.handle_arrival(arrival);
                }
                daemon.resync_records(lost);
            }
            Some((name, ok)) = script_results.recv() => {
                daemon.node.handle_script(Instant::now(), &name, ok)
            }
            Some((name, value)) = file_values.recv() => {
                daemon.node.handle_track_file(Instant::now(), &name, value)
            }
            Some((name, quorum)) = process_changes.recv() => {
                daemon.node.handle_track_process(Instant::now(), &name, quorum)
            }
            _ = terminate.recv() => break,
            _ = interrupt.recv() => break,
            _ = hangup.recv() => daemon.start_reload(reload_sender.clone()),
            Some(parsed) = reloads.recv() => daemon.finish_reload(parsed).await,
            _ = watchdog_ticks.tick(), if watchdog.is_some() => systemd::notify("WATCHDOG=1"),
            asked = dump_signals.recv() => dumps_asked.add(asked),
        }
        let states_changed = daemon.carry_out().await;
        daemon.follow_master_watches(states_changed);
        if states_changed || !dumps_asked.is_empty() || snapshot_taken.elapsed() >= SNAPSHOT_PERIOD
        {
            daemon.published.publish(daemon.node.snapshot());
            snapshot_taken = Instant::now();
        }
        if !dumps_asked.is_empty() {
            dump_writer.request(dumps_asked.take());
        }
    }
    systemd::notify("STOPPING=1");
    log::info!("stopping");
    daemon.stop().await;
    match failure {
        None => Ok(()),
        Some(why) => anyhow::bail!("{why}: stopped, so that a whole daemon starts again"),
    }
}

/// Completes when the task ends; never, without one.
async fn wait_for(task: Option<&mut tokio::task::JoinHandle<()>>) {
    match task {
        Some(task) => {
            let _ = task.await;
        }
        None => std::future::pending().await,
    }
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline.into()).await,
        None => std::future::pending().await,
    }
}

impl Daemon {
    /// The name of a running instance, for log lines.
    pub(crate) fn name(&self, id: InstanceId) -> &str {
        self.node.instance(id).map_or("?", |instance| instance.name())
    }

    /// systemd's STATUS=: how many instances are in each state.
    pub(crate) fn status(&self) -> String {
        status::summary(self.node.instances().map(|(_, instance)| instance.router().state()))
    }
}
