//! The reference configurations run unchanged once their placeholders are filled in.

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use vrrp_config::{parse_str, Family, InitialState, Instance, UnicastPeer, Version};

const SERVER1_IP: &str = "192.0.2.1";
const SERVER2_IP: &str = "192.0.2.2";
const VIRTUAL_IP: &str = "192.0.2.100";

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data").join(name)
}

/// The reference file with its placeholders and interface name filled in.
fn filled(name: &str, interface: &str) -> String {
    std::fs::read_to_string(data(name))
        .expect("reference file is part of the crate")
        .replace("<server1-ip>", SERVER1_IP)
        .replace("<server2-ip>", SERVER2_IP)
        .replace("<virtual-ip>", VIRTUAL_IP)
        .replace("ens3", interface)
}

fn ip(text: &str) -> IpAddr {
    text.parse().unwrap()
}

fn check_instance(instance: &Instance, name: &str, priority: u8, source: &str, peer: &str) {
    assert_eq!(instance.name, name);
    assert_eq!(instance.interface, "ens3");
    assert_eq!(instance.vrid, 123);
    assert_eq!(instance.priority, priority);
    assert_eq!(instance.state, InitialState::Backup);
    assert_eq!(instance.version, Version::V3);
    assert_eq!(instance.family, Family::Ipv4);
    assert_eq!(instance.advert_interval, Duration::from_secs(1));
    assert!(instance.preempt);
    assert!(instance.accept);
    assert_eq!(instance.source_ip, Some(ip(source)));
    assert_eq!(
        instance.unicast_peers,
        vec![UnicastPeer { address: ip(peer), mac: None, min_ttl: None, max_ttl: None }]
    );
    assert_eq!(instance.virtual_addresses.len(), 1);
    let vip = &instance.virtual_addresses[0];
    assert_eq!((vip.address, vip.prefix_len), (ip(VIRTUAL_IP), 32));
    assert_eq!((&vip.device, &vip.label, vip.scope, vip.no_track), (&None, &None, None, false));
    assert!(instance.excluded_addresses.is_empty());
    assert!(instance.track_interfaces.is_empty() && instance.track_scripts.is_empty());
    assert_eq!(instance.garp.master_refresh, Some(Duration::from_secs(10)));
    assert_eq!(instance.garp.master_refresh_repeat, 1);
    assert_eq!(instance.garp.master_delay, Duration::from_secs(5));
    assert_eq!(instance.garp.master_repeat, 5);
}

#[test]
fn server1_parses_without_warnings() {
    let text = filled("keepalived-server1.conf", "ens3");
    let loaded = parse_str(&text, Path::new("keepalived.conf")).unwrap();
    assert_eq!(loaded.warnings, vec![]);
    let config = &loaded.config;
    assert_eq!(config.global.version, Version::V3);
    assert_eq!(config.global.garp.master_refresh, Some(Duration::from_secs(10)));
    assert_eq!(config.instances.len(), 1);
    assert!(config.scripts.is_empty() && config.sync_groups.is_empty());
    check_instance(config.instance("VI01").unwrap(), "VI01", 110, SERVER1_IP, SERVER2_IP);
}

#[test]
fn server2_parses_without_warnings() {
    let text = filled("keepalived-server2.conf", "ens3");
    let loaded = parse_str(&text, Path::new("keepalived.conf")).unwrap();
    assert_eq!(loaded.warnings, vec![]);
    assert_eq!(loaded.config.instances.len(), 1);
    check_instance(loaded.config.instance("VI02").unwrap(), "VI02", 100, SERVER2_IP, SERVER1_IP);
}

#[test]
fn load_reads_the_file_from_disk() {
    let directory = std::env::temp_dir().join(format!("vrrp-config-ref-{}", std::process::id()));
    std::fs::create_dir_all(&directory).unwrap();
    let path = directory.join("keepalived.conf");
    std::fs::write(&path, filled("keepalived-server1.conf", "ens3")).unwrap();
    let loaded = vrrp_config::load(&path).unwrap();
    std::fs::remove_dir_all(&directory).unwrap();
    assert_eq!(loaded.warnings, vec![]);
    assert_eq!(loaded.config.instances[0].name, "VI01");
}

#[test]
fn toml_equivalent_gives_the_same_model() {
    let keepalived = parse_str(&filled("keepalived-server1.conf", "ens3"), Path::new("k.conf"));
    let toml = r#"
        [global_defs]
        vrrp_garp_master_refresh = 10
        vrrp_version = 3

        [[vrrp_instance]]
        name = "VI01"
        interface = "ens3"
        virtual_router_id = 123
        state = "BACKUP"
        priority = 110
        unicast_src_ip = "192.0.2.1"
        unicast_peer = ["192.0.2.2"]
        virtual_ipaddress = ["192.0.2.100"]
    "#;
    let toml = parse_str(toml, Path::new("vrrpd.toml")).unwrap();
    assert_eq!(toml.warnings, vec![]);
    assert_eq!(toml.config, keepalived.unwrap().config);
}

/// keepalived itself accepts the same filled-in files (it insists that the interface exists,
/// so the first non-loopback interface of this machine stands in for ens3).
#[test]
fn keepalived_accepts_the_filled_reference_files() {
    let binary = ["/usr/sbin/keepalived", "/usr/local/sbin/keepalived", "/sbin/keepalived"]
        .into_iter()
        .map(PathBuf::from)
        .find(|path| path.exists())
        .expect("keepalived is not installed: this test compares with `keepalived --config-test`");
    let interface = std::fs::read_dir("/sys/class/net")
        .expect("/sys/class/net lists the network interfaces")
        .flatten()
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .filter(|name| name != "lo")
        .min()
        .expect("keepalived needs an existing non-loopback interface");
    let directory = std::env::temp_dir().join(format!("vrrp-config-ka-{}", std::process::id()));
    std::fs::create_dir_all(&directory).unwrap();
    for name in ["keepalived-server1.conf", "keepalived-server2.conf"] {
        let path = directory.join(name);
        let text = filled(name, &interface);
        std::fs::write(&path, &text).unwrap();
        let output = std::process::Command::new(&binary)
            .arg("--config-test")
            .arg("-f")
            .arg(&path)
            .output()
            .expect("keepalived runs");
        assert!(
            output.status.success(),
            "keepalived rejects {name}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let ours = parse_str(&text, &path).unwrap();
        assert_eq!(ours.warnings, vec![]);
    }
    std::fs::remove_dir_all(&directory).unwrap();
}
