//! From draft to model: keepalived's defaults, then the checks across statements.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use crate::diagnostic::{Report, Span, Word};
use crate::draft::{
    Draft, FifoDraft, GarpDraft, GarpGroupDraft, GlobalDraft, InstanceDraft, Located, ScriptDraft,
    StaticTag, SyncGroupDraft, TrackFileDraft, TrackGroupDraft, TrackProcessDraft,
    TrackedScriptDraft,
};
use crate::model::{
    Config, Family, Garp, GarpGroup, Global, InitialState, Instance, NotifyFifo, ParamMatch,
    Scheduling, Script, SyncGroup, TrackFile, TrackGroup, TrackProcess, TrackedFile,
    TrackedInterface, TrackedProcess, TrackedScript, Version, VirtualAddress, Vmac,
    MAX_UNICAST_PEERS,
};

const DEFAULT_ADVERT_INTERVAL: Duration = Duration::from_secs(1);
const DEFAULT_PRIORITY: u8 = 100;
const DEFAULT_SCRIPT_INTERVAL: Duration = Duration::from_secs(1);
/// RFC 5798: 12-bit advert interval in centiseconds.
const V3_MAX_ADVERT_CENTIS: u128 = 4095;

pub(crate) fn validate(draft: Draft, report: &mut Report) -> Config {
    let global = resolve_global(&draft.global, report);
    let scripts = resolve_scripts(draft.scripts, report);
    let track_files = resolve_track_files(draft.track_files, report);
    let track_processes = resolve_track_processes(draft.track_processes, report);

    let mut instances = Vec::new();
    let mut seen_names: HashMap<String, Span> = HashMap::new();
    for instance_draft in draft.instances {
        let name = instance_draft.name.clone();
        if let Some(first) = seen_names.get(&name.text) {
            let message =
                format!("duplicate vrrp_instance {} (first defined {})", name.text, at(first));
            report.error_line(&name.span, message);
        } else {
            seen_names.insert(name.text.clone(), name.span.clone());
        }
        let vrid_word = instance_draft.vrid.as_ref().map(|vrid| vrid.at.clone());
        let vmac_word = instance_draft.use_vmac.as_ref().map(|(keyword, _)| keyword.clone());
        let Some(instance) = resolve_instance(
            instance_draft,
            &global,
            draft.global.version,
            &scripts,
            &track_files,
            &track_processes,
            report,
        ) else {
            continue;
        };
        if let Some(vrid_word) = vrid_word {
            check_vrid_unique(&instance, &instances, &vrid_word, report);
        }
        if let (Some(vmac), Some(word)) = (&instance.vmac, &vmac_word) {
            // keepalived vrrp_parser.c vrrp_vmac_handler(): "VRRP instance %s is already using".
            if let Some(other) = instances
                .iter()
                .find(|other: &&Instance| other.vmac.as_ref().is_some_and(|o| o.name == vmac.name))
            {
                let message = format!(
                    "use_vmac {} in vrrp_instance {}: vrrp_instance {} already uses it",
                    vmac.name, instance.name, other.name
                );
                report.error_at(&word.span, message);
            }
        }
        instances.push(instance);
    }

    let sync_groups = resolve_sync_groups(
        draft.sync_groups,
        &mut instances,
        &scripts,
        (&track_files, &track_processes),
        report,
    );
    let static_addresses = resolve_static_addresses(draft.static_addresses, report);
    let garp_groups = resolve_garp_groups(draft.garp_groups, report);
    let track_groups =
        resolve_track_groups(draft.track_groups, &draft.static_tags, &mut instances, report);
    Config {
        global,
        instances,
        scripts,
        sync_groups,
        track_files,
        track_processes,
        static_addresses,
        static_routes: draft.static_routes,
        static_rules: draft.static_rules,
        garp_groups,
        track_groups,
    }
}

/// keepalived vrrp_parser.c static_track_group_handler() and vrrp_static_track.c
/// static_track_group_init(): each member of a group tracks, with weight 0, the interface of
/// every static entry tagged with the group, unless the entry has `no_track` ("has both
/// track_group and no_track set - not tracking") or names no interface. keepalived drops a
/// group without members, or whose members are all unknown, with a log line, and runs
/// untracked where a tag names no group; vrrpd refuses a name that matches nothing (as it
/// does for track_script), since running untracked is what such a typo would silently do.
fn resolve_track_groups(
    drafts: Vec<TrackGroupDraft>,
    tags: &[StaticTag],
    instances: &mut [Instance],
    report: &mut Report,
) -> Vec<TrackGroup> {
    let mut groups: Vec<TrackGroup> = Vec::new();
    let mut seen: HashMap<String, Span> = HashMap::new();
    for draft in drafts {
        let name = draft.name;
        if let Some(first) = seen.get(&name.text) {
            // keepalived: "track_group %s already defined".
            let message =
                format!("duplicate track_group {} (first defined {})", name.text, at(first));
            report.error_line(&name.span, message);
            continue;
        }
        seen.insert(name.text.clone(), name.span.clone());
        let mut members: Vec<String> = Vec::new();
        for member in draft.members.unwrap_or_default() {
            if !instances.iter().any(|instance| instance.name == member.text) {
                let message = format!(
                    "track_group {} lists \"{}\", which is no vrrp_instance",
                    name.text, member.text
                );
                report.error_at(&member.span, message);
            } else if !members.contains(&member.text) {
                members.push(member.text);
            }
        }
        if members.is_empty() {
            // keepalived: "Static track group %s has no virtual router(s)", then removed.
            let message = format!(
                "track_group {} lists no vrrp_instance (no group {{ ... }}): it tracks nothing",
                name.text
            );
            report.warn(&name.span, message);
        }
        groups.push(TrackGroup { name: name.text, members });
    }
    for tag in tags {
        let Some(group) = groups.iter().find(|group| group.name == tag.group.text) else {
            let message =
                format!("track_group \"{}\" on {} names no track_group", tag.group.text, tag.entry);
            report.error_at(&tag.group.span, message);
            continue;
        };
        if tag.no_track {
            let message = format!(
                "{} has both track_group and no_track: not tracked, as keepalived",
                tag.entry
            );
            report.warn_at(&tag.group.span, message);
            continue;
        }
        let Some(interface) = &tag.interface else {
            // keepalived: "Static route cannot have track group if no oif specified", and the
            // same for a rule without iif.
            let what = if tag.entry.starts_with("static rule") { "iif" } else { "dev" };
            let message = format!("{} has track_group without {what}: nothing to track", tag.entry);
            report.error_at(&tag.group.span, message);
            continue;
        };
        for instance in instances.iter_mut().filter(|i| group.members.contains(&i.name)) {
            if !instance.track_group_interfaces.contains(interface) {
                instance.track_group_interfaces.push(interface.clone());
            }
        }
    }
    groups
}

/// keepalived vrrp_parser.c: an interface already in a group is left in the first ("garp_group
/// already specified for IF - ignoring"), and a group without an interval is dropped ("garp
/// group N does not have any delay set - removing"); both are warnings here as keepalived
/// runs on.
fn resolve_garp_groups(drafts: Vec<GarpGroupDraft>, report: &mut Report) -> Vec<GarpGroup> {
    let mut groups: Vec<GarpGroup> = Vec::new();
    let mut seen: HashMap<String, Span> = HashMap::new();
    for draft in drafts {
        if draft.garp_interval.is_none() && draft.gna_interval.is_none() {
            report
                .warn(&draft.at.span, "garp_group sets no garp_interval or gna_interval: removed");
            continue;
        }
        let mut interfaces = Vec::new();
        for word in draft.interfaces {
            if let Some(first) = seen.get(&word.text) {
                let message = format!(
                    "garp_group already given for {} ({}): ignored here",
                    word.text,
                    at(first)
                );
                report.warn_at(&word.span, message);
                continue;
            }
            seen.insert(word.text.clone(), word.span.clone());
            interfaces.push(word.text);
        }
        groups.push(GarpGroup {
            garp_interval: draft.garp_interval,
            gna_interval: draft.gna_interval,
            interfaces,
        });
    }
    groups
}

/// A static address belongs to no instance, so it has no interface to fall back on: it names
/// its `dev` (keepalived falls back on its `default_interface`, which vrrpd does not have).
fn resolve_static_addresses(
    addresses: Vec<Located<VirtualAddress>>,
    report: &mut Report,
) -> Vec<VirtualAddress> {
    addresses
        .into_iter()
        .filter_map(|address| {
            if address.value.device.is_none() {
                let message = format!("static_ipaddress {} needs dev INTERFACE", address.at.text);
                report.error_at(&address.at.span, message);
                return None;
            }
            Some(address.value)
        })
        .collect()
}

fn at(span: &Span) -> String {
    format!("at {}:{}", span.file.display(), span.line)
}

fn resolve_global(draft: &GlobalDraft, report: &mut Report) -> Global {
    // vrrp_min_garp: one message, no second burst, unless set explicitly.
    let (delay, repeat) =
        if draft.min_garp { (Duration::ZERO, 1) } else { (Duration::from_secs(5), 5) };
    let master_delay = draft.garp.master_delay.unwrap_or(delay);
    let master_repeat = draft.garp.master_repeat.unwrap_or(repeat);
    let garp = Garp {
        master_delay,
        master_repeat,
        master_refresh: draft.garp.master_refresh.filter(|refresh| !refresh.is_zero()),
        master_refresh_repeat: draft.garp.master_refresh_repeat.unwrap_or(1),
        lower_prio_delay: draft.garp.lower_prio_delay.unwrap_or(master_delay),
        lower_prio_repeat: draft.garp.lower_prio_repeat.unwrap_or(master_repeat),
    };
    Global {
        router_id: draft.router_id.clone(),
        version: draft.version.unwrap_or(Version::V2),
        garp,
        garp_interval: draft.garp_interval.unwrap_or(Duration::ZERO),
        gna_interval: draft.gna_interval.unwrap_or(Duration::ZERO),
        garp_extra_if: draft.garp_extra_if.as_ref().map(|extra| {
            if !extra.value.all && !extra.value.interval.is_zero() {
                report.warn(&extra.at.span, EXTRA_IF_WITHOUT_ALL);
            }
            extra.value
        }),
        script_user: draft.script_user.clone(),
        enable_script_security: draft.enable_script_security,
        strict: draft.strict,
        check_unicast_src: draft.check_unicast_src,
        skip_check_adv_addr: draft.skip_check_adv_addr,
        v3_checksum_as_v2: draft.v3_checksum_as_v2,
        mcast_group4: draft.mcast_group4.unwrap_or(Ipv4Addr::new(224, 0, 0, 18)),
        mcast_group6: draft.mcast_group6.unwrap_or(Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 0x12)),
        notify_fifos: [
            ("notify_fifo", &draft.notify_fifo),
            ("vrrp_notify_fifo", &draft.vrrp_notify_fifo),
        ]
        .into_iter()
        .filter_map(|(keyword, fifo)| resolve_fifo(keyword, fifo, report))
        .collect(),
        notify_priority_changes: draft.notify_priority_changes,
        fifo_write_states_on_reload: draft.fifo_write_states_on_reload,
        startup_delay: draft.startup_delay.unwrap_or_default(),
        delay_after_boot: draft.delay_after_boot.unwrap_or_default(),
        lower_prio_no_advert: draft.lower_prio_no_advert,
        // vrrpd's default is on, where keepalived's is off (see `Global`).
        higher_prio_send_advert: draft.higher_prio_send_advert.unwrap_or(true),
        vmac_prefix: draft.vmac_prefix.clone(),
        vmac_addr_prefix: draft.vmac_addr_prefix.clone(),
        scheduling: Scheduling {
            realtime_priority: draft.realtime_priority,
            rlimit_rttime_us: draft
                .rlimit_rttime_us
                .unwrap_or(Scheduling::DEFAULT_RLIMIT_RTTIME_US),
            nice: draft.nice,
            no_swap: draft.no_swap,
        },
    }
}

/// keepalived: a `*_notify_fifo_script` without its FIFO does nothing; vrrpd says so.
fn resolve_fifo(keyword: &str, draft: &FifoDraft, report: &mut Report) -> Option<NotifyFifo> {
    let Some(path) = &draft.path else {
        if let Some(script) = &draft.script {
            let message = format!("{keyword}_script without {keyword} is not run");
            report.warn(&script.at.span, message);
        }
        return None;
    };
    if path.value.is_relative() {
        report.invalid(keyword, &path.at, "expected an absolute path");
        return None;
    }
    Some(NotifyFifo {
        path: path.value.clone(),
        owner: draft.owner.clone(),
        script: draft.script.as_ref().map(|script| script.value.clone()),
    })
}

/// Instance `garp_*` settings override the global ones one by one.
fn resolve_garp(draft: &GarpDraft, global: &Garp) -> Garp {
    Garp {
        master_delay: draft.master_delay.unwrap_or(global.master_delay),
        master_repeat: draft.master_repeat.unwrap_or(global.master_repeat),
        master_refresh: match draft.master_refresh {
            Some(refresh) => Some(refresh).filter(|refresh| !refresh.is_zero()),
            None => global.master_refresh,
        },
        master_refresh_repeat: draft.master_refresh_repeat.unwrap_or(global.master_refresh_repeat),
        lower_prio_delay: draft.lower_prio_delay.unwrap_or(global.lower_prio_delay),
        lower_prio_repeat: draft.lower_prio_repeat.unwrap_or(global.lower_prio_repeat),
    }
}

const EXTRA_IF_WITHOUT_ALL: &str = "garp_extra_if without `all` sends only on VMAC interfaces, \
                                    which vrrpd does not create: no effect";

/// `garp_extra_if`: the instance's, else the global `vrrp_garp_extra_if` (keepalived vrrp.c
/// vrrp_complete_instance()), which turns it off at zero, without `all` (then it sends only
/// on VMAC interfaces, and vrrpd has none) and when no address is on another interface.
fn resolve_extra_if(
    draft: &InstanceDraft,
    global: &Global,
    report: &mut Report,
) -> Option<Duration> {
    let (setting, at) = match &draft.garp_extra_if {
        Some(own) => (own.value, Some(&own.at)),
        None => (global.garp_extra_if?, None),
    };
    if setting.interval.is_zero() {
        return None;
    }
    if !setting.all {
        if let Some(at) = at {
            report.warn(&at.span, EXTRA_IF_WITHOUT_ALL);
        }
        return None;
    }
    let elsewhere = |vip: &Located<VirtualAddress>| {
        vip.value.device.as_ref().is_some_and(|device| Some(device) != draft.interface.as_ref())
    };
    if !draft.virtual_addresses.iter().chain(&draft.excluded_addresses).any(elsewhere) {
        if let Some(at) = at {
            let message = format!(
                "garp_extra_if in vrrp_instance {}: none of its addresses is on another \
                 interface, no effect",
                draft.name.text
            );
            report.warn(&at.span, message);
        }
        return None;
    }
    Some(setting.interval)
}

/// keepalived track_file.c track_file_end_handler(): a `track_file` without `file` is left
/// out; the weight defaults to 1.
fn resolve_track_files(drafts: Vec<TrackFileDraft>, report: &mut Report) -> Vec<TrackFile> {
    let mut files: Vec<TrackFile> = Vec::new();
    let mut seen: HashMap<String, Span> = HashMap::new();
    for draft in drafts {
        let name = draft.name;
        if let Some(first) = seen.get(&name.text) {
            let message =
                format!("duplicate track_file {} (first defined {})", name.text, at(first));
            report.error_line(&name.span, message);
            continue;
        }
        seen.insert(name.text.clone(), name.span.clone());
        let Some(path) = draft.path else {
            report.error_line(&name.span, format!("track_file {} needs a file", name.text));
            continue;
        };
        files.push(TrackFile {
            name: name.text,
            path,
            weight: draft.weight.unwrap_or(1),
            reverse: draft.reverse,
            init: draft.init,
        });
    }
    files
}

/// keepalived vrrp_parser.c vrrp_tprocess_*_handler(), vrrp_tprocess_end_handler(): a tracker
/// needs a `process`; quorum defaults to 1 and quorum_max to unbounded, and `quorum_max 0`
/// alone means the process must not run (quorum 0). keepalived ignores a quorum_max below
/// the quorum with a message; it is an error here, as the tracker would mean something else.
fn resolve_track_processes(
    drafts: Vec<TrackProcessDraft>,
    report: &mut Report,
) -> Vec<TrackProcess> {
    let mut processes: Vec<TrackProcess> = Vec::new();
    let mut seen: HashMap<String, Span> = HashMap::new();
    for draft in drafts {
        let name = draft.name;
        if let Some(first) = seen.get(&name.text) {
            let message =
                format!("duplicate vrrp_track_process {} (first defined {})", name.text, at(first));
            report.error_line(&name.span, message);
            continue;
        }
        seen.insert(name.text.clone(), name.span.clone());
        let Some((process, params)) = draft.process else {
            let message = format!("vrrp_track_process {} needs a process", name.text);
            report.error_line(&name.span, message);
            continue;
        };
        let quorum_given = draft.quorum.as_ref().map(|quorum| quorum.value);
        let (quorum, quorum_max) = match (quorum_given, &draft.quorum_max) {
            (None | Some(1), Some(max)) if max.value == 0 => (0, 0),
            (quorum, Some(max)) if max.value < quorum.unwrap_or(1) => {
                let message = format!(
                    "vrrp_track_process {}: quorum_max {} is less than quorum {}",
                    name.text,
                    max.value,
                    quorum.unwrap_or(1)
                );
                report.error_at(&max.at.span, message);
                continue;
            }
            (quorum, max) => (quorum.unwrap_or(1), max.as_ref().map_or(u32::MAX, |m| m.value)),
        };
        // keepalived's `comm` is the kernel's TASK_COMM_LEN - 1 bytes: a longer name never
        // matches it.
        if !draft.full_command && process.len() > 15 {
            let message = format!(
                "vrrp_track_process {}: process {process} is longer than a process name (15 \
                 bytes) and can never match; full_command matches the command line",
                name.text
            );
            report.warn(&name.span, message);
        }
        let mut packed = Vec::new();
        for param in params {
            packed.extend_from_slice(param.as_bytes());
            packed.push(0);
        }
        processes.push(TrackProcess {
            name: name.text,
            process,
            params: packed,
            param_match: draft.param_match.unwrap_or(ParamMatch::None),
            full_command: draft.full_command,
            quorum,
            quorum_max,
            terminate_delay: draft.terminate_delay,
            fork_delay: draft.fork_delay,
            weight: draft.weight.unwrap_or(0),
            reverse: draft.reverse,
        });
    }
    processes
}

/// keepalived vrrp_track.c alloc_track_process(): an entry takes the tracker's weight and
/// `reverse` unless it gives its own. `owner` says where the list is.
fn resolve_tracked_processes(
    owner: &str,
    entries: &[Located<TrackedScriptDraft>],
    processes: &[TrackProcess],
    report: &mut Report,
) -> Vec<TrackedProcess> {
    let mut tracked: Vec<TrackedProcess> = Vec::new();
    for entry in entries {
        let Some(process) = processes.iter().find(|process| process.name == entry.at.text) else {
            let message = format!(
                "track_process \"{}\" in {owner} names no vrrp_track_process block",
                entry.at.text
            );
            report.error_at(&entry.at.span, message);
            continue;
        };
        if tracked.iter().any(|t| t.name == process.name) {
            let message = format!("duplicate track_process {} in {owner}", process.name);
            report.error_at(&entry.at.span, message);
            continue;
        }
        tracked.push(TrackedProcess {
            name: process.name.clone(),
            weight: entry.value.weight.unwrap_or(process.weight),
            reverse: entry.value.reverse.unwrap_or(process.reverse),
        });
    }
    tracked
}

/// `owner` says where the list is: `vrrp_instance VI_1` or `vrrp_sync_group G`.
fn resolve_tracked_files(
    owner: &str,
    entries: &[Located<TrackedScriptDraft>],
    files: &[TrackFile],
    report: &mut Report,
) -> Vec<TrackedFile> {
    let mut tracked: Vec<TrackedFile> = Vec::new();
    for entry in entries {
        let Some(file) = files.iter().find(|file| file.name == entry.at.text) else {
            let message =
                format!("track_file \"{}\" in {owner} names no track_file block", entry.at.text);
            report.error_at(&entry.at.span, message);
            continue;
        };
        if tracked.iter().any(|t| t.name == file.name) {
            let message = format!("duplicate track_file {} in {owner}", file.name);
            report.error_at(&entry.at.span, message);
            continue;
        }
        tracked.push(TrackedFile {
            name: file.name.clone(),
            weight: entry.value.weight.unwrap_or(file.weight),
            reverse: entry.value.reverse.unwrap_or(file.reverse),
        });
    }
    tracked
}

fn resolve_scripts(drafts: Vec<ScriptDraft>, report: &mut Report) -> Vec<Script> {
    let mut scripts: Vec<Script> = Vec::new();
    let mut seen: HashMap<String, Span> = HashMap::new();
    for draft in drafts {
        let name = draft.name;
        if let Some(first) = seen.get(&name.text) {
            let message =
                format!("duplicate vrrp_script {} (first defined {})", name.text, at(first));
            report.error_line(&name.span, message);
            continue;
        }
        seen.insert(name.text.clone(), name.span.clone());
        let Some(argv) = draft.argv else {
            report.error_line(&name.span, format!("missing script in vrrp_script {}", name.text));
            continue;
        };
        let interval = draft.interval.unwrap_or(DEFAULT_SCRIPT_INTERVAL);
        scripts.push(Script {
            name: name.text,
            argv,
            interval,
            timeout: draft.timeout.unwrap_or(interval),
            weight: draft.weight.unwrap_or(0),
            reverse: draft.reverse,
            rise: draft.rise.unwrap_or(1),
            fall: draft.fall.unwrap_or(1),
            run_as: draft.run_as,
            init_fail: draft.init_fail,
        });
    }
    scripts
}

fn resolve_instance(
    draft: InstanceDraft,
    global: &Global,
    global_version: Option<Version>,
    scripts: &[Script],
    track_files: &[TrackFile],
    track_processes: &[TrackProcess],
    report: &mut Report,
) -> Option<Instance> {
    let name = &draft.name;
    let missing = |report: &mut Report, what: &str| {
        report.error_line(&name.span, format!("missing {what} in vrrp_instance {}", name.text));
    };
    if draft.interface.is_none() {
        missing(report, "interface");
    }
    if draft.vrid.is_none() {
        missing(report, "virtual_router_id");
    }

    let family = instance_family(&draft, report);
    let version = match draft.version.or(global_version).unwrap_or(Version::V2) {
        Version::V2 if family == Family::Ipv6 => {
            if draft.version == Some(Version::V2) {
                let message = format!(
                    "vrrp_instance {} is IPv6, which needs VRRP version 3: using 3",
                    name.text
                );
                report.warn(&name.span, message);
            }
            Version::V3
        }
        version => version,
    };

    let advert_interval = match &draft.advert_int {
        Some(advert) => {
            check_advert_interval(advert.value, version, &advert.at, report);
            advert.value
        }
        None => DEFAULT_ADVERT_INTERVAL,
    };

    // keepalived vrrp.c vrrp_complete_instance(): an instance's strict_mode, else vrrp_strict.
    let strict = draft.strict.unwrap_or(global.strict);
    check_addresses_present(&draft, version, family, strict, report);
    let auth = resolve_auth(&draft, version, strict, report);
    let auth_ah = auth.is_some_and(|(_, ah)| ah);
    let mut state = draft.state.unwrap_or(InitialState::Backup);
    // keepalived vrrp.c vrrp_complete_instance(): no `priority` with `state MASTER` is the
    // address owner's 255.
    let priority = draft.priority.unwrap_or(if state == InitialState::Master {
        255
    } else {
        DEFAULT_PRIORITY
    });
    // keepalived vrrp.c vrrp_complete_instance(): "State MASTER must match being address
    // owner" under strict mode, the state then following the priority.
    if strict && draft.state.is_some() && (state == InitialState::Master) != (priority == 255) {
        let message = format!(
            "vrrp_instance {}: with vrrp_strict, state MASTER must match being the address owner \
             (priority 255): starting as {}",
            name.text,
            if priority == 255 { "MASTER" } else { "BACKUP" }
        );
        report.warn(&name.span, message);
        state = if priority == 255 { InitialState::Master } else { InitialState::Backup };
    }
    // keepalived vrrp.c vrrp_complete_instance(): an AH router learns the sequence number
    // from an advertisement before it takes over, so it does not start as master.
    if auth_ah && state == InitialState::Master && priority != 255 {
        let message = format!(
            "vrrp_instance {}: initial state MASTER is incompatible with auth_type AH, starting \
             as BACKUP",
            name.text
        );
        report.warn(&name.span, message);
        state = InitialState::Backup;
    }
    // keepalived vrrp.c vrrp_complete_instance(): the owner and `state MASTER` clear
    // nopreempt and preempt_delay.
    let master = state == InitialState::Master;
    let mut preempt = draft.preempt.as_ref().is_none_or(|preempt| preempt.value);
    if let Some(nopreempt) =
        draft.preempt.as_ref().filter(|p| !p.value && (master || priority == 255))
    {
        let why = if master { "state MASTER" } else { "priority 255" };
        report.warn(&nopreempt.at.span, format!("nopreempt has no effect with {why}: preempting"));
        preempt = true;
    }
    let preempt_delay = draft.preempt_delay.unwrap_or_default();
    if master && !preempt_delay.is_zero() {
        let message =
            format!("preempt_delay has no effect with state MASTER (vrrp_instance {})", name.text);
        report.warn(&name.span, message);
    }
    let preempt_delay = if master { Duration::ZERO } else { preempt_delay };
    // keepalived vrrp.c vrrp_complete_instance(): "preempt_delay is incompatible with strict
    // mode - resetting".
    let preempt_delay = if strict && !preempt_delay.is_zero() {
        let message = format!(
            "vrrp_instance {}: preempt_delay is incompatible with vrrp_strict: none",
            name.text
        );
        report.warn(&name.span, message);
        Duration::ZERO
    } else {
        preempt_delay
    };
    if priority == 255 {
        check_owner_unweighted(&draft, scripts, report);
    }
    if family == Family::Ipv6 {
        check_first_link_local(&draft, strict, report);
    }
    let unicast_peers: Vec<_> = draft.unicast_peers.iter().map(|peer| peer.value.clone()).collect();
    let ttl_checked = unicast_peers.iter().any(|p| p.min_ttl.is_some() || p.max_ttl.is_some());
    // keepalived vrrp_parser.c: "Cannot use unicast_ttl without unicast peers - resetting".
    let unicast_ttl = match &draft.unicast_ttl {
        Some(ttl) if unicast_peers.is_empty() => {
            let message = format!(
                "unicast_ttl in vrrp_instance {} without unicast_peer: multicast is sent with \
                 TTL 255, ignored",
                name.text
            );
            report.warn(&ttl.at.span, message);
            None
        }
        ttl => ttl.as_ref().map(|ttl| ttl.value),
    };
    let (lower_prio_no_advert, higher_prio_send_advert) =
        resolve_advert_answers(&draft, global, strict, report);
    // keepalived vrrp.c vrrp_complete_instance(): unicast_fault_no_peer without a peer is a
    // configuration fault (the instance stays in FAULT) instead of a fall back to multicast.
    let unicast_fault_no_peer = match &draft.unicast_fault_no_peer {
        Some(word) if !unicast_peers.is_empty() => {
            let message = format!(
                "unicast_fault_no_peer in vrrp_instance {} has unicast peers: no effect",
                name.text
            );
            report.warn(&word.span, message);
            false
        }
        Some(word) => {
            let message = format!(
                "vrrp_instance {} has unicast_fault_no_peer and no unicast_peer: it stays in FAULT",
                name.text
            );
            report.warn(&word.span, message);
            true
        }
        None => false,
    };
    let mcast_group = mcast_group(&draft, family, global, report);
    // keepalived vrrp.c vrrp_complete_instance(): "Clear track_saddr if no saddr specified".
    let track_src_ip = match (&draft.track_src_ip, &draft.source_ip) {
        (Some(word), None) => {
            let message = format!(
                "track_src_ip in vrrp_instance {} without unicast_src_ip: no effect",
                name.text
            );
            report.warn(&word.span, message);
            false
        }
        (tracked, _) => tracked.is_some(),
    };
    let vmac_prefix = global.vmac_prefix.as_deref().unwrap_or(Vmac::DEFAULT_PREFIX);
    let vmac = resolve_vmac(&draft, !unicast_peers.is_empty(), (vmac_prefix, family), report);
    let interface = draft.interface.clone()?;
    let vmac_addr = draft.use_vmac_addr.is_some();
    let settle = |vips: Vec<Located<VirtualAddress>>, report: &mut Report| {
        let on = (interface.as_str(), family, vmac.is_some(), vmac_addr);
        vips.into_iter().map(|vip| settle_address_vmac(vip, on, &name.text, report)).collect()
    };
    let garp_extra_if = resolve_extra_if(&draft, global, report);
    let garp = strict_garp(resolve_garp(&draft.garp, &global.garp), &draft, strict, report);
    let owner = format!("vrrp_instance {}", name.text);
    let track_scripts = resolve_track_scripts(&owner, &draft.track_scripts, scripts, report);
    let virtual_addresses = settle(draft.virtual_addresses, report);
    let excluded_addresses = settle(draft.excluded_addresses, report);

    Some(Instance {
        name: name.text.clone(),
        state,
        interface: draft.interface?,
        vrid: draft.vrid?.value,
        priority,
        advert_interval,
        version,
        family,
        preempt,
        preempt_delay,
        strict,
        accept: accept_mode(draft.accept, strict, priority, version, name, report),
        source_ip: draft.source_ip.map(|source| source.value),
        mcast_group,
        unicast_peers,
        unicast_ttl,
        check_unicast_src: draft.check_unicast_src || global.check_unicast_src || ttl_checked,
        virtual_addresses,
        excluded_addresses,
        virtual_routes: draft.virtual_routes,
        virtual_rules: draft.virtual_rules,
        track_interfaces: draft.track_interfaces,
        track_scripts,
        notify_priority_changes: draft
            .notify_priority_changes
            .unwrap_or(global.notify_priority_changes),
        track_files: resolve_tracked_files(&owner, &draft.track_files, track_files, report),
        track_processes: resolve_tracked_processes(
            &owner,
            &draft.track_processes,
            track_processes,
            report,
        ),
        notify: draft.notify,
        garp,
        garp_extra_if,
        dont_track_primary: draft.dont_track_primary,
        // keepalived vrrp_data.c alloc_vrrp(): the global setting, unless the instance says.
        v3_checksum_as_v2: draft.v3_checksum_as_v2.unwrap_or(global.v3_checksum_as_v2),
        old_unicast_checksum: draft.old_unicast_checksum,
        track_src_ip,
        lower_prio_no_advert,
        higher_prio_send_advert,
        unicast_fault_no_peer,
        auth_pass: auth.map(|(key, _)| key),
        auth_ah,
        vmac,
        use_vmac_addr: vmac_addr,
        track_group_interfaces: Vec::new(),
        address_vmac_prefix: global
            .vmac_addr_prefix
            .clone()
            .unwrap_or_else(|| vmac_prefix.to_owned()),
    })
}

/// `use_vmac` on an address line, settled as keepalived vrrp.c vrrp_complete_instance()
/// settles it: dropped (with a warning) where the instance's own `use_vmac` already puts the
/// address on a macvlan, or where `use_vmac_addr` already does. `on` is the instance's
/// interface, family, whether it has `use_vmac`, and whether `use_vmac_addr`.
fn settle_address_vmac(
    vip: Located<VirtualAddress>,
    on: (&str, Family, bool, bool),
    name: &str,
    report: &mut Report,
) -> VirtualAddress {
    let (interface, family, instance_vmac, vmac_addr) = on;
    let mut address = vip.value;
    if !address.use_vmac {
        return address;
    }
    let same_family = address.address.is_ipv4() == (family == Family::Ipv4);
    let own_interface = address.device.as_deref().is_none_or(|dev| dev == interface);
    let why = if own_interface && same_family && instance_vmac {
        // keepalived: "use_vmac specified for VIP/eVIP %s and vrrp instance".
        Some("vrrp_instance also has use_vmac, whose macvlan holds it")
    } else if (!own_interface || !same_family) && vmac_addr {
        // keepalived: "use_vmac_addr specified and use_vmac specified for VIP/eVIP %s".
        Some("vrrp_instance has use_vmac_addr, which gives it a macvlan already")
    } else {
        None
    };
    if let Some(why) = why {
        let message =
            format!("use_vmac on {} in vrrp_instance {name}: {why}; ignored", address.address);
        report.warn(&vip.at.span, message);
        address.use_vmac = false;
    }
    address
}

/// `use_vmac [NAME]` and `vmac_xmit_base`, settled as keepalived settles them; without a
/// name, the macvlan is `PREFIX.VRID` (`vmac_prefix`).
fn resolve_vmac(
    draft: &InstanceDraft,
    unicast: bool,
    (prefix, family): (&str, Family),
    report: &mut Report,
) -> Option<Vmac> {
    let name = &draft.name.text;
    let Some((keyword, ifname)) = &draft.use_vmac else {
        // keepalived vrrp.c vrrp_complete_instance(): "vmac_xmit_base requires use_vmac".
        if let Some(word) = &draft.vmac_xmit_base {
            let message =
                format!("vmac_xmit_base in vrrp_instance {name} without use_vmac: ignored");
            report.warn(&word.span, message);
        }
        return None;
    };
    let vrid = draft.vrid.as_ref()?.value;
    let interface = draft.interface.as_deref().unwrap_or_default();
    let ifname = match ifname {
        None => Vmac::names(prefix, family, vrid).next()?,
        Some(word) => {
            // A MAC address of its own (keepalived's second form) is not supported.
            if word.text.contains(':') {
                let message = format!(
                    "use_vmac {} in vrrp_instance {name}: a MAC address of one's own is not \
                     supported (the virtual MAC of RFC 9568 is used)",
                    word.text
                );
                report.error_at(&word.span, message);
                return None;
            }
            if let Err(why) = interface_name(&word.text) {
                report.invalid("use_vmac", word, why);
                return None;
            }
            word.text.clone()
        }
    };
    if ifname == interface {
        let message = format!(
            "use_vmac {ifname} in vrrp_instance {name} names its own interface: the macvlan \
             needs a name of its own"
        );
        report.error_at(&keyword.span, message);
        return None;
    }
    let mut xmit_base = draft.vmac_xmit_base.is_some();
    // keepalived vrrp_parser.c vrrp_end_handler(): "unicast with use_vmac requires
    // vmac_xmit_base - setting".
    if unicast && !xmit_base {
        let message = format!(
            "vrrp_instance {name} is unicast with use_vmac: vmac_xmit_base is required, set"
        );
        report.warn(&keyword.span, message);
        xmit_base = true;
    }
    Some(Vmac { name: ifname, xmit_base })
}

/// An interface name the kernel takes (keepalived vrrp_parser.c dev_name_valid(), after the
/// kernel's): 1 to 15 bytes (IFNAMSIZ with its NUL), not `.` or `..`, no `/`, `:` or space.
fn interface_name(name: &str) -> Result<(), &'static str> {
    const IFNAMSIZ: usize = 16;
    if name.is_empty() || name.len() >= IFNAMSIZ {
        return Err("an interface name of 1 to 15 characters");
    }
    if name == "."
        || name == ".."
        || name.chars().any(|c| c == '/' || c == ':' || c.is_whitespace())
    {
        return Err("an interface name (no '/', ':' or spaces, not '.' or '..')");
    }
    Ok(())
}

/// `lower_prio_no_advert` and `higher_prio_send_advert`, each the instance's, else the
/// global default; strict mode (the instance's, else `vrrp_strict`) forces the first on and the second off, saying so when the
/// instance asked otherwise (keepalived vrrp.c vrrp_complete_instance()).
fn resolve_advert_answers(
    draft: &InstanceDraft,
    global: &Global,
    strict: bool,
    report: &mut Report,
) -> (bool, bool) {
    let name = &draft.name.text;
    let lower = match &draft.lower_prio_no_advert {
        Some(set) if strict && !set.value => {
            let message =
                format!("vrrp_strict requires lower_prio_no_advert (vrrp_instance {name}): set");
            report.warn(&set.at.span, message);
            true
        }
        Some(set) => set.value,
        None => strict || global.lower_prio_no_advert,
    };
    let higher = match &draft.higher_prio_send_advert {
        Some(set) if strict && set.value => {
            let message = format!(
                "vrrp_strict requires higher_prio_send_advert off (vrrp_instance {name}): cleared"
            );
            report.warn(&set.at.span, message);
            false
        }
        Some(set) => set.value,
        None => !strict && global.higher_prio_send_advert,
    };
    (lower, higher)
}

/// The VRRPv2 password or AH key, and whether it is AH, as keepalived settles them (vrrp.c
/// vrrp_complete_instance()).
fn resolve_auth(
    draft: &InstanceDraft,
    version: Version,
    strict: bool,
    report: &mut Report,
) -> Option<([u8; 8], bool)> {
    let name = &draft.name.text;
    let Some(auth_type) = &draft.auth_type else {
        if let Some(pass) = &draft.auth_pass {
            let message =
                format!("auth_pass without auth_type PASS in vrrp_instance {name}, ignored");
            report.warn(&pass.at.span, message);
        }
        return None;
    };
    // keepalived: "Strict mode does not support authentication. Ignoring.", checked first.
    if strict {
        let message = format!(
            "vrrp_instance {name}: vrrp_strict does not allow authentication, auth_type ignored"
        );
        report.warn(&auth_type.span, message);
        return None;
    }
    if version == Version::V3 {
        let message = format!(
            "vrrp_instance {name}: VRRP version 3 has no authentication, auth_type ignored"
        );
        report.warn(&auth_type.span, message);
        return None;
    }
    let password = draft.auth_pass.as_ref().map(|pass| pass.value);
    if auth_type.text == "AH" {
        // keepalived: "Authentication specified but no password given. Ignoring".
        if password.is_none_or(|key| key[0] == 0) {
            let message =
                format!("auth_type AH without auth_pass in vrrp_instance {name}, ignored");
            report.warn(&auth_type.span, message);
            return None;
        }
        return password.map(|key| (key, true));
    }
    if password.is_none() {
        let message =
            format!("auth_type PASS without auth_pass in vrrp_instance {name}: an empty password");
        report.warn(&auth_type.span, message);
    }
    Some((password.unwrap_or_default(), false))
}

/// keepalived vrrp.c vrrp_complete_instance(): "No VIP specified; at least one is required"
/// for VRRP version 3, IPv6 and strict mode (the instance, and with it the file, refused);
/// otherwise "at least one is sensible".
fn check_addresses_present(
    draft: &InstanceDraft,
    version: Version,
    family: Family,
    strict: bool,
    report: &mut Report,
) {
    if !draft.virtual_addresses.is_empty() {
        return;
    }
    let name = &draft.name.text;
    let why = match (strict, version, family) {
        (true, _, _) => "vrrp_strict",
        (_, Version::V3, _) => "VRRP version 3",
        (_, _, Family::Ipv6) => "IPv6",
        _ => {
            report.warn(&draft.name.span, format!("vrrp_instance {name} has no virtual_ipaddress"));
            return;
        }
    };
    let message = format!("vrrp_instance {name} has no virtual_ipaddress, which {why} requires");
    report.error_line(&draft.name.span, message);
}

/// keepalived vrrp.c vrrp_complete_instance(): strict mode sends no announcements in answer to
/// lower priorities, whatever the global defaults, and resets an instance's own ("Strict mode
/// requires no repeat garps", "... no repeat garp delay").
fn strict_garp(mut garp: Garp, draft: &InstanceDraft, strict: bool, report: &mut Report) -> Garp {
    if !strict {
        return garp;
    }
    let name = &draft.name.text;
    let set = [
        ("garp_lower_prio_repeat", draft.garp.lower_prio_repeat.is_some_and(|r| r != 0)),
        ("garp_lower_prio_delay", draft.garp.lower_prio_delay.is_some_and(|d| !d.is_zero())),
    ];
    for (keyword, _) in set.iter().filter(|(_, set)| *set) {
        let message = format!("vrrp_instance {name}: vrrp_strict requires no {keyword}: 0");
        report.warn(&draft.name.span, message);
    }
    garp.lower_prio_repeat = 0;
    garp.lower_prio_delay = Duration::ZERO;
    garp
}

/// keepalived vrrp.c vrrp_complete_instance() drops every weighted tracked item of the address
/// owner (its priority never moves): refused here, so the file says what runs.
fn check_owner_unweighted(draft: &InstanceDraft, scripts: &[Script], report: &mut Report) {
    let name = &draft.name.text;
    for tracked in draft.track_interfaces.iter().filter(|t| t.weight != 0) {
        let message = format!(
            "vrrp_instance {name} has priority 255, whose priority never moves: track_interface \
             {} needs weight 0",
            tracked.name
        );
        report.error_line(&draft.name.span, message);
    }
    let weight = |name: &str| scripts.iter().find(|s| s.name == name).map_or(0, |s| s.weight);
    let weighted = |t: &&Located<TrackedScriptDraft>| {
        t.value.weight.unwrap_or_else(|| weight(&t.at.text)) != 0
    };
    for tracked in draft.track_scripts.iter().filter(weighted) {
        let message = format!(
            "track_script \"{}\" in vrrp_instance {name} (priority 255, whose priority never \
             moves) needs weight 0",
            tracked.at.text
        );
        report.error_at(&tracked.at.span, message);
    }
}

/// keepalived vrrp.c vrrp_complete_instance(): accept mode unless strict, where only the address
/// owner accepts; and strict VRRPv2 has no accept mode (RFC 3768), which it resets with a
/// warning.
fn accept_mode(
    configured: Option<bool>,
    strict: bool,
    priority: u8,
    version: Version,
    name: &Word,
    report: &mut Report,
) -> bool {
    let owner = priority == 255;
    let accept = configured.unwrap_or(!strict || owner);
    if accept && !owner && strict && version == Version::V2 {
        report.warn(
            &name.span,
            format!(
                "vrrp_instance {}: accept mode for VRRP version 2 does not comply with RFC 3768 \
             with vrrp_strict; it does not accept",
                name.text
            ),
        );
        return false;
    }
    accept
}

/// RFC 9568 §5.2.9 asks for a link-local first IPv6 address. keepalived (vrrp.c
/// vrrp_complete_instance()) only says so, for multicast instances, and advertises the
/// addresses as written; under `vrrp_strict` it is an error. vrrpd does the same, so the two
/// interoperate (FRR advertises a global address alone, too).
fn check_first_link_local(draft: &InstanceDraft, strict: bool, report: &mut Report) {
    let Some(first) = draft.virtual_addresses.first() else { return };
    let IpAddr::V6(address) = first.value.address else { return };
    if address.is_unicast_link_local() || !draft.unicast_peers.is_empty() {
        return;
    }
    let name = &draft.name.text;
    if strict {
        let message = format!(
            "the first virtual_ipaddress of IPv6 vrrp_instance {name} must be link-local with \
             vrrp_strict (RFC 9568 §5.2.9): list an fe80:: address first"
        );
        report.error_at(&first.at.span, message);
    } else {
        let message = format!(
            "the first virtual_ipaddress of IPv6 vrrp_instance {name} should be link-local \
             (RFC 9568 §5.2.9); advertised as written, as keepalived does"
        );
        report.warn(&first.at.span, message);
    }
}

/// The group a multicast instance sends to and hears on. keepalived vrrp.c
/// vrrp_complete_instance(): `mcast_dst_ip`, else the global group of the family; a unicast
/// instance ignores `mcast_dst_ip`, with a warning.
fn mcast_group(
    draft: &InstanceDraft,
    family: Family,
    global: &Global,
    report: &mut Report,
) -> Option<IpAddr> {
    if !draft.unicast_peers.is_empty() {
        if let Some(group) = &draft.mcast_dst_ip {
            let message = format!(
                "mcast_dst_ip in vrrp_instance {} has unicast peers: ignored",
                draft.name.text
            );
            report.warn_at(&group.at.span, message);
        }
        return None;
    }
    let configured = draft.mcast_dst_ip.as_ref().map(|group| group.value);
    Some(configured.filter(|group| Family::of(group) == family).unwrap_or(match family {
        Family::Ipv4 => global.mcast_group4.into(),
        Family::Ipv6 => global.mcast_group6.into(),
    }))
}

/// The family of the advertised addresses; every address-like setting must agree with it.
/// keepalived allows mixed families only in `virtual_ipaddress_excluded`.
fn instance_family(draft: &InstanceDraft, report: &mut Report) -> Family {
    let name = &draft.name.text;
    let (family, from) = match draft.virtual_addresses.first() {
        Some(first) => (Family::of(&first.value.address), "its first virtual_ipaddress"),
        None => {
            if draft.native_ipv6.is_some() {
                (Family::Ipv6, "native_ipv6")
            } else if let Some(source) = &draft.source_ip {
                (Family::of(&source.value), "its unicast_src_ip")
            } else if let Some(peer) = draft.unicast_peers.first() {
                (Family::of(&peer.value.address), "its first unicast_peer")
            } else {
                (Family::Ipv4, "the default")
            }
        }
    };
    let mut check = |what: &str, word: &Word, other: Family| {
        if other != family {
            let message = format!(
                "{what} \"{}\" is {other} but vrrp_instance {name} is {family} ({from})",
                word.text
            );
            report.error_at(&word.span, message);
        }
    };
    for vip in &draft.virtual_addresses {
        check("virtual_ipaddress", &vip.at, Family::of(&vip.value.address));
    }
    if let Some(native) = &draft.native_ipv6 {
        check("keyword", native, Family::Ipv6);
    }
    if let Some(source) = &draft.source_ip {
        check("unicast_src_ip", &source.at, Family::of(&source.value));
    }
    if let Some(group) = &draft.mcast_dst_ip {
        check("mcast_dst_ip", &group.at, Family::of(&group.value));
    }
    for peer in &draft.unicast_peers {
        check("unicast_peer", &peer.at, Family::of(&peer.value.address));
    }
    if let Some(extra) = draft.unicast_peers.get(MAX_UNICAST_PEERS) {
        let message = format!(
            "vrrp_instance {name} lists more than {MAX_UNICAST_PEERS} unicast peers, the most \
             an instance may have"
        );
        report.error_at(&extra.at.span, message);
    }
    for (index, peer) in draft.unicast_peers.iter().enumerate() {
        let earlier = &draft.unicast_peers[..index];
        if earlier.iter().any(|other| other.value.address == peer.value.address) {
            let message =
                format!("duplicate unicast_peer {} in vrrp_instance {name}", peer.at.text);
            report.error_at(&peer.at.span, message);
        }
        if let (Some(min), Some(max)) = (peer.value.min_ttl, peer.value.max_ttl) {
            if min > max {
                let message =
                    format!("unicast_peer {}: min_ttl {min} is above max_ttl {max}", peer.at.text);
                report.error_at(&peer.at.span, message);
            }
        }
    }
    family
}

/// VRRPv2 carries whole seconds (1..=255); VRRPv3 centiseconds (0.01..=40.95).
fn check_advert_interval(interval: Duration, version: Version, word: &Word, report: &mut Report) {
    let expected = match version {
        Version::V2 => {
            let whole = interval.subsec_nanos() == 0 && (1..=255).contains(&interval.as_secs());
            (!whole).then_some("expected whole seconds from 1 to 255 with VRRP version 2")
        }
        Version::V3 => {
            let nanos = interval.as_nanos();
            let centis = nanos / 10_000_000;
            let valid =
                nanos.is_multiple_of(10_000_000) && (1..=V3_MAX_ADVERT_CENTIS).contains(&centis);
            (!valid).then_some(
                "expected seconds from 0.01 to 40.95 in steps of 0.01 with VRRP version 3",
            )
        }
    };
    if let Some(expected) = expected {
        report.invalid("advert_int", word, expected);
    }
}

/// `owner` says where the list is: `vrrp_instance VI_1` or `vrrp_sync_group G`.
fn resolve_track_scripts(
    owner: &str,
    entries: &[Located<TrackedScriptDraft>],
    scripts: &[Script],
    report: &mut Report,
) -> Vec<TrackedScript> {
    let mut tracked = Vec::new();
    for entry in entries {
        let Some(script) = scripts.iter().find(|script| script.name == entry.at.text) else {
            let message =
                format!("track_script \"{}\" in {owner} names no vrrp_script", entry.at.text);
            report.error_at(&entry.at.span, message);
            continue;
        };
        tracked.push(TrackedScript {
            name: script.name.clone(),
            weight: entry.value.weight.unwrap_or(script.weight),
            reverse: entry.value.reverse.unwrap_or(script.reverse),
        });
    }
    tracked
}

/// One VRID per interface and family, so that adverts reach one instance. keepalived lets
/// unicast instances share a VRID when their peers differ, but vrrpd's receive path keys an
/// instance on interface, VRID and family, so the second is refused at its line.
fn check_vrid_unique(
    instance: &Instance,
    earlier: &[Instance],
    vrid_word: &Word,
    report: &mut Report,
) {
    for other in earlier {
        let same_link = other.interface == instance.interface
            && other.vrid == instance.vrid
            && other.family == instance.family;
        if same_link {
            let message = format!(
                "virtual_router_id {} on {} ({}) is already used by vrrp_instance {}",
                instance.vrid, instance.interface, instance.family, other.name
            );
            report.error_at(&vrid_word.span, message);
            return;
        }
    }
}

fn resolve_sync_groups(
    drafts: Vec<SyncGroupDraft>,
    instances: &mut [Instance],
    scripts: &[Script],
    (track_files, track_processes): (&[TrackFile], &[TrackProcess]),
    report: &mut Report,
) -> Vec<SyncGroup> {
    let mut groups: Vec<SyncGroup> = Vec::new();
    let mut seen: HashMap<String, Span> = HashMap::new();
    let mut member_of: HashMap<String, String> = HashMap::new();
    for draft in drafts {
        let name = draft.name;
        if let Some(first) = seen.get(&name.text) {
            let message =
                format!("duplicate vrrp_sync_group {} (first defined {})", name.text, at(first));
            report.error_line(&name.span, message);
            continue;
        }
        seen.insert(name.text.clone(), name.span.clone());
        if draft.members.is_empty() {
            // keepalived vrrp.c vrrp_complete_init(): "Sync group %s has no virtual router(s).
            // removing", and it runs without the group.
            let message = format!(
                "vrrp_sync_group {} lists no vrrp_instance (no group {{ ... }}): left out, as \
                 keepalived does",
                name.text
            );
            report.warn(&name.span, message);
            continue;
        }
        let mut members = Vec::new();
        for member in draft.members {
            if !instances.iter().any(|instance| instance.name == member.text) {
                let message = format!(
                    "vrrp_sync_group {} lists \"{}\", which is no vrrp_instance",
                    name.text, member.text
                );
                report.error_at(&member.span, message);
            } else if let Some(group) = member_of.get(&member.text) {
                let message =
                    format!("vrrp_instance {} is already in vrrp_sync_group {group}", member.text);
                report.error_at(&member.span, message);
            } else {
                member_of.insert(member.text.clone(), name.text.clone());
                members.push(member.text);
            }
        }
        let owner = format!("vrrp_sync_group {}", name.text);
        let group_scripts = resolve_track_scripts(&owner, &draft.track_scripts, scripts, report);
        let group_files = resolve_tracked_files(&owner, &draft.track_files, track_files, report);
        let group_processes =
            resolve_tracked_processes(&owner, &draft.track_processes, track_processes, report);
        let group = SyncGroup {
            name: name.text,
            members,
            notify: draft.notify,
            tracking_weight: draft.tracking_weight,
        };
        for instance in instances.iter_mut().filter(|i| group.members.contains(&i.name)) {
            // keepalived vrrp.c vrrp_complete_instance(): the group's setting wins.
            if let Some(notify) = draft.notify_priority_changes {
                instance.notify_priority_changes = notify;
            }
            apply_group_tracking(
                &group,
                GroupTracking {
                    interfaces: &draft.track_interfaces,
                    scripts: &group_scripts,
                    files: &group_files,
                    processes: &group_processes,
                },
                instance,
                &name.span,
                report,
            );
        }
        groups.push(group);
    }
    groups
}

/// keepalived's tracking rule for a sync group member. Without `sync_group_tracking_weight`
/// the member's own tracked interfaces lose their weight (down is FAULT) and its weighted
/// scripts are dropped (vrrp.c vrrp_complete_instance()): floating priorities would let the
/// members' elections part ways. The group's tracked items then apply to every member with the
/// group's weights, none for an address owner, and where the member already tracks the same
/// item with a weight, the group's weight wins (vrrp.c sync_group_tracking_init(),
/// add_vrrp_to_track_script()).
fn apply_group_tracking(
    group: &SyncGroup,
    tracking: GroupTracking<'_>,
    instance: &mut Instance,
    group_span: &Span,
    report: &mut Report,
) {
    if !group.tracking_weight {
        for tracked in instance.track_interfaces.iter_mut().filter(|t| t.weight != 0) {
            let message = format!(
                "vrrp_instance {}: the weight of track_interface {} is ignored in vrrp_sync_group \
                 {} (down is FAULT), as keepalived does; sync_group_tracking_weight keeps it",
                instance.name, tracked.name, group.name
            );
            report.warn(group_span, message);
            tracked.weight = 0;
        }
        let (kept, weighted): (Vec<_>, Vec<_>) =
            std::mem::take(&mut instance.track_scripts).into_iter().partition(|t| t.weight == 0);
        for tracked in weighted {
            let message = format!(
                "vrrp_instance {}: track_script {} with a weight is ignored in vrrp_sync_group {}, \
                 as keepalived does; sync_group_tracking_weight keeps it",
                instance.name, tracked.name, group.name
            );
            report.warn(group_span, message);
        }
        instance.track_scripts = kept;
        // A file's default weight (1) becomes 0 (any non-zero value is a FAULT); a file with
        // a weight written out is ignored.
        let mut files = Vec::new();
        for mut tracked in std::mem::take(&mut instance.track_files) {
            if tracked.weight == 1 {
                tracked.weight = 0;
            } else if tracked.weight != 0 {
                let message = format!(
                    "vrrp_instance {}: track_file {} with weight {} is ignored in \
                     vrrp_sync_group {}, as keepalived does; sync_group_tracking_weight keeps it",
                    instance.name, tracked.name, tracked.weight, group.name
                );
                report.warn(group_span, message);
                continue;
            }
            files.push(tracked);
        }
        instance.track_files = files;
    }
    let owner = instance.priority == u8::MAX;
    let GroupTracking { interfaces, scripts, files, processes } = tracking;
    for tracked in interfaces {
        let weight = if owner { 0 } else { tracked.weight };
        match instance.track_interfaces.iter_mut().find(|t| t.name == tracked.name) {
            Some(own) if own.weight != 0 => {
                own.weight = weight;
                own.reverse = tracked.reverse;
            }
            Some(_) => {}
            None => instance.track_interfaces.push(TrackedInterface { weight, ..tracked.clone() }),
        }
    }
    for tracked in scripts {
        let weight = if owner { 0 } else { tracked.weight };
        match instance.track_scripts.iter_mut().find(|t| t.name == tracked.name) {
            Some(own) if own.weight != 0 => {
                own.weight = weight;
                own.reverse = tracked.reverse;
            }
            Some(_) => {}
            None => instance.track_scripts.push(TrackedScript { weight, ..tracked.clone() }),
        }
    }
    for tracked in files {
        let weight = if owner { 0 } else { tracked.weight };
        match instance.track_files.iter_mut().find(|t| t.name == tracked.name) {
            Some(own) if own.weight != 0 => {
                own.weight = weight;
                own.reverse = tracked.reverse;
            }
            Some(_) => {}
            None => instance.track_files.push(TrackedFile { weight, ..tracked.clone() }),
        }
    }
    // keepalived vrrp.c add_vrrp_to_track_process(): the group's weight wins over a weighted
    // entry of the member's own; a member's own weighted processes are kept (2.2.7 drops
    // weights for scripts and files only).
    for tracked in processes {
        let weight = if owner { 0 } else { tracked.weight };
        match instance.track_processes.iter_mut().find(|t| t.name == tracked.name) {
            Some(own) if own.weight != 0 => own.weight = weight,
            Some(_) => {}
            None => instance.track_processes.push(TrackedProcess { weight, ..tracked.clone() }),
        }
    }
}

/// What a sync group tracks, for each of its members.
#[derive(Clone, Copy)]
struct GroupTracking<'a> {
    interfaces: &'a [TrackedInterface],
    scripts: &'a [TrackedScript],
    files: &'a [TrackedFile],
    processes: &'a [TrackedProcess],
}
