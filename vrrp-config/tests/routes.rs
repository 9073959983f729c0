//! `virtual_routes`, `virtual_rules`, `static_ipaddress`, `static_routes`, `static_rules`:
//! keepalived's lines read into the model, in both formats, and what is refused.

use std::net::IpAddr;
use std::path::Path;

use vrrp_config::{
    parse_str, Config, Family, Route, RouteKind, Rule, RuleAction, Scope, PROTOCOL_KEEPALIVED,
    TABLE_MAIN,
};

fn config(text: &str) -> Config {
    let loaded = parse_str(text, Path::new("t.conf")).unwrap_or_else(|error| panic!("{error}"));
    assert_eq!(loaded.warnings, vec![], "unexpected warnings");
    loaded.config
}

fn errors(text: &str) -> Vec<String> {
    let error = parse_str(text, Path::new("t.conf")).unwrap_err();
    error.errors.iter().map(ToString::to_string).collect()
}

fn ip(text: &str) -> IpAddr {
    text.parse().unwrap()
}

fn with_routes(routes: &str, rules: &str) -> String {
    format!(
        "vrrp_instance VI_1 {{\n    interface eth0\n    virtual_router_id 1\n    \
         virtual_ipaddress {{ 192.0.2.10/24 }}\n    virtual_routes {{\n{routes}\n    }}\n    \
         virtual_rules {{\n{rules}\n    }}\n}}\n"
    )
}

fn route(destination: &str, prefix_len: u8) -> Route {
    Route {
        destination: ip(destination),
        prefix_len,
        kind: RouteKind::Unicast,
        source: None,
        gateway: None,
        device: None,
        scope: None,
        table: TABLE_MAIN,
        metric: None,
        protocol: PROTOCOL_KEEPALIVED,
        onlink: false,
        no_track: false,
    }
}

fn rule(action: RuleAction) -> Rule {
    Rule {
        family: Family::Ipv4,
        from: None,
        to: None,
        input_interface: None,
        output_interface: None,
        fwmark: None,
        priority: None,
        action,
        invert: false,
        no_track: false,
    }
}

#[test]
fn neutron_l3_ha_routes_and_octavia_rules() {
    let config = config(&with_routes(
        "0.0.0.0/0 via 192.0.2.1 dev eth1\n\
         198.51.100.0/24 via 192.0.2.2 dev eth1 metric 10 table 100\n\
         203.0.113.0/24 dev eth1 src 192.0.2.10 scope link table 1\n\
         default via 192.0.2.1 dev eth1 onlink table 1\n\
         2001:db8:1::/64 via 2001:db8::1 dev eth1\n\
         inet6 default via fe80::1 dev eth1",
        "from 192.0.2.10/32 table 1 priority 100\n\
         from 2001:db8::10 lookup 2\n\
         to 198.51.100.0/24 iif eth1 fwmark 0x10/0xff table main no_track\n\
         not from 203.0.113.0/24 oif eth2 prohibit",
    ));
    let instance = &config.instances[0];
    let mut expected = vec![
        Route {
            gateway: Some(ip("192.0.2.1")),
            device: Some("eth1".into()),
            ..route("0.0.0.0", 0)
        },
        Route {
            gateway: Some(ip("192.0.2.2")),
            device: Some("eth1".into()),
            metric: Some(10),
            table: 100,
            ..route("198.51.100.0", 24)
        },
        Route {
            device: Some("eth1".into()),
            source: Some(ip("192.0.2.10")),
            scope: Some(Scope::Link),
            table: 1,
            ..route("203.0.113.0", 24)
        },
        Route {
            gateway: Some(ip("192.0.2.1")),
            device: Some("eth1".into()),
            onlink: true,
            table: 1,
            ..route("0.0.0.0", 0)
        },
        Route {
            gateway: Some(ip("2001:db8::1")),
            device: Some("eth1".into()),
            ..route("2001:db8:1::", 64)
        },
        Route { gateway: Some(ip("fe80::1")), device: Some("eth1".into()), ..route("::", 0) },
    ];
    assert_eq!(instance.virtual_routes, expected);
    assert_eq!(expected.pop().unwrap().family(), Family::Ipv6);
    assert_eq!(
        instance.virtual_rules,
        vec![
            Rule {
                from: Some((ip("192.0.2.10"), 32)),
                priority: Some(100),
                ..rule(RuleAction::Table(1))
            },
            Rule {
                family: Family::Ipv6,
                from: Some((ip("2001:db8::10"), 128)),
                ..rule(RuleAction::Table(2))
            },
            Rule {
                to: Some((ip("198.51.100.0"), 24)),
                input_interface: Some("eth1".into()),
                fwmark: Some((0x10, Some(0xff))),
                no_track: true,
                ..rule(RuleAction::Table(TABLE_MAIN))
            },
            Rule {
                invert: true,
                from: Some((ip("203.0.113.0"), 24)),
                output_interface: Some("eth2".into()),
                ..rule(RuleAction::Prohibit)
            },
        ]
    );
}

#[test]
fn keepalived_sample_forms() {
    // keepalived's samples: `src` before the destination, the older `gw`, a type first.
    let config = config(&with_routes(
        "src 192.0.2.10 198.51.100.0/24 via 192.0.2.254 dev eth1\n\
         0.0.0.0/0 gw 192.0.2.1 table 100\n\
         blackhole 192.0.2.99/32\n\
         unreachable 198.51.100.128/25 no_track protocol static\n\
         to prohibit 203.0.113.0/24",
        "from 192.0.2.0/24 table 2",
    ));
    let routes = &config.instances[0].virtual_routes;
    assert_eq!(routes[0].source, Some(ip("192.0.2.10")));
    assert_eq!((routes[0].destination, routes[0].prefix_len), (ip("198.51.100.0"), 24));
    assert_eq!((routes[1].gateway, routes[1].table), (Some(ip("192.0.2.1")), 100));
    assert_eq!(routes[2].kind, RouteKind::Blackhole);
    assert_eq!(
        (routes[3].kind, routes[3].no_track, routes[3].protocol),
        (RouteKind::Unreachable, true, 4)
    );
    assert_eq!(routes[4].kind, RouteKind::Prohibit);
    assert_eq!(routes[2].to_string(), "blackhole 192.0.2.99/32");
}

#[test]
fn a_tracked_route_keeps_keepalived_s_protocol() {
    let text = with_routes("198.51.100.0/24 dev eth1 protocol static", "from 192.0.2.0/24 table 2");
    let loaded = parse_str(&text, Path::new("t.conf")).unwrap();
    assert_eq!(loaded.config.instances[0].virtual_routes[0].protocol, PROTOCOL_KEEPALIVED);
    let warnings: Vec<String> = loaded.warnings.iter().map(ToString::to_string).collect();
    assert_eq!(
        warnings,
        vec![
            "t.conf:6:26: a tracked route has protocol keepalived (18); protocol 4 is not used \
             (add no_track to keep it), as keepalived does"
        ]
    );
}

#[test]
fn static_blocks() {
    let config = config(
        "static_ipaddress {\n    192.0.2.200/24 dev eth0 scope link\n}\n\
         static_routes {\n    198.51.100.0/24 via 192.0.2.1 dev eth0\n}\n\
         static_rules {\n    from 192.0.2.200 table 5\n}\n\
         vrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 1\n    \
         virtual_ipaddress { 192.0.2.10/24 }\n}\n",
    );
    assert_eq!(config.static_addresses[0].address, ip("192.0.2.200"));
    assert_eq!(config.static_addresses[0].device.as_deref(), Some("eth0"));
    assert_eq!(config.static_routes[0].gateway, Some(ip("192.0.2.1")));
    assert_eq!(config.static_rules[0].action, RuleAction::Table(5));
    assert!(config.instances[0].virtual_routes.is_empty());
}

#[test]
fn what_is_refused_names_the_word() {
    let cases = [
        ("198.51.100.0/24 via 192.0.2.1 or 192.0.2.2", "route option \"or\" is not supported: vrrpd cannot carry this line out (--allow-unsupported leaves it out)"),
        ("198.51.100.0/24 nexthop via 192.0.2.1", "route option \"nexthop\" is not supported: vrrpd cannot carry this line out (--allow-unsupported leaves it out)"),
        ("198.51.100.0/24 dev eth0 mtu 1400", "route option \"mtu\" is not supported: vrrpd cannot carry this line out (--allow-unsupported leaves it out)"),
        ("local 192.0.2.7", "route type \"local\" is not supported: vrrpd cannot carry this line out (--allow-unsupported leaves it out)"),
        ("198.51.100.0/24 via 2001:db8::1", "\"2001:db8::1\" mixes IPv4 and IPv6 in one line"),
        ("via 192.0.2.1 dev eth0", "a route needs a destination"),
        ("198.51.100.0/24 table blue", "invalid table \"blue\": expected a table number from 1, main, default or local (names from /etc/iproute2/rt_tables are not read)"),
        ("198.51.100.0/24 table 0", "invalid table \"0\": table 0 is not a table"),
        ("198.51.100.0/24 dev", "missing value after dev"),
        ("198.51.100.0/33", "invalid route option \"198.51.100.0/33\": expected a destination (ADDR[/PREFIX] or default) or one of src, via, dev, scope, table, metric, protocol, onlink, no_track, blackhole, unreachable, prohibit"),
        ("198.51.100.0/24 198.51.101.0/24", "a second destination \"198.51.101.0/24\" (the first is \"198.51.100.0/24\")"),
    ];
    for (line, message) in cases {
        let found = errors(&with_routes(line, "from 192.0.2.0/24 table 2"));
        assert_eq!(found.len(), 1, "{line}: {found:?}");
        assert!(found[0].ends_with(message), "{line}: {}", found[0]);
        assert!(found[0].starts_with("t.conf:6:"), "{line}: {}", found[0]);
    }
    let rules = [
        ("from 192.0.2.0/24", "a rule needs an action: table N, blackhole, unreachable or prohibit"),
        ("from 192.0.2.0/24 table 1 blackhole", "a rule has one action: \"blackhole\" after \"table\""),
        ("from 192.0.2.0/24 goto 5", "rule option \"goto\" is not supported: vrrpd cannot carry this line out (--allow-unsupported leaves it out)"),
        ("from 192.0.2.0/24 to 2001:db8::/32 table 1", "\"2001:db8::/32\" mixes IPv4 and IPv6 in one line"),
        ("fwmark 0xzz table 1", "invalid fwmark \"0xzz\": expected MARK or MARK/MASK (decimal or 0x hexadecimal)"),
        ("frm 192.0.2.0/24 table 1", "invalid rule option \"frm\": expected one of from, to, table, priority, iif, oif, fwmark, not, no_track, blackhole, unreachable, prohibit"),
    ];
    for (line, message) in rules {
        let found = errors(&with_routes("198.51.100.0/24 dev eth0", line));
        assert_eq!(found.len(), 1, "{line}: {found:?}");
        assert!(found[0].ends_with(message), "{line}: {}", found[0]);
        assert!(found[0].starts_with("t.conf:9:"), "{line}: {}", found[0]);
    }
    let found = errors("static_ipaddress {\n    192.0.2.200/24\n}\n");
    assert_eq!(found, vec!["t.conf:2:5: static_ipaddress 192.0.2.200/24 needs dev INTERFACE"]);
}

#[test]
fn toml_lowers_to_the_same_lines() {
    let toml = r#"
static_routes = ["198.51.100.0/24 via 192.0.2.1 dev eth0"]

[[vrrp_instance]]
name = "VI_1"
interface = "eth0"
virtual_router_id = 1
virtual_ipaddress = ["192.0.2.10/24"]
virtual_routes = [
    "0.0.0.0/0 via 192.0.2.1 dev eth1",
    { address = "198.51.100.0/24", via = "192.0.2.2", table = 100, no_track = true },
]
virtual_rules = ["from 192.0.2.10/32 table 1 priority 100"]
"#;
    let loaded = parse_str(toml, Path::new("vrrpd.toml")).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(loaded.warnings, vec![]);
    let keepalived = config(&with_routes(
        "0.0.0.0/0 via 192.0.2.1 dev eth1\n198.51.100.0/24 via 192.0.2.2 table 100 no_track",
        "from 192.0.2.10/32 table 1 priority 100",
    ));
    let (from_toml, from_conf) = (&loaded.config.instances[0], &keepalived.instances[0]);
    assert_eq!(from_toml.virtual_routes, from_conf.virtual_routes);
    assert_eq!(from_toml.virtual_rules, from_conf.virtual_rules);
    assert_eq!(loaded.config.static_routes[0].gateway, Some(ip("192.0.2.1")));
}

#[test]
fn forms_seen_in_the_field() {
    // A gateway pair that moves the default route's table ahead on becoming MASTER, and a
    // default route with no gateway.
    let config =
        config(&with_routes("default dev eth0 table 250", "to all lookup 250 priority 32770"));
    let instance = &config.instances[0];
    assert_eq!(
        instance.virtual_routes,
        vec![Route { device: Some("eth0".into()), table: 250, ..route("0.0.0.0", 0) }]
    );
    assert_eq!(
        instance.virtual_rules,
        vec![Rule { priority: Some(32770), ..rule(RuleAction::Table(250)) }]
    );
    assert_eq!(instance.virtual_rules[0].to_string(), "priority 32770 table 250");
}
