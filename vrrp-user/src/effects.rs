//! The node's outputs carried out: sockets, netlink, announcements, the kernel's maps,
//! processes, systemd.

use std::net::IpAddr;

use vrrp_node::{InstanceId, Output};

use crate::{
    announce,
    daemon::Daemon,
    instance::{self, Instance},
    netlink::VirtualAddress,
    scripts, systemd,
};

impl Daemon {
    /// Carries out the node's outputs, in order.
    pub(crate) async fn carry_out(&mut self) {
        while let Some(output) = self.node.poll_output() {
            match output {
                Output::InstanceStarted { id, name } => self.take_into_service(id, &name).await,
                Output::InstanceReconfigured { id } => self.refresh(id).await,
                Output::PrimaryAddressChanged { id, address } => self.reopen(id, address).await,
                Output::InstanceStopped { id } => self.retire(id).await,
                Output::SendAdvertisement { id, advertisement } => {
                    // The instance may be gone from the node already (its resignation).
                    let Some(instance) = self.io.get(&id) else { continue };
                    let socket = &instance.socket;
                    let destinations = &instance.destinations;
                    let mode = instance.checksum_mode;
                    for error in socket.send_advertisement(&advertisement, destinations, mode) {
                        log::warn!("{}: {error:#}", instance.name());
                    }
                }
                // `accept` (Accept_Mode) is not carried out yet: nothing here filters traffic
                // to the addresses, so they accept as with keepalived's default; enforcing
                // `no_accept` belongs to the router-box features.
                Output::AddAddresses { id, addresses, accept: _ } => {
                    let Some(instance) = self.io.get(&id) else { continue };
                    let chosen = chosen(instance, &addresses);
                    for address in &chosen {
                        if let Err(error) = self.netlink.add(address).await {
                            log::error!("{}: {error:#}", instance.name());
                        }
                    }
                    log::info!("{}: added {}", instance.name(), list(&chosen));
                }
                Output::RemoveAddresses { id, addresses } => {
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
                    let Some(instance) = self.io.get(&id) else { continue };
                    let router_flag = announce::ipv6_forwarding(&instance.spec.interface);
                    for address in &addresses {
                        let sent =
                            instance.announcer.announce(*address, router_flag, instance.link_local);
                        if let Err(error) = sent {
                            log::warn!("{}: {error:#}", instance.name());
                        }
                    }
                    log::debug!("{}: announced {addresses:?}", instance.name());
                }
                Output::RunScript(script) => scripts::notify(script),
                Output::StateChanged { id, from, to, reason } => {
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
                    systemd::notify(&format!("STATUS={}", self.status()));
                }
            }
        }
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
        instance.destinations = instance::destinations(&router.transport, instance.spec.family);
        instance.checksum_mode = router.checksum_mode;
        let started = format!(
            "{name}: started on {} (VRID {}, priority {}, {})",
            view.spec().interface,
            view.spec().vrid,
            view.router().priority(),
            if view.spec().unicast_peers.is_empty() { "multicast" } else { "unicast" },
        );
        // A crashed run may have left the addresses behind: a backup must not hold them.
        for address in &instance.addresses {
            let held = self.netlink.has_address(address.ifindex, address.address).await;
            if held.unwrap_or(false) {
                log::warn!(
                    "{name}: {} is already on the interface (left by an earlier run?); removing \
                     it until this router is master",
                    address.address
                );
                if let Err(error) = self.netlink.remove(address).await {
                    log::error!("{name}: {error:#}");
                }
            }
        }
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

    /// The instance restarted on a new primary address: new sockets there.
    async fn reopen(&mut self, id: InstanceId, address: IpAddr) {
        if self.io.remove(&id).is_none() {
            return;
        }
        let Some(view) = self.node.instance(id) else { return };
        let router = view.router().config().clone();
        let spec = view.spec().clone();
        match Instance::create(spec, &self.netlink, Some(address)).await {
            Ok(mut instance) => {
                instance.destinations =
                    instance::destinations(&router.transport, instance.spec.family);
                instance.checksum_mode = router.checksum_mode;
                if let Err(error) = self.connect(&mut instance) {
                    log::error!("{}: {error:#}", instance.name());
                }
                self.io.insert(id, instance);
            }
            Err(error) => log::error!("restarting an instance after an address change: {error:#}"),
        }
    }

    /// The instance is gone: its addresses (even ones never added in this run), its filter on
    /// the receive socket, its kernel entry.
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
        }
        log::info!("{}: stopped", instance.name());
    }
}

/// The instance's installed form of the addresses the node named.
fn chosen(instance: &Instance, addresses: &[IpAddr]) -> Vec<VirtualAddress> {
    instance.addresses.iter().filter(|vip| addresses.contains(&vip.address)).cloned().collect()
}

fn list(addresses: &[VirtualAddress]) -> String {
    addresses
        .iter()
        .map(|a| format!("{}/{}", a.address, a.prefix_len))
        .collect::<Vec<_>>()
        .join(" ")
}
