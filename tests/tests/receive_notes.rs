//! FRR's IPv6 advertisement (its global virtual address alone, no link-local first) reaches a
//! vrrpd backup: the backup hears it and stays backup, and warns once per sender however many
//! arrive.

use std::{
    net::{IpAddr, Ipv6Addr},
    time::{Duration, Instant},
};

use vrrp_tests::{
    corpus::{self, Advert},
    lab::ReferenceLab,
    netns, require_root,
};

const VRID: u8 = 61;
const GLOBAL_VIP: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0x61);
const WARNING: &str = "without a link-local first address";
/// Longer than the backup's Master_Down_Interval (3.6 s at priority 100, 1 s adverts).
const HEARD_FOR: Duration = Duration::from_secs(6);

/// vrrpd's IPv6 instance: the link-local virtual address first, as vrrpd sends.
fn config() -> String {
    format!(
        "vrrp_instance VI6 {{
    state BACKUP
    interface ens3
    virtual_router_id {VRID}
    priority 100
    advert_int 1
    virtual_ipaddress {{
        fe80::61/64
        {GLOBAL_VIP}/64
    }}
}}
"
    )
}

/// FRR's advertisement from `source`: priority 200, its global virtual address alone.
fn frr_frame(source: Ipv6Addr, mac: [u8; 6]) -> Vec<u8> {
    let advert = Advert {
        vrid: VRID,
        priority: 200,
        // Encoded with a link-local placeholder, which the encoder requires, then replaced.
        addresses: vec![IpAddr::V6(Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 0x61))],
        source: IpAddr::V6(source),
        mac,
        ..Advert::v3_ipv6()
    };
    let mut frame = advert.frame();
    let layout = corpus::Layout::of(&frame);
    frame[layout.message + 8..layout.message + 24].copy_from_slice(&GLOBAL_VIP.octets());
    corpus::reseal(&mut frame, vrrp_common::checksum_form::V3_IPV6);
    frame
}

#[test]
fn a_backup_hears_frr_and_warns_once_per_sender() {
    require_root();
    let mut lab = ReferenceLab::with_prefix("kx").unwrap();
    let path = lab.write_config(1, "vrrpd.conf", &config()).unwrap();
    let vrrpd = lab.start_vrrpd(1, &path, &[]).unwrap();
    lab.daemon(vrrpd).wait_for_log("INIT -> BACKUP", Duration::from_secs(10)).unwrap();

    let sender = lab.router(2).to_owned();
    let mac = lab.lab.mac(&sender, "ens3").unwrap();
    let senders =
        [Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 2), Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 3)];
    let started = Instant::now();
    while started.elapsed() < HEARD_FOR {
        for source in senders {
            netns::send_frame(&sender, "ens3", &frr_frame(source, mac)).unwrap();
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    let log = lab.daemon(vrrpd).log_text();
    assert!(!log.contains("-> MASTER"), "the backup did not hear FRR's advertisements:\n{log}");
    let addresses = lab.lab.exec(lab.router(1), "ip", &["-o", "addr", "show", "dev", "ens3"]);
    let addresses = String::from_utf8_lossy(&addresses.unwrap().stdout).into_owned();
    assert!(!addresses.contains(&GLOBAL_VIP.to_string()), "the backup holds no VIP:\n{addresses}");
    for source in senders {
        let warned = log.lines().filter(|l| l.contains(WARNING) && l.contains(&source.to_string()));
        assert_eq!(warned.count(), 1, "one warning for {source}:\n{log}");
    }
}
