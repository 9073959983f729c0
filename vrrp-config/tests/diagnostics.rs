//! Every kind of diagnostic, with its exact `file:line[:column]: message` text.

use std::error::Error;
use std::path::Path;

use vrrp_config::{parse_str, ConfigError, Severity};

fn errors(text: &str, origin: &str) -> Vec<String> {
    let error: ConfigError = parse_str(text, Path::new(origin)).unwrap_err();
    assert!(error.errors.iter().all(|e| e.severity == Severity::Error));
    error.errors.iter().map(ToString::to_string).collect()
}

fn warnings(text: &str, origin: &str) -> Vec<String> {
    let loaded = parse_str(text, Path::new(origin)).unwrap();
    assert!(loaded.warnings.iter().all(|w| w.severity == Severity::Warning));
    loaded.warnings.iter().map(ToString::to_string).collect()
}

const INSTANCE_HEAD: &str = "vrrp_instance VI01 {
    interface eth0
    virtual_router_id 51
    virtual_ipaddress {
        192.0.2.100/24
    }
";

#[test]
fn unknown_keyword_is_a_warning_with_its_line() {
    let text = format!("{INSTANCE_HEAD}    foo 1 2\n}}\nbar {{\n  baz\n}}\n");
    assert_eq!(
        warnings(&text, "file.conf"),
        vec![
            "file.conf:7: unknown keyword \"foo\" in vrrp_instance VI01, ignored",
            "file.conf:9: unknown keyword \"bar\" at top level, ignored",
        ]
    );
}

/// The sync group, track_file and notify FIFO keywords are acted on: none is reported as
/// unused.
#[test]
fn sync_group_track_file_and_fifo_keywords_are_used() {
    let text = format!(
        "global_defs {{
    notify_fifo /run/keepalived.fifo
    notify_fifo_script /usr/local/bin/reader
    vrrp_notify_fifo /run/vrrp.fifo
    vrrp_notify_fifo_script /usr/local/bin/reader
    vrrp_notify_priority_changes
    fifo_write_vrrp_states_on_reload
}}
vrrp_script chk {{
    script /bin/true
}}
track_file f1 {{
    file /run/f1
    weight 2
    init_file 0 overwrite
}}
vrrp_track_file f2 {{
    file /run/f2
}}
{INSTANCE_HEAD}    track_file {{
        f1 weight 3
    }}
    notify_priority_changes
}}
vrrp_instance VI02 {{
    interface eth0
    virtual_router_id 52
    virtual_ipaddress {{
        192.0.2.101/24
    }}
}}
vrrp_sync_group G1 {{
    group {{
        VI01
        VI02
    }}
    track_interface {{
        eth1
    }}
    track_script {{
        chk
    }}
    track_file {{
        f2
    }}
    sync_group_tracking_weight
    notify_priority_changes
    notify_master /bin/true
    notify /bin/true
}}
"
    );
    assert_eq!(warnings(&text, "file.conf"), Vec::<String>::new());
}

#[test]
fn keywords_of_other_subsystems_are_not_used() {
    let text = format!(
        "global_defs {{
    notification_email {{
        ops@example.com
    }}
    smtp_server 192.0.2.25
    lvs_sync_daemon eth0 VI01
    router_id lb1
}}
virtual_server 192.0.2.100 80 {{
    real_server 192.0.2.10 80 {{
    }}
}}
{INSTANCE_HEAD}    smtp_alert
}}
"
    );
    assert_eq!(
        warnings(&text, "file.conf"),
        vec![
            "file.conf:2: keyword \"notification_email\" in global_defs belongs to keepalived's SMTP alerts, which vrrpd does not run: skipped",
            "file.conf:5: keyword \"smtp_server\" in global_defs belongs to keepalived's SMTP alerts, which vrrpd does not run: skipped",
            "file.conf:6: keyword \"lvs_sync_daemon\" in global_defs belongs to keepalived's LVS (virtual servers), which vrrpd does not run: skipped",
            "file.conf:9: keyword \"virtual_server\" at top level belongs to keepalived's LVS (virtual servers), which vrrpd does not run: skipped",
            "file.conf:19: keyword \"smtp_alert\" in vrrp_instance VI01 belongs to keepalived's SMTP alerts, which vrrpd does not run: skipped",
        ]
    );
}

#[test]
fn invalid_value_is_an_error_at_its_column() {
    let text = "global_defs {
    router_id lb1
}

# the instance
vrrp_instance VI01 {
    interface eth0
    state BACKUP
    virtual_router_id 300
    virtual_ipaddress {
        192.0.2.100/24
    }
}
";
    let text = text.replace("virtual_router_id 300", "virtual_router_id     300");
    assert_eq!(
        errors(&text, "file.conf"),
        vec![
            "file.conf:9:27: invalid virtual_router_id \"300\": expected an integer from 1 to 255",
            "file.conf:6: missing virtual_router_id in vrrp_instance VI01",
        ]
    );
}

#[test]
fn the_documented_example_position() {
    // `virtual_router_id` indented so that the value starts at column 23.
    let text = "vrrp_instance VI01 {\n interface eth0\n virtual_ipaddress {\n  192.0.2.1\n }\n\n\n\n    virtual_router_id 300\n}\n";
    let first = errors(text, "file.conf").remove(0);
    assert_eq!(
        first,
        "file.conf:9:23: invalid virtual_router_id \"300\": expected an integer from 1 to 255"
    );
}

#[test]
fn invalid_values_say_what_was_expected() {
    let cases = [
        ("state LEADER", "invalid state \"LEADER\": expected MASTER or BACKUP"),
        ("version 4", "invalid version \"4\": expected 2 or 3"),
        (
            "advert_int 1s",
            "invalid advert_int \"1s\": expected a number of seconds such as 1 or 0.5",
        ),
        (
            "unicast_src_ip 192.0.2",
            "invalid unicast_src_ip \"192.0.2\": expected an IPv4 or IPv6 address",
        ),
        (
            "preempt_delay 1001",
            "invalid preempt_delay \"1001\": expected a number of seconds from 0 to 1000",
        ),
        (
            "garp_master_repeat 0",
            "invalid garp_master_repeat \"0\": expected an integer from 1 to 4294967295",
        ),
        ("priority", "missing value after priority"),
    ];
    for (line, message) in cases {
        let text = format!("{INSTANCE_HEAD}    {line}\n}}\n");
        let errors = errors(&text, "t.conf");
        let column = if line == "priority" { 5 } else { 5 + line.find(' ').unwrap() + 1 };
        assert_eq!(errors, vec![format!("t.conf:7:{column}: {message}")], "{line}");
    }
}

#[test]
fn invalid_entries_in_lists() {
    let text = "vrrp_instance VI01 {
    interface eth0
    virtual_router_id 51
    virtual_ipaddress {
        192.0.2.100/33
        192.0.2.101/24 dev
        192.0.2.102/24 flavour red
        192.0.2.103/24 scope galaxy
    }
    unicast_peer {
        192.0.2.2 mac 02:00:00:00:00
        192.0.2.3 min_ttl 300
    }
}
";
    assert_eq!(
        errors(text, "t.conf"),
        vec![
            "t.conf:5:9: invalid virtual_ipaddress \"192.0.2.100/33\": expected a prefix length from 0 to 32",
            "t.conf:6:24: missing value after dev",
            "t.conf:7:24: invalid virtual_ipaddress option \"flavour\": expected one of dev, label, scope, no_track, track_group, use_vmac",
            "t.conf:7:32: invalid virtual_ipaddress option \"red\": expected one of dev, label, scope, no_track, track_group, use_vmac",
            "t.conf:8:30: invalid scope \"galaxy\": expected global, site, link, host or nowhere",
            "t.conf:11:23: invalid mac \"02:00:00:00:00\": expected a MAC address such as 02:00:00:00:00:02",
            "t.conf:12:27: invalid min_ttl \"300\": expected an integer from 0 to 255",
        ]
    );
}

#[test]
fn missing_required_items_name_the_instance_and_its_line() {
    let text = "\n\nvrrp_instance VI07 {\n    virtual_ipaddress {\n        192.0.2.1\n    }\n}\n";
    assert_eq!(
        errors(text, "lb.conf"),
        vec![
            "lb.conf:3: missing interface in vrrp_instance VI07",
            "lb.conf:3: missing virtual_router_id in vrrp_instance VI07",
        ]
    );
}

#[test]
fn broken_structure() {
    assert_eq!(
        errors("vrrp_instance VI01 {\n    interface eth0\n", "t.conf"),
        vec![
            "t.conf:1:20: this '{' is never closed: expected a matching '}'",
            "t.conf:1: missing virtual_router_id in vrrp_instance VI01",
        ]
    );
    assert_eq!(errors("}\n", "t.conf"), vec!["t.conf:1:1: unexpected '}': no block is open"]);
    assert_eq!(
        errors("vrrp_instance {\n}\n", "t.conf"),
        vec!["t.conf:1:1: vrrp_instance needs a name"]
    );
    assert_eq!(
        errors("vrrp_instance VI01\n", "t.conf"),
        vec![
            "t.conf:1:1: vrrp_instance needs a { ... } block",
            "t.conf:1: missing interface in vrrp_instance VI01",
            "t.conf:1: missing virtual_router_id in vrrp_instance VI01",
        ]
    );
    assert_eq!(
        errors("global_defs {\n router_id \"lb1\n}\n", "t.conf"),
        vec![
            "t.conf:2:12: unterminated quoted string: expected a closing '\"'",
            "t.conf:2:2: missing value after router_id",
        ]
    );
}

#[test]
fn config_error_displays_one_error_per_line() {
    let error = parse_str("vrrp_instance A {\n}\n", Path::new("x.conf")).unwrap_err();
    assert_eq!(
        error.to_string(),
        "x.conf:1: missing interface in vrrp_instance A\n\
         x.conf:1: missing virtual_router_id in vrrp_instance A"
    );
    let as_error: &dyn Error = &error;
    assert!(as_error.source().is_none());
    assert_eq!(
        error.warnings.len(),
        1,
        "the missing-address warning is kept: {:?}",
        error.warnings
    );
}

#[test]
fn unreadable_file() {
    let error = vrrp_config::load(Path::new("/nonexistent/keepalived.conf")).unwrap_err();
    assert_eq!(
        error.to_string(),
        "/nonexistent/keepalived.conf: cannot read: No such file or directory (os error 2)"
    );
}

#[test]
fn hostile_input_is_refused_without_panicking() {
    let deep = "a {\n".repeat(100);
    let inputs = [
        deep.as_str(),
        "}}}}",
        "{",
        "\"",
        "vrrp_instance \"\" {\n}\n",
        "vrrp_instance VI01 { virtual_ipaddress { / } unicast_peer { ::/ mac } }",
        "vrrp_instance VI01 { advert_int 99999999999999999999.999999999 version 3 }",
        "vrrp_instance VI01 { advert_int 18446744073709551615.999999999 }",
        "global_defs { vrrp_garp_master_delay 1.0000000001 }",
        "include [\n",
        "include /nonexistent/[!a-\n",
        "vrrp_sync_group { group }",
        "\u{feff}\u{0}\u{7f}é{ñ}",
    ];
    for input in inputs {
        let _ = parse_str(input, Path::new("hostile.conf"));
        let _ = parse_str(input, Path::new("hostile.toml"));
    }
    let nested = errors(&deep, "t.conf");
    assert!(
        nested.contains(&"t.conf:17:3: blocks nested deeper than 16 levels".to_string()),
        "{nested:?}"
    );
}
