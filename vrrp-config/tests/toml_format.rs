//! The native TOML format: same keywords, same model, same diagnostics with TOML positions.

use std::path::Path;
use std::time::Duration;

use vrrp_config::{parse_str, Format, MacAddr, Scope, TrackedScript};

fn errors(text: &str) -> Vec<String> {
    let error = parse_str(text, Path::new("vrrpd.toml")).unwrap_err();
    error.errors.iter().map(ToString::to_string).collect()
}

const FULL: &str = r#"
[global_defs]
vrrp_version = 3
script_user = "nobody"

[[vrrp_script]]
name = "chk_haproxy"
script = ["/usr/bin/pgrep", "-f", "haproxy -f \"x\""]
interval = 2
weight = -20

[[vrrp_instance]]
name = "VI01"
interface = "ens3"
virtual_router_id = 0x33
priority = 150
advert_int = 0.5
nopreempt = true
accept = false
unicast_src_ip = "192.0.2.1"
unicast_peer = [{ address = "192.0.2.2", mac = "02:00:00:00:00:02", max_ttl = 255 }]
virtual_ipaddress = [
    { address = "192.0.2.100/24", dev = "eth1", label = "eth1:1", scope = "link", no_track = true },
    "192.0.2.101",
]
track_script = [{ name = "chk_haproxy", weight = 10, reverse = true }]
notify_master = "/etc/notify.sh 'to master'"

[[vrrp_instance]]
name = "VI02"
interface = "ens3"
virtual_router_id = 52
preempt = false
virtual_ipaddress = ["192.0.2.200"]

[[vrrp_sync_group]]
name = "G1"
group = ["VI01", "VI02"]
sync_group_tracking_weight = true
"#;

/// `LINE:COLUMN KEYWORD` of each warning about a keyword vrrpd does not act on, and nothing
/// else may be warned about.
fn unsupported(warnings: &[vrrp_config::Diagnostic]) -> Vec<String> {
    warnings
        .iter()
        .map(|warning| {
            assert!(warning.message.contains(" is not supported: "), "{warning}");
            let keyword = warning.message.split('"').nth(1).unwrap_or_default();
            format!("{}:{} {keyword}", warning.line.unwrap(), warning.column.unwrap())
        })
        .collect()
}

#[test]
fn full_schema() {
    let loaded = parse_str(FULL, Path::new("vrrpd.toml")).unwrap();
    assert_eq!(unsupported(&loaded.warnings), Vec::<String>::new());
    let config = loaded.config;
    let script = config.script("chk_haproxy").unwrap();
    assert_eq!(script.argv, ["/usr/bin/pgrep", "-f", "haproxy -f \"x\""]);
    assert_eq!((script.interval, script.weight), (Duration::from_secs(2), -20));

    let vi01 = config.instance("VI01").unwrap();
    assert_eq!((vi01.vrid, vi01.priority), (0x33, 150));
    assert_eq!(vi01.advert_interval, Duration::from_millis(500));
    assert!(!vi01.preempt && !vi01.accept);
    assert_eq!(vi01.unicast_peers[0].mac, Some(MacAddr([2, 0, 0, 0, 0, 2])));
    assert_eq!(vi01.unicast_peers[0].max_ttl, Some(255));
    let vip = &vi01.virtual_addresses[0];
    assert_eq!((vip.prefix_len, vip.device.as_deref()), (24, Some("eth1")));
    assert_eq!(
        (vip.label.as_deref(), vip.scope, vip.no_track),
        (Some("eth1:1"), Some(Scope::Link), true)
    );
    assert_eq!(vi01.virtual_addresses[1].prefix_len, 32);
    assert_eq!(
        vi01.track_scripts,
        vec![TrackedScript { name: "chk_haproxy".into(), weight: 10, reverse: true }]
    );
    assert_eq!(vi01.notify.master.as_ref().unwrap().argv, ["/etc/notify.sh", "to master"]);
    assert!(!config.instance("VI02").unwrap().preempt);
    assert_eq!(config.sync_groups[0].members, ["VI01", "VI02"]);
}

#[test]
fn same_model_as_the_keepalived_spelling() {
    let keepalived = r#"
global_defs {
    vrrp_version 3
    script_user nobody
}
vrrp_script chk_haproxy {
    script "/usr/bin/pgrep -f 'haproxy -f x'"
    interval 2
    weight -20
}
vrrp_instance VI01 {
    interface ens3
    virtual_router_id 51
    priority 150
    advert_int 0.5
    nopreempt
    no_accept
    unicast_src_ip 192.0.2.1
    unicast_peer {
        192.0.2.2 mac 02:00:00:00:00:02 max_ttl 255
    }
    virtual_ipaddress {
        192.0.2.100/24 dev eth1 label eth1:1 scope link no_track
        192.0.2.101
    }
    track_script {
        chk_haproxy weight 10 reverse
    }
    notify_master "/etc/notify.sh 'to master'"
}
vrrp_instance VI02 {
    interface ens3
    virtual_router_id 52
    nopreempt
    virtual_ipaddress {
        192.0.2.200
    }
}
vrrp_sync_group G1 {
    group {
        VI01 VI02
    }
    sync_group_tracking_weight
}
"#;
    let from_keepalived = parse_str(keepalived, Path::new("keepalived.conf")).unwrap();
    // keepalived's quoted strings have no escapes, so this command avoids inner double quotes.
    let toml = FULL.replace("0x33", "51").replace(
        r#"["/usr/bin/pgrep", "-f", "haproxy -f \"x\""]"#,
        r#"["/usr/bin/pgrep", "-f", "haproxy -f x"]"#,
    );
    let from_toml = parse_str(&toml, Path::new("vrrpd.toml")).unwrap();
    assert_eq!(unsupported(&from_keepalived.warnings), Vec::<String>::new());
    assert_eq!(from_toml.config, from_keepalived.config);
}

#[test]
fn invalid_values_point_at_the_toml_value() {
    let text = "[[vrrp_instance]]\nname = \"VI01\"\ninterface = \"eth0\"\nvirtual_router_id = 300\nvirtual_ipaddress = [\"192.0.2.1\", \"192.0.2.2/40\"]\n";
    assert_eq!(
        errors(text),
        vec![
            "vrrpd.toml:4:21: invalid virtual_router_id \"300\": expected an integer from 1 to 255",
            "vrrpd.toml:5:35: invalid virtual_ipaddress \"192.0.2.2/40\": expected a prefix length from 0 to 32",
            "vrrpd.toml:2: missing virtual_router_id in vrrp_instance VI01",
        ]
    );
}

#[test]
fn unknown_keys_are_warnings() {
    let text = "[global_defs]\nsmtp_server = \"192.0.2.25\"\n\n[[vrrp_instance]]\nname = \"VI01\"\ninterface = \"eth0\"\nvirtual_router_id = 1\nvirtual_ipaddress = [\"192.0.2.1\"]\ncolour = \"blue\"\n";
    let loaded = parse_str(text, Path::new("vrrpd.toml")).unwrap();
    assert_eq!(
        loaded.warnings.iter().map(ToString::to_string).collect::<Vec<_>>(),
        vec![
            "vrrpd.toml:2: keyword \"smtp_server\" in global_defs belongs to keepalived's SMTP alerts, which vrrpd does not run: skipped",
            "vrrpd.toml:9: unknown keyword \"colour\" in vrrp_instance VI01, ignored",
        ]
    );
}

#[test]
fn structural_errors() {
    assert_eq!(
        errors("[[vrrp_instance]]\ninterface = \"eth0\"\n"),
        vec!["vrrpd.toml:1: missing name in vrrp_instance"]
    );
    assert_eq!(
        errors("[vrrp_instance]\nname = \"VI01\"\n"),
        vec!["vrrpd.toml:1:2: invalid vrrp_instance: expected an array of tables ([[vrrp_instance]])"]
    );
    assert_eq!(
        errors("[[vrrp_instance]]\nname = \"VI01\"\ninterface = \"eth0\"\nvirtual_router_id = 1\nvirtual_ipaddress = [{ dev = \"eth0\" }]\n"),
        vec!["vrrpd.toml:5:22: invalid virtual_ipaddress entry: expected an address or name key"]
    );
    let syntax = errors("[global_defs]\nvrrp_version = \n");
    assert_eq!(syntax.len(), 1);
    assert!(syntax[0].starts_with("vrrpd.toml:2:"), "{}", syntax[0]);
    assert!(syntax[0].contains("invalid TOML"), "{}", syntax[0]);
}

#[test]
fn format_detection() {
    assert_eq!(Format::detect("", Path::new("a.toml")), Format::Toml);
    assert_eq!(Format::detect("[x]", Path::new("a.conf")), Format::Keepalived);
    assert_eq!(Format::detect("# c\n[global_defs]\n", Path::new("vrrpd")), Format::Toml);
    assert_eq!(Format::detect("! c\nvrrp_version=3\n", Path::new("vrrpd")), Format::Toml);
    assert_eq!(Format::detect("$IF=eth0\n", Path::new("keepalived")), Format::Keepalived);
    assert_eq!(
        Format::detect("script \"/bin/x a=b\"\n", Path::new("keepalived")),
        Format::Keepalived
    );
    assert_eq!(Format::detect("global_defs {\n}\n", Path::new("keepalived")), Format::Keepalived);
}

#[test]
fn track_files_in_toml() {
    let text = r#"
[[track_file]]
name = "level"
file = "/run/level"
weight = -5

[[vrrp_instance]]
name = "VI01"
interface = "eth0"
virtual_router_id = 1
virtual_ipaddress = ["192.0.2.100"]
track_file = [{ name = "level", weight = 3 }]
notify_priority_changes = true
"#;
    let loaded = parse_str(text, Path::new("vrrpd.toml")).unwrap();
    assert_eq!(loaded.warnings, vec![]);
    let config = loaded.config;
    assert_eq!(config.track_file("level").unwrap().weight, -5);
    let instance = config.instance("VI01").unwrap();
    assert_eq!(instance.track_files[0].weight, 3);
    assert!(instance.notify_priority_changes);
}

#[test]
fn scheduling_settings_are_toml_keys_too() {
    let text = r#"
[global_defs]
vrrp_rt_priority = 20
vrrp_rlimit_rttime = 30000
vrrp_priority = -3
vrrp_no_swap = true

[[vrrp_instance]]
name = "A"
interface = "eth0"
virtual_router_id = 5
virtual_ipaddress = ["192.0.2.5/24"]
"#;
    let loaded = parse_str(text, Path::new("vrrpd.toml")).unwrap();
    assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
    let scheduling = loaded.config.global.scheduling;
    assert_eq!(scheduling.realtime_priority, Some(20));
    assert_eq!(scheduling.rlimit_rttime_us, 30_000);
    assert_eq!(scheduling.nice, Some(-3));
    assert!(scheduling.no_swap);
    assert_eq!(
        errors(&text.replace("vrrp_priority = -3", "vrrp_priority = 20")),
        vec!["vrrpd.toml:5:17: invalid vrrp_priority \"20\": expected an integer from -20 to 19"]
    );
}
