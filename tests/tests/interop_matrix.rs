//! The interoperability matrix with keepalived (Debian's 2.2.7), VRRPv3: every combination of
//! address family (IPv4, IPv6), advertisement cast (unicast, multicast), vrrpd data path (XDP,
//! socket) and roles (keepalived or vrrpd has the higher priority). Each cell, keepalived in
//! router 1 and vrrpd in router 2:
//! 1. both start; the higher priority becomes master, the other backup, and it stays so;
//! 2. the master stops (SIGTERM): the backup takes over, and stays the only master;
//! 3. the master starts again: it preempts, and the other goes back to backup.
//!
//! At every step exactly one master is checked on both nodes: vrrpd by `vrrpd status --json`
//! (state and whether it holds the addresses), keepalived by whether it holds the virtual
//! address. `docs/interop.md` has the table of what is tested where.

use std::time::{Duration, Instant};

use vrrp_tests::{
    lab::{ReferenceLab, SERVER1, SERVER2, VIP},
    require_root,
};

/// Several master-down intervals at advert_int 1 (3.6 s at priority 100), and a loaded machine.
const CONVERGE: Duration = Duration::from_secs(20);
/// Longer than a master-down interval: a split brain shows as the backup taking over.
const STEADY: Duration = Duration::from_secs(5);

const KEEPALIVED: usize = 1;
const VRRPD: usize = 2;

#[derive(Clone, Copy, Debug)]
enum Family {
    Ipv4,
    Ipv6,
}

#[derive(Clone, Copy, Debug)]
enum Cast {
    Unicast,
    Multicast,
}

#[derive(Clone, Copy, Debug)]
enum Datapath {
    Xdp,
    Socket,
}

/// One cell: which side has priority 110 (the other has 100).
#[derive(Clone, Copy, Debug)]
struct Cell {
    family: Family,
    cast: Cast,
    datapath: Datapath,
    master: usize,
}

const VRID: u8 = 51;
const SERVER1_V6: &str = "2001:db8::1";
const SERVER2_V6: &str = "2001:db8::2";
const VIP_V6: &str = "2001:db8::100";

impl Cell {
    /// The address whose presence says who is master.
    fn vip(&self) -> &'static str {
        match self.family {
            Family::Ipv4 => VIP,
            Family::Ipv6 => VIP_V6,
        }
    }

    /// The same keepalived.conf text for both daemons, but for priority and unicast addresses.
    fn config(&self, n: usize) -> String {
        let priority = if n == self.master { 110 } else { 100 };
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
            Cast::Multicast => String::new(),
        };
        // RFC 9568 §5.2.9: an IPv6 advertisement's first address is link-local.
        let addresses = match self.family {
            Family::Ipv4 => format!("        {VIP}\n"),
            Family::Ipv6 => format!("        fe80::{VRID}/64\n        {VIP_V6}/64\n"),
        };
        format!(
            "global_defs {{\n    vrrp_version 3\n}}\n\nvrrp_instance VI_MATRIX {{\n    \
             interface ens3\n    virtual_router_id {VRID}\n    state BACKUP\n    \
             priority {priority}\n    advert_int 1\n{unicast}    virtual_ipaddress {{\n\
             {addresses}    }}\n}}\n"
        )
    }

    fn vrrpd_args(&self) -> [&'static str; 2] {
        match self.datapath {
            Datapath::Xdp => ["--datapath", "xdp"],
            Datapath::Socket => ["--datapath", "socket"],
        }
    }
}

/// What one node says of itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Role {
    Master,
    Backup,
    /// Its daemon is stopped, and it holds no virtual address.
    Stopped,
    /// Anything else: starting, a state and addresses that disagree, a stopped daemon's leftover.
    Unsettled,
}

struct Matrix {
    cell: Cell,
    lab: ReferenceLab,
    configs: [std::path::PathBuf; 2],
    /// Daemon index in the lab of router 1 and 2, `None` while stopped.
    daemons: [Option<usize>; 2],
}

impl Matrix {
    fn new(cell: Cell) -> Self {
        let lab = ReferenceLab::with_prefix("ip").unwrap();
        if let Family::Ipv6 = cell.family {
            lab.add_address(1, &format!("{SERVER1_V6}/64")).unwrap();
            lab.add_address(2, &format!("{SERVER2_V6}/64")).unwrap();
        }
        let configs =
            [1, 2].map(|n| lab.write_config(n, "keepalived.conf", &cell.config(n)).unwrap());
        Self { cell, lab, configs, daemons: [None, None] }
    }

    fn start(&mut self, n: usize) {
        let config = &self.configs[n - 1];
        let index = if n == KEEPALIVED {
            self.lab.start_keepalived(n, config)
        } else {
            self.lab.start_vrrpd(n, config, &self.cell.vrrpd_args())
        };
        self.daemons[n - 1] = Some(index.unwrap());
    }

    fn stop(&mut self, n: usize) {
        let index = self.daemons[n - 1].take().expect("a running daemon");
        self.lab.daemon(index).stop(Duration::from_secs(5));
    }

    fn role(&self, n: usize) -> Role {
        let holds = self.lab.holds(n, self.cell.vip()).unwrap();
        if self.daemons[n - 1].is_none() {
            return if holds { Role::Unsettled } else { Role::Stopped };
        }
        if n == KEEPALIVED {
            return if holds { Role::Master } else { Role::Backup };
        }
        let Some(status) = self.lab.vrrpd_status(n).unwrap() else { return Role::Unsettled };
        let [instance] = status.instances.as_slice() else {
            panic!("one instance expected: {status:?}")
        };
        match (instance.state.as_str(), instance.holds_addresses, holds) {
            ("MASTER", true, true) => Role::Master,
            ("BACKUP", false, false) => Role::Backup,
            _ => Role::Unsettled,
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
        let logs: Vec<String> = self
            .daemons
            .iter()
            .flatten()
            .map(|&index| {
                let daemon = self.lab.daemon(index);
                format!("--- {} ---\n{}", daemon.name, daemon.log_text())
            })
            .collect();
        panic!("{:?}, {step}: {what}\n{}", self.cell, logs.join("\n"));
    }

    fn run(mut self) {
        let backup = 3 - self.cell.master;
        let mut roles = [Role::Backup; 2];
        roles[self.cell.master - 1] = Role::Master;
        self.start(KEEPALIVED);
        self.start(VRRPD);
        self.settles("election", roles, STEADY);

        self.stop(self.cell.master);
        let mut failed_over = [Role::Stopped; 2];
        failed_over[backup - 1] = Role::Master;
        self.settles("failover to the backup", failed_over, STEADY);

        self.start(self.cell.master);
        self.settles("preemption by the returning master", roles, STEADY);
    }
}

/// One test per cell, so that each reports on its own and they run side by side.
macro_rules! matrix {
    ($($name:ident: $family:ident $cast:ident $datapath:ident $master:ident;)*) => {$(
        #[test]
        fn $name() {
            require_root();
            require_keepalived();
            Matrix::new(Cell {
                family: Family::$family,
                cast: Cast::$cast,
                datapath: Datapath::$datapath,
                master: $master,
            })
            .run();
        }
    )*};
}

matrix! {
    ipv4_unicast_xdp_keepalived_master: Ipv4 Unicast Xdp KEEPALIVED;
    ipv4_unicast_xdp_vrrpd_master: Ipv4 Unicast Xdp VRRPD;
    ipv4_unicast_socket_keepalived_master: Ipv4 Unicast Socket KEEPALIVED;
    ipv4_unicast_socket_vrrpd_master: Ipv4 Unicast Socket VRRPD;
    ipv4_multicast_xdp_keepalived_master: Ipv4 Multicast Xdp KEEPALIVED;
    ipv4_multicast_xdp_vrrpd_master: Ipv4 Multicast Xdp VRRPD;
    ipv4_multicast_socket_keepalived_master: Ipv4 Multicast Socket KEEPALIVED;
    ipv4_multicast_socket_vrrpd_master: Ipv4 Multicast Socket VRRPD;
    ipv6_unicast_xdp_keepalived_master: Ipv6 Unicast Xdp KEEPALIVED;
    ipv6_unicast_xdp_vrrpd_master: Ipv6 Unicast Xdp VRRPD;
    ipv6_unicast_socket_keepalived_master: Ipv6 Unicast Socket KEEPALIVED;
    ipv6_unicast_socket_vrrpd_master: Ipv6 Unicast Socket VRRPD;
    ipv6_multicast_xdp_keepalived_master: Ipv6 Multicast Xdp KEEPALIVED;
    ipv6_multicast_xdp_vrrpd_master: Ipv6 Multicast Xdp VRRPD;
    ipv6_multicast_socket_keepalived_master: Ipv6 Multicast Socket KEEPALIVED;
    ipv6_multicast_socket_vrrpd_master: Ipv6 Multicast Socket VRRPD;
}

fn require_keepalived() {
    let found = std::process::Command::new("keepalived").arg("--version").output().is_ok();
    assert!(
        found,
        "keepalived is not installed: run `cargo xtask setup` (Debian package keepalived)"
    );
}
