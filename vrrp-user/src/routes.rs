//! rtnetlink for routes and policy rules: installing and removing the configured ones, and
//! recognising the deletions the node puts back.
//!
//! Routes are added as keepalived adds them (vrrp_iproute.c netlink_route()): create, never
//! replace (another agent's route of the same key is left alone and reported), with the
//! configured protocol (keepalived's 18 for every tracked route), scope universe unless
//! configured; removed with scope "nowhere", which matches the route whatever its scope.
//! Rules carry protocol keepalived too, so `ip rule` and a deletion show whose they are.

use std::net::IpAddr;

use anyhow::{anyhow, Context, Result};
use futures_util::StreamExt;
use netlink_packet_core::NetlinkPayload;
use netlink_packet_route::RouteNetlinkMessage;
use netlink_packet_route::{
    route::{
        RouteAddress, RouteAttribute, RouteFlags, RouteMessage, RouteProtocol, RouteScope,
        RouteType,
    },
    rule::{RuleAction as KernelAction, RuleAttribute, RuleFlags, RuleMessage},
    AddressFamily,
};
use netlink_sys::{AsyncSocket, SocketAddr};
use rtnetlink::{
    constants::{RTMGRP_IPV4_ROUTE, RTMGRP_IPV4_RULE, RTMGRP_IPV6_ROUTE},
    RouteMessageBuilder,
};
use tokio::sync::mpsc::UnboundedSender;
use vrrp_config::{
    Family, Route, RouteKind, Rule, RuleAction, Scope, PROTOCOL_KEEPALIVED, TABLE_MAIN,
};
use vrrp_node::{InstanceId, RouteKey};

use crate::daemon::Daemon;
use crate::netlink::{NetEvent, Netlink, VirtualAddress};

/// `RTNLGRP_IPV6_RULE` (19) as a bind group mask; rtnetlink's constants stop at IPv4's.
const RTMGRP_IPV6_RULE: u32 = 1 << (19 - 1);

/// Watches route and rule changes on a netlink socket of its own, sending the deletions of
/// keepalived's protocol to `events`. Its own socket: a router's route churn (a routing daemon
/// loading a table) may overflow a socket's buffer, and must not cost a link event.
pub(crate) fn watch(events: UnboundedSender<NetEvent>) -> Result<()> {
    let (mut connection, _handle, mut messages) =
        rtnetlink::new_connection().context("opening a netlink socket for route changes")?;
    let groups = RTMGRP_IPV4_ROUTE | RTMGRP_IPV6_ROUTE | RTMGRP_IPV4_RULE | RTMGRP_IPV6_RULE;
    connection
        .socket_mut()
        .socket_mut()
        .bind(&SocketAddr::new(0, groups))
        .context("subscribing to route and rule changes")?;
    tokio::spawn(connection);
    tokio::spawn(async move {
        while let Some((message, _)) = messages.next().await {
            let NetlinkPayload::InnerMessage(message) = message.payload else { continue };
            let event = match message {
                RouteNetlinkMessage::DelRoute(route) => {
                    removed_route(&route).map(NetEvent::RouteRemoved)
                }
                RouteNetlinkMessage::DelRule(rule) => {
                    removed_rule(&rule).map(NetEvent::RuleRemoved)
                }
                _ => None,
            };
            if let Some(event) = event {
                if events.send(event).is_err() {
                    break;
                }
            }
        }
    });
    Ok(())
}

/// An error the kernel returned, by errno.
fn is_errno(error: &rtnetlink::Error, errno: i32) -> bool {
    matches!(error, rtnetlink::Error::NetlinkError(message) if message.raw_code() == -errno)
}

fn kernel_scope(scope: Scope) -> RouteScope {
    match scope {
        Scope::Global => RouteScope::Universe,
        Scope::Site => RouteScope::Site,
        Scope::Link => RouteScope::Link,
        Scope::Host => RouteScope::Host,
        Scope::Nowhere => RouteScope::NoWhere,
    }
}

fn kernel_type(kind: RouteKind) -> RouteType {
    match kind {
        RouteKind::Unicast => RouteType::Unicast,
        RouteKind::Blackhole => RouteType::BlackHole,
        RouteKind::Unreachable => RouteType::Unreachable,
        RouteKind::Prohibit => RouteType::Prohibit,
    }
}

impl Netlink {
    /// The route as the kernel takes it, its `dev` resolved now (an interface may have come
    /// back with a new index).
    async fn route_message(&self, route: &Route) -> Result<RouteMessage> {
        let ifindex = match &route.device {
            Some(device) => Some(self.interface(device).await?.ifindex),
            None => None,
        };
        route_message(route, ifindex)
    }

    /// The name of interface `ifindex`, if it still exists.
    async fn interface_name(&self, ifindex: u32) -> Result<Option<String>> {
        use futures_util::TryStreamExt;
        use netlink_packet_route::link::LinkAttribute;
        let mut links = self.handle.link().get().match_index(ifindex).execute();
        match links.try_next().await {
            Ok(Some(link)) => {
                Ok(link.attributes.into_iter().find_map(|attribute| match attribute {
                    LinkAttribute::IfName(name) => Some(name),
                    _ => None,
                }))
            }
            Ok(None) => Ok(None),
            Err(error) if is_errno(&error, libc::ENODEV) => Ok(None),
            Err(error) => Err(anyhow!(error)).context(format!("looking up interface {ifindex}")),
        }
    }

    /// Adds a route; the same route already there is not an error (ours to hold). Returns
    /// whether it was added.
    pub async fn add_route(&self, route: &Route) -> Result<bool> {
        let message = self.route_message(route).await.with_context(|| format!("route {route}"))?;
        match self.handle.route().add(message).execute().await {
            Ok(()) => Ok(true),
            Err(error) if is_errno(&error, libc::EEXIST) => Ok(false),
            Err(error) => Err(anyhow!(error)).context(format!("adding route {route}")),
        }
    }

    /// Removes a route; one already gone is not an error. Returns whether one was there.
    /// Without its interface it is gone: the kernel removes a device's routes with it.
    pub async fn remove_route(&self, route: &Route) -> Result<bool> {
        let Ok(mut message) = self.route_message(route).await else {
            log::debug!("route {route}: its interface is gone, and the route with it");
            return Ok(false);
        };
        message.header.scope = RouteScope::NoWhere;
        match self.handle.route().del(message).execute().await {
            Ok(()) => Ok(true),
            Err(error) if is_errno(&error, libc::ESRCH) || is_errno(&error, libc::ENOENT) => {
                Ok(false)
            }
            Err(error) => Err(anyhow!(error)).context(format!("removing route {route}")),
        }
    }

    /// Adds a policy rule; the same rule already there is not an error. Returns whether it
    /// was added.
    pub async fn add_rule(&self, rule: &Rule) -> Result<bool> {
        let mut request = self.handle.rule().add();
        *request.message_mut() = rule_message(rule);
        match request.execute().await {
            Ok(()) => Ok(true),
            Err(error) if is_errno(&error, libc::EEXIST) => Ok(false),
            Err(error) => Err(anyhow!(error)).context(format!("adding rule {rule}")),
        }
    }

    /// Removes a policy rule; one already gone is not an error. Returns whether one was there.
    pub async fn remove_rule(&self, rule: &Rule) -> Result<bool> {
        match self.handle.rule().del(rule_message(rule)).execute().await {
            Ok(()) => Ok(true),
            Err(error) if is_errno(&error, libc::ENOENT) || is_errno(&error, libc::ESRCH) => {
                Ok(false)
            }
            Err(error) => Err(anyhow!(error)).context(format!("removing rule {rule}")),
        }
    }
}

/// A route or rule output of the node, with whose it is for the log.
pub(crate) enum Routing {
    AddRoutes { owner: String, routes: Vec<Route> },
    RemoveRoutes { owner: String, routes: Vec<Route> },
    AddRules { owner: String, rules: Vec<Rule> },
    RemoveRules { owner: String, rules: Vec<Rule> },
}

impl Daemon {
    /// Who holds a route or rule, for the log: an instance, or the static configuration.
    pub(crate) fn owner(&self, id: Option<InstanceId>) -> String {
        // The I/O outlives the node's member: a stopping instance's removals come after it.
        let name = |id| self.io.get(&id).map_or_else(|| self.name(id), |io| io.name());
        id.map_or_else(|| "static".to_owned(), |id| name(id).to_owned())
    }

    /// One route or rule output, entry by entry; a failure is logged and the rest still done.
    pub(crate) async fn carry_out_routing(&self, routing: Routing) {
        let netlink = &self.netlink;
        match routing {
            Routing::AddRoutes { owner, routes } => {
                for route in &routes {
                    match netlink.add_route(route).await {
                        Ok(true) => log::info!("{owner}: added route {route}"),
                        Ok(false) => log::debug!("{owner}: route {route} was there already"),
                        Err(error) => log::error!("{owner}: {error:#}"),
                    }
                }
            }
            Routing::RemoveRoutes { owner, routes } => {
                for route in &routes {
                    match netlink.remove_route(route).await {
                        Ok(true) => log::info!("{owner}: removed route {route}"),
                        Ok(false) => log::debug!("{owner}: route {route} was already gone"),
                        Err(error) => log::error!("{owner}: {error:#}"),
                    }
                }
            }
            Routing::AddRules { owner, rules } => {
                for rule in &rules {
                    match netlink.add_rule(rule).await {
                        Ok(true) => log::info!("{owner}: added rule {rule}"),
                        Ok(false) => log::debug!("{owner}: rule {rule} was there already"),
                        Err(error) => log::error!("{owner}: {error:#}"),
                    }
                }
            }
            Routing::RemoveRules { owner, rules } => {
                for rule in &rules {
                    match netlink.remove_rule(rule).await {
                        Ok(true) => log::info!("{owner}: removed rule {rule}"),
                        Ok(false) => log::debug!("{owner}: rule {rule} was already gone"),
                        Err(error) => log::error!("{owner}: {error:#}"),
                    }
                }
            }
        }
    }

    /// A crashed run may have left an instance's routes and rules behind: a backup must not
    /// hold them (as its addresses, `effects.rs` take_into_service()).
    pub(crate) async fn remove_stale_routing(&self, spec: &vrrp_config::Instance) {
        let removed = remove_all(&self.netlink, &spec.virtual_routes, &spec.virtual_rules).await;
        for entry in removed {
            log::warn!(
                "{}: {entry} was installed (left by an earlier run?); removed until this router \
                 is master",
                spec.name
            );
        }
    }

    /// An address was removed from `ifindex`: a static one is put back on its `dev`.
    pub(crate) async fn static_address_removed(
        &mut self,
        now: std::time::Instant,
        ifindex: u32,
        address: IpAddr,
    ) {
        let configured = self.node.config().is_some_and(|config| {
            config.static_addresses.iter().any(|entry| entry.address == address)
        });
        if !configured {
            return;
        }
        let device = match self.netlink.interface_name(ifindex).await {
            Ok(Some(device)) => device,
            Ok(None) => return,
            Err(error) => {
                log::warn!("static: {error:#}");
                return;
            }
        };
        if self.node.handle_static_address_removed(now, &device, address) {
            log::warn!(
                "static: {address} was removed from {device} by another agent; putting it back"
            );
        }
    }

    /// `static_ipaddress` entries added or removed.
    pub(crate) async fn static_addresses(
        &self,
        addresses: &[vrrp_config::VirtualAddress],
        add: bool,
    ) {
        for address in addresses {
            let result = match static_address(&self.netlink, address).await {
                Ok(installed) if add => self.netlink.add(&installed).await,
                Ok(installed) => self.netlink.remove(&installed).await,
                Err(error) => Err(error),
            };
            let done = if add { "added" } else { "removed" };
            match result {
                Ok(()) => log::info!("static: {done} {}/{}", address.address, address.prefix_len),
                Err(error) => log::error!("static: {error:#}"),
            }
        }
    }
}

/// Removes routes and rules (rules first), saying which were there; a failure is logged.
pub(crate) async fn remove_all(netlink: &Netlink, routes: &[Route], rules: &[Rule]) -> Vec<String> {
    let mut removed = Vec::new();
    for rule in rules {
        match netlink.remove_rule(rule).await {
            Ok(true) => removed.push(format!("rule {rule}")),
            Ok(false) => {}
            Err(error) => log::warn!("{error:#}"),
        }
    }
    for route in routes {
        match netlink.remove_route(route).await {
            Ok(true) => removed.push(format!("route {route}")),
            Ok(false) => {}
            Err(error) => log::warn!("{error:#}"),
        }
    }
    removed
}

/// A `static_ipaddress` entry as installed, on its `dev`.
pub(crate) async fn static_address(
    netlink: &Netlink,
    address: &vrrp_config::VirtualAddress,
) -> Result<VirtualAddress> {
    let device = address.device.as_deref().context("a static address names its dev")?;
    let ifindex = netlink
        .interface(device)
        .await
        .with_context(|| format!("dev {device} of static address {}", address.address))?
        .ifindex;
    Ok(VirtualAddress {
        address: address.address,
        prefix_len: address.prefix_len,
        ifindex,
        label: address.label.clone(),
        scope: crate::instance::scope(address.scope),
    })
}

/// The route as the kernel takes it, its `dev` as `ifindex`.
fn route_message(route: &Route, ifindex: Option<u32>) -> Result<RouteMessage> {
    let mut builder = RouteMessageBuilder::<IpAddr>::new()
        .destination_prefix(route.destination, route.prefix_len)?
        .table_id(route.table)
        .protocol(RouteProtocol::from(route.protocol))
        .scope(route.scope.map_or(RouteScope::Universe, kernel_scope))
        .kind(kernel_type(route.kind));
    if let Some(gateway) = route.gateway {
        builder = builder.gateway(gateway)?;
    }
    if let Some(source) = route.source {
        builder = builder.pref_source(source)?;
    }
    if let Some(ifindex) = ifindex {
        builder = builder.output_interface(ifindex);
    }
    if let Some(metric) = route.metric {
        builder = builder.priority(metric);
    }
    if route.onlink {
        builder = builder.onlink();
    }
    Ok(builder.build())
}

fn address_family(family: Family) -> AddressFamily {
    match family {
        Family::Ipv4 => AddressFamily::Inet,
        Family::Ipv6 => AddressFamily::Inet6,
    }
}

/// The rule as the kernel takes it (keepalived vrrp_iprule.c netlink_rule()).
fn rule_message(rule: &Rule) -> RuleMessage {
    let mut message = RuleMessage::default();
    message.header.family = address_family(rule.family);
    if rule.invert {
        message.header.flags |= RuleFlags::Invert;
    }
    let attributes = &mut message.attributes;
    attributes.push(RuleAttribute::Protocol(RouteProtocol::from(PROTOCOL_KEEPALIVED)));
    if let Some((address, len)) = rule.from {
        message.header.src_len = len;
        attributes.push(RuleAttribute::Source(address));
    }
    if let Some((address, len)) = rule.to {
        message.header.dst_len = len;
        attributes.push(RuleAttribute::Destination(address));
    }
    if let Some(name) = &rule.input_interface {
        attributes.push(RuleAttribute::Iifname(name.clone()));
    }
    if let Some(name) = &rule.output_interface {
        attributes.push(RuleAttribute::Oifname(name.clone()));
    }
    if let Some((mark, mask)) = rule.fwmark {
        attributes.push(RuleAttribute::FwMark(mark));
        if let Some(mask) = mask {
            attributes.push(RuleAttribute::FwMask(mask));
        }
    }
    if let Some(priority) = rule.priority {
        attributes.push(RuleAttribute::Priority(priority));
    }
    message.header.action = match rule.action {
        RuleAction::Table(table) => {
            // The header holds tables up to 255; FRA_TABLE any.
            match u8::try_from(table) {
                Ok(small) => message.header.table = small,
                Err(_) => attributes.push(RuleAttribute::Table(table)),
            }
            KernelAction::ToTable
        }
        RuleAction::Blackhole => KernelAction::Blackhole,
        RuleAction::Unreachable => KernelAction::Unreachable,
        RuleAction::Prohibit => KernelAction::Prohibit,
    };
    message
}

/// A deleted route that may be one of ours: keepalived's protocol, as
/// vrrp_netlink.c netlink_route_filter() tells them.
pub(crate) fn removed_route(message: &RouteMessage) -> Option<RouteKey> {
    if u8::from(message.header.protocol) != PROTOCOL_KEEPALIVED
        || message.header.flags.contains(RouteFlags::Cloned)
    {
        return None;
    }
    let table = message
        .attributes
        .iter()
        .find_map(|attribute| match attribute {
            RouteAttribute::Table(table) => Some(*table),
            _ => None,
        })
        .unwrap_or(u32::from(message.header.table));
    let destination = message.attributes.iter().find_map(|attribute| match attribute {
        RouteAttribute::Destination(RouteAddress::Inet(address)) => Some(IpAddr::V4(*address)),
        RouteAttribute::Destination(RouteAddress::Inet6(address)) => Some(IpAddr::V6(*address)),
        _ => None,
    });
    let destination = match (destination, message.header.address_family) {
        (Some(destination), _) => destination,
        // A default route carries no destination.
        (None, AddressFamily::Inet) => IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED),
        (None, AddressFamily::Inet6) => IpAddr::V6(std::net::Ipv6Addr::UNSPECIFIED),
        (None, _) => return None,
    };
    let metric = message
        .attributes
        .iter()
        .find_map(|attribute| match attribute {
            RouteAttribute::Priority(metric) => Some(*metric),
            _ => None,
        })
        .unwrap_or(0);
    Some(RouteKey {
        table: if table == 0 { TABLE_MAIN } else { table },
        destination,
        prefix_len: message.header.destination_prefix_length,
        metric,
    })
}

/// A deleted rule that may be one of ours (protocol keepalived), read back into the
/// configuration's terms for the node to compare.
pub(crate) fn removed_rule(message: &RuleMessage) -> Option<Rule> {
    let mut ours = false;
    let family = match message.header.family {
        AddressFamily::Inet => Family::Ipv4,
        AddressFamily::Inet6 => Family::Ipv6,
        _ => return None,
    };
    let mut rule = Rule {
        family,
        from: None,
        to: None,
        input_interface: None,
        output_interface: None,
        fwmark: None,
        priority: None,
        action: RuleAction::Table(u32::from(message.header.table)),
        invert: message.header.flags.contains(RuleFlags::Invert),
        no_track: false,
    };
    let mut mask = None;
    for attribute in &message.attributes {
        match attribute {
            RuleAttribute::Protocol(protocol) => ours = u8::from(*protocol) == PROTOCOL_KEEPALIVED,
            RuleAttribute::Source(address) => rule.from = Some((*address, message.header.src_len)),
            RuleAttribute::Destination(address) => {
                rule.to = Some((*address, message.header.dst_len))
            }
            RuleAttribute::Iifname(name) => rule.input_interface = Some(name.clone()),
            RuleAttribute::Oifname(name) => rule.output_interface = Some(name.clone()),
            RuleAttribute::FwMark(mark) => rule.fwmark = Some((*mark, None)),
            RuleAttribute::FwMask(value) => mask = Some(*value),
            RuleAttribute::Priority(priority) => rule.priority = Some(*priority),
            RuleAttribute::Table(table) => rule.action = RuleAction::Table(*table),
            _ => {}
        }
    }
    if let Some((_, slot)) = &mut rule.fwmark {
        *slot = mask;
    }
    rule.action = match message.header.action {
        KernelAction::ToTable => rule.action,
        KernelAction::Blackhole => RuleAction::Blackhole,
        KernelAction::Unreachable => RuleAction::Unreachable,
        KernelAction::Prohibit => RuleAction::Prohibit,
        _ => return None,
    };
    ours.then_some(rule)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule() -> Rule {
        Rule {
            family: Family::Ipv4,
            from: Some(("192.0.2.10".parse().unwrap(), 32)),
            to: Some(("198.51.100.0".parse().unwrap(), 24)),
            input_interface: Some("eth1".into()),
            output_interface: None,
            fwmark: Some((0x10, Some(0xff))),
            priority: Some(100),
            action: RuleAction::Table(1000),
            invert: true,
            no_track: false,
        }
    }

    #[test]
    fn a_rule_reads_back_as_written() {
        let written = rule();
        let read = removed_rule(&rule_message(&written)).expect("protocol keepalived");
        assert_eq!(read, written);
        let small_table = Rule { action: RuleAction::Table(7), invert: false, ..rule() };
        assert_eq!(removed_rule(&rule_message(&small_table)), Some(small_table));
    }

    #[test]
    fn another_protocol_s_rule_is_not_ours() {
        let mut message = rule_message(&rule());
        message.attributes.retain(|a| !matches!(a, RuleAttribute::Protocol(_)));
        message.attributes.push(RuleAttribute::Protocol(RouteProtocol::Boot));
        assert_eq!(removed_rule(&message), None);
    }

    #[test]
    fn a_route_as_sent_keys_back_to_itself() {
        let route = Route {
            destination: "2001:db8:1::".parse().unwrap(),
            prefix_len: 64,
            kind: RouteKind::Unicast,
            source: None,
            gateway: Some("fe80::1".parse().unwrap()),
            device: Some("eth0".into()),
            scope: None,
            table: 1000,
            metric: Some(10),
            protocol: PROTOCOL_KEEPALIVED,
            onlink: false,
            no_track: false,
        };
        let message = route_message(&route, Some(7)).unwrap();
        assert!(message.attributes.contains(&RouteAttribute::Oif(7)));
        assert!(message.attributes.contains(&RouteAttribute::Priority(10)));
        assert_eq!(removed_route(&message), Some(RouteKey::of(&route)));
        let blackhole = Route { kind: RouteKind::Blackhole, gateway: None, device: None, ..route };
        assert_eq!(route_message(&blackhole, None).unwrap().header.kind, RouteType::BlackHole);
    }

    #[test]
    fn a_deleted_default_route_is_keyed_by_its_table() {
        let builder = RouteMessageBuilder::<IpAddr>::new()
            .destination_prefix("0.0.0.0".parse().unwrap(), 0)
            .unwrap()
            .table_id(1000)
            .protocol(RouteProtocol::from(PROTOCOL_KEEPALIVED));
        let mut message = builder.build();
        message.attributes.retain(|a| !matches!(a, RouteAttribute::Destination(_)));
        let key = removed_route(&message).expect("ours");
        assert_eq!(
            key,
            RouteKey {
                table: 1000,
                destination: "0.0.0.0".parse().unwrap(),
                prefix_len: 0,
                metric: 0,
            }
        );
        message.header.protocol = RouteProtocol::Static;
        assert_eq!(removed_route(&message), None);
    }
}
