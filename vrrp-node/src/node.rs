//! The node: every instance of a configuration, keepalived's policy over them, one timer table.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::fmt;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use vrrp_config::{Config, Instance, Rule};
use vrrp_proto::{
    Advertisement, ChecksumForm, ChecksumMode, ConfigError, Disposition, OldChecksum,
    OldChecksumVerdict, Reason, Router, RouterConfig, State,
};

use crate::accept_mode;
use crate::notify;
use crate::output::{InstanceId, Output};
use crate::reload::{self, ReloadPlan};
use crate::routes::{self, RouteKey};
use crate::stats::{Heard, InstanceSnapshot, Snapshot, Statistics, Transition};
use crate::sync::{self, Group, MemberView};
use crate::timers::{AnnouncementRounds, Schedule, Timer};
use crate::tracking::{self, Observations, Tracked};

/// Why a configuration cannot run; nothing was changed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NodeError {
    /// The shell gave no primary address for an instance that starts without `unicast_src_ip`.
    NoPrimaryAddress {
        instance: String,
    },
    Instance {
        instance: String,
        error: ConfigError,
    },
}

impl fmt::Display for NodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NodeError::NoPrimaryAddress { instance } => {
                write!(f, "{instance}: no address to send advertisements from")
            }
            NodeError::Instance { instance, error } => write!(f, "{instance}: {error}"),
        }
    }
}

impl std::error::Error for NodeError {}

/// One running instance.
struct Member {
    spec: Instance,
    router: Router,
    rounds: AnnouncementRounds,
    /// Whether the addresses are installed (so a removal by another agent is put back).
    owns_addresses: bool,
    stats: Statistics,
    /// keepalived's `wantstate == MASTER` for a sync group member held in Backup ([`sync`]).
    wants_master: bool,
    /// Whether its notify scripts ran once: afterwards, entering the state its sync group is
    /// already in runs none (keepalived vrrp_notify.c send_instance_notifies()).
    notified: bool,
    /// When it starts, while it waits for `vrrp_startup_delay` (its router in Initialize).
    start_at: Option<Instant>,
    /// While master with `garp_extra_if`: when its other interfaces are announced on next.
    extra_if_at: Option<Instant>,
    /// keepalived's pre-1.3.6 unicast checksum: the policy, and whether it switched to it.
    old_checksum: OldChecksum,
}

impl Member {
    /// The addresses the instance installs: advertised, then excluded.
    fn addresses(&self) -> Vec<IpAddr> {
        let advertised = self.spec.virtual_addresses.iter().map(|vip| vip.address);
        self.with_excluded(advertised.collect())
    }

    /// The router's advertised addresses and the instance's excluded ones (keepalived's
    /// `virtual_ipaddress_excluded`: managed with the others, never advertised).
    fn with_excluded(&self, mut advertised: Vec<IpAddr>) -> Vec<IpAddr> {
        advertised.extend(self.spec.excluded_addresses.iter().map(|vip| vip.address));
        advertised
    }

    fn accept(&self) -> bool {
        self.router.config().accept_mode || self.router.config().is_owner()
    }

    /// What `garp_extra_if` announces: the first address on each interface other than the
    /// instance's, advertised then excluded (keepalived vrrp.c vrrp_send_vmac_update(): one
    /// message per interface, not one per address).
    fn extra_interface_addresses(&self) -> Vec<IpAddr> {
        let spec = &self.spec;
        let mut seen: Vec<&str> = Vec::new();
        let mut addresses = Vec::new();
        for vip in spec.virtual_addresses.iter().chain(&spec.excluded_addresses) {
            let Some(device) = vip.device.as_deref().filter(|d| *d != spec.interface) else {
                continue;
            };
            if !seen.contains(&device) {
                seen.push(device);
                addresses.push(vip.address);
            }
        }
        addresses
    }

    /// Arms or clears the `garp_extra_if` timer for the state the router is in (keepalived
    /// vrrp.c vrrp_state_become_master(): the first round one period after becoming master).
    fn arm_extra_if(&mut self, now: Instant, master: bool) {
        self.extra_if_at = self.spec.garp_extra_if.filter(|_| master).map(|period| now + period);
    }
}

/// A reload, checked and ready to apply.
struct Prepared {
    plan: ReloadPlan,
    kept: Vec<(InstanceId, Instance, RouterConfig)>,
    starting: Vec<(Instance, Router)>,
}

/// A running instance, read-only.
#[derive(Clone, Copy)]
pub struct InstanceView<'a> {
    member: &'a Member,
}

impl<'a> InstanceView<'a> {
    pub fn spec(&self) -> &'a Instance {
        &self.member.spec
    }

    pub fn router(&self) -> &'a Router {
        &self.member.router
    }

    pub fn name(&self) -> &'a str {
        &self.member.spec.name
    }

    /// The checksum its advertisements go out with now: the old unicast form once configured
    /// or learnt, else the router's.
    pub fn send_mode(&self) -> ChecksumMode {
        self.member.old_checksum.send_mode(self.member.router.config().checksum_mode)
    }
}

/// Every instance of one configuration. See the crate documentation for the contract.
pub struct Node {
    /// Shared with every snapshot taken since it was applied.
    config: Option<Arc<Config>>,
    members: BTreeMap<InstanceId, Member>,
    next_id: u32,
    seen: Observations,
    outputs: VecDeque<Output>,
    /// Every member's earliest deadline, kept current after each change to its router or
    /// its announcement rounds.
    schedule: Schedule,
    /// Whether the configuration's static entries are installed (from the first reload to
    /// shutdown), so that only then a deleted one is put back.
    statics_held: bool,
    groups: Vec<Group>,
    /// Sync group members' own state changes (from, to), in order, for the group to follow
    /// once the input that caused them is handled.
    group_moves: VecDeque<(InstanceId, State, State)>,
    /// `vrrp_startup_delay` while it runs: since when, and until when.
    delayed_start: Option<DelayedStart>,
}

/// keepalived vrrp_daemon.c start_vrrp(): the start-up delay counts from the daemon's first
/// configuration; a reload during it keeps that start and takes the new length.
#[derive(Clone, Copy, Debug)]
struct DelayedStart {
    began: Instant,
    until: Instant,
}

impl Default for Node {
    fn default() -> Self {
        Self::new()
    }
}

impl Node {
    /// A node with no instance; [`Node::handle_reload`] gives it its first configuration.
    pub fn new() -> Self {
        Self {
            config: None,
            members: BTreeMap::new(),
            next_id: 0,
            seen: Observations::default(),
            outputs: VecDeque::new(),
            schedule: Schedule::default(),
            statics_held: false,
            groups: Vec::new(),
            group_moves: VecDeque::new(),
            delayed_start: None,
        }
    }

    /// The running configuration (`None` before the first reload).
    pub fn config(&self) -> Option<&Config> {
        self.config.as_deref()
    }

    pub fn instance(&self, id: InstanceId) -> Option<InstanceView<'_>> {
        self.members.get(&id).map(|member| InstanceView { member })
    }

    pub fn instances(&self) -> impl Iterator<Item = (InstanceId, InstanceView<'_>)> {
        self.members.iter().map(|(id, member)| (*id, InstanceView { member }))
    }

    /// The `vrrp_script`s some instance tracks: the ones to run (keepalived runs no other).
    pub fn tracking_scripts(&self) -> Vec<&vrrp_config::Script> {
        let Some(config) = &self.config else { return Vec::new() };
        let tracked = |name: &str| {
            config.instances.iter().any(|i| i.track_scripts.iter().any(|t| t.name == name))
        };
        config.scripts.iter().filter(|script| tracked(&script.name)).collect()
    }

    /// The latest result of each tracking script, for the shell's trackers to start from.
    pub fn script_results(&self) -> &HashMap<String, bool> {
        &self.seen.scripts
    }

    /// Backups whose master-down timer is due at `now`: the shell gives each the kernel's
    /// newest record before [`Node::handle_timeout`] judges it.
    pub fn master_down_due(&self, now: Instant) -> Vec<InstanceId> {
        self.schedule
            .due(now)
            .into_iter()
            .filter(|id| {
                self.members.get(id).is_some_and(|member| {
                    member.router.state() == State::Backup
                        && member.router.poll_timeout().is_some_and(|at| at <= now)
                })
            })
            .collect()
    }

    /// The next effect to carry out, until `None`.
    pub fn poll_output(&mut self) -> Option<Output> {
        self.outputs.pop_front()
    }

    /// When [`Node::handle_timeout`] must be called next.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.schedule.first()
    }

    /// [`Node::poll_timeout`] for a shell that watches some backups' master-down timers by
    /// other means (the kernel's timer, see [`Router::followed_master`]): for a backup whose
    /// next deadline `at` is its master-down timer, `deferred(id, at)` is the later time when
    /// the shell checks the instance itself (`None`: it does not watch it, `at` stands). The
    /// timers stay the node's: the shell still calls [`Node::handle_timeout`] when it learns
    /// the master is down.
    pub fn poll_timeout_deferring(
        &self,
        deferred: impl Fn(InstanceId, Instant) -> Option<Instant>,
    ) -> Option<Instant> {
        let mut next: Option<Instant> = None;
        for (at, id) in self.schedule.iter() {
            if next.is_some_and(|next| next <= at) {
                break;
            }
            let master_down = self.members.get(&id).is_some_and(|member| {
                member.router.state() == State::Backup && member.router.poll_timeout() == Some(at)
            });
            let at = match master_down.then(|| deferred(id, at)).flatten() {
                Some(later) => later.max(at),
                None => at,
            };
            next = Some(next.map_or(at, |next| next.min(at)));
        }
        next
    }

    /// What [`Node::handle_reload`] would do with `config`.
    pub fn reload_plan(&self, config: &Config) -> ReloadPlan {
        let mut plan = ReloadPlan::default();
        for (id, member) in &self.members {
            let kept = config
                .instance(&member.spec.name)
                .is_some_and(|new| reload::same_identity(&member.spec, new));
            if kept {
                plan.kept.push(*id);
            } else {
                plan.stopping.push(*id);
            }
        }
        for new in &config.instances {
            if self.running(new).is_none() {
                plan.starting.push(new.name.clone());
            }
        }
        plan
    }

    /// Whether [`Node::handle_reload`] would accept `config`, changing nothing: the shell asks
    /// before it touches the host for the new configuration.
    pub fn check_reload(
        &self,
        config: &Config,
        primaries: &HashMap<String, IpAddr>,
    ) -> Result<(), NodeError> {
        self.prepare(config, primaries).map(|_| ())
    }

    /// Every router configuration of a reload, checked: an error leaves everything as it was.
    fn prepare(
        &self,
        config: &Config,
        primaries: &HashMap<String, IpAddr>,
    ) -> Result<Prepared, NodeError> {
        let plan = self.reload_plan(config);
        let mut kept = Vec::new();
        for id in &plan.kept {
            let member = &self.members[id];
            let spec = config.instance(&member.spec.name).expect("kept by name").clone();
            let primary = member.router.config().primary_address;
            let router_config = checked(config, &spec, primary)?;
            kept.push((*id, spec, router_config));
        }
        let mut starting = Vec::new();
        for name in &plan.starting {
            let spec = config.instance(name).expect("planned from this config").clone();
            let primary = spec.source_ip.or_else(|| primaries.get(name).copied());
            let Some(primary) = primary else {
                return Err(NodeError::NoPrimaryAddress { instance: name.clone() });
            };
            let router_config = checked(config, &spec, primary)?;
            let router = Router::new(router_config)
                .map_err(|error| NodeError::Instance { instance: name.clone(), error })?;
            starting.push((spec, router));
        }
        Ok(Prepared { plan, kept, starting })
    }

    /// A new configuration (the first one, or SIGHUP's). `primaries` holds the primary address
    /// of each starting instance without `unicast_src_ip` (the shell reads the interfaces).
    /// Refused as a whole, with nothing changed, if any instance cannot run.
    pub fn handle_reload(
        &mut self,
        now: Instant,
        config: Config,
        primaries: &HashMap<String, IpAddr>,
    ) -> Result<(), NodeError> {
        let Prepared { plan, kept, starting } = self.prepare(&config, primaries)?;
        let states_before = self.states();
        let first = self.config.is_none();
        self.delay_startup(now, first, config.global.startup_delay);
        for id in plan.stopping {
            self.stop(now, id);
        }
        self.outputs.extend(routes::static_changes(self.config.as_deref(), Some(&config)));
        self.statics_held = true;
        for script in &config.scripts {
            // keepalived's init_fail: a script starts failed until it passes.
            self.seen.scripts.entry(script.name.clone()).or_insert(!script.init_fail);
        }
        self.seen.scripts.retain(|name, _| config.script(name).is_some());
        self.seen.files.retain(|name, _| config.track_file(name).is_some());
        self.seen.processes.retain(|name, _| config.track_process(name).is_some());
        self.config = Some(Arc::new(config));
        for (id, spec, router_config) in kept {
            self.reconfigure(now, id, spec, router_config);
        }
        let mut started = Vec::new();
        for (spec, router) in starting {
            let id = InstanceId(self.next_id);
            self.next_id += 1;
            self.outputs.push_back(Output::InstanceStarted { id, name: spec.name.clone() });
            let old_checksum = router.config().old_checksum;
            let member = Member {
                spec,
                router,
                old_checksum,
                rounds: AnnouncementRounds::default(),
                owns_addresses: false,
                stats: Statistics::default(),
                wants_master: false,
                notified: false,
                start_at: self.delayed_start.map(|delayed| delayed.until),
                extra_if_at: None,
            };
            self.members.insert(id, member);
            started.push(id);
        }
        self.regroup();
        // Tracking before startup decides where startup goes (FAULT, or the tracked priority).
        self.retrack(now);
        for id in started {
            self.start(now, id);
        }
        // The ones still waiting follow the reloaded delay.
        let until = self.delayed_start.map(|delayed| delayed.until);
        let waiting: Vec<InstanceId> =
            self.members.iter().filter(|(_, m)| m.start_at.is_some()).map(|(id, _)| *id).collect();
        for id in waiting {
            if let Some(member) = self.members.get_mut(&id) {
                member.start_at = until;
            }
            self.start(now, id);
        }
        self.settle_groups(now);
        if !states_before.0.is_empty() || !states_before.1.is_empty() {
            self.rewrite_unchanged_states(&states_before);
        }
        Ok(())
    }

    /// keepalived vrrp_daemon.c start_vrrp(): the first configuration starts the delay; a
    /// reload while it runs moves its end to its start plus the new length, and one whose end
    /// has passed ends it ("Reduced delayed start passed").
    fn delay_startup(&mut self, now: Instant, first: bool, delay: Duration) {
        let began = match self.delayed_start {
            Some(delayed) => delayed.began,
            None if first && !delay.is_zero() => now,
            None => return,
        };
        let until = began + delay;
        if until > now {
            self.delayed_start = Some(DelayedStart { began, until });
            self.outputs.push_back(Output::StartupDelayed { delay: until - now });
        } else {
            self.delayed_start = None;
            self.outputs.push_back(Output::StartupDelayOver);
        }
    }

    /// Starts instance `id` (RFC 9568 §6.4.1) unless it waits for the start-up delay.
    /// keepalived vrrp_scheduler.c vrrp_init_instance_sands(): the timers of an instance that
    /// waited count from the delay's end, and vrrp_dispatcher_read() drops every advertisement
    /// until then, as an Initialize router does.
    fn start(&mut self, now: Instant, id: InstanceId) {
        let Some(member) = self.members.get_mut(&id) else { return };
        if member.start_at.is_some_and(|at| at > now) {
            self.reschedule(id);
            return;
        }
        member.start_at = None;
        member.router.handle_startup(now);
        self.drain(now, id);
    }

    /// Every group's and instance's state, by name: what a reload compares.
    fn states(&self) -> States {
        let groups = self.groups.iter().map(|g| (g.name.clone(), g.state)).collect();
        let members = self.members.iter().map(|(id, m)| (*id, m.router.state())).collect();
        (groups, members)
    }

    /// keepalived vrrp_scheduler.c vrrp_init_state() with `fifo_write_vrrp_states_on_reload`:
    /// after a reload, the groups and then the instances whose state it did not change write
    /// their FIFO line again (a changed one wrote its own).
    fn rewrite_unchanged_states(&mut self, before: &States) {
        let Some(config) = &self.config else { return };
        if !config.global.fifo_write_states_on_reload || !has_fifo(config) {
            return;
        }
        let (groups, members) = self.states();
        for (name, state) in groups.into_iter().filter(|group| before.0.contains(group)) {
            let line = notify::fifo_line(notify::FifoSubject::Group, &name, state, 0);
            self.outputs.push_back(Output::NotifyFifo { line });
        }
        for (id, state) in members.into_iter().filter(|member| before.1.contains(member)) {
            let member = &self.members[&id];
            let subject = notify::FifoSubject::Instance;
            let line =
                notify::fifo_line(subject, &member.spec.name, state, member.router.priority());
            self.outputs.push_back(Output::NotifyFifo { line });
        }
    }

    /// The checksum form an advertisement for instance `id` arrived with, judged before the
    /// advertisement itself (keepalived vrrp.c vrrp_in_chk()): the first old-form one switches
    /// an instance without `old_unicast_checksum` to sending that form.
    pub fn handle_checksum_form(
        &mut self,
        id: InstanceId,
        form: ChecksumForm,
    ) -> Option<OldChecksumVerdict> {
        Some(self.members.get_mut(&id)?.old_checksum.judge(form))
    }

    /// An advertisement for instance `id`, received at `received_at` (which may be earlier
    /// than an earlier call's: the kernel absorbed it and the shell learnt of it later).
    pub fn handle_advertisement(
        &mut self,
        received_at: Instant,
        id: InstanceId,
        source: IpAddr,
        advertisement: &Advertisement,
    ) -> Option<Disposition> {
        let member = self.members.get_mut(&id)?;
        let was_backup = member.router.state() == State::Backup;
        let disposition = member.router.handle_advertisement(received_at, source, advertisement);
        if was_backup && advertisement.priority() != 0 && disposition == Disposition::Accepted {
            // keepalived vrrp.c vrrp_state_backup(): a master worth following is back, so a
            // member held by its sync group no longer wants MASTER.
            member.wants_master = false;
        }
        let heard = Heard {
            at: received_at,
            source,
            priority: advertisement.priority(),
            interval: advertisement.interval(),
        };
        member.stats.record_received(heard, disposition == Disposition::Accepted);
        self.drain(received_at, id);
        self.settle_groups(received_at);
        Some(disposition)
    }

    /// Timers due at `now` fire; anything else is left alone, so extra calls are harmless.
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.delayed_start.is_some_and(|delayed| delayed.until <= now) {
            self.delayed_start = None;
            self.outputs.push_back(Output::StartupDelayOver);
        }
        for id in self.schedule.due(now) {
            if self.members.get(&id).is_some_and(|m| m.start_at.is_some_and(|at| at <= now)) {
                self.start(now, id);
            }
            let due = self.members.get(&id).and_then(|m| deadline(m, Timer::Router));
            if due.is_some_and(|at| at <= now) {
                let held =
                    self.members[&id].router.master_down_due(now) && !self.may_become_master(id);
                let member = self.members.get_mut(&id).expect("present");
                if held {
                    member.wants_master = true;
                    member.router.hold_master_down(now);
                } else {
                    member.router.handle_timeout(now);
                }
                self.drain(now, id);
            }
            let Some(member) = self.members.get_mut(&id) else { continue };
            if deadline(member, Timer::AnnouncementRound).is_some_and(|at| at <= now) {
                member.rounds.next_at = None;
                self.announce_due(now, id);
            }
            self.announce_extra_interfaces(now, id);
            self.reschedule(id);
        }
        self.settle_groups(now);
    }

    /// Interface `name` became usable or not. Returns whether that is news. One that comes
    /// back gets its static entries again first ([`routes::reinstate_on`]).
    pub fn handle_link(&mut self, now: Instant, name: &str, usable: bool) -> bool {
        let before = self.seen.links.insert(name.to_owned(), usable);
        if before == Some(usable) {
            return false;
        }
        if before == Some(false) && usable && self.statics_held {
            if let Some(config) = &self.config {
                self.outputs.extend(routes::reinstate_on(config, name));
            }
        }
        self.retrack(now);
        true
    }

    /// A tracking script's result changed.
    pub fn handle_script(&mut self, now: Instant, name: &str, passed: bool) {
        if self.seen.scripts.get(name) != Some(&passed) {
            self.seen.scripts.insert(name.to_owned(), passed);
            self.retrack(now);
        }
    }

    /// The value read from `track_file` `name` (see [`tracking::track_file_value`]); a file
    /// that was removed reads as 0. Given before a configuration, it decides where start-up
    /// goes.
    pub fn handle_track_file(&mut self, now: Instant, name: &str, value: i64) {
        if self.seen.files.get(name) != Some(&value) {
            self.seen.files.insert(name.to_owned(), value);
            self.retrack(now);
        }
    }

    /// Whether `vrrp_track_process` `name` has its quorum
    /// ([`process_table`](crate::process_table)). Given before a configuration, it decides
    /// where start-up goes.
    pub fn handle_track_process(&mut self, now: Instant, name: &str, quorum: bool) {
        if self.seen.processes.get(name) != Some(&quorum) {
            self.seen.processes.insert(name.to_owned(), quorum);
            self.retrack(now);
        }
    }

    /// Another agent removed `address`, one of instance `id`'s. A master that installed it puts
    /// it back (the addresses are the master's to hold). Returns whether it does.
    pub fn handle_address_removed(
        &mut self,
        _now: Instant,
        id: InstanceId,
        address: IpAddr,
    ) -> bool {
        let Some(member) = self.members.get(&id) else { return false };
        let ours = member.addresses().contains(&address);
        if !ours || !member.owns_addresses || member.router.state() != State::Master {
            return false;
        }
        // Its traffic is still refused: the refusal outlives the address.
        self.outputs.push_back(Output::AddAddresses { id, addresses: vec![address] });
        // The kernel took the routes from that address with it, silently: all go back.
        let routes = member.spec.virtual_routes.clone();
        self.outputs.extend(routes::install(Some(id), &routes, &[]));
        true
    }

    /// The addresses on instance `id`'s interface changed; `on_interface` lists them in the
    /// kernel's order. Without `unicast_src_ip` an instance speaks from the primary one
    /// ([`primary_address`](crate::primary_address)), which also breaks priority ties (RFC 9568
    /// §6.4.3): when it changes, the instance restarts there, a master resigning first. An
    /// interface left with no candidate keeps the instance as it is. With `unicast_src_ip` and
    /// `track_src_ip`, that address missing from the list is a FAULT until it is back. Returns
    /// the new primary address when the instance restarts.
    pub fn handle_interface_addresses(
        &mut self,
        now: Instant,
        id: InstanceId,
        on_interface: &[IpAddr],
    ) -> Result<Option<IpAddr>, NodeError> {
        let Some(config) = &self.config else { return Ok(None) };
        let Some(member) = self.members.get(&id) else { return Ok(None) };
        if let Some(source) = member.spec.source_ip {
            let tracked = member.spec.track_src_ip.then(|| (member.spec.interface.clone(), source));
            if let Some(key) = tracked {
                let held = on_interface.contains(&source);
                if self.seen.sources.insert(key, held) != Some(held) {
                    self.retrack(now);
                }
            }
            return Ok(None);
        }
        let Some(address) = crate::primary_address(&member.spec, on_interface) else {
            return Ok(None);
        };
        if member.router.config().primary_address == address {
            return Ok(None);
        }
        let router_config = checked(config, &member.spec, address)?;
        let router = Router::new(router_config)
            .map_err(|error| NodeError::Instance { instance: member.spec.name.clone(), error })?;
        if let Some(member) = self.members.get_mut(&id) {
            member.router.handle_shutdown(now);
        }
        self.drain(now, id);
        self.outputs.push_back(Output::PrimaryAddressChanged { id, address });
        if let Some(member) = self.members.get_mut(&id) {
            member.router = router;
            member.rounds.cancel();
        }
        self.retrack(now);
        self.start(now, id);
        self.settle_groups(now);
        Ok(Some(address))
    }

    /// Stops every instance: masters resign, addresses go; then each sync group's stop
    /// scripts run (keepalived vrrp_notify.c notify_shutdown(): instances first, then groups).
    pub fn handle_shutdown(&mut self, now: Instant) {
        let ids: Vec<InstanceId> = self.members.keys().copied().collect();
        for id in ids {
            self.stop(now, id);
        }
        for index in 0..self.groups.len() {
            self.enter_group_state(index, State::Initialize);
        }
        self.group_moves.clear();
        // keepalived vrrp_daemon.c vrrp_terminate_phase2(): static entries go last.
        if self.statics_held {
            self.outputs.extend(routes::static_changes(self.config.as_deref(), None));
            self.statics_held = false;
        }
    }

    /// Another agent removed `address` from interface `device`. A tracked `static_ipaddress`
    /// entry is put back (keepalived vrrp_netlink.c netlink_if_address_filter(),
    /// reinstate_static_address()). Returns whether it is.
    pub fn handle_static_address_removed(
        &mut self,
        _now: Instant,
        device: &str,
        address: IpAddr,
    ) -> bool {
        let Some(config) = self.config.as_ref().filter(|_| self.statics_held) else {
            return false;
        };
        let Some(entry) = config.static_addresses.iter().find(|entry| {
            !entry.no_track && entry.address == address && entry.device.as_deref() == Some(device)
        }) else {
            return false;
        };
        self.outputs.push_back(Output::AddStaticAddresses { addresses: vec![entry.clone()] });
        true
    }

    /// Another agent deleted the route `key` names. A master holding it as a tracked route,
    /// or the configuration holding it as a static one, puts it back (`routes.rs`). Returns
    /// whether it does.
    pub fn handle_route_removed(&mut self, _now: Instant, key: &RouteKey) -> bool {
        let held = self.members.iter().find_map(|(id, member)| {
            let holds = member.owns_addresses && member.router.state() == State::Master;
            let route = routes::tracked_route(&member.spec.virtual_routes, key);
            holds.then_some(route).flatten().map(|route| (Some(*id), route.clone()))
        });
        let held = held.or_else(|| {
            let config = self.config.as_ref().filter(|_| self.statics_held)?;
            routes::tracked_route(&config.static_routes, key).map(|route| (None, route.clone()))
        });
        let Some((id, route)) = held else { return false };
        self.outputs.push_back(Output::AddRoutes { id, routes: vec![route] });
        true
    }

    /// Another agent deleted `observed` (a rule as the kernel reported it): put back like a
    /// route ([`Node::handle_route_removed`]).
    pub fn handle_rule_removed(&mut self, _now: Instant, observed: &Rule) -> bool {
        let held = self.members.iter().find_map(|(id, member)| {
            let holds = member.owns_addresses && member.router.state() == State::Master;
            let rule = routes::tracked_rule(&member.spec.virtual_rules, observed);
            holds.then_some(rule).flatten().map(|rule| (Some(*id), rule.clone()))
        });
        let held = held.or_else(|| {
            let config = self.config.as_ref().filter(|_| self.statics_held)?;
            routes::tracked_rule(&config.static_rules, observed).map(|rule| (None, rule.clone()))
        });
        let Some((id, rule)) = held else { return false };
        self.outputs.push_back(Output::AddRules { id, rules: vec![rule] });
        true
    }

    /// Every instance, read-only, with its statistics.
    pub fn snapshot(&self) -> Snapshot {
        Snapshot {
            instances: self
                .members
                .iter()
                .map(|(id, member)| {
                    let config = member.router.config();
                    InstanceSnapshot {
                        id: *id,
                        name: member.spec.name.clone(),
                        interface: member.spec.interface.clone(),
                        vmac: member.spec.vmac.as_ref().map(|vmac| vmac.name.clone()),
                        vrid: config.vrid,
                        version: config.version,
                        family: config.family(),
                        state: member.router.state(),
                        base_priority: member.spec.priority,
                        effective_priority: member.router.priority(),
                        adjustments: tracking::adjustments(&member.spec, &self.seen),
                        primary_address: config.primary_address,
                        advert_interval: config.advert_interval,
                        master_adver_interval: member.router.master_adver_interval(),
                        preempt: config.preempt,
                        virtual_addresses: member.addresses(),
                        holds_addresses: member.owns_addresses,
                        sync_group: self
                            .groups
                            .iter()
                            .find(|group| group.members.contains(id))
                            .map(|group| (group.name.clone(), group.state)),
                        statistics: member.stats,
                    }
                })
                .collect(),
            config: self.config.clone(),
            scripts: self.seen.scripts.iter().map(|(name, ok)| (name.clone(), *ok)).collect(),
        }
    }

    fn running(&self, new: &Instance) -> Option<InstanceId> {
        self.members
            .iter()
            .find(|(_, member)| {
                member.spec.name == new.name && reload::same_identity(&member.spec, new)
            })
            .map(|(id, _)| *id)
    }

    fn stop(&mut self, now: Instant, id: InstanceId) {
        if let Some(member) = self.members.get_mut(&id) {
            member.router.handle_shutdown(now);
        }
        self.drain(now, id);
        self.members.remove(&id);
        self.schedule.set(id, None);
        self.outputs.push_back(Output::InstanceStopped { id });
    }

    /// keepalived's reload of a running instance: new settings, same state. A master adds and
    /// removes only the addresses that changed and announces the new ones; a new configured
    /// priority acts through tracking, as a tracked change would.
    fn reconfigure(&mut self, now: Instant, id: InstanceId, spec: Instance, config: RouterConfig) {
        let Some(member) = self.members.get_mut(&id) else { return };
        // keepalived vrrp_data.c alloc_vrrp(): a reload forgets a learnt switch.
        member.old_checksum = config.old_checksum;
        let before = member.addresses();
        let accepted = member.accept();
        let io_changed = reload::io_changed(&member.spec, &spec);
        let routing_changes = routes::reconfigure(
            id,
            (&member.spec.virtual_routes, &member.spec.virtual_rules),
            (&spec.virtual_routes, &spec.virtual_rules),
        );
        let extra_if_changed = member.spec.garp_extra_if != spec.garp_extra_if;
        member.spec = spec;
        if extra_if_changed {
            let master = member.router.state() == State::Master;
            member.arm_extra_if(now, master);
        }
        if let Err(error) = member.router.reconfigure(now, config) {
            unreachable!("checked before the reload was applied: {error}");
        }
        if io_changed {
            self.outputs.push_back(Output::InstanceReconfigured { id });
        }
        let member = &self.members[&id];
        let after = member.addresses();
        if member.owns_addresses {
            let gone: Vec<IpAddr> = before.iter().filter(|a| !after.contains(a)).copied().collect();
            let new: Vec<IpAddr> = after.iter().filter(|a| !before.contains(a)).copied().collect();
            let accept = member.accept();
            let kept: Vec<IpAddr> = after.iter().filter(|a| before.contains(a)).copied().collect();
            self.outputs.extend(routing_changes.removals);
            if !gone.is_empty() {
                self.outputs.push_back(Output::RemoveAddresses { id, addresses: gone.clone() });
            }
            self.outputs.extend(accept_mode::after_removing(id, accepted, &gone));
            self.outputs.extend(accept_mode::changed(id, accepted, accept, &kept));
            if !new.is_empty() {
                self.outputs.extend(accept_mode::before_adding(id, accept, &new));
                self.outputs.push_back(Output::AddAddresses { id, addresses: new.clone() });
                let member = self.members.get_mut(&id).expect("present");
                let repeat = member.router.config().garp.master_repeat;
                let spacing = member.router.config().garp.interval;
                member.rounds.extend(repeat, new, spacing);
                self.announce_due(now, id);
            }
            self.outputs.extend(routing_changes.additions);
        }
        self.drain(now, id);
    }

    /// Tracking and sync groups applied to every instance.
    fn retrack(&mut self, now: Instant) {
        let groups = self.config.as_ref().map(|c| c.sync_groups.as_slice()).unwrap_or_default();
        let names: Vec<&str> = self.members.values().map(|m| m.spec.name.as_str()).collect();
        let mut tracked: Vec<Tracked> =
            self.members.values().map(|member| tracking::track(&member.spec, &self.seen)).collect();
        tracking::propagate_group_faults(groups, &names, &mut tracked);
        let ids: Vec<InstanceId> = self.members.keys().copied().collect();
        for (id, tracked) in ids.into_iter().zip(tracked) {
            let member = self.members.get_mut(&id).expect("listed");
            member.router.handle_fault(now, tracked.fault);
            self.drain(now, id);
            let member = self.members.get_mut(&id).expect("listed");
            let before = member.router.priority();
            member.router.handle_priority(now, tracked.priority);
            let after = member.router.priority();
            let told =
                member.spec.notify_priority_changes && self.config.as_deref().is_some_and(has_fifo);
            if after != before && told {
                let state = member.router.state();
                let line = notify::priority_line(&member.spec.name, state, after);
                self.outputs.push_back(Output::NotifyFifo { line });
            }
            self.drain(now, id);
        }
        self.settle_groups(now);
    }

    /// The router's outputs, with keepalived's policy and the statistics applied.
    fn drain(&mut self, now: Instant, id: InstanceId) {
        loop {
            let Some(member) = self.members.get_mut(&id) else { return };
            let Some(output) = member.router.poll_output() else { break };
            match output {
                vrrp_proto::Output::SendAdvertisement(advertisement) => {
                    member.stats.advertisements_sent += 1;
                    if advertisement.priority() == 0 {
                        member.stats.priority_zero_sent += 1;
                    }
                    self.outputs.push_back(Output::SendAdvertisement { id, advertisement });
                }
                vrrp_proto::Output::AddAddresses { addresses, accept } => {
                    member.owns_addresses = true;
                    let addresses = member.with_excluded(addresses);
                    self.outputs.extend(accept_mode::before_adding(id, accept, &addresses));
                    self.outputs.push_back(Output::AddAddresses { id, addresses });
                    let spec = &member.spec;
                    let id = Some(id);
                    self.outputs.extend(routes::install(
                        id,
                        &spec.virtual_routes,
                        &spec.virtual_rules,
                    ));
                }
                vrrp_proto::Output::RemoveAddresses { addresses } => {
                    member.owns_addresses = false;
                    let spec = &member.spec;
                    let (routes, rules) = (&spec.virtual_routes, &spec.virtual_rules);
                    self.outputs.extend(routes::uninstall(Some(id), routes, rules));
                    let addresses = member.with_excluded(addresses);
                    let accept = member.accept();
                    self.outputs
                        .push_back(Output::RemoveAddresses { id, addresses: addresses.clone() });
                    self.outputs.extend(accept_mode::after_removing(id, accept, &addresses));
                }
                vrrp_proto::Output::AnnounceAddresses { addresses, count, spacing } => {
                    let addresses = member.with_excluded(addresses);
                    member.rounds.extend(count, addresses, spacing);
                    self.announce_due(now, id);
                }
                vrrp_proto::Output::StateChanged { from, to, reason } => {
                    member.stats.record_transition(Transition { at: now, from, to, reason });
                    if from == State::Master {
                        // Announcements belong to the master that asked for them.
                        member.rounds.cancel();
                    }
                    if from == State::Master || to == State::Master {
                        member.arm_extra_if(now, to == State::Master);
                    }
                    member.wants_master = to == State::Master;
                    let group = self.groups.iter().find(|group| group.members.contains(&id));
                    let already = group.is_some_and(|group| group.state == to) && member.notified;
                    member.notified = true;
                    if group.is_some() && reason != Reason::SyncGroup {
                        self.group_moves.push_back((id, from, to));
                    }
                    let priority = member.router.priority();
                    let runs = if already {
                        Vec::new()
                    } else {
                        notify::instance_scripts(
                            &member.spec.notify,
                            &member.spec.name,
                            to,
                            priority,
                            self.config.as_ref().and_then(|c| c.global.script_user.as_ref()),
                        )
                    };
                    self.outputs.push_back(Output::StateChanged { id, from, to, reason });
                    self.outputs.extend(runs.into_iter().map(Output::RunScript));
                    if !already && self.config.as_deref().is_some_and(has_fifo) {
                        let subject = notify::FifoSubject::Instance;
                        let line = notify::fifo_line(subject, &member.spec.name, to, priority);
                        self.outputs.push_back(Output::NotifyFifo { line });
                    }
                }
            }
        }
        self.reschedule(id);
    }

    /// The running configuration's sync groups over the running members, each keeping the
    /// state it had if it ran before with the same members.
    fn regroup(&mut self) {
        let Some(config) = &self.config else { return };
        let old = std::mem::take(&mut self.groups);
        for group in &config.sync_groups {
            let members: Vec<InstanceId> = group
                .members
                .iter()
                .filter_map(|name| {
                    self.members.iter().find(|(_, m)| &m.spec.name == name).map(|(id, _)| *id)
                })
                .collect();
            let state = old
                .iter()
                .find(|before| before.name == group.name && before.members == members)
                .map_or(State::Initialize, |before| before.state);
            let notify = group.notify.clone();
            self.groups.push(Group { name: group.name.clone(), members, state, notify });
        }
    }

    /// keepalived vrrp_sync.c vrrp_sync_can_goto_master() for member `id`.
    fn may_become_master(&self, id: InstanceId) -> bool {
        let Some(group) = self.groups.iter().find(|group| group.members.contains(&id)) else {
            return true;
        };
        let others = group.members.iter().filter(|other| **other != id).filter_map(|other| {
            let member = self.members.get(other)?;
            Some(MemberView { state: member.router.state(), wants_master: member.wants_master })
        });
        sync::may_become_master(group.state, others)
    }

    /// The sync groups follow their members' own moves, in order (keepalived vrrp_scheduler.c
    /// VRRP_TSM: BACKUP or FAULT to MASTER runs vrrp_sync_master(), MASTER to BACKUP runs
    /// vrrp_sync_backup()), then settle from their members' states (FAULT, start-up).
    fn settle_groups(&mut self, now: Instant) {
        while let Some((id, from, to)) = self.group_moves.pop_front() {
            let Some(index) = self.groups.iter().position(|group| group.members.contains(&id))
            else {
                continue;
            };
            if self.members.get(&id).map(|member| member.router.state()) != Some(to) {
                continue; // moved on since: its later move decides
            }
            let follows = match (from, to) {
                (_, State::Master) => State::Master,
                (State::Master, State::Backup) => State::Backup,
                _ => continue,
            };
            if self.groups[index].state == follows {
                continue;
            }
            let others: Vec<InstanceId> =
                self.groups[index].members.iter().copied().filter(|other| *other != id).collect();
            for other in others {
                if let Some(member) = self.members.get_mut(&other) {
                    member.router.handle_sync(now, follows);
                }
                self.drain(now, other);
            }
            self.enter_group_state(index, follows);
        }
        for index in 0..self.groups.len() {
            let states: Vec<State> = self.groups[index]
                .members
                .iter()
                .filter_map(|id| self.members.get(id).map(|member| member.router.state()))
                .collect();
            if let Some(state) = sync::settled_state(self.groups[index].state, &states) {
                self.enter_group_state(index, state);
            }
        }
    }

    /// Group `index` is now in `state`: its notify scripts run (keepalived vrrp_notify.c
    /// send_group_notifies()), after those of the members that took it there.
    fn enter_group_state(&mut self, index: usize, state: State) {
        let group = &mut self.groups[index];
        if group.state == state {
            return;
        }
        group.state = state;
        let script_user = self.config.as_ref().and_then(|c| c.global.script_user.as_ref());
        let runs = notify::group_scripts(&group.notify, &group.name, state, script_user);
        self.outputs.extend(runs.into_iter().map(Output::RunScript));
        if self.config.as_deref().is_some_and(has_fifo) {
            let line = notify::fifo_line(notify::FifoSubject::Group, &group.name, state, 0);
            self.outputs.push_back(Output::NotifyFifo { line });
        }
    }

    /// Files instance `id` under its earliest deadline (or none, if it is gone).
    fn reschedule(&mut self, id: InstanceId) {
        let next = self.members.get(&id).and_then(|member| {
            [Timer::Router, Timer::AnnouncementRound, Timer::DelayedStart, Timer::ExtraInterfaces]
                .into_iter()
                .filter_map(|t| deadline(member, t))
                .min()
        });
        self.schedule.set(id, next);
    }

    /// `garp_extra_if`: one round on the other interfaces when due, and the next armed a
    /// period later (keepalived vrrp.c vrrp_state_master_tx()).
    fn announce_extra_interfaces(&mut self, now: Instant, id: InstanceId) {
        let Some(member) = self.members.get_mut(&id) else { return };
        if deadline(member, Timer::ExtraInterfaces).is_none_or(|at| at > now) {
            return;
        }
        member.arm_extra_if(now, true);
        let addresses = member.extra_interface_addresses();
        if !addresses.is_empty() {
            member.stats.announcements_sent += 1;
            self.outputs.push_back(Output::Announce { id, addresses });
        }
    }

    /// Sends the announcement rounds due at `now`: all at once without spacing, else one, with
    /// the next armed `spacing` later.
    fn announce_due(&mut self, now: Instant, id: InstanceId) {
        let Some(member) = self.members.get_mut(&id) else { return };
        let rounds = &mut member.rounds;
        if rounds.next_at.is_some_and(|at| at > now) {
            return;
        }
        while rounds.remaining > 0 {
            rounds.remaining -= 1;
            member.stats.announcements_sent += 1;
            let addresses = rounds.addresses.clone();
            self.outputs.push_back(Output::Announce { id, addresses });
            if !rounds.spacing.is_zero() {
                break;
            }
        }
        rounds.next_at = (rounds.remaining > 0).then(|| now + rounds.spacing);
        if rounds.remaining == 0 {
            rounds.cancel();
        }
        self.reschedule(id);
    }
}

/// The router's configuration for `spec`, validated.
fn checked(config: &Config, spec: &Instance, primary: IpAddr) -> Result<RouterConfig, NodeError> {
    let router_config = reload::router_config(config, spec, primary);
    router_config
        .validate()
        .map_err(|error| NodeError::Instance { instance: spec.name.clone(), error })?;
    Ok(router_config)
}

/// Each group's state by name, and each instance's.
type States = (Vec<(String, State)>, Vec<(InstanceId, State)>);

/// Whether notifications are written to a FIFO at all.
fn has_fifo(config: &Config) -> bool {
    !config.global.notify_fifos.is_empty()
}

fn deadline(member: &Member, timer: Timer) -> Option<Instant> {
    match timer {
        Timer::Router => member.router.poll_timeout(),
        Timer::AnnouncementRound => member.rounds.next_at,
        Timer::DelayedStart => member.start_at,
        Timer::ExtraInterfaces => member.extra_if_at,
    }
}
