//! Where and when a master's gratuitous ARPs go, seen by captures on each of its links: every
//! address is announced on the interface it is installed on, with that interface's MAC; with
//! `garp_extra_if all`, a master also announces, every period, the first address of each other
//! interface (keepalived vrrp.c vrrp_send_vmac_update()).
//!
//! ```text
//!   r1 ens3 (192.0.2.1) ── br0 ── cl eth0        VIP 192.0.2.100 on ens3
//!   r1 va…x (198.51.100.1) ──── cl vb…x          198.51.100.100 and .101 on va…x
//! ```

use std::time::Duration;

use vrrp_tests::{
    lab::{ReferenceLab, VIP},
    require_root,
    timeline::Background,
    wait_until,
};

const ELECTION: Duration = Duration::from_secs(30);

/// The ARP requests in a tcpdump `-e -n` capture, as (sender MAC, address announced).
fn garps(capture: &str) -> Vec<(String, String)> {
    capture
        .lines()
        .filter(|line| line.contains("ARP") && line.contains("who-has"))
        .filter_map(|line| {
            let words: Vec<&str> = line.split_whitespace().collect();
            let mac = words.get(1)?.to_string();
            let target =
                words.iter().position(|w| *w == "who-has").and_then(|i| words.get(i + 1))?;
            let sender = words.iter().position(|w| *w == "tell").and_then(|i| words.get(i + 1))?;
            // Gratuitous: the sender asks for its own address.
            (target == &sender.trim_end_matches(',')).then(|| (mac, target.to_string()))
        })
        .collect()
}

fn mac_text(mac: [u8; 6]) -> String {
    mac.iter().map(|byte| format!("{byte:02x}")).collect::<Vec<_>>().join(":")
}

#[test]
fn garp_extra_if_announces_the_other_interface_on_its_own_link() {
    require_root();
    let mut lab = ReferenceLab::with_prefix("ga").expect("building the lab");
    let (r1, client) = (lab.router(1).to_owned(), lab.client.clone());
    let (extra, far) = lab.lab.veth(&r1, &client, "x").unwrap();
    lab.lab.exec(&r1, "ip", &["addr", "add", "198.51.100.1/24", "dev", &extra]).unwrap();
    lab.lab.exec(&client, "ip", &["addr", "add", "198.51.100.10/24", "dev", &far]).unwrap();
    let own_mac = mac_text(lab.lab.mac(&r1, "ens3").unwrap());
    let extra_mac = mac_text(lab.lab.mac(&r1, &extra).unwrap());

    let captures = [("eth0", "main"), (far.as_str(), "extra")].map(|(ifname, label)| {
        let output = lab.dir.join(format!("{label}-arp.txt"));
        let args = ["-i", ifname, "-n", "-e", "-l", "arp"];
        Background::start(&client, output, "tcpdump", &args).unwrap()
    });
    std::thread::sleep(Duration::from_millis(500));

    // One burst of one round on becoming master (no second burst), then the extra rounds.
    let text = format!(
        "global_defs {{\n    vrrp_garp_master_delay 0\n    vrrp_garp_master_repeat 1\n}}\n\
         vrrp_instance VI_1 {{\n    interface ens3\n    virtual_router_id 51\n    priority 150\n    \
         advert_int 1\n    garp_extra_if all 2\n    virtual_ipaddress {{\n        {VIP}/24\n        \
         198.51.100.100/24 dev {extra}\n        198.51.100.101/24 dev {extra}\n    }}\n}}\n"
    );
    let config = lab.write_config(1, "keepalived.conf", &text).unwrap();
    lab.start_vrrpd(1, &config, &[]).unwrap();
    lab.wait_for_master(1, ELECTION).expect("router 1 alone becomes master");

    let on_extra = || garps(&captures[1].text());
    let first_address = |seen: &[(String, String)]| {
        seen.iter().filter(|(_, address)| address == "198.51.100.100").count()
    };
    // The burst's one, then one every 2 s: three extra rounds within a generous bound.
    let waited = wait_until("four announcements of 198.51.100.100", ELECTION, || {
        first_address(&on_extra()) >= 4
    });
    let extra_seen = on_extra();
    let main_seen = garps(&captures[0].text());
    assert!(waited.is_ok(), "{extra_seen:?}\n{}\n{}", captures[1].text(), lab.daemon(0).log_text());
    // Everything on the extra link comes from its own MAC; the burst announced both of its
    // addresses first, the extra rounds only the first.
    assert!(extra_seen.iter().all(|(mac, _)| *mac == extra_mac), "{extra_seen:?}");
    let addresses: Vec<&str> = extra_seen.iter().map(|(_, address)| address.as_str()).collect();
    assert_eq!(&addresses[..2], ["198.51.100.100", "198.51.100.101"], "{addresses:?}");
    assert!(addresses[2..].iter().all(|a| *a == "198.51.100.100"), "{addresses:?}");
    // The instance's own link hears its VIP once, from its MAC, and nothing of the others.
    assert_eq!(main_seen, vec![(own_mac, VIP.to_owned())], "{}", captures[0].text());
}

/// Epoch seconds of a tcpdump `-tt` line.
fn stamp(line: &str) -> Option<f64> {
    line.split_whitespace().next()?.parse().ok()
}

#[test]
fn a_garp_group_spaces_the_rounds_on_its_interface() {
    require_root();
    let mut lab = ReferenceLab::with_prefix("gg").expect("building the lab");
    let client = lab.client.clone();
    let output = lab.dir.join("arp.txt");
    let args = ["-i", "eth0", "-n", "-e", "-tt", "-l", "arp"];
    let capture = Background::start(&client, output, "tcpdump", &args).unwrap();
    std::thread::sleep(Duration::from_millis(500));

    // Three rounds, no second burst; the global spacing (none) is replaced on ens3 by 0.3 s.
    let text = format!(
        "global_defs {{\n    vrrp_garp_master_delay 0\n    vrrp_garp_master_repeat 3\n}}\n\
         garp_group {{\n    garp_interval 0.3\n    interfaces {{\n        ens3\n    }}\n}}\n\
         vrrp_instance VI_1 {{\n    interface ens3\n    virtual_router_id 51\n    priority 150\n    \
         advert_int 1\n    virtual_ipaddress {{\n        {VIP}/24\n    }}\n}}\n"
    );
    let config = lab.write_config(1, "keepalived.conf", &text).unwrap();
    lab.start_vrrpd(1, &config, &[]).unwrap();
    lab.wait_for_master(1, ELECTION).expect("router 1 alone becomes master");
    let vip_garps = || {
        let text = capture.text();
        let times: Vec<f64> = text
            .lines()
            .filter(|line| line.contains(&format!("who-has {VIP}")))
            .filter(|line| line.contains(&format!("tell {VIP},")))
            .filter_map(stamp)
            .collect();
        times
    };
    let waited = wait_until("three announcements", ELECTION, || vip_garps().len() >= 3);
    assert!(waited.is_ok(), "{}\n{}", capture.text(), lab.daemon(0).log_text());
    let times = vip_garps();
    // Timers fire late, never early: each round at least the group's 0.3 s (less a margin for
    // the capture's clock) after the one before, where without the group all three go at once.
    let gaps: Vec<f64> = times.windows(2).map(|pair| pair[1] - pair[0]).collect();
    assert!(gaps.iter().all(|gap| *gap >= 0.25), "gaps {gaps:?}:\n{}", capture.text());
    println!("gaps between rounds with garp_interval 0.3: {gaps:?} s");
}

/// keepalived sends no gratuitous ARP on an interface with IFF_NOARP (vrrp_arp.c
/// send_gratuitous_arp()): the address there is installed but never announced, while the
/// instance's own link keeps hearing its VIP.
#[test]
fn no_garp_on_an_interface_without_arp() {
    require_root();
    let mut lab = ReferenceLab::with_prefix("gn").expect("building the lab");
    let (r1, client) = (lab.router(1).to_owned(), lab.client.clone());
    let (extra, far) = lab.lab.veth(&r1, &client, "x").unwrap();
    lab.lab.exec(&r1, "ip", &["addr", "add", "198.51.100.1/24", "dev", &extra]).unwrap();
    lab.lab.exec(&r1, "ip", &["link", "set", &extra, "arp", "off"]).unwrap();
    lab.lab.exec(&client, "ip", &["addr", "add", "198.51.100.10/24", "dev", &far]).unwrap();

    let captures = [("eth0", "main"), (far.as_str(), "noarp")].map(|(ifname, label)| {
        let output = lab.dir.join(format!("{label}-arp.txt"));
        let args = ["-i", ifname, "-n", "-e", "-l", "arp"];
        Background::start(&client, output, "tcpdump", &args).unwrap()
    });
    std::thread::sleep(Duration::from_millis(500));

    // Announced again every second while master: every round would reach both links.
    let text = format!(
        "global_defs {{\n    vrrp_garp_master_delay 0\n    vrrp_garp_master_repeat 1\n    \
         vrrp_garp_master_refresh 1\n}}\n\
         vrrp_instance VI_1 {{\n    interface ens3\n    virtual_router_id 51\n    priority 150\n    \
         advert_int 1\n    virtual_ipaddress {{\n        {VIP}/24\n        \
         198.51.100.100/24 dev {extra}\n    }}\n}}\n"
    );
    let config = lab.write_config(1, "keepalived.conf", &text).unwrap();
    lab.start_vrrpd(1, &config, &[]).unwrap();
    lab.wait_for_master(1, ELECTION).expect("router 1 alone becomes master");

    let vip_rounds = || garps(&captures[0].text()).iter().filter(|(_, a)| a == VIP).count();
    let waited = wait_until("three announcements of the VIP", ELECTION, || vip_rounds() >= 3);
    assert!(waited.is_ok(), "{}\n{}", captures[0].text(), lab.daemon(0).log_text());
    // The address is there, yet nothing was announced for it.
    let shown = lab.lab.exec(&r1, "ip", &["-4", "addr", "show", "dev", &extra]).unwrap();
    let on_r1 = String::from_utf8_lossy(&shown.stdout);
    assert!(on_r1.contains("198.51.100.100/24"), "{on_r1}");
    let noarp_seen = garps(&captures[1].text());
    assert!(noarp_seen.is_empty(), "{noarp_seen:?}\n{}", captures[1].text());
}
