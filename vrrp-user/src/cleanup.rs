//! `vrrpd cleanup`: removes what a daemon that could not stop cleanly (SIGKILL, an OOM kill, a
//! crash) left on the host: the configuration's virtual addresses, routes and rules, its
//! static ones, its `use_vmac` macvlans, vrrpd's own pins, a `vrrp_xdp` attached through netlink, and a `vrrp_tc` tcx
//! link something still holds. The unit runs it after every stop (`ExecStopPost=`),
//! so a restart never finds a stale VIP. It takes the daemon's lock first: while a vrrpd runs
//! with the same runtime folder, it refuses and changes nothing.

use std::path::Path;

use anyhow::Result;
use vrrp_config::{Config, Family};

use crate::{instance, lock, netlink, routes, tcx, vmac, xdp};

pub async fn run(config: &Config, pin_dir: &Path, runtime_dir: &Path) -> Result<()> {
    let _lock = lock::acquire(runtime_dir)?;
    let (netlink, _events) = netlink::connect()?;
    let mut removed = 0;
    let mut routing = Vec::new();
    for spec in &config.instances {
        for entry in routes::remove_all(&netlink, &spec.virtual_routes, &spec.virtual_rules).await {
            log::info!("{}: removed {entry}", spec.name);
            routing.push(entry);
        }
        let interface = match netlink.interface(&spec.interface).await {
            Ok(interface) => interface,
            Err(error) => {
                log::info!(
                    "{}: {} is gone, nothing to remove there ({error:#})",
                    spec.name,
                    spec.interface
                );
                continue;
            }
        };
        // The macvlan takes its addresses with it.
        if let Some(vmac) = &spec.vmac {
            let mac = vrrp_config::Vmac::mac(spec.family, spec.vrid).0;
            match vmac::remove_leftovers(&netlink, &vmac.name, interface.ifindex, mac).await {
                Ok(names) => {
                    for name in names {
                        log::info!("{}: removed macvlan {name}", spec.name);
                    }
                }
                Err(error) => log::warn!("{}: macvlan {}: {error:#}", spec.name, vmac.name),
            }
        }
        // The addresses' macvlans (`use_vmac_addr`, `use_vmac` on a line) likewise: every
        // private one with the address family's virtual MAC on the address's interface.
        let mut parents: Vec<(u32, [u8; 6])> = Vec::new();
        for vip in spec.virtual_addresses.iter().chain(&spec.excluded_addresses) {
            if !spec.address_macvlan(vip) {
                continue;
            }
            let family = if vip.address.is_ipv4() { Family::Ipv4 } else { Family::Ipv6 };
            let mac = vrrp_config::Vmac::mac(family, spec.vrid).0;
            let device = vip.device.as_deref().unwrap_or(&spec.interface);
            let Ok(parent) = netlink.interface(device).await else { continue };
            if !parents.contains(&(parent.ifindex, mac)) {
                parents.push((parent.ifindex, mac));
            }
        }
        for (parent, mac) in parents {
            match vmac::remove_twins(&netlink, parent, mac).await {
                Ok(names) => {
                    for name in names {
                        log::info!("{}: removed macvlan {name}", spec.name);
                    }
                }
                Err(error) => log::warn!("{}: an address's macvlan: {error:#}", spec.name),
            }
        }
        let addresses =
            match instance::resolve_addresses(spec, interface.ifindex, None, &[], &netlink).await {
                Ok(addresses) => addresses,
                Err(error) => {
                    log::warn!("{}: {error:#}", spec.name);
                    continue;
                }
            };
        for address in &addresses {
            if netlink.has_address(address.ifindex, address.address).await? {
                netlink.remove_any_form(address).await?;
                log::info!("{}: removed {}/{}", spec.name, address.address, address.prefix_len);
                removed += 1;
            }
        }
        // A BPF link dies with its process; an attachment through netlink does not.
        if let Some((id, attached)) = netlink.xdp_program(interface.ifindex).await? {
            if xdp::loaded_program_name(id) == vrrp_common::names::PROGRAM {
                netlink.detach_xdp(interface.ifindex, &attached).await?;
                log::info!("{}: detached a stale vrrp_xdp (id {id})", spec.interface);
            }
        }
        // A tcx link outlives its daemon only while something else holds it (a pin, an
        // inherited descriptor); no daemon of this runtime folder runs, so none is in use.
        match tcx::ingress(interface.ifindex) {
            Ok(attachments) => {
                for stale in attachments.iter().filter(|a| {
                    a.link_id != 0
                        && xdp::loaded_program_name(a.program_id) == vrrp_common::names::TC_PROGRAM
                }) {
                    tcx::detach(stale.link_id)?;
                    log::info!(
                        "{}: detached a stale vrrp_tc (link {}, program {})",
                        spec.interface,
                        stale.link_id,
                        stale.program_id
                    );
                }
            }
            // Before Linux 6.6 there is no tcx, so nothing of vrrpd's can be there.
            Err(error) => log::debug!("{}: no tcx ingress to clean ({error:#})", spec.interface),
        }
    }
    // What a clean stop removes last (keepalived vrrp_daemon.c vrrp_terminate_phase2()).
    for entry in routes::remove_all(&netlink, &config.static_routes, &config.static_rules).await {
        log::info!("static: removed {entry}");
        routing.push(entry);
    }
    for address in &config.static_addresses {
        match routes::static_address(&netlink, address).await {
            Ok(installed) if netlink.has_address(installed.ifindex, installed.address).await? => {
                netlink.remove_any_form(&installed).await?;
                log::info!("static: removed {}/{}", address.address, address.prefix_len);
                removed += 1;
            }
            Ok(_) => {}
            Err(error) => log::info!("static: nothing to remove ({error:#})"),
        }
    }
    if pin_dir.is_dir() {
        xdp::remove_own_pins(pin_dir);
        // Only an empty folder goes (never another tool's pins, never a mount point).
        let _ = std::fs::remove_dir(pin_dir);
    }
    log::info!(
        "cleanup: {removed} virtual address{} removed, {} routes and rules",
        if removed == 1 { "" } else { "es" },
        routing.len(),
    );
    Ok(())
}
