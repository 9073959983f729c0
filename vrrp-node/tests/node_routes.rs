//! Routes and rules as the node decides them, through its public contract on a virtual clock:
//! they follow the addresses into and out of MASTER in keepalived's order, a deleted tracked
//! one is put back only while held, a reload changes them in place, static ones are held from
//! start to stop.

use std::collections::HashMap;
use std::net::IpAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use vrrp_config::{Config, Route, Rule};
use vrrp_node::{InstanceId, Node, Output, RouteKey};
use vrrp_proto::{Advertisement, Centiseconds, State, Version};

const PEER: &str = "192.0.2.2";

fn ip(text: &str) -> IpAddr {
    text.parse().unwrap()
}

const DEFAULT_ROUTE: &str = "0.0.0.0/0 via 192.0.2.254 dev eth0";
const EXTRA_ROUTE: &str = "198.51.100.0/24 via 192.0.2.253 dev eth0 table 100";
const UNTRACKED_ROUTE: &str = "203.0.113.0/24 dev eth0 no_track";
const RULE: &str = "from 192.0.2.100/32 table 100 priority 100";

/// An instance at `priority` with a VIP and the routes and rules listed; static lines before.
fn config(priority: u8, routes: &[&str], rules: &[&str], statics: &str) -> Config {
    let lines = |lines: &[&str]| lines.iter().map(|l| format!("        {l}\n")).collect::<String>();
    let text = format!(
        "global_defs {{\n    vrrp_version 3\n}}\n{statics}\
         vrrp_instance VI01 {{\n    interface eth0\n    virtual_router_id 123\n    \
         priority {priority}\n    advert_int 1\n    unicast_src_ip 192.0.2.1\n    \
         unicast_peer {{\n        {PEER}\n    }}\n    virtual_ipaddress {{\n        \
         192.0.2.100/24\n    }}\n    virtual_routes {{\n{}    }}\n    virtual_rules {{\n{}    \
         }}\n}}\n",
        lines(routes),
        lines(rules),
    );
    vrrp_config::parse_str(&text, Path::new("node.conf")).expect("valid").config
}

fn routes_of(config: &Config) -> Vec<Route> {
    config.instances[0].virtual_routes.clone()
}

fn rules_of(config: &Config) -> Vec<Rule> {
    config.instances[0].virtual_rules.clone()
}

struct Harness {
    node: Node,
    now: Instant,
}

impl Harness {
    fn new(config: Config) -> (Self, Vec<Output>) {
        let now = Instant::now();
        let mut node = Node::new();
        node.handle_link(now, "eth0", true);
        node.handle_reload(now, config, &HashMap::new()).expect("runs");
        let mut harness = Self { node, now };
        let outputs = harness.drain();
        (harness, outputs)
    }

    fn drain(&mut self) -> Vec<Output> {
        std::iter::from_fn(|| self.node.poll_output()).collect()
    }

    fn advance(&mut self, span: Duration) -> Vec<Output> {
        let end = self.now + span;
        let mut fresh = Vec::new();
        while let Some(at) = self.node.poll_timeout().filter(|at| *at <= end) {
            self.now = self.now.max(at);
            self.node.handle_timeout(self.now);
            fresh.extend(self.drain());
        }
        self.now = end;
        fresh
    }

    fn id(&self) -> InstanceId {
        self.node.instances().map(|(id, _)| id).next().expect("one instance")
    }

    fn state(&self) -> State {
        self.node.instance(self.id()).unwrap().router().state()
    }

    fn become_master(&mut self) -> Vec<Output> {
        let outputs = self.advance(Duration::from_secs(4));
        assert_eq!(self.state(), State::Master);
        outputs
    }

    fn advertise_from_peer(&mut self, priority: u8) -> Vec<Output> {
        let advert = Advertisement::new(
            Version::V3,
            123,
            priority,
            Centiseconds::ONE_SECOND,
            vec![ip("192.0.2.100")],
        )
        .unwrap();
        let id = self.id();
        self.node.handle_advertisement(self.now, id, ip(PEER), &advert);
        self.drain()
    }
}

/// The address, route and rule outputs, in order, as short words.
fn moves(outputs: &[Output]) -> Vec<&'static str> {
    outputs
        .iter()
        .filter_map(|output| match output {
            Output::AddAddresses { .. } => Some("add addresses"),
            Output::RemoveAddresses { .. } => Some("remove addresses"),
            Output::AddRoutes { .. } => Some("add routes"),
            Output::RemoveRoutes { .. } => Some("remove routes"),
            Output::AddRules { .. } => Some("add rules"),
            Output::RemoveRules { .. } => Some("remove rules"),
            Output::AddStaticAddresses { .. } => Some("add static addresses"),
            Output::RemoveStaticAddresses { .. } => Some("remove static addresses"),
            _ => None,
        })
        .collect()
}

#[test]
fn routes_and_rules_follow_the_addresses_in_keepalived_s_order() {
    let config = config(110, &[DEFAULT_ROUTE, EXTRA_ROUTE], &[RULE], "");
    let (routes, rules) = (routes_of(&config), rules_of(&config));
    let (mut lab, started) = Harness::new(config);
    assert_eq!(moves(&started), Vec::<&str>::new(), "a backup holds nothing");
    let id = lab.id();
    let outputs = lab.become_master();
    assert_eq!(moves(&outputs), ["add addresses", "add routes", "add rules"]);
    assert!(outputs.contains(&Output::AddRoutes { id: Some(id), routes: routes.clone() }));
    assert!(outputs.contains(&Output::AddRules { id: Some(id), rules: rules.clone() }));

    let outputs = lab.advertise_from_peer(200);
    assert_eq!(lab.state(), State::Backup);
    assert_eq!(moves(&outputs), ["remove rules", "remove routes", "remove addresses"]);
    assert!(outputs.contains(&Output::RemoveRoutes { id: Some(id), routes }));
    assert!(outputs.contains(&Output::RemoveRules { id: Some(id), rules }));
}

#[test]
fn a_master_stopping_removes_them() {
    let (mut lab, _) = Harness::new(config(110, &[DEFAULT_ROUTE], &[RULE], ""));
    lab.become_master();
    lab.node.handle_shutdown(lab.now);
    let outputs = lab.drain();
    assert_eq!(moves(&outputs), ["remove rules", "remove routes", "remove addresses"]);
}

#[test]
fn a_deleted_tracked_route_or_rule_is_put_back_only_while_held() {
    let config = config(110, &[DEFAULT_ROUTE, UNTRACKED_ROUTE], &[RULE], "");
    let (routes, rules) = (routes_of(&config), rules_of(&config));
    let (mut lab, _) = Harness::new(config);
    let key = RouteKey::of(&routes[0]);
    let mut observed = rules[0].clone();
    assert!(!lab.node.handle_route_removed(lab.now, &key), "a backup holds none");
    assert!(!lab.node.handle_rule_removed(lab.now, &observed));
    assert_eq!(lab.drain(), vec![]);

    lab.become_master();
    let id = Some(lab.id());
    assert!(lab.node.handle_route_removed(lab.now, &key));
    assert_eq!(lab.drain(), vec![Output::AddRoutes { id, routes: vec![routes[0].clone()] }]);
    assert!(!lab.node.handle_route_removed(lab.now, &RouteKey::of(&routes[1])), "no_track");
    let elsewhere = RouteKey { table: 7, ..key };
    assert!(!lab.node.handle_route_removed(lab.now, &elsewhere), "another table's route");
    observed.priority = Some(100);
    assert!(lab.node.handle_rule_removed(lab.now, &observed));
    assert_eq!(lab.drain(), vec![Output::AddRules { id, rules: rules.clone() }]);

    lab.advertise_from_peer(200);
    assert!(!lab.node.handle_route_removed(lab.now, &key), "no longer held");
}

#[test]
fn a_reload_changes_a_master_s_routes_and_rules_in_place() {
    let (mut lab, _) = Harness::new(config(110, &[DEFAULT_ROUTE, EXTRA_ROUTE], &[], ""));
    lab.become_master();
    let id = Some(lab.id());
    let new = config(110, &[DEFAULT_ROUTE, UNTRACKED_ROUTE], &[RULE], "");
    let (routes, rules) = (routes_of(&new), rules_of(&new));
    let old = routes_of(&config(110, &[EXTRA_ROUTE], &[], ""));
    assert_eq!(routes.len(), 2);
    lab.node.handle_reload(lab.now, new, &HashMap::new()).unwrap();
    let outputs = lab.drain();
    let changed: Vec<&Output> = outputs
        .iter()
        .filter(|o| matches!(o, Output::AddRoutes { .. } | Output::RemoveRoutes { .. }))
        .chain(outputs.iter().filter(|o| matches!(o, Output::AddRules { .. })))
        .collect();
    assert_eq!(
        changed,
        vec![
            &Output::RemoveRoutes { id, routes: old },
            // All of them: the kernel may have dropped one silently (keepalived does the same).
            &Output::AddRoutes { id, routes },
            &Output::AddRules { id, rules },
        ]
    );
    assert_eq!(lab.state(), State::Master);

    // A backup's configuration changes, and nothing is touched.
    lab.advertise_from_peer(200);
    let outputs = {
        lab.node.handle_reload(lab.now, config(110, &[], &[], ""), &HashMap::new()).unwrap();
        lab.drain()
    };
    assert_eq!(moves(&outputs), Vec::<&str>::new());
}

#[test]
fn static_entries_are_held_from_start_to_stop_and_reloaded_as_a_diff() {
    let statics = "static_ipaddress {\n    198.51.100.1/24 dev eth1\n}\n\
                   static_routes {\n    203.0.113.0/24 via 198.51.100.254 dev eth1\n}\n\
                   static_rules {\n    from 198.51.100.1 table 5\n}\n";
    let config_with = config(110, &[DEFAULT_ROUTE], &[], statics);
    let static_route = config_with.static_routes.clone();
    let (mut lab, started) = Harness::new(config_with);
    assert_eq!(moves(&started), ["add static addresses", "add routes", "add rules"]);
    assert!(started.contains(&Output::AddRoutes { id: None, routes: static_route.clone() }));

    // Put back whatever the instances' states.
    let key = RouteKey::of(&static_route[0]);
    assert!(lab.node.handle_route_removed(lab.now, &key));
    assert_eq!(lab.drain(), vec![Output::AddRoutes { id: None, routes: static_route.clone() }]);

    // Unchanged statics are left alone by a reload; dropped ones go.
    let same = config(120, &[DEFAULT_ROUTE], &[], statics);
    lab.node.handle_reload(lab.now, same, &HashMap::new()).unwrap();
    assert_eq!(moves(&lab.drain()), Vec::<&str>::new());
    let fewer =
        config(120, &[DEFAULT_ROUTE], &[], "static_rules {\n    from 198.51.100.1 table 5\n}\n");
    lab.node.handle_reload(lab.now, fewer, &HashMap::new()).unwrap();
    assert_eq!(moves(&lab.drain()), ["remove routes", "remove static addresses"]);

    lab.become_master();
    lab.node.handle_shutdown(lab.now);
    let outputs = lab.drain();
    assert_eq!(
        moves(&outputs),
        ["remove routes", "remove addresses", "remove rules"],
        "the instance's first, then the static ones"
    );
    let rule = vrrp_config::parse_str(
        "static_rules {\n    from 198.51.100.1 table 5\n}\n",
        Path::new("s.conf"),
    )
    .unwrap()
    .config
    .static_rules;
    assert!(!lab.node.handle_rule_removed(lab.now, &rule[0]), "nothing is put back after stop");
    lab.node.handle_shutdown(lab.now);
    assert_eq!(lab.drain(), vec![], "a second stop removes nothing again");
}

#[test]
fn a_deleted_static_address_is_put_back_on_its_dev() {
    let statics = "static_ipaddress {\n    198.51.100.1/24 dev eth1\n    \
                   198.51.100.2/24 dev eth1 no_track\n}\n";
    let config = config(110, &[], &[], statics);
    let first = config.static_addresses[0].clone();
    let (mut lab, _) = Harness::new(config);
    assert!(!lab.node.handle_static_address_removed(lab.now, "eth0", ip("198.51.100.1")));
    assert!(!lab.node.handle_static_address_removed(lab.now, "eth1", ip("198.51.100.2")));
    assert!(lab.node.handle_static_address_removed(lab.now, "eth1", ip("198.51.100.1")));
    assert_eq!(lab.drain(), vec![Output::AddStaticAddresses { addresses: vec![first] }]);
    lab.node.handle_shutdown(lab.now);
    lab.drain();
    assert!(!lab.node.handle_static_address_removed(lab.now, "eth1", ip("198.51.100.1")));
}

#[test]
fn a_tracked_route_s_interface_down_is_a_fault_as_in_keepalived() {
    // keepalived vrrp.c vrrp_complete_instance(): TRACK_ROUTE / TRACK_RULE, weight 0.
    let routed = "198.51.100.0/24 via 192.0.2.253 dev eth1";
    let untracked = "203.0.113.0/24 dev eth2 no_track";
    let rule = "from 192.0.2.100/32 iif eth3 table 100";
    let config = config(110, &[routed, untracked], &[rule], "");
    assert_eq!(
        vrrp_node::reload::interfaces(&config).into_iter().collect::<Vec<_>>(),
        ["eth0", "eth1", "eth3"]
    );
    let (mut lab, _) = Harness::new(config);
    for link in ["eth1", "eth3"] {
        lab.node.handle_link(lab.now, link, true);
    }
    lab.become_master();
    lab.node.handle_link(lab.now, "eth2", false);
    assert_eq!(lab.state(), State::Master, "a no_track route's interface is not tracked");
    lab.node.handle_link(lab.now, "eth1", false);
    assert_eq!(lab.state(), State::Fault);
    let outputs = lab.drain();
    assert_eq!(moves(&outputs), ["remove rules", "remove routes", "remove addresses"]);
    lab.node.handle_link(lab.now, "eth1", true);
    lab.node.handle_link(lab.now, "eth3", false);
    assert_eq!(lab.state(), State::Fault, "a tracked rule's iif too");
}

#[test]
fn an_address_put_back_takes_its_routes_back_too() {
    // The kernel drops the routes that used an address with it, and says nothing.
    let config = config(110, &[DEFAULT_ROUTE, EXTRA_ROUTE], &[RULE], "");
    let routes = routes_of(&config);
    let (mut lab, _) = Harness::new(config);
    lab.become_master();
    let id = lab.id();
    assert!(lab.node.handle_address_removed(lab.now, id, ip("192.0.2.100")));
    assert_eq!(
        lab.drain(),
        vec![
            Output::AddAddresses { id, addresses: vec![ip("192.0.2.100")] },
            Output::AddRoutes { id: Some(id), routes },
        ]
    );
}

#[test]
fn a_track_group_s_static_interface_down_is_a_fault_and_its_return_puts_the_entries_back() {
    // keepalived vrrp_static_track.c static_track_group_init(): every member tracks the
    // interface of each tagged static entry with weight 0; vrrp_if.c interface_up() puts the
    // tracked static addresses and routes on an interface back when it comes up.
    let statics = "track_group TG {\n    group {\n        VI01\n    }\n}\n\
                   static_ipaddress {\n    198.51.100.1/24 dev eth1 track_group TG\n    \
                   198.51.100.9/24 dev eth2 no_track\n}\n\
                   static_routes {\n    203.0.113.0/24 via 198.51.100.254 dev eth1\n    \
                   192.0.2.128/25 via 198.51.100.254 dev eth3 track_group TG\n}\n";
    let config = config(110, &[], &[], statics);
    assert_eq!(config.instances[0].track_group_interfaces, ["eth1", "eth3"]);
    assert_eq!(
        vrrp_node::reload::interfaces(&config).into_iter().collect::<Vec<_>>(),
        ["eth0", "eth1", "eth3"],
        "the no_track address's eth2 is neither tracked nor watched"
    );
    let (address, routes) = (config.static_addresses[0].clone(), config.static_routes.clone());
    let (mut lab, _) = Harness::new(config);
    for link in ["eth1", "eth2", "eth3"] {
        lab.node.handle_link(lab.now, link, true);
    }
    assert_eq!(moves(&lab.drain()), Vec::<&str>::new(), "a first sighting puts nothing back");
    lab.become_master();
    lab.node.handle_link(lab.now, "eth2", false);
    assert_eq!(lab.state(), State::Master);
    lab.node.handle_link(lab.now, "eth3", false);
    assert_eq!(lab.state(), State::Fault, "the tagged route's dev");
    lab.drain();

    // eth1 (an untagged route, a tagged address) comes back: both are put back.
    lab.node.handle_link(lab.now, "eth1", false);
    lab.drain();
    lab.node.handle_link(lab.now, "eth1", true);
    let put_back = |outputs: Vec<Output>| -> Vec<Output> {
        outputs
            .into_iter()
            .filter(|output| !moves(std::slice::from_ref(output)).is_empty())
            .collect()
    };
    assert_eq!(
        put_back(lab.drain()),
        vec![
            Output::AddStaticAddresses { addresses: vec![address] },
            Output::AddRoutes { id: None, routes: vec![routes[0].clone()] },
        ]
    );
    assert_eq!(lab.state(), State::Fault, "eth3 is still down");
    lab.node.handle_link(lab.now, "eth3", true);
    assert_eq!(
        put_back(lab.drain()),
        vec![Output::AddRoutes { id: None, routes: vec![routes[1].clone()] }]
    );
    assert_eq!(lab.state(), State::Backup, "out of FAULT once every tracked interface is up");
    lab.node.handle_link(lab.now, "eth2", true);
    assert_eq!(moves(&lab.drain()), Vec::<&str>::new(), "a no_track entry puts nothing back");
}
