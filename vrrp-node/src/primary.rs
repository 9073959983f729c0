//! Which address an instance speaks from when the configuration names none.

use std::net::IpAddr;

use vrrp_config::Instance;
use vrrp_proto::Family;

/// keepalived's choice of source when `unicast_src_ip` is absent: the interface's first
/// address of the instance's family, over IPv6 its link-local address (RFC 9568 §5.1.2.2).
/// The instance's own virtual addresses never count: they come and go with MASTER.
pub fn primary_address(instance: &Instance, on_interface: &[IpAddr]) -> Option<IpAddr> {
    let ours = |address: &IpAddr| {
        instance
            .virtual_addresses
            .iter()
            .chain(&instance.excluded_addresses)
            .any(|vip| vip.address == *address)
    };
    on_interface.iter().copied().filter(|address| !ours(address)).find(|address| {
        match (instance.family, address) {
            (Family::Ipv4, IpAddr::V4(_)) => true,
            (Family::Ipv6, IpAddr::V6(v6)) => v6.is_unicast_link_local(),
            _ => false,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn instance(vips: &str) -> Instance {
        let text = format!(
            "vrrp_instance VI {{\n interface eth0\n virtual_router_id 1\n \
             virtual_ipaddress {{\n {vips}\n }}\n}}\n"
        );
        vrrp_config::parse_str(&text, std::path::Path::new("t.conf")).unwrap().config.instances[0]
            .clone()
    }

    fn ips(list: &[&str]) -> Vec<IpAddr> {
        list.iter().map(|ip| ip.parse().unwrap()).collect()
    }

    #[test]
    fn the_first_address_of_the_family_that_is_not_a_vip() {
        let vi = instance("192.0.2.100");
        let on = ips(&["fe80::1", "192.0.2.100", "198.51.100.1", "192.0.2.1"]);
        assert_eq!(primary_address(&vi, &on), Some(ips(&["198.51.100.1"])[0]));
        assert_eq!(primary_address(&vi, &ips(&["192.0.2.100", "fe80::1"])), None);
    }

    #[test]
    fn over_ipv6_the_link_local_address() {
        let vi = instance("fe80::100\n 2001:db8::100");
        let on = ips(&["2001:db8::1", "fe80::100", "fe80::2"]);
        assert_eq!(primary_address(&vi, &on), Some(ips(&["fe80::2"])[0]));
    }
}
