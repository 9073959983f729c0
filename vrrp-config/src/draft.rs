//! What the configuration said, before defaults and cross-checks: values already typed, with
//! where each was written so that validation can point at it.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use crate::diagnostic::Word;
use crate::model::{
    Command, ExtraInterfaces, FileInit, InitialState, Notify, OldChecksumPolicy, ParamMatch, Route,
    Rule, RunAs, TrackedInterface, UnicastPeer, Version, VirtualAddress,
};

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Located<T> {
    pub value: T,
    pub at: Word,
}

#[derive(Debug, Default)]
pub(crate) struct Draft {
    pub global: GlobalDraft,
    pub instances: Vec<InstanceDraft>,
    pub scripts: Vec<ScriptDraft>,
    pub sync_groups: Vec<SyncGroupDraft>,
    pub static_addresses: Vec<Located<VirtualAddress>>,
    pub static_routes: Vec<Route>,
    pub static_rules: Vec<Rule>,
    pub track_files: Vec<TrackFileDraft>,
    pub track_processes: Vec<TrackProcessDraft>,
    pub garp_groups: Vec<GarpGroupDraft>,
    pub track_groups: Vec<TrackGroupDraft>,
    /// The static entries' `track_group NAME` options, in configuration order.
    pub static_tags: Vec<StaticTag>,
}

/// `track_group NAME { group { INSTANCE ... } }`.
#[derive(Debug)]
pub(crate) struct TrackGroupDraft {
    pub name: Word,
    /// The `group` block, once given.
    pub members: Option<Vec<Word>>,
}

/// A static entry tagged `track_group NAME`: the interface whose state its group's instances
/// track (an address's `dev`, a route's `dev`, a rule's `iif`).
#[derive(Debug)]
pub(crate) struct StaticTag {
    pub group: Word,
    /// How the entry is named in messages (`static_ipaddress 198.51.100.1/24`).
    pub entry: String,
    pub interface: Option<String>,
    pub no_track: bool,
}

/// A `garp_group`, its interfaces with where each was named.
#[derive(Debug)]
pub(crate) struct GarpGroupDraft {
    pub at: Word,
    pub garp_interval: Option<Duration>,
    pub gna_interval: Option<Duration>,
    pub interfaces: Vec<Word>,
}

#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct GarpDraft {
    pub master_delay: Option<Duration>,
    pub master_repeat: Option<u32>,
    pub master_refresh: Option<Duration>,
    pub master_refresh_repeat: Option<u32>,
    pub lower_prio_delay: Option<Duration>,
    pub lower_prio_repeat: Option<u32>,
}

#[derive(Debug, Default)]
pub(crate) struct GlobalDraft {
    pub router_id: Option<String>,
    pub version: Option<Version>,
    pub garp: GarpDraft,
    pub min_garp: bool,
    pub garp_interval: Option<Duration>,
    pub gna_interval: Option<Duration>,
    pub garp_extra_if: Option<Located<ExtraInterfaces>>,
    pub script_user: Option<RunAs>,
    pub enable_script_security: bool,
    pub strict: bool,
    pub check_unicast_src: bool,
    pub skip_check_adv_addr: bool,
    pub v3_checksum_as_v2: bool,
    pub mcast_group4: Option<Ipv4Addr>,
    pub mcast_group6: Option<Ipv6Addr>,
    /// `notify_fifo` and `vrrp_notify_fifo`, each with its `*_script`.
    pub notify_fifo: FifoDraft,
    pub vrrp_notify_fifo: FifoDraft,
    pub notify_priority_changes: bool,
    pub fifo_write_states_on_reload: bool,
    pub startup_delay: Option<Duration>,
    pub delay_after_boot: Option<Duration>,
    pub lower_prio_no_advert: bool,
    pub higher_prio_send_advert: Option<bool>,
    /// `vmac_prefix` and `vmac_addr_prefix`, the first of each (keepalived ignores a second).
    pub vmac_prefix: Option<String>,
    pub vmac_addr_prefix: Option<String>,
    pub realtime_priority: Option<u8>,
    pub rlimit_rttime_us: Option<u32>,
    pub nice: Option<i8>,
    pub no_swap: bool,
}

#[derive(Debug, Default)]
pub(crate) struct FifoDraft {
    pub path: Option<Located<std::path::PathBuf>>,
    pub owner: Option<RunAs>,
    pub script: Option<Located<Command>>,
}

#[derive(Debug)]
pub(crate) struct InstanceDraft {
    /// The name as written after `vrrp_instance`; its span is the statement's line.
    pub name: Word,
    pub state: Option<InitialState>,
    pub interface: Option<String>,
    pub vrid: Option<Located<u8>>,
    pub priority: Option<u8>,
    pub advert_int: Option<Located<Duration>>,
    pub version: Option<Version>,
    pub preempt: Option<Located<bool>>,
    pub preempt_delay: Option<Duration>,
    pub accept: Option<bool>,
    /// `strict_mode`; unset, `vrrp_strict` decides.
    pub strict: Option<bool>,
    pub source_ip: Option<Located<IpAddr>>,
    /// `mcast_dst_ip`: the instance's own multicast group.
    pub mcast_dst_ip: Option<Located<IpAddr>>,
    pub unicast_peers: Vec<Located<UnicastPeer>>,
    pub unicast_ttl: Option<Located<u8>>,
    pub check_unicast_src: bool,
    pub virtual_addresses: Vec<Located<VirtualAddress>>,
    pub excluded_addresses: Vec<Located<VirtualAddress>>,
    pub virtual_routes: Vec<Route>,
    pub virtual_rules: Vec<Rule>,
    pub track_interfaces: Vec<TrackedInterface>,
    pub track_scripts: Vec<Located<TrackedScriptDraft>>,
    pub track_files: Vec<Located<TrackedScriptDraft>>,
    pub track_processes: Vec<Located<TrackedScriptDraft>>,
    pub notify: Notify,
    pub notify_priority_changes: Option<bool>,
    pub garp: GarpDraft,
    pub garp_extra_if: Option<Located<ExtraInterfaces>>,
    pub dont_track_primary: bool,
    pub v3_checksum_as_v2: Option<bool>,
    pub old_unicast_checksum: OldChecksumPolicy,
    /// `track_src_ip`: the keyword, for a warning without `unicast_src_ip`.
    pub track_src_ip: Option<Word>,
    pub lower_prio_no_advert: Option<Located<bool>>,
    pub higher_prio_send_advert: Option<Located<bool>>,
    pub unicast_fault_no_peer: Option<Word>,
    pub native_ipv6: Option<Word>,
    /// `use_vmac [NAME]`: the keyword, and the name when one was given.
    pub use_vmac: Option<(Word, Option<Word>)>,
    /// `vmac_xmit_base`.
    pub vmac_xmit_base: Option<Word>,
    /// `use_vmac_addr`.
    pub use_vmac_addr: Option<Word>,
    /// `authentication { auth_type PASS }` or `{ auth_type AH }`: the word, `PASS` or `AH`.
    pub auth_type: Option<Word>,
    /// `authentication { auth_pass ... }`, padded with zeros to 8 bytes.
    pub auth_pass: Option<Located<[u8; 8]>>,
}

impl InstanceDraft {
    pub fn new(name: Word) -> Self {
        InstanceDraft {
            name,
            state: None,
            interface: None,
            vrid: None,
            priority: None,
            advert_int: None,
            version: None,
            preempt: None,
            preempt_delay: None,
            accept: None,
            strict: None,
            source_ip: None,
            mcast_dst_ip: None,
            unicast_peers: Vec::new(),
            unicast_ttl: None,
            check_unicast_src: false,
            virtual_addresses: Vec::new(),
            excluded_addresses: Vec::new(),
            virtual_routes: Vec::new(),
            virtual_rules: Vec::new(),
            track_interfaces: Vec::new(),
            track_scripts: Vec::new(),
            track_files: Vec::new(),
            track_processes: Vec::new(),
            notify: Notify::default(),
            notify_priority_changes: None,
            garp: GarpDraft::default(),
            garp_extra_if: None,
            dont_track_primary: false,
            v3_checksum_as_v2: None,
            old_unicast_checksum: OldChecksumPolicy::Detect,
            track_src_ip: None,
            lower_prio_no_advert: None,
            higher_prio_send_advert: None,
            unicast_fault_no_peer: None,
            native_ipv6: None,
            use_vmac: None,
            vmac_xmit_base: None,
            use_vmac_addr: None,
            auth_type: None,
            auth_pass: None,
        }
    }
}

/// A `track_script` or `track_file` entry; without its own weight (or `reverse`) it takes the
/// script's or the file's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TrackedScriptDraft {
    pub weight: Option<i32>,
    pub reverse: Option<bool>,
}

#[derive(Debug)]
pub(crate) struct ScriptDraft {
    pub name: Word,
    pub argv: Option<Vec<String>>,
    pub interval: Option<Duration>,
    pub timeout: Option<Duration>,
    pub weight: Option<i32>,
    pub reverse: bool,
    pub rise: Option<u32>,
    pub fall: Option<u32>,
    pub run_as: Option<RunAs>,
    pub init_fail: bool,
}

#[derive(Debug)]
pub(crate) struct SyncGroupDraft {
    pub name: Word,
    pub members: Vec<Word>,
    pub notify: Notify,
    pub track_interfaces: Vec<TrackedInterface>,
    pub track_scripts: Vec<Located<TrackedScriptDraft>>,
    pub track_files: Vec<Located<TrackedScriptDraft>>,
    pub track_processes: Vec<Located<TrackedScriptDraft>>,
    pub notify_priority_changes: Option<bool>,
    /// `sync_group_tracking_weight` (or the deprecated `global_tracking`).
    pub tracking_weight: bool,
}

/// `track_file NAME { ... }` (or the older `vrrp_track_file`).
#[derive(Debug)]
pub(crate) struct TrackFileDraft {
    pub name: Word,
    pub path: Option<std::path::PathBuf>,
    pub weight: Option<i32>,
    pub reverse: bool,
    pub init: Option<FileInit>,
}

/// `vrrp_track_process NAME { ... }`.
#[derive(Debug)]
pub(crate) struct TrackProcessDraft {
    pub name: Word,
    /// `process NAME [ARG ...]`.
    pub process: Option<(String, Vec<String>)>,
    pub param_match: Option<ParamMatch>,
    pub full_command: bool,
    pub quorum: Option<Located<u32>>,
    pub quorum_max: Option<Located<u32>>,
    pub terminate_delay: Option<Duration>,
    pub fork_delay: Option<Duration>,
    pub weight: Option<i32>,
    pub reverse: bool,
}
