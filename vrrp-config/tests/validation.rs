//! keepalived's syntax rules, defaults and the checks across statements.

use std::net::IpAddr;
use std::path::Path;
use std::time::Duration;

use vrrp_config::{
    parse_str, parse_str_with, Command, Config, Family, FileInit, InitialState, LoadOptions,
    MacAddr, OldChecksumPolicy, ParamMatch, RunAs, Scope, TrackedFile, TrackedInterface,
    TrackedProcess, TrackedScript, Version, VirtualAddress,
};

/// The configuration, which may use keywords vrrpd does not act on (their warnings are the
/// keyword table's, tested in keywords.rs) and must give no other warning.
fn config(text: &str) -> Config {
    let loaded = parse_str(text, Path::new("t.conf")).unwrap_or_else(|error| panic!("{error}"));
    let others: Vec<_> =
        loaded.warnings.iter().filter(|w| !w.message.contains(" is not supported: ")).collect();
    assert_eq!(others, Vec::<&vrrp_config::Diagnostic>::new(), "unexpected warnings");
    loaded.config
}

fn errors(text: &str) -> Vec<String> {
    let error = parse_str(text, Path::new("t.conf")).unwrap_err();
    error.errors.iter().map(ToString::to_string).collect()
}

fn ip(text: &str) -> IpAddr {
    text.parse().unwrap()
}

/// An instance with the given extra lines.
fn instance(name: &str, vrid: u8, vip: &str, extra: &str) -> String {
    format!(
        "vrrp_instance {name} {{\n    interface eth0\n    virtual_router_id {vrid}\n    \
         virtual_ipaddress {{\n        {vip}\n    }}\n{extra}}}\n"
    )
}

#[test]
fn comments_quotes_and_brace_placement() {
    let config = config(
        r#"! keepalived comment
# shell-style comment
global_defs { router_id "lb 1" }   # closes on the same line
vrrp_instance VI01
{
    interface eth0 ! trailing comment
    virtual_router_id 7#glued comment
    priority 120
    virtual_ipaddress { 192.0.2.1/24 dev eth0 }
    unicast_peer{192.0.2.2}
}
"#,
    );
    assert_eq!(config.global.router_id.as_deref(), Some("lb 1"));
    let instance = &config.instances[0];
    assert_eq!((instance.interface.as_str(), instance.vrid, instance.priority), ("eth0", 7, 120));
    assert_eq!(instance.virtual_addresses[0].device.as_deref(), Some("eth0"));
    assert_eq!(instance.unicast_peers[0].address, ip("192.0.2.2"));
}

#[test]
fn keepalived_defaults() {
    let config = config(&instance("VI01", 1, "192.0.2.1", ""));
    let global = &config.global;
    assert_eq!(global.version, Version::V2);
    assert_eq!(global.mcast_group4, "224.0.0.18".parse::<std::net::Ipv4Addr>().unwrap());
    let instance = &config.instances[0];
    assert_eq!(instance.state, InitialState::Backup);
    assert_eq!(instance.priority, 100);
    assert_eq!(instance.version, Version::V2);
    assert_eq!(instance.advert_interval, Duration::from_secs(1));
    assert!(instance.preempt);
    assert_eq!(instance.preempt_delay, Duration::ZERO);
    assert!(instance.accept);
    assert_eq!(instance.source_ip, None);
    assert!(instance.unicast_peers.is_empty());
    assert!(!instance.check_unicast_src);
    let garp = instance.garp;
    assert_eq!((garp.master_delay, garp.master_repeat), (Duration::from_secs(5), 5));
    assert_eq!((garp.master_refresh, garp.master_refresh_repeat), (None, 1));
    assert_eq!((garp.lower_prio_delay, garp.lower_prio_repeat), (Duration::from_secs(5), 5));
}

#[test]
fn instance_garp_settings_override_global_ones() {
    let config = config(&format!(
        "global_defs {{\n    vrrp_garp_master_delay 10\n    vrrp_garp_master_repeat 3\n    \
         vrrp_garp_master_refresh 60\n    vrrp_garp_master_refresh_repeat 2\n    \
         vrrp_garp_interval 0.001\n    vrrp_gna_interval 0.000001\n}}\n{}{}",
        instance("VI01", 1, "192.0.2.1", "    garp_master_repeat 1\n    garp_master_refresh 0\n"),
        instance("VI02", 2, "192.0.2.2", ""),
    ));
    assert_eq!(config.global.garp_interval, Duration::from_millis(1));
    assert_eq!(config.global.gna_interval, Duration::from_micros(1));
    let vi01 = config.instance("VI01").unwrap().garp;
    assert_eq!((vi01.master_delay, vi01.master_repeat), (Duration::from_secs(10), 1));
    assert_eq!((vi01.master_refresh, vi01.master_refresh_repeat), (None, 2));
    let vi02 = config.instance("VI02").unwrap().garp;
    assert_eq!((vi02.master_delay, vi02.master_repeat), (Duration::from_secs(10), 3));
    assert_eq!(vi02.master_refresh, Some(Duration::from_secs(60)));
    assert_eq!((vi02.lower_prio_delay, vi02.lower_prio_repeat), (Duration::from_secs(10), 3));
}

#[test]
fn min_garp_changes_the_defaults_only() {
    let config = config(&format!(
        "global_defs {{\n    vrrp_min_garp\n}}\n{}",
        instance("VI01", 1, "192.0.2.1", "    garp_master_delay 2\n")
    ));
    let garp = config.instances[0].garp;
    assert_eq!((garp.master_delay, garp.master_repeat), (Duration::from_secs(2), 1));
}

#[test]
fn fractional_advert_int_needs_version_3() {
    let v3 = config(&format!(
        "global_defs {{\n    vrrp_version 3\n}}\n{}",
        instance("VI01", 1, "192.0.2.1", "    advert_int 0.5\n")
    ));
    assert_eq!(v3.instances[0].advert_interval, Duration::from_millis(500));
    let per_instance =
        config(&instance("VI01", 1, "192.0.2.1", "    version 3\n    advert_int 0.25\n"));
    assert_eq!(per_instance.instances[0].version, Version::V3);
    assert_eq!(per_instance.instances[0].advert_interval, Duration::from_millis(250));

    assert_eq!(
        errors(&instance("VI01", 1, "192.0.2.1", "    advert_int 0.5\n")),
        vec!["t.conf:7:16: invalid advert_int \"0.5\": expected whole seconds from 1 to 255 with VRRP version 2"]
    );
    assert_eq!(
        errors(&instance("VI01", 1, "192.0.2.1", "    version 3\n    advert_int 41\n")),
        vec!["t.conf:8:16: invalid advert_int \"41\": expected seconds from 0.01 to 40.95 in steps of 0.01 with VRRP version 3"]
    );
    assert_eq!(
        errors(&instance("VI01", 1, "192.0.2.1", "    version 3\n    advert_int 0.005\n")).len(),
        1
    );
    assert_eq!(errors(&instance("VI01", 1, "192.0.2.1", "    advert_int 256\n")).len(), 1);
}

#[test]
fn ipv6_instances_run_version_3() {
    let config = config(&instance("VI01", 1, "fe80::1/64\n        2001:db8::1/64", ""));
    let instance = &config.instances[0];
    assert_eq!((instance.family, instance.version), (Family::Ipv6, Version::V3));
    assert_eq!(instance.virtual_addresses[1].prefix_len, 64);

    let text = instance_text_with_version_2();
    let loaded = parse_str(&text, Path::new("t.conf")).unwrap();
    assert_eq!(loaded.config.instances[0].version, Version::V3);
    assert_eq!(
        loaded.warnings.iter().map(ToString::to_string).collect::<Vec<_>>(),
        vec!["t.conf:1: vrrp_instance VI01 is IPv6, which needs VRRP version 3: using 3"]
    );
}

fn instance_text_with_version_2() -> String {
    instance("VI01", 1, "fe80::1", "    version 2\n")
}

#[test]
fn address_families_must_agree() {
    assert_eq!(
        errors(&instance("VI01", 1, "192.0.2.1\n        2001:db8::1", "")),
        vec!["t.conf:6:9: virtual_ipaddress \"2001:db8::1\" is IPv6 but vrrp_instance VI01 is IPv4 (its first virtual_ipaddress)"]
    );
    assert_eq!(
        errors(&instance("VI01", 1, "192.0.2.1", "    unicast_src_ip 2001:db8::2\n")),
        vec!["t.conf:7:20: unicast_src_ip \"2001:db8::2\" is IPv6 but vrrp_instance VI01 is IPv4 (its first virtual_ipaddress)"]
    );
    assert_eq!(
        errors(&instance("VI01", 1, "192.0.2.1", "    unicast_peer {\n        192.0.2.2\n        2001:db8::3\n    }\n")),
        vec!["t.conf:9:9: unicast_peer \"2001:db8::3\" is IPv6 but vrrp_instance VI01 is IPv4 (its first virtual_ipaddress)"]
    );
    assert_eq!(
        errors(&instance("VI01", 1, "192.0.2.1", "    native_ipv6\n")),
        vec!["t.conf:7:5: keyword \"native_ipv6\" is IPv6 but vrrp_instance VI01 is IPv4 (its first virtual_ipaddress)"]
    );
    // Excluded addresses may be of either family.
    let mixed = config(&instance(
        "VI01",
        1,
        "192.0.2.1",
        "    virtual_ipaddress_excluded {\n        2001:db8::1/64\n        192.0.2.50/24\n    }\n",
    ));
    assert_eq!(mixed.instances[0].excluded_addresses.len(), 2);
}

#[test]
fn unicast_peers_are_limited_to_what_the_kernel_holds_inline() {
    let peers = |count: usize| {
        let lines: String = (0..count).map(|n| format!("        192.0.2.{}\n", n + 2)).collect();
        instance("VI01", 1, "192.0.2.1", &format!("    unicast_peer {{\n{lines}    }}\n"))
    };
    assert_eq!(config(&peers(vrrp_config::MAX_UNICAST_PEERS)).instances[0].unicast_peers.len(), 16);
    // The first peer over the limit is named, with its line (the first peer is on line 8).
    let line = 8 + vrrp_config::MAX_UNICAST_PEERS;
    assert_eq!(
        errors(&peers(vrrp_config::MAX_UNICAST_PEERS + 2)),
        vec![format!(
            "t.conf:{line}:9: vrrp_instance VI01 lists more than 16 unicast peers, the most an \
             instance may have"
        )]
    );
}

#[test]
fn duplicate_unicast_peer_and_ttl_range() {
    assert_eq!(
        errors(&instance(
            "VI01",
            1,
            "192.0.2.1",
            "    unicast_peer {\n        192.0.2.2\n        192.0.2.2\n    }\n"
        )),
        vec!["t.conf:9:9: duplicate unicast_peer 192.0.2.2 in vrrp_instance VI01"]
    );
    assert_eq!(
        errors(&instance(
            "VI01",
            1,
            "192.0.2.1",
            "    unicast_peer {\n        192.0.2.2 min_ttl 200 max_ttl 100\n    }\n"
        )),
        vec!["t.conf:8:9: unicast_peer 192.0.2.2: min_ttl 200 is above max_ttl 100"]
    );
}

#[test]
fn instance_names_are_unique() {
    let text =
        format!("{}{}", instance("VI01", 1, "192.0.2.1", ""), instance("VI01", 2, "192.0.2.2", ""));
    assert_eq!(
        errors(&text),
        vec!["t.conf:8: duplicate vrrp_instance VI01 (first defined at t.conf:1)"]
    );
}

#[test]
fn vrid_is_unique_per_interface_and_family() {
    let text =
        format!("{}{}", instance("VI01", 5, "192.0.2.1", ""), instance("VI02", 5, "192.0.2.2", ""));
    assert_eq!(
        errors(&text),
        vec!["t.conf:10:23: virtual_router_id 5 on eth0 (IPv4) is already used by vrrp_instance VI01"]
    );
    // Another family or another interface is another VRRP domain.
    let families =
        format!("{}{}", instance("VI01", 5, "192.0.2.1", ""), instance("VI02", 5, "fe80::1", ""));
    assert_eq!(config(&families).instances.len(), 2);
    let interfaces = format!(
        "{}{}",
        instance("VI01", 5, "192.0.2.1", ""),
        instance("VI02", 5, "192.0.2.2", "").replace("eth0", "eth1")
    );
    assert_eq!(config(&interfaces).instances.len(), 2);
    // keepalived lets unicast instances with other peers share a VRID; vrrpd's receive path
    // keys an instance on interface, VRID and family, so the second is refused at its line.
    let peers = |peer: &str| format!("    unicast_peer {{\n        {peer}\n    }}\n");
    let unicast = format!(
        "{}{}",
        instance("VI01", 5, "192.0.2.1", &peers("192.0.2.10")),
        instance("VI02", 5, "192.0.2.2", &peers("192.0.2.11"))
    );
    assert_eq!(
        errors(&unicast),
        vec!["t.conf:13:23: virtual_router_id 5 on eth0 (IPv4) is already used by vrrp_instance VI01"]
    );
    let overlapping = format!(
        "{}{}",
        instance("VI01", 5, "192.0.2.1", &peers("192.0.2.10")),
        instance("VI02", 5, "192.0.2.2", &peers("192.0.2.10"))
    );
    assert_eq!(errors(&overlapping).len(), 1);
}

#[test]
fn addresses_peers_and_tracking_are_typed() {
    let config = config(&format!(
        "global_defs {{\n    script_user nobody nogroup\n    enable_script_security\n}}\n\
         vrrp_script chk_haproxy {{\n    script \"/usr/bin/pgrep -f 'haproxy -f'\"\n    interval 2\n    \
         weight -20\n    fall 3\n    rise 2\n}}\n\
         vrrp_script chk_file {{\n    script /bin/test -e /run/ok\n    timeout 5\n    user root\n    init_fail\n}}\n{}",
        instance(
            "VI01",
            1,
            "192.0.2.1/24 dev eth1 label eth1:vip scope global brd 192.0.2.255 no_track",
            "    state BACKUP\n    priority 254\n    nopreempt\n    preempt_delay 2.5\n    no_accept\n\
             \x20   mcast_src_ip 192.0.2.254\n\
             \x20   unicast_peer {\n        192.0.2.2 mac 02:00:00:00:00:02 min_ttl 250 max_ttl 255\n    }\n\
             \x20   track_interface {\n        eth1\n        eth2 weight -10 reverse\n    }\n\
             \x20   track_script {\n        chk_haproxy\n        chk_file weight 5\n    }\n\
             \x20   notify_master \"/etc/vrrp/notify.sh master 'two words'\" root wheel\n\
             \x20   notify /etc/vrrp/any.sh\n",
        )
    ));
    assert!(config.global.enable_script_security);
    assert_eq!(
        config.global.script_user,
        Some(RunAs { user: "nobody".into(), group: Some("nogroup".into()) })
    );

    let haproxy = config.script("chk_haproxy").unwrap();
    assert_eq!(haproxy.argv, ["/usr/bin/pgrep", "-f", "haproxy -f"]);
    assert_eq!(
        (haproxy.interval, haproxy.timeout),
        (Duration::from_secs(2), Duration::from_secs(2))
    );
    assert_eq!((haproxy.weight, haproxy.fall, haproxy.rise, haproxy.init_fail), (-20, 3, 2, false));
    let file = config.script("chk_file").unwrap();
    assert_eq!(file.argv, ["/bin/test", "-e", "/run/ok"]);
    assert_eq!((file.interval, file.timeout), (Duration::from_secs(1), Duration::from_secs(5)));
    assert_eq!(file.run_as, Some(RunAs { user: "root".into(), group: None }));
    assert!(file.init_fail);

    let instance = config.instance("VI01").unwrap();
    assert_eq!((instance.state, instance.priority), (InitialState::Backup, 254));
    assert!(!instance.preempt && !instance.accept);
    assert_eq!(instance.preempt_delay, Duration::from_millis(2500));
    assert_eq!(instance.source_ip, Some(ip("192.0.2.254")));
    assert_eq!(
        instance.virtual_addresses,
        vec![VirtualAddress {
            address: ip("192.0.2.1"),
            prefix_len: 24,
            device: Some("eth1".into()),
            label: Some("eth1:vip".into()),
            scope: Some(Scope::Global),
            broadcast: Some("192.0.2.255".parse().unwrap()),
            no_track: true,
            use_vmac: false,
        }]
    );
    let peer = &instance.unicast_peers[0];
    assert_eq!(peer.mac, Some(MacAddr([2, 0, 0, 0, 0, 2])));
    assert_eq!((peer.min_ttl, peer.max_ttl), (Some(250), Some(255)));
    assert!(instance.check_unicast_src, "TTL limits turn on the source check");
    assert_eq!(
        instance.track_interfaces,
        vec![
            TrackedInterface { name: "eth1".into(), weight: 0, reverse: false },
            TrackedInterface { name: "eth2".into(), weight: -10, reverse: true },
        ]
    );
    assert_eq!(
        instance.track_scripts,
        vec![
            TrackedScript { name: "chk_haproxy".into(), weight: -20, reverse: false },
            TrackedScript { name: "chk_file".into(), weight: 5, reverse: false },
        ]
    );
    assert_eq!(
        instance.notify.master,
        Some(Command {
            argv: vec!["/etc/vrrp/notify.sh".into(), "master".into(), "two words".into()],
            run_as: Some(RunAs { user: "root".into(), group: Some("wheel".into()) }),
        })
    );
    assert_eq!(instance.notify.any.as_ref().unwrap().argv, ["/etc/vrrp/any.sh"]);
    assert_eq!(instance.notify.backup, None);
}

#[test]
fn nopreempt_with_initial_master_is_cleared() {
    // keepalived vrrp.c vrrp_complete_instance(): "nopreempt will not work with initial state
    // MASTER - clearing", and likewise for the address owner and for preempt_delay.
    let text = instance(
        "VI01",
        1,
        "192.0.2.1",
        "    state MASTER\n    priority 100\n    nopreempt\n    preempt_delay 5\n",
    );
    let loaded = parse_str(&text, Path::new("t.conf")).unwrap();
    assert_eq!(
        loaded.warnings.iter().map(ToString::to_string).collect::<Vec<_>>(),
        vec![
            "t.conf:9: nopreempt has no effect with state MASTER: preempting",
            "t.conf:1: preempt_delay has no effect with state MASTER (vrrp_instance VI01)",
        ]
    );
    let instance = &loaded.config.instances[0];
    assert!(instance.preempt);
    assert_eq!(instance.preempt_delay, Duration::ZERO);
    let owner = instance_text("    priority 255\n    nopreempt\n");
    let loaded = parse_str(&owner, Path::new("t.conf")).unwrap();
    assert!(loaded.config.instances[0].preempt);
    assert_eq!(loaded.warnings.len(), 1, "{:?}", loaded.warnings);
}

fn instance_text(extra: &str) -> String {
    instance("VI01", 1, "192.0.2.1", extra)
}

#[test]
fn state_master_without_priority_is_the_owner() {
    // keepalived vrrp.c vrrp_complete_instance(): no priority and state MASTER gives 255.
    let master = config(&instance_text("    state MASTER\n"));
    assert_eq!(master.instances[0].priority, 255);
    let backup = config(&instance_text("    state BACKUP\n"));
    assert_eq!(backup.instances[0].priority, 100);
    let explicit = config(&instance_text("    state MASTER\n    priority 100\n"));
    assert_eq!(explicit.instances[0].priority, 100);
}

#[test]
fn the_owner_refuses_tracking_weights() {
    // keepalived vrrp.c vrrp_complete_instance(): weighted tracked items of a priority 255
    // instance are dropped ("ignoring tracked script with weights due to address_owner").
    let scripts = "vrrp_script up {\n    script /bin/true\n    weight 10\n}\n\
                   vrrp_script flat {\n    script /bin/true\n}\n";
    let owner =
        |track: &str| format!("{scripts}{}", instance_text(&format!("    priority 255\n{track}")));
    assert_eq!(
        errors(&owner("    track_script {\n        up\n        flat weight -5\n        flat\n    }\n")),
        vec![
            "t.conf:16:9: track_script \"up\" in vrrp_instance VI01 (priority 255, whose priority never moves) needs weight 0",
            "t.conf:17:9: track_script \"flat\" in vrrp_instance VI01 (priority 255, whose priority never moves) needs weight 0",
        ]
    );
    assert_eq!(
        errors(&owner("    track_interface {\n        eth1 weight -10\n        eth2\n    }\n")),
        vec!["t.conf:8: vrrp_instance VI01 has priority 255, whose priority never moves: track_interface eth1 needs weight 0"]
    );
    let unweighted = owner("    track_script {\n        up weight 0\n    }\n");
    assert_eq!(config(&unweighted).instances[0].priority, 255);
}

#[test]
fn ipv6_without_a_link_local_address_first_runs_as_keepalived_runs_it() {
    // keepalived vrrp.c vrrp_complete_instance(): a note for multicast, nothing for unicast,
    // an error under vrrp_strict; the addresses are advertised as written.
    let multicast = instance("VI01", 1, "2001:db8::100/64\n        fe80::1", "");
    let loaded = parse_str(&multicast, Path::new("t.conf")).unwrap();
    assert_eq!(
        loaded.warnings.iter().map(ToString::to_string).collect::<Vec<_>>(),
        vec![
            "t.conf:5: the first virtual_ipaddress of IPv6 vrrp_instance VI01 should be \
              link-local (RFC 9568 §5.2.9); advertised as written, as keepalived does"
        ]
    );
    let unicast =
        instance("VI01", 1, "2001:db8::100/64", "    unicast_peer {\n        2001:db8::2\n    }\n");
    assert_eq!(config(&unicast).instances[0].virtual_addresses.len(), 1);
    let strict = format!("global_defs {{\n    vrrp_strict\n}}\n{multicast}");
    assert_eq!(
        errors(&strict),
        vec![
            "t.conf:8:9: the first virtual_ipaddress of IPv6 vrrp_instance VI01 must be \
              link-local with vrrp_strict (RFC 9568 §5.2.9): list an fe80:: address first"
        ]
    );
}

#[test]
fn strict_mode_turns_accept_off_except_for_the_owner() {
    let text = format!(
        "global_defs {{\n    vrrp_strict\n}}\n{}{}",
        instance("VI01", 1, "192.0.2.1", ""),
        instance("VI02", 2, "192.0.2.2", "    priority 255\n")
    );
    let config = config(&text);
    assert!(config.global.strict);
    assert!(!config.instance("VI01").unwrap().accept);
    assert!(config.instance("VI02").unwrap().accept);
}

/// keepalived vrrp.c vrrp_complete_instance(): an instance's `strict_mode` overrides
/// `vrrp_strict` either way, and strict VRRPv2 never accepts (reset with a warning).
#[test]
fn strict_mode_per_instance_and_vrrpv2_decide_accept_mode() {
    let v3 = "global_defs {\n    vrrp_version 3\n}\n";
    let text = format!(
        "{v3}{}{}",
        instance("VI01", 1, "192.0.2.1", "    strict_mode\n"),
        instance("VI02", 2, "192.0.2.2", "    strict_mode\n    accept\n")
    );
    let loaded = config(&text);
    assert!(!loaded.instance("VI01").unwrap().accept, "strict_mode: no_accept by default");
    assert!(loaded.instance("VI02").unwrap().accept, "accept as configured (VRRPv3)");

    let text = format!(
        "global_defs {{\n    vrrp_strict\n}}\n{}",
        instance("VI01", 1, "192.0.2.1", "    strict_mode false\n")
    );
    assert!(config(&text).instance("VI01").unwrap().accept, "strict_mode false overrides");

    let text = format!(
        "global_defs {{\n    vrrp_strict\n    vrrp_version 2\n}}\n{}",
        instance("VI01", 1, "192.0.2.1", "    accept\n")
    );
    let loaded = parse_str(&text, Path::new("t.conf")).unwrap();
    assert!(!loaded.config.instance("VI01").unwrap().accept, "strict VRRPv2 does not accept");
    assert!(
        loaded.warnings.iter().any(|w| w.message.contains("does not comply with RFC 3768")),
        "{:?}",
        loaded.warnings
    );
}

#[test]
fn tracked_scripts_must_exist() {
    let text = instance(
        "VI01",
        1,
        "192.0.2.1",
        "    track_script {\n        chk_missing weight 2\n    }\n",
    );
    assert_eq!(
        errors(&text),
        vec!["t.conf:8:9: track_script \"chk_missing\" in vrrp_instance VI01 names no vrrp_script"]
    );
}

#[test]
fn scripts_need_a_command_and_unique_names() {
    let text = "vrrp_script a {\n    interval 2\n}\nvrrp_script b {\n    script /bin/true\n}\n\
                vrrp_script b {\n    script /bin/false\n}\n";
    assert_eq!(
        errors(text),
        vec![
            "t.conf:1: missing script in vrrp_script a",
            "t.conf:7: duplicate vrrp_script b (first defined at t.conf:4)",
        ]
    );
}

#[test]
fn sync_groups() {
    let base =
        format!("{}{}", instance("VI01", 1, "192.0.2.1", ""), instance("VI02", 2, "192.0.2.2", ""));
    let config = config(&format!(
        "{base}vrrp_sync_group G1 {{\n    group {{\n        VI01\n        VI02\n    }}\n    \
         notify_fault \"/bin/fault.sh G1\"\n}}\n"
    ));
    let group = &config.sync_groups[0];
    assert_eq!(group.members, ["VI01", "VI02"]);
    assert_eq!(group.notify.fault.as_ref().unwrap().argv, ["/bin/fault.sh", "G1"]);
    assert_eq!(config.sync_group_of("VI02").map(|g| g.name.as_str()), Some("G1"));

    assert_eq!(
        errors(&format!("{base}vrrp_sync_group G1 {{\n    group {{ VI01 VI03 }}\n}}\n")),
        vec!["t.conf:16:18: vrrp_sync_group G1 lists \"VI03\", which is no vrrp_instance"]
    );
    assert_eq!(
        errors(&format!(
            "{base}vrrp_sync_group G1 {{\n    group {{ VI01 }}\n}}\nvrrp_sync_group G2 {{\n    group {{ VI01 VI02 }}\n}}\n"
        )),
        vec!["t.conf:19:13: vrrp_instance VI01 is already in vrrp_sync_group G1"]
    );
    let loaded = parse_str(&format!("{base}vrrp_sync_group G1 {{\n}}\n"), Path::new("t.conf"));
    let loaded = loaded.unwrap();
    assert!(loaded.config.sync_groups.is_empty());
    let warnings: Vec<String> = loaded.warnings.iter().map(ToString::to_string).collect();
    assert_eq!(
        warnings,
        ["t.conf:15: vrrp_sync_group G1 lists no vrrp_instance (no group { ... }): left out, as \
          keepalived does"]
    );
}

#[test]
fn a_sync_groups_tracking_applies_to_every_member_with_keepaliveds_weight_rule() {
    let scripts = "vrrp_script own {\n    script /bin/true\n    weight 10\n}\n\
                   vrrp_script chk {\n    script /bin/true\n}\n";
    let tracking = "    track_interface {\n        eth1 weight -20\n    }\n    \
                    track_script {\n        own\n    }\n";
    let members = format!(
        "{scripts}{}{}",
        instance("VI01", 1, "192.0.2.1", tracking),
        instance("VI02", 2, "192.0.2.2", "    priority 255\n")
    );
    let group_tracking = "    track_interface {\n        inside weight -30\n    }\n    \
                          track_script {\n        chk weight 5 reverse\n    }\n";
    let text = |extra: &str| {
        format!(
            "{members}vrrp_sync_group G1 {{\n    group {{\n        VI01\n        VI02\n    \
             }}\n{group_tracking}{extra}}}\n"
        )
    };
    // keepalived's default: the member's own weights go (an interface's to 0, a weighted
    // script entirely); the group's apply with their weights, none for the address owner.
    let loaded = parse_str(&text(""), Path::new("t.conf")).unwrap();
    let warnings: Vec<String> = loaded.warnings.iter().map(ToString::to_string).collect();
    assert_eq!(warnings.len(), 2, "{warnings:?}");
    assert!(warnings[0].contains("weight of track_interface eth1 is ignored"), "{warnings:?}");
    assert!(warnings[1].contains("track_script own with a weight is ignored"), "{warnings:?}");
    let vi01 = loaded.config.instance("VI01").unwrap();
    assert_eq!(
        vi01.track_interfaces,
        [
            TrackedInterface { name: "eth1".into(), weight: 0, reverse: false },
            TrackedInterface { name: "inside".into(), weight: -30, reverse: false },
        ]
    );
    assert_eq!(
        vi01.track_scripts,
        [TrackedScript { name: "chk".into(), weight: 5, reverse: true }]
    );
    let vi02 = loaded.config.instance("VI02").unwrap();
    assert_eq!(
        vi02.track_interfaces,
        [TrackedInterface { name: "inside".into(), weight: 0, reverse: false }]
    );
    assert_eq!(
        vi02.track_scripts,
        [TrackedScript { name: "chk".into(), weight: 0, reverse: true }]
    );
    assert!(!loaded.config.sync_groups[0].tracking_weight);

    // sync_group_tracking_weight keeps the member's own weights.
    let config = config(&text("    sync_group_tracking_weight\n"));
    assert!(config.sync_groups[0].tracking_weight);
    let vi01 = config.instance("VI01").unwrap();
    assert_eq!(vi01.track_interfaces[0].weight, -20);
    assert_eq!(
        vi01.track_scripts,
        [
            TrackedScript { name: "own".into(), weight: 10, reverse: false },
            TrackedScript { name: "chk".into(), weight: 5, reverse: true },
        ]
    );
    assert_eq!(
        errors(&format!(
            "{members}vrrp_sync_group G1 {{\n    group {{ VI01 }}\n    track_script {{ nope }}\n}}\n"
        )),
        vec!["t.conf:31:20: track_script \"nope\" in vrrp_sync_group G1 names no vrrp_script"]
    );
}

#[test]
fn track_files_with_keepaliveds_defaults_and_sync_group_rule() {
    let files = "track_file up {\n    file /run/up\n}\n\
                 vrrp_track_file level {\n    file /run/level\n    weight -5 reverse\n    \
                 init_file 3 overwrite\n}\n\
                 track_file fault {\n    file /run/fault\n    weight 0\n    init_file\n}\n";
    let tracking = "    track_file {\n        up\n        level weight 10 noreverse\n    }\n";
    let config = config(&format!("{files}{}", instance("VI01", 1, "192.0.2.1", tracking)));
    let up = config.track_file("up").unwrap();
    assert_eq!(
        (up.path.as_path(), up.weight, up.reverse, up.init),
        (Path::new("/run/up"), 1, false, None)
    );
    let level = config.track_file("level").unwrap();
    assert_eq!((level.weight, level.reverse), (-5, true));
    assert_eq!(level.init, Some(FileInit { value: 3, overwrite: true }));
    assert_eq!(
        config.track_file("fault").unwrap().init,
        Some(FileInit { value: 0, overwrite: false })
    );
    assert_eq!(
        config.instance("VI01").unwrap().track_files,
        [
            TrackedFile { name: "up".into(), weight: 1, reverse: false },
            TrackedFile { name: "level".into(), weight: 10, reverse: false },
        ]
    );

    // In a sync group: the default weight 1 becomes 0, an explicit weight is dropped, and the
    // group's file applies to every member.
    let loaded = parse_str(
        &format!(
            "{files}{}{}vrrp_sync_group G {{\n    group {{ VI01 VI02 }}\n    \
             track_file {{\n        fault\n    }}\n}}\n",
            instance("VI01", 1, "192.0.2.1", tracking),
            instance("VI02", 2, "192.0.2.2", "")
        ),
        Path::new("t.conf"),
    )
    .unwrap();
    assert_eq!(loaded.warnings.len(), 1, "{:?}", loaded.warnings);
    assert!(loaded.warnings[0].to_string().contains("track_file level with weight 10 is ignored"));
    let fault = TrackedFile { name: "fault".into(), weight: 0, reverse: false };
    assert_eq!(
        loaded.config.instance("VI01").unwrap().track_files,
        [TrackedFile { name: "up".into(), weight: 0, reverse: false }, fault.clone()]
    );
    assert_eq!(loaded.config.instance("VI02").unwrap().track_files, [fault]);

    let unknown = instance("VI01", 1, "192.0.2.1", "    track_file {\n        nope\n    }\n");
    assert_eq!(
        errors(&unknown),
        vec!["t.conf:8:9: track_file \"nope\" in vrrp_instance VI01 names no track_file block"]
    );
    assert_eq!(
        errors("track_file f {\n    weight 300\n}\n"),
        vec![
            "t.conf:2:12: invalid weight \"300\": expected an integer from -254 to 254",
            "t.conf:1: track_file f needs a file",
        ]
    );
}

#[test]
fn notify_fifos_and_priority_changes() {
    let text = format!(
        "global_defs {{\n    notify_fifo /run/all.fifo vrrp\n    \
         notify_fifo_script \"/bin/reader -v\"\n    vrrp_notify_fifo /run/vrrp.fifo\n    \
         vrrp_notify_priority_changes\n}}\n{}{}\
         vrrp_sync_group G {{\n    group {{ VI02 }}\n    notify_priority_changes false\n}}\n",
        instance("VI01", 1, "192.0.2.1", ""),
        instance("VI02", 2, "192.0.2.2", "    notify_priority_changes\n")
    );
    let loaded = parse_str(&text, Path::new("t.conf")).unwrap();
    let warnings: Vec<String> = loaded.warnings.iter().map(ToString::to_string).collect();
    assert_eq!(warnings, Vec::<String>::new());
    let config = loaded.config;
    let fifos = &config.global.notify_fifos;
    assert_eq!(fifos.len(), 2);
    assert_eq!(fifos[0].path, Path::new("/run/all.fifo"));
    assert_eq!(fifos[0].owner, Some(RunAs { user: "vrrp".into(), group: None }));
    assert_eq!(fifos[0].script.as_ref().unwrap().argv, ["/bin/reader", "-v"]);
    assert_eq!((fifos[1].path.as_path(), &fifos[1].script), (Path::new("/run/vrrp.fifo"), &None));
    assert!(config.instance("VI01").unwrap().notify_priority_changes, "the global default");
    assert!(!config.instance("VI02").unwrap().notify_priority_changes, "the group's wins");
    assert_eq!(
        errors("global_defs {\n    vrrp_notify_fifo relative.fifo\n}\n"),
        vec!["t.conf:2:22: invalid vrrp_notify_fifo \"relative.fifo\": expected an absolute path"]
    );
}

#[test]
fn instance_lookup_and_change_detection() {
    let before = config(&format!(
        "{}{}",
        instance("VI01", 1, "192.0.2.1", ""),
        instance("VI02", 2, "192.0.2.2", "")
    ));
    let after = config(&format!(
        "{}{}",
        instance("VI01", 1, "192.0.2.1", ""),
        instance("VI02", 2, "192.0.2.2", "    priority 150\n")
    ));
    assert_eq!(before.instance("VI01"), after.instance("VI01"));
    assert_ne!(before.instance("VI02"), after.instance("VI02"));
    assert_eq!(before.instance("VI03"), None);
}

#[test]
fn a_script_interval_or_timeout_of_zero_is_an_error() {
    // keepalived reports both as configuration errors (vrrp_parser.c); a zero period would
    // make the tracker spin or never run the check.
    for (keyword, column) in [("interval", 14), ("timeout", 13)] {
        let text = format!(
            "vrrp_script chk {{\n    script \"/bin/true\"\n    {keyword} 0\n}}\n{}",
            instance("VI01", 1, "192.0.2.1", "    track_script {\n        chk\n    }\n")
        );
        assert_eq!(
            errors(&text),
            vec![format!(
                "t.conf:3:{column}: invalid {keyword} \"0\": expected a number of seconds \
                 greater than 0, such as 1 or 0.5"
            )]
        );
    }
}

#[test]
fn unicast_ttl_applies_to_unicast_peers_only() {
    let peers = "    unicast_ttl 64\n    unicast_peer {\n        192.0.2.2\n    }\n";
    let unicast = config(&instance("VI01", 1, "192.0.2.1", peers));
    assert_eq!(unicast.instance("VI01").unwrap().unicast_ttl, Some(64));

    // keepalived resets it without peers, and says so.
    let text = instance("VI01", 1, "192.0.2.1", "    unicast_ttl 64\n");
    let loaded = parse_str(&text, Path::new("t.conf")).unwrap();
    assert_eq!(loaded.config.instance("VI01").unwrap().unicast_ttl, None);
    assert_eq!(
        loaded.warnings.iter().map(ToString::to_string).collect::<Vec<_>>(),
        vec![
            "t.conf:7: unicast_ttl in vrrp_instance VI01 without unicast_peer: multicast is \
             sent with TTL 255, ignored"
        ]
    );
    assert_eq!(
        errors(&instance("VI01", 1, "192.0.2.1", "    unicast_ttl 256\n")),
        vec!["t.conf:7:17: invalid unicast_ttl \"256\": expected an integer from 0 to 255"]
    );
}

fn warnings(text: &str) -> Vec<String> {
    let loaded = parse_str(text, Path::new("t.conf")).unwrap_or_else(|error| panic!("{error}"));
    loaded.warnings.iter().map(ToString::to_string).collect()
}

fn auth(lines: &str) -> String {
    instance("VI01", 1, "192.0.2.1", &format!("    authentication {{\n{lines}    }}\n"))
}

#[test]
fn authentication_pass_is_a_padded_password() {
    let text = auth("        auth_type PASS\n        auth_pass s3cret\n");
    assert_eq!(config(&text).instance("VI01").unwrap().auth_pass, Some(*b"s3cret\0\0"));

    // keepalived uses the first 8 characters and says so.
    let text = auth("        auth_type PASS\n        auth_pass 0123456789\n");
    let loaded = parse_str(&text, Path::new("t.conf")).unwrap();
    assert_eq!(loaded.config.instance("VI01").unwrap().auth_pass, Some(*b"01234567"));
    assert_eq!(
        warnings(&text),
        vec!["t.conf:9: auth_pass is longer than 8 characters: only the first 8 are used"]
    );

    assert_eq!(
        warnings(&auth("        auth_pass s3cret\n")),
        vec!["t.conf:8: auth_pass without auth_type PASS in vrrp_instance VI01, ignored"]
    );
    let v3 = instance(
        "VI01",
        1,
        "192.0.2.1",
        "    version 3\n    authentication {\n        auth_type PASS\n        auth_pass x\n    }\n",
    );
    let loaded = parse_str(&v3, Path::new("t.conf")).unwrap();
    assert_eq!(loaded.config.instance("VI01").unwrap().auth_pass, None);
    assert_eq!(
        warnings(&v3),
        vec![
            "t.conf:9: vrrp_instance VI01: VRRP version 3 has no authentication, auth_type \
             ignored"
        ]
    );
}

#[test]
fn auth_type_ah_keys_keepalived_ipsec_ah_with_auth_pass() {
    let text = auth("        auth_type AH\n        auth_pass s3cret\n");
    let loaded = config(&text);
    let instance = loaded.instance("VI01").unwrap();
    assert_eq!((instance.auth_pass, instance.auth_ah), (Some(*b"s3cret\0\0"), true));
    // keepalived: "Authentication specified but no password given. Ignoring".
    let no_key = auth("        auth_type AH\n");
    assert_eq!(
        warnings(&no_key),
        vec!["t.conf:8: auth_type AH without auth_pass in vrrp_instance VI01, ignored"]
    );
    let loaded = parse_str(&no_key, Path::new("t.conf")).unwrap().config;
    let instance = loaded.instance("VI01").unwrap();
    assert_eq!((instance.auth_pass, instance.auth_ah), (None, false));
    // The last auth_type wins.
    let pass = auth("        auth_type AH\n        auth_type PASS\n        auth_pass x\n");
    assert!(!config(&pass).instance("VI01").unwrap().auth_ah);
}

#[test]
fn an_ah_instance_does_not_start_as_master() {
    let text = instance(
        "VI01",
        1,
        "192.0.2.1",
        // With no priority line, state MASTER would make it the owner (255), which keeps it.
        "    state MASTER\n    priority 100\n    authentication {\n        auth_type AH\n        \
         auth_pass x\n    }\n",
    );
    let loaded = parse_str(&text, Path::new("t.conf")).unwrap().config;
    assert_eq!(loaded.instance("VI01").unwrap().state, InitialState::Backup);
    assert_eq!(
        warnings(&text),
        vec![
            "t.conf:1: vrrp_instance VI01: initial state MASTER is incompatible with auth_type AH, \
             starting as BACKUP"
        ]
    );
}

#[test]
fn auth_hmac_is_refused() {
    let hmac = instance("VI01", 1, "192.0.2.1", "    auth_hmac {\n        key 1 abc\n    }\n");
    // Running unauthenticated against peers that sign is a split brain.
    assert_eq!(
        errors(&hmac),
        vec![
            "t.conf:7:5: keyword \"auth_hmac\" in vrrp_instance VI01 is not supported: adverts \
             are sent without keepalived's HMAC trailer: peers that require it do not hear this \
             node, and both become master; this can change which node holds the virtual \
             addresses, so it is refused (--allow-unsupported runs without it)"
        ]
    );
}

#[test]
fn advert_answers_take_the_instance_then_the_global_setting() {
    // keepalived vrrp.c vrrp_complete_instance(): an unset instance value takes the global one.
    // vrrpd's default of higher_prio_send_advert is on (keepalived's is off).
    let unset = config(&instance("VI01", 1, "192.0.2.1", ""));
    assert!(!unset.instances[0].lower_prio_no_advert);
    assert!(unset.instances[0].higher_prio_send_advert);
    let off = config(&format!(
        "global_defs {{\n    vrrp_higher_prio_send_advert false\n}}\n{}",
        instance("VI01", 1, "192.0.2.1", "")
    ));
    assert!(!off.instances[0].higher_prio_send_advert);
    let global = config(&format!(
        "global_defs {{\n    vrrp_lower_prio_no_advert\n    vrrp_higher_prio_send_advert true\n}}\n{}{}",
        instance("VI01", 1, "192.0.2.1", ""),
        instance(
            "VI02",
            2,
            "192.0.2.2",
            "    lower_prio_no_advert false\n    higher_prio_send_advert off\n"
        ),
    ));
    let answers = |i: usize| {
        let instance = &global.instances[i];
        (instance.lower_prio_no_advert, instance.higher_prio_send_advert)
    };
    assert_eq!(answers(0), (true, true));
    assert_eq!(answers(1), (false, false), "the instance's own setting wins");
    let own = config(&instance(
        "VI01",
        1,
        "192.0.2.1",
        "    lower_prio_no_advert\n    higher_prio_send_advert\n",
    ));
    assert!(own.instances[0].lower_prio_no_advert && own.instances[0].higher_prio_send_advert);
}

#[test]
fn vrrp_strict_sets_lower_prio_no_advert_and_clears_higher_prio_send_advert() {
    // keepalived vrrp.c vrrp_complete_instance(): "Strict mode requires no lower priority
    // advert", "strict mode requires higher_prio_send_advert to be clear".
    let text = format!(
        "global_defs {{\n    vrrp_strict\n}}\n{}{}",
        instance("VI01", 1, "192.0.2.1", ""),
        instance(
            "VI02",
            2,
            "192.0.2.2",
            "    lower_prio_no_advert false\n    higher_prio_send_advert\n"
        ),
    );
    let loaded = parse_str(&text, Path::new("t.conf")).unwrap_or_else(|error| panic!("{error}"));
    for instance in &loaded.config.instances {
        assert!(instance.lower_prio_no_advert, "{}", instance.name);
        assert!(!instance.higher_prio_send_advert, "{}", instance.name);
    }
    let said: Vec<&str> = loaded.warnings.iter().map(|w| w.message.as_str()).collect();
    assert!(
        said.iter().any(|m| m.contains("vrrp_strict requires lower_prio_no_advert")),
        "{said:?}"
    );
    assert!(
        said.iter().any(|m| m.contains("vrrp_strict requires higher_prio_send_advert")),
        "{said:?}"
    );
}

#[test]
fn startup_delay_is_the_longer_of_the_delay_and_what_is_left_after_boot() {
    // keepalived global_parser.c vrrp_startup_delay_handler(), vrrp_delay_after_boot_handler():
    // both may be given; the longer wait counts.
    let config = config(&format!(
        "global_defs {{\n    vrrp_startup_delay 2.5\n    vrrp_delay_after_boot 60\n}}\n{}",
        instance("VI01", 1, "192.0.2.1", "")
    ));
    let global = &config.global;
    assert_eq!(global.startup_delay, Duration::from_millis(2500));
    assert_eq!(global.delay_after_boot, Duration::from_secs(60));
    assert_eq!(global.startup_delay_after(Duration::from_secs(50)), Duration::from_secs(10));
    assert_eq!(global.startup_delay_after(Duration::from_secs(58)), Duration::from_millis(2500));
    assert_eq!(global.startup_delay_after(Duration::from_secs(3600)), Duration::from_millis(2500));
    assert_eq!(
        errors(&format!(
            "global_defs {{\n    vrrp_startup_delay 5000\n}}\n{}",
            instance("VI01", 1, "192.0.2.1", "")
        )),
        vec!["t.conf:2:24: invalid vrrp_startup_delay \"5000\": expected a number of seconds from 0 to 4294"]
    );
}

#[test]
fn track_processes_with_keepaliveds_defaults() {
    let processes = "vrrp_track_process nginx {\n    process nginx\n}\n\
                     vrrp_track_process workers {\n    process /usr/sbin/nginx -c /etc/n.conf\n    \
                     param_match partial\n    quorum 2\n    quorum_max 4\n    delay 0.5\n    \
                     fork_delay 2\n    weight -30 reverse\n}\n\
                     vrrp_track_process absent {\n    process rogue\n    quorum_max 0\n}\n";
    let tracking =
        "    track_process {\n        nginx\n        workers weight 10 noreverse\n    }\n";
    let config = config(&format!("{processes}{}", instance("VI01", 1, "192.0.2.1", tracking)));
    let nginx = config.track_process("nginx").unwrap();
    assert_eq!(
        (nginx.process.as_str(), nginx.full_command, nginx.param_match, nginx.weight),
        ("nginx", false, ParamMatch::None, 0)
    );
    assert_eq!((nginx.quorum, nginx.quorum_max, nginx.terminate_delay), (1, u32::MAX, None));
    let workers = config.track_process("workers").unwrap();
    assert_eq!(workers.params, b"-c\0/etc/n.conf\0");
    assert_eq!((workers.full_command, workers.param_match), (true, ParamMatch::Partial));
    assert_eq!((workers.quorum, workers.quorum_max), (2, 4));
    assert_eq!(workers.terminate_delay, Some(Duration::from_millis(500)));
    assert_eq!(workers.fork_delay, Some(Duration::from_secs(2)));
    assert_eq!((workers.weight, workers.reverse), (-30, true));
    let absent = config.track_process("absent").unwrap();
    assert_eq!((absent.quorum, absent.quorum_max), (0, 0), "quorum_max 0: must not run");
    assert_eq!(
        config.instance("VI01").unwrap().track_processes,
        [
            TrackedProcess { name: "nginx".into(), weight: 0, reverse: false },
            TrackedProcess { name: "workers".into(), weight: 10, reverse: false },
        ]
    );
    // Only the tracked ones are followed.
    let followed: Vec<&str> = config.tracked_processes().iter().map(|p| p.name.as_str()).collect();
    assert_eq!(followed, ["nginx", "workers"]);

    // A sync group's process applies to every member, with the group's weight.
    let loaded = parse_str(
        &format!(
            "{processes}{}{}vrrp_sync_group G {{\n    group {{ VI01 VI02 }}\n    \
             track_process {{\n        absent weight -5\n    }}\n}}\n",
            instance("VI01", 1, "192.0.2.1", tracking),
            instance("VI02", 2, "192.0.2.2", "")
        ),
        Path::new("t.conf"),
    )
    .unwrap();
    let absent = TrackedProcess { name: "absent".into(), weight: -5, reverse: false };
    assert_eq!(
        loaded.config.instance("VI02").unwrap().track_processes,
        std::slice::from_ref(&absent)
    );
    assert_eq!(loaded.config.instance("VI01").unwrap().track_processes[2], absent);

    let unknown = instance("VI01", 1, "192.0.2.1", "    track_process {\n        nope\n    }\n");
    assert_eq!(
        errors(&unknown),
        vec![
            "t.conf:8:9: track_process \"nope\" in vrrp_instance VI01 names no \
             vrrp_track_process block"
        ]
    );
    assert_eq!(
        errors(
            "vrrp_track_process p {\n    process x\n    quorum 3\n    quorum_max 2\n}\n\
             vrrp_track_process q {\n    weight 300\n    delay 0\n    param_match whole\n}\n"
        ),
        vec![
            "t.conf:7:12: invalid weight \"300\": expected an integer from -254 to 254",
            "t.conf:8:11: invalid delay \"0\": expected a number of seconds from 0.000001 to 3600",
            "t.conf:9:17: invalid param_match \"whole\": expected initial or partial (or \
             nothing, for exact)",
            "t.conf:4:16: vrrp_track_process p: quorum_max 2 is less than quorum 3",
            "t.conf:6: vrrp_track_process q needs a process",
        ]
    );
}

#[test]
fn multicast_groups_are_checked_and_chosen_per_instance() {
    let groups =
        "global_defs {\n    vrrp_mcast_group4 224.0.0.99\n    vrrp_mcast_group6 ff02::99\n}\n";
    let text = format!(
        "{groups}{}{}{}{}",
        instance("V4", 1, "192.0.2.1", ""),
        instance("V6", 2, "fe80::1", ""),
        instance("OWN", 3, "192.0.2.3", "    mcast_dst_ip 224.0.0.100\n"),
        instance("UNICAST", 4, "192.0.2.4", "    unicast_peer {\n        192.0.2.2\n    }\n"),
    );
    let loaded = parse_str(&text, Path::new("t.conf")).unwrap();
    let chosen: Vec<_> = loaded.config.instances.iter().map(|i| i.mcast_group).collect();
    assert_eq!(
        chosen,
        [Some(ip("224.0.0.99")), Some(ip("ff02::99")), Some(ip("224.0.0.100")), None]
    );
    // keepalived vrrp.c vrrp_complete_instance(): a unicast instance ignores mcast_dst_ip.
    let unicast = instance(
        "VI01",
        1,
        "192.0.2.1",
        "    mcast_dst_ip 224.0.0.100\n    unicast_peer {\n        192.0.2.2\n    }\n",
    );
    let loaded = parse_str(&unicast, Path::new("t.conf")).unwrap();
    let warnings: Vec<_> = loaded.warnings.iter().map(ToString::to_string).collect();
    assert_eq!(
        warnings,
        ["t.conf:7:18: mcast_dst_ip in vrrp_instance VI01 has unicast peers: ignored"]
    );
    assert_eq!(loaded.config.instances[0].mcast_group, None);

    // Not multicast, or not the family: errors at the value.
    assert_eq!(
        errors(&format!(
            "global_defs {{\n    vrrp_mcast_group4 192.0.2.9\n}}\n{}",
            instance("V", 1, "192.0.2.1", "")
        )),
        ["t.conf:2:23: invalid vrrp_mcast_group4 \"192.0.2.9\": expected an IPv4 multicast address"]
    );
    assert_eq!(
        errors(&format!(
            "global_defs {{\n    vrrp_mcast_group6 224.0.0.99\n}}\n{}",
            instance("V", 1, "192.0.2.1", "")
        )),
        ["t.conf:2:23: invalid vrrp_mcast_group6 \"224.0.0.99\": expected an IPv6 multicast address"]
    );
    assert_eq!(
        errors(&instance("VI01", 1, "192.0.2.1", "    mcast_dst_ip 192.0.2.9\n")),
        ["t.conf:7:18: invalid mcast_dst_ip \"192.0.2.9\": expected an IPv4 multicast address"]
    );
    // keepalived IN6_IS_ADDR_MC_LINKLOCAL(): an IPv6 group must be link-local scope.
    assert_eq!(
        errors(&instance("VI01", 1, "fe80::1", "    mcast_dst_ip ff05::12\n")),
        ["t.conf:7:18: invalid mcast_dst_ip \"ff05::12\": expected an IPv6 link-local multicast address (ff02::/16)"]
    );
    assert_eq!(
        errors(&instance("VI01", 1, "192.0.2.1", "    mcast_dst_ip ff02::12\n")),
        ["t.conf:7:18: mcast_dst_ip \"ff02::12\" is IPv6 but vrrp_instance VI01 is IPv4 (its first virtual_ipaddress)"]
    );
}

#[test]
fn v3_checksum_as_v2_is_global_with_an_instance_override() {
    let text = format!(
        "global_defs {{\n    v3_checksum_as_v2\n}}\n{}{}",
        instance("GLOBAL", 1, "192.0.2.1", ""),
        instance("OFF", 2, "192.0.2.2", "    v3_checksum_as_v2 false\n"),
    );
    let both = config(&text);
    assert!(both.global.v3_checksum_as_v2);
    let chosen: Vec<_> = both.instances.iter().map(|i| i.v3_checksum_as_v2).collect();
    assert_eq!(chosen, [true, false]);
    // keepalived vrrp_parser.c v3_checksum_as_v2(): on when written without a value.
    let own = config(&instance("ON", 1, "192.0.2.1", "    v3_checksum_as_v2\n"));
    assert!(!own.global.v3_checksum_as_v2 && own.instances[0].v3_checksum_as_v2);
    assert!(!config(&instance("DEFAULT", 1, "192.0.2.1", "")).instances[0].v3_checksum_as_v2);
}

#[test]
fn old_unicast_checksum_bare_never_and_unknown_modes() {
    // The keyword is still refused (vrrpd does not yet receive the old form); read it anyway.
    let options = LoadOptions { allow_unsupported: true, ..LoadOptions::default() };
    let load = |extra: &str| {
        let text = instance("VI01", 1, "192.0.2.1", extra);
        parse_str_with(&text, Path::new("t.conf"), &options).unwrap_or_else(|e| panic!("{e}"))
    };
    let policy = |extra: &str| load(extra).config.instances[0].old_unicast_checksum;
    // keepalived vrrp_parser.c vrrp_unicast_chksum_handler(): bare is CONFIG, `never` NEVER.
    assert_eq!(policy(""), OldChecksumPolicy::Detect);
    assert_eq!(policy("    old_unicast_checksum\n"), OldChecksumPolicy::Send);
    assert_eq!(policy("    old_unicast_checksum never\n"), OldChecksumPolicy::Never);
    // Another word is reported and leaves the mode as it was.
    let unknown = load("    old_unicast_checksum\n    old_unicast_checksum sometimes\n");
    assert_eq!(unknown.config.instances[0].old_unicast_checksum, OldChecksumPolicy::Send);
    assert!(unknown
        .warnings
        .iter()
        .any(|w| w.message.contains("unknown old_unicast_checksum mode \"sometimes\"")));
}

#[test]
fn track_src_ip_needs_a_configured_source() {
    let tracked = config(&instance(
        "VI01",
        1,
        "192.0.2.1",
        "    unicast_src_ip 192.0.2.10\n    track_src_ip\n",
    ));
    assert!(tracked.instances[0].track_src_ip);
    // keepalived vrrp.c vrrp_complete_instance() clears it without a source address.
    let alone = instance("VI01", 1, "192.0.2.1", "    track_src_ip\n");
    let loaded = parse_str(&alone, Path::new("t.conf")).unwrap();
    let warnings: Vec<_> = loaded.warnings.iter().map(ToString::to_string).collect();
    assert_eq!(
        warnings,
        ["t.conf:7: track_src_ip in vrrp_instance VI01 without unicast_src_ip: no effect"]
    );
    assert!(!loaded.config.instances[0].track_src_ip);
}

/// keepalived vrrp_parser.c vrrp_vmac_handler(), vrrp_end_handler(): `vrrp.VRID` by default, a
/// name of the kernel's form otherwise, one per instance; unicast needs `vmac_xmit_base`.
#[test]
fn use_vmac_names_its_macvlan_and_unicast_sends_from_the_base() {
    let parsed = config(&format!(
        "{}{}",
        instance("A", 51, "192.0.2.100", "    use_vmac\n"),
        instance("B", 52, "192.0.2.101", "    use_vmac vmac52\n    vmac_xmit_base\n")
    ));
    let vmac = |n: usize| parsed.instances[n].vmac.clone().unwrap();
    assert_eq!((vmac(0).name.as_str(), vmac(0).xmit_base), ("vrrp.51", false));
    assert_eq!((vmac(1).name.as_str(), vmac(1).xmit_base), ("vmac52", true));
    assert_eq!(vrrp_config::Vmac::mac(Family::Ipv4, 51), MacAddr([0, 0, 0x5e, 0, 1, 0x33]));
    assert_eq!(vrrp_config::Vmac::mac(Family::Ipv6, 1), MacAddr([0, 0, 0x5e, 0, 2, 1]));

    let unicast = "    use_vmac\n    unicast_peer {\n        192.0.2.2\n    }\n";
    let loaded =
        parse_str(&instance("A", 51, "192.0.2.100", unicast), Path::new("t.conf")).unwrap();
    assert!(loaded.config.instances[0].vmac.as_ref().unwrap().xmit_base);
    assert!(loaded.warnings.iter().any(|w| w.message.contains("vmac_xmit_base is required")));

    let alone =
        parse_str(&instance("A", 51, "192.0.2.100", "    vmac_xmit_base\n"), Path::new("t.conf"))
            .unwrap();
    assert_eq!(alone.config.instances[0].vmac, None);
    assert!(alone.warnings.iter().any(|w| w.message.contains("without use_vmac: ignored")));

    for (line, expected) in [
        ("    use_vmac a_name_far_too_long\n", "an interface name of 1 to 15 characters"),
        ("    use_vmac eth0\n", "names its own interface"),
        ("    use_vmac 02:00:00:00:00:01\n", "a MAC address of one's own is not supported"),
        ("    use_vmac a/b\n", "no '/', ':' or spaces"),
    ] {
        let found = errors(&instance("A", 51, "192.0.2.100", line));
        assert!(found.iter().any(|e| e.contains(expected)), "{line}: {found:?}");
    }
    let twice = format!(
        "{}{}",
        instance("A", 51, "192.0.2.100", "    use_vmac shared\n"),
        instance("B", 52, "192.0.2.101", "    use_vmac shared\n")
    );
    assert!(errors(&twice).iter().any(|e| e.contains("vrrp_instance A already uses it")));
    let v6 = config(&instance("A", 51, "fe80::51/64\n        2001:db8::100/64", "    use_vmac\n"));
    assert_eq!(v6.instances[0].vmac.as_ref().map(|v| v.name.as_str()), Some("vrrp.51"));
}

/// keepalived global_parser.c vrrp_vmac_prefix_handler(), vrrp.c create_vmac_name():
/// `vmac_prefix` names the macvlans of `use_vmac` without a name, `vmac_addr_prefix` (else
/// `vmac_prefix`) those of addresses; the first of each counts; the prefix is cut to fit.
#[test]
fn vmac_prefixes_name_the_macvlans_keepalived_would_make() {
    let body = format!(
        "{}{}",
        instance("A", 51, "192.0.2.100", "    use_vmac\n"),
        instance("B", 52, "192.0.2.101 dev eth1", "    use_vmac_addr\n")
    );
    let with = |globals: &str| config(&format!("global_defs {{\n{globals}}}\n{body}"));
    let parsed = with("    vmac_prefix gw\n");
    assert_eq!(parsed.instances[0].vmac.as_ref().unwrap().name, "gw.51");
    assert_eq!(parsed.instances[1].address_vmac_prefix, "gw");
    let parsed = with("    vmac_prefix gw\n    vmac_addr_prefix ad\n");
    assert_eq!(parsed.instances[0].vmac.as_ref().unwrap().name, "gw.51");
    assert_eq!(parsed.instances[1].address_vmac_prefix, "ad");
    assert_eq!(parsed.global.vmac_addr_prefix.as_deref(), Some("ad"));
    let parsed = with("");
    assert_eq!(parsed.instances[0].vmac.as_ref().unwrap().name, "vrrp.51");
    assert_eq!(parsed.instances[1].address_vmac_prefix, "vrrp");
    assert_eq!(parsed.global.vmac_prefix, None);

    let text = format!("global_defs {{\n    vmac_prefix one\n    vmac_prefix two\n}}\n{body}");
    let loaded = parse_str(&text, Path::new("t.conf")).unwrap();
    assert_eq!(loaded.config.global.vmac_prefix.as_deref(), Some("one"));
    let warnings: Vec<_> = loaded.warnings.iter().map(ToString::to_string).collect();
    assert!(warnings.contains(&"t.conf:3: vmac_prefix was already given (one): two ignored".into()));
    for bad in ["a/b", "a:b", "\"\"", "\"a b\"", "é"] {
        let found = errors(&format!("global_defs {{\n    vmac_addr_prefix {bad}\n}}\n{body}"));
        assert!(found.iter().any(|e| e.contains("invalid vmac_addr_prefix")), "{bad}: {found:?}");
    }

    let names = |prefix, family| vrrp_config::Vmac::names(prefix, family, 7).collect::<Vec<_>>();
    assert_eq!(names("vrrp", Family::Ipv4)[..3], ["vrrp.7", "vrrp1.7", "vrrp2.7"]);
    assert_eq!(names("vrrp", Family::Ipv6)[..4], ["vrrp.7", "vrrp6.7", "vrrp1.7", "vrrp2.7"]);
    assert_eq!(names("vrrp", Family::Ipv6).len(), 100);
    assert!(!names("vrrp", Family::Ipv6)[2..].contains(&"vrrp6.7".to_string()));
    // 15 bytes at most: the prefix gives way, the number and VRID do not.
    let long = vrrp_config::Vmac::names("abcdefghijklmnop", Family::Ipv4, 255).collect::<Vec<_>>();
    assert_eq!(long[0], "abcdefghijk.255");
    assert_eq!(long[99], "abcdefghi99.255");
    assert!(long.iter().all(|name| name.len() == 15));
}

#[test]
fn garp_extra_if_needs_all_and_an_address_on_another_interface() {
    let elsewhere = "192.0.2.100\n        198.51.100.1 dev eth1";
    let setting = |line: &str| {
        let config = config(&instance("VI01", 1, elsewhere, &format!("    {line}\n")));
        config.instances[0].garp_extra_if
    };
    assert_eq!(setting("garp_extra_if all 10"), Some(Duration::from_secs(10)));
    assert_eq!(setting("garp_extra_if 10 all"), Some(Duration::from_secs(10)), "either order");
    assert_eq!(setting("garp_extra_if all 0"), None, "0 turns it off");
    // Without `all` keepalived sends on VMAC interfaces only; vrrpd has none.
    let text = instance("VI01", 1, elsewhere, "    garp_extra_if 10\n");
    assert_eq!(
        parse_str(&text, Path::new("t.conf")).unwrap().config.instances[0].garp_extra_if,
        None
    );
    let said = warnings(&text);
    assert!(said.iter().any(|w| w.contains("t.conf:8") && w.contains("VMAC")), "{said:?}");
    let same_link = instance("VI01", 1, "192.0.2.100", "    garp_extra_if all 10\n");
    assert!(warnings(&same_link).iter().any(|w| w.contains("none of its addresses")));
    // The global setting is the default, the instance's overrides it.
    let global = "global_defs {\n    vrrp_garp_extra_if all 60\n}\n";
    let inherited = config(&format!("{global}{}", instance("VI01", 1, elsewhere, "")));
    assert_eq!(inherited.instances[0].garp_extra_if, Some(Duration::from_secs(60)));
    let own =
        config(&format!("{global}{}", instance("VI01", 1, elsewhere, "    garp_extra_if all 5\n")));
    assert_eq!(own.instances[0].garp_extra_if, Some(Duration::from_secs(5)));
    // keepalived's bounds (a day) and its older spelling, deprecated.
    let errors = errors(&instance("VI01", 1, elsewhere, "    garp_extra_if all 86401\n"));
    assert!(errors.iter().any(|e| e.contains("86401")), "{errors:?}");
    let old = instance("VI01", 1, elsewhere, "    vmac_garp_intvl all 10\n");
    assert!(warnings(&old).iter().any(|w| w.contains("deprecated")));
}

#[test]
fn garp_groups_space_announcements_per_interface() {
    let text = format!(
        "global_defs {{\n    vrrp_garp_interval 0.5\n    vrrp_gna_interval 0.4\n}}\n\
         garp_group {{\n    garp_interval 0.2\n    interface eth0\n}}\n\
         garp_group {{\n    gna_interval 0.001\n    interfaces {{\n        eth1 eth2\n        eth3\n    }}\n}}\n{}",
        instance("VI01", 1, "192.0.2.1", "")
    );
    let config = config(&text);
    assert_eq!(config.garp_groups.len(), 2);
    assert_eq!(config.garp_groups[1].interfaces, ["eth1", "eth2", "eth3"]);
    let spacing = |interface: &str, family| config.announcement_spacing(interface, family);
    assert_eq!(spacing("eth0", Family::Ipv4), Duration::from_millis(200), "the group's");
    assert_eq!(spacing("eth0", Family::Ipv6), Duration::ZERO, "the group sets no NA spacing");
    assert_eq!(spacing("eth2", Family::Ipv6), Duration::from_millis(1));
    assert_eq!(spacing("eth9", Family::Ipv4), Duration::from_millis(500), "no group: global");
    assert_eq!(spacing("eth9", Family::Ipv6), Duration::from_millis(400));

    // keepalived keeps an interface in its first group and drops a group without intervals.
    let twice = "garp_group {\n    garp_interval 0.1\n    interface eth0\n}\n\
                 garp_group {\n    garp_interval 0.3\n    interface eth0\n}\n\
                 garp_group {\n    interface eth1\n}\n";
    let said = warnings(twice);
    assert!(said.iter().any(|w| w.starts_with("t.conf:7:") && w.contains("eth0")), "{said:?}");
    assert!(said.iter().any(|w| w.starts_with("t.conf:9") && w.contains("removed")), "{said:?}");
    let config = parse_str(twice, Path::new("t.conf")).unwrap().config;
    assert_eq!(config.announcement_spacing("eth0", Family::Ipv4), Duration::from_millis(100));
    assert_eq!(config.garp_groups.len(), 2);
    let errors = errors("garp_group {\n    garp_interval soon\n    interface eth0\n}\n");
    assert!(errors[0].contains("t.conf:2"), "{errors:?}");
}

/// keepalived vrrp.c vrrp_complete_instance() under strict mode (the instance's
/// `strict_mode`, else `vrrp_strict`): what it resets with an error and runs on (warnings
/// here, at the instance's line), and what it refuses.
#[test]
fn strict_mode_resets_what_the_rfc_does_not_allow() {
    let strict = "global_defs {\n    vrrp_strict\n    vrrp_garp_lower_prio_repeat 4\n}\n";
    let loaded = |extra: &str| {
        let text = format!("{strict}{}", instance("VI01", 1, "192.0.2.1", extra));
        parse_str(&text, Path::new("t.conf")).unwrap_or_else(|error| panic!("{error}"))
    };
    let said_at = |loaded: &vrrp_config::Loaded, line: u32, what: &str| {
        let hit = loaded.warnings.iter().any(|w| w.message.contains(what) && w.line == Some(line));
        assert!(hit, "no warning at line {line} with {what:?}: {:?}", loaded.warnings);
    };
    // At the instance's line.
    let said = |loaded: &vrrp_config::Loaded, what: &str| said_at(loaded, 5, what);

    let auth =
        loaded("    authentication {\n        auth_type PASS\n        auth_pass secret\n    }\n");
    assert_eq!(auth.config.instances[0].auth_pass, None);
    said_at(&auth, 12, "does not allow authentication");

    let master = loaded("    state MASTER\n    priority 100\n");
    assert_eq!(master.config.instances[0].state, InitialState::Backup);
    said(&master, "state MASTER must match being the address owner");
    let owner = loaded("    state BACKUP\n    priority 255\n");
    assert_eq!(owner.config.instances[0].state, InitialState::Master);

    let delayed = loaded("    preempt_delay 5\n");
    assert_eq!(delayed.config.instances[0].preempt_delay, Duration::ZERO);
    said(&delayed, "preempt_delay is incompatible");

    // No answer to lower priorities: the global default is overridden without a word, the
    // instance's own setting with one.
    let quiet = loaded("");
    let garp = quiet.config.instances[0].garp;
    assert_eq!((garp.lower_prio_repeat, garp.lower_prio_delay), (0, Duration::ZERO));
    assert!(quiet.config.instances[0].strict);
    let own = loaded("    garp_lower_prio_repeat 2\n    garp_lower_prio_delay 3\n");
    assert_eq!(own.config.instances[0].garp.lower_prio_repeat, 0);
    said(&own, "requires no garp_lower_prio_repeat");
    said(&own, "requires no garp_lower_prio_delay");

    // An instance's strict_mode is strict for every rule, without vrrp_strict.
    let text =
        instance("VI01", 1, "192.0.2.1", "    strict_mode\n    lower_prio_no_advert false\n");
    let per_instance = parse_str(&text, Path::new("t.conf")).unwrap();
    let instance = &per_instance.config.instances[0];
    assert!(instance.lower_prio_no_advert && !instance.higher_prio_send_advert);
    assert_eq!(instance.garp.lower_prio_repeat, 0);
}

/// keepalived vrrp.c vrrp_complete_instance(): "No VIP specified; at least one is required"
/// with VRRP version 3, IPv6 or strict mode (the file is refused); "sensible" otherwise.
#[test]
fn an_instance_without_addresses_is_refused_where_keepalived_refuses_it() {
    let bare = "vrrp_instance VI01 {\n    interface eth0\n    virtual_router_id 1\n";
    for (extra, why) in [("    strict_mode\n", "vrrp_strict"), ("    version 3\n", "version 3")] {
        let errors = errors(&format!("{bare}{extra}}}\n"));
        assert!(
            errors.iter().any(|e| e.starts_with("t.conf:1") && e.contains(why)),
            "{why}: {errors:?}"
        );
    }
    let lenient = parse_str(&format!("{bare}}}\n"), Path::new("t.conf")).unwrap();
    assert!(lenient.warnings.iter().any(|w| w.message.contains("has no virtual_ipaddress")));
}

/// keepalived vrrp.c vrrp_complete_instance(): which addresses get a macvlan of their own
/// interface, and `use_vmac` on a line dropped where the instance's settings already decide.
#[test]
fn address_macvlans_follow_use_vmac_addr_and_use_vmac_on_the_line() {
    let text = "vrrp_instance A {\n    interface eth0\n    virtual_router_id 1\n    \
                use_vmac_addr\n    virtual_ipaddress {\n        192.0.2.1/24\n        \
                198.51.100.1/24 dev eth1\n        198.51.100.2/24 dev eth1 use_vmac\n    }\n    \
                virtual_ipaddress_excluded {\n        2001:db8::1/64\n    }\n}\n\
                vrrp_instance B {\n    interface eth0\n    virtual_router_id 2\n    use_vmac\n    \
                virtual_ipaddress {\n        192.0.2.2/24 use_vmac\n        \
                198.51.100.3/24 dev eth1 use_vmac\n        198.51.100.4/24 dev eth1\n    }\n}\n";
    let loaded = parse_str(text, Path::new("t.conf")).unwrap();
    let warnings: Vec<String> = loaded.warnings.iter().map(ToString::to_string).collect();
    assert_eq!(warnings.len(), 2, "{warnings:?}");
    assert!(warnings[0].contains("198.51.100.2") && warnings[0].contains("use_vmac_addr"));
    assert!(warnings[1].contains("192.0.2.2") && warnings[1].contains("also has use_vmac"));
    let on_macvlan = |instance: &vrrp_config::Instance| -> Vec<bool> {
        let all = instance.virtual_addresses.iter().chain(&instance.excluded_addresses);
        all.map(|vip| instance.address_macvlan(vip)).collect()
    };
    let (a, b) = (&loaded.config.instances[0], &loaded.config.instances[1]);
    // A: its own interface's address stays there; eth1's and the other family's get one.
    assert_eq!(on_macvlan(a), [false, true, true, true]);
    // B: on its own macvlan, then one of eth1 only where the line asks.
    assert_eq!(on_macvlan(b), [false, true, false]);
}

/// keepalived vrrp_parser.c static_track_group_handler(), vrrp_static_track.c
/// static_track_group_init(): a group's members track, with weight 0, the interface of each
/// static entry tagged with it (address dev, route dev, rule iif), `no_track` entries aside.
#[test]
fn track_groups_give_their_members_the_tagged_static_entries_interfaces() {
    let groups = "track_group TG {\n    group {\n        A B\n    }\n}\n\
                  track_group OTHER {\n    group {\n        B\n    }\n}\n";
    let statics = "static_ipaddress {\n    198.51.100.1/24 dev eth1 track_group TG\n    \
                   198.51.100.2/24 dev eth1 track_group TG\n}\n\
                   static_routes {\n    203.0.113.0/24 via 198.51.100.254 dev eth2 track_group TG\n}\n\
                   static_rules {\n    from 198.51.100.1 iif eth3 table 5 track_group OTHER\n}\n";
    let body = format!(
        "{groups}{statics}{}{}",
        instance("A", 1, "192.0.2.100", ""),
        instance("B", 2, "192.0.2.101", "")
    );
    let parsed = config(&body);
    assert_eq!(parsed.instances[0].track_group_interfaces, ["eth1", "eth2"]);
    assert_eq!(parsed.instances[1].track_group_interfaces, ["eth1", "eth2", "eth3"]);
    assert_eq!(parsed.track_groups[0].members, ["A", "B"]);
    // The tag is not part of the entry: the route and rule are what they would be without it.
    assert_eq!(parsed.static_routes[0].to_string(), "203.0.113.0/24 via 198.51.100.254 dev eth2");
    assert_eq!(parsed.static_rules.len(), 1);

    let warned = |text: &str| -> Vec<String> {
        let loaded = parse_str(text, Path::new("t.conf")).unwrap_or_else(|e| panic!("{e}"));
        loaded.warnings.iter().map(|w| w.message.clone()).collect()
    };
    let a = instance("A", 1, "192.0.2.100", "");
    let group = "track_group TG {\n    group {\n        A\n    }\n}\n";
    let untracked = format!(
        "{group}static_ipaddress {{\n    198.51.100.1/24 dev eth1 no_track track_group TG\n}}\n{a}"
    );
    assert!(warned(&untracked).iter().any(|w| w.contains("both track_group and no_track")));
    assert_eq!(
        config_lenient(&untracked).instances[0].track_group_interfaces,
        Vec::<String>::new()
    );
    let on_a_vip = format!("{group}{}", instance("A", 1, "192.0.2.100 track_group TG", ""));
    assert!(warned(&on_a_vip).iter().any(|w| w.contains("only static_ipaddress lines take it")));
    let empty = format!("track_group TG {{\n}}\n{a}");
    assert!(warned(&empty).iter().any(|w| w.contains("lists no vrrp_instance")));
    let twice = format!(
        "track_group TG {{\n    group {{\n        A\n    }}\n    group {{\n        B\n    }}\n}}\n{a}"
    );
    assert!(warned(&twice).iter().any(|w| w.contains("a second group block")));

    for (text, expected) in [
        (format!("static_ipaddress {{\n    198.51.100.1/24 dev eth1 track_group TX\n}}\n{a}"),
         "track_group \"TX\" on static_ipaddress 198.51.100.1/24 names no track_group"),
        (format!("track_group TG {{\n    group {{\n        Z\n    }}\n}}\n{a}"),
         "track_group TG lists \"Z\", which is no vrrp_instance"),
        (format!("{group}{group}{a}"), "duplicate track_group TG"),
        (format!("{group}static_rules {{\n    from 198.51.100.1 table 5 track_group TG\n}}\n{a}"),
         "has track_group without iif"),
        (format!("{group}static_routes {{\n    blackhole 203.0.113.0/24 track_group TG\n}}\n{a}"),
         "has track_group without dev"),
        (format!("{group}static_routes {{\n    203.0.113.0/24 dev eth1 track_group TG track_group TG\n}}\n{a}"),
         "track_group TG is a second one on this line"),
        (format!("{group}static_routes {{\n    203.0.113.0/24 dev eth1 track_group\n}}\n{a}"),
         "track_group needs the name of a track_group"),
    ] {
        let found = errors(&text);
        assert!(found.iter().any(|e| e.contains(expected)), "{expected}: {found:?}");
    }
}

/// The configuration, whatever its warnings.
fn config_lenient(text: &str) -> Config {
    parse_str(text, Path::new("t.conf")).unwrap_or_else(|error| panic!("{error}")).config
}

fn scheduling(lines: &str) -> vrrp_config::Scheduling {
    let text = format!("global_defs {{\n{lines}}}\n{}", instance("VI01", 1, "192.0.2.1", ""));
    parse_str(&text, Path::new("t.conf"))
        .unwrap_or_else(|error| panic!("{error}"))
        .config
        .global
        .scheduling
}

/// keepalived global_parser.c get_priority(), get_realtime_priority() and get_rt_rlimit().
#[test]
fn scheduling_settings_follow_keepaliveds_ranges() {
    let unset = scheduling("");
    assert_eq!(unset, vrrp_config::Scheduling::default());
    assert_eq!((unset.realtime_priority, unset.nice, unset.no_swap), (None, None, false));
    assert_eq!(unset.rlimit_rttime_us, 10_000);
    assert!(!unset.raises_priority());

    let set = scheduling(
        "    vrrp_rt_priority 40\n    vrrp_rlimit_rttime 50000\n    vrrp_priority -5\n    \
         vrrp_no_swap\n",
    );
    assert_eq!(set.realtime_priority, Some(40));
    assert_eq!(set.rlimit_rttime_us, 50_000);
    assert_eq!(set.nice, Some(-5));
    assert!(set.no_swap && set.raises_priority());
    assert!(scheduling("    vrrp_priority -1\n").raises_priority());
    assert!(!scheduling("    vrrp_priority 5\n").raises_priority());

    // SCHED_RR's range, brought in with a warning.
    let global = |line: &str| {
        format!("global_defs {{\n    {line}\n}}\n{}", instance("VI01", 1, "192.0.2.1", ""))
    };
    assert_eq!(scheduling("    vrrp_rt_priority 0\n").realtime_priority, Some(1));
    assert_eq!(scheduling("    vrrp_rt_priority 150\n").realtime_priority, Some(99));
    assert_eq!(
        warnings(&global("vrrp_rt_priority 150")),
        vec!["t.conf:2:22: vrrp_rt_priority 150 is past the maximum: 99 is used"]
    );
    assert_eq!(
        warnings(&global("vrrp_rt_priority -3")),
        vec!["t.conf:2:22: vrrp_rt_priority -3 is past the minimum: 1 is used"]
    );
    assert_eq!(
        errors(&global("vrrp_rt_priority high")),
        vec![
            "t.conf:2:22: invalid vrrp_rt_priority \"high\": expected an integer from \
             -9223372036854775808 to 9223372036854775807"
        ]
    );

    // A nice value is -20 to 19.
    assert_eq!(
        errors(&global("vrrp_priority -21")),
        vec!["t.conf:2:19: invalid vrrp_priority \"-21\": expected an integer from -20 to 19"]
    );
    assert_eq!(scheduling("    vrrp_priority 19\n").nice, Some(19));

    // The limit is 1 to UINT32_MAX microseconds; 1 is made 2 (the soft limit is half).
    assert_eq!(scheduling("    vrrp_rlimit_rttime 1\n").rlimit_rttime_us, 2);
    assert_eq!(scheduling("    vrrp_rlimit_rttime 4294967295\n").rlimit_rttime_us, u32::MAX);
    assert_eq!(
        errors(&global("vrrp_rlimit_rttime 0")),
        vec!["t.conf:2:24: invalid vrrp_rlimit_rttime \"0\": expected an integer from 1 to 4294967295"]
    );
    // The old name still works, with a word about it.
    assert_eq!(scheduling("    vrrp_rlimit_rtime 20000\n").rlimit_rttime_us, 20_000);
    assert_eq!(
        warnings(&global("vrrp_rlimit_rtime 20000")),
        vec!["t.conf:2:5: vrrp_rlimit_rtime is deprecated (keepalived's old name): use vrrp_rlimit_rttime"]
    );
    assert!(!scheduling("    vrrp_no_swap off\n").no_swap);
}
