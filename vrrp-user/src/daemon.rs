//! The daemon: start-up, the event loop, reload and stop.
//!
//! The event loop's contract:
//! 1. One task owns every instance's state machine; nothing else changes them.
//! 2. Its inputs: arrivals (XDP ring buffer or raw sockets, see `arrivals`), the earliest
//!    deadline of any state machine, netlink link and address changes, tracking-script results,
//!    SIGTERM/SIGINT (stop), SIGHUP (reload) and the systemd watchdog tick.
//! 3. After every input, each instance's outputs are drained and carried out in order.
//! 4. Before a backup's timer is handled, the kernel's record of the instance is read (on the
//!    socket path: the queued arrivals and the sockets' queues): an advertisement the kernel
//!    absorbed without raising an event, or that is still queued, still counts.
//! 5. The loop makes no protocol decision: those are `vrrp-proto`'s.

use std::{
    collections::{HashMap, HashSet},
    net::IpAddr,
    path::PathBuf,
    time::{Duration, Instant},
};

use anyhow::{bail, Result};
use tokio::{
    signal::unix::{signal, SignalKind},
    sync::mpsc,
};
use vrrp_common::event_cause;
use vrrp_config::Config;
use vrrp_proto::{Output, State};

use crate::{
    announce,
    arrivals::{self, Arrival},
    instance::{self, Instance},
    netlink::{self, NetEvent, Netlink},
    pin_dir::{self, PinPlan},
    plan::{self, Plan},
    scripts,
    socket_receiver::SocketReceivers,
    systemd,
    xdp::{AttachMode, XdpDatapath},
};

/// Which data path receives advertisements.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum DatapathChoice {
    /// XDP, or the socket path with a warning where XDP cannot be loaded or attached.
    Auto,
    Xdp,
    Socket,
}

#[derive(Clone, Debug)]
pub struct Options {
    pub config: PathBuf,
    pub datapath: DatapathChoice,
    pub attach_mode: AttachMode,
    pub pin_dir: PathBuf,
    /// Valid advertisements are passed up the stack after accounting instead of consumed.
    pub pass_valid: bool,
}

/// Loads and validates the configuration, printing its warnings.
pub fn load_config(path: &std::path::Path) -> Result<(Config, Vec<Plan>)> {
    let loaded = vrrp_config::load(path).map_err(|error| anyhow::anyhow!("{error}"))?;
    for warning in &loaded.warnings {
        log::warn!("{warning}");
    }
    for group in &loaded.config.sync_groups {
        log::warn!(
            "vrrp_sync_group {}: a member's fault is the group's, but vrrpd does not yet force \
             the members' MASTER/BACKUP transitions together (nor run the group's notify)",
            group.name
        );
    }
    let plans = plan::plans(&loaded.config)?;
    Ok((loaded.config, plans))
}

struct Daemon {
    options: Options,
    config: Config,
    netlink: Netlink,
    xdp: Option<XdpDatapath>,
    receivers: SocketReceivers,
    instances: Vec<Instance>,
    arrivals: mpsc::Sender<Arrival>,
    usable_links: HashMap<String, bool>,
    scripts_ok: HashMap<String, bool>,
    script_tasks: Vec<tokio::task::JoinHandle<()>>,
    script_results: mpsc::Sender<scripts::ScriptResult>,
    /// Peers whose MAC change was already logged.
    mac_changes_logged: HashSet<IpAddr>,
}

pub async fn run(options: Options) -> Result<()> {
    let (config, plans) = load_config(&options.config)?;
    let _single = single_instance(&options.pin_dir)?;
    let (netlink, mut net_events) = netlink::connect()?;
    let xdp = open_xdp(&options)?;
    let (arrival_sender, mut arrivals) = mpsc::channel(1024);
    let (script_sender, mut script_results) = mpsc::channel(64);
    let mut daemon = Daemon {
        options,
        config,
        netlink,
        xdp,
        receivers: SocketReceivers::new(arrival_sender.clone()),
        instances: Vec::new(),
        arrivals: arrival_sender,
        usable_links: HashMap::new(),
        scripts_ok: HashMap::new(),
        script_tasks: Vec::new(),
        script_results: script_sender,
        mac_changes_logged: HashSet::new(),
    };
    if let Err(error) = daemon.start(plans).await {
        daemon.stop().await;
        return Err(error);
    }
    if let Some(xdp) = daemon.xdp.as_mut() {
        if let Some(ring) = xdp.take_events() {
            arrivals::spawn_ring_reader(ring, daemon.arrivals.clone(), xdp.clock().clone())?;
        }
    }
    if let Some(logger) = daemon.xdp.as_mut().and_then(XdpDatapath::take_logger) {
        arrivals::spawn_kernel_log(logger)?;
    }
    daemon.carry_out_all().await;
    systemd::notify(&format!("READY=1\nSTATUS={}", daemon.status()));

    let mut terminate = signal(SignalKind::terminate())?;
    let mut interrupt = signal(SignalKind::interrupt())?;
    let mut hangup = signal(SignalKind::hangup())?;
    let watchdog = systemd::watchdog_interval();
    let mut watchdog_ticks = tokio::time::interval(watchdog.unwrap_or(Duration::from_secs(3600)));
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
            Some(event) = net_events.recv() => daemon.handle_net_event(event).await,
            Some((name, ok)) = script_results.recv() => daemon.handle_script(name, ok),
            _ = terminate.recv() => break,
            _ = interrupt.recv() => break,
            _ = hangup.recv() => daemon.reload().await,
            _ = watchdog_ticks.tick(), if watchdog.is_some() => systemd::notify("WATCHDOG=1"),
        }
        daemon.carry_out_all().await;
    }
    systemd::notify("STOPPING=1");
    log::info!("stopping");
    daemon.stop().await;
    Ok(())
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline.into()).await,
        None => std::future::pending().await,
    }
}

/// Holds an abstract socket named after the pin folder for the daemon's lifetime: a second
/// vrrpd in the same network namespace with the same pins refuses to start before it touches
/// anything (it would otherwise replace the running daemon's pins and fight over addresses).
/// The kernel releases the name when the process dies, so a crash leaves no stale lock.
fn single_instance(pin_dir: &std::path::Path) -> Result<std::os::unix::net::UnixListener> {
    use std::os::linux::net::SocketAddrExt;
    let name = format!("vrrpd:{}", pin_dir.display());
    let address = std::os::unix::net::SocketAddr::from_abstract_name(name.as_bytes())?;
    std::os::unix::net::UnixListener::bind_addr(&address).map_err(|error| {
        anyhow::anyhow!(
            "another vrrpd is running here with the pins in {} ({error}); stop it first, or give \
             this one another --pin-dir",
            pin_dir.display()
        )
    })
}

/// Loads the XDP program as the options ask; `None` means the socket data path.
fn open_xdp(options: &Options) -> Result<Option<XdpDatapath>> {
    if options.datapath == DatapathChoice::Socket {
        log::info!("data path: raw sockets (as configured)");
        return Ok(None);
    }
    // An untrusted pin folder stops the start: it is never a reason to leave XDP.
    let pins = pin_dir::plan(&options.pin_dir)?;
    let loaded = XdpDatapath::load((pins == PinPlan::Pinned).then_some(options.pin_dir.as_path()));
    match (loaded, options.datapath) {
        (Ok(datapath), _) => {
            match pins {
                PinPlan::Pinned => {
                    log::info!("XDP loaded, pinned under {}", options.pin_dir.display())
                }
                PinPlan::Unpinned(why) => log::warn!(
                    "XDP loaded UNPINNED ({why}): `vrrpd counters`, `vrrpd instances` and \
                     bpftool's pinned paths cannot see this daemon's program and maps; mount a \
                     bpffs there (`mount -t bpf bpf /sys/fs/bpf`) or choose --pin-dir to have them"
                ),
            }
            Ok(Some(datapath))
        }
        (Err(error), DatapathChoice::Auto) => {
            log::warn!("data path: raw sockets, because XDP cannot be loaded ({error:#})");
            Ok(None)
        }
        (Err(error), _) => Err(error.context("the XDP data path was required (--datapath xdp)")),
    }
}

impl Daemon {
    async fn start(&mut self, plans: Vec<Plan>) -> Result<()> {
        let mut created = Vec::new();
        for plan in plans {
            created.push(Instance::create(plan, &self.netlink).await?);
        }
        // Attach before anything changes, so a refusal leaves the host as it was.
        match self.attach_all(&created).await {
            Ok(()) if self.xdp.is_some() => log::info!("data path: XDP"),
            Ok(()) => {}
            Err(error) if self.options.datapath == DatapathChoice::Auto => {
                log::warn!("data path: raw sockets, because XDP cannot be attached ({error:#})");
                if let Some(mut xdp) = self.xdp.take() {
                    xdp.shut_down();
                }
            }
            Err(error) => return Err(error),
        }
        for instance in created {
            self.add_instance(instance).await?;
        }
        self.start_trackers();
        self.retrack(Instant::now());
        Ok(())
    }

    /// Attaches XDP (when loaded) to every interface of the `created` instances.
    async fn attach_all(&mut self, created: &[Instance]) -> Result<()> {
        let Some(xdp) = &mut self.xdp else {
            return Ok(());
        };
        let interfaces: HashSet<&str> =
            created.iter().map(|instance| instance.plan.spec.interface.as_str()).collect();
        for ifname in interfaces {
            attach(xdp, &self.netlink, ifname, self.options.attach_mode).await?;
        }
        Ok(())
    }

    /// Takes an instance into service: kernel maps, receive task, stale addresses, startup.
    async fn add_instance(&mut self, mut instance: Instance) -> Result<()> {
        if let Some(xdp) = &mut self.xdp {
            instance.configure_xdp(xdp, !self.options.pass_valid)?;
        } else {
            self.receivers.register(&instance)?;
        }
        // A crashed run may have left the addresses behind: a backup must not hold them.
        for address in &instance.addresses {
            if self.netlink.has_address(address.ifindex, address.address).await? {
                log::warn!(
                    "{}: {} is already on the interface (left by an earlier run?); removing it \
                     until this router is master",
                    instance.name(),
                    address.address
                );
                self.netlink.remove(address).await?;
            }
        }
        let usable = self.netlink.interface(&instance.plan.spec.interface).await?.usable;
        self.usable_links.insert(instance.plan.spec.interface.clone(), usable);
        for tracked in &instance.plan.spec.track_interfaces {
            let usable = match self.netlink.interface(&tracked.name).await {
                Ok(interface) => interface.usable,
                Err(_) => false,
            };
            self.usable_links.insert(tracked.name.clone(), usable);
        }
        let now = Instant::now();
        let (fault, priority) = self.tracking(&instance);
        instance.router.handle_fault(now, fault);
        instance.router.handle_priority(now, priority);
        instance.router.handle_startup(now);
        log::info!(
            "{}: started on {} (VRID {}, priority {}, {}){}",
            instance.name(),
            instance.plan.spec.interface,
            instance.key.vrid,
            instance.router.priority(),
            if instance.plan.spec.unicast_peers.is_empty() { "multicast" } else { "unicast" },
            if fault { ", in FAULT" } else { "" }
        );
        self.instances.push(instance);
        Ok(())
    }

    fn start_trackers(&mut self) {
        let used: HashSet<&str> = self
            .instances
            .iter()
            .flat_map(|instance| instance.plan.spec.track_scripts.iter().map(|t| t.name.as_str()))
            .collect();
        let scripts: Vec<_> = self
            .config
            .scripts
            .iter()
            .filter(|s| used.contains(s.name.as_str()))
            .cloned()
            .collect();
        let (initial, tasks) = scripts::spawn_trackers(
            &scripts,
            self.config.global.script_user.as_ref(),
            self.script_results.clone(),
        );
        self.scripts_ok = initial;
        self.script_tasks = tasks;
    }

    /// keepalived's tracking: (fault, effective priority) from interfaces and scripts.
    fn tracking(&self, instance: &Instance) -> (bool, u8) {
        let spec = &instance.plan.spec;
        let usable = |name: &str| self.usable_links.get(name).copied().unwrap_or(false);
        let mut fault = !usable(&spec.interface);
        let mut priority = i32::from(spec.priority);
        let results =
            spec.track_interfaces.iter().map(|t| (t.weight, t.reverse, usable(&t.name))).chain(
                spec.track_scripts.iter().map(|t| {
                    (t.weight, t.reverse, self.scripts_ok.get(&t.name).copied().unwrap_or(true))
                }),
            );
        for (weight, reverse, up) in results {
            let good = up != reverse;
            match weight {
                0 if !good => fault = true,
                w if w > 0 && good => priority += w,
                w if w < 0 && !good => priority += w,
                _ => {}
            }
        }
        (fault, priority.clamp(1, 255) as u8)
    }

    fn next_deadline(&self) -> Option<Instant> {
        self.instances.iter().filter_map(|instance| instance.router.poll_timeout()).min()
    }

    fn handle_timers(&mut self) {
        let now = Instant::now();
        for index in 0..self.instances.len() {
            let due = self.instances[index].router.poll_timeout().is_some_and(|at| at <= now);
            if !due {
                continue;
            }
            if self.instances[index].router.state() == State::Backup {
                self.deliver_absorbed(index);
            }
            self.instances[index].router.handle_timeout(now);
        }
    }

    /// The kernel may have absorbed advertisements since the last event: give the newest to
    /// the state machine before its master-down timer is judged.
    fn deliver_absorbed(&mut self, index: usize) {
        let Some(xdp) = &self.xdp else {
            return;
        };
        let instance = &self.instances[index];
        let record = match xdp.record(&instance.key) {
            Ok(Some(record)) => record,
            Ok(None) => return,
            Err(error) => {
                log::warn!("{}: {error:#}", instance.name());
                return;
            }
        };
        let tick = record.last_seen_jiffies;
        if instance.last_delivered_tick.is_some_and(|delivered| tick <= delivered) {
            return;
        }
        let seen_at = match xdp.clock().instant_of(tick) {
            Ok(seen_at) => seen_at,
            Err(error) => {
                log::warn!("{}: reading the kernel clock: {error:#}", instance.name());
                return;
            }
        };
        let arrival = Arrival {
            key: instance.key,
            source: arrivals::address_of(instance.key.family, record.sender),
            received_at: seen_at,
            kernel_tick: Some(tick),
            priority: record.priority,
            interval: vrrp_proto::Centiseconds::new(record.interval_cs),
            addresses: None,
            causes: 0,
            source_mac: Some(record.sender_mac),
        };
        self.handle_arrival(arrival);
    }

    fn handle_arrival(&mut self, arrival: Arrival) {
        let Some(instance) = self.instances.iter_mut().find(|i| i.key == arrival.key) else {
            return;
        };
        if arrival.causes & event_cause::MAC_CHANGED != 0
            && self.mac_changes_logged.insert(arrival.source)
        {
            let mac = arrival.source_mac.unwrap_or_default();
            log::warn!(
                "{}: peer {} now sends from MAC {} (pin it with `mac` in unicast_peer to refuse \
                 others)",
                instance.name(),
                arrival.source,
                vrrp_config::MacAddr(mac)
            );
        }
        let advertisement = match instance.advertisement_of(&arrival) {
            Ok(advertisement) => advertisement,
            Err(error) => {
                log::warn!("{error:#}");
                return;
            }
        };
        let disposition = instance.router.handle_advertisement(
            arrival.received_at,
            arrival.source,
            &advertisement,
        );
        log::debug!(
            "{}: advertisement from {} priority {}: {disposition:?}",
            instance.name(),
            arrival.source,
            arrival.priority
        );
        if let Some(tick) = arrival.kernel_tick {
            if instance.last_delivered_tick.is_none_or(|delivered| tick > delivered) {
                instance.last_delivered_tick = Some(tick);
            }
        }
    }

    async fn handle_net_event(&mut self, event: NetEvent) {
        let now = Instant::now();
        match event {
            NetEvent::Link { name, usable, .. } => {
                if self.usable_links.get(&name).is_some_and(|known| *known != usable) {
                    log::info!("interface {name} is {}", if usable { "up" } else { "down" });
                    self.usable_links.insert(name, usable);
                    self.retrack(now);
                }
            }
            NetEvent::LinkRemoved { ifindex } => {
                for instance in &self.instances {
                    if instance.ifindex == ifindex {
                        log::warn!(
                            "{}: interface {} was removed",
                            instance.name(),
                            instance.plan.spec.interface
                        );
                        self.usable_links.insert(instance.plan.spec.interface.clone(), false);
                    }
                }
                self.retrack(now);
            }
            NetEvent::AddressRemoved { ifindex, address } => {
                self.follow_primary_address(ifindex).await;
                for instance in &self.instances {
                    if !instance.owns_addresses || instance.router.state() != State::Master {
                        continue;
                    }
                    for vip in &instance.addresses {
                        if vip.ifindex == ifindex && vip.address == address {
                            log::warn!(
                                "{}: {address} was removed by another agent; putting it back",
                                instance.name()
                            );
                            if let Err(error) = self.netlink.add(vip).await {
                                log::error!("{}: {error:#}", instance.name());
                            }
                        }
                    }
                }
            }
            NetEvent::AddressAdded { ifindex, .. } => self.follow_primary_address(ifindex).await,
        }
    }

    /// Without `unicast_src_ip`, an instance speaks from the interface's primary address: when
    /// that changes, the instance restarts with the new one (it is also the tie-breaker).
    async fn follow_primary_address(&mut self, ifindex: u32) {
        let mut index = 0;
        while index < self.instances.len() {
            let instance = &self.instances[index];
            if instance.ifindex != ifindex || instance.plan.spec.source_ip.is_some() {
                index += 1;
                continue;
            }
            let current = instance.router.config().primary_address;
            let primary = match self.netlink.addresses(ifindex).await {
                Ok(mut addresses) => {
                    // Our own virtual addresses never count as the primary one.
                    addresses.retain(|(address, _, _)| {
                        !instance.addresses.iter().any(|vip| vip.address == *address)
                    });
                    instance::primary_address(
                        instance.plan.spec.family,
                        &addresses,
                        instance.link_local,
                    )
                }
                Err(error) => {
                    log::warn!("{}: {error:#}", instance.name());
                    None
                }
            };
            if primary.is_none_or(|primary| primary == current) {
                index += 1;
                continue;
            }
            let instance = self.instances.remove(index);
            log::info!(
                "{}: the primary address changed from {current} to {}; restarting the instance",
                instance.name(),
                primary.map(|p| p.to_string()).unwrap_or_default()
            );
            let plan = instance.plan.clone();
            self.retire(instance).await;
            let restarted = match Instance::create(plan, &self.netlink).await {
                Ok(instance) => self.add_instance(instance).await,
                Err(error) => Err(error),
            };
            if let Err(error) = restarted {
                log::error!("restarting an instance after an address change: {error:#}");
            }
        }
    }

    fn handle_script(&mut self, name: String, ok: bool) {
        self.scripts_ok.insert(name, ok);
        self.retrack(Instant::now());
    }

    fn retrack(&mut self, now: Instant) {
        let mut tracked: Vec<(bool, u8)> =
            self.instances.iter().map(|instance| self.tracking(instance)).collect();
        // keepalived's vrrp_sync_group: a member's fault is the whole group's, so a router
        // that lost one side (say, its uplink) gives up the other side's addresses too.
        for group in &self.config.sync_groups {
            let members: Vec<usize> = (0..self.instances.len())
                .filter(|&index| group.members.iter().any(|m| m == self.instances[index].name()))
                .collect();
            if members.iter().any(|&index| tracked[index].0) {
                for &index in &members {
                    tracked[index].0 = true;
                }
            }
        }
        for (instance, (fault, priority)) in self.instances.iter_mut().zip(tracked) {
            instance.router.handle_fault(now, fault);
            instance.router.handle_priority(now, priority);
        }
    }

    async fn carry_out_all(&mut self) {
        for index in 0..self.instances.len() {
            self.carry_out(index).await;
        }
    }

    /// Carries out an instance's outputs, in order.
    async fn carry_out(&mut self, index: usize) {
        while let Some(output) = self.instances[index].router.poll_output() {
            let instance = &mut self.instances[index];
            match output {
                Output::SendAdvertisement(advertisement) => {
                    let source = instance.socket.source();
                    let mode = instance.router.config().checksum_mode;
                    for destination in &instance.destinations {
                        let sent = advertisement
                            .encode_payload(source, *destination, mode)
                            .map_err(|error| anyhow::anyhow!("{error:?}"))
                            .and_then(|payload| instance.socket.send(&payload, *destination));
                        if let Err(error) = sent {
                            log::warn!("{}: {error:#}", instance.name());
                        }
                    }
                }
                Output::AddAddresses { .. } => {
                    instance.owns_addresses = true;
                    for address in &instance.addresses {
                        if let Err(error) = self.netlink.add(address).await {
                            log::error!("{}: {error:#}", instance.name());
                        }
                    }
                    log::info!("{}: added {}", instance.name(), list(&instance.addresses));
                }
                Output::RemoveAddresses { .. } => {
                    instance.owns_addresses = false;
                    for address in &instance.addresses {
                        if let Err(error) = self.netlink.remove(address).await {
                            log::error!("{}: {error:#}", instance.name());
                        }
                    }
                    log::info!("{}: removed {}", instance.name(), list(&instance.addresses));
                }
                Output::AnnounceAddresses { addresses, count, spacing } => {
                    spawn_announcements(instance, addresses, count, spacing);
                }
                Output::StateChanged { from, to, reason } => {
                    log::info!("{}: {from} -> {to} ({reason:?})", instance.name());
                    if let Some(xdp) = &mut self.xdp {
                        if let Err(error) = instance.set_xdp_flags(xdp, !self.options.pass_valid) {
                            log::warn!("{}: {error:#}", instance.name());
                        }
                    }
                    run_notify_scripts(instance, to, &self.config);
                    systemd::notify(&format!("STATUS={}", self.status()));
                }
            }
        }
    }

    fn status(&self) -> String {
        self.instances
            .iter()
            .map(|instance| format!("{} {}", instance.name(), instance.router.state()))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// SIGHUP: a bad file is refused and the running configuration stays in force; an instance
    /// whose plan did not change keeps its state and addresses.
    async fn reload(&mut self) {
        systemd::reloading();
        log::info!("reloading {}", self.options.config.display());
        let result = self.apply_reload().await;
        if let Err(error) = &result {
            log::error!("reload refused, the running configuration stays in force:\n{error:#}");
        }
        systemd::notify(&format!("READY=1\nSTATUS={}", self.status()));
    }

    async fn apply_reload(&mut self) -> Result<()> {
        let (config, plans) = load_config(&self.options.config)?;
        // Build new instances first: an error leaves everything running as it was.
        let mut created = Vec::new();
        for plan in &plans {
            let unchanged = self.instances.iter().any(|instance| instance.plan == *plan);
            if !unchanged {
                created.push(Instance::create(plan.clone(), &self.netlink).await?);
            }
        }
        // New interfaces first (harmless to the running instances), so a refusal changes nothing.
        let wanted: HashSet<String> = plans.iter().map(|p| p.spec.interface.clone()).collect();
        if let Some(xdp) = &mut self.xdp {
            for ifname in &wanted {
                if !xdp.is_attached(ifname) {
                    attach(xdp, &self.netlink, ifname, self.options.attach_mode).await?;
                }
            }
        }
        let mut index = 0;
        while index < self.instances.len() {
            if plans.contains(&self.instances[index].plan) {
                index += 1;
                continue;
            }
            let instance = self.instances.remove(index);
            log::info!("{}: removed or changed; stopping it", instance.name());
            self.retire(instance).await;
        }
        if let Some(xdp) = &mut self.xdp {
            for ifname in xdp.attached_interfaces() {
                if !wanted.contains(&ifname) {
                    xdp.detach(&ifname)?;
                    log::info!("XDP detached from {ifname} (no instance left there)");
                }
            }
        }
        self.config = config;
        for task in self.script_tasks.drain(..) {
            task.abort();
        }
        for instance in created {
            log::info!("{}: new or changed; starting it", instance.name());
            self.add_instance(instance).await?;
        }
        self.start_trackers();
        self.retrack(Instant::now());
        Ok(())
    }

    /// Stops one instance: a master resigns (priority 0), addresses go, the kernel forgets it.
    async fn retire(&mut self, mut instance: Instance) {
        instance.router.handle_shutdown(Instant::now());
        let key = instance.key;
        self.receivers.unregister(&key);
        self.instances.push(instance);
        let index = self.instances.len() - 1;
        self.carry_out(index).await;
        let instance = self.instances.remove(index);
        // Addresses are removed even if the machine never owned them in this run.
        for address in &instance.addresses {
            if let Err(error) = self.netlink.remove(address).await {
                log::error!("{}: {error:#}", instance.name());
            }
        }
        if let Some(xdp) = &mut self.xdp {
            if let Err(error) = xdp.remove_instance(&key) {
                log::warn!("{}: {error:#}", instance.name());
            }
        }
        run_notify_scripts(&instance, State::Initialize, &self.config);
    }

    async fn stop(&mut self) {
        while let Some(instance) = self.instances.pop() {
            self.retire(instance).await;
        }
        for task in self.script_tasks.drain(..) {
            task.abort();
        }
        if let Some(xdp) = &mut self.xdp {
            xdp.shut_down();
        }
        self.receivers.shut_down();
    }
}

/// Attaches XDP to `ifname`. A `vrrp_xdp` left attached by an earlier run (through netlink,
/// which outlives its loader) is replaced; any other program is left alone, with an error.
async fn attach(
    xdp: &mut XdpDatapath,
    netlink: &Netlink,
    ifname: &str,
    mode: AttachMode,
) -> Result<()> {
    let first_error = match xdp.attach(ifname, mode) {
        Ok(used) => {
            log::info!("XDP attached to {ifname} ({used:?})");
            return Ok(());
        }
        Err(error) => error,
    };
    let ifindex = netlink.interface(ifname).await?.ifindex;
    let Some((id, attached)) = netlink.xdp_program(ifindex).await? else {
        return Err(first_error);
    };
    let name = aya::programs::loaded_programs()
        .filter_map(Result::ok)
        .find(|program| program.id() == id)
        .and_then(|program| program.name_as_str().map(str::to_owned))
        .unwrap_or_default();
    if name != vrrp_common::names::PROGRAM {
        bail!(
            "{ifname} already has the XDP program {name:?} (id {id}); vrrpd does not replace \
             another program: detach it (`ip link set dev {ifname} xdp off`) or run with \
             --datapath socket"
        );
    }
    log::warn!("{ifname}: replacing a stale {name} (id {id}, {attached:?}) left by an earlier run");
    netlink.detach_xdp(ifindex, &attached).await.map_err(|error| {
        error.context(format!("{ifname}: the attached {name} is held by a running process"))
    })?;
    let used = xdp.attach(ifname, mode)?;
    log::info!("XDP attached to {ifname} ({used:?})");
    Ok(())
}

fn list(addresses: &[netlink::VirtualAddress]) -> String {
    addresses
        .iter()
        .map(|a| format!("{}/{}", a.address, a.prefix_len))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Sends `count` rounds of announcements `spacing` apart, off the event loop.
fn spawn_announcements(instance: &Instance, addresses: Vec<IpAddr>, count: u32, spacing: Duration) {
    let announcer = instance.announcer.clone();
    let name = instance.name().to_owned();
    let router_flag = announce::ipv6_forwarding(&instance.plan.spec.interface);
    let link_local = instance.link_local;
    let excluded: Vec<IpAddr> =
        instance.plan.spec.excluded_addresses.iter().map(|vip| vip.address).collect();
    tokio::spawn(async move {
        let all: Vec<IpAddr> = addresses.into_iter().chain(excluded).collect();
        for round in 0..count {
            for address in &all {
                if let Err(error) = announcer.announce(*address, router_flag, link_local) {
                    log::warn!("{name}: {error:#}");
                }
            }
            if round == 0 {
                log::info!(
                    "{name}: announcing {} ({count} rounds)",
                    all.iter().map(ToString::to_string).collect::<Vec<_>>().join(" ")
                );
            }
            if round + 1 < count && !spacing.is_zero() {
                tokio::time::sleep(spacing).await;
            }
        }
    });
}

/// keepalived's notify scripts: `notify_<state>` with no arguments, and `notify` with
/// `INSTANCE <name> <STATE> <priority>`.
fn run_notify_scripts(instance: &Instance, state: State, config: &Config) {
    let notify = &instance.plan.spec.notify;
    let (specific, word) = match state {
        State::Master => (&notify.master, "MASTER"),
        State::Backup => (&notify.backup, "BACKUP"),
        State::Fault => (&notify.fault, "FAULT"),
        State::Initialize => (&notify.stop, "STOP"),
    };
    let default_user = config.global.script_user.clone();
    if let Some(command) = specific {
        scripts::notify(
            command.argv.clone(),
            Vec::new(),
            command.run_as.clone().or(default_user.clone()),
        );
    }
    if let Some(command) = &notify.any {
        let extra = vec![
            "INSTANCE".to_owned(),
            instance.name().to_owned(),
            word.to_owned(),
            instance.router.priority().to_string(),
        ];
        scripts::notify(command.argv.clone(), extra, command.run_as.clone().or(default_user));
    }
}

/// Refuses to start without the privileges the daemon needs, naming them.
pub fn check_privileges() -> Result<()> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } == 0 {
        return Ok(());
    }
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let effective = status
        .lines()
        .find_map(|line| line.strip_prefix("CapEff:"))
        .and_then(|hex| u64::from_str_radix(hex.trim(), 16).ok())
        .unwrap_or(0);
    const CAP_NET_ADMIN: u32 = 12;
    const CAP_NET_RAW: u32 = 13;
    let missing: Vec<&str> = [(CAP_NET_ADMIN, "CAP_NET_ADMIN"), (CAP_NET_RAW, "CAP_NET_RAW")]
        .into_iter()
        .filter(|(bit, _)| effective & (1 << bit) == 0)
        .map(|(_, name)| name)
        .collect();
    if !missing.is_empty() {
        bail!("vrrpd needs {} (and CAP_BPF, CAP_PERFMON for XDP); run it as root or via the systemd unit", missing.join(", "));
    }
    Ok(())
}
