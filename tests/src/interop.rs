//! One cell of an interoperability matrix: a peer (keepalived, FRR's vrrpd, or vrrpd on another
//! data path) in router 1 and vrrpd in router 2 of the reference lab, one virtual router between
//! them (VRRPv3, or VRRPv2 without authentication, with a password or with AH), and the three
//! steps every cell goes through:
//! 1. both start; the higher priority (110, against 100) becomes master, the other backup, and
//!    it stays so;
//! 2. the master stops (SIGTERM): the backup takes over, and stays the only master;
//! 3. the master starts again: it preempts, and the other goes back to backup.
//!
//! At every step exactly one master is checked on both nodes: vrrpd by `vrrpd status --json`
//! (its state and whether it holds the addresses, which must agree with the interface), keepalived
//! by whether it holds the virtual address, FRR by its macvlan's protodown flag (FRR keeps the
//! virtual address on the macvlan and puts it in protodown as backup). A cell with `vmac` runs
//! vrrpd (and keepalived) with `use_vmac`: their virtual address is then on their macvlan
//! `vrrp.51`, and never on the interface itself.

use std::time::{Duration, Instant};

use crate::lab::{ReferenceLab, SERVER1, SERVER2, VIP};

/// Several master-down intervals at advert_int 1 (3.6 s at priority 100), and a loaded machine.
const CONVERGE: Duration = Duration::from_secs(20);
/// Longer than a master-down interval: a split brain shows as the backup taking over.
const STEADY: Duration = Duration::from_secs(5);

/// Router 1 runs the peer, router 2 vrrpd.
pub const PEER: usize = 1;
pub const VRRPD: usize = 2;

const VRID: u8 = 51;
const SERVER1_V6: &str = "2001:db8::1";
const SERVER2_V6: &str = "2001:db8::2";
const VIP_V6: &str = "2001:db8::100";
/// FRR's macvlan, which carries the virtual MAC and the virtual address.
const MACVLAN: &str = "vrrp51";
/// keepalived's and vrrpd's macvlan with `use_vmac` (keepalived's default name, `vrrp.VRID`).
const VMAC: &str = "vrrp.51";

#[derive(Clone, Copy, Debug)]
pub enum Peer {
    Keepalived,
    /// FRR's vrrpd (VRRPv3 multicast only), with zebra beside it.
    Frr,
    /// vrrpd itself, on this data path (the cell's own is router 2's).
    Vrrpd(Datapath),
}

/// The advertisements' protocol version and, for VRRPv2, their authentication.
#[derive(Clone, Copy, Debug)]
pub enum Version {
    V3,
    /// VRRPv2 (keepalived's default version) without authentication. IPv4 only.
    V2,
    /// VRRPv2 with `auth_type PASS`, the same password on both nodes. IPv4 only.
    V2Pass,
    /// VRRPv2 with `auth_type AH` (keepalived's IPsec-AH form), the same key on both nodes.
    /// IPv4 only.
    V2Ah,
}

#[derive(Clone, Copy, Debug)]
pub enum Family {
    Ipv4,
    Ipv6,
}

#[derive(Clone, Copy, Debug)]
pub enum Cast {
    Unicast,
    Multicast,
    /// Multicast on another group than the standard ones, named on both nodes in global_defs
    /// ([`CUSTOM_GROUP_V4`], [`CUSTOM_GROUP_V6`]): keepalived binds its socket to that group
    /// (vrrp.c open_vrrp_read_socket()), so each side hears the other only if both use it.
    CustomGroup,
}

pub const CUSTOM_GROUP_V4: &str = "224.0.0.99";
pub const CUSTOM_GROUP_V6: &str = "ff02::99";

#[derive(Clone, Copy, Debug)]
pub enum Datapath {
    Xdp,
    /// The kernel path at tc ingress (`--hook tcx`), the same rules as XDP's.
    Tcx,
    Socket,
}

impl Datapath {
    fn vrrpd_args(self) -> &'static [&'static str] {
        match self {
            Datapath::Xdp => &["--datapath", "xdp"],
            Datapath::Tcx => &["--datapath", "xdp", "--hook", "tcx"],
            Datapath::Socket => &["--datapath", "socket"],
        }
    }

    /// The kernel hook `vrrpd status` must show on ens3; none on the socket path.
    fn hook(self) -> Option<&'static str> {
        match self {
            Datapath::Xdp => Some("xdp"),
            Datapath::Tcx => Some("tcx"),
            Datapath::Socket => None,
        }
    }
}

#[derive(Clone, Copy, Debug)]
pub struct Cell {
    pub peer: Peer,
    pub family: Family,
    pub cast: Cast,
    pub datapath: Datapath,
    /// Which router has priority 110: [`PEER`] or [`VRRPD`].
    pub master: usize,
    /// `use_vmac` in vrrpd's keepalived.conf (and keepalived's, when it is the peer).
    pub vmac: bool,
    pub version: Version,
}

impl Cell {
    /// The address whose presence on vrrpd's or keepalived's interface says who is master.
    fn vip(&self) -> &'static str {
        match self.family {
            Family::Ipv4 => VIP,
            Family::Ipv6 => VIP_V6,
        }
    }

    fn priority(&self, n: usize) -> u8 {
        if n == self.master {
            110
        } else {
            100
        }
    }

    /// keepalived.conf text, for keepalived and vrrpd alike.
    fn keepalived_config(&self, n: usize) -> String {
        let (own, peer) = match (self.family, n) {
            (Family::Ipv4, 1) => (SERVER1, SERVER2),
            (Family::Ipv4, _) => (SERVER2, SERVER1),
            (Family::Ipv6, 1) => (SERVER1_V6, SERVER2_V6),
            (Family::Ipv6, _) => (SERVER2_V6, SERVER1_V6),
        };
        let unicast = match self.cast {
            Cast::Unicast => {
                format!("    unicast_src_ip {own}\n    unicast_peer {{\n        {peer}\n    }}\n")
            }
            Cast::Multicast | Cast::CustomGroup => String::new(),
        };
        let groups = match self.cast {
            Cast::CustomGroup => format!(
                "    vrrp_mcast_group4 {CUSTOM_GROUP_V4}\n    vrrp_mcast_group6 {CUSTOM_GROUP_V6}\n"
            ),
            Cast::Unicast | Cast::Multicast => String::new(),
        };
        let vmac = if self.vmac { "    use_vmac\n" } else { "" };
        let authentication = |kind| {
            format!("    authentication {{\n        auth_type {kind}\n        auth_pass matrix\n    }}\n")
        };
        let (version, authentication) = match self.version {
            Version::V3 => (3, String::new()),
            Version::V2 => (2, String::new()),
            Version::V2Pass => (2, authentication("PASS")),
            Version::V2Ah => (2, authentication("AH")),
        };
        // RFC 9568 §5.2.9: an IPv6 advertisement's first address is link-local.
        let addresses = match self.family {
            Family::Ipv4 => format!("        {VIP}\n"),
            Family::Ipv6 => format!("        fe80::{VRID}/64\n        {VIP_V6}/64\n"),
        };
        format!(
            "global_defs {{\n    vrrp_version {version}\n{groups}}}\n\nvrrp_instance VI_MATRIX \
             {{\n    interface ens3\n    virtual_router_id {VRID}\n    state BACKUP\n    \
             priority {}\n    advert_int 1\n{unicast}{vmac}{authentication}    \
             virtual_ipaddress {{\n{addresses}    }}\n}}\n",
            self.priority(n)
        )
    }

    /// FRR's vrrpd.conf, as its user guide writes one (the address alone, advertised as is).
    fn frr_config(&self) -> String {
        let address = match self.family {
            Family::Ipv4 => format!("ip {VIP}"),
            Family::Ipv6 => format!("ipv6 {VIP_V6}"),
        };
        format!(
            "interface ens3\n vrrp {VRID} version 3\n vrrp {VRID} priority {}\n \
             vrrp {VRID} advertisement-interval 1000\n vrrp {VRID} {address}\n",
            self.priority(PEER)
        )
    }

    /// Router `n`'s data path, if it runs vrrpd.
    fn vrrpd_datapath(&self, n: usize) -> Option<Datapath> {
        match (n, self.peer) {
            (VRRPD, _) => Some(self.datapath),
            (_, Peer::Vrrpd(datapath)) => Some(datapath),
            _ => None,
        }
    }

    /// FRR 8.4's first IPv6 advertisement as master never leaves: its zebra withdraws the
    /// macvlan's link-local address while the macvlan is in protodown (backup) and gives it back
    /// only after FRR's first send as master, which fails ("Failed to find address to bind";
    /// seen with FRR's `debug vrrp zebra`: `vrrp_zebra_if_address_del` at start-up,
    /// `vrrp_zebra_if_address_add` just after the failed send). Started together, vrrpd's
    /// master-down timer (3.61 s) expires 40 ms after FRR's (3.57 s), so vrrpd rightly takes
    /// over until FRR's second advertisement a second later. The election step starts vrrpd
    /// beside an FRR that is already master, so that it checks the election and not that FRR
    /// quirk; the preemption step still meets the quirk and waits through it.
    fn frr_loses_its_first_advertisement(&self) -> bool {
        matches!((self.peer, self.family), (Peer::Frr, Family::Ipv6)) && self.master == PEER
    }

    /// Runs the cell's three steps; panics with both daemons' logs at the first one that fails.
    pub fn run(self) {
        match (self.peer, self.cast) {
            (Peer::Frr, Cast::Unicast) => {
                panic!("FRR's vrrpd has no unicast mode: {self:?} is not a cell")
            }
            (Peer::Frr, Cast::CustomGroup) => {
                panic!("FRR's vrrpd sends to the standard groups only: {self:?} is not a cell")
            }
            _ => (),
        }
        match (self.version, self.family, self.peer) {
            (Version::V3, ..) => (),
            (_, Family::Ipv6, _) => panic!("VRRPv2 is IPv4 only: {self:?} is not a cell"),
            (_, _, Peer::Frr) => panic!("the matrix runs FRR on VRRPv3: {self:?} is not a cell"),
            _ => (),
        }
        let mut pair = Pair::new(self);
        let backup = 3 - self.master;
        let mut roles = [Role::Backup; 2];
        roles[self.master - 1] = Role::Master;
        pair.start(PEER);
        if self.frr_loses_its_first_advertisement() {
            // vrrpd joins an FRR that is master already: see the function's comment.
            let mut alone = [Role::Stopped; 2];
            alone[PEER - 1] = Role::Master;
            pair.settles("FRR's start as master, alone", alone, Duration::ZERO);
        }
        pair.start(VRRPD);
        pair.settles("election", roles, STEADY);

        pair.stop(self.master);
        let mut failed_over = [Role::Stopped; 2];
        failed_over[backup - 1] = Role::Master;
        pair.settles("failover to the backup", failed_over, STEADY);

        pair.start(self.master);
        pair.settles("preemption by the returning master", roles, STEADY);
        pair.heard_everything();
    }
}

/// What one node says of itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Role {
    Master,
    Backup,
    /// Its daemon is stopped, and it does not answer for the virtual address.
    Stopped,
    /// Anything else: starting, a state and addresses that disagree, a stopped daemon's leftover.
    Unsettled,
}

struct Pair {
    cell: Cell,
    lab: ReferenceLab,
    /// vrrpd's keepalived.conf, and keepalived's when it is the peer.
    configs: [std::path::PathBuf; 2],
    /// The running VRRP daemon of router 1 and 2, as an index into the lab's daemons.
    daemons: [Option<usize>; 2],
}

impl Pair {
    fn new(cell: Cell) -> Self {
        let mut lab = ReferenceLab::with_prefix("ip").unwrap();
        if let Family::Ipv6 = cell.family {
            lab.add_address(1, &format!("{SERVER1_V6}/64")).unwrap();
            lab.add_address(2, &format!("{SERVER2_V6}/64")).unwrap();
        }
        if let Peer::Frr = cell.peer {
            // FRR's user guide: a macvlan with the virtual MAC and the virtual addresses on the
            // interface the virtual router runs on (00:00:5e:00:01:VRID for IPv4, :02: for IPv6).
            let (block, address) = match cell.family {
                Family::Ipv4 => (1, format!("{VIP}/24")),
                Family::Ipv6 => (2, format!("{VIP_V6}/64")),
            };
            let mac = format!("00:00:5e:00:{block:02x}:{VRID:02x}");
            lab.add_macvlan(PEER, MACVLAN, &mac, &[&address]).unwrap();
            lab.start_frr_zebra(PEER).unwrap();
        }
        let configs = [1, 2]
            .map(|n| lab.write_config(n, "keepalived.conf", &cell.keepalived_config(n)).unwrap());
        Self { cell, lab, configs, daemons: [None, None] }
    }

    fn start(&mut self, n: usize) {
        let config = &self.configs[n - 1];
        let index = match (self.cell.vrrpd_datapath(n), self.cell.peer) {
            (Some(datapath), _) => self.lab.start_vrrpd(n, config, datapath.vrrpd_args()),
            (None, Peer::Frr) => self.lab.start_frr_vrrpd(n, &self.cell.frr_config()),
            (None, _) => self.lab.start_keepalived(n, config),
        };
        self.daemons[n - 1] = Some(index.unwrap());
    }

    fn stop(&mut self, n: usize) {
        let index = self.daemons[n - 1].take().expect("a running daemon");
        self.lab.daemon(index).stop(Duration::from_secs(5));
    }

    fn role(&self, n: usize) -> Role {
        let running = self.daemons[n - 1].is_some();
        let on_interface = self.lab.holds(n, self.cell.vip()).unwrap();
        let answers = match (n, self.cell.peer) {
            (PEER, Peer::Frr) => !self.lab.protodown(n, MACVLAN).unwrap(),
            // With use_vmac the address belongs on the macvlan alone.
            _ if self.cell.vmac && on_interface => return Role::Unsettled,
            _ if self.cell.vmac => self.lab.holds_on(n, VMAC, self.cell.vip()).unwrap(),
            _ => on_interface,
        };
        if !running {
            return if answers { Role::Unsettled } else { Role::Stopped };
        }
        if self.cell.vrrpd_datapath(n).is_none() {
            return if answers { Role::Master } else { Role::Backup };
        }
        let Some(status) = self.lab.vrrpd_status(n).unwrap() else { return Role::Unsettled };
        let [instance] = status.instances.as_slice() else {
            panic!("one instance expected: {status:?}")
        };
        match (instance.state.as_str(), instance.holds_addresses, answers) {
            ("MASTER", true, true) => Role::Master,
            ("BACKUP", false, false) => Role::Backup,
            _ => Role::Unsettled,
        }
    }

    /// vrrpd ran on the cell's hook, dropped none of the peer's advertisements (a checksum
    /// computed otherwise, a reserved field set, would show here), and noted FRR's IPv6 form
    /// (RFC 9568 §5.2.9 asks for a link-local first address; FRR sends its global one alone).
    fn heard_everything(&mut self) {
        for n in [PEER, VRRPD] {
            if let Some(datapath) = self.cell.vrrpd_datapath(n) {
                self.heard_everything_at(n, datapath);
            }
        }
    }

    fn heard_everything_at(&mut self, n: usize, datapath: Datapath) {
        let status = self.lab.vrrpd_status(n).unwrap().expect("vrrpd answers");
        let hooks: Vec<(&str, &str)> =
            status.daemon.hooks.iter().map(|h| (h.interface.as_str(), h.hook.as_str())).collect();
        let expected: Vec<(&str, &str)> =
            datapath.hook().map(|h| ("ens3", h)).into_iter().collect();
        if hooks != expected {
            let what = format!("router {n}'s hooks: {hooks:?}, expected {expected:?}");
            self.fail("the end", &what);
        }
        let counted = |verdict: &str| -> Vec<(String, u64)> {
            let counters = status.datapath_counters.iter();
            counters
                .filter(|c| c.verdict == verdict && c.frames != 0)
                .map(|c| (c.reason.clone(), c.frames))
                .collect()
        };
        let dropped = counted("dropped");
        if !dropped.is_empty() {
            self.fail("the end", &format!("router {n}'s vrrpd dropped frames: {dropped:?}"));
        }
        let noted = counted("note");
        let frr_ipv6 = matches!((self.cell.peer, self.cell.family), (Peer::Frr, Family::Ipv6));
        if frr_ipv6 != noted.iter().any(|(reason, _)| reason == "not_link_local") {
            self.fail("the end", &format!("router {n}'s vrrpd notes: {noted:?}"));
        }
    }

    fn roles(&self) -> [Role; 2] {
        [self.role(1), self.role(2)]
    }

    /// Waits until the nodes say `expected`, then asserts that they keep saying it for `hold`.
    fn settles(&mut self, step: &str, expected: [Role; 2], hold: Duration) {
        let deadline = Instant::now() + CONVERGE;
        let mut seen = self.roles();
        while seen != expected {
            if Instant::now() > deadline {
                self.fail(step, &format!("{expected:?} not within {CONVERGE:?}, last {seen:?}"));
            }
            std::thread::sleep(Duration::from_millis(50));
            seen = self.roles();
        }
        let end = Instant::now() + hold;
        while Instant::now() < end {
            let seen = self.roles();
            if seen != expected {
                self.fail(step, &format!("{expected:?} reached, then {seen:?}"));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn fail(&mut self, step: &str, what: &str) -> ! {
        let logs: Vec<String> = (0..self.lab.daemon_count())
            .map(|index| {
                let daemon = self.lab.daemon(index);
                format!("--- {} ---\n{}", daemon.name, daemon.log_text())
            })
            .collect();
        panic!("{:?}, {step}: {what}\n{}", self.cell, logs.join("\n"));
    }
}
