//! keepalived.conf keywords (VRRP part): turns the statement tree into a [`Draft`].
//!
//! The TOML format lowers into the same tree, so both formats share these rules and messages.
//! Unknown keywords are warnings; what vrrpd does with the keywords keepalived knows is in the
//! keyword table (`keywords.rs`), which says what is reported when it does not act on one;
//! invalid values are errors.

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use crate::diagnostic::{Report, Word};
use crate::draft::{
    Draft, FifoDraft, GarpDraft, GarpGroupDraft, GlobalDraft, InstanceDraft, Located, ScriptDraft,
    StaticTag, SyncGroupDraft, TrackFileDraft, TrackGroupDraft, TrackProcessDraft,
    TrackedScriptDraft,
};
use crate::keywords::{self, Block, Support};
use crate::model::{
    Command, ExtraInterfaces, FileInit, Notify, OldChecksumPolicy, ParamMatch, Route, Rule, RunAs,
    TrackedInterface, UnicastPeer, VirtualAddress,
};
use crate::routes;
use crate::syntax::Node;
use crate::values::{self, Parsed};

/// keepalived's VRRP_PRIO_DFL.
const DEFAULT_PRIORITY: u8 = 100;

/// An option inside an address, peer or tracking line, such as `dev eth0` or `no_track`;
/// what vrrpd does with it is in the keyword table.
struct OptionSpec {
    name: &'static str,
    takes_value: bool,
}

const fn option(name: &'static str, takes_value: bool) -> OptionSpec {
    OptionSpec { name, takes_value }
}

/// keepalived vrrp_ipaddress.c parse_ipaddress().
const ADDRESS_OPTIONS: &[OptionSpec] = &[
    option("dev", true),
    option("label", true),
    option("scope", true),
    option("brd", true),
    option("broadcast", true),
    option("no_track", false),
    option("peer", true),
    option("preferred_lft", true),
    option("track_group", true),
    option("home", false),
    option("-nodad", false),
    option("mngtmpaddr", false),
    option("noprefixroute", false),
    option("autojoin", false),
    option("use_vmac", false),
];

/// `mac` is a vrrpd extension (keepalived rejects it): the peer's MAC address, pinned so that
/// adverts need no ARP/ND resolution.
const PEER_OPTIONS: &[OptionSpec] =
    &[option("min_ttl", true), option("max_ttl", true), option("mac", true)];

const TRACK_OPTIONS: &[OptionSpec] = &[
    option("weight", true),
    option("reverse", false),
    option("noreverse", false),
    option("no_reverse", false),
];

/// Reads the statement tree into a draft, reporting what is wrong on the way.
/// With `allow_unsupported`, keywords whose absence can change which node holds the virtual
/// addresses are warnings instead of errors.
pub(crate) fn read_tree(nodes: &[Node], report: &mut Report, allow_unsupported: bool) -> Draft {
    let mut grammar = Grammar { report, allow_unsupported };
    let mut draft = Draft::default();
    for node in nodes {
        grammar.top_level(&mut draft, node);
    }
    draft
}

struct Grammar<'r> {
    report: &'r mut Report,
    allow_unsupported: bool,
}

impl Grammar<'_> {
    fn top_level(&mut self, draft: &mut Draft, node: &Node) {
        self.support(Block::TopLevel, &node.keyword, "at top level");
        match node.keyword.text.as_str() {
            "global_defs" => {
                self.no_args(node);
                for child in self.block(node) {
                    self.global(&mut draft.global, child);
                }
            }
            "vrrp_instance" => {
                let Some(name) = self.name(node) else { return };
                let context = format!("in vrrp_instance {}", name.text);
                let mut instance = InstanceDraft::new(name);
                for child in self.block(node) {
                    self.instance(&mut instance, child, &context);
                }
                draft.instances.push(instance);
            }
            "vrrp_script" => {
                let Some(name) = self.name(node) else { return };
                let context = format!("in vrrp_script {}", name.text);
                let mut script = ScriptDraft {
                    name,
                    argv: None,
                    interval: None,
                    timeout: None,
                    weight: None,
                    reverse: false,
                    rise: None,
                    fall: None,
                    run_as: None,
                    init_fail: false,
                };
                for child in self.block(node) {
                    self.script(&mut script, child, &context);
                }
                draft.scripts.push(script);
            }
            "vrrp_sync_group" => {
                let Some(name) = self.name(node) else { return };
                let context = format!("in vrrp_sync_group {}", name.text);
                let mut group = SyncGroupDraft {
                    name,
                    members: Vec::new(),
                    notify: Notify::default(),
                    track_interfaces: Vec::new(),
                    track_scripts: Vec::new(),
                    track_files: Vec::new(),
                    track_processes: Vec::new(),
                    notify_priority_changes: None,
                    tracking_weight: false,
                };
                for child in self.block(node) {
                    self.sync_group(&mut group, child, &context);
                }
                draft.sync_groups.push(group);
            }
            "static_ipaddress" => {
                self.no_args(node);
                for entry in self.block(node) {
                    let Some((address, group)) = self.tagged_address("static_ipaddress", entry)
                    else {
                        continue;
                    };
                    if let Some(group) = group {
                        let vip = &address.value;
                        draft.static_tags.push(StaticTag {
                            group,
                            entry: format!("static_ipaddress {}", address.at.text),
                            interface: vip.device.clone(),
                            no_track: vip.no_track,
                        });
                    }
                    draft.static_addresses.push(address);
                }
            }
            "static_routes" => {
                self.no_args(node);
                for entry in self.block(node) {
                    self.no_block(entry);
                    let (words, group) = self.take_track_group(routes::line_words(entry));
                    let report = &mut *self.report;
                    let Some(route) = routes::route(&words, report, self.allow_unsupported) else {
                        continue;
                    };
                    if let Some(group) = group {
                        draft.static_tags.push(StaticTag {
                            group,
                            entry: format!("static route {route}"),
                            interface: route.device.clone(),
                            no_track: route.no_track,
                        });
                    }
                    draft.static_routes.push(route);
                }
            }
            "static_rules" => {
                self.no_args(node);
                for entry in self.block(node) {
                    self.no_block(entry);
                    let (words, group) = self.take_track_group(routes::line_words(entry));
                    let report = &mut *self.report;
                    let Some(rule) = routes::rule(&words, report, self.allow_unsupported) else {
                        continue;
                    };
                    if let Some(group) = group {
                        draft.static_tags.push(StaticTag {
                            group,
                            entry: format!("static rule {rule}"),
                            interface: rule.input_interface.clone(),
                            no_track: rule.no_track,
                        });
                    }
                    draft.static_rules.push(rule);
                }
            }
            "track_group" => {
                let Some(name) = self.name(node) else { return };
                let mut group = TrackGroupDraft { name, members: None };
                for child in self.block(node) {
                    self.track_group(&mut group, child);
                }
                draft.track_groups.push(group);
            }
            // keepalived track_file.c: `vrrp_track_file` is the older name.
            "track_file" | "vrrp_track_file" => {
                let Some(name) = self.name(node) else { return };
                let context = format!("in track_file {}", name.text);
                let mut file =
                    TrackFileDraft { name, path: None, weight: None, reverse: false, init: None };
                for child in self.block(node) {
                    self.track_file(&mut file, child, &context);
                }
                draft.track_files.push(file);
            }
            "vrrp_track_process" => {
                let Some(name) = self.name(node) else { return };
                let context = format!("in vrrp_track_process {}", name.text);
                let mut process = TrackProcessDraft {
                    name,
                    process: None,
                    param_match: None,
                    full_command: false,
                    quorum: None,
                    quorum_max: None,
                    terminate_delay: None,
                    fork_delay: None,
                    weight: None,
                    reverse: false,
                };
                for child in self.block(node) {
                    self.track_process(&mut process, child, &context);
                }
                draft.track_processes.push(process);
            }
            "garp_group" => {
                self.no_args(node);
                let mut group = GarpGroupDraft {
                    at: node.keyword.clone(),
                    garp_interval: None,
                    gna_interval: None,
                    interfaces: Vec::new(),
                };
                for child in self.block(node) {
                    self.garp_group(&mut group, child);
                }
                draft.garp_groups.push(group);
            }
            _ => self.unknown(node, Block::TopLevel, "at top level"),
        }
    }

    /// One line of `garp_group { }` (keepalived vrrp_parser.c garp_group_*_handler()).
    fn garp_group(&mut self, group: &mut GarpGroupDraft, node: &Node) {
        self.support(Block::GarpGroup, &node.keyword, "in garp_group");
        match node.keyword.text.as_str() {
            "garp_interval" => group.garp_interval = self.value(node, values::seconds),
            "gna_interval" => group.gna_interval = self.value(node, values::seconds),
            "interface" => group.interfaces.extend(self.single(node).cloned()),
            "interfaces" => {
                self.no_args(node);
                let entries = self.block(node);
                if entries.is_empty() {
                    self.report.warn(&node.keyword.span, "empty garp_group interfaces block");
                }
                for entry in entries {
                    self.no_block(entry);
                    group.interfaces.push(entry.keyword.clone());
                    group.interfaces.extend(entry.args.iter().cloned());
                }
            }
            _ => self.unknown(node, Block::GarpGroup, "in garp_group"),
        }
    }

    fn global(&mut self, global: &mut GlobalDraft, node: &Node) {
        let keyword = node.keyword.text.as_str();
        self.support(Block::GlobalDefs, &node.keyword, "in global_defs");
        match keyword {
            "router_id" => global.router_id = self.single(node).map(|word| word.text.clone()),
            "vrrp_version" => global.version = self.value(node, values::version),
            "vrrp_garp_interval" => global.garp_interval = self.value(node, values::seconds),
            "vrrp_gna_interval" => global.gna_interval = self.value(node, values::seconds),
            "vrrp_min_garp" => global.min_garp = self.flag(node),
            "vrrp_garp_extra_if" | "vrrp_vmac_garp_intvl" => {
                global.garp_extra_if = self.extra_if(node);
            }
            "script_user" => global.script_user = self.run_as(node, &node.args),
            "enable_script_security" => global.enable_script_security = self.flag(node),
            "vrrp_strict" => global.strict = self.flag(node),
            "vrrp_check_unicast_src" => global.check_unicast_src = self.flag(node),
            "vrrp_skip_check_adv_addr" => global.skip_check_adv_addr = self.flag(node),
            // keepalived global_parser.c v3_checksum_as_v2(): a flag, the instances' default.
            "v3_checksum_as_v2" => global.v3_checksum_as_v2 = self.flag(node),
            "notify_fifo" => self.fifo(&mut global.notify_fifo, node),
            "vrrp_notify_fifo" => self.fifo(&mut global.vrrp_notify_fifo, node),
            "notify_fifo_script" => self.fifo_script(&mut global.notify_fifo, node),
            "vrrp_notify_fifo_script" => self.fifo_script(&mut global.vrrp_notify_fifo, node),
            "vrrp_notify_priority_changes" => global.notify_priority_changes = self.flag(node),
            // keepalived global_parser.c: a timer of up to UINT_MAX microseconds.
            "vrrp_startup_delay" => {
                global.startup_delay = self.value(node, |text| values::seconds_up_to(text, 4294))
            }
            "vrrp_delay_after_boot" => {
                global.delay_after_boot = self.value(node, |text| values::seconds_up_to(text, 4294))
            }
            "vrrp_lower_prio_no_advert" => global.lower_prio_no_advert = self.flag(node),
            "vrrp_higher_prio_send_advert" => {
                global.higher_prio_send_advert = Some(self.flag(node))
            }
            "vmac_prefix" => self.vmac_prefix(&mut global.vmac_prefix, node),
            "vmac_addr_prefix" => self.vmac_prefix(&mut global.vmac_addr_prefix, node),
            "fifo_write_vrrp_states_on_reload" => {
                global.fifo_write_states_on_reload = self.flag(node)
            }
            // keepalived global_parser.c get_priority(): a nice value, -20 to 19.
            "vrrp_priority" => {
                global.nice =
                    self.value(node, |text| values::integer(text, -20, 19).map(|n| n as i8))
            }
            "vrrp_rt_priority" => global.realtime_priority = self.realtime_priority(node),
            "vrrp_rlimit_rttime" | "vrrp_rlimit_rtime" => {
                global.rlimit_rttime_us = self.rlimit_rttime(node)
            }
            "vrrp_no_swap" => global.no_swap = self.flag(node),
            "vrrp_mcast_group4" => {
                // keepalived global_parser.c vrrp_mcast_group4_handler(): IPv4, multicast.
                global.mcast_group4 = self.value(node, |text| {
                    text.parse::<std::net::Ipv4Addr>()
                        .ok()
                        .filter(std::net::Ipv4Addr::is_multicast)
                        .ok_or_else(|| "expected an IPv4 multicast address".to_string())
                });
            }
            "vrrp_mcast_group6" => {
                // keepalived global_parser.c vrrp_mcast_group6_handler(): IPv6, multicast.
                global.mcast_group6 = self.value(node, |text| {
                    text.parse::<std::net::Ipv6Addr>()
                        .ok()
                        .filter(std::net::Ipv6Addr::is_multicast)
                        .ok_or_else(|| "expected an IPv6 multicast address".to_string())
                });
            }
            _ => {
                let garp_key = keyword.strip_prefix("vrrp_").unwrap_or("");
                if self.garp(&mut global.garp, garp_key, node) {
                    return;
                }
                self.unknown(node, Block::GlobalDefs, "in global_defs");
            }
        }
    }

    /// `vrrp_rt_priority N`: keepalived global_parser.c get_realtime_priority() takes any
    /// integer and brings it into SCHED_RR's range (1 to 99) with an error; here a warning, as
    /// the value brought in is used.
    fn realtime_priority(&mut self, node: &Node) -> Option<u8> {
        let located = self.located(node, |text| values::integer(text, i64::MIN, i64::MAX))?;
        let used = located.value.clamp(1, 99);
        if used != located.value {
            let bound = if used == 1 { "minimum" } else { "maximum" };
            let message =
                format!("vrrp_rt_priority {} is past the {bound}: {used} is used", located.value);
            self.report.warn_at(&located.at.span, message);
        }
        Some(used as u8)
    }

    /// `vrrp_rlimit_rttime MICROSECONDS` (old name `vrrp_rlimit_rtime`): keepalived
    /// global_parser.c get_rt_rlimit() takes 1 to UINT32_MAX and makes 1 into 2, since the soft
    /// limit is half of it.
    fn rlimit_rttime(&mut self, node: &Node) -> Option<u32> {
        if node.keyword.text == "vrrp_rlimit_rtime" {
            self.report.warn_at(
                &node.keyword.span,
                "vrrp_rlimit_rtime is deprecated (keepalived's old name): use vrrp_rlimit_rttime",
            );
        }
        self.value(node, |text| {
            values::integer(text, 1, u32::MAX.into()).map(|us| us.max(2) as u32)
        })
    }

    /// `vmac_prefix` / `vmac_addr_prefix PREFIX`: the start of the names of the macvlans the
    /// daemon makes. keepalived global_parser.c vrrp_vmac_prefix_handler() keeps the first and
    /// ignores another with an error; here a warning, as the first still runs. A prefix must
    /// make interface names (no `/`, `:` or blank; vrrpd also asks for ASCII, so that it can
    /// be cut to fit IFNAMSIZ as keepalived cuts it).
    fn vmac_prefix(&mut self, prefix: &mut Option<String>, node: &Node) {
        let Some(word) = self.single(node) else { return };
        if let Some(first) = prefix {
            let message =
                format!("{} was already given ({first}): {} ignored", node.keyword.text, word.text);
            self.report.warn(&word.span, message);
            return;
        }
        let usable = |c: char| c.is_ascii_graphic() && c != '/' && c != ':';
        if word.text.is_empty() || !word.text.chars().all(usable) {
            let expected = "expected ASCII without '/', ':' or blanks (a start of interface names)";
            self.report.invalid(&node.keyword.text, word, expected);
            return;
        }
        *prefix = Some(word.text.clone());
    }

    /// The `garp_*` settings shared by `global_defs` (prefixed `vrrp_`) and instances.
    fn garp(&mut self, garp: &mut GarpDraft, key: &str, node: &Node) -> bool {
        match key {
            "garp_master_delay" => garp.master_delay = self.value(node, values::seconds),
            "garp_master_repeat" => garp.master_repeat = self.value(node, |t| values::count(t, 1)),
            "garp_master_refresh" => garp.master_refresh = self.value(node, values::seconds),
            "garp_master_refresh_repeat" => {
                garp.master_refresh_repeat = self.value(node, |t| values::count(t, 1));
            }
            "garp_lower_prio_delay" => garp.lower_prio_delay = self.value(node, values::seconds),
            "garp_lower_prio_repeat" => {
                garp.lower_prio_repeat = self.value(node, |t| values::count(t, 1));
            }
            _ => return false,
        }
        true
    }

    /// `garp_extra_if [all] SECONDS`, in either order (keepalived vrrp_parser.c
    /// vrrp_garp_extra_if_handler(), global_parser.c vrrp_vmac_garp_extra_if_handler(): up to
    /// a day; the `vmac_garp_intvl` spelling is deprecated). keepalived ignores a bad line
    /// with an error; so does vrrpd.
    fn extra_if(&mut self, node: &Node) -> Option<Located<ExtraInterfaces>> {
        self.no_block(node);
        let name = &node.keyword.text;
        if name.contains("vmac_garp_intvl") {
            let replacement = name.replace("vmac_garp_intvl", "garp_extra_if");
            let message = format!("{name} is deprecated: use {replacement}");
            self.report.warn_at(&node.keyword.span, message);
        }
        let (mut interval, mut all) = (None, false);
        for word in &node.args {
            if word.text == "all" {
                all = true;
                continue;
            }
            let seconds = self.parse_word(name, word, |text| values::integer(text, 0, 86_400))?;
            interval = Some(Duration::from_secs(seconds.unsigned_abs()));
        }
        let Some(interval) = interval else {
            let message = format!("{name} without a time in seconds, ignored");
            self.report.error_at(&node.keyword.span, message);
            return None;
        };
        Some(Located { value: ExtraInterfaces { interval, all }, at: node.keyword.clone() })
    }

    fn instance(&mut self, instance: &mut InstanceDraft, node: &Node, context: &str) {
        let keyword = node.keyword.text.as_str();
        self.support(Block::Instance, &node.keyword, context);
        match keyword {
            "state" => instance.state = self.value(node, values::state),
            "interface" => instance.interface = self.single(node).map(|word| word.text.clone()),
            "virtual_router_id" => {
                instance.vrid = self.located(node, |text| values::byte(text, 1, 255));
            }
            "priority" => instance.priority = self.priority(node),
            "advert_int" => instance.advert_int = self.located(node, values::seconds),
            "version" => instance.version = self.value(node, values::version),
            "preempt" | "nopreempt" => {
                self.ignoring_arguments(node);
                let preempt = keyword == "preempt";
                instance.preempt = Some(Located { value: preempt, at: node.keyword.clone() });
            }
            "preempt_delay" => {
                instance.preempt_delay = self.value(node, |text| values::seconds_up_to(text, 1000));
            }
            // keepalived vrrp_parser.c vrrp_accept_handler() / vrrp_no_accept_handler(): no
            // argument, any ignored.
            "accept" | "no_accept" => {
                self.ignoring_arguments(node);
                instance.accept = Some(keyword == "accept");
            }
            // keepalived vrrp_parser.c vrrp_strict_mode_handler(): an optional boolean.
            "strict_mode" => instance.strict = Some(self.flag(node)),
            "unicast_src_ip" | "mcast_src_ip" => {
                let word = self.single(node);
                instance.source_ip = word.and_then(|word| {
                    let address = self.address_ignoring_mask(&node.keyword.text, word)?;
                    Some(Located { value: address, at: word.clone() })
                });
            }
            "unicast_peer" => {
                for entry in self.block(node) {
                    instance.unicast_peers.extend(self.unicast_peer(entry));
                }
            }
            // keepalived vrrp_parser.c vrrp_mcast_dstip_handler(): an IPv4 multicast or an IPv6
            // link-local multicast address (the family is checked against the instance's).
            "mcast_dst_ip" => instance.mcast_dst_ip = self.located(node, values::mcast_dst_ip),
            "unicast_ttl" => {
                instance.unicast_ttl = self.located(node, |text| values::byte(text, 0, 255))
            }
            "check_unicast_src" => instance.check_unicast_src = self.flag(node),
            "virtual_ipaddress" => {
                for entry in self.block(node) {
                    instance.virtual_addresses.extend(self.address(keyword, entry));
                }
            }
            "virtual_ipaddress_excluded" => {
                for entry in self.block(node) {
                    instance.excluded_addresses.extend(self.address(keyword, entry));
                }
            }
            "virtual_routes" => {
                for entry in self.block(node) {
                    instance.virtual_routes.extend(self.route(entry));
                }
            }
            "virtual_rules" => {
                for entry in self.block(node) {
                    instance.virtual_rules.extend(self.rule(entry));
                }
            }
            "track_interface" => self.track_interfaces(&mut instance.track_interfaces, node),
            "track_script" => self.track_scripts(&mut instance.track_scripts, node),
            "track_file" => self.track_files(&mut instance.track_files, node),
            "track_process" => self.track_processes(&mut instance.track_processes, node),
            "dont_track_primary" => instance.dont_track_primary = self.flag(node),
            // keepalived vrrp_parser.c v3_checksum_as_v2(): on, or the `<BOOL>` given.
            "v3_checksum_as_v2" => instance.v3_checksum_as_v2 = Some(self.flag(node)),
            "old_unicast_checksum" => {
                let was = instance.old_unicast_checksum;
                instance.old_unicast_checksum = self.old_checksum(node, was);
            }
            // keepalived vrrp_parser.c vrrp_track_srcip_handler(): a flag.
            "track_src_ip" => {
                self.no_block(node);
                self.extra_args(node, &node.args);
                instance.track_src_ip = Some(node.keyword.clone());
            }
            "garp_extra_if" | "vmac_garp_intvl" => instance.garp_extra_if = self.extra_if(node),
            "lower_prio_no_advert" => {
                let value = self.flag(node);
                instance.lower_prio_no_advert = Some(Located { value, at: node.keyword.clone() });
            }
            "higher_prio_send_advert" => {
                let value = self.flag(node);
                instance.higher_prio_send_advert =
                    Some(Located { value, at: node.keyword.clone() });
            }
            "unicast_fault_no_peer" => {
                self.no_args(node);
                instance.unicast_fault_no_peer = Some(node.keyword.clone());
            }
            "notify_priority_changes" => instance.notify_priority_changes = Some(self.flag(node)),
            "native_ipv6" => {
                if self.flag(node) {
                    instance.native_ipv6 = Some(node.keyword.clone());
                }
            }
            "use_vmac" => {
                self.no_block(node);
                let (name, rest) = match node.args.split_first() {
                    Some((name, rest)) => (Some(name.clone()), rest),
                    None => (None, &node.args[..]),
                };
                self.extra_args(node, rest);
                instance.use_vmac = Some((node.keyword.clone(), name));
            }
            "use_vmac_addr" => {
                self.no_args(node);
                instance.use_vmac_addr = Some(node.keyword.clone());
            }
            "vmac_xmit_base" => {
                self.no_args(node);
                instance.vmac_xmit_base = Some(node.keyword.clone());
            }
            "authentication" => {
                for entry in self.block(node) {
                    self.authentication(instance, entry);
                }
            }
            _ if self.notify(&mut instance.notify, node) => {}
            _ if self.garp(&mut instance.garp, keyword, node) => {}
            _ => self.unknown(node, Block::Instance, context),
        }
    }

    /// One line of `authentication { }` (keepalived vrrp_parser.c vrrp_auth_type_handler(),
    /// vrrp_auth_pass_handler()).
    fn authentication(&mut self, instance: &mut InstanceDraft, entry: &Node) {
        self.support(Block::Authentication, &entry.keyword, "in authentication");
        match entry.keyword.text.as_str() {
            "auth_type" => match self.single(entry) {
                // The last auth_type line wins, as in keepalived.
                Some(word) if word.text == "PASS" || word.text == "AH" => {
                    instance.auth_type = Some(word.clone());
                }
                Some(word) => self.report.invalid("auth_type", word, "expected PASS or AH"),
                None => {}
            },
            "auth_pass" => {
                let Some(word) = self.single(entry) else { return };
                let mut password = [0u8; 8];
                let bytes = word.text.as_bytes();
                if bytes.len() > password.len() {
                    let message =
                        "auth_pass is longer than 8 characters: only the first 8 are used";
                    self.report.warn(&word.span, message);
                }
                let used = bytes.len().min(password.len());
                password[..used].copy_from_slice(&bytes[..used]);
                instance.auth_pass = Some(Located { value: password, at: word.clone() });
            }
            _ => self.unknown(entry, Block::Authentication, "in authentication"),
        }
    }

    fn script(&mut self, script: &mut ScriptDraft, node: &Node, context: &str) {
        self.support(Block::Script, &node.keyword, context);
        match node.keyword.text.as_str() {
            "script" => {
                let Some(first) = node.args.first() else {
                    self.missing_value(node);
                    return;
                };
                // keepalived takes the rest of the line, quoted or not, as the command.
                let line: Vec<&str> = node.args.iter().map(|word| word.text.as_str()).collect();
                match values::command_line(&line.join(" ")) {
                    Ok(argv) => script.argv = Some(argv),
                    Err(expected) => self.report.invalid("script", first, &expected),
                }
            }
            "interval" => script.interval = self.value(node, values::positive_seconds),
            "timeout" => script.timeout = self.value(node, values::positive_seconds),
            "weight" => {
                let Some((value, flags)) = node.args.split_first() else {
                    self.missing_value(node);
                    return;
                };
                match values::weight(&value.text) {
                    Ok(weight) => script.weight = Some(weight),
                    Err(expected) => self.report.invalid("weight", value, &expected),
                }
                for flag in flags {
                    match flag.text.as_str() {
                        "reverse" => script.reverse = true,
                        "noreverse" | "no_reverse" => script.reverse = false,
                        _ => self.report.invalid("weight option", flag, "expected reverse"),
                    }
                }
            }
            "rise" => script.rise = self.value(node, |text| values::count(text, 1)),
            "fall" => script.fall = self.value(node, |text| values::count(text, 1)),
            "user" => script.run_as = self.run_as(node, &node.args),
            "init_fail" => script.init_fail = self.flag(node),
            _ => self.unknown(node, Block::Script, context),
        }
    }

    /// One line of `track_file NAME { }` (keepalived track_file.c track_file_*_handler()).
    fn track_file(&mut self, file: &mut TrackFileDraft, node: &Node, context: &str) {
        match node.keyword.text.as_str() {
            "file" => file.path = self.single(node).map(|word| word.text.clone().into()),
            "weight" => {
                self.no_block(node);
                let Some((value, flags)) = node.args.split_first() else {
                    self.missing_value(node);
                    return;
                };
                file.weight = self.parse_word("weight", value, values::file_weight);
                for flag in flags {
                    match flag.text.as_str() {
                        "reverse" => file.reverse = true,
                        _ => self.report.invalid("weight option", flag, "expected reverse"),
                    }
                }
            }
            "init_file" => {
                self.no_block(node);
                let mut init = FileInit { value: 0, overwrite: false };
                for word in &node.args {
                    if word.text == "overwrite" {
                        init.overwrite = true;
                    } else if let Some(value) = self.parse_word("init_file", word, |text| {
                        values::integer(text, i64::from(i32::MIN), i64::from(i32::MAX))
                            .map_err(|_| "expected a number or overwrite".to_string())
                    }) {
                        init.value = value as i32;
                    }
                }
                file.init = Some(init);
            }
            _ => self.unknown(node, Block::TrackFile, context),
        }
    }

    /// One line of `vrrp_track_process NAME { }` (keepalived vrrp_parser.c
    /// vrrp_tprocess_*_handler()).
    fn track_process(&mut self, process: &mut TrackProcessDraft, node: &Node, context: &str) {
        self.support(Block::TrackProcess, &node.keyword, context);
        match node.keyword.text.as_str() {
            // keepalived vrrp_tprocess_process_handler(): arguments after the name make it a
            // command line, compared exactly unless param_match says otherwise.
            "process" => {
                self.no_block(node);
                let Some((name, params)) = node.args.split_first() else {
                    self.missing_value(node);
                    return;
                };
                if process.process.is_some() {
                    let message = format!("process already set for {context}");
                    self.report.error_at(&node.keyword.span, message);
                    return;
                }
                let params: Vec<String> = params.iter().map(|word| word.text.clone()).collect();
                if !params.is_empty() {
                    process.full_command = true;
                    process.param_match.get_or_insert(ParamMatch::Exact);
                }
                process.process = Some((name.text.clone(), params));
            }
            // keepalived vrrp_tprocess_match_handler(): any param_match compares the command
            // line; with no value it is exact.
            "param_match" => {
                self.no_block(node);
                let matching = match node.args.split_first() {
                    None => Some(ParamMatch::Exact),
                    Some((word, rest)) => {
                        self.extra_args(node, rest);
                        self.parse_word("param_match", word, |text| match text {
                            "initial" => Ok(ParamMatch::Initial),
                            "partial" => Ok(ParamMatch::Partial),
                            _ => Err("expected initial or partial (or nothing, for exact)".into()),
                        })
                    }
                };
                if let Some(matching) = matching {
                    process.param_match = Some(matching);
                    process.full_command = true;
                }
            }
            "weight" => {
                self.no_block(node);
                let Some((value, flags)) = node.args.split_first() else {
                    self.missing_value(node);
                    return;
                };
                process.weight = self.parse_word("weight", value, values::file_weight);
                for flag in flags {
                    match flag.text.as_str() {
                        "reverse" => process.reverse = true,
                        _ => self.report.invalid("weight option", flag, "expected reverse"),
                    }
                }
            }
            "quorum" => {
                process.quorum =
                    self.located(node, |text| values::integer(text, 1, 65535).map(|v| v as u32))
            }
            "quorum_max" => {
                process.quorum_max =
                    self.located(node, |text| values::integer(text, 0, 65535).map(|v| v as u32))
            }
            // keepalived vrrp_tprocess_delay_general(): `delay` sets both.
            "delay" | "terminate_delay" | "fork_delay" => {
                let Some(delay) = self.value(node, values::process_delay) else { return };
                if node.keyword.text != "fork_delay" {
                    process.terminate_delay = Some(delay);
                }
                if node.keyword.text != "terminate_delay" {
                    process.fork_delay = Some(delay);
                }
            }
            "full_command" => process.full_command = self.flag(node),
            _ => self.unknown(node, Block::TrackProcess, context),
        }
    }

    fn sync_group(&mut self, group: &mut SyncGroupDraft, node: &Node, context: &str) {
        self.support(Block::SyncGroup, &node.keyword, context);
        match node.keyword.text.as_str() {
            "group" => {
                for entry in self.block(node) {
                    self.no_block(entry);
                    group.members.push(entry.keyword.clone());
                    group.members.extend(entry.args.iter().cloned());
                }
            }
            "track_interface" => self.track_interfaces(&mut group.track_interfaces, node),
            "track_script" => self.track_scripts(&mut group.track_scripts, node),
            "track_file" => self.track_files(&mut group.track_files, node),
            "track_process" => self.track_processes(&mut group.track_processes, node),
            "notify_priority_changes" => group.notify_priority_changes = Some(self.flag(node)),
            // keepalived vrrp_parser.c vrrp_gglobal_tracking_handler(): the deprecated name.
            "sync_group_tracking_weight" | "global_tracking" => {
                if node.keyword.text == "global_tracking" {
                    let message = "global_tracking is deprecated (as in keepalived): it means \
                                   sync_group_tracking_weight; track_interface, track_script and \
                                   track_file go on the sync group";
                    self.report.warn(&node.keyword.span, message);
                }
                group.tracking_weight = self.flag(node);
            }
            _ if self.notify(&mut group.notify, node) => {}
            _ => self.unknown(node, Block::SyncGroup, context),
        }
    }

    /// `track_interface { NAME [weight W] [reverse|noreverse] ... }` of an instance or a group.
    fn track_interfaces(&mut self, tracked: &mut Vec<TrackedInterface>, node: &Node) {
        for entry in self.block(node) {
            let (weight, reverse) = self.tracking(&node.keyword.text, entry);
            tracked.push(TrackedInterface {
                name: entry.keyword.text.clone(),
                weight: weight.unwrap_or(0),
                reverse: reverse.unwrap_or(false),
            });
        }
    }

    /// `track_script { NAME [weight W] [reverse|noreverse] ... }` of an instance or a group.
    fn track_scripts(&mut self, tracked: &mut Vec<Located<TrackedScriptDraft>>, node: &Node) {
        self.tracked_by_name(tracked, node, values::weight);
    }

    /// `track_file { NAME [weight W] [reverse|noreverse] ... }`: weights -254..254.
    fn track_files(&mut self, tracked: &mut Vec<Located<TrackedScriptDraft>>, node: &Node) {
        self.tracked_by_name(tracked, node, values::file_weight);
    }

    /// `track_process { NAME [weight W [reverse|noreverse]] ... }`: weights -254..254
    /// (keepalived vrrp_track.c alloc_track_process()).
    fn track_processes(&mut self, tracked: &mut Vec<Located<TrackedScriptDraft>>, node: &Node) {
        self.tracked_by_name(tracked, node, values::file_weight);
    }

    fn tracked_by_name(
        &mut self,
        tracked: &mut Vec<Located<TrackedScriptDraft>>,
        node: &Node,
        weight_of: fn(&str) -> Parsed<i32>,
    ) {
        for entry in self.block(node) {
            let (weight, reverse) = self.tracking_with(&node.keyword.text, entry, weight_of);
            tracked.push(Located {
                value: TrackedScriptDraft { weight, reverse },
                at: entry.keyword.clone(),
            });
        }
    }

    /// `notify_*  COMMAND [USER [GROUP]]`: keepalived splits the (usually quoted) command into
    /// arguments and reads the words after it as who runs it.
    fn notify(&mut self, notify: &mut Notify, node: &Node) -> bool {
        let slot = match node.keyword.text.as_str() {
            "notify_master" => &mut notify.master,
            "notify_backup" => &mut notify.backup,
            "notify_fault" => &mut notify.fault,
            "notify_stop" => &mut notify.stop,
            "notify" => &mut notify.any,
            _ => return false,
        };
        self.no_block(node);
        let Some((command, run_as)) = node.args.split_first() else {
            self.missing_value(node);
            return true;
        };
        match values::command_line(&command.text) {
            Ok(argv) => {
                let run_as = if run_as.is_empty() { None } else { self.run_as(node, run_as) };
                *slot = Some(Command { argv, run_as });
            }
            Err(expected) => self.report.invalid(&node.keyword.text, command, &expected),
        }
        true
    }

    /// `notify_fifo PATH [USER [GROUP]]` (keepalived global_parser.c notify_fifo()).
    fn fifo(&mut self, fifo: &mut FifoDraft, node: &Node) {
        self.no_block(node);
        let Some((path, owner)) = node.args.split_first() else {
            self.missing_value(node);
            return;
        };
        fifo.path = Some(Located { value: path.text.clone().into(), at: path.clone() });
        fifo.owner = if owner.is_empty() { None } else { self.run_as(node, owner) };
    }

    /// `notify_fifo_script COMMAND [USER [GROUP]]`.
    fn fifo_script(&mut self, fifo: &mut FifoDraft, node: &Node) {
        self.no_block(node);
        let Some((command, run_as)) = node.args.split_first() else {
            self.missing_value(node);
            return;
        };
        match values::command_line(&command.text) {
            Ok(argv) => {
                let run_as = if run_as.is_empty() { None } else { self.run_as(node, run_as) };
                fifo.script =
                    Some(Located { value: Command { argv, run_as }, at: command.clone() });
            }
            Err(expected) => self.report.invalid(&node.keyword.text, command, &expected),
        }
    }

    /// `USER [GROUP]`.
    fn run_as(&mut self, node: &Node, args: &[Word]) -> Option<RunAs> {
        match args {
            [] => {
                self.missing_value(node);
                None
            }
            [user, rest @ ..] => {
                self.extra_args(node, rest.get(1..).unwrap_or_default());
                Some(RunAs { user: user.text.clone(), group: rest.first().map(|g| g.text.clone()) })
            }
        }
    }

    fn unicast_peer(&mut self, entry: &Node) -> Option<Located<UnicastPeer>> {
        self.no_block(entry);
        let address = self.address_ignoring_mask("unicast_peer", &entry.keyword);
        let mut peer = UnicastPeer { address: address?, mac: None, min_ttl: None, max_ttl: None };
        let options = self.options("unicast_peer", &entry.args, PEER_OPTIONS, Block::PeerOption);
        for (name, value) in options {
            let Some(value) = value else { continue };
            match name.text.as_str() {
                "min_ttl" => {
                    peer.min_ttl = self.parse_word("min_ttl", value, |t| values::byte(t, 0, 255))
                }
                "max_ttl" => {
                    peer.max_ttl = self.parse_word("max_ttl", value, |t| values::byte(t, 0, 255))
                }
                _ => peer.mac = self.parse_word("mac", value, values::mac),
            }
        }
        Some(Located { value: peer, at: entry.keyword.clone() })
    }

    /// One route line (`routes.rs`).
    fn route(&mut self, entry: &Node) -> Option<Route> {
        self.no_block(entry);
        routes::route(&routes::line_words(entry), self.report, self.allow_unsupported)
    }

    /// One rule line (`routes.rs`).
    fn rule(&mut self, entry: &Node) -> Option<Rule> {
        self.no_block(entry);
        routes::rule(&routes::line_words(entry), self.report, self.allow_unsupported)
    }

    /// One `virtual_ipaddress` line: `ADDR[/PREFIX] [dev IF] [label L] [scope S] [brd ADDR] ...`.
    /// `track_group` is for static addresses only (keepalived vrrp_ipaddress.c
    /// parse_ipaddress(): "Unknown configuration entry"): ignored here with a warning.
    fn address(&mut self, what: &str, entry: &Node) -> Option<Located<VirtualAddress>> {
        let (address, group) = self.tagged_address(what, entry)?;
        if let Some(group) = group {
            let message = format!(
                "track_group {} on a {what} line: only static_ipaddress lines take it; ignored",
                group.text
            );
            self.report.warn_at(&group.span, message);
        }
        Some(address)
    }

    /// One line of `track_group NAME { }` (keepalived vrrp_parser.c
    /// static_track_group_group_handler(): a second `group` is skipped with an error).
    fn track_group(&mut self, group: &mut TrackGroupDraft, node: &Node) {
        let context = format!("in track_group {}", group.name.text);
        self.support(Block::TrackGroup, &node.keyword, &context);
        match node.keyword.text.as_str() {
            "group" => {
                self.no_args(node);
                let mut members = Vec::new();
                for entry in self.block(node) {
                    self.no_block(entry);
                    members.push(entry.keyword.clone());
                    members.extend(entry.args.iter().cloned());
                }
                if group.members.is_some() {
                    let message = format!(
                        "a second group block in track_group {}: ignored, as keepalived does",
                        group.name.text
                    );
                    self.report.warn(&node.keyword.span, message);
                } else {
                    group.members = Some(members);
                }
            }
            _ => self.unknown(node, Block::TrackGroup, &context),
        }
    }

    /// Takes `track_group NAME` out of a static route or rule line (keepalived
    /// vrrp_iproute.c alloc_route(), vrrp_iprule.c alloc_rule(): a second one is an error).
    fn take_track_group(&mut self, words: Vec<Word>) -> (Vec<Word>, Option<Word>) {
        let mut kept = Vec::with_capacity(words.len());
        let mut group: Option<Word> = None;
        let mut words = words.into_iter();
        while let Some(word) = words.next() {
            if word.text != "track_group" {
                kept.push(word);
                continue;
            }
            match words.next() {
                None => {
                    let message = "track_group needs the name of a track_group";
                    self.report.error_at(&word.span, message);
                }
                Some(name) if group.is_some() => {
                    let message = format!("track_group {} is a second one on this line", name.text);
                    self.report.error_at(&name.span, message);
                }
                Some(name) => group = Some(name),
            }
        }
        (kept, group)
    }

    /// An address line and its `track_group NAME`, if it has one.
    fn tagged_address(
        &mut self,
        what: &str,
        entry: &Node,
    ) -> Option<(Located<VirtualAddress>, Option<Word>)> {
        self.no_block(entry);
        let (address, prefix_len) =
            self.parse_word(what, &entry.keyword, values::ip_with_prefix)?;
        let mut vip = VirtualAddress {
            address,
            prefix_len,
            device: None,
            label: None,
            scope: None,
            broadcast: None,
            no_track: false,
            use_vmac: false,
        };
        let mut group = None;
        for (name, value) in self.options(what, &entry.args, ADDRESS_OPTIONS, Block::AddressOption)
        {
            let text = value.map(|word| word.text.clone());
            match (name.text.as_str(), value) {
                ("dev", _) => vip.device = text,
                ("label", _) => vip.label = text,
                ("scope", Some(value)) => {
                    vip.scope = self.parse_word("scope", value, values::scope)
                }
                ("brd" | "broadcast", Some(value)) => {
                    vip.broadcast = self.broadcast(&vip, &name.text, value);
                }
                ("no_track", _) => vip.no_track = true,
                ("use_vmac", _) => vip.use_vmac = true,
                ("track_group", Some(value)) if group.is_some() => {
                    // keepalived: "track_group %s is a duplicate".
                    let message =
                        format!("track_group {} is a second one on this line", value.text);
                    self.report.error_at(&value.span, message);
                }
                ("track_group", Some(value)) => group = Some(value.clone()),
                _ => {}
            }
        }
        Some((Located { value: vip, at: entry.keyword.clone() }, group))
    }

    /// `brd ADDR`, or `+` / `-` for the prefix's highest / lowest address (keepalived
    /// vrrp_ipaddress.c alloc_ipaddress(), which computes them only up to a /30 and otherwise
    /// warns and sets none).
    fn broadcast(&mut self, vip: &VirtualAddress, what: &str, value: &Word) -> Option<Ipv4Addr> {
        let IpAddr::V4(address) = vip.address else {
            self.report.invalid(what, value, "a broadcast address is for IPv4 addresses only");
            return None;
        };
        let mask = u32::MAX.checked_shr(vip.prefix_len.into()).unwrap_or(0);
        let bits = u32::from(address);
        let computed = match value.text.as_str() {
            "+" => bits | mask,
            "-" => bits & !mask,
            _ => {
                return self.parse_word(what, value, |text| {
                    text.parse().map_err(|_| "expected an IPv4 broadcast address, + or -".into())
                });
            }
        };
        if vip.prefix_len > 30 {
            let message = format!(
                "{what} {} on a /{} address: the prefix is too long for a broadcast address, \
                 none is set (as keepalived does)",
                value.text, vip.prefix_len
            );
            self.report.warn_at(&value.span, message);
            return None;
        }
        Some(Ipv4Addr::from(computed))
    }

    /// An address keepalived also takes with a `/MASK` or `-RANGE` after it, which it leaves out.
    fn address_ignoring_mask(&mut self, what: &str, word: &Word) -> Option<IpAddr> {
        let (address, stripped) = self.parse_word(what, word, values::ip_ignoring_mask)?;
        if stripped {
            let message = format!(
                "{what} \"{}\": only the address {address} is used, as keepalived does",
                word.text
            );
            self.report.warn_at(&word.span, message);
        }
        Some(address)
    }

    /// keepalived vrrp_parser.c vrrp_prio_handler(): an invalid priority is reported and the
    /// default 100 used.
    fn priority(&mut self, node: &Node) -> Option<u8> {
        let word = self.single(node)?;
        match values::byte(&word.text, 1, 255) {
            Ok(priority) => Some(priority),
            Err(expected) => {
                let message = format!(
                    "invalid priority \"{}\": {expected}; using the default 100, as keepalived does",
                    word.text
                );
                self.report.warn_at(&word.span, message);
                Some(DEFAULT_PRIORITY)
            }
        }
    }

    /// keepalived vrrp_parser.c vrrp_nopreempt_handler() / vrrp_preempt_handler() (and the
    /// accept pair) take no argument and ignore any, so `nopreempt false` is nopreempt (the
    /// TOML form `nopreempt = false` is lowered to `preempt` before it gets here).
    fn ignoring_arguments(&mut self, node: &Node) {
        self.no_block(node);
        for word in &node.args {
            let message = format!(
                "unexpected \"{}\" after {}, ignored as keepalived ignores it: {} takes no \
                 argument",
                word.text, node.keyword.text, node.keyword.text
            );
            self.report.warn_at(&word.span, message);
        }
    }

    /// `NAME [weight W] [reverse|noreverse]` in track_interface and track_script.
    fn tracking(&mut self, what: &str, entry: &Node) -> (Option<i32>, Option<bool>) {
        self.tracking_with(what, entry, values::weight)
    }

    fn tracking_with(
        &mut self,
        what: &str,
        entry: &Node,
        weight_of: fn(&str) -> Parsed<i32>,
    ) -> (Option<i32>, Option<bool>) {
        self.no_block(entry);
        let (mut weight, mut reverse) = (None, None);
        for (name, value) in self.options(what, &entry.args, TRACK_OPTIONS, Block::TrackOption) {
            match (name.text.as_str(), value) {
                ("weight", Some(value)) => weight = self.parse_word("weight", value, weight_of),
                ("reverse", _) => reverse = Some(true),
                ("noreverse" | "no_reverse", _) => reverse = Some(false),
                _ => {}
            }
        }
        (weight, reverse)
    }

    /// Splits `name value` / `flag` options; unknown ones are errors, since guessing what an
    /// address option means could configure the wrong thing. Options vrrpd does not act on
    /// are reported as the keyword table says, and still parsed.
    fn options<'a>(
        &mut self,
        what: &str,
        args: &'a [Word],
        specs: &[OptionSpec],
        block: Block,
    ) -> Vec<(&'a Word, Option<&'a Word>)> {
        let mut found = Vec::new();
        let mut args = args.iter();
        while let Some(name) = args.next() {
            let Some(spec) = specs.iter().find(|spec| spec.name == name.text) else {
                let acted_on = |spec: &&OptionSpec| {
                    keywords::lookup(block, spec.name).is_none_or(|entry| {
                        matches!(entry.support, Support::ActedOn { .. } | Support::Always { .. })
                    })
                };
                let known: Vec<&str> = specs.iter().filter(acted_on).map(|s| s.name).collect();
                let expected = format!("expected one of {}", known.join(", "));
                self.report.invalid(&format!("{what} option"), name, &expected);
                continue;
            };
            let value = if spec.takes_value {
                let value = args.next();
                if value.is_none() {
                    self.report.error_at(&name.span, format!("missing value after {}", name.text));
                }
                value
            } else {
                None
            };
            self.support(block, name, &format!("in {what}"));
            if !spec.takes_value || value.is_some() {
                found.push((name, value));
            }
        }
        found
    }

    fn parse_word<T>(
        &mut self,
        what: &str,
        word: &Word,
        parse: impl Fn(&str) -> Parsed<T>,
    ) -> Option<T> {
        match parse(&word.text) {
            Ok(value) => Some(value),
            Err(expected) => {
                self.report.invalid(what, word, &expected);
                None
            }
        }
    }

    /// The single argument of a statement, parsed, with where it was written.
    fn located<T>(&mut self, node: &Node, parse: impl Fn(&str) -> Parsed<T>) -> Option<Located<T>> {
        let word = self.single(node)?;
        let value = self.parse_word(&node.keyword.text, word, parse)?;
        Some(Located { value, at: word.clone() })
    }

    fn value<T>(&mut self, node: &Node, parse: impl Fn(&str) -> Parsed<T>) -> Option<T> {
        self.located(node, parse).map(|located| located.value)
    }

    fn single<'n>(&mut self, node: &'n Node) -> Option<&'n Word> {
        self.no_block(node);
        match node.args.split_first() {
            None => {
                self.missing_value(node);
                None
            }
            Some((first, rest)) => {
                self.extra_args(node, rest);
                Some(first)
            }
        }
    }

    /// `old_unicast_checksum [never]` (keepalived vrrp_parser.c vrrp_unicast_chksum_handler():
    /// bare is CONFIG, `never` is NEVER, any other word is reported and leaves the mode as it
    /// was).
    fn old_checksum(&mut self, node: &Node, was: OldChecksumPolicy) -> OldChecksumPolicy {
        self.no_block(node);
        match node.args.split_first() {
            None => OldChecksumPolicy::Send,
            Some((mode, rest)) => {
                self.extra_args(node, rest);
                if mode.text == "never" {
                    OldChecksumPolicy::Never
                } else {
                    let message =
                        format!("unknown old_unicast_checksum mode \"{}\", ignored", mode.text);
                    self.report.warn(&mode.span, message);
                    was
                }
            }
        }
    }

    /// A keyword that switches something on; keepalived also accepts an explicit `<BOOL>`.
    fn flag(&mut self, node: &Node) -> bool {
        self.no_block(node);
        match node.args.split_first() {
            None => true,
            Some((value, rest)) => {
                self.extra_args(node, rest);
                self.parse_word(&node.keyword.text, value, values::boolean).unwrap_or(false)
            }
        }
    }

    fn name(&mut self, node: &Node) -> Option<Word> {
        match node.args.split_first() {
            None => {
                let message = format!("{} needs a name", node.keyword.text);
                self.report.error_at(&node.keyword.span, message);
                None
            }
            Some((name, rest)) => {
                self.extra_args(node, rest);
                Some(name.clone())
            }
        }
    }

    fn block<'n>(&mut self, node: &'n Node) -> &'n [Node] {
        match &node.block {
            Some(block) => block,
            None => {
                let message = format!("{} needs a {{ ... }} block", node.keyword.text);
                self.report.error_at(&node.keyword.span, message);
                &[]
            }
        }
    }

    fn no_args(&mut self, node: &Node) {
        self.extra_args(node, &node.args);
    }

    fn no_block(&mut self, node: &Node) {
        if node.block.is_some() {
            let message = format!("unexpected block after {}", node.keyword.text);
            self.report.error_at(&node.keyword.span, message);
        }
    }

    fn extra_args(&mut self, node: &Node, extra: &[Word]) {
        for word in extra {
            let message =
                format!("unexpected \"{}\" after {}, ignored", word.text, node.keyword.text);
            self.report.warn(&word.span, message);
        }
    }

    fn missing_value(&mut self, node: &Node) {
        let message = format!("missing value after {}", node.keyword.text);
        self.report.error_at(&node.keyword.span, message);
    }

    /// A keyword no branch of the grammar reads: unknown, unless the keyword table lists it
    /// as one with nothing to read (already reported by [`Grammar::support`] where vrrpd does
    /// not act on it). One listed as acted on must have its branch, so it is unknown here.
    fn unknown(&mut self, node: &Node, block: Block, context: &str) {
        let listed = keywords::lookup(block, &node.keyword.text)
            .is_some_and(|entry| !matches!(entry.support, Support::ActedOn { .. }));
        if !listed {
            let message = format!("unknown keyword \"{}\" {context}, ignored", node.keyword.text);
            self.report.warn(&node.keyword.span, message);
        }
    }

    /// What the keyword table says about a keyword vrrpd does not act on, at the keyword:
    /// the effect, as an error when ignoring it can change which node holds the virtual
    /// addresses (unless unsupported keywords are allowed).
    fn support(&mut self, block: Block, keyword: &Word, context: &str) {
        let Some(entry) = keywords::lookup(block, &keyword.text) else { return };
        let noun = match block {
            Block::AddressOption | Block::PeerOption | Block::TrackOption => "option",
            _ => "keyword",
        };
        let name = &keyword.text;
        match entry.support {
            Support::ActedOn { .. } | Support::Always { .. } => {}
            Support::Unsupported { effect, moves_vip: false } => {
                let message = format!("{noun} \"{name}\" {context} is not supported: {effect}");
                self.report.warn_at(&keyword.span, message);
            }
            Support::Unsupported { effect, moves_vip: true } if self.allow_unsupported => {
                let message = format!(
                    "{noun} \"{name}\" {context} is not supported: {effect} (allowed by \
                     --allow-unsupported)"
                );
                self.report.warn_at(&keyword.span, message);
            }
            Support::Unsupported { effect, moves_vip: true } => {
                let message = format!(
                    "{noun} \"{name}\" {context} is not supported: {effect}; this can change \
                     which node holds the virtual addresses, so it is refused \
                     (--allow-unsupported runs without it)"
                );
                self.report.error_at(&keyword.span, message);
            }
            Support::OtherSubsystem { subsystem } => {
                let message = format!(
                    "{noun} \"{name}\" {context} belongs to keepalived's {subsystem}, which \
                     vrrpd does not run: skipped"
                );
                self.report.warn(&keyword.span, message);
            }
        }
    }
}
