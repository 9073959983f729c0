//! Resynchronisation after the netlink event socket overflowed (ENOBUFS): the events the
//! kernel dropped are unknown, so links and addresses are read again in full and every fact
//! the instances depend on is given to the node once more. The node ignores what did not
//! change (`handle_link` reports only changes; a virtual address found missing is put back
//! only by an instance that holds it), so replaying is safe.
//!
//! keepalived does the same on ENOBUFS (keepalived vrrp_netlink.c netlink_parse_info():
//! "Netlink: Receive buffer overrun" then a full dump of interfaces and addresses).

use std::{
    collections::{BTreeSet, HashMap},
    net::IpAddr,
    time::Instant,
};

use anyhow::Result;

use crate::{daemon::Daemon, netlink::Netlink};

/// The kernel's links and addresses, as dumped.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Dump {
    /// Interface name: (ifindex, usable).
    pub links: HashMap<String, (u32, bool)>,
    /// Addresses by ifindex.
    pub addresses: HashMap<u32, Vec<IpAddr>>,
}

/// What one running instance depends on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Watched<Id> {
    pub id: Id,
    pub interface: String,
    pub ifindex: u32,
    /// Its virtual addresses, each with the ifindex it is installed on.
    pub addresses: Vec<(u32, IpAddr)>,
}

/// One fact to give the node again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step<Id> {
    /// The link's state (gone from the dump: not usable).
    Link { name: String, usable: bool },
    /// The addresses on this interface changed, perhaps its primary one.
    InterfaceAddresses { ifindex: u32 },
    /// An instance's virtual address is not on its interface.
    AddressMissing { id: Id, address: IpAddr },
}

/// Every fact the instances depend on, from a fresh dump: each interface's state once, each
/// interface's addresses once, and each virtual address that is missing.
pub fn plan<Id: Copy>(watched: &[Watched<Id>], dump: &Dump) -> Vec<Step<Id>> {
    let mut steps = Vec::new();
    let interfaces: BTreeSet<&str> = watched.iter().map(|w| w.interface.as_str()).collect();
    for name in interfaces {
        let usable = dump.links.get(name).is_some_and(|&(_, usable)| usable);
        steps.push(Step::Link { name: name.to_owned(), usable });
    }
    let ifindexes: BTreeSet<u32> = watched.iter().map(|w| w.ifindex).collect();
    steps.extend(ifindexes.into_iter().map(|ifindex| Step::InterfaceAddresses { ifindex }));
    for instance in watched {
        for &(ifindex, address) in &instance.addresses {
            let present = dump.addresses.get(&ifindex).is_some_and(|list| list.contains(&address));
            if !present {
                steps.push(Step::AddressMissing { id: instance.id, address });
            }
        }
    }
    steps
}

impl Netlink {
    /// Every link and every address, as the kernel holds them now.
    pub async fn dump(&self) -> Result<Dump> {
        let mut dump = Dump::default();
        for (name, ifindex, usable) in self.links().await? {
            dump.links.insert(name, (ifindex, usable));
        }
        for (ifindex, address) in self.all_addresses().await? {
            dump.addresses.entry(ifindex).or_default().push(address);
        }
        Ok(dump)
    }
}

impl Daemon {
    /// After lost events: reads links and addresses again and replays them to the node.
    pub(crate) async fn resync_netlink(&mut self) {
        crate::recovery::count(crate::recovery::Event::NetlinkResync);
        log::warn!(
            "netlink events were lost (receive buffer overrun); reading links and addresses again"
        );
        let dump = match self.netlink.dump().await {
            Ok(dump) => dump,
            Err(error) => {
                log::error!("resynchronising after lost netlink events: {error:#}");
                return;
            }
        };
        let watched: Vec<_> = self
            .io
            .iter()
            .map(|(id, instance)| Watched {
                id: *id,
                interface: instance.spec.interface.clone(),
                ifindex: instance.ifindex,
                addresses: instance.addresses.iter().map(|v| (v.ifindex, v.address)).collect(),
            })
            .collect();
        let now = Instant::now();
        for step in plan(&watched, &dump) {
            match step {
                Step::Link { name, usable } => {
                    if self.node.handle_link(now, &name, usable) {
                        log::info!("interface {name} is {}", if usable { "up" } else { "down" });
                    }
                }
                Step::InterfaceAddresses { ifindex } => self.follow_primary_address(ifindex).await,
                Step::AddressMissing { id, address } => {
                    if self.node.handle_address_removed(now, id, address) {
                        log::warn!(
                            "{}: {address} is missing after lost netlink events; putting it back",
                            self.name(id)
                        );
                    }
                }
            }
        }
        log::info!("netlink resynchronised");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn address(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    fn watched() -> Vec<Watched<u8>> {
        vec![
            Watched {
                id: 1,
                interface: "eth0".into(),
                ifindex: 2,
                addresses: vec![(2, address("192.0.2.100")), (2, address("192.0.2.101"))],
            },
            Watched {
                id: 2,
                interface: "eth0".into(),
                ifindex: 2,
                addresses: vec![(2, address("2001:db8::100"))],
            },
            Watched {
                id: 3,
                interface: "eth1".into(),
                ifindex: 3,
                addresses: vec![(3, address("198.51.100.100"))],
            },
        ]
    }

    #[test]
    fn a_full_dump_replays_links_addresses_and_missing_vips_once_each() {
        let dump = Dump {
            links: HashMap::from([("eth0".into(), (2, true)), ("eth1".into(), (3, false))]),
            addresses: HashMap::from([
                (2, vec![address("192.0.2.1"), address("192.0.2.100"), address("2001:db8::100")]),
                (3, vec![address("198.51.100.1"), address("198.51.100.100")]),
            ]),
        };
        assert_eq!(
            plan(&watched(), &dump),
            vec![
                Step::Link { name: "eth0".into(), usable: true },
                Step::Link { name: "eth1".into(), usable: false },
                Step::InterfaceAddresses { ifindex: 2 },
                Step::InterfaceAddresses { ifindex: 3 },
                Step::AddressMissing { id: 1, address: address("192.0.2.101") },
            ]
        );
    }

    #[test]
    fn a_link_gone_from_the_dump_is_down_and_its_addresses_missing() {
        let dump = Dump {
            links: HashMap::from([("eth0".into(), (2, true))]),
            addresses: HashMap::from([(
                2,
                vec![address("192.0.2.100"), address("192.0.2.101"), address("2001:db8::100")],
            )]),
        };
        let steps = plan(&watched(), &dump);
        assert!(steps.contains(&Step::Link { name: "eth1".into(), usable: false }));
        assert!(steps.contains(&Step::AddressMissing { id: 3, address: address("198.51.100.100") }));
        assert_eq!(steps.iter().filter(|s| matches!(s, Step::AddressMissing { .. })).count(), 1);
    }

    #[test]
    fn nothing_watched_nothing_replayed() {
        assert!(plan::<u8>(&[], &Dump::default()).is_empty());
    }
}
