//! Configuration files: keepalived.conf syntax and the native TOML format, one validated model.
//!
//! [`load`] reads a file (and, for keepalived syntax, everything it includes), checks it and
//! returns the [`Config`] with its warnings, or a [`ConfigError`] listing every error as
//! `file:line:column: message`. Nothing is half-applied: any error refuses the whole file.
//!
//! # keepalived.conf
//!
//! The VRRP part of keepalived's grammar (`global_defs`, `vrrp_instance`, `vrrp_script`,
//! `vrrp_sync_group`, `track_file`, `vrrp_track_process`, `static_ipaddress`, `static_routes`, `static_rules`, `include`), with
//! keepalived's defaults. Route and rule lines (`virtual_routes`, `virtual_rules`, the static
//! ones) take the subset of `ip route` / `ip rule` described in `routes.rs`. What vrrpd does with each keyword
//! keepalived knows is in one table, [`keywords::KEYWORDS`] (also
//! `docs/keepalived-compatibility.md`): a keyword vrrpd does not act on is a warning naming its
//! effect, or an error where ignoring it can change which node holds the virtual addresses
//! (unless [`LoadOptions::allow_unsupported`]); keywords of other keepalived subsystems (SMTP,
//! LVS, SNMP, ...) get one note each; unknown keywords are warnings too; invalid values and broken references are errors, except
//! where keepalived 2.2.7 runs the file anyway: a mask or range after `unicast_src_ip` or a
//! unicast peer (left out), an argument after `nopreempt` (ignored), an invalid `priority` (the
//! default 100); those are warnings at the exact text. A file without `vrrp_instance` is
//! accepted with a warning, as keepalived runs it.
//!
//! Diagnostics: unknown keywords and other subsystems' keywords are warnings naming
//! `file:line`; keywords vrrpd does not act on name `file:line:column` and their effect;
//! invalid values are errors naming `file:line:column` and what was expected; a missing required item (`interface`,
//! `virtual_router_id`) is an error naming the instance and the line it starts on. Inside an
//! included file, the diagnostic names that file.
//!
//! keepalived's preprocessor applies to every line, as keepalived 2.2.7 runs it: `@ID` and
//! `@^ID` conditional lines (the id from [`LoadOptions::config_id`], by default the host name up
//! to its first dot), `$NAME=value` definitions (multi-line with a trailing `\`), `$NAME` and
//! `${NAME}` substitution, and `~SEQ(VAR, START, STEP, END)` sequences; see `preprocess.rs`.
//! Not supported: `~LST` lists and the built-ins `$_PWD`, `$_RANDOM` and `$_ENV` (a reference
//! to them is left as written, with a warning).
//!
//! vrrpd extension, which keepalived would reject: a unicast peer may pin the peer's MAC address,
//! `unicast_peer { 192.0.2.2 mac 02:00:00:00:00:02 }`, so no ARP/ND resolution is needed.
//!
//! # Native TOML
//!
//! A `.toml` file maps onto the same keywords, so everything above applies unchanged:
//!
//! * `[global_defs]` holds the `global_defs` keywords as keys;
//! * `[[vrrp_instance]]`, `[[vrrp_script]]`, `[[vrrp_sync_group]]`, `[[track_file]]` and
//!   `[[vrrp_track_process]]` are arrays of tables,
//!   each with a `name` key plus the keywords of that block;
//! * a value is a string, integer or float (times are seconds, fractions allowed: `0.5`);
//! * a flag keyword is a boolean: `nopreempt = true`, or `preempt = false`;
//! * a list block (`virtual_ipaddress`, `unicast_peer`, `track_interface`, `track_script`,
//!   `group`, ...) is an array whose entries are either strings (`"192.0.2.100/24"`) or inline
//!   tables whose `address` (or `name`) key is the entry and whose other keys are its options:
//!   `{ address = "192.0.2.100/24", dev = "eth1", label = "eth1:1", no_track = true }`,
//!   `{ address = "192.0.2.2", mac = "02:00:00:00:00:02" }`,
//!   `{ name = "chk_haproxy", weight = -20 }`; a route or rule entry is its whole line,
//!   `"0.0.0.0/0 via 192.0.2.1 dev eth1"`, or a table whose `address` is the destination;
//! * `static_ipaddress`, `static_routes` and `static_rules` are top-level arrays;
//! * a command (`script`, `notify_master`, ...) is a string split as keepalived does, or an
//!   array of strings taken as the exact argument list: `notify_master = ["/bin/notify", "a b"]`.
//!
//! Values are checked by the keyword rules, not by TOML type: `priority = "110"` is accepted like
//! `priority = 110`. TOML files have no `include`.
//!
//! The reference keepalived configuration of server 1 reads, in TOML:
//!
//! ```toml
//! [global_defs]
//! vrrp_garp_master_refresh = 10
//! vrrp_version = 3
//!
//! [[vrrp_instance]]
//! name = "VI01"
//! interface = "ens3"
//! virtual_router_id = 123
//! state = "BACKUP"
//! priority = 110
//! unicast_src_ip = "192.0.2.1"
//! unicast_peer = ["192.0.2.2"]
//! virtual_ipaddress = ["192.0.2.100"]
//! ```

mod diagnostic;
mod draft;
mod glob;
mod include;
mod keepalived;
pub mod keywords;
mod lexer;
mod model;
mod preprocess;
mod routes;
mod syntax;
mod toml;
mod validate;
mod values;

use std::path::Path;

pub use diagnostic::{ConfigError, Diagnostic, Severity};
pub use include::{MAX_FILES, MAX_FILE_BYTES, MAX_TOTAL_BYTES};
pub use model::{
    Command, Config, ExtraInterfaces, Family, FileInit, Garp, GarpGroup, Global, InitialState,
    Instance, MacAddr, Notify, NotifyFifo, OldChecksumPolicy, ParamMatch, Route, RouteKind, Rule,
    RuleAction, RunAs, Scheduling, Scope, Script, SyncGroup, TrackFile, TrackGroup, TrackProcess,
    TrackedFile, TrackedInterface, TrackedProcess, TrackedScript, UnicastPeer, Version,
    VirtualAddress, Vmac, MAX_UNICAST_PEERS, PROTOCOL_KEEPALIVED, TABLE_MAIN,
};
pub use preprocess::{
    MAX_GENERATED_BYTES, MAX_GENERATED_LINES, MAX_LINE_CHARS, MAX_NESTING, MAX_SUBSTITUTIONS,
};

use diagnostic::Report;

/// A configuration that passed validation, with what deserves the operator's attention.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Loaded {
    pub config: Config,
    pub warnings: Vec<Diagnostic>,
}

/// The two file formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Keepalived,
    Toml,
}

impl Format {
    /// `.toml` is TOML and `.conf` keepalived syntax; otherwise the content decides: a TOML
    /// file starts (after comments) with a `[table]` header or a `key = value` line, which a
    /// keepalived file never does.
    pub fn detect(text: &str, origin: &Path) -> Format {
        match origin.extension().and_then(|extension| extension.to_str()) {
            Some("toml") => return Format::Toml,
            Some("conf") => return Format::Keepalived,
            _ => {}
        }
        let first = text
            .lines()
            .map(str::trim)
            .find(|line| !line.is_empty() && !line.starts_with(['#', '!']));
        match first {
            Some(line) if line.starts_with('[') => Format::Toml,
            Some(line) if is_toml_assignment(line) => Format::Toml,
            _ => Format::Keepalived,
        }
    }
}

/// `key = value` with a bare TOML key; keepalived lines put spaces or quotes before any `=`, and
/// its `$NAME=value` definitions start with `$`.
fn is_toml_assignment(line: &str) -> bool {
    line.split_once('=').is_some_and(|(key, _)| {
        let key = key.trim();
        !key.is_empty()
            && key.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
    })
}

/// How a configuration is read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LoadOptions {
    /// keepalived's configuration id (`-i`/`--config-id`), which selects the `@ID` lines;
    /// `None` keeps only the `@^ID` ones, as keepalived without an id.
    pub config_id: Option<String>,
    /// Accept keywords vrrpd does not act on even where that can change which node holds the
    /// virtual addresses (`--allow-unsupported`): they are then warnings, not errors.
    pub allow_unsupported: bool,
}

impl LoadOptions {
    /// The options keepalived runs with when given no `-i`: the host name up to its first dot
    /// as the configuration id (keepalived/core/main.c, from uname's nodename).
    pub fn for_this_host() -> LoadOptions {
        LoadOptions { config_id: host_config_id(), allow_unsupported: false }
    }
}

/// The host name up to its first dot; the kernel's nodename is what uname(2) reports.
fn host_config_id() -> Option<String> {
    let name = std::fs::read_to_string("/proc/sys/kernel/hostname").ok()?;
    let name = name.trim();
    let short = name.split('.').next().unwrap_or(name);
    (!short.is_empty()).then(|| short.to_string())
}

/// Reads and validates the configuration file at `path` (and its includes) with the options
/// keepalived would use on this host ([`LoadOptions::for_this_host`]).
pub fn load(path: &Path) -> Result<Loaded, ConfigError> {
    load_with(path, &LoadOptions::for_this_host())
}

/// Reads and validates the configuration file at `path` (and its includes).
pub fn load_with(path: &Path, options: &LoadOptions) -> Result<Loaded, ConfigError> {
    match include::read_file(path) {
        Ok(text) => parse_str_with(&text, path, options),
        Err(error) => Err(ConfigError::unreadable(path, &error)),
    }
}

/// Validates configuration text as if read from `origin`, which names it in diagnostics,
/// decides its format and anchors relative includes; no configuration id is set.
pub fn parse_str(text: &str, origin: &Path) -> Result<Loaded, ConfigError> {
    parse_str_with(text, origin, &LoadOptions::default())
}

/// [`parse_str`] with explicit options.
pub fn parse_str_with(
    text: &str,
    origin: &Path,
    options: &LoadOptions,
) -> Result<Loaded, ConfigError> {
    let mut report = Report::default();
    let tree = match Format::detect(text, origin) {
        Format::Keepalived => {
            let config_id = options.config_id.as_deref();
            let tokens = include::read_tokens(text, origin, config_id, &mut report);
            syntax::parse_tokens(tokens, &mut report)
        }
        Format::Toml => toml::read_tree(text, origin, &mut report),
    };
    let draft = keepalived::read_tree(&tree, &mut report, options.allow_unsupported);
    let no_instance = draft.instances.is_empty();
    let config = validate::validate(draft, &mut report);
    if no_instance {
        // keepalived runs such a file (its VRRP process then has nothing to do).
        report.warn_file(origin, "no vrrp_instance: there is nothing for VRRP to run");
    }
    let warnings = report.finish()?;
    Ok(Loaded { config, warnings })
}
