//! `mcast_src_ip` set to a multicast address, as in the second instance of the file
//! OpenStack neutron's L3 agent writes (`mcast_src_ip 224.0.0.1`, the configuration corpus'
//! `openstack-neutron-l3-ha.conf`). keepalived 2.2.7 starts such an instance and sends its
//! advertisements from that address (it writes the IPv4 header; vrrp.c vrrp_update_pkt() keeps a
//! configured source). vrrpd does the same on both data paths, with a warning, instead of
//! failing to start: the advertisements on the wire are compared with keepalived's.

use std::time::Duration;

use vrrp_tests::{lab::ReferenceLab, require_root};

/// neutron's VR_2 on the lab's interface, without its tracking and excluded addresses.
const CONFIG: &str = "vrrp_instance VR_2 {
    state MASTER
    interface ens3
    virtual_router_id 2
    priority 50
    garp_master_delay 60
    mcast_src_ip 224.0.0.1
    virtual_ipaddress {
        169.254.0.2/24 dev ens3
    }
}
";

/// What tcpdump shows of the first two advertisements the client sees, without timestamps.
fn adverts_on_the_wire(lab: &ReferenceLab) -> Vec<String> {
    let filter = "ip proto 112";
    let args = ["15", "tcpdump", "-n", "-l", "-t", "-c", "2", "-i", "eth0", filter];
    let out = lab.lab.exec(&lab.client, "timeout", &args).expect("two advertisements within 15 s");
    String::from_utf8_lossy(&out.stdout).lines().map(str::to_owned).collect()
}

fn holds_vip(lab: &ReferenceLab) -> bool {
    lab.holds(1, "169.254.0.2").unwrap()
}

#[test]
fn a_multicast_mcast_src_ip_is_sent_as_keepalived_sends_it() {
    require_root();
    let mut lab = ReferenceLab::with_prefix("ip").unwrap();
    let config = lab.write_config(1, "keepalived.conf", CONFIG).unwrap();

    let keepalived = lab.start_keepalived(1, &config).unwrap();
    vrrp_tests::wait_until("keepalived master", Duration::from_secs(20), || holds_vip(&lab))
        .unwrap();
    let expected = adverts_on_the_wire(&lab);
    assert_eq!(expected.len(), 2, "{expected:?}");
    for line in &expected {
        assert!(line.contains("224.0.0.1 > 224.0.0.18: VRRPv2, Advertisement, vrid 2, prio 50"));
    }
    lab.daemon(keepalived).stop(Duration::from_secs(5));
    vrrp_tests::wait_until("keepalived gone", Duration::from_secs(10), || !holds_vip(&lab))
        .unwrap();

    for datapath in ["xdp", "socket"] {
        let vrrpd = lab.start_vrrpd(1, &config, &["--datapath", datapath]).unwrap();
        let master = || {
            let status = lab.vrrpd_status(1).unwrap();
            status.is_some_and(|s| s.instances.iter().all(|i| i.state == "MASTER"))
        };
        if let Err(error) = vrrp_tests::wait_until("vrrpd master", Duration::from_secs(20), master)
        {
            panic!("{datapath}: {error}\n{}", lab.daemon(vrrpd).log_text());
        }
        assert_eq!(adverts_on_the_wire(&lab), expected, "{datapath}: as keepalived sends them");
        let log = lab.daemon(vrrpd).log_text();
        assert!(log.contains("sent from 224.0.0.1"), "{datapath}: the warning\n{log}");
        lab.daemon(vrrpd).stop(Duration::from_secs(5));
    }
}
