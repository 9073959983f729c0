//! Start, reload and stop: the I/O around `Node::handle_reload` and `Node::handle_shutdown`.
//! A reload opens everything new first, so a refusal leaves the running configuration as it
//! was; the node then applies it as a diff, in place.

use std::{
    collections::{BTreeMap, HashMap, HashSet},
    time::Instant,
};

use anyhow::{anyhow, bail, Result};
use tokio::sync::mpsc;
use vrrp_config::Config;
use vrrp_node::process_table::ProcessTable;

/// A reload's file, read and validated: the number of the SIGHUP it answers, and the result.
pub(crate) type ParsedReload = (u64, Result<Config>);

use crate::{
    daemon::{Daemon, DatapathChoice, Options},
    hook::{self, Hook, HookChoice},
    instance::Instance,
    netlink::Netlink,
    pin_dir::{self, PinPlan},
    scripts, systemd, track_file,
    track_process::ProcessWatcher,
    vlan_trunk,
    xdp::{AttachMode, XdpDatapath},
};

/// Loads and validates the configuration, printing its warnings (a refused file's too), and
/// applies keepalived's script security (which may disable scripts, each with an error line).
/// It looks users up: never on the event loop.
pub fn load_config(path: &std::path::Path, options: &vrrp_config::LoadOptions) -> Result<Config> {
    let mut loaded = vrrp_config::load_with(path, options).inspect_err(|error| {
        for warning in &error.warnings {
            log::warn!("{warning}");
        }
    })?;
    for warning in &loaded.warnings {
        log::warn!("{warning}");
    }
    fold_delay_after_boot(&mut loaded.config.global);
    for finding in
        crate::script_security::apply(&mut loaded.config, &crate::script_security::System)
    {
        if finding.error {
            log::error!("{}: {}", path.display(), finding.text);
        } else {
            log::warn!("{}: {}", path.display(), finding.text);
        }
    }
    Ok(loaded.config)
}

/// keepalived global_parser.c vrrp_delay_after_boot_handler(): at each load, what is left of
/// `vrrp_delay_after_boot` since the host booted becomes the start-up delay if longer; the
/// node reads only `startup_delay`.
fn fold_delay_after_boot(global: &mut vrrp_config::Global) {
    if global.delay_after_boot.is_zero() {
        return;
    }
    let uptime = std::fs::read_to_string("/proc/uptime").ok().and_then(|text| uptime(&text));
    let Some(uptime) = uptime else {
        log::warn!("cannot read /proc/uptime for vrrp_delay_after_boot: ignored");
        return;
    };
    global.startup_delay = global.startup_delay_after(uptime);
    global.delay_after_boot = std::time::Duration::ZERO;
}

/// The first field of /proc/uptime: seconds since boot, with a fraction.
fn uptime(text: &str) -> Option<std::time::Duration> {
    let seconds: f64 = text.split_whitespace().next()?.parse().ok()?;
    std::time::Duration::try_from_secs_f64(seconds).ok()
}

/// [`load_config`], then what only this host can say about it (interfaces, source addresses):
/// the one validation of `vrrpd check-config` and of the daemon's start, so a file that passed
/// the first meets no other refusal at the second.
pub fn load_config_on_host(
    path: &std::path::Path,
    options: &vrrp_config::LoadOptions,
) -> Result<Config> {
    let config = load_config(path, options)?;
    let host = crate::host_check::Host::read()?;
    let mut errors = Vec::new();
    for finding in crate::host_check::check(&config, &host) {
        let message = format!("{}: {}", path.display(), finding.message);
        match finding.severity {
            vrrp_config::Severity::Warning => log::warn!("{message}"),
            vrrp_config::Severity::Error => errors.push(message),
        }
    }
    if !errors.is_empty() {
        bail!("{}", errors.join("\n"));
    }
    Ok(config)
}

impl Daemon {
    /// Takes a configuration into service: the first one, or a reload's.
    pub(crate) async fn apply(&mut self, config: Config) -> Result<()> {
        crate::privileges::check_reload(self.privileges, &config)?;
        let plan = self.node.reload_plan(&config);
        // Open every starting instance's I/O first: an error leaves everything as it was.
        let mut prepared: HashMap<String, Instance> = HashMap::new();
        let mut primaries = HashMap::new();
        let mut opened = Ok(());
        for spec in config.instances.iter().filter(|spec| plan.starting.contains(&spec.name)) {
            match Instance::create(spec.clone(), &self.netlink, None).await {
                Ok(instance) => {
                    primaries.insert(spec.name.clone(), instance.primary);
                    prepared.insert(spec.name.clone(), instance);
                }
                Err(error) => {
                    opened = Err(error);
                    break;
                }
            }
        }
        if opened.is_ok() {
            opened = self.node.check_reload(&config, &primaries).map_err(anyhow::Error::from);
        }
        if let Err(error) = opened {
            // Nothing changes: the macvlans made for the refused instances go too.
            let links = prepared.values().flat_map(|i| i.vmac.iter().chain(&i.address_vmacs));
            for link in links.filter(|l| l.created) {
                if let Err(error) = crate::vmac::remove(&self.netlink, link).await {
                    log::error!("{error:#}");
                }
            }
            return Err(error);
        }
        // New interfaces next (harmless to the running instances), so a refusal changes nothing.
        let wanted: HashSet<String> =
            config.instances.iter().map(|i| i.interface.clone()).collect();
        let starting = self.node.config().is_none();
        let mut vlan_parents = HashMap::new();
        for ifname in &wanted {
            match self.netlink.vlan_parent(ifname).await {
                Ok(Some(parent)) => {
                    vlan_parents.insert(ifname.clone(), parent);
                }
                Ok(None) => {}
                Err(error) => log::warn!("{ifname}: cannot tell its VLAN parent: {error:#}"),
            }
        }
        let trunks = vlan_trunk::shared_with_a_vlan(&config, &vlan_parents);
        match self.attach_all(&wanted, &trunks).await {
            Ok(()) => {
                if let Some(xdp) = &self.xdp {
                    if starting {
                        log::info!("data path: {}", hook::describe(&xdp.hooks()));
                    }
                    self.published.set_hooks(xdp.hooks());
                }
            }
            // At start-up, `--datapath auto` takes the socket path where no kernel hook
            // attaches; a reload never changes the data path.
            Err(error) if starting && self.options.datapath == DatapathChoice::Auto => {
                let why = match self.options.hook {
                    HookChoice::Xdp => "XDP cannot be attached",
                    HookChoice::Tcx => "tcx cannot be attached",
                    HookChoice::Auto => "neither XDP nor tcx can be attached",
                };
                log::warn!("data path: raw sockets, because {why} ({error:#})");
                if let Some(mut xdp) = self.xdp.take() {
                    xdp.shut_down();
                }
            }
            Err(error) => return Err(error),
        }
        let now = Instant::now();
        for name in vrrp_node::reload::interfaces(&config) {
            let usable = match self.netlink.interface(&name).await {
                Ok(interface) => interface.usable,
                Err(_) => false,
            };
            self.node.handle_link(now, &name, usable);
        }
        self.follow_files(&config, starting)?;
        self.follow_processes(&config).await;
        let script_user = config.global.script_user.clone();
        self.fifos.open(&config.global.notify_fifos, script_user.as_ref()).await;
        self.node.handle_reload(now, config, &primaries)?;
        self.prepared = prepared;
        self.carry_out().await;
        if let Some(xdp) = &mut self.xdp {
            for (ifname, hook) in xdp.hooks() {
                if !wanted.contains(&ifname) {
                    xdp.detach(&ifname)?;
                    let program = if hook == Hook::Xdp { "XDP" } else { "tcx" };
                    log::info!("{program} detached from {ifname} (no instance left there)");
                }
            }
            self.published.set_hooks(xdp.hooks());
        }
        self.start_trackers();
        Ok(())
    }

    /// Attaches the kernel program (when loaded) to every interface in `wanted` that does not
    /// have it yet, at the first hook of `--hook` that attaches there.
    async fn attach_all(
        &mut self,
        wanted: &HashSet<String>,
        trunks: &BTreeMap<String, (u8, String)>,
    ) -> Result<()> {
        let Some(xdp) = &mut self.xdp else {
            return Ok(());
        };
        for ifname in wanted {
            if !xdp.is_attached(ifname) {
                let trunk = trunks.get(ifname);
                attach(xdp, &self.netlink, ifname, &self.options, trunk).await?;
            }
        }
        Ok(())
    }

    /// SIGHUP, first half: reads and validates the file on a thread of its own, so timers and
    /// advertisements are handled meanwhile; the result comes back as an input of the loop.
    pub(crate) fn start_reload(&mut self, parsed: mpsc::Sender<ParsedReload>) {
        systemd::reloading();
        log::info!("reloading {}", self.options.config.display());
        self.reloads_started += 1;
        let sequence = self.reloads_started;
        let (path, load) = (self.options.config.clone(), self.options.load.clone());
        tokio::task::spawn_blocking(move || {
            let _ = parsed.blocking_send((sequence, load_config(&path, &load)));
        });
    }

    /// SIGHUP, second half: a bad file is refused and the running configuration stays in
    /// force; a good one is applied as a diff.
    pub(crate) async fn finish_reload(&mut self, (sequence, parsed): ParsedReload) {
        // Parses may finish out of order: one read before a later one applied is stale.
        if sequence <= self.reloads_applied {
            return;
        }
        self.reloads_applied = sequence;
        let result = match parsed {
            Ok(config) => {
                self.scheduling.relax_for_reload();
                let applied = self.apply(config).await;
                // The new configuration's settings, or the old one's again after a refusal.
                if let Some(config) = self.node.config() {
                    self.scheduling.apply(&config.global.scheduling);
                }
                applied
            }
            Err(error) => Err(error),
        };
        match &result {
            Ok(()) => log::info!("reloaded {}", self.options.config.display()),
            Err(error) => {
                log::error!("reload refused, the running configuration stays in force:\n{error:#}")
            }
        }
        systemd::notify(&format!("READY=1\nSTATUS={}", self.status()));
    }

    /// Watches the files `config` tracks (replacing the watches of the running one), then
    /// gives the node their values, so that start-up and the reload see them. `init_file`
    /// writes only at the first start, as keepalived's does.
    fn follow_files(&mut self, config: &Config, starting: bool) -> Result<()> {
        let files = config.tracked_files();
        if starting {
            track_file::initialise(&files);
        }
        let watcher = if files.is_empty() {
            None
        } else {
            Some(track_file::spawn_watcher(&files, self.file_values.clone())?)
        };
        if let Some(task) = std::mem::replace(&mut self.file_watcher, watcher) {
            task.abort();
        }
        let now = Instant::now();
        for file in files {
            if let Some(value) = track_file::read_value(file) {
                self.node.handle_track_file(now, &file.name, value);
            }
        }
        Ok(())
    }

    /// Follows the processes `config` tracks (closing the process events socket when none
    /// is), then gives the node each tracker's quorum, so that start-up and the reload see
    /// them. Without the socket (the kernel has none, or it cannot be opened here) the
    /// trackers stay without quorum, as keepalived's do (track_process.c
    /// init_track_processes()).
    async fn follow_processes(&mut self, config: &Config) {
        let table = ProcessTable::new(&config.tracked_processes());
        if table.is_empty() {
            self.process_watcher = None;
            return;
        }
        if self.process_watcher.is_none() {
            let netns = &self.options.process_events_netns;
            match ProcessWatcher::spawn(netns, self.process_changes.clone()) {
                Ok(watcher) => self.process_watcher = Some(watcher),
                Err(error) => log::error!(
                    "{error:#}: tracked processes are not followed, and count as without quorum"
                ),
            }
        }
        let quorums = match &self.process_watcher {
            Some(watcher) => match watcher.follow(table).await {
                Ok(quorums) => quorums,
                Err(error) => {
                    log::error!("vrrp_track_process: {error:#}");
                    self.process_watcher = None;
                    return;
                }
            },
            None => table.quorums(),
        };
        let now = Instant::now();
        for (name, quorum) in quorums {
            self.node.handle_track_process(now, &name, quorum);
        }
    }

    /// The tracking scripts the instances use, continuing from the node's latest results.
    fn start_trackers(&mut self) {
        for task in self.script_tasks.drain(..) {
            task.abort();
        }
        scripts::forget_users();
        let scripts: Vec<_> = self.node.tracking_scripts().into_iter().cloned().collect();
        let script_user = self.node.config().and_then(|c| c.global.script_user.as_ref());
        self.script_tasks = scripts::spawn_trackers(
            &scripts,
            self.node.script_results(),
            script_user,
            self.script_results.clone(),
        );
    }

    pub(crate) async fn stop(&mut self) {
        self.node.handle_shutdown(Instant::now());
        self.carry_out().await;
        self.fifos.close().await;
        for task in self.script_tasks.drain(..) {
            task.abort();
        }
        if let Some(task) = self.file_watcher.take() {
            task.abort();
        }
        if let Some(xdp) = &mut self.xdp {
            xdp.shut_down();
        }
        self.receivers.shut_down();
    }
}

/// Loads the XDP program as the options ask; `None` means the socket data path.
pub(crate) fn open_xdp(options: &Options) -> Result<Option<XdpDatapath>> {
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

/// Attaches to `ifname` at the first hook of `--hook` that takes the program, saying which and,
/// where XDP was passed over, why. Every hook's refusal is in the error. On a `trunk` (a VRID
/// this interface shares with a VLAN device over it, see `vlan_trunk`), XDP serves only where
/// it sees the tags the driver strips, or where the driver strips none.
async fn attach(
    xdp: &mut XdpDatapath,
    netlink: &Netlink,
    ifname: &str,
    options: &Options,
    trunk: Option<&(u8, String)>,
) -> Result<Hook> {
    let mut refusals: Vec<(Hook, anyhow::Error)> = Vec::new();
    let order = options.hook.order();
    for (position, &hook) in order.iter().enumerate() {
        let attached = match hook {
            Hook::Xdp => attach_xdp(xdp, netlink, ifname, options.attach_mode).await,
            Hook::Tcx => xdp.attach_tcx(ifname),
        };
        let attached = match (attached, trunk) {
            (Ok(()), Some((vrid, vlan))) if hook == Hook::Xdp && blind_to_tags(xdp, ifname) => {
                let why = format!(
                    "VRID {vrid} runs on {ifname} and on its VLAN {vlan}, and the driver strips \
                     VLAN tags without telling XDP, which would take {vlan}'s advertisements \
                     for {ifname}'s"
                );
                if position + 1 < order.len() {
                    xdp.detach(ifname)?;
                    Err(anyhow!("{why}"))
                } else {
                    log::warn!(
                        "{ifname}: {why}: keep the tags in the frames (`ethtool -K {ifname} \
                         rxvlan off`) or run with --hook auto or tcx"
                    );
                    Ok(())
                }
            }
            (attached, _) => attached,
        };
        match attached {
            Ok(()) => {
                match (hook, refusals.last()) {
                    (Hook::Tcx, Some((_, why))) => log::warn!(
                        "{ifname}: vrrp_tc attached at tc ingress (tcx), because XDP does not \
                         serve there: {why:#}"
                    ),
                    (Hook::Tcx, None) => log::info!("{ifname}: vrrp_tc attached with tcx"),
                    (Hook::Xdp, _) => {}
                }
                return Ok(hook);
            }
            Err(error) => refusals.push((hook, error)),
        }
    }
    let each: Vec<String> =
        refusals.iter().map(|(hook, error)| format!("{}: {error:#}", hook.name())).collect();
    bail!("no kernel hook attaches on {ifname} ({})", each.join("; "))
}

/// Whether XDP on `ifname` would take a frame whose tag the driver stripped for untagged: not
/// the device-bound program, and a driver that strips (or cannot say).
fn blind_to_tags(xdp: &XdpDatapath, ifname: &str) -> bool {
    !xdp.reads_stripped_vlan_tags(ifname)
        && crate::device_bound::driver_strips_vlan_tags(ifname).unwrap_or(true)
}

/// Attaches XDP to `ifname`. A `vrrp_xdp` left attached by an earlier run (through netlink,
/// which outlives its loader) is replaced; any other program is left alone, with an error.
async fn attach_xdp(
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
    let name = crate::xdp::loaded_program_name(id);
    if name != vrrp_common::names::PROGRAM {
        bail!(
            "{ifname} already has the XDP program {name:?} (id {id}); vrrpd does not replace \
             another program: detach it (`ip link set dev {ifname} xdp off`), or run with \
             --hook tcx (Linux >= 6.6) or --datapath socket"
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uptime_is_the_first_field_of_proc_uptime() {
        let text = "1234.56 4000.01\n";
        assert_eq!(uptime(text), Some(std::time::Duration::from_millis(1_234_560)));
        assert_eq!(uptime(""), None);
        assert_eq!(uptime("-3 1"), None);
        assert_eq!(uptime("abc 1"), None);
    }
}
