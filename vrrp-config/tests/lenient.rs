//! Values keepalived 2.2.7 is lenient about: it runs the file, so vrrpd does too, doing what
//! keepalived does and warning at the exact text. Each case was checked against
//! `keepalived --config-test`.

use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;

use vrrp_config::{parse_str, Loaded};

fn load(body: &str) -> Loaded {
    let text =
        format!("vrrp_instance VI {{\n    interface eth0\n    virtual_router_id 51\n{body}}}\n");
    parse_str(&text, Path::new("t.conf")).unwrap()
}

fn warnings(loaded: &Loaded) -> Vec<String> {
    loaded.warnings.iter().map(ToString::to_string).collect()
}

fn ip(text: &str) -> IpAddr {
    text.parse().unwrap()
}

/// keepalived lib/utils.c inet_stosockaddr() leaves out a mask or a range.
#[test]
fn source_and_peers_with_a_mask_use_the_address() {
    let loaded = load(
        "    unicast_src_ip 192.0.2.1/24\n    unicast_peer {\n        192.0.2.2/24\n        \
         192.0.2.3-9\n    }\n    virtual_ipaddress {\n        192.0.2.100\n    }\n",
    );
    let instance = &loaded.config.instances[0];
    assert_eq!(instance.source_ip, Some(ip("192.0.2.1")));
    let peers: Vec<IpAddr> = instance.unicast_peers.iter().map(|peer| peer.address).collect();
    assert_eq!(peers, [ip("192.0.2.2"), ip("192.0.2.3")]);
    assert_eq!(
        warnings(&loaded),
        [
            "t.conf:4:20: unicast_src_ip \"192.0.2.1/24\": only the address 192.0.2.1 is used, \
             as keepalived does",
            "t.conf:6:9: unicast_peer \"192.0.2.2/24\": only the address 192.0.2.2 is used, as \
             keepalived does",
            "t.conf:7:9: unicast_peer \"192.0.2.3-9\": only the address 192.0.2.3 is used, as \
             keepalived does",
        ]
    );
}

/// keepalived vrrp_parser.c vrrp_nopreempt_handler() and vrrp_preempt_handler() ignore their
/// arguments: `nopreempt false` is nopreempt, `preempt no` is preempt.
#[test]
fn nopreempt_ignores_its_argument() {
    for (line, preempt) in
        [("nopreempt 1", false), ("nopreempt false", false), ("preempt no", true)]
    {
        let (keyword, argument) = line.split_once(' ').unwrap();
        let body = format!("    {line}\n    virtual_ipaddress {{\n        192.0.2.100\n    }}\n");
        let loaded = load(&body);
        assert_eq!(loaded.config.instances[0].preempt, preempt, "{line}");
        let column = 5 + keyword.len() + 1;
        assert_eq!(
            warnings(&loaded),
            [format!(
                "t.conf:4:{column}: unexpected \"{argument}\" after {keyword}, ignored as \
                 keepalived ignores it: {keyword} takes no argument"
            )]
        );
    }
}

/// keepalived's `accept` and `no_accept` take no argument either: `accept false` accepts.
#[test]
fn accept_ignores_its_argument() {
    let loaded = load("    accept false\n    virtual_ipaddress {\n        192.0.2.100\n    }\n");
    assert!(loaded.config.instances[0].accept);
    assert_eq!(
        warnings(&loaded),
        ["t.conf:4:12: unexpected \"false\" after accept, ignored as keepalived ignores it: \
          accept takes no argument"]
    );
}

/// TOML's booleans keep their meaning: `nopreempt = false` preempts, `preempt = false` does not.
#[test]
fn toml_booleans_choose_preempt_or_nopreempt() {
    for (line, preempt) in [
        ("nopreempt = false", true),
        ("nopreempt = true", false),
        ("preempt = false", false),
        ("preempt = true", true),
    ] {
        let text = format!(
            "[[vrrp_instance]]\nname = \"VI\"\ninterface = \"eth0\"\nvirtual_router_id = 51\n\
             virtual_ipaddress = [\"192.0.2.100\"]\n{line}\n"
        );
        let loaded = parse_str(&text, Path::new("t.toml")).unwrap();
        assert_eq!(loaded.warnings, vec![], "{line}");
        assert_eq!(loaded.config.instances[0].preempt, preempt, "{line}");
    }
}

/// keepalived vrrp_parser.c vrrp_prio_handler(): "Priority not valid! ... Using default 100".
#[test]
fn an_invalid_priority_uses_the_default() {
    for (written, column) in [("'100'", 14), ("0", 14), ("256", 14), ("high", 14)] {
        let body = format!(
            "    state BACKUP\n    priority {written}\n    virtual_ipaddress {{\n        \
             192.0.2.100\n    }}\n"
        );
        let loaded = load(&body);
        assert_eq!(loaded.config.instances[0].priority, 100, "{written}");
        assert_eq!(
            warnings(&loaded),
            [format!(
                "t.conf:5:{column}: invalid priority \"{written}\": expected an integer from 1 \
                 to 255; using the default 100, as keepalived does"
            )]
        );
    }
}

/// keepalived vrrp_ipaddress.c alloc_ipaddress(): `brd`/`broadcast` take an address, `+` (the
/// prefix's highest address) or `-` (its lowest), computed up to a /30.
#[test]
fn broadcast_addresses_in_virtual_ipaddress() {
    let loaded = load(
        "    virtual_ipaddress {
        192.0.2.100/24 brd + dev eth0
        192.0.2.101/24 broadcast 192.0.2.255
        192.0.2.102/24 brd -
        192.0.2.103/31 brd +
        192.0.2.104/30 brd +
    }
",
    );
    let broadcasts: Vec<Option<Ipv4Addr>> =
        loaded.config.instances[0].virtual_addresses.iter().map(|vip| vip.broadcast).collect();
    let v4 = |text: &str| Some(text.parse::<Ipv4Addr>().unwrap());
    assert_eq!(
        broadcasts,
        [v4("192.0.2.255"), v4("192.0.2.255"), v4("192.0.2.0"), None, v4("192.0.2.107")]
    );
    // Parsed and checked as keepalived does, then not applied: the keyword table says so.
    let unsupported = |line: u32, option: &str| {
        format!(
            "t.conf:{line}:24: option \"{option}\" in virtual_ipaddress is not supported: the \
             address is added without a broadcast address; VRRP does not depend on it"
        )
    };
    assert_eq!(
        warnings(&loaded),
        [
            unsupported(5, "brd"),
            unsupported(6, "broadcast"),
            unsupported(7, "brd"),
            unsupported(8, "brd"),
            "t.conf:8:28: brd + on a /31 address: the prefix is too long for a broadcast \
             address, none is set (as keepalived does)"
                .to_string(),
            unsupported(9, "brd"),
        ]
    );
}

#[test]
fn a_broadcast_on_an_ipv6_address_is_an_error() {
    let text = "vrrp_instance VI {\n    interface eth0\n    virtual_router_id 51\n    \
                virtual_ipaddress {\n        2001:db8::1/64 brd +\n    }\n}\n";
    let error = parse_str(text, Path::new("t.conf")).unwrap_err();
    assert_eq!(
        error.to_string(),
        "t.conf:5:28: invalid brd \"+\": a broadcast address is for IPv4 addresses only"
    );
}

/// keepalived runs a file without vrrp_instance (its VRRP process has nothing to do).
#[test]
fn a_file_without_vrrp_instance_is_accepted_with_a_warning() {
    let loaded = parse_str("global_defs {\n    router_id lb1\n}\n", Path::new("t.conf")).unwrap();
    assert!(loaded.config.instances.is_empty());
    assert_eq!(warnings(&loaded), ["t.conf: no vrrp_instance: there is nothing for VRRP to run"]);
}
