//! What only the host can say about a configuration, as keepalived's `--config-test` reports
//! it: interfaces that do not exist, source addresses the interface does not hold.
//!
//! [`check`] is pure (the host is a value, [`Host`]), so `vrrpd check-config` and the daemon's
//! start run the same rules; [`Host::read`] takes the value from this host (getifaddrs(3),
//! which sees the network namespace the process runs in). An error here is one the daemon
//! would otherwise meet while starting the instance.

use std::collections::BTreeMap;
use std::net::IpAddr;

use anyhow::{Context, Result};
use nix::ifaddrs::getifaddrs;
use nix::net::if_::InterfaceFlags;
use vrrp_config::{Config, Instance, Severity};

/// One interface of the host: its addresses (in the kernel's order), whether it has a
/// link-layer (Ethernet) address and whether it does multicast.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HostInterface {
    pub addresses: Vec<IpAddr>,
    pub has_mac: bool,
    pub multicast: bool,
}

/// The host's interfaces by name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Host {
    pub interfaces: BTreeMap<String, HostInterface>,
}

/// One thing the host says about the configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub severity: Severity,
    pub message: String,
}

impl Host {
    /// This host's interfaces, as the process's network namespace sees them.
    pub fn read() -> Result<Host> {
        let mut host = Host::default();
        for entry in getifaddrs().context("listing the host's interfaces (getifaddrs)")? {
            let interface = host.interfaces.entry(entry.interface_name.clone()).or_default();
            interface.multicast |= entry.flags.contains(InterfaceFlags::IFF_MULTICAST);
            let Some(address) = entry.address else { continue };
            if let Some(v4) = address.as_sockaddr_in() {
                interface.addresses.push(IpAddr::V4(v4.ip()));
            } else if let Some(v6) = address.as_sockaddr_in6() {
                interface.addresses.push(IpAddr::V6(v6.ip()));
            } else if let Some(link) = address.as_link_addr() {
                interface.has_mac |= link.addr().is_some_and(|mac| mac != [0; 6]);
            }
        }
        Ok(host)
    }

    fn holder_of(&self, address: IpAddr) -> Option<&str> {
        self.interfaces
            .iter()
            .find(|(_, interface)| interface.addresses.contains(&address))
            .map(|(name, _)| name.as_str())
    }
}

/// Every finding for `config` on `host`, instance by instance.
pub fn check(config: &Config, host: &Host) -> Vec<Finding> {
    let mut findings = Vec::new();
    for instance in &config.instances {
        check_instance(instance, host, &mut findings);
    }
    findings
}

fn check_instance(instance: &Instance, host: &Host, findings: &mut Vec<Finding>) {
    let name = &instance.name;
    let mut report = |severity, message: String| {
        findings.push(Finding { severity, message: format!("vrrp_instance {name}: {message}") })
    };
    match host.interfaces.get(&instance.interface) {
        // keepalived vrrp_parser.c vrrp_int_handler(): "WARNING - interface %s for
        // vrrp_instance %s doesn't exist" (--config-test exits 5, a file it runs with errors,
        // without the instance); vrrpd cannot start the instance, so it refuses.
        None => report(
            Severity::Error,
            format!("interface {} does not exist on this host", instance.interface),
        ),
        Some(interface) => {
            if !interface.has_mac {
                report(
                    Severity::Error,
                    format!(
                        "interface {} has no Ethernet address, which VRRP needs",
                        instance.interface
                    ),
                );
            }
            // keepalived vrrp.c vrrp_complete_instance(): "Unicast peers are not supported in
            // strict mode" where the interface does multicast; the instance, and with it the
            // configuration, is refused.
            if instance.strict && !instance.unicast_peers.is_empty() && interface.multicast {
                report(
                    Severity::Error,
                    format!(
                        "unicast_peer is not allowed with vrrp_strict (or strict_mode) on {}, \
                         which does multicast",
                        instance.interface
                    ),
                );
            }
            check_source(instance, interface, host, &mut report);
        }
    }
    for tracked in &instance.track_interfaces {
        // keepalived vrrp_track.c: "tracked interface %s doesn't exist", and the entry is
        // left out; vrrpd keeps it and counts it down until it appears.
        if !host.interfaces.contains_key(&tracked.name) {
            report(
                Severity::Warning,
                format!(
                    "track_interface {} does not exist on this host: it counts as down until it \
                     appears (keepalived leaves it out)",
                    tracked.name
                ),
            );
        }
    }
    for vip in instance.virtual_addresses.iter().chain(&instance.excluded_addresses) {
        let Some(device) = vip.device.as_ref().filter(|device| **device != instance.interface)
        else {
            continue;
        };
        // keepalived vrrp.c vrrp_complete_instance(): "no interface for vip %s - removing";
        // vrrpd refuses to start.
        if !host.interfaces.contains_key(device) {
            report(
                Severity::Error,
                format!(
                    "dev {device} of virtual address {} does not exist on this host",
                    vip.address
                ),
            );
        }
    }
}

/// The address advertisements are sent from: `unicast_src_ip` / `mcast_src_ip`, or the
/// interface's own (keepalived vrrp.c set_vrrp_src_addr(): "Cannot find an IP address to use
/// for interface %s").
fn check_source(
    instance: &Instance,
    interface: &HostInterface,
    host: &Host,
    report: &mut impl FnMut(Severity, String),
) {
    let ifname = &instance.interface;
    let Some(source) = instance.source_ip else {
        if vrrp_node::primary_address(instance, &interface.addresses).is_none() {
            let what = match instance.family {
                vrrp_config::Family::Ipv4 => "IPv4",
                vrrp_config::Family::Ipv6 => "IPv6 link-local",
            };
            report(
                Severity::Error,
                format!(
                    "interface {ifname} has no {what} address to send advertisements from: add \
                     one or set unicast_src_ip"
                ),
            );
        }
        return;
    };
    if interface.addresses.contains(&source) {
        return;
    }
    // keepalived sends from a multicast mcast_src_ip as written (neutron's second instance,
    // 224.0.0.1); vrrpd writes that header itself (advert_socket.rs), nothing is bound to it.
    if source.is_multicast() {
        report(
            Severity::Warning,
            format!(
                "source address {source} is a multicast address: advertisements are sent from                  it as keepalived sends them, and receivers discard them"
            ),
        );
        return;
    }
    // keepalived binds its socket even to an address the host does not hold (yet); vrrpd's
    // socket cannot bind to one, so the instance would not start.
    match host.holder_of(source) {
        None => report(
            Severity::Error,
            format!(
                "source address {source} (unicast_src_ip / mcast_src_ip) is not configured on \
                 {ifname} nor anywhere on this host: advertisements cannot be sent from it"
            ),
        ),
        Some(other) => report(
            Severity::Warning,
            format!(
                "source address {source} (unicast_src_ip / mcast_src_ip) is configured on \
                 {other}, not on {ifname}: advertisements leave {ifname} from an address it \
                 does not hold"
            ),
        ),
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    #[test]
    fn a_multicast_source_is_sent_from_as_keepalived_does_with_a_warning() {
        let config = config(" mcast_src_ip 224.0.0.1");
        let mut host = Host::default();
        let addresses = vec!["192.0.2.1".parse().unwrap()];
        let eth0 = HostInterface { addresses, has_mac: true, multicast: true };
        host.interfaces.insert("eth0".into(), eth0);
        let findings = check(&config, &host);
        assert_eq!(findings.len(), 1, "{findings:?}");
        assert_eq!(findings[0].severity, Severity::Warning, "{findings:?}");
        assert!(findings[0].message.contains("224.0.0.1 is a multicast address"), "{findings:?}");
    }

    fn config(extra: &str) -> Config {
        let text = format!(
            "vrrp_instance VI {{\n interface eth0\n virtual_router_id 1\n{extra}\n \
             virtual_ipaddress {{\n 192.0.2.100/24\n }}\n}}\n"
        );
        vrrp_config::parse_str(&text, Path::new("t.conf")).unwrap().config
    }

    fn host(interfaces: &[(&str, &[&str])]) -> Host {
        let interfaces = interfaces.iter().map(|(name, addresses)| {
            let addresses = addresses.iter().map(|a| a.parse().unwrap()).collect();
            (name.to_string(), HostInterface { addresses, has_mac: true, multicast: true })
        });
        Host { interfaces: interfaces.collect() }
    }

    fn messages(findings: &[Finding]) -> Vec<(Severity, &str)> {
        findings.iter().map(|f| (f.severity, f.message.as_str())).collect()
    }

    #[test]
    fn strict_mode_refuses_unicast_peers_on_a_multicast_interface() {
        let unicast = " strict_mode\n unicast_src_ip 192.0.2.1\n unicast_peer {\n 192.0.2.2\n }";
        let mut host = host(&[("eth0", &["192.0.2.1"])]);
        let findings = check(&config(unicast), &host);
        assert_eq!(findings.len(), 1, "{findings:?}");
        assert_eq!(findings[0].severity, Severity::Error);
        assert!(findings[0].message.contains("unicast_peer is not allowed"), "{findings:?}");
        // keepalived lets it through where the interface has no multicast (a tunnel).
        host.interfaces.get_mut("eth0").unwrap().multicast = false;
        assert_eq!(check(&config(unicast), &host), vec![]);
        let lenient = unicast.replace("strict_mode", "strict_mode false");
        host.interfaces.get_mut("eth0").unwrap().multicast = true;
        assert_eq!(check(&config(&lenient), &host), vec![]);
    }

    #[test]
    fn a_usable_host_says_nothing() {
        let host = host(&[("eth0", &["192.0.2.1"]), ("eth1", &[])]);
        assert_eq!(check(&config(""), &host), vec![]);
        let tracked = config(" track_interface {\n eth1\n }\n unicast_src_ip 192.0.2.1");
        assert_eq!(check(&tracked, &host), vec![]);
    }

    #[test]
    fn a_missing_interface_is_an_error_and_a_missing_tracked_one_a_warning() {
        let host = host(&[("eth1", &["192.0.2.1"])]);
        let config = config(" track_interface {\n eth7\n }");
        assert_eq!(
            messages(&check(&config, &host)),
            [
                (Severity::Error, "vrrp_instance VI: interface eth0 does not exist on this host"),
                (
                    Severity::Warning,
                    "vrrp_instance VI: track_interface eth7 does not exist on this host: it \
                     counts as down until it appears (keepalived leaves it out)"
                ),
            ]
        );
    }

    #[test]
    fn the_source_address_must_be_the_interfaces_or_at_least_the_hosts() {
        let absent = host(&[("eth0", &["192.0.2.1"])]);
        let config = config(" unicast_src_ip 192.0.2.9\n unicast_peer {\n 192.0.2.2\n }");
        assert_eq!(
            messages(&check(&config, &absent)),
            [(
                Severity::Error,
                "vrrp_instance VI: source address 192.0.2.9 (unicast_src_ip / mcast_src_ip) is \
                 not configured on eth0 nor anywhere on this host: advertisements cannot be \
                 sent from it"
            )]
        );
        let elsewhere = host(&[("eth0", &["192.0.2.1"]), ("lo", &["192.0.2.9"])]);
        assert_eq!(
            messages(&check(&config, &elsewhere)),
            [(
                Severity::Warning,
                "vrrp_instance VI: source address 192.0.2.9 (unicast_src_ip / mcast_src_ip) is \
                 configured on lo, not on eth0: advertisements leave eth0 from an address it \
                 does not hold"
            )]
        );
    }

    #[test]
    fn without_a_source_the_interface_needs_an_address_that_is_not_virtual() {
        // A virtual address left by a crashed run is no source.
        let host = host(&[("eth0", &["192.0.2.100"])]);
        assert_eq!(
            messages(&check(&config(""), &host)),
            [(
                Severity::Error,
                "vrrp_instance VI: interface eth0 has no IPv4 address to send advertisements \
                 from: add one or set unicast_src_ip"
            )]
        );
    }

    #[test]
    fn a_virtual_address_on_a_missing_device_is_an_error() {
        let text = "vrrp_instance VI {\n interface eth0\n virtual_router_id 1\n \
                    virtual_ipaddress {\n 192.0.2.100/24 dev eth9\n }\n}\n";
        let config = vrrp_config::parse_str(text, Path::new("t.conf")).unwrap().config;
        let host = host(&[("eth0", &["192.0.2.1"])]);
        assert_eq!(
            messages(&check(&config, &host)),
            [(
                Severity::Error,
                "vrrp_instance VI: dev eth9 of virtual address 192.0.2.100 does not exist on \
                 this host"
            )]
        );
    }

    /// The real host: the loopback interface is there, with 127.0.0.1.
    #[test]
    fn this_hosts_interfaces_are_read() {
        let host = Host::read().unwrap();
        let lo = host.interfaces.get("lo").expect("lo is listed");
        assert!(lo.addresses.contains(&"127.0.0.1".parse().unwrap()), "{lo:?}");
    }
}
