//! The loop's inputs turned into the node's: arrivals, the kernel's records, netlink events.

use std::time::Instant;

use vrrp_common::event_cause;
use vrrp_node::InstanceId;
use vrrp_proto::OldChecksumVerdict;

use crate::{arrivals::Arrival, daemon::Daemon, netlink::NetEvent};

impl Daemon {
    pub(crate) fn handle_timers(&mut self) {
        let now = Instant::now();
        for id in self.node.master_down_due(now) {
            self.deliver_record(id, true);
        }
        self.node.handle_timeout(now);
    }

    /// The kernel may have absorbed advertisements since the last event: give the newest to
    /// the node before the instance's master-down timer is judged (`only_newer`: unless it
    /// is stamped no later than the last one delivered), or after lost events (`ring_resync`).
    pub(crate) fn deliver_record(&mut self, id: InstanceId, only_newer: bool) {
        let (Some(xdp), Some(instance)) = (&self.xdp, self.io.get(&id)) else {
            return;
        };
        let record = match xdp.record(&instance.key) {
            Ok(Some(record)) => record,
            Ok(None) => return,
            Err(error) => {
                log::warn!("{}: {error:#}", instance.name());
                return;
            }
        };
        let tick = record.last_seen_jiffies;
        if only_newer && instance.last_delivered_tick.is_some_and(|delivered| tick <= delivered) {
            return;
        }
        let seen_at = match xdp.clock().instant_of(tick) {
            Ok(seen_at) => seen_at,
            Err(error) => {
                log::warn!("{}: reading the kernel clock: {error:#}", instance.name());
                return;
            }
        };
        let arrival = Arrival {
            key: instance.key,
            source: vrrp_common::address_of(instance.key.family, record.sender),
            received_at: seen_at,
            kernel_tick: Some(tick),
            priority: record.priority,
            interval: vrrp_proto::Centiseconds::new(record.interval_cs),
            addresses: None,
            causes: 0,
            source_mac: Some(record.sender_mac),
            master_down: false,
            old_checksum: record.checksum_form == vrrp_common::checksum_form::V3_IPV4_OLD_UNICAST,
        };
        self.handle_arrival(arrival);
    }

    pub(crate) fn handle_arrival(&mut self, arrival: Arrival) {
        if arrival.master_down {
            return self.handle_master_down(&arrival);
        }
        let Some((id, instance)) = self.io.by_key_mut(&arrival.key) else {
            return;
        };
        let Some(view) = self.node.instance(id) else { return };
        if arrival.causes & event_cause::MAC_CHANGED != 0
            && self.mac_changes_logged.first_time(arrival.source)
        {
            let mac = arrival.source_mac.unwrap_or_default();
            log::warn!(
                "{}: peer {} now sends from MAC {} (pin it with `mac` in unicast_peer to refuse \
                 others)",
                instance.name(),
                arrival.source,
                vrrp_config::MacAddr(mac)
            );
        }
        if arrival.causes & event_cause::NOT_LINK_LOCAL != 0
            && self.not_link_local_logged.first_time(arrival.source)
        {
            log::warn!(
                "{}: peer {} advertises without a link-local first address (RFC 9568 §5.2.9, \
                 as FRR does); accepted",
                instance.name(),
                arrival.source
            );
        }
        let advertisement = match instance.advertisement_of(&arrival, view.router().config()) {
            Ok(advertisement) => advertisement,
            Err(error) => {
                log::warn!("{error:#}");
                return;
            }
        };
        if arrival.old_checksum {
            let form = vrrp_proto::ChecksumForm::V3Ipv4OldUnicast;
            match self.node.handle_checksum_form(id, form) {
                Some(OldChecksumVerdict::AcceptAndSwitch) => {
                    // keepalived vrrp.c vrrp_in_chk(), once per instance until a reload.
                    log::info!(
                        "{}: Setting unicast VRRPv3 checksum to old version",
                        instance.name()
                    );
                }
                Some(OldChecksumVerdict::BadChecksum) => return,
                Some(OldChecksumVerdict::Accept) | None => {}
            }
        }
        if let Some(tick) = arrival.kernel_tick {
            if instance.last_delivered_tick.is_none_or(|delivered| tick > delivered) {
                instance.last_delivered_tick = Some(tick);
            }
        }
        let disposition =
            self.node.handle_advertisement(arrival.received_at, id, arrival.source, &advertisement);
        log::debug!(
            "{}: advertisement from {} priority {}: {disposition:?}",
            self.name(id),
            arrival.source,
            arrival.priority
        );
    }

    /// Another agent removed an instance's macvlan: it is made again, as keepalived does
    /// (keepalived_netlink.c netlink_if_link_filter(), recreate_vmac_thread()), and a master
    /// puts back the addresses that went with it. keepalived 2.2.7 does this for the
    /// instance's own `use_vmac` only (recreate_vmac_thread() skips any other); vrrpd also
    /// makes an address's macvlan (`use_vmac_addr`, `use_vmac` on the line) again, so that a
    /// master does not go on without those addresses.
    async fn vmac_removed(&mut self, now: Instant, ifindex: u32) {
        let lost: Vec<(InstanceId, std::net::IpAddr)> = self
            .io
            .iter()
            .filter(|(_, instance)| {
                let mut macvlans = instance.vmac.iter().chain(&instance.address_vmacs);
                macvlans.any(|link| link.ifindex == ifindex)
            })
            .map(|(id, instance)| (*id, instance.primary))
            .collect();
        for (id, primary) in lost {
            log::warn!(
                "{}: its macvlan was removed by another agent; creating it again",
                self.name(id)
            );
            self.reopen(id, primary).await;
            let addresses: Vec<std::net::IpAddr> = self
                .io
                .get(&id)
                .map(|instance| instance.addresses.iter().map(|vip| vip.address).collect())
                .unwrap_or_default();
            for address in addresses {
                self.node.handle_address_removed(now, id, address);
            }
        }
    }

    /// A burst of netlink events, in order. Each interface whose addresses changed is read
    /// once, after the burst, rather than once per event: a failover's additions come back as
    /// one event per address, and a read per event would parse every address of the interface
    /// each time (quadratic in the instance count). A read per event would see the kernel's
    /// state at its time, which already holds the later events, so one read at the end sees
    /// what the last of them saw.
    pub(crate) async fn handle_net_events(&mut self, events: Vec<NetEvent>) {
        let mut readdressed: Vec<u32> = Vec::new();
        for event in events {
            if let NetEvent::AddressAdded { ifindex, .. }
            | NetEvent::AddressRemoved { ifindex, .. } = event
            {
                if !readdressed.contains(&ifindex) {
                    readdressed.push(ifindex);
                }
            }
            self.handle_net_event(event).await;
        }
        for ifindex in readdressed {
            self.follow_primary_address(ifindex).await;
        }
    }

    /// One event; an address event's reading of the interface is [`Self::handle_net_events`]'.
    async fn handle_net_event(&mut self, event: NetEvent) {
        let now = Instant::now();
        match event {
            NetEvent::Link { name, usable, .. } => {
                if self.node.handle_link(now, &name, usable) {
                    log::info!("interface {name} is {}", if usable { "up" } else { "down" });
                }
            }
            NetEvent::LinkRemoved { ifindex } => {
                let gone: Vec<String> = self
                    .io
                    .values()
                    .filter(|instance| instance.ifindex == ifindex)
                    .map(|instance| instance.spec.interface.clone())
                    .collect();
                for name in gone {
                    log::warn!("interface {name} was removed");
                    self.node.handle_link(now, &name, false);
                }
                self.vmac_removed(now, ifindex).await;
            }
            NetEvent::AddressRemoved { ifindex, address } => {
                self.static_address_removed(now, ifindex, address).await;
                let holders: Vec<InstanceId> = self
                    .io
                    .iter()
                    .filter(|(_, instance)| {
                        instance
                            .addresses
                            .iter()
                            .any(|vip| vip.ifindex == ifindex && vip.address == address)
                    })
                    .map(|(id, _)| *id)
                    .collect();
                for id in holders {
                    if self.node.handle_address_removed(now, id, address) {
                        log::warn!(
                            "{}: {address} was removed by another agent; putting it back",
                            self.name(id)
                        );
                    }
                }
            }
            NetEvent::AddressAdded { .. } => {}
            NetEvent::RouteRemoved(key) => {
                if self.node.handle_route_removed(now, &key) {
                    let (destination, len, table) = (key.destination, key.prefix_len, key.table);
                    log::warn!(
                        "route {destination}/{len} (table {table}, metric {}) was removed by \
                         another agent; putting it back",
                        key.metric
                    );
                }
            }
            NetEvent::RuleRemoved(rule) => {
                if self.node.handle_rule_removed(now, &rule) {
                    log::warn!("rule {rule} was removed by another agent; putting it back");
                }
            }
            NetEvent::Overrun => self.resync_netlink().await,
        }
    }

    /// Tells the node the addresses now on `ifindex`, for each instance there (it decides
    /// whether the instance restarts on a new primary address).
    pub(crate) async fn follow_primary_address(&mut self, ifindex: u32) {
        let now = Instant::now();
        let on_link: Vec<(InstanceId, std::net::IpAddr)> = self
            .io
            .iter()
            .filter(|(_, instance)| instance.ifindex == ifindex)
            .map(|(id, instance)| (*id, instance.primary))
            .collect();
        if on_link.is_empty() {
            return;
        }
        let addresses: Vec<std::net::IpAddr> = match self.netlink.addresses(ifindex).await {
            Ok(addresses) => addresses.into_iter().map(|(address, _, _)| address).collect(),
            Err(error) => {
                log::warn!("reading the addresses of interface {ifindex}: {error:#}");
                return;
            }
        };
        for (id, current) in on_link {
            match self.node.handle_interface_addresses(now, id, &addresses) {
                Ok(Some(primary)) => log::info!(
                    "{}: the primary address changed from {current} to {primary}; restarting \
                     the instance",
                    self.name(id)
                ),
                Ok(None) => {}
                Err(error) => log::error!("{error}"),
            }
        }
    }
}
