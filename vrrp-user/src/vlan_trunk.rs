//! Which interfaces must let the kernel program see VLAN tags their driver strips.
//!
//! An instance on `eth0.100` runs on the VLAN device, where its frames are untagged; the kernel
//! program on `eth0` passes a frame tagged for VLAN 100 on to it, unless the driver took the
//! tag out of the frame and XDP cannot ask for it (see `device_bound`). Such a frame then looks
//! untagged on `eth0`, which matters only where `eth0` runs the same VRID and family itself: its
//! instance would take VLAN 100's master for its own, and two LANs would share one election. On
//! such a trunk, `--hook auto` takes tcx, where the tag is always in the skb's metadata.

use std::collections::{BTreeMap, HashMap, HashSet};

use vrrp_config::{Config, Family};

/// The interfaces of `config` that run a VRID and family also run on a VLAN device over them,
/// each with the first such VRID and VLAN device (for the log). `vlan_parents` maps a VLAN
/// device among the instances' interfaces to the interface under it.
pub fn shared_with_a_vlan(
    config: &Config,
    vlan_parents: &HashMap<String, String>,
) -> BTreeMap<String, (u8, String)> {
    let untagged: HashSet<(&str, u8, Family)> = config
        .instances
        .iter()
        .map(|instance| (instance.interface.as_str(), instance.vrid, instance.family))
        .collect();
    let mut shared = BTreeMap::new();
    for instance in &config.instances {
        let Some(parent) = vlan_parents.get(&instance.interface) else { continue };
        if untagged.contains(&(parent.as_str(), instance.vrid, instance.family)) {
            shared.entry(parent.clone()).or_insert((instance.vrid, instance.interface.clone()));
        }
    }
    shared
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(instances: &[(&str, u8, &str)]) -> Config {
        let mut text = String::new();
        for (n, (interface, vrid, address)) in instances.iter().enumerate() {
            text.push_str(&format!(
                "vrrp_instance VI_{n} {{\n interface {interface}\n virtual_router_id {vrid}\n \
                 virtual_ipaddress {{\n  {address}\n }}\n}}\n"
            ));
        }
        vrrp_config::parse_str(&text, std::path::Path::new("t.conf"))
            .expect("a valid configuration")
            .config
    }

    fn parents(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs.iter().map(|(vlan, parent)| (vlan.to_string(), parent.to_string())).collect()
    }

    #[test]
    fn the_same_vrid_and_family_untagged_and_on_a_vlan_of_the_interface_is_a_shared_trunk() {
        let config = config(&[("eth0", 51, "192.0.2.100"), ("eth0.100", 51, "198.51.100.100")]);
        let shared = shared_with_a_vlan(&config, &parents(&[("eth0.100", "eth0")]));
        assert_eq!(shared, BTreeMap::from([("eth0".to_owned(), (51, "eth0.100".to_owned()))]));
    }

    #[test]
    fn another_vrid_family_or_interface_shares_nothing() {
        let vlans = parents(&[("eth0.100", "eth0"), ("eth1.100", "eth1")]);
        for instances in [
            // Another VRID on the VLAN: its frames are an unknown VRID on eth0, passed on.
            &[("eth0", 51, "192.0.2.100"), ("eth0.100", 52, "198.51.100.100")][..],
            // Another family: another key.
            &[("eth0", 51, "192.0.2.100"), ("eth0.100", 51, "2001:db8::100")][..],
            // A VLAN of another interface.
            &[("eth0", 51, "192.0.2.100"), ("eth1.100", 51, "198.51.100.100")][..],
            // The VLAN alone.
            &[("eth0.100", 51, "198.51.100.100")][..],
            // Two untagged interfaces.
            &[("eth0", 51, "192.0.2.100"), ("eth1", 51, "198.51.100.100")][..],
        ] {
            let shared = shared_with_a_vlan(&config(instances), &vlans);
            assert!(shared.is_empty(), "{instances:?}: {shared:?}");
        }
    }

    #[test]
    fn every_parent_is_named_once_with_its_first_vlan() {
        let config = config(&[
            ("eth0", 51, "192.0.2.100"),
            ("eth0.100", 51, "198.51.100.100"),
            ("eth0.200", 51, "203.0.113.100"),
            ("eth1", 7, "192.0.2.107"),
            ("eth1.5", 7, "198.51.100.107"),
        ]);
        let vlans = parents(&[("eth0.100", "eth0"), ("eth0.200", "eth0"), ("eth1.5", "eth1")]);
        let shared = shared_with_a_vlan(&config, &vlans);
        assert_eq!(
            shared,
            BTreeMap::from([
                ("eth0".to_owned(), (51, "eth0.100".to_owned())),
                ("eth1".to_owned(), (7, "eth1.5".to_owned())),
            ])
        );
    }
}
