//! Routes and rules: an instance's `virtual_routes` / `virtual_rules` move with its addresses,
//! the configuration's `static_*` are held from start to stop.
//!
//! keepalived's order (vrrp.c vrrp_state_become_master(), vrrp_restore_interface()): becoming
//! MASTER adds the addresses, then the routes, then the rules; leaving removes the rules, then
//! the routes, then the addresses. Static entries follow the same order at start and stop
//! (vrrp_daemon.c start_vrrp(), vrrp_terminate_phase2()).
//!
//! A tracked route or rule (one without `no_track`) that another agent deletes is put back
//! while it is held, as the node puts back a deleted address. keepalived (vrrp_netlink.c
//! netlink_route_filter(), netlink_rule_filter()) reinstates a static one the same way, but
//! for an instance's one it makes the master resign and take over again at once, which puts
//! the same routes back after a priority-0 round trip; vrrpd puts back only what was deleted,
//! with no transition. `no_track` leaves a deletion alone in both.

use std::net::IpAddr;

use vrrp_config::{Config, Instance, Route, Rule, VirtualAddress};

use crate::output::{InstanceId, Output};

/// The interfaces an instance's tracked routes (`dev`) and rules (`iif`, `oif`) name, each
/// once, in configuration order. keepalived vrrp.c vrrp_complete_instance() tracks them as
/// interfaces of weight 0 (TRACK_ROUTE, TRACK_RULE): one down is a fault.
pub fn tracked_interfaces(instance: &Instance) -> Vec<&str> {
    let routes = instance.virtual_routes.iter().filter(|route| !route.no_track);
    let rules = instance.virtual_rules.iter().filter(|rule| !rule.no_track);
    let names = routes.filter_map(|route| route.device.as_deref()).chain(
        rules
            .flat_map(|rule| [rule.input_interface.as_deref(), rule.output_interface.as_deref()])
            .flatten(),
    );
    let mut unique: Vec<&str> = Vec::new();
    for name in names {
        if !unique.contains(&name) {
            unique.push(name);
        }
    }
    unique
}

/// The interfaces of the tracked (not `no_track`) static addresses (`dev`) and routes
/// (`dev`): where an interface comes back up, they are put back.
pub fn static_interfaces(config: &Config) -> Vec<&str> {
    let addresses = config.static_addresses.iter().filter(|address| !address.no_track);
    let routes = config.static_routes.iter().filter(|route| !route.no_track);
    let names = addresses
        .filter_map(|address| address.device.as_deref())
        .chain(routes.filter_map(|route| route.device.as_deref()));
    let mut unique: Vec<&str> = Vec::new();
    for name in names {
        if !unique.contains(&name) {
            unique.push(name);
        }
    }
    unique
}

/// keepalived vrrp_if.c interface_up(), vrrp_static_track.c
/// static_track_group_reinstate_config(): interface `name` came up, so the tracked static
/// addresses on it and static routes through it go back (the kernel dropped the routes when
/// it went down, without a word; adding what is still there changes nothing). Rules stay in
/// the kernel across a link's down and up, so none is added.
pub(crate) fn reinstate_on(config: &Config, name: &str) -> Vec<Output> {
    let on = |device: &Option<String>| device.as_deref() == Some(name);
    let addresses: Vec<VirtualAddress> = config
        .static_addresses
        .iter()
        .filter(|address| !address.no_track && on(&address.device))
        .cloned()
        .collect();
    let routes: Vec<Route> = config
        .static_routes
        .iter()
        .filter(|route| !route.no_track && on(&route.device))
        .cloned()
        .collect();
    let mut outputs = Vec::new();
    if !addresses.is_empty() {
        outputs.push(Output::AddStaticAddresses { addresses });
    }
    outputs.extend(install(None, &routes, &[]));
    outputs
}

/// What of `before` is gone from `after`, and what of `after` is new.
fn diff<T: PartialEq + Clone>(before: &[T], after: &[T]) -> (Vec<T>, Vec<T>) {
    let gone = before.iter().filter(|item| !after.contains(item)).cloned().collect();
    let new = after.iter().filter(|item| !before.contains(item)).cloned().collect();
    (gone, new)
}

/// The outputs that install routes and rules, in keepalived's order (routes, then rules).
pub(crate) fn install(id: Option<InstanceId>, routes: &[Route], rules: &[Rule]) -> Vec<Output> {
    let mut outputs = Vec::new();
    if !routes.is_empty() {
        outputs.push(Output::AddRoutes { id, routes: routes.to_vec() });
    }
    if !rules.is_empty() {
        outputs.push(Output::AddRules { id, rules: rules.to_vec() });
    }
    outputs
}

/// The outputs that remove routes and rules, in keepalived's order (rules, then routes).
pub(crate) fn uninstall(id: Option<InstanceId>, routes: &[Route], rules: &[Rule]) -> Vec<Output> {
    let mut outputs = Vec::new();
    if !rules.is_empty() {
        outputs.push(Output::RemoveRules { id, rules: rules.to_vec() });
    }
    if !routes.is_empty() {
        outputs.push(Output::RemoveRoutes { id, routes: routes.to_vec() });
    }
    outputs
}

/// A reload of a master holding its routes: what went is removed (before the addresses that
/// went), what came is added (after the addresses that came). Every route is added again, as
/// keepalived vrrp.c restore_vrrp_state() does: the kernel drops a route whose source address
/// went away without telling anyone, and adding one still there changes nothing.
pub(crate) struct Reconfigured {
    pub removals: Vec<Output>,
    pub additions: Vec<Output>,
}

pub(crate) fn reconfigure(
    id: InstanceId,
    (routes_before, rules_before): (&[Route], &[Rule]),
    (routes_after, rules_after): (&[Route], &[Rule]),
) -> Reconfigured {
    let (routes_gone, _) = diff(routes_before, routes_after);
    let (rules_gone, rules_new) = diff(rules_before, rules_after);
    Reconfigured {
        removals: uninstall(Some(id), &routes_gone, &rules_gone),
        additions: install(Some(id), routes_after, &rules_new),
    }
}

/// The static entries of a configuration.
#[derive(Default)]
struct Statics<'a> {
    addresses: &'a [VirtualAddress],
    routes: &'a [Route],
    rules: &'a [Rule],
}

fn statics(config: Option<&Config>) -> Statics<'_> {
    config.map_or_else(Statics::default, |config| Statics {
        addresses: &config.static_addresses,
        routes: &config.static_routes,
        rules: &config.static_rules,
    })
}

/// From the static entries of `before` (none at start, none after stop) to those of `after`:
/// what is gone goes first (rules, routes, addresses), then what is new comes (addresses,
/// routes, rules).
pub(crate) fn static_changes(before: Option<&Config>, after: Option<&Config>) -> Vec<Output> {
    let (before, after) = (statics(before), statics(after));
    let (addresses_gone, addresses_new) = diff(before.addresses, after.addresses);
    let (routes_gone, routes_new) = diff(before.routes, after.routes);
    let (rules_gone, rules_new) = diff(before.rules, after.rules);
    let mut outputs = uninstall(None, &routes_gone, &rules_gone);
    if !addresses_gone.is_empty() {
        outputs.push(Output::RemoveStaticAddresses { addresses: addresses_gone });
    }
    if !addresses_new.is_empty() {
        outputs.push(Output::AddStaticAddresses { addresses: addresses_new });
    }
    outputs.extend(install(None, &routes_new, &rules_new));
    outputs
}

/// How the kernel names a route: its table, destination and metric (keepalived
/// vrrp_netlink.c route_is_ours() compares these first).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RouteKey {
    pub table: u32,
    pub destination: IpAddr,
    pub prefix_len: u8,
    /// As the kernel reports it: IPv6 makes no metric (or 0) 1024.
    pub metric: u32,
}

impl RouteKey {
    pub fn of(route: &Route) -> Self {
        let metric = match (route.destination, route.metric) {
            (IpAddr::V6(_), None | Some(0)) => 1024,
            (_, metric) => metric.unwrap_or(0),
        };
        RouteKey {
            table: route.table,
            destination: route.destination,
            prefix_len: route.prefix_len,
            metric,
        }
    }
}

/// The tracked route among `routes` that a deletion of `key` removed.
pub(crate) fn tracked_route<'a>(routes: &'a [Route], key: &RouteKey) -> Option<&'a Route> {
    routes.iter().find(|route| !route.no_track && RouteKey::of(route) == *key)
}

/// Whether `observed` (a rule as the kernel reported it) is `configured`: every selector and
/// the action as written; the priority only if one was written (the kernel picks one
/// otherwise).
pub fn same_rule(configured: &Rule, observed: &Rule) -> bool {
    let priority = configured.priority.is_none() || configured.priority == observed.priority;
    priority
        && configured.family == observed.family
        && configured.from == observed.from
        && configured.to == observed.to
        && configured.input_interface == observed.input_interface
        && configured.output_interface == observed.output_interface
        && configured.fwmark.map(|(mark, mask)| (mark, mask.unwrap_or(u32::MAX)))
            == observed.fwmark.map(|(mark, mask)| (mark, mask.unwrap_or(u32::MAX)))
        && configured.action == observed.action
        && configured.invert == observed.invert
}

/// The tracked rule among `rules` that `observed`'s deletion removed.
pub(crate) fn tracked_rule<'a>(rules: &'a [Rule], observed: &Rule) -> Option<&'a Rule> {
    rules.iter().find(|rule| !rule.no_track && same_rule(rule, observed))
}

#[cfg(test)]
mod tests {
    use super::*;
    use vrrp_config::{Family, RouteKind, RuleAction, PROTOCOL_KEEPALIVED, TABLE_MAIN};

    fn route(destination: &str, table: u32) -> Route {
        Route {
            destination: destination.parse().unwrap(),
            prefix_len: 24,
            kind: RouteKind::Unicast,
            source: None,
            gateway: None,
            device: Some("eth0".into()),
            scope: None,
            table,
            metric: None,
            protocol: PROTOCOL_KEEPALIVED,
            onlink: false,
            no_track: false,
        }
    }

    fn rule(priority: Option<u32>, table: u32) -> Rule {
        Rule {
            family: Family::Ipv4,
            from: Some(("192.0.2.0".parse().unwrap(), 24)),
            to: None,
            input_interface: None,
            output_interface: None,
            fwmark: None,
            priority,
            action: RuleAction::Table(table),
            invert: false,
            no_track: false,
        }
    }

    #[test]
    fn a_reload_removes_what_went_and_adds_every_route_again() {
        let id = InstanceId(0);
        let (a, b, c) = (route("198.51.100.0", 1), route("203.0.113.0", 1), route("192.0.2.0", 1));
        let (r1, r2) = (rule(Some(10), 1), rule(Some(20), 2));
        let before = [r1.clone()];
        let changes = reconfigure(
            id,
            (&[a.clone(), b.clone()], &before),
            (&[b.clone(), c.clone()], &[r1, r2.clone()]),
        );
        assert_eq!(changes.removals, vec![Output::RemoveRoutes { id: Some(id), routes: vec![a] }]);
        assert_eq!(
            changes.additions,
            vec![
                Output::AddRoutes { id: Some(id), routes: vec![b, c] },
                Output::AddRules { id: Some(id), rules: vec![r2] },
            ]
        );
    }

    #[test]
    fn removal_goes_rules_first_and_installation_routes_first() {
        let (routes, rules) = (vec![route("198.51.100.0", 1)], vec![rule(None, 1)]);
        let kinds = |outputs: Vec<Output>| -> Vec<&'static str> {
            outputs
                .iter()
                .map(|output| match output {
                    Output::AddRoutes { .. } => "add routes",
                    Output::AddRules { .. } => "add rules",
                    Output::RemoveRoutes { .. } => "remove routes",
                    Output::RemoveRules { .. } => "remove rules",
                    _ => "other",
                })
                .collect()
        };
        assert_eq!(kinds(install(None, &routes, &rules)), ["add routes", "add rules"]);
        assert_eq!(kinds(uninstall(None, &routes, &rules)), ["remove rules", "remove routes"]);
        assert!(install(None, &[], &[]).is_empty());
    }

    #[test]
    fn a_deletion_is_matched_by_table_and_destination_and_no_track_is_left_alone() {
        let tracked = route("198.51.100.0", 100);
        let untracked = Route { no_track: true, ..route("203.0.113.0", TABLE_MAIN) };
        let routes = [tracked.clone(), untracked.clone()];
        assert_eq!(tracked_route(&routes, &RouteKey::of(&tracked)), Some(&tracked));
        assert_eq!(tracked_route(&routes, &RouteKey::of(&untracked)), None);
        let other_table = RouteKey { table: TABLE_MAIN, ..RouteKey::of(&tracked) };
        assert_eq!(tracked_route(&routes, &other_table), None);
        let other_metric = RouteKey { metric: 5, ..RouteKey::of(&tracked) };
        assert_eq!(tracked_route(&routes, &other_metric), None);
        let v6 = Route { destination: "2001:db8::".parse().unwrap(), ..route("0.0.0.0", 1) };
        assert_eq!(RouteKey::of(&v6).metric, 1024, "the kernel's IPv6 default");
        assert_eq!(RouteKey::of(&Route { metric: Some(7), ..v6 }).metric, 7);
    }

    #[test]
    fn a_rule_without_a_priority_matches_whatever_the_kernel_chose() {
        let unset = rule(None, 5);
        assert!(same_rule(&unset, &rule(Some(32765), 5)));
        assert!(!same_rule(&unset, &rule(Some(32765), 6)));
        let set = rule(Some(100), 5);
        assert!(same_rule(&set, &rule(Some(100), 5)));
        assert!(!same_rule(&set, &rule(Some(101), 5)));
        let marked = Rule { fwmark: Some((1, None)), ..rule(None, 5) };
        let reported = Rule { fwmark: Some((1, Some(u32::MAX))), ..rule(Some(7), 5) };
        assert!(same_rule(&marked, &reported));
        let no_track = Rule { no_track: true, ..unset };
        assert_eq!(tracked_rule(&[no_track], &rule(Some(1), 5)), None);
    }
}
