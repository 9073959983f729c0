//! The node's outputs carried out: sockets, netlink, announcements, the kernel's maps,
//! processes, systemd.

use std::net::IpAddr;

use vrrp_node::{InstanceId, Output};

use crate::{
    daemon::Daemon,
    instance::{self, Instance},
    netlink::{Netlink, VirtualAddress},
    routes::Routing,
    scripts, systemd,
};

impl Daemon {
    /// Carries out the node's outputs, in order, except that address additions are pipelined:
    /// every addition of a pass is in flight on the netlink connection at once (a failover adds
    /// the addresses of every instance together), and what must follow an instance's addresses
    /// (its announcements, its scripts) waits for them (`Pipeline`). Returns whether an
    /// instance changed state.
    pub(crate) async fn carry_out(&mut self) -> bool {
        let mut states_changed = false;
        let mut pipeline = Pipeline::default();
        while let Some(output) = self.node.poll_output() {
            match output {
                Output::InstanceStarted { id, name } => {
                    self.flush(&mut pipeline).await;
                    self.take_into_service(id, &name).await
                }
                Output::InstanceReconfigured { id } => {
                    self.flush(&mut pipeline).await;
                    self.refresh(id).await
                }
                Output::PrimaryAddressChanged { id, address } => {
                    self.flush(&mut pipeline).await;
                    self.reopen(id, address).await
                }
                Output::InstanceStopped { id } => {
                    self.flush(&mut pipeline).await;
                    self.retire(id).await
                }
                Output::SendAdvertisement { id, advertisement } => {
                    // The instance may be gone from the node already (its resignation).
                    let Some(instance) = self.io.get(&id) else { continue };
                    let socket = &instance.socket;
                    let destinations = &instance.destinations;
                    // The node's: the old unicast form once configured or learnt.
                    let view = self.node.instance(id);
                    let mode = view.map_or(instance.checksum_mode, |view| view.send_mode());
                    for error in socket.send_advertisement(&advertisement, destinations, mode) {
                        log::warn!("{}: {error:#}", instance.name());
                    }
                }
                Output::RefuseTraffic { id, addresses } => self.refuse_traffic(id, &addresses),
                Output::AcceptTraffic { id, addresses } => self.accept_traffic(id, &addresses),
                Output::AddAddresses { id, addresses } => {
                    let Some(instance) = self.io.get(&id) else { continue };
                    let chosen = chosen(instance, &addresses);
                    log::info!("{}: added {}", instance.name(), list(&chosen));
                    for address in chosen {
                        let (netlink, name) = (self.netlink.clone(), instance.name().to_owned());
                        pipeline.additions.push(add_address(netlink, address, name));
                    }
                }
                Output::RemoveAddresses { id, addresses } => {
                    // A removal may undo an addition still in flight.
                    self.flush(&mut pipeline).await;
                    let Some(instance) = self.io.get(&id) else { continue };
                    let chosen = chosen(instance, &addresses);
                    for address in &chosen {
                        if let Err(error) = self.netlink.remove(address).await {
                            log::error!("{}: {error:#}", instance.name());
                        }
                    }
                    log::info!("{}: removed {}", instance.name(), list(&chosen));
                }
                Output::Announce { id, addresses } => {
                    pipeline.after_additions.push(After::Announce { id, addresses })
                }
                // keepalived vrrp.c vrrp_state_become_master(): routes and rules after the
                // addresses, before the announcements and scripts.
                Output::AddRoutes { id, routes } => {
                    pipeline.routing.push(Routing::AddRoutes { owner: self.owner(id), routes })
                }
                Output::AddRules { id, rules } => {
                    pipeline.routing.push(Routing::AddRules { owner: self.owner(id), rules })
                }
                Output::RemoveRoutes { id, routes } => {
                    self.flush(&mut pipeline).await;
                    let owner = self.owner(id);
                    self.carry_out_routing(Routing::RemoveRoutes { owner, routes }).await;
                }
                Output::RemoveRules { id, rules } => {
                    self.flush(&mut pipeline).await;
                    let owner = self.owner(id);
                    self.carry_out_routing(Routing::RemoveRules { owner, rules }).await;
                }
                Output::AddStaticAddresses { addresses } => {
                    self.flush(&mut pipeline).await;
                    self.static_addresses(&addresses, true).await;
                }
                Output::RemoveStaticAddresses { addresses } => {
                    self.flush(&mut pipeline).await;
                    self.static_addresses(&addresses, false).await;
                }
                Output::RunScript(script) => pipeline.after_additions.push(After::Script(script)),
                // After the change's scripts are started, as keepalived writes it.
                Output::NotifyFifo { line } => pipeline.after_additions.push(After::Line(line)),
                // keepalived vrrp_daemon.c start_vrrp(), delayed_start_clear_thread().
                Output::StartupDelayed { delay } => {
                    log::info!("Delaying startup for {} seconds", delay.as_secs_f64())
                }
                Output::StartupDelayOver => log::info!("Delayed start completed"),
                Output::StateChanged { id, from, to, reason } => {
                    states_changed = true;
                    if let Some(instance) = self.io.get_mut(&id) {
                        log::info!("{}: {from} -> {to} ({reason:?})", instance.name());
                        instance.state = to;
                        if let Some(xdp) = &mut self.xdp {
                            if let Err(error) =
                                instance.set_xdp_flags(xdp, !self.options.pass_valid)
                            {
                                log::warn!("{}: {error:#}", instance.name());
                            }
                        }
                    }
                }
            }
        }
        self.flush(&mut pipeline).await;
        // Once for the whole pass: the status names every instance, and a failover changes
        // them all at once.
        if states_changed {
            systemd::notify(&format!("STATUS={}", self.status()));
        }
        states_changed
    }

    /// Waits for the additions in flight, then carries out what was waiting for them, in
    /// order.
    async fn flush(&mut self, pipeline: &mut Pipeline) {
        futures_util::future::join_all(pipeline.additions.drain(..)).await;
        for routing in std::mem::take(&mut pipeline.routing) {
            self.carry_out_routing(routing).await;
        }
        for after in pipeline.after_additions.drain(..) {
            match after {
                After::Announce { id, addresses } => self.announce(id, &addresses),
                After::Script(script) => scripts::notify(script),
                After::Line(line) => self.fifos.write(&line),
            }
        }
    }

    /// Gratuitous ARPs / unsolicited neighbour advertisements for `addresses`.
    fn announce(&self, id: InstanceId, addresses: &[IpAddr]) {
        let Some(instance) = self.io.get(&id) else { return };
        for address in addresses {
            let Some(link) = instance.link_of(*address) else { continue };
            if !instance.announcer.resolves_neighbours(link) {
                log::debug!(
                    "{}: {} has no ARP: {address} not announced",
                    instance.name(),
                    link.name
                );
                continue;
            }
            if let Err(error) = instance.announcer.announce(link, *address) {
                log::warn!("{}: on {}: {error:#}", instance.name(), link.name);
            }
        }
        log::debug!("{}: announced {addresses:?}", instance.name());
    }

    /// Puts the I/O opened for `name` into service as instance `id`: stale addresses, kernel
    /// maps or the receive task.
    async fn take_into_service(&mut self, id: InstanceId, name: &str) {
        let Some(mut instance) = self.prepared.remove(name) else {
            log::error!("{name}: started with no I/O prepared for it");
            return;
        };
        let Some(view) = self.node.instance(id) else { return };
        let router = view.router().config();
        instance.destinations = instance::destinations(&router.transport, &instance.spec);
        instance.checksum_mode = router.checksum_mode;
        instance.old_unicast_group = instance::old_unicast_group(router);
        let started = format!(
            "{name}: started on {} (VRID {}, priority {}, {})",
            view.spec().interface,
            view.spec().vrid,
            view.router().priority(),
            if view.spec().unicast_peers.is_empty() { "multicast" } else { "unicast" },
        );
        if self.xdp.is_none() && !router.accept_mode && !router.is_owner() {
            log::warn!(
                "{name}: no_accept is not enforced on the socket data path (no kernel program \
                 filters traffic): as master it accepts traffic to its addresses"
            );
        }
        // A crashed run may have left the addresses behind: a backup must not hold them.
        for address in &instance.addresses {
            let held = self.netlink.has_address(address.ifindex, address.address).await;
            if held.unwrap_or(false) {
                log::warn!(
                    "{name}: {} is already on the interface (left by an earlier run?); removing \
                     it until this router is master",
                    address.address
                );
                if let Err(error) = self.netlink.remove_any_form(address).await {
                    log::error!("{name}: {error:#}");
                }
            }
        }
        self.remove_stale_routing(&instance.spec).await;
        if let Err(error) = self.connect(&mut instance) {
            log::error!("{name}: {error:#}");
        }
        log::info!("{started}");
        self.io.insert(id, instance);
    }

    /// Connects an instance to the data path: its kernel map entry, or its filter on the
    /// receive socket of its interface (replacing the one it had).
    /// An AH instance is always on its AH socket: XDP cannot check the signature.
    fn connect(&mut self, instance: &mut Instance) -> anyhow::Result<()> {
        match &mut self.xdp {
            Some(xdp) if instance.ah.is_none() => {
                instance.configure_xdp(xdp, !self.options.pass_valid)
            }
            _ => self.receivers.register(instance),
        }
    }

    /// New settings in place: addresses, destinations, the kernel's peers (or the socket
    /// filter).
    async fn refresh(&mut self, id: InstanceId) {
        let (Some(mut instance), Some(view)) = (self.io.remove(&id), self.node.instance(id)) else {
            return;
        };
        let spec = view.spec().clone();
        let router = view.router().config().clone();
        if let Err(error) = instance.refresh(spec, &router, &self.netlink).await {
            log::error!("{}: {error:#}", instance.name());
        }
        let connected = match &mut self.xdp {
            Some(xdp) if instance.ah.is_none() => {
                instance.set_xdp_flags(xdp, !self.options.pass_valid)
            }
            _ => self.connect(&mut instance),
        };
        if let Err(error) = connected {
            log::error!("{}: {error:#}", instance.name());
        }
        log::info!("{}: reconfigured in place", instance.name());
        self.io.insert(id, instance);
    }

    /// The instance restarted on a new primary address (or lost its macvlan): new sockets
    /// there.
    pub(crate) async fn reopen(&mut self, id: InstanceId, address: IpAddr) {
        let Some(old) = self.io.remove(&id) else { return };
        let Some(view) = self.node.instance(id) else { return };
        let router = view.router().config().clone();
        let spec = view.spec().clone();
        match Instance::create(spec, &self.netlink, Some(address)).await {
            Ok(mut instance) => {
                instance.destinations = instance::destinations(&router.transport, &instance.spec);
                instance.checksum_mode = router.checksum_mode;
                instance.old_unicast_group = instance::old_unicast_group(&router);
                if let Err(error) = self.connect(&mut instance) {
                    log::error!("{}: {error:#}", instance.name());
                }
                // Its refusals go on, on the interface they were made for, until the node
                // accepts the traffic again.
                instance.refused = old.refused;
                self.io.insert(id, instance);
            }
            Err(error) => {
                log::error!("restarting an instance after an address change: {error:#}");
                // Nothing will accept them again later: the instance has no I/O any more.
                if let Some(xdp) = &mut self.xdp {
                    for (ifindex, address) in old.refused {
                        if let Err(error) = xdp.accept_traffic(ifindex, address) {
                            log::error!("{}: {error:#}", old.spec.name);
                        }
                    }
                }
            }
        }
    }

    /// Accept_Mode False: the kernel program drops traffic to the addresses arriving on the
    /// instance's interface. Without it (the socket data path) nothing does, as the instance's
    /// start said.
    fn refuse_traffic(&mut self, id: InstanceId, addresses: &[IpAddr]) {
        let (Some(instance), Some(xdp)) = (self.io.get_mut(&id), &mut self.xdp) else { return };
        for &address in addresses {
            let refusal = (instance.ifindex, address);
            if instance.refused.contains(&refusal) {
                continue;
            }
            match xdp.refuse_traffic(refusal.0, address) {
                Ok(()) => instance.refused.push(refusal),
                Err(error) => log::error!("{}: {error:#}", instance.name()),
            }
        }
        log::info!("{}: refusing traffic to {}", instance.name(), ips(addresses));
    }

    fn accept_traffic(&mut self, id: InstanceId, addresses: &[IpAddr]) {
        let (Some(instance), Some(xdp)) = (self.io.get_mut(&id), &mut self.xdp) else { return };
        let (accepted, kept) = instance.refused.drain(..).partition(|(_, a)| addresses.contains(a));
        instance.refused = kept;
        let accepted: Vec<(u32, IpAddr)> = accepted;
        for &(ifindex, address) in &accepted {
            if let Err(error) = xdp.accept_traffic(ifindex, address) {
                log::error!("{}: {error:#}", instance.name());
            }
        }
        if !accepted.is_empty() {
            let addresses: Vec<IpAddr> = accepted.iter().map(|(_, a)| *a).collect();
            log::info!("{}: accepting traffic to {} again", instance.name(), ips(&addresses));
        }
    }

    /// The instance is gone: its addresses (even ones never added in this run), its filter on
    /// the receive socket, its kernel entry, its refusals of traffic.
    async fn retire(&mut self, id: InstanceId) {
        let Some(instance) = self.io.remove(&id) else { return };
        self.receivers.unregister(&instance.key);
        for address in &instance.addresses {
            if let Err(error) = self.netlink.remove(address).await {
                log::error!("{}: {error:#}", instance.name());
            }
        }
        if let Some(xdp) = &mut self.xdp {
            if let Err(error) = xdp.remove_instance(&instance.key) {
                log::warn!("{}: {error:#}", instance.name());
            }
            // Its refusals last as long as its addresses.
            for &(ifindex, address) in &instance.refused {
                if let Err(error) = xdp.accept_traffic(ifindex, address) {
                    log::error!("{}: {error:#}", instance.name());
                }
            }
        }
        // keepalived vrrp_vmac.c netlink_link_del_vmac(): the macvlan goes with its instance,
        // unless the instance restarting under new settings (a reload) took it over.
        // The same for its addresses' macvlans, unless another instance holds addresses there.
        for link in instance.vmac.iter().chain(&instance.address_vmacs) {
            let taken_over = self.prepared.values().chain(self.io.values()).any(|other| {
                other.vmac.iter().chain(&other.address_vmacs).any(|o| o.ifindex == link.ifindex)
            });
            if !taken_over {
                if let Err(error) = crate::vmac::remove(&self.netlink, link).await {
                    log::error!("{}: {error:#}", instance.name());
                }
            }
        }
        log::info!("{}: stopped", instance.name());
    }
}

/// Outputs held back in one pass of `carry_out`.
#[derive(Default)]
struct Pipeline {
    additions: Vec<AddAddress>,
    /// Routes and rules to install once the addresses are (a route may take one as `src`).
    routing: Vec<Routing>,
    /// What must follow the additions before it (keepalived vrrp.c vrrp_state_become_master()
    /// adds the addresses, then sends the gratuitous ARPs, then runs notify_master).
    after_additions: Vec<After>,
}

enum After {
    Announce { id: InstanceId, addresses: Vec<IpAddr> },
    Script(vrrp_node::ScriptRun),
    Line(String),
}

type AddAddress = std::pin::Pin<Box<dyn std::future::Future<Output = ()>>>;

/// One address added, on its own clone of the netlink connection's handle, so that many are
/// in flight together; a failure is logged against `instance`.
fn add_address(netlink: Netlink, address: VirtualAddress, instance: String) -> AddAddress {
    Box::pin(async move {
        if let Err(error) = netlink.add(&address).await {
            log::error!("{instance}: {error:#}");
        }
    })
}

/// The instance's installed form of the addresses the node named.
fn chosen(instance: &Instance, addresses: &[IpAddr]) -> Vec<VirtualAddress> {
    instance.addresses.iter().filter(|vip| addresses.contains(&vip.address)).cloned().collect()
}

fn ips(addresses: &[IpAddr]) -> String {
    addresses.iter().map(IpAddr::to_string).collect::<Vec<_>>().join(", ")
}

fn list(addresses: &[VirtualAddress]) -> String {
    addresses
        .iter()
        .map(|a| format!("{}/{}", a.address, a.prefix_len))
        .collect::<Vec<_>>()
        .join(" ")
}
