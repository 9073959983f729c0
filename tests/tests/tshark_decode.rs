//! Wireshark's VRRP dissector reads what our encoder writes: every field, and a Good checksum,
//! for VRRPv2, VRRPv3 over IPv4 with and without the pseudo-header, and VRRPv3 over IPv6.
//!
//! Needs `tshark` on the PATH and nothing else (no root, no network): it fails, never skips,
//! when tshark is missing.

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::Command;

use vrrp_proto::{Advertisement, Centiseconds, ChecksumMode, V2Auth, Version};

/// LINKTYPE_RAW: each record is an IPv4 or IPv6 packet, no link-layer header.
const LINKTYPE_RAW: u32 = 101;

/// The classic pcap format: a global header, then a record header before each packet.
fn write_pcap(path: &Path, packets: &[Vec<u8>]) {
    let mut file = Vec::new();
    file.extend_from_slice(&0xa1b2_c3d4_u32.to_le_bytes()); // magic, microseconds
    file.extend_from_slice(&2_u16.to_le_bytes()); // version 2.4
    file.extend_from_slice(&4_u16.to_le_bytes());
    file.extend_from_slice(&0_i32.to_le_bytes()); // GMT offset
    file.extend_from_slice(&0_u32.to_le_bytes()); // timestamp accuracy
    file.extend_from_slice(&65_535_u32.to_le_bytes()); // snap length
    file.extend_from_slice(&LINKTYPE_RAW.to_le_bytes());
    for (index, packet) in packets.iter().enumerate() {
        let length = u32::try_from(packet.len()).expect("a VRRP packet fits a pcap record");
        file.extend_from_slice(&(1_700_000_000 + index as u32).to_le_bytes());
        file.extend_from_slice(&0_u32.to_le_bytes());
        file.extend_from_slice(&length.to_le_bytes()); // captured
        file.extend_from_slice(&length.to_le_bytes()); // on the wire
        file.extend_from_slice(packet);
    }
    std::fs::write(path, file).expect("write the pcap");
}

const FIELDS: [&str; 11] = [
    "vrrp.version",
    "vrrp.type",
    "vrrp.virt_rtr_id",
    "vrrp.prio",
    "vrrp.addr_count",
    "vrrp.adver_int",
    "vrrp.short_adver_int",
    "vrrp.ip_addr",
    "vrrp.ipv6_addr",
    "vrrp.auth_type",
    "vrrp.checksum.status",
];

/// One row of `tshark -T fields` per packet, the fields in the order of [`FIELDS`].
fn tshark_rows(pcap: &Path, v3_checksum_as_in_v2: bool) -> Vec<Vec<String>> {
    let mut command = Command::new("tshark");
    command
        .arg("-n")
        .arg("-r")
        .arg(pcap)
        .arg("-o")
        .arg(format!(
            "vrrp.v3_checksum_as_in_v2:{}",
            if v3_checksum_as_in_v2 { "TRUE" } else { "FALSE" }
        ))
        .args(["-T", "fields", "-E", "separator=|", "-E", "occurrence=a", "-E", "aggregator=,"]);
    for field in FIELDS {
        command.args(["-e", field]);
    }
    let output = match command.output() {
        Ok(output) => output,
        Err(error) => panic!(
            "cannot run tshark ({error}): this test needs it; install it with \
             `apt-get install tshark` (Debian/Ubuntu) or your system's wireshark-cli package"
        ),
    };
    assert!(output.status.success(), "tshark failed: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|line| line.split('|').map(str::to_owned).collect())
        .collect()
}

struct Case {
    name: &'static str,
    packet: Vec<u8>,
    /// Expected values of [`FIELDS`], the checksum status excluded.
    fields: [&'static str; 10],
    /// Whether the checksum is Good with the preference off / on.
    good_by_default: bool,
    good_as_in_v2: bool,
}

fn cases() -> Vec<Case> {
    let v4 = |text: &str| text.parse::<IpAddr>().unwrap();
    let source_v4 = v4("192.168.200.1");
    let group_v4 = v4("224.0.0.18");
    let v2 = Advertisement::new(
        Version::V2,
        51,
        100,
        Centiseconds::from_seconds(3),
        vec![v4("192.168.200.16"), v4("192.168.200.17")],
    )
    .unwrap()
    .with_v2_auth(V2Auth { auth_type: 1, data: *b"secret\0\0" });
    let v3_ipv4 =
        Advertisement::new(Version::V3, 52, 150, Centiseconds::new(125), vec![v4("10.0.0.100")])
            .unwrap();
    let v3_ipv6 = Advertisement::new(
        Version::V3,
        53,
        254,
        Centiseconds::new(4095),
        vec![v4("fe80::53"), v4("2001:db8::53")],
    )
    .unwrap();
    let encode = |advert: &Advertisement, source, destination, mode| {
        advert.encode_ip_packet(source, destination, mode).unwrap()
    };
    vec![
        Case {
            name: "VRRPv2",
            packet: encode(&v2, source_v4, group_v4, ChecksumMode::default()),
            fields: ["2", "1", "51", "100", "2", "3", "", "192.168.200.16,192.168.200.17", "", "1"],
            good_by_default: true,
            good_as_in_v2: true,
        },
        Case {
            name: "VRRPv3/IPv4 with the pseudo-header",
            packet: encode(&v3_ipv4, source_v4, group_v4, ChecksumMode::Ipv4PseudoHeader),
            fields: ["3", "1", "52", "150", "1", "", "125", "10.0.0.100", "", ""],
            good_by_default: true,
            good_as_in_v2: false,
        },
        Case {
            name: "VRRPv3/IPv4 unicast with the pseudo-header",
            packet: encode(
                &v3_ipv4,
                source_v4,
                v4("192.168.200.2"),
                ChecksumMode::Ipv4PseudoHeader,
            ),
            fields: ["3", "1", "52", "150", "1", "", "125", "10.0.0.100", "", ""],
            good_by_default: true,
            good_as_in_v2: false,
        },
        Case {
            name: "VRRPv3/IPv4 without the pseudo-header",
            packet: encode(&v3_ipv4, source_v4, group_v4, ChecksumMode::Ipv4Plain),
            fields: ["3", "1", "52", "150", "1", "", "125", "10.0.0.100", "", ""],
            good_by_default: false,
            good_as_in_v2: true,
        },
        Case {
            name: "VRRPv3/IPv6",
            packet: encode(&v3_ipv6, v4("fe80::1"), v4("ff02::12"), ChecksumMode::default()),
            fields: ["3", "1", "53", "254", "2", "", "4095", "", "fe80::53,2001:db8::53", ""],
            good_by_default: true,
            good_as_in_v2: true,
        },
    ]
}

fn scratch_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("vrrp-tshark-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("create a scratch directory");
    dir
}

/// Wireshark shows checksum status 1 ("Good") and 0 ("Bad") in field output.
fn status(good: bool) -> &'static str {
    if good {
        "1"
    } else {
        "0"
    }
}

#[test]
fn tshark_decodes_every_field_and_calls_the_checksum_good() {
    let cases = cases();
    let dir = scratch_dir();
    let pcap = dir.join("adverts.pcap");
    let packets: Vec<Vec<u8>> = cases.iter().map(|case| case.packet.clone()).collect();
    write_pcap(&pcap, &packets);

    for as_in_v2 in [false, true] {
        let rows = tshark_rows(&pcap, as_in_v2);
        assert_eq!(rows.len(), cases.len(), "one line per packet: {rows:?}");
        for (case, row) in cases.iter().zip(&rows) {
            let good = if as_in_v2 { case.good_as_in_v2 } else { case.good_by_default };
            let mut expected: Vec<&str> = case.fields.to_vec();
            expected.push(status(good));
            assert_eq!(
                row, &expected,
                "{} (vrrp.v3_checksum_as_in_v2 = {as_in_v2}); fields {FIELDS:?}",
                case.name
            );
        }
    }
    std::fs::remove_dir_all(&dir).expect("remove the scratch directory");
}
