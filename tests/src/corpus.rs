//! The frames the kernel tests run through the XDP program, and the configuration they are
//! judged against: valid advertisements of every kind, one malformed frame (or more) per drop
//! reason, and traffic that is not VRRP.
//!
//! Valid advertisements come from `vrrp-proto`'s encoder; malformed ones are valid frames with one
//! defect written into their bytes, resealed with a correct checksum when the defect sits behind
//! the checksum check, so each frame trips exactly the check it is named after.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use anyhow::Result;
use vrrp_common::{
    checksum_form, instance_flags,
    wire::{ETH_P_8021AD, ETH_P_8021Q, ETH_P_IP, ETH_P_IPV6, IPPROTO_VRRP},
    Counter, InstanceConfig, InstanceKey, Peer, FAMILY_IPV4, FAMILY_IPV6, MAX_UNICAST_PEERS,
    VLAN_STACKED,
};
use vrrp_proto::{Advertisement, Centiseconds, ChecksumMode, V2Auth, Version};
use vrrp_user::xdp::XdpDatapath;

use crate::frames::{self, Tag, PEER_MAC};

/// BPF_PROG_TEST_RUN runs every frame as received on loopback; the instances live there.
pub const IFINDEX: u32 = 1;

pub const ROUTER_V4: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);
pub const PEER_V4: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 2);
pub const OTHER_PEER_V4: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 3);
pub const STRANGER_V4: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 66);
pub const VIP_V4: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 100);
pub const GROUP_V4: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 18);
pub const PEER_V6: Ipv6Addr = Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 2);
pub const VIP_V6_LINK_LOCAL: Ipv6Addr = Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 0x100);
pub const VIP_V6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0x100);
pub const GROUP_V6: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 0x12);
/// Another group, as keepalived's `vrrp_mcast_group4` / `vrrp_mcast_group6` or `mcast_dst_ip`
/// name one.
pub const CUSTOM_GROUP_V4: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 99);
pub const CUSTOM_GROUP_V6: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 0x99);

pub const ROUTER_MAC: [u8; 6] = [0x02, 0x00, 0x00, 0x00, 0x00, 0x01];
pub const OTHER_MAC: [u8; 6] = [0x02, 0x00, 0x00, 0x00, 0x00, 0x03];
pub const STRANGER_MAC: [u8; 6] = [0x02, 0x00, 0x00, 0x00, 0x00, 0x66];

/// One instance per kind of advertisement, so every valid frame has an instance of its own kind.
pub const VRID_V2: u8 = 2;
pub const VRID_V3: u8 = 3;
pub const VRID_V6: u8 = 6;
/// Unicast: a full peer table, `PEER_V4` last (the longest search), its MAC not pinned.
pub const VRID_PEERS: u8 = 7;
/// Unicast, as in the reference scenario: `PEER_V4` alone, pinned to `PEER_MAC`.
pub const VRID_PINNED: u8 = 8;
/// Unicast: `PEER_V4` alone, two routers away (`min_ttl 250 max_ttl 253`).
pub const VRID_TTL_LIMITED: u8 = 9;
/// VRRPv2 with keepalived's `auth_type PASS`, password [`PASSWORD`].
pub const VRID_V2_PASS: u8 = 12;
pub const PASSWORD: [u8; 8] = *b"s3cret\0\0";
pub const PEER_MIN_TTL: u8 = 250;
pub const PEER_MAX_TTL: u8 = 253;
/// Multicast on [`CUSTOM_GROUP_V4`] / [`CUSTOM_GROUP_V6`] (the other multicast instances are
/// on the standard groups, as the daemon configures them).
pub const VRID_CUSTOM_GROUP: u8 = 13;
pub const VRID_CUSTOM_GROUP_V6: u8 = 14;
/// Unicast: `PEER_V4` alone, accepting keepalived's pre-1.3.6 checksum (the pseudo-header on
/// [`GROUP_V4`]), as `old_unicast_checksum` configures it. The other unicast instances do not.
pub const VRID_OLD_UNICAST: u8 = 15;
pub const VRID_UNCONFIGURED: u8 = 99;
/// The VLAN with instances of its own: `VRID_V3` and `VRID_V6` again, as on `eth0.10`.
pub const VLAN: u16 = 10;
/// A VLAN with no instance.
pub const OTHER_VLAN: u16 = 11;

/// The bytes of a frame an XDP program sees in BPF_PROG_TEST_RUN (x86_64): a 4096-byte page
/// less XDP_PACKET_HEADROOM (256) and the aligned skb_shared_info (320). Larger frames are
/// accepted, the rest going to page fragments the program (not multi-buffer) cannot read.
pub const TEST_RUN_LINEAR_MAX: usize = 3520;
/// The largest frame BPF_PROG_TEST_RUN accepts: the linear part and MAX_SKB_FRAGS (17) pages.
pub const TEST_RUN_MAX_FRAME: usize = TEST_RUN_LINEAR_MAX + 17 * 4096;

/// One instance of the corpus: where it lives, its configuration, its unicast peers.
pub type Instance = (InstanceKey, InstanceConfig, Vec<Peer>);

/// The instances on loopback, each with `extra_flags` added (CONSUME_VALID, MIRROR_ALL).
pub fn instances(extra_flags: u8) -> Vec<Instance> {
    let peer = |address: Ipv4Addr, pinned| Peer {
        addr: address_key(IpAddr::V4(address)),
        mac: PEER_MAC,
        pinned,
        ..Peer::default()
    };
    // Addresses no corpus frame comes from, ahead of the peer that sends.
    let mut full_table: Vec<Peer> = (0..MAX_UNICAST_PEERS as u8 - 1)
        .map(|n| peer(Ipv4Addr::new(192, 0, 2, 10 + n), 0))
        .collect();
    full_table.push(peer(PEER_V4, 0));
    let routed_peer =
        Peer { ttl_limited: 1, min_ttl: PEER_MIN_TTL, max_ttl: PEER_MAX_TTL, ..peer(PEER_V4, 0) };
    let standard_v4 = address_key(IpAddr::V4(GROUP_V4));
    let standard_v6 = address_key(IpAddr::V6(GROUP_V6));
    let custom_v4 = address_key(IpAddr::V4(CUSTOM_GROUP_V4));
    let custom_v6 = address_key(IpAddr::V6(CUSTOM_GROUP_V6));
    let unicast = [0; 16];
    let mut instances: Vec<Instance> = [
        (VRID_V2, FAMILY_IPV4, 2, standard_v4, vec![]),
        (VRID_V3, FAMILY_IPV4, 3, standard_v4, vec![]),
        (VRID_V6, FAMILY_IPV6, 3, standard_v6, vec![]),
        (VRID_CUSTOM_GROUP, FAMILY_IPV4, 3, custom_v4, vec![]),
        (VRID_CUSTOM_GROUP_V6, FAMILY_IPV6, 3, custom_v6, vec![]),
        (VRID_PEERS, FAMILY_IPV4, 3, unicast, full_table),
        (VRID_PINNED, FAMILY_IPV4, 3, unicast, vec![peer(PEER_V4, 1)]),
        (VRID_TTL_LIMITED, FAMILY_IPV4, 3, unicast, vec![routed_peer]),
    ]
    .into_iter()
    .map(|(vrid, family, version, group, peers)| {
        // `peer_count` is set by `XdpDatapath::set_instance` from the peers given.
        let config =
            InstanceConfig { version, flags: extra_flags, group, ..InstanceConfig::default() };
        (InstanceKey::new(IFINDEX, vrid, family), config, peers)
    })
    .collect();
    let old_unicast = InstanceConfig {
        version: 3,
        flags: extra_flags | instance_flags::OLD_UNICAST_CHECKSUM,
        old_unicast_group: GROUP_V4.octets(),
        ..InstanceConfig::default()
    };
    instances.push((
        InstanceKey::new(IFINDEX, VRID_OLD_UNICAST, FAMILY_IPV4),
        old_unicast,
        vec![peer(PEER_V4, 0)],
    ));
    let password = InstanceConfig {
        version: 2,
        flags: extra_flags,
        auth_type: V2Auth::TYPE_PASS,
        auth_data: PASSWORD,
        group: standard_v4,
        ..InstanceConfig::default()
    };
    instances.push((InstanceKey::new(IFINDEX, VRID_V2_PASS, FAMILY_IPV4), password, vec![]));
    // The same VRIDs on VLAN 10: other instances, which the untagged ones never hear.
    for (vrid, family, group) in
        [(VRID_V3, FAMILY_IPV4, standard_v4), (VRID_V6, FAMILY_IPV6, standard_v6)]
    {
        let v3 =
            InstanceConfig { version: 3, flags: extra_flags, group, ..InstanceConfig::default() };
        instances.push((InstanceKey::tagged(IFINDEX, VLAN, vrid, family), v3, vec![]));
    }
    instances
}

/// Writes [`instances`] into the program's map.
pub fn configure(datapath: &mut XdpDatapath, extra_flags: u8) -> Result<()> {
    for (key, config, peers) in instances(extra_flags) {
        datapath.set_instance(key, config, &peers)?;
    }
    Ok(())
}

/// An address as the maps and records store it: IPv4 in the first four bytes.
pub fn address_key(address: IpAddr) -> [u8; 16] {
    vrrp_common::address_bytes(address)
}

/// An advertisement and the frame around it, as plain fields for struct-update syntax.
#[derive(Clone, Debug)]
pub struct Advert {
    pub version: Version,
    pub vrid: u8,
    pub priority: u8,
    pub interval_cs: u16,
    pub addresses: Vec<IpAddr>,
    pub source: IpAddr,
    pub destination: IpAddr,
    pub checksum: ChecksumMode,
    pub mac: [u8; 6],
    pub tags: Vec<Tag>,
    /// VRRPv2 only.
    pub auth: V2Auth,
}

impl Advert {
    pub fn v2() -> Self {
        Self { version: Version::V2, vrid: VRID_V2, ..Self::v3_ipv4() }
    }

    /// To the instance with a password, with that password.
    pub fn v2_pass() -> Self {
        Self { vrid: VRID_V2_PASS, auth: V2Auth::password(PASSWORD), ..Self::v2() }
    }

    /// With keepalived's checksum (IPv4 pseudo-header).
    pub fn v3_ipv4() -> Self {
        Self {
            version: Version::V3,
            vrid: VRID_V3,
            priority: 100,
            interval_cs: 100,
            addresses: vec![IpAddr::V4(VIP_V4)],
            source: IpAddr::V4(PEER_V4),
            destination: IpAddr::V4(GROUP_V4),
            checksum: ChecksumMode::Ipv4PseudoHeader,
            mac: PEER_MAC,
            tags: Vec::new(),
            auth: V2Auth::NONE,
        }
    }

    /// From a link-local address to ff02::12, the link-local virtual address first.
    pub fn v3_ipv6() -> Self {
        Self {
            vrid: VRID_V6,
            addresses: vec![IpAddr::V6(VIP_V6_LINK_LOCAL), IpAddr::V6(VIP_V6)],
            source: IpAddr::V6(PEER_V6),
            destination: IpAddr::V6(GROUP_V6),
            ..Self::v3_ipv4()
        }
    }

    /// To the instance on [`CUSTOM_GROUP_V4`].
    pub fn custom_group() -> Self {
        Self {
            vrid: VRID_CUSTOM_GROUP,
            destination: IpAddr::V4(CUSTOM_GROUP_V4),
            ..Self::v3_ipv4()
        }
    }

    /// To the instance on [`CUSTOM_GROUP_V6`].
    pub fn custom_group_v6() -> Self {
        Self {
            vrid: VRID_CUSTOM_GROUP_V6,
            destination: IpAddr::V6(CUSTOM_GROUP_V6),
            ..Self::v3_ipv6()
        }
    }

    fn advertisement(&self) -> Advertisement {
        Advertisement::new(
            self.version,
            self.vrid,
            self.priority,
            Centiseconds::new(self.interval_cs),
            self.addresses.clone(),
        )
        .expect("corpus advertisements are valid")
        .with_v2_auth(self.auth)
    }

    /// The Ethernet frame, with the encoder's checksum.
    pub fn frame(&self) -> Vec<u8> {
        let packet = self
            .advertisement()
            .encode_ip_packet(self.source, self.destination, self.checksum)
            .expect("source and destination match the addresses' family");
        let (ethertype, destination_mac) = match self.destination {
            IpAddr::V4(group) if group.is_multicast() => {
                let octets = group.octets();
                (ETH_P_IP, [0x01, 0x00, 0x5e, octets[1] & 0x7f, octets[2], octets[3]])
            }
            IpAddr::V6(group) if group.is_multicast() => {
                let octets = group.octets();
                (ETH_P_IPV6, [0x33, 0x33, octets[12], octets[13], octets[14], octets[15]])
            }
            IpAddr::V4(_) => (ETH_P_IP, ROUTER_MAC),
            IpAddr::V6(_) => (ETH_P_IPV6, ROUTER_MAC),
        };
        frames::ethernet_tagged(destination_mac, self.mac, ethertype, &self.tags, &packet)
    }

    pub fn key(&self) -> InstanceKey {
        let family = if self.source.is_ipv4() { FAMILY_IPV4 } else { FAMILY_IPV6 };
        let vlan = match self.tags.as_slice() {
            [] => 0,
            [tag] => tag.vid & 0x0fff,
            _ => VLAN_STACKED,
        };
        InstanceKey::tagged(IFINDEX, vlan, self.vrid, family)
    }

    /// What the kernel must record when it accepts this advertisement.
    pub fn recorded(&self) -> Recorded {
        Recorded {
            key: self.key(),
            version: self.version.number(),
            priority: self.priority,
            interval_cs: self.interval_cs,
            checksum_form: self.advertisement().checksum_form(self.checksum).as_common(),
            sender: address_key(self.source),
            sender_mac: self.mac,
            first_not_link_local: false,
        }
    }
}

/// The fields of `InstanceRecord` and `AdvertEvent` a valid advertisement determines.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Recorded {
    pub key: InstanceKey,
    pub version: u8,
    pub priority: u8,
    pub interval_cs: u16,
    pub checksum_form: u8,
    pub sender: [u8; 16],
    pub sender_mac: [u8; 6],
    /// Counted under `not_link_local` beside the verdict, and said in the event's causes.
    pub first_not_link_local: bool,
}

/// What the program must do with a frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Expect {
    /// Valid: passed (or consumed), recorded, counted as reported or absorbed.
    Valid(Recorded),
    /// Valid but for no instance here: passed untouched, counted under this reason.
    Passed(Counter),
    /// Dropped and counted under this reason alone.
    Drop(Counter),
    /// Not VRRP: passed and counted nowhere.
    NotVrrp,
}

pub struct Case {
    pub name: &'static str,
    pub frame: Vec<u8>,
    pub expect: Expect,
}

/// Where the parts of a frame built here sit.
#[derive(Clone, Copy, Debug)]
pub struct Layout {
    /// Offset of the IP header.
    pub ip: usize,
    pub family: u8,
    /// Offset and length of the VRRP message (the IP payload).
    pub message: usize,
    pub message_len: usize,
}

impl Layout {
    /// The layout of a well-formed IPv4 or IPv6 frame (any number of VLAN tags).
    pub fn of(frame: &[u8]) -> Self {
        let mut ip = 12;
        while [ETH_P_8021Q, ETH_P_8021AD].contains(&be16(frame, ip)) {
            ip += 4;
        }
        let ethertype = be16(frame, ip);
        ip += 2;
        match ethertype {
            ETH_P_IP => {
                let header_len = usize::from(frame[ip] & 0x0f) * 4;
                let message_len = usize::from(be16(frame, ip + 2)) - header_len;
                Self { ip, family: FAMILY_IPV4, message: ip + header_len, message_len }
            }
            ETH_P_IPV6 => {
                let message_len = usize::from(be16(frame, ip + 4));
                Self { ip, family: FAMILY_IPV6, message: ip + 40, message_len }
            }
            other => panic!("not an IP frame (EtherType {other:#06x})"),
        }
    }

    /// Offset of the TTL (IPv4) or hop limit (IPv6).
    pub fn ttl(&self) -> usize {
        self.ip + if self.family == FAMILY_IPV4 { 8 } else { 7 }
    }

    /// Offset of the IPv4 total length or IPv6 payload length.
    pub fn ip_length(&self) -> usize {
        self.ip + if self.family == FAMILY_IPV4 { 2 } else { 4 }
    }

    /// The value of the IPv4 total length or IPv6 payload length field.
    pub fn ip_len_field(&self) -> usize {
        self.message_len + if self.family == FAMILY_IPV4 { self.message - self.ip } else { 0 }
    }
}

fn be16(frame: &[u8], offset: usize) -> u16 {
    u16::from_be_bytes([frame[offset], frame[offset + 1]])
}

fn set_be16(frame: &mut [u8], offset: usize, value: u16) {
    frame[offset..offset + 2].copy_from_slice(&value.to_be_bytes());
}

/// Rewrites the VRRP checksum of `frame` in `form` (one of `checksum_form`), over the message
/// length the IP header announces. The pseudo-header forms use the frame's own family.
pub fn reseal(frame: &mut [u8], form: u8) {
    let layout = Layout::of(frame);
    let (start, end) = (layout.message, layout.message + layout.message_len);
    set_be16(frame, start + 6, 0);
    let with_pseudo_header =
        form == checksum_form::V3_IPV4_PSEUDO || form == checksum_form::V3_IPV6;
    let ip = layout.ip;
    let ipv4 = |at: usize| Ipv4Addr::from(<[u8; 4]>::try_from(&frame[at..at + 4]).unwrap());
    if form == checksum_form::V3_IPV4_OLD_UNICAST {
        // keepalived's pre-1.3.6 unicast form, on the corpus's group.
        let pseudo = frames::ipv4_pseudo_sum(ipv4(ip + 12), GROUP_V4, IPPROTO_VRRP, end - start);
        let checksum = frames::internet_checksum(&frame[start..end], pseudo);
        set_be16(frame, start + 6, checksum);
        return;
    }
    let pseudo = match (with_pseudo_header, layout.family) {
        (false, _) => 0,
        (true, FAMILY_IPV4) => {
            let address =
                |at: usize| Ipv4Addr::from(<[u8; 4]>::try_from(&frame[at..at + 4]).unwrap());
            frames::ipv4_pseudo_sum(address(ip + 12), address(ip + 16), IPPROTO_VRRP, end - start)
        }
        (true, _) => {
            let address =
                |at: usize| Ipv6Addr::from(<[u8; 16]>::try_from(&frame[at..at + 16]).unwrap());
            frames::ipv6_pseudo_sum(address(ip + 8), address(ip + 24), IPPROTO_VRRP, end - start)
        }
    };
    let checksum = frames::internet_checksum(&frame[start..end], pseudo);
    set_be16(frame, start + 6, checksum);
}

/// Ethernet frames carrying every kind of valid advertisement, each on its own instance.
pub fn valid() -> Vec<Case> {
    let tagged = |tpid| vec![Tag { tpid, vid: VLAN }];
    let plain = ChecksumMode::Ipv4Plain;
    let old_unicast = ChecksumMode::Ipv4OldUnicast { group: GROUP_V4 };
    let unicast = |vrid| Advert { vrid, destination: IpAddr::V4(ROUTER_V4), ..Advert::v3_ipv4() };
    let v4_addresses = (0..=254u8).map(|last| IpAddr::V4(Ipv4Addr::new(198, 51, 100, last)));
    let v6_addresses = (0..216u16).map(|n| IpAddr::V6(Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 1, n)));
    let cases: Vec<(&'static str, Advert)> = vec![
        ("VRRPv2", Advert::v2()),
        ("VRRPv2 with keepalived's auth_type PASS", Advert::v2_pass()),
        ("VRRPv3/IPv4, IPv4 pseudo-header checksum (keepalived)", Advert::v3_ipv4()),
        (
            "VRRPv3/IPv4, checksum without pseudo-header (RFC 9568)",
            Advert { checksum: plain, ..Advert::v3_ipv4() },
        ),
        ("VRRPv3/IPv6, link-local first address, hop limit 255", Advert::v3_ipv6()),
        (
            "VRRPv3/IPv4 in 802.1Q VLAN 10, to that VLAN's instance",
            Advert { tags: tagged(ETH_P_8021Q), ..Advert::v3_ipv4() },
        ),
        (
            "VRRPv3/IPv4 in one 802.1ad tag, VLAN 10",
            Advert { tags: tagged(ETH_P_8021AD), ..Advert::v3_ipv4() },
        ),
        (
            "VRRPv3/IPv6 in 802.1Q VLAN 10, to that VLAN's instance",
            Advert { tags: tagged(ETH_P_8021Q), ..Advert::v3_ipv6() },
        ),
        (
            "VRRPv3/IPv4 priority-tagged (802.1Q VLAN 0): untagged",
            Advert { tags: vec![Tag { tpid: ETH_P_8021Q, vid: 0 }], ..Advert::v3_ipv4() },
        ),
        ("VRRPv3/IPv4 to an instance's own group (224.0.0.99)", Advert::custom_group()),
        ("VRRPv3/IPv6 to an instance's own group (ff02::99)", Advert::custom_group_v6()),
        ("VRRPv3/IPv4 unicast from a listed peer", unicast(VRID_PEERS)),
        ("VRRPv3/IPv4 unicast from a pinned peer with its MAC", unicast(VRID_PINNED)),
        (
            "VRRPv3/IPv4 unicast, keepalived's old checksum, to an instance allowing it",
            Advert { checksum: old_unicast, ..unicast(VRID_OLD_UNICAST) },
        ),
        (
            "VRRPv3/IPv4 unicast, RFC checksum, to an instance allowing the old one",
            unicast(VRID_OLD_UNICAST),
        ),
        (
            "VRRPv3/IPv4 with 255 addresses",
            Advert { addresses: v4_addresses.collect(), ..Advert::v3_ipv4() },
        ),
        (
            "VRRPv3/IPv6 with 216 addresses (the most a test run holds)",
            Advert { addresses: v6_addresses.collect(), ..Advert::v3_ipv6() },
        ),
    ];
    let mut cases: Vec<Case> = cases
        .into_iter()
        .map(|(name, advert)| Case {
            name,
            frame: advert.frame(),
            expect: Expect::Valid(advert.recorded()),
        })
        .collect();

    // Link-layer padding after the IP packet (a VRRPv2 frame is 54 bytes, the minimum 60).
    let mut padded = Advert::v2().frame();
    padded.resize(60, 0);
    cases.push(Case {
        name: "VRRPv2 padded to the 60-byte Ethernet minimum",
        frame: padded,
        expect: Expect::Valid(Advert::v2().recorded()),
    });
    // RFC 9568 §5.2.6: reserved bits are ignored on receive.
    for (name, base, bits) in [
        ("VRRPv3/IPv4 with reserved bits set (ignored)", Advert::v3_ipv4(), 0x80),
        ("VRRPv3/IPv6 with reserved bits set (ignored)", Advert::v3_ipv6(), 0x10),
    ] {
        let frame = edited(&base, true, |f, l| f[l.message + 4] |= bits);
        cases.push(Case { name, frame, expect: Expect::Valid(base.recorded()) });
    }
    // FRR's form: the global virtual address first (RFC 9568 §5.2.9 asks for the link-local).
    let v6 = Advert::v3_ipv6();
    let global_first = edited(&v6, true, |f, l| {
        // Swap the link-local and the global address.
        let first = l.message + 8;
        let (head, tail) = f.split_at_mut(first + 16);
        head[first..].swap_with_slice(&mut tail[..16]);
    });
    cases.push(Case {
        name: "VRRPv3/IPv6, global first address (FRR): accepted and noted",
        frame: global_first,
        expect: Expect::Valid(Recorded { first_not_link_local: true, ..v6.recorded() }),
    });
    // keepalived vrrp.c vrrp_check_packet(): no TTL rule for unicast peers (they may be
    // routed), unless the peer has limits.
    let unicast_at = |name, vrid, ttl| {
        let advert = Advert { vrid, destination: IpAddr::V4(ROUTER_V4), ..Advert::v3_ipv4() };
        let frame = edited(&advert, false, |f, l| f[l.ttl()] = ttl);
        Case { name, frame, expect: Expect::Valid(advert.recorded()) }
    };
    cases.push(unicast_at("VRRPv3/IPv4 unicast from a routed peer (TTL 64)", VRID_PEERS, 64));
    cases.push(unicast_at("VRRPv3/IPv4 unicast, TTL 1", VRID_PINNED, 1));
    for (name, ttl) in [
        ("VRRPv3/IPv4 unicast at a peer's min_ttl", PEER_MIN_TTL),
        ("VRRPv3/IPv4 unicast at a peer's max_ttl", PEER_MAX_TTL),
    ] {
        cases.push(unicast_at(name, VRID_TTL_LIMITED, ttl));
    }
    // A Router Alert option (RFC 2113): the pseudo-header does not cover options.
    cases.push(Case {
        name: "VRRPv3/IPv4 with an IPv4 option (IHL 6)",
        frame: with_ipv4_option(&Advert::v3_ipv4().frame(), [0x94, 0x04, 0x00, 0x00]),
        expect: Expect::Valid(Advert::v3_ipv4().recorded()),
    });
    cases
}

/// `frame` with `trailer` after the VRRP message, inside the IP packet.
pub fn with_trailer(frame: &mut Vec<u8>, layout: Layout, trailer: &[u8]) {
    frame.truncate(layout.message + layout.message_len);
    frame.extend_from_slice(trailer);
    set_be16(frame, layout.ip_length(), (layout.ip_len_field() + trailer.len()) as u16);
}

/// `frame` with a 4-byte IPv4 option inserted after the base header.
fn with_ipv4_option(frame: &[u8], option: [u8; 4]) -> Vec<u8> {
    let layout = Layout::of(frame);
    let mut out = frame[..layout.ip + 20].to_vec();
    out.extend_from_slice(&option);
    out.extend_from_slice(&frame[layout.ip + 20..]);
    out[layout.ip] += 1;
    let total = be16(&out, layout.ip + 2) + 4;
    set_be16(&mut out, layout.ip + 2, total);
    set_be16(&mut out, layout.ip + 10, 0);
    let checksum = frames::internet_checksum(&out[layout.ip..layout.ip + 24], 0);
    set_be16(&mut out, layout.ip + 10, checksum);
    out
}

/// `base`'s frame with `edit` applied; resealed in `base`'s checksum form when `reseal` says so.
fn edited(base: &Advert, resealed: bool, edit: impl FnOnce(&mut Vec<u8>, Layout)) -> Vec<u8> {
    let mut frame = base.frame();
    let layout = Layout::of(&frame);
    edit(&mut frame, layout);
    if resealed {
        reseal(&mut frame, base.recorded().checksum_form);
    }
    frame
}

/// [`edited`], to be dropped under `reason`.
fn broken(
    name: &'static str,
    base: &Advert,
    reason: Counter,
    resealed: bool,
    edit: impl FnOnce(&mut Vec<u8>, Layout),
) -> Case {
    Case { name, frame: edited(base, resealed, edit), expect: Expect::Drop(reason) }
}

/// At least one frame per drop reason of `Counter`, each with exactly that defect.
pub fn malformed() -> Vec<Case> {
    let v2 = Advert::v2();
    let v4 = Advert::v3_ipv4();
    let v6 = Advert::v3_ipv6();
    let old_unicast = ChecksumMode::Ipv4OldUnicast { group: GROUP_V4 };
    let unicast = |vrid, source, mac| Advert {
        vrid,
        source: IpAddr::V4(source),
        destination: IpAddr::V4(ROUTER_V4),
        mac,
        ..Advert::v3_ipv4()
    };
    vec![
        broken("IPv4 total length beyond the frame", &v4, Counter::Truncated, false, |f, _| {
            f.truncate(f.len() - 4)
        }),
        broken("IPv4 total length too short for a VRRP header", &v4, Counter::Truncated, false, {
            |f, l| set_be16(f, l.ip_length(), 20 + 4)
        }),
        broken("IPv6 payload length beyond the frame", &v6, Counter::Truncated, false, |f, l| {
            set_be16(f, l.ip_length(), l.message_len as u16 + 16)
        }),
        broken(
            "IPv6 payload length too short for a VRRP header",
            &v6,
            Counter::Truncated,
            false,
            |f, l| set_be16(f, l.ip_length(), 4),
        ),
        broken("IPv4 TTL 254", &v4, Counter::BadTtl, false, |f, l| f[l.ttl()] = 254),
        broken("VRRPv2 TTL 64", &v2, Counter::BadTtl, false, |f, l| f[l.ttl()] = 64),
        broken("IPv6 hop limit 64", &v6, Counter::BadTtl, false, |f, l| f[l.ttl()] = 64),
        broken(
            "unicast below a peer's min_ttl",
            &unicast(VRID_TTL_LIMITED, PEER_V4, PEER_MAC),
            Counter::BadTtl,
            false,
            |f, l| f[l.ttl()] = PEER_MIN_TTL - 1,
        ),
        broken(
            "unicast above a peer's max_ttl (TTL 255)",
            &unicast(VRID_TTL_LIMITED, PEER_V4, PEER_MAC),
            Counter::BadTtl,
            false,
            |_, _| (),
        ),
        broken("VRRP version 1", &v4, Counter::BadVersion, false, |f, l| f[l.message] = 0x11),
        broken("VRRP version 4", &v6, Counter::BadVersion, false, |f, l| f[l.message] = 0x41),
        broken("VRRP type 2", &v4, Counter::BadType, false, |f, l| f[l.message] = 0x32),
        broken("VRRPv2 type 0", &v2, Counter::BadType, false, |f, l| f[l.message] = 0x20),
        broken("count 2 with one address", &v4, Counter::BadLength, true, |f, l| {
            f[l.message + 3] = 2
        }),
        broken("IPv4 total length 4 bytes past the addresses", &v4, Counter::BadLength, true, {
            |f, l| {
                f.extend_from_slice(&[0; 4]);
                set_be16(f, l.ip_length(), (l.ip_len_field() + 4) as u16);
            }
        }),
        broken("VRRPv3 with a keepalived auth_hmac trailer", &v4, Counter::AuthTrailer, true, {
            |f, l| with_trailer(f, l, &frames::AUTH_HMAC_TRAILER)
        }),
        broken("VRRPv2 with a keepalived auth_hmac trailer", &v2, Counter::AuthTrailer, true, {
            |f, l| with_trailer(f, l, &frames::AUTH_HMAC_TRAILER)
        }),
        broken("VRRPv2 without its authentication data", &v2, Counter::BadLength, true, |f, l| {
            f.truncate(f.len() - 8);
            set_be16(f, l.ip_length(), (l.ip_len_field() - 8) as u16);
        }),
        broken("address count 0", &v4, Counter::BadAddrCount, false, |f, l| f[l.message + 3] = 0),
        broken("IPv6 address count 0", &v6, Counter::BadAddrCount, false, |f, l| {
            f[l.message + 3] = 0
        }),
        broken("checksum off by one", &v4, Counter::BadChecksum, false, |f, l| {
            f[l.message + 7] ^= 1
        }),
        broken("VRRPv2 checksummed with a pseudo-header", &v2, Counter::BadChecksum, false, {
            |f, _| reseal(f, checksum_form::V3_IPV4_PSEUDO)
        }),
        broken(
            "VRRPv3/IPv6 checksummed without the pseudo-header",
            &v6,
            Counter::BadChecksum,
            false,
            |f, _| reseal(f, checksum_form::V3_IPV4_PLAIN),
        ),
        broken("VRRPv3 interval 0", &v4, Counter::ZeroInterval, true, |f, l| {
            set_be16(f, l.message + 4, 0)
        }),
        broken(
            "VRRPv3/IPv4 unicast, keepalived's old checksum, to an instance not allowing it",
            &Advert { checksum: old_unicast, ..unicast(VRID_PEERS, PEER_V4, PEER_MAC) },
            Counter::BadChecksum,
            false,
            |_, _| (),
        ),
        broken(
            "VRRPv3/IPv4, keepalived's old checksum, to no instance",
            &Advert { checksum: old_unicast, ..unicast(VRID_UNCONFIGURED, PEER_V4, PEER_MAC) },
            Counter::BadChecksum,
            false,
            |_, _| (),
        ),
        broken(
            "VRRPv3/IPv4 unicast, old checksum off by one, to an instance allowing it",
            &Advert { checksum: old_unicast, ..unicast(VRID_OLD_UNICAST, PEER_V4, PEER_MAC) },
            Counter::BadChecksum,
            false,
            |f, l| f[l.message + 7] ^= 1,
        ),
        broken(
            "VRRPv3/IPv4 unicast, old checksum, interval 0: the checksum first",
            &Advert { checksum: old_unicast, ..unicast(VRID_PEERS, PEER_V4, PEER_MAC) },
            Counter::BadChecksum,
            true,
            |f, l| set_be16(f, l.message + 4, 0),
        ),
        broken(
            "VRRPv3/IPv4 unicast, old checksum, interval 0, to an instance allowing it",
            &Advert { checksum: old_unicast, ..unicast(VRID_OLD_UNICAST, PEER_V4, PEER_MAC) },
            Counter::ZeroInterval,
            true,
            |f, l| set_be16(f, l.message + 4, 0),
        ),
        broken(
            "VRRPv3/IPv4 unicast, old checksum, from a stranger to an instance allowing it",
            &Advert { checksum: old_unicast, ..unicast(VRID_OLD_UNICAST, STRANGER_V4, PEER_MAC) },
            Counter::NotAPeer,
            false,
            |_, _| (),
        ),
        broken("VRRPv2 interval 0", &v2, Counter::ZeroInterval, true, |f, l| f[l.message + 5] = 0),
        broken("VRRPv2 over IPv6", &v6, Counter::FamilyMismatch, false, |f, l| f[l.message] = 0x21),
        broken(
            "VRRPv2 without authentication to an instance with a password",
            &Advert { vrid: VRID_V2_PASS, ..Advert::v2() },
            Counter::AuthMismatch,
            false,
            |_, _| (),
        ),
        broken(
            "VRRPv2 with another password",
            &Advert { auth: V2Auth::password(*b"s3cre7\0\0"), ..Advert::v2_pass() },
            Counter::AuthMismatch,
            false,
            |_, _| (),
        ),
        broken(
            "VRRPv2 with a password to an instance without one",
            &Advert { vrid: VRID_V2, ..Advert::v2_pass() },
            Counter::AuthMismatch,
            false,
            |_, _| (),
        ),
        broken("IPv4 IHL 4", &v4, Counter::BadIhl, false, |f, l| f[l.ip] = 0x44),
        broken("IPv4 IHL 0", &v2, Counter::BadIhl, false, |f, l| f[l.ip] = 0x40),
        broken("IPv4 first fragment (More Fragments)", &v4, Counter::Fragment, false, |f, l| {
            set_be16(f, l.ip + 6, frames::IPV4_MORE_FRAGMENTS)
        }),
        broken("IPv4 last fragment (offset 185)", &v4, Counter::Fragment, false, |f, l| {
            set_be16(f, l.ip + 6, 185)
        }),
        broken(
            "VRRPv2 to a VRRPv3 instance",
            &Advert { vrid: VRID_V3, ..Advert::v2() },
            Counter::VersionMismatch,
            false,
            |_, _| (),
        ),
        broken(
            "VRRPv3 to a VRRPv2 instance",
            &Advert { vrid: VRID_V2, ..Advert::v3_ipv4() },
            Counter::VersionMismatch,
            false,
            |_, _| (),
        ),
        broken(
            "unicast from an unlisted sender",
            &unicast(VRID_PEERS, STRANGER_V4, PEER_MAC),
            Counter::NotAPeer,
            false,
            |_, _| (),
        ),
        broken(
            "unicast from a pinned peer's address, another MAC",
            &unicast(VRID_PINNED, PEER_V4, STRANGER_MAC),
            Counter::MacMismatch,
            false,
            |_, _| (),
        ),
    ]
}

/// Valid advertisements for no instance here: counted as `unknown_vrid` and passed, for
/// another VRRP speaker on the host.
pub fn unclaimed() -> Vec<Case> {
    let v4 = Advert::v3_ipv4();
    let cases = [
        ("VRID not configured", VRID_UNCONFIGURED),
        ("VRID 0", 0),
        ("VRRPv3/IPv4 on a VRID configured only for IPv6", VRID_V6),
    ];
    let mut cases: Vec<Case> = cases
        .into_iter()
        .map(|(name, vrid)| {
            let frame = edited(&v4, true, |f, l| f[l.message + 1] = vrid);
            Case { name, frame, expect: Expect::Passed(Counter::UnknownVrid) }
        })
        .collect();
    // A tagged frame is its VLAN's, never the interface's untagged instance's.
    let qinq = vec![Tag { tpid: ETH_P_8021AD, vid: 100 }, Tag { tpid: ETH_P_8021Q, vid: VLAN }];
    let other_vlan = vec![Tag { tpid: ETH_P_8021Q, vid: OTHER_VLAN }];
    let tagged: [(&'static str, Advert); 5] = [
        (
            "VRRPv3/IPv4 in 802.1Q VLAN 11, which has no instance",
            Advert { tags: other_vlan, ..Advert::v3_ipv4() },
        ),
        (
            "VRRPv2 in 802.1Q VLAN 10, whose instances are other VRIDs",
            Advert { tags: vec![Tag { tpid: ETH_P_8021Q, vid: VLAN }], ..Advert::v2() },
        ),
        ("VRRPv3/IPv4 in 802.1ad + 802.1Q", Advert { tags: qinq.clone(), ..Advert::v3_ipv4() }),
        ("VRRPv2 in 802.1ad + 802.1Q", Advert { tags: qinq.clone(), ..Advert::v2() }),
        ("VRRPv3/IPv6 in 802.1ad + 802.1Q", Advert { tags: qinq, ..Advert::v3_ipv6() }),
    ];
    cases.extend(tagged.into_iter().map(|(name, advert)| Case {
        name,
        frame: advert.frame(),
        expect: Expect::Passed(Counter::UnknownVrid),
    }));
    // keepalived vrrp.c open_vrrp_read_socket(): a multicast instance hears its own group only
    // (its socket is bound to it), so another group's speaker, or a unicast sender, with the
    // same VRID is another router's business.
    let to_group: [(&'static str, Advert); 5] = [
        (
            "VRRPv3/IPv4 to 224.0.0.18 for an instance on 224.0.0.99",
            Advert { destination: IpAddr::V4(GROUP_V4), ..Advert::custom_group() },
        ),
        (
            "VRRPv3/IPv4 to 224.0.0.99 for an instance on 224.0.0.18",
            Advert { destination: IpAddr::V4(CUSTOM_GROUP_V4), ..Advert::v3_ipv4() },
        ),
        (
            "VRRPv3/IPv6 to ff02::12 for an instance on ff02::99",
            Advert { destination: IpAddr::V6(GROUP_V6), ..Advert::custom_group_v6() },
        ),
        (
            "VRRPv3/IPv4 unicast to a multicast instance",
            Advert { destination: IpAddr::V4(ROUTER_V4), ..Advert::v3_ipv4() },
        ),
        (
            "VRRPv2 unicast to a multicast instance",
            Advert { destination: IpAddr::V4(ROUTER_V4), ..Advert::v2() },
        ),
    ];
    cases.extend(to_group.into_iter().map(|(name, advert)| Case {
        name,
        frame: advert.frame(),
        expect: Expect::Passed(Counter::UnknownVrid),
    }));
    cases
}

/// Frames that are not VRRP, or too short to tell: all pass uncounted.
pub fn not_vrrp() -> Vec<Case> {
    let v4 = Advert::v3_ipv4().frame();
    let v6 = Advert::v3_ipv6().frame();
    let target = Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 1);
    let three_tags = Advert {
        tags: vec![
            Tag { tpid: ETH_P_8021AD, vid: 100 },
            Tag { tpid: ETH_P_8021Q, vid: 10 },
            Tag { tpid: ETH_P_8021Q, vid: 11 },
        ],
        ..Advert::v3_ipv4()
    };
    let cases = vec![
        ("UDP/IPv4", frames::udp_ipv4(PEER_V4, ROUTER_V4)),
        ("TCP SYN", frames::tcp_syn_ipv4(PEER_V4, ROUTER_V4)),
        ("ARP request", frames::arp_request(PEER_MAC, PEER_V4, VIP_V4)),
        (
            "ICMPv6 neighbour solicitation",
            frames::neighbour_solicitation(PEER_MAC, PEER_V6, target),
        ),
        ("IPv4 fragment of a UDP datagram", frames::udp_ipv4_fragment(PEER_V4, ROUTER_V4)),
        ("VRRPv3/IPv6 behind a hop-by-hop header (not followed)", with_hop_by_hop(&v6)),
        ("VRRPv3/IPv4 under three VLAN tags (two are followed)", three_tags.frame()),
        ("an IPv6 packet under the IPv4 EtherType", retyped(&v6, ETH_P_IP)),
        ("an IPv4 packet under the IPv6 EtherType", retyped(&v4, ETH_P_IPV6)),
        ("Ethernet header alone (14 bytes)", v4[..14].to_vec()),
        (
            "802.1Q tag cut short (16 bytes)",
            Advert { tags: vec![Tag { tpid: ETH_P_8021Q, vid: 10 }], ..Advert::v3_ipv4() }.frame()
                [..16]
                .to_vec(),
        ),
        ("IPv4 header of a VRRP packet cut at 19 bytes", v4[..14 + 19].to_vec()),
        ("IPv6 header of a VRRP packet cut at 39 bytes", v6[..14 + 39].to_vec()),
    ];
    cases.into_iter().map(|(name, frame)| Case { name, frame, expect: Expect::NotVrrp }).collect()
}

/// `frame` (IPv6) with an empty hop-by-hop options header (RFC 8200 §4.3) before the VRRP message.
fn with_hop_by_hop(frame: &[u8]) -> Vec<u8> {
    let layout = Layout::of(frame);
    let mut out = frame[..layout.message].to_vec();
    // Next header VRRP, length 0 (8 bytes), PadN of 4 bytes of padding.
    out.extend_from_slice(&[IPPROTO_VRRP, 0, 1, 4, 0, 0, 0, 0]);
    out.extend_from_slice(&frame[layout.message..]);
    out[layout.ip + 6] = 0;
    set_be16(&mut out, layout.ip_length(), layout.message_len as u16 + 8);
    out
}

/// `frame` with its (untagged) EtherType replaced.
fn retyped(frame: &[u8], ethertype: u16) -> Vec<u8> {
    let mut out = frame.to_vec();
    set_be16(&mut out, 12, ethertype);
    out
}
