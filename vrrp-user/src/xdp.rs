//! The kernel data path: the embedded kernel programs, their loader, their maps and their pins.
//!
//! The programs (`vrrp_xdp`; `vrrp_tc`, the same rules at tc ingress; `vrrp_clock`, which is
//! never attached: see `kernel_clock`) and the maps are pinned under one folder of bpffs
//! (default `/sys/fs/bpf/vrrpd`) with their stable names, so `bpftool prog show pinned
//! /sys/fs/bpf/vrrpd/vrrp_xdp` and `bpftool map dump pinned /sys/fs/bpf/vrrpd/VRRP_COUNTERS`
//! work while the daemon runs. Each interface gets one of the two programs (see `hook`); in
//! native mode on a driver that reports the VLAN tags it strips, `vrrp_xdp` is `vrrp_xdp_vlan`,
//! loaded for that device alone and not pinned (see `device_bound`). The
//! attachments are BPF links owned by the process (an XDP link, or a tcx link): a crash
//! detaches them with it. Pins from a crashed run are replaced at start; a clean stop removes
//! them. `VRRP_MASTER_DOWN` holds the kernel's master-down timers of backups (see
//! `master_watch`): the daemon never writes it, as a write would cancel them.

use std::{
    fs,
    net::IpAddr,
    os::fd::{AsFd, OwnedFd},
    path::{Path, PathBuf},
    sync::Arc,
};

use anyhow::{anyhow, bail, Context, Result};
use aya::{
    maps::{Array, HashMap, Map, MapData, PerCpuArray, RingBuf},
    programs::{
        tc::{SchedClassifierLinkId, TcAttachOptions},
        xdp::XdpLinkId,
        LinkOrder, SchedClassifier, TcAttachType, Xdp, XdpMode,
    },
    Ebpf,
};
use aya_log::EbpfLogger;
use vrrp_common::{
    names, not_accepted_slot, AddressKey, AdvertEvent, Counter, CounterTable, InstanceConfig,
    InstanceKey, InstanceRecord, InstanceState, Peer, MAX_UNICAST_PEERS, NOT_ACCEPTED_ENTRIES,
};

use crate::{
    device_bound::{self, DeviceBound},
    hook::Hook,
    kernel_clock::KernelClock,
    pin_dir::is_bpffs,
    slots::SlotTable,
};

/// The BPF object built by `cargo xtask build-ebpf` (the build script runs the same code).
#[cfg(not(vrrp_ebpf_stub))]
pub static OBJECT: &[u8] = aya::include_bytes_aligned!(env!("VRRP_EBPF_OBJECT"));

/// Built where no kernel-side toolchain was found: enough for `cargo check` and clippy, which
/// never link. Anything that links fails on this undefined symbol, whose name says what to do.
#[cfg(vrrp_ebpf_stub)]
pub static OBJECT: &[u8] = {
    unsafe extern "C" {
        static vrrpd_was_built_without_its_xdp_program__run_cargo_xtask_setup: [u8; 0];
    }
    // SAFETY: only the address is taken; a binary with this reference never links.
    unsafe { &vrrpd_was_built_without_its_xdp_program__run_cargo_xtask_setup }
};

// The configuration refuses what the kernel's inline peer table cannot hold.
const _: () = assert!(vrrp_config::MAX_UNICAST_PEERS == MAX_UNICAST_PEERS);

/// Per-reason counters, summed over CPUs, indexed by `Counter as usize`.
pub type Counters = [u64; Counter::COUNT as usize];

/// The program's log, written to the daemon's logger.
pub type KernelLog = EbpfLogger<&'static dyn log::Log>;

/// The default pin folder.
pub const DEFAULT_PIN_DIR: &str = "/sys/fs/bpf/vrrpd";

/// How to attach: what the operator asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum AttachMode {
    /// Native (driver) mode, falling back to generic where the driver lacks XDP.
    Auto,
    Native,
    Generic,
}

/// One interface's link, at the hook it uses.
enum Attachment {
    Xdp(XdpLinkId),
    /// `vrrp_xdp_vlan`, loaded for the interface alone (see `device_bound`).
    DeviceBound(DeviceBound),
    Tcx(SchedClassifierLinkId),
}

impl Attachment {
    fn hook(&self) -> Hook {
        match self {
            Attachment::Xdp(_) | Attachment::DeviceBound(_) => Hook::Xdp,
            Attachment::Tcx(_) => Hook::Tcx,
        }
    }
}

/// What loading `vrrp_xdp_vlan` for a device needs: the object as aya loaded it and the
/// descriptors of the maps aya made. `None` where the kernel has no VLAN-tag kfunc.
struct DeviceBoundSource {
    object: Vec<u8>,
    map_fds: std::collections::HashMap<String, OwnedFd>,
}

/// The loaded programs and typed handles on their maps.
pub struct XdpDatapath {
    ebpf: Ebpf,
    instances: Array<MapData, InstanceState>,
    /// Which slot of `instances` each configured instance occupies.
    slots: SlotTable,
    counters: PerCpuArray<MapData, CounterTable>,
    events: Option<RingBuf<MapData>>,
    /// Destinations whose traffic the program drops (Accept_Mode False), and its entry count.
    not_accepted: HashMap<MapData, AddressKey, u8>,
    not_accepted_count: Array<MapData, u32>,
    /// The backups' master-down timers (`master_watch`), held for its pin.
    _master_down: Map,
    /// How many instances refuse each address on each interface: one entry in the kernel for
    /// them all.
    refusals: std::collections::HashMap<AddressKey, u32>,
    links: Vec<(String, Attachment)>,
    device_bound: Option<DeviceBoundSource>,
    /// Whether `vrrp_tc` is loaded yet, or why the kernel refused it.
    tc: TcProgram,
    pin_dir: Option<PinDir>,
    /// The program's debug log (aya-log): rare events only, never per packet.
    logger: Option<KernelLog>,
    clock: Arc<KernelClock>,
}

impl XdpDatapath {
    /// Loads the program into the kernel (verifier included) and, with `pin_dir`, pins it and
    /// its maps there, replacing pins a crashed run left. Attaches nothing.
    pub fn load(pin_dir: Option<&Path>) -> Result<Self> {
        let pins = pin_dir.map(prepare_pin_dir).transpose()?;
        let kfunc = device_bound::kfunc_id();
        let object = device_bound::resolve_kfunc_calls(OBJECT, kfunc.unwrap_or(0))?;
        let mut ebpf = Ebpf::load(&object).context("loading the XDP object")?;
        let device_bound = match kfunc {
            Some(_) => Some(DeviceBoundSource { map_fds: map_fds(&ebpf)?, object }),
            None => {
                log::info!(
                    "this kernel has no {} (Linux >= 6.8): XDP cannot see a VLAN tag the \
                     driver took out of a frame",
                    device_bound::KFUNC
                );
                None
            }
        };
        let logger = match EbpfLogger::init(&mut ebpf) {
            Ok(logger) => Some(logger),
            Err(error) => {
                log::warn!("the XDP program's log is unavailable: {error}");
                None
            }
        };
        for name in [names::PROGRAM, names::CLOCK_PROGRAM] {
            let program = program_named(&mut ebpf, name)?;
            program.load().with_context(|| format!("the kernel refused the program {name}"))?;
            if let Some(dir) = pin_dir {
                let path = dir.join(name);
                program.pin(&path).with_context(|| format!("pinning {}", path.display()))?;
            }
        }
        let clock_fd =
            program_named(&mut ebpf, names::CLOCK_PROGRAM)?.fd()?.as_fd().try_clone_to_owned()?;
        let clock = Arc::new(KernelClock::new(clock_fd)?);
        let mut take = |name: &str| -> Result<Map> {
            let map = ebpf.take_map(name).ok_or_else(|| anyhow!("the object has no map {name}"))?;
            if let Some(dir) = pin_dir {
                let path = dir.join(name);
                map.pin(&path).with_context(|| format!("pinning {}", path.display()))?;
            }
            Ok(map)
        };
        let instances = Array::try_from(take(names::INSTANCES)?)?;
        let counters = PerCpuArray::try_from(take(names::COUNTERS)?)?;
        let events = Some(RingBuf::try_from(take(names::EVENTS)?)?);
        let not_accepted = HashMap::try_from(take(names::NOT_ACCEPTED)?)?;
        let not_accepted_count = Array::try_from(take(names::NOT_ACCEPTED_COUNT)?)?;
        // Never read or written here: a write would cancel the kernel's timers.
        let master_down = take(names::MASTER_DOWN)?;
        log::info!("master-down timers of backups run in the kernel (bpf_timer)");
        Ok(Self {
            ebpf,
            instances,
            slots: SlotTable::default(),
            counters,
            events,
            not_accepted,
            not_accepted_count,
            _master_down: master_down,
            refusals: std::collections::HashMap::new(),
            links: Vec::new(),
            device_bound,
            tc: TcProgram::NotLoaded,
            pin_dir: pins,
            logger,
            clock,
        })
    }

    pub fn program(&mut self) -> Result<&mut Xdp> {
        program_named(&mut self.ebpf, names::PROGRAM)
    }

    /// The same rules as a tc classifier (`vrrp_tc`), sharing the maps; loaded on first use.
    pub fn tc_program(&mut self) -> Result<&mut SchedClassifier> {
        self.load_tc()?;
        classifier(&mut self.ebpf)
    }

    /// The kernel's tick clock, in which records and events are stamped.
    pub fn clock(&self) -> &Arc<KernelClock> {
        &self.clock
    }

    /// Attaches to `ifname` and returns the mode used.
    pub fn attach(&mut self, ifname: &str, mode: AttachMode) -> Result<XdpMode> {
        if mode != AttachMode::Generic {
            if let Some(bound) = self.attach_device_bound(ifname) {
                self.links.push((ifname.to_owned(), Attachment::DeviceBound(bound)));
                return Ok(XdpMode::Driver);
            }
        }
        let tries: &[XdpMode] = match mode {
            AttachMode::Auto => &[XdpMode::Driver, XdpMode::Skb],
            AttachMode::Native => &[XdpMode::Driver],
            AttachMode::Generic => &[XdpMode::Skb],
        };
        let mut last_error = None;
        for &xdp_mode in tries {
            match self.program()?.attach(ifname, xdp_mode) {
                Ok(link) => {
                    self.links.push((ifname.to_owned(), Attachment::Xdp(link)));
                    if last_error.is_some() {
                        log::warn!(
                            "{ifname}: the driver has no native XDP; attached in generic mode"
                        );
                    }
                    return Ok(xdp_mode);
                }
                Err(error) => last_error = Some(error),
            }
        }
        let error = last_error.map(anyhow::Error::from).unwrap_or_else(|| anyhow!("no mode"));
        Err(error).with_context(|| format!("attaching XDP to {ifname} ({mode:?})"))
    }

    /// `vrrp_xdp_vlan` bound to `ifname`, where its driver reports the VLAN tags it strips;
    /// `None` where it does not, or where the program does not load or attach (then said once,
    /// and `vrrp_xdp` runs there, blind to such tags as before).
    fn attach_device_bound(&self, ifname: &str) -> Option<DeviceBound> {
        let source = self.device_bound.as_ref()?;
        let ifindex = ifindex(ifname).ok()?;
        match device_bound::driver_reports_vlan_tags(ifindex) {
            Ok(true) => {}
            Ok(false) => return None,
            Err(error) => {
                log::warn!("{ifname}: cannot ask the driver about VLAN tags: {error:#}");
                return None;
            }
        }
        let loaded = match device_bound::Loaded::load(&source.object, &source.map_fds, ifindex) {
            Ok(loaded) => loaded,
            Err(error) => {
                // After start-up the daemon holds no CAP_BPF (see `privileges`): an interface
                // a reload adds gets the loaded vrrp_xdp.
                let after_start = error
                    .downcast_ref::<std::io::Error>()
                    .is_some_and(|error| error.raw_os_error() == Some(libc::EPERM));
                let why = if after_start {
                    "programs are loaded only at start (restart vrrpd to load it)".to_owned()
                } else {
                    format!("{error:#}")
                };
                log::warn!(
                    "{ifname}: {} does not load ({why}); vrrp_xdp runs instead and credits a \
                     frame whose tag the driver stripped to the untagged instance",
                    device_bound::PROGRAM
                );
                return None;
            }
        };
        match loaded.attach() {
            Ok(bound) => {
                log::info!(
                    "{ifname}: {} attached, bound to the device: it reads the VLAN tags the \
                     driver strips",
                    device_bound::PROGRAM
                );
                Some(bound)
            }
            // The hook holds a program: vrrp_xdp's attachment meets it too, and says so.
            Err(error) => {
                log::debug!("{ifname}: {error:#}");
                None
            }
        }
    }

    /// Loads `vrrp_tc` (and pins it) the first time it is needed (a tcx link): the verifier takes as
    /// long on it as on `vrrp_xdp` (seconds on a loaded host), a cost start-up pays only where
    /// XDP does not attach. A kernel that refuses it costs the tc hook, never the XDP path.
    fn load_tc(&mut self) -> Result<()> {
        match &self.tc {
            TcProgram::Loaded => return Ok(()),
            TcProgram::Refused(why) => bail!("{why}"),
            TcProgram::NotLoaded => {}
        }
        if let Err(error) = classifier(&mut self.ebpf)?.load() {
            let why = format!("the kernel refused {}: {error}", names::TC_PROGRAM);
            log::warn!("{why}; the tc hook is unavailable");
            self.tc = TcProgram::Refused(why.clone());
            bail!("{why}");
        }
        self.tc = TcProgram::Loaded;
        if let Some(pins) = &self.pin_dir {
            let path = pins.dir.join(names::TC_PROGRAM);
            classifier(&mut self.ebpf)?
                .pin(&path)
                .with_context(|| format!("pinning {}", path.display()))?;
        }
        Ok(())
    }

    /// Attaches `vrrp_tc` to `ifname`'s tc ingress with a tcx link (Linux >= 6.6), first in
    /// the chain: a VRRP frame is judged before any other program can drop or redirect it,
    /// and everything else goes on to them untouched (`TC_ACT_UNSPEC`).
    pub fn attach_tcx(&mut self, ifname: &str) -> Result<()> {
        let link = self
            .tc_program()?
            .attach_with_options(
                ifname,
                TcAttachType::Ingress,
                TcAttachOptions::TcxOrder(LinkOrder::first()),
            )
            .with_context(|| format!("attaching {} to {ifname} with tcx", names::TC_PROGRAM))?;
        self.links.push((ifname.to_owned(), Attachment::Tcx(link)));
        Ok(())
    }

    pub fn detach(&mut self, ifname: &str) -> Result<()> {
        let Some(position) = self.links.iter().position(|(name, _)| name == ifname) else {
            bail!("vrrpd is not attached to {ifname}");
        };
        let (_, link) = self.links.remove(position);
        match link {
            Attachment::Xdp(link) => self.program()?.detach(link),
            // Closing the link detaches the program, and closing the program unloads it.
            Attachment::DeviceBound(bound) => {
                drop(bound);
                Ok(())
            }
            Attachment::Tcx(link) => self.tc_program()?.detach(link),
        }
        .with_context(|| format!("detaching vrrpd from {ifname}"))
    }

    pub fn is_attached(&self, ifname: &str) -> bool {
        self.links.iter().any(|(name, _)| name == ifname)
    }

    /// Whether `ifname` runs `vrrp_xdp_vlan`, which sees the VLAN tags its driver strips.
    pub fn reads_stripped_vlan_tags(&self, ifname: &str) -> bool {
        self.links
            .iter()
            .any(|(name, link)| name == ifname && matches!(link, Attachment::DeviceBound(_)))
    }

    /// The hook of each attached interface, in attachment order.
    pub fn hooks(&self) -> Vec<(String, Hook)> {
        self.links.iter().map(|(name, link)| (name.clone(), link.hook())).collect()
    }

    pub fn attached_interfaces(&self) -> Vec<String> {
        self.links.iter().map(|(name, _)| name.clone()).collect()
    }

    /// Sets an instance's configuration and unicast peers (none: any sender), keeping the
    /// kernel's record of it. One write, so the program never sees the instance without its
    /// peers.
    pub fn set_instance(
        &mut self,
        key: InstanceKey,
        config: InstanceConfig,
        unicast_peers: &[Peer],
    ) -> Result<()> {
        if unicast_peers.len() > MAX_UNICAST_PEERS {
            bail!("at most {MAX_UNICAST_PEERS} unicast peers per instance");
        }
        let record = self.state(&key)?.map(|state| state.record).unwrap_or_default();
        let slot = self.slots.place(key)?;
        let mut peers = [Peer::default(); MAX_UNICAST_PEERS];
        peers[..unicast_peers.len()].copy_from_slice(unicast_peers);
        let config = InstanceConfig { peer_count: unicast_peers.len() as u8, ..config };
        self.write_slot(slot, &InstanceState { key, config, record, peers })
    }

    /// Forgets an instance: its configuration, its peers and its record.
    pub fn remove_instance(&mut self, key: &InstanceKey) -> Result<()> {
        match self.slots.release(key) {
            Some(slot) => self.write_slot(slot, &InstanceState::default()),
            None => Ok(()),
        }
    }

    /// Clears the record, so the next advertisement raises a FIRST event. An advertisement the
    /// kernel records at the same moment may be overwritten: it then raises FIRST, as intended.
    pub fn forget_record(&mut self, key: &InstanceKey) -> Result<()> {
        let (Some(slot), Some(state)) = (self.slots.slot_of(key), self.state(key)?) else {
            return Ok(());
        };
        self.write_slot(slot, &InstanceState { record: InstanceRecord::default(), ..state })
    }

    /// The slot of `VRRP_INSTANCES` the instance occupies, if configured.
    pub fn slot_of(&self, key: &InstanceKey) -> Option<u32> {
        self.slots.slot_of(key)
    }

    /// The kernel's summary of the instance's last valid advertisement, if any.
    pub fn record(&self, key: &InstanceKey) -> Result<Option<InstanceRecord>> {
        Ok(self.state(key)?.map(|state| state.record).filter(|record| record.count != 0))
    }

    fn state(&self, key: &InstanceKey) -> Result<Option<InstanceState>> {
        let Some(slot) = self.slots.slot_of(key) else {
            return Ok(None);
        };
        let state = self.instances.get(&slot, 0).context("reading VRRP_INSTANCES")?;
        Ok((state.key == *key).then_some(state))
    }

    fn write_slot(&mut self, slot: u32, state: &InstanceState) -> Result<()> {
        self.instances.set(slot, state, 0).context("updating VRRP_INSTANCES")
    }

    pub fn counters(&self) -> Result<Counters> {
        sum_counters(&self.counters)
    }

    /// The program drops IPv4 / IPv6 traffic to `address` arriving on interface `ifindex`
    /// (except neighbour discovery for it) until every instance that refused it there accepts
    /// it again.
    pub fn refuse_traffic(&mut self, ifindex: u32, address: IpAddr) -> Result<()> {
        let key = AddressKey::of(ifindex, address);
        if let Some(holders) = self.refusals.get_mut(&key) {
            *holders += 1;
            return Ok(());
        }
        if self.refusals.len() >= NOT_ACCEPTED_ENTRIES as usize {
            bail!("at most {NOT_ACCEPTED_ENTRIES} addresses may refuse traffic");
        }
        self.not_accepted
            .insert(key, 0, 0)
            .with_context(|| format!("refusing traffic to {address}"))?;
        self.refusals.insert(key, 1);
        self.write_refusal_count(ifindex)
    }

    /// Undoes one `refuse_traffic(ifindex, address)`; one never made is not an error.
    pub fn accept_traffic(&mut self, ifindex: u32, address: IpAddr) -> Result<()> {
        let key = AddressKey::of(ifindex, address);
        let Some(holders) = self.refusals.get_mut(&key) else {
            return Ok(());
        };
        *holders -= 1;
        if *holders != 0 {
            return Ok(());
        }
        self.refusals.remove(&key);
        // The count first: while it is stale the program looks up an entry it no longer needs.
        self.write_refusal_count(ifindex)?;
        self.not_accepted
            .remove(&key)
            .with_context(|| format!("accepting traffic to {address} again"))
    }

    /// Writes the entry count of `ifindex`'s slot, which interfaces sharing it add to.
    fn write_refusal_count(&mut self, ifindex: u32) -> Result<()> {
        let slot = not_accepted_slot(ifindex);
        let count = self.refusals.keys().filter(|key| not_accepted_slot(key.ifindex) == slot);
        let count = count.count() as u32;
        self.not_accepted_count.set(slot, count, 0).context("updating VRRP_NOT_ACCEPTED_COUNT")
    }

    /// The next queued event, if any (never blocks). `None` once the ring was taken.
    pub fn next_event(&mut self) -> Option<AdvertEvent> {
        read_event(self.events.as_mut()?)
    }

    /// Hands the program's log to a task that polls its descriptor.
    pub fn take_logger(&mut self) -> Option<KernelLog> {
        self.logger.take()
    }

    /// Hands the ring buffer to an event loop that polls its descriptor.
    pub fn take_events(&mut self) -> Option<RingBuf<MapData>> {
        self.events.take()
    }

    /// Detaches everything and removes the pins.
    pub fn shut_down(&mut self) {
        for ifname in self.attached_interfaces() {
            if let Err(error) = self.detach(&ifname) {
                log::warn!("{error:#}");
            }
        }
        if let Some(pins) = self.pin_dir.take() {
            pins.remove();
        }
    }
}

/// What vrrpd pins, under these names only: another tool's pins beside them (`--pin-dir
/// /sys/fs/bpf`, say) are never touched.
const OWN_PINS: [&str; 9] = [
    names::PROGRAM,
    names::CLOCK_PROGRAM,
    names::TC_PROGRAM,
    names::INSTANCES,
    names::COUNTERS,
    names::EVENTS,
    names::NOT_ACCEPTED,
    names::NOT_ACCEPTED_COUNT,
    names::MASTER_DOWN,
];

/// The pin folder in use, and whether this run created it (then it goes at stop too).
/// `vrrp_tc`, loaded on the first tcx attach.
enum TcProgram {
    NotLoaded,
    Loaded,
    Refused(String),
}

struct PinDir {
    dir: PathBuf,
    created: bool,
}

impl PinDir {
    /// Removes vrrpd's own pins, and the folder if this run created it and nothing else is in it.
    fn remove(self) {
        remove_own_pins(&self.dir);
        if self.created {
            if let Err(error) = fs::remove_dir(&self.dir) {
                log::warn!("removing {}: {error}", self.dir.display());
            }
        }
    }
}

/// Removes vrrpd's own pins from `dir`, leaving anything else there.
pub(crate) fn remove_own_pins(dir: &Path) {
    for name in OWN_PINS {
        let path = dir.join(name);
        match fs::remove_file(&path) {
            Ok(()) => {}
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
            Err(error) => log::warn!("removing the pin {}: {error}", path.display()),
        }
    }
}

/// Makes `dir` a folder on bpffs holding none of vrrpd's pins: those a crashed run left are
/// removed, anything else in it stays.
fn prepare_pin_dir(dir: &Path) -> Result<PinDir> {
    let parent = dir.parent().unwrap_or(Path::new("/"));
    if !is_bpffs(parent) && !is_bpffs(dir) {
        bail!(
            "{} is not on a BPF filesystem: mount it (`mount -t bpf bpf /sys/fs/bpf`) or choose \
             another folder with --pin-dir",
            parent.display()
        );
    }
    if dir.exists() {
        if OWN_PINS.iter().any(|name| dir.join(name).exists()) {
            log::info!("replacing pins left in {} by an earlier run", dir.display());
        }
        remove_own_pins(dir);
        return Ok(PinDir { dir: dir.to_path_buf(), created: false });
    }
    // The maps steer the election: only root may read or write them.
    use std::os::unix::fs::DirBuilderExt;
    use std::os::unix::fs::PermissionsExt;
    fs::DirBuilder::new()
        .mode(0o700)
        .create(dir)
        .with_context(|| format!("creating {}", dir.display()))?;
    // Whatever the umask: 0700 exactly.
    fs::set_permissions(dir, fs::Permissions::from_mode(0o700))
        .with_context(|| format!("restricting {}", dir.display()))?;
    Ok(PinDir { dir: dir.to_path_buf(), created: true })
}

/// The name of the loaded BPF program `id` ("" if it is gone or has none).
pub(crate) fn loaded_program_name(id: u32) -> String {
    aya::programs::loaded_programs()
        .filter_map(Result::ok)
        .find(|program| program.id() == id)
        .and_then(|program| program.name_as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// The kernel's counter table, opened again: status readers sum it on request, outside the
/// event loop.
pub type CounterMap = PerCpuArray<MapData, CounterTable>;

impl XdpDatapath {
    /// A second handle on the counter table (a duplicate of its descriptor).
    pub fn counter_map(&self) -> Result<CounterMap> {
        use aya::maps::IterableMap;
        use std::os::fd::AsFd;
        let fd = self.counters.map().fd().as_fd().try_clone_to_owned()?;
        Ok(PerCpuArray::try_from(Map::PerCpuArray(MapData::from_fd(fd)?))?)
    }
}

/// Per-reason counters summed over CPUs.
pub fn sum_counters(map: &PerCpuArray<MapData, CounterTable>) -> Result<Counters> {
    let mut totals = [0u64; Counter::COUNT as usize];
    for table in map.get(&0, 0).context("reading VRRP_COUNTERS")?.iter() {
        for (total, value) in totals.iter_mut().zip(table.as_array()) {
            *total += value;
        }
    }
    Ok(totals)
}

/// The counters of a running daemon, from the map pinned under `pin_dir`.
pub fn pinned_counters(pin_dir: &Path) -> Result<Counters> {
    let path = pin_dir.join(names::COUNTERS);
    let data = MapData::from_pin(&path).with_context(|| {
        format!("reading {} (is vrrpd running with the XDP data path?)", path.display())
    })?;
    sum_counters(&PerCpuArray::try_from(Map::PerCpuArray(data))?)
}

/// The kernel clock of a running daemon, through its pinned `vrrp_clock`.
pub fn pinned_clock(pin_dir: &Path) -> Result<KernelClock> {
    let path = pin_dir.join(names::CLOCK_PROGRAM);
    let program = Xdp::from_pin(&path, aya_obj::programs::XdpAttachType::Interface)
        .with_context(|| format!("opening {}", path.display()))?;
    KernelClock::new(program.fd()?.as_fd().try_clone_to_owned()?)
}

/// The instances of a running daemon, from the map pinned under `pin_dir`: occupied slots.
pub fn pinned_instances(pin_dir: &Path) -> Result<Vec<(u32, InstanceState)>> {
    let path = pin_dir.join(names::INSTANCES);
    let data = MapData::from_pin(&path).with_context(|| {
        format!("reading {} (is vrrpd running with the XDP data path?)", path.display())
    })?;
    let slots: Array<MapData, InstanceState> = Array::try_from(Map::Array(data))?;
    let mut instances = Vec::new();
    for (slot, state) in slots.iter().enumerate() {
        let state = state.context("reading VRRP_INSTANCES")?;
        if state.key != InstanceKey::default() {
            instances.push((slot as u32, state));
        }
    }
    Ok(instances)
}

/// Decodes one ring-buffer record.
pub fn read_event(ring: &mut RingBuf<MapData>) -> Option<AdvertEvent> {
    let item = ring.next()?;
    if item.len() < std::mem::size_of::<AdvertEvent>() {
        return None;
    }
    // SAFETY: the kernel wrote a whole AdvertEvent (size checked), which is plain data.
    Some(unsafe { std::ptr::read_unaligned(item.as_ptr().cast::<AdvertEvent>()) })
}

fn program_named<'a>(ebpf: &'a mut Ebpf, name: &str) -> Result<&'a mut Xdp> {
    ebpf.program_mut(name)
        .ok_or_else(|| anyhow!("the object has no program {name}"))?
        .try_into()
        .with_context(|| format!("the program {name} is not XDP"))
}

fn classifier(ebpf: &mut Ebpf) -> Result<&mut SchedClassifier> {
    let name = names::TC_PROGRAM;
    ebpf.program_mut(name)
        .ok_or_else(|| anyhow!("the object has no program {name}"))?
        .try_into()
        .with_context(|| format!("the program {name} is not a classifier"))
}

/// The descriptor of each map of `ebpf`, by name, for programs loaded outside aya.
fn map_fds(ebpf: &Ebpf) -> Result<std::collections::HashMap<String, OwnedFd>> {
    ebpf.maps()
        .map(|(name, map)| {
            let data = match map {
                Map::Array(data)
                | Map::PerCpuArray(data)
                | Map::HashMap(data)
                | Map::RingBuf(data) => data,
                _ => bail!("the map {name} is of a type vrrpd does not use"),
            };
            Ok((name.to_owned(), data.fd().as_fd().try_clone_to_owned()?))
        })
        .collect()
}

/// The index of `ifname` in this network namespace.
fn ifindex(ifname: &str) -> Result<u32> {
    let name = std::ffi::CString::new(ifname)?;
    // SAFETY: `name` is a valid C string for the call.
    match unsafe { libc::if_nametoindex(name.as_ptr()) } {
        0 => Err(std::io::Error::last_os_error()).with_context(|| format!("no interface {ifname}")),
        index => Ok(index),
    }
}
