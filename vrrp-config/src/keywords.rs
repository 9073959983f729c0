//! Every keyword of keepalived's VRRP configuration, and what vrrpd does with it.
//!
//! This table is the one place that says which keywords vrrpd acts on and what it means for an
//! operator when it does not: the parser looks keywords up here, `check-config` prints the
//! effect written here, and `docs/keepalived-compatibility.md` is generated from it
//! ([`compatibility_markdown`]). The list follows keepalived's parser: vrrp_parser.c
//! init_vrrp_keywords(), core/global_parser.c init_global_keywords(), trackers/track_file.c
//! add_track_file_keywords(), and the address options of vrrp_ipaddress.c parse_ipaddress(),
//! as keepalived's current source has them (a superset of 2.2.7's); the keywords themselves are
//! listed in `tests/data/keepalived-keywords.txt`, and a test checks each has its entry here.
//!
//! Supporting a keyword is a one-line change: its entry becomes [`acted`] with the test that
//! proves it.

use std::fmt::Write as _;

/// Where a keyword is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Block {
    /// Outside any block.
    TopLevel,
    GlobalDefs,
    Instance,
    /// `authentication { }` inside `vrrp_instance`.
    Authentication,
    /// `auth_hmac { }` inside `vrrp_instance`.
    AuthHmac,
    SyncGroup,
    Script,
    /// `track_file` (and its older name `vrrp_track_file`).
    TrackFile,
    TrackProcess,
    /// `track_group`, the static addresses' tracking groups.
    TrackGroup,
    GarpGroup,
    /// An option on a `virtual_ipaddress` (or `_excluded`) line.
    AddressOption,
    /// An option on a `unicast_peer` line.
    PeerOption,
    /// An option on a `track_interface` or `track_script` line.
    TrackOption,
}

impl Block {
    const ALL: [Block; 14] = [
        Block::TopLevel,
        Block::GlobalDefs,
        Block::Instance,
        Block::Authentication,
        Block::AuthHmac,
        Block::SyncGroup,
        Block::Script,
        Block::TrackFile,
        Block::TrackProcess,
        Block::TrackGroup,
        Block::GarpGroup,
        Block::AddressOption,
        Block::PeerOption,
        Block::TrackOption,
    ];

    /// How the block is named in messages and in the generated document.
    pub fn title(self) -> &'static str {
        match self {
            Block::TopLevel => "top level",
            Block::GlobalDefs => "global_defs",
            Block::Instance => "vrrp_instance",
            Block::Authentication => "vrrp_instance authentication",
            Block::AuthHmac => "vrrp_instance auth_hmac",
            Block::SyncGroup => "vrrp_sync_group",
            Block::Script => "vrrp_script",
            Block::TrackFile => "track_file / vrrp_track_file",
            Block::TrackProcess => "vrrp_track_process",
            Block::TrackGroup => "track_group",
            Block::GarpGroup => "garp_group",
            Block::AddressOption => "virtual_ipaddress line options",
            Block::PeerOption => "unicast_peer line options",
            Block::TrackOption => "track_interface / track_script line options",
        }
    }
}

/// What vrrpd does with a keyword.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Support {
    /// vrrpd does what keepalived does; `proof` names the test that shows it
    /// (`path/from/the/workspace.rs::test_name`).
    ActedOn { proof: &'static str },
    /// vrrpd always behaves as the keyword asks, so it changes nothing; `how` says why.
    Always { how: &'static str },
    /// Read and not acted on. `effect` is what that means for the operator; when
    /// `moves_vip`, ignoring it can change which node holds the virtual addresses (or where
    /// their traffic goes), so a file using it is refused unless unsupported keywords are
    /// allowed.
    Unsupported { effect: &'static str, moves_vip: bool },
    /// Belongs to another keepalived subsystem (LVS, SMTP, ...), which vrrpd does not run.
    OtherSubsystem { subsystem: &'static str },
}

/// One keyword of keepalived's configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Keyword {
    /// The keyword; a trailing `*` stands for a family (every keyword with that prefix).
    pub name: &'static str,
    pub block: Block,
    pub support: Support,
}

impl Keyword {
    fn matches(&self, block: Block, keyword: &str) -> bool {
        self.block == block
            && match self.name.strip_suffix('*') {
                Some(prefix) => keyword.starts_with(prefix),
                None => self.name == keyword,
            }
    }
}

/// vrrpd does what keepalived does, shown by `proof`.
const fn acted(name: &'static str, block: Block, proof: &'static str) -> Keyword {
    Keyword { name, block, support: Support::ActedOn { proof } }
}

/// vrrpd always behaves as asked.
const fn always(name: &'static str, block: Block, how: &'static str) -> Keyword {
    Keyword { name, block, support: Support::Always { how } }
}

/// Not supported; failover is as keepalived's without it.
const fn ignored(name: &'static str, block: Block, effect: &'static str) -> Keyword {
    Keyword { name, block, support: Support::Unsupported { effect, moves_vip: false } }
}

/// Not supported, and without it another node may hold the virtual addresses.
const fn refused(name: &'static str, block: Block, effect: &'static str) -> Keyword {
    Keyword { name, block, support: Support::Unsupported { effect, moves_vip: true } }
}

const fn other(name: &'static str, block: Block, subsystem: &'static str) -> Keyword {
    Keyword { name, block, support: Support::OtherSubsystem { subsystem } }
}

use Block::{
    AddressOption, AuthHmac, Authentication, GarpGroup, GlobalDefs, Instance, PeerOption, Script,
    SyncGroup, TopLevel, TrackFile, TrackGroup, TrackOption, TrackProcess,
};

// Proofs used by several keywords.
const FAILOVER: &str = "tests/tests/daemon_lab.rs::hard_failover_then_preemption";
const SCRIPTS: &str = "tests/tests/daemon_scenarios.rs::scripts_notify_and_track";
const ANNOUNCEMENTS: &str =
    "vrrp-proto/tests/router_transitions.rs::announcements_follow_garp_master_delay_and_refresh";
const LOWER_PRIO: &str = "vrrp-node/tests/node_rules.rs::\
                          a_burst_of_lower_priorities_announces_once_per_garp_lower_prio_delay";
const GARP_OVERRIDE: &str =
    "vrrp-config/tests/validation.rs::instance_garp_settings_override_global_ones";
const TYPED: &str = "vrrp-config/tests/validation.rs::addresses_peers_and_tracking_are_typed";
const UNICAST: &str =
    "tests/tests/keepalived_receive_rules.rs::routed_unicast_vrrpd_master_keepalived_backup";
const PASS: &str =
    "tests/tests/keepalived_receive_rules.rs::auth_pass_keepalived_master_vrrpd_backup";
const AH: &str = "tests/tests/keepalived_ah.rs::ah_keepalived_master_vrrpd_backup";
const MCAST_GROUP: &str =
    "tests/tests/keepalived_mcast_group.rs::ipv4_custom_group_xdp_keepalived_master";
const MCAST_DST_IP: &str =
    "vrrp-config/tests/validation.rs::multicast_groups_are_checked_and_chosen_per_instance";
const CHECKSUM_AS_V2: &str =
    "tests/tests/checksum_as_v2.rs::a_backup_hears_the_masters_checksum_without_pseudo_header";
const TRACK_SRC_IP: &str =
    "tests/tests/track_src_ip.rs::losing_the_unicast_src_ip_is_a_fault_and_the_vip_moves";
const TTL_LIMITS: &str = "tests/tests/xdp_differential.rs::\
                          the_program_and_the_decoder_agree_on_corpus_frames_and_their_mutations";

const VMAC_LAB: &str =
    "tests/tests/vmac.rs::the_master_answers_for_the_vip_with_the_virtual_mac_and_cleans_up";
const VMAC_XMIT_BASE: &str =
    "tests/tests/vmac.rs::vmac_xmit_base_advertises_from_the_base_interface";
const VMAC_ADDR: &str =
    "tests/tests/vmac_addr.rs::use_vmac_addr_puts_the_other_links_vip_on_a_macvlan_and_moves_it";
const TRACK_GROUP_LAB: &str =
    "tests/tests/track_group.rs::vrrpd_faults_with_a_tracked_static_entry_s_interface";
const VMAC_PREFIX: &str = "tests/tests/vmac_addr.rs::vmac_prefix_names_the_addresses_macvlans";
const VMAC_PER_ADDRESS: &str =
    "tests/tests/vmac_addr.rs::use_vmac_on_an_address_puts_it_on_a_macvlan_of_its_dev";

// Effects shared by several keywords.
const VMAC: &str = "the virtual addresses go on the interface itself, answered with its own MAC, \
                    not on a macvlan with the virtual MAC 00-00-5e-00-01-VRID: switches, hosts \
                    and filters that rely on the virtual MAC (and anything using the vrrp.VRID \
                    interface) lose the traffic";
const NOT_TRACKED: &str = "its state is not followed: the instance is not put in FAULT (nor its \
                           priority moved) when it fails, so this node may keep or take the \
                           virtual addresses when keepalived would give them up";
const STRICT: &str =
    "vrrp-config/tests/validation.rs::strict_mode_resets_what_the_rfc_does_not_allow";
const NO_FIREWALL: &str = "no iptables/nftables rules are set: the traffic no_accept refuses is \
                           dropped by the kernel program (XDP or tc), and accepted on the socket \
                           data path";
const ACCEPT_MODE_LAB: &str =
    "tests/tests/accept_mode.rs::a_no_accept_master_drops_pings_to_the_vip_while_arp_resolves";
const ACCEPT_LAB: &str = "tests/tests/accept_mode.rs::an_accept_master_answers_pings_to_the_vip";
const SYNC_GROUP_LAB: &str =
    "tests/tests/sync_group.rs::vrrpd_moves_both_addresses_when_the_inside_link_fails_and_back_when_it_returns";
const TRACK_FILE_LAB: &str =
    "tests/tests/track_file.rs::vrrpd_moves_the_vip_when_the_tracked_file_changes";
const FIFO_LAB: &str =
    "tests/tests/notify_fifo.rs::vrrpd_writes_keepaliveds_lines_in_order_during_a_flap";
const PRIORITY_CHANGES: &str = "vrrp-config/tests/validation.rs::notify_fifos_and_priority_changes";
const GROUP_TRACKING: &str =
    "vrrp-config/tests/validation.rs::a_sync_groups_tracking_applies_to_every_member_with_keepaliveds_weight_rule";
const ROUTES_LAB: &str = "tests/tests/virtual_routes.rs::vrrpd_moves_routes_and_rules_with_the_vip";
const STATICS_LAB: &str =
    "tests/tests/virtual_routes.rs::static_entries_are_held_from_start_to_stop";
const CPU_AFFINITY: &str = "harmless: vrrpd runs on the CPUs it was started on";
const AUTO_PRIORITY: &str = "harmless: vrrpd keeps the priority vrrp_rt_priority gives, and does \
                             not raise it when its timers run late";
const SCHEDULING_LAB: &str =
    "tests/tests/scheduling.rs::a_realtime_loop_with_locked_memory_follows_reloads";
const SCHEDULING_NICE_LAB: &str =
    "tests/tests/scheduling.rs::a_nice_value_applies_to_the_loop_only";
const DUMPS: &str = "the dump files keep keepalived's default names, in the folder given by \
                     `--dump-dir`; keepalived's JSON version 1 is written";
const ADVERT_ANSWERS_DEFAULT: &str = "vrrp-config/tests/validation.rs::\
                                      advert_answers_take_the_instance_then_the_global_setting";
const LOWER_PRIO_NO_ADVERT: &str =
    "tests/tests/startup_controls.rs::lower_prio_no_advert_leaves_a_lower_priority_unanswered";
const HIGHER_PRIO_SEND_ADVERT: &str =
    "tests/tests/startup_controls.rs::higher_prio_send_advert_answers_before_yielding";
const STARTUP_DELAY: &str =
    "tests/tests/startup_controls.rs::startup_delay_holds_the_instance_back";
const GARP_GROUP: &str =
    "tests/tests/announcements.rs::a_garp_group_spaces_the_rounds_on_its_interface";
const EXTRA_GARP: &str =
    "tests/tests/announcements.rs::garp_extra_if_announces_the_other_interface_on_its_own_link";
const TRACK_PROCESS_LAB: &str =
    "tests/tests/track_process.rs::vrrpd_moves_the_vip_when_the_tracked_process_ends";
const TRACK_PROCESS_RULES: &str =
    "vrrp-config/tests/validation.rs::track_processes_with_keepaliveds_defaults";
const PROCESS_MATCHING: &str =
    "vrrp-node/src/process_table.rs::parameters_match_as_keepalived_compares_them";
const PROCESS_QUORUM: &str =
    "vrrp-node/src/process_table.rs::quorum_counts_matching_processes_within_its_bounds";
const PROCESS_DELAYS: &str = "vrrp-node/src/process_table.rs::delays_hold_a_change_of_quorum_back";
const INSIDE_HMAC: &str = "part of auth_hmac, which is not supported";
const ADDRESS_FLAG: &str = "the address is added without this option; VRRP does not depend on it";

/// Every keyword, block by block, in keepalived's order.
pub const KEYWORDS: &[Keyword] = &[
    // Top level (vrrp_parser.c init_vrrp_keywords(), global_parser.c root keywords).
    acted("global_defs", TopLevel, "vrrp-config/tests/validation.rs::keepalived_defaults"),
    acted("vrrp_instance", TopLevel, FAILOVER),
    acted("vrrp_script", TopLevel, SCRIPTS),
    acted("vrrp_sync_group", TopLevel, "vrrp-config/tests/validation.rs::sync_groups"),
    acted(
        "include",
        TopLevel,
        "vrrp-config/tests/includes.rs::relative_include_reads_the_file_next_to_the_includer",
    ),
    acted("track_group", TopLevel, TRACK_GROUP_LAB),
    acted("static_ipaddress", TopLevel, STATICS_LAB),
    acted("static_routes", TopLevel, STATICS_LAB),
    acted("static_rules", TopLevel, STATICS_LAB),
    acted("garp_group", TopLevel, GARP_GROUP),
    ignored(
        "linkbeat_interfaces",
        TopLevel,
        "link state is read from netlink events on every interface, not by polling",
    ),
    ignored(
        "interface_up_down_delays",
        TopLevel,
        "a link going down or up is acted on at once, without keepalived's per-interface delays",
    ),
    acted("vrrp_track_process", TopLevel, TRACK_PROCESS_LAB),
    acted("track_file", TopLevel, TRACK_FILE_LAB),
    acted("vrrp_track_file", TopLevel, TRACK_FILE_LAB),
    other("virtual_server", TopLevel, "LVS (virtual servers)"),
    other("virtual_server_group", TopLevel, "LVS (virtual servers)"),
    other("bfd_instance", TopLevel, "BFD"),
    ignored(
        "linkbeat_use_polling",
        TopLevel,
        "link state is read from netlink events, not by polling",
    ),
    refused(
        "net_namespace",
        TopLevel,
        "vrrpd runs in the network namespace it is started in: start it with `ip netns exec \
         NAME`, or its interfaces and addresses are those of the wrong namespace",
    ),
    other("net_namespace_ipvs", TopLevel, "LVS (virtual servers)"),
    ignored("namespace_with_ipsets", TopLevel, NO_FIREWALL),
    ignored("use_pid_dir", TopLevel, "harmless: vrrpd's lock lives in --runtime-dir"),
    ignored(
        "instance",
        TopLevel,
        "file names are not made per instance: give each vrrpd its own --runtime-dir and \
         --pin-dir",
    ),
    ignored("child_wait_time", TopLevel, "harmless: vrrpd runs as one process"),
    // global_defs (global_parser.c init_global_keywords()): VRRP's keywords.
    acted("router_id", GlobalDefs, "vrrp-config/tests/validation.rs::comments_quotes_and_brace_placement"),
    acted("vrrp_version", GlobalDefs, "vrrp-config/tests/validation.rs::ipv6_instances_run_version_3"),
    acted("vrrp_mcast_group4", GlobalDefs, MCAST_GROUP),
    acted("vrrp_mcast_group6", GlobalDefs, MCAST_GROUP),
    acted("vrrp_garp_master_delay", GlobalDefs, ANNOUNCEMENTS),
    acted("vrrp_garp_master_repeat", GlobalDefs, ANNOUNCEMENTS),
    acted("vrrp_garp_master_refresh", GlobalDefs, ANNOUNCEMENTS),
    acted("vrrp_garp_master_refresh_repeat", GlobalDefs, ANNOUNCEMENTS),
    acted("vrrp_garp_lower_prio_delay", GlobalDefs, LOWER_PRIO),
    acted("vrrp_garp_lower_prio_repeat", GlobalDefs, LOWER_PRIO),
    ignored(
        "vrrp_down_timer_adverts",
        GlobalDefs,
        "the master-down timer counts 3 advertisement intervals (RFC 9568), whatever the \
         setting: a failover takes the RFC's time",
    ),
    acted(
        "vrrp_garp_interval",
        GlobalDefs,
        "vrrp-node/tests/node_rules.rs::a_burst_is_sent_in_rounds_spaced_by_garp_interval",
    ),
    acted("vrrp_gna_interval", GlobalDefs, GARP_OVERRIDE),
    acted(
        "vrrp_min_garp",
        GlobalDefs,
        "vrrp-config/tests/validation.rs::min_garp_changes_the_defaults_only",
    ),
    acted("vrrp_garp_extra_if", GlobalDefs, EXTRA_GARP),
    acted("vrrp_vmac_garp_intvl", GlobalDefs, EXTRA_GARP),
    acted("vrrp_lower_prio_no_advert", GlobalDefs, ADVERT_ANSWERS_DEFAULT),
    acted("vrrp_higher_prio_send_advert", GlobalDefs, ADVERT_ANSWERS_DEFAULT),
    ignored("vrrp_iptables", GlobalDefs, NO_FIREWALL),
    ignored("vrrp_ipsets", GlobalDefs, NO_FIREWALL),
    ignored("nftables", GlobalDefs, NO_FIREWALL),
    ignored("nftables_priority", GlobalDefs, NO_FIREWALL),
    ignored("nftables_ifindex", GlobalDefs, NO_FIREWALL),
    ignored("nftables_counters", GlobalDefs, NO_FIREWALL),
    always(
        "vrrp_check_unicast_src",
        GlobalDefs,
        "a unicast instance always hears its configured peers only (in the kernel program and \
         on the socket path)",
    ),
    always(
        "vrrp_skip_check_adv_addr",
        GlobalDefs,
        "vrrpd never compares the addresses an advertisement lists with its own",
    ),
    acted("vrrp_strict", GlobalDefs, STRICT),
    acted("vrrp_priority", GlobalDefs, SCHEDULING_NICE_LAB),
    acted("vrrp_no_swap", GlobalDefs, SCHEDULING_LAB),
    acted("vrrp_rt_priority", GlobalDefs, SCHEDULING_LAB),
    ignored("vrrp_cpu_affinity", GlobalDefs, CPU_AFFINITY),
    acted("vrrp_rlimit_rttime", GlobalDefs, SCHEDULING_LAB),
    acted("vrrp_rlimit_rtime", GlobalDefs, "vrrp-config/tests/validation.rs::scheduling_settings_follow_keepaliveds_ranges"),
    ignored("max_auto_priority", GlobalDefs, AUTO_PRIORITY),
    ignored("min_auto_priority_delay", GlobalDefs, AUTO_PRIORITY),
    acted("notify_fifo", GlobalDefs, FIFO_LAB),
    acted("notify_fifo_script", GlobalDefs, FIFO_LAB),
    acted("vrrp_notify_fifo", GlobalDefs, FIFO_LAB),
    acted("vrrp_notify_fifo_script", GlobalDefs, FIFO_LAB),
    acted("vrrp_notify_priority_changes", GlobalDefs, PRIORITY_CHANGES),
    acted("fifo_write_vrrp_states_on_reload", GlobalDefs, "vrrp-node/tests/node_rules.rs::fifo_write_vrrp_states_on_reload_writes_the_unchanged_states_again"),
    acted("script_user", GlobalDefs, TYPED),
    acted(
        "enable_script_security",
        GlobalDefs,
        "vrrp-user/src/script_security.rs::a_path_writable_by_others_disables_a_root_script",
    ),
    ignored(
        "vrrp_netlink_*",
        GlobalDefs,
        "harmless: netlink socket buffers keep the kernel's sizes",
    ),
    ignored(
        "process_monitor_rcv_bufs*",
        GlobalDefs,
        "harmless: the process events socket keeps the kernel's buffer size; events lost to an \
         overrun are made up for by reading /proc again",
    ),
    ignored("vrrp_rx_bufs_policy", GlobalDefs, "harmless: receive buffers keep the kernel's sizes"),
    ignored(
        "vrrp_rx_bufs_multiplier",
        GlobalDefs,
        "harmless: receive buffers keep the kernel's sizes",
    ),
    acted("vrrp_startup_delay", GlobalDefs, STARTUP_DELAY),
    acted(
        "vrrp_delay_after_boot",
        GlobalDefs,
        "vrrp-config/tests/validation.rs::\
         startup_delay_is_the_longer_of_the_delay_and_what_is_left_after_boot",
    ),
    ignored("log_unknown_vrids", GlobalDefs, "advertisements for unknown VRIDs are counted, not logged"),
    ignored(
        "vrrp_owner_ignore_adverts",
        GlobalDefs,
        "an address owner follows RFC 9568 on hearing advertisements",
    ),
    acted("vmac_prefix", GlobalDefs, VMAC_PREFIX),
    acted("vmac_addr_prefix", GlobalDefs, VMAC_PREFIX),
    ignored(
        "dynamic_interfaces",
        GlobalDefs,
        "an instance whose interface does not exist refuses the start (check-config reports \
         it); keepalived would wait for the interface",
    ),
    ignored(
        "default_interface",
        GlobalDefs,
        "every vrrp_instance must name its interface",
    ),
    ignored(
        "disable_local_igmp",
        GlobalDefs,
        "harmless: the kernel's IGMP behaviour is left as it is",
    ),
    acted("v3_checksum_as_v2", GlobalDefs, CHECKSUM_AS_V2),
    ignored("process_names", GlobalDefs, "harmless: vrrpd's process is named vrrpd"),
    ignored("process_name", GlobalDefs, "harmless: vrrpd's process is named vrrpd"),
    ignored("vrrp_process_name", GlobalDefs, "harmless: vrrpd's process is named vrrpd"),
    ignored("use_symlink_paths", GlobalDefs, "harmless: paths are used as written"),
    ignored(
        "set_supplementary_groups",
        GlobalDefs,
        "scripts run with the primary group of their user only",
    ),
    ignored("startup_script", GlobalDefs, "the script is not run when vrrpd starts"),
    ignored("startup_script_timeout", GlobalDefs, "the start-up script is not run"),
    ignored("shutdown_script", GlobalDefs, "the script is not run when vrrpd stops"),
    ignored("shutdown_script_timeout", GlobalDefs, "the shutdown script is not run"),
    ignored("umask", GlobalDefs, "harmless: files vrrpd creates have their own modes"),
    ignored("random_seed", GlobalDefs, "harmless: nothing in vrrpd depends on it"),
    ignored("reload_check_config", GlobalDefs, "a reload always validates the file first, and keeps the running configuration when it is bad"),
    ignored("reload_time_file", GlobalDefs, "reloads happen on SIGHUP only"),
    ignored("reload_repeat", GlobalDefs, "reloads happen on SIGHUP only"),
    ignored("reload_file", GlobalDefs, "reloads happen on SIGHUP only"),
    ignored("include_check", GlobalDefs, "harmless: includes are read as they are"),
    ignored("config_save_dir", GlobalDefs, "harmless: configurations are not saved"),
    ignored("tmp_config_directory", GlobalDefs, "harmless: no temporary copy is made"),
    ignored("data_use_instance", GlobalDefs, "harmless: vrrpd writes no data files"),
    ignored("json_version", GlobalDefs, DUMPS),
    ignored("state_dump_file", GlobalDefs, DUMPS),
    ignored("stats_dump_file", GlobalDefs, DUMPS),
    ignored("json_dump_file", GlobalDefs, DUMPS),
    ignored(
        "iproute_usr_dir",
        GlobalDefs,
        "harmless: route tables are given by number or as main, default or local; rt_tables names are refused at their line",
    ),
    ignored(
        "iproute_etc_dir",
        GlobalDefs,
        "harmless: route tables are given by number or as main, default or local; rt_tables names are refused at their line",
    ),
    // global_defs: the other subsystems' families, one note each.
    other("lvs_*", GlobalDefs, "LVS (virtual servers)"),
    other("nftables_ipvs*", GlobalDefs, "LVS (virtual servers)"),
    other("checker_*", GlobalDefs, "health checkers"),
    other("rs_init_notifies", GlobalDefs, "health checkers"),
    other("no_checker_emails", GlobalDefs, "health checkers"),
    other("snmp_*", GlobalDefs, "SNMP"),
    other("enable_snmp*", GlobalDefs, "SNMP"),
    other("enable_traps", GlobalDefs, "SNMP"),
    other("smtp_*", GlobalDefs, "SMTP alerts"),
    other("notification_email*", GlobalDefs, "SMTP alerts"),
    other("no_email_faults", GlobalDefs, "SMTP alerts"),
    other("enable_dbus", GlobalDefs, "D-Bus"),
    other("dbus_*", GlobalDefs, "D-Bus"),
    other("bfd_*", GlobalDefs, "BFD"),
    // vrrp_instance (vrrp_parser.c init_vrrp_keywords()).
    acted("use_vmac", Instance, VMAC_LAB),
    acted("use_vmac_addr", Instance, VMAC_ADDR),
    acted("vmac_xmit_base", Instance, VMAC_XMIT_BASE),
    refused("use_ipvlan", Instance, VMAC),
    acted("unicast_peer", Instance, UNICAST),
    acted(
        "unicast_fault_no_peer",
        Instance,
        "tests/tests/startup_controls.rs::unicast_fault_no_peer_without_peers_stays_in_fault",
    ),
    always(
        "check_unicast_src",
        Instance,
        "a unicast instance always hears its configured peers only (in the kernel program and \
         on the socket path)",
    ),
    acted(
        "old_unicast_checksum",
        Instance,
        "tests/tests/old_unicast_checksum.rs::vrrpd_master_switches_to_keepalived_old_unicast_checksum",
    ),
    acted("native_ipv6", Instance, "vrrp-config/tests/validation.rs::address_families_must_agree"),
    acted(
        "state",
        Instance,
        "tests/tests/keepalived_semantics.rs::state_master_with_a_priority_waits_for_a_master",
    ),
    acted("interface", Instance, FAILOVER),
    refused(
        "vrf",
        Instance,
        "the instance is not bound to the VRF: advertisements and address changes use the main \
         routing domain",
    ),
    acted(
        "dont_track_primary",
        Instance,
        "tests/tests/startup_controls.rs::\
         dont_track_primary_keeps_the_addresses_when_the_link_goes_down",
    ),
    acted(
        "track_interface",
        Instance,
        "tests/tests/daemon_scenarios.rs::a_tracked_interface_fault_takes_its_sync_group_with_it",
    ),
    acted("track_script", Instance, SCRIPTS),
    acted("track_file", Instance, TRACK_FILE_LAB),
    acted("track_process", Instance, TRACK_PROCESS_LAB),
    refused("track_bfd", Instance, NOT_TRACKED),
    acted(
        "mcast_src_ip",
        Instance,
        "vrrp-node/tests/node_lan.rs::nodes_hold_their_invariants_over_many_seeds",
    ),
    acted("unicast_src_ip", Instance, UNICAST),
    acted("mcast_dst_ip", Instance, MCAST_DST_IP),
    acted("track_src_ip", Instance, TRACK_SRC_IP),
    acted(
        "virtual_router_id",
        Instance,
        "vrrp-config/tests/validation.rs::vrid_is_unique_per_interface_and_family",
    ),
    acted(
        "unicast_ttl",
        Instance,
        "vrrp-config/tests/validation.rs::unicast_ttl_applies_to_unicast_peers_only",
    ),
    acted("version", Instance, "vrrp-config/tests/validation.rs::ipv6_instances_run_version_3"),
    acted("priority", Instance, FAILOVER),
    acted(
        "advert_int",
        Instance,
        "vrrp-node/tests/node_rules.rs::a_new_interval_on_a_master_is_advertised_at_once_in_place",
    ),
    acted("virtual_ipaddress", Instance, FAILOVER),
    acted(
        "virtual_ipaddress_excluded",
        Instance,
        "vrrp-config/tests/validation.rs::address_families_must_agree",
    ),
    ignored(
        "no_virtual_ipaddress",
        Instance,
        "harmless: an instance without addresses runs, with a warning",
    ),
    ignored(
        "promote_secondaries",
        Instance,
        "the kernel's promote_secondaries setting is not switched on: removing a virtual \
         address that is the first of its subnet may remove the interface's other addresses of \
         that subnet",
    ),
    ignored(
        "linkbeat_use_polling",
        Instance,
        "link state is read from netlink events, not by polling",
    ),
    acted("v3_checksum_as_v2", Instance, CHECKSUM_AS_V2),
    acted("virtual_routes", Instance, ROUTES_LAB),
    acted("virtual_rules", Instance, ROUTES_LAB),
    acted("accept", Instance, ACCEPT_LAB),
    acted("no_accept", Instance, ACCEPT_MODE_LAB),
    always(
        "skip_check_adv_addr",
        Instance,
        "vrrpd never compares the addresses an advertisement lists with its own",
    ),
    acted("strict_mode", Instance, STRICT),
    acted("preempt", Instance, FAILOVER),
    acted(
        "nopreempt",
        Instance,
        "tests/tests/daemon_scenarios.rs::nopreempt_leaves_the_running_master_alone",
    ),
    acted(
        "preempt_delay",
        Instance,
        "tests/tests/daemon_scenarios.rs::preempt_delay_holds_preemption_back",
    ),
    ignored("debug", Instance, "harmless: use --log-level"),
    acted("notify_backup", Instance, SCRIPTS),
    acted("notify_master", Instance, SCRIPTS),
    acted("notify_fault", Instance, SCRIPTS),
    acted(
        "notify_stop",
        Instance,
        "vrrp-node/tests/node_rules.rs::notify_runs_after_the_state_change_with_keepaliveds_arguments",
    ),
    ignored(
        "notify_deleted",
        Instance,
        "an instance removed by a reload is notified as stopped, not as deleted",
    ),
    acted("notify", Instance, SCRIPTS),
    ignored(
        "notify_master_rx_lower_pri",
        Instance,
        "no script runs when a master hears a lower priority",
    ),
    other("smtp_alert", Instance, "SMTP alerts"),
    acted("notify_priority_changes", Instance, PRIORITY_CHANGES),
    other("lvs_sync_daemon_interface", Instance, "LVS (virtual servers)"),
    acted("garp_master_delay", Instance, GARP_OVERRIDE),
    acted("garp_master_refresh", Instance, GARP_OVERRIDE),
    acted("garp_master_repeat", Instance, GARP_OVERRIDE),
    acted("garp_master_refresh_repeat", Instance, GARP_OVERRIDE),
    acted(
        "garp_lower_prio_delay",
        Instance,
        "vrrp-proto/tests/router_transitions.rs::\
         lower_priority_answers_announce_once_per_garp_lower_prio_delay",
    ),
    acted(
        "garp_lower_prio_repeat",
        Instance,
        "vrrp-proto/tests/router_transitions.rs::\
         lower_priority_answers_announce_once_per_garp_lower_prio_delay",
    ),
    ignored(
        "down_timer_adverts",
        Instance,
        "the master-down timer counts 3 advertisement intervals (RFC 9568), whatever the \
         setting: a failover takes the RFC's time",
    ),
    ignored(
        "timer_expired_backup",
        Instance,
        "a backup whose timer expires becomes master as RFC 9568 says",
    ),
    ignored(
        "thread_timer_expired",
        Instance,
        "a backup whose timer expires becomes master as RFC 9568 says",
    ),
    acted("garp_extra_if", Instance, EXTRA_GARP),
    acted("vmac_garp_intvl", Instance, EXTRA_GARP),
    acted("lower_prio_no_advert", Instance, LOWER_PRIO_NO_ADVERT),
    acted("higher_prio_send_advert", Instance, HIGHER_PRIO_SEND_ADVERT),
    ignored(
        "owner_ignore_adverts",
        Instance,
        "an address owner follows RFC 9568 on hearing advertisements",
    ),
    ignored("kernel_rx_buf_size", Instance, "harmless: receive buffers keep the kernel's sizes"),
    acted("authentication", Instance, PASS),
    acted("auth_type", Authentication, AH),
    acted("auth_pass", Authentication, PASS),
    refused(
        "auth_hmac",
        Instance,
        "adverts are sent without keepalived's HMAC trailer: peers that require it do not hear \
         this node, and both become master",
    ),
    ignored("key", AuthHmac, INSIDE_HMAC),
    ignored("active_key", AuthHmac, INSIDE_HMAC),
    ignored("time_window", AuthHmac, INSIDE_HMAC),
    ignored("anti_replay", AuthHmac, INSIDE_HMAC),
    ignored("mode", AuthHmac, INSIDE_HMAC),
    // vrrp_sync_group.
    // A warning rather than a refusal: the members' faults are shared, which covers the usual
    // split (one member's link down); what is left needs the members' priorities to differ
    // between nodes.
    acted("group", SyncGroup, SYNC_GROUP_LAB),
    acted("track_interface", SyncGroup, SYNC_GROUP_LAB),
    acted("track_script", SyncGroup, SYNC_GROUP_LAB),
    acted("track_file", SyncGroup, "vrrp-config/tests/validation.rs::track_files_with_keepaliveds_defaults_and_sync_group_rule"),
    acted("track_process", SyncGroup, TRACK_PROCESS_RULES),
    refused("track_bfd", SyncGroup, NOT_TRACKED),
    acted("notify_backup", SyncGroup, SYNC_GROUP_LAB),
    acted("notify_master", SyncGroup, SYNC_GROUP_LAB),
    acted("notify_fault", SyncGroup, SYNC_GROUP_LAB),
    acted("notify_stop", SyncGroup, SYNC_GROUP_LAB),
    acted("notify", SyncGroup, SYNC_GROUP_LAB),
    other("smtp_alert", SyncGroup, "SMTP alerts"),
    acted("global_tracking", SyncGroup, GROUP_TRACKING),
    acted("sync_group_tracking_weight", SyncGroup, GROUP_TRACKING),
    acted("notify_priority_changes", SyncGroup, PRIORITY_CHANGES),
    // vrrp_script.
    acted("script", Script, SCRIPTS),
    acted("interval", Script, TYPED),
    acted(
        "timeout",
        Script,
        "vrrp-user/src/scripts.rs::a_timed_out_script_is_killed_with_what_it_started",
    ),
    acted("weight", Script, SCRIPTS),
    acted("rise", Script, SCRIPTS),
    acted("fall", Script, SCRIPTS),
    acted("user", Script, TYPED),
    acted("init_fail", Script, TYPED),
    // track_file (trackers/track_file.c add_track_file_keywords()).
    acted("file", TrackFile, TRACK_FILE_LAB),
    acted("weight", TrackFile, TRACK_FILE_LAB),
    acted("init_file", TrackFile, TRACK_FILE_LAB),
    // vrrp_track_process.
    acted("process", TrackProcess, TRACK_PROCESS_LAB),
    acted("param_match", TrackProcess, PROCESS_MATCHING),
    acted("weight", TrackProcess, TRACK_PROCESS_LAB),
    acted("quorum", TrackProcess, PROCESS_QUORUM),
    acted("quorum_max", TrackProcess, PROCESS_QUORUM),
    acted("delay", TrackProcess, PROCESS_DELAYS),
    acted("terminate_delay", TrackProcess, PROCESS_DELAYS),
    acted("fork_delay", TrackProcess, PROCESS_DELAYS),
    acted("full_command", TrackProcess, PROCESS_MATCHING),
    // track_group and garp_group.
    acted("group", TrackGroup, TRACK_GROUP_LAB),
    acted("garp_interval", GarpGroup, GARP_GROUP),
    acted("gna_interval", GarpGroup, GARP_GROUP),
    acted("interface", GarpGroup, GARP_GROUP),
    acted("interfaces", GarpGroup, GARP_GROUP),
    // Options of a virtual_ipaddress line (vrrp_ipaddress.c parse_ipaddress()).
    acted("dev", AddressOption, TYPED),
    acted("scope", AddressOption, TYPED),
    ignored(
        "broadcast",
        AddressOption,
        "the address is added without a broadcast address; VRRP does not depend on it",
    ),
    ignored(
        "brd",
        AddressOption,
        "the address is added without a broadcast address; VRRP does not depend on it",
    ),
    acted("label", AddressOption, TYPED),
    ignored("peer", AddressOption, ADDRESS_FLAG),
    ignored("home", AddressOption, ADDRESS_FLAG),
    ignored("-nodad", AddressOption, ADDRESS_FLAG),
    ignored("mngtmpaddr", AddressOption, ADDRESS_FLAG),
    ignored("noprefixroute", AddressOption, ADDRESS_FLAG),
    ignored("autojoin", AddressOption, ADDRESS_FLAG),
    always(
        "no_track",
        AddressOption,
        "vrrpd never puts an instance in FAULT because a virtual address's own interface \
         (its dev) is down",
    ),
    ignored("preferred_lft", AddressOption, ADDRESS_FLAG),
    acted("track_group", AddressOption, TRACK_GROUP_LAB),
    acted("use_vmac", AddressOption, VMAC_PER_ADDRESS),
    // Options of a unicast_peer line.
    acted("min_ttl", PeerOption, TTL_LIMITS),
    acted("max_ttl", PeerOption, TTL_LIMITS),
    // vrrpd's own: the peer's MAC, pinned (keepalived rejects it).
    acted(
        "mac",
        PeerOption,
        "tests/tests/daemon_scenarios.rs::a_pinned_peer_mac_refuses_a_forger_in_the_kernel",
    ),
    // Options of a track_interface / track_script line.
    acted(
        "weight",
        TrackOption,
        "vrrp-node/tests/node_rules.rs::tracking_moves_the_running_priority_and_weight_zero_faults",
    ),
    acted("reverse", TrackOption, "vrrp-node/src/tracking.rs::reverse_inverts_what_good_means"),
    acted("noreverse", TrackOption, "vrrp-node/src/tracking.rs::reverse_inverts_what_good_means"),
];

/// The entry for `keyword` written in `block`, if keepalived knows it there.
pub fn lookup(block: Block, keyword: &str) -> Option<&'static Keyword> {
    KEYWORDS.iter().find(|entry| entry.matches(block, keyword))
}

/// `docs/keepalived-compatibility.md`, as the table says it.
pub fn compatibility_markdown() -> String {
    let mut out = String::new();
    out.push_str(
        "# keepalived compatibility: every keyword\n\n\
         <!-- Generated from vrrp-config/src/keywords.rs; do not edit. Regenerate with\n     \
         VRRPD_BLESS=1 cargo test -p vrrp-config --test compatibility_doc -->\n\n\
         Every keyword of keepalived's VRRP configuration, with what vrrpd does with it:\n\n\
         * **acted on**: as keepalived, shown by the test named;\n\
         * **always**: vrrpd always behaves as the keyword asks, so the keyword changes nothing;\n\
         * **not supported**: read and not acted on, with the effect; `check-config` prints it.\n  \
         Where ignoring the keyword can change which node holds the virtual addresses (or where\n  \
         their traffic goes), the column *VIP* says **can move** and a file using it is refused\n  \
         unless `--allow-unsupported` is given (to `vrrpd check-config` and to the daemon);\n\
         * **other subsystem**: belongs to a part of keepalived vrrpd does not run (LVS, SMTP,\n  \
         ...), skipped with one note. A `*` stands for every keyword with that prefix.\n",
    );
    for block in Block::ALL {
        let _ = write!(out, "\n## {}\n\n", block.title());
        out.push_str("| keyword | vrrpd | VIP | effect, or the test that shows it |\n");
        out.push_str("|---|---|---|---|\n");
        for entry in KEYWORDS.iter().filter(|entry| entry.block == block) {
            let (status, vip, text) = match entry.support {
                Support::ActedOn { proof } => ("acted on", "", format!("`{proof}`")),
                Support::Always { how } => ("always", "", how.to_string()),
                Support::Unsupported { effect, moves_vip } => {
                    ("not supported", if moves_vip { "**can move**" } else { "" }, effect.into())
                }
                Support::OtherSubsystem { subsystem } => {
                    ("other subsystem", "", format!("keepalived's {subsystem}"))
                }
            };
            let _ = writeln!(
                out,
                "| `{}` | {status} | {vip} | {} |",
                entry.name,
                text.replace('|', "\\|")
            );
        }
    }
    out
}
