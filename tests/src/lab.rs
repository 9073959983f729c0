//! The reference scenario in network namespaces: two routers and a client on one bridge.
//!
//! ```text
//!   r1 (ens3 192.0.2.1) ─┐
//!   r2 (ens3 192.0.2.2) ─┼─ br0 in sw
//!   cl (eth0 192.0.2.10) ┘          VIP 192.0.2.100
//! ```
//! The routers' interfaces are called `ens3`, as in the reference keepalived.conf files, which
//! are filled in only with these addresses. A bpffs is mounted for the lab alone (`ip netns exec`
//! gives each command a fresh /sys, without /sys/fs/bpf), and unmounted on drop.

use std::{
    fs,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use anyhow::{bail, Context, Result};

use vrrp_user::status::Status;

use crate::netns::{run, Lab};

pub const SERVER1: &str = "192.0.2.1";
pub const SERVER2: &str = "192.0.2.2";
pub const CLIENT: &str = "192.0.2.10";
pub const VIP: &str = "192.0.2.100";
/// [`ReferenceLab::routed`]: router 2's address, and the router's on each side.
pub const ROUTED_SERVER2: &str = "198.51.100.2";
pub const ROUTED_GATEWAY1: &str = "192.0.2.254";
pub const ROUTED_GATEWAY2: &str = "198.51.100.254";

/// A launcher for [`ReferenceLab::start_vrrpd_under`]: dist/vrrpd.service's capabilities and
/// securebits through `setpriv` (no PID 1 systemd here to start the unit itself).
pub const AS_THE_UNIT: &[&str] = &[
    "setpriv",
    "--securebits",
    "+noroot,+noroot_locked",
    "--bounding-set",
    "-all,+net_admin,+net_raw,+bpf,+perfmon",
    "--inh-caps",
    "-all,+net_admin,+net_raw,+bpf,+perfmon",
    "--ambient-caps",
    "-all,+net_admin,+net_raw,+bpf,+perfmon",
];

/// The reference configuration files, with placeholders.
pub const REFERENCE: [&str; 2] = [
    include_str!("../../examples/reference/keepalived-server1.conf"),
    include_str!("../../examples/reference/keepalived-server2.conf"),
];

/// Fills the reference file of server `n` (1 or 2) with the lab's addresses.
pub fn reference_config(n: usize) -> String {
    REFERENCE[n - 1]
        .replace("<server1-ip>", SERVER1)
        .replace("<server2-ip>", SERVER2)
        .replace("<virtual-ip>", VIP)
}

pub struct ReferenceLab {
    /// Declared first so daemons stop before the namespaces go.
    daemons: Vec<Daemon>,
    pub lab: Lab,
    pub switch: String,
    pub routers: [String; 2],
    pub client: String,
    pub dir: PathBuf,
    pub bpffs: PathBuf,
}

/// A `vrrpd` or `keepalived` started in a router namespace, stopped on drop.
pub struct Daemon {
    pub name: String,
    pub child: Child,
    pub log: PathBuf,
}

impl ReferenceLab {
    pub fn new() -> Result<Self> {
        Self::with_prefix("vt")
    }

    /// [`Self::new`], the namespaces' names starting with `prefix` (see `Lab::with_prefix`).
    pub fn with_prefix(prefix: &'static str) -> Result<Self> {
        let (mut lab, switch) = Self::switch(prefix)?;
        let r1 = lab.namespace("r1")?;
        let r2 = lab.namespace("r2")?;
        let client = lab.namespace("cl")?;
        for (namespace, ifname, port, address) in [
            (&r1, "ens3", "p1", SERVER1),
            (&r2, "ens3", "p2", SERVER2),
            (&client, "eth0", "pc", CLIENT),
        ] {
            Self::plug(&lab, &switch, namespace, ifname, port, address)?;
        }
        Self::finish(lab, switch, [r1, r2], client)
    }

    /// The routed pair: router 2 is one hop away, behind router namespace `rt`, so its
    /// advertisements arrive with TTL 254 and the VIP is an address of router 1's link.
    ///
    /// ```text
    ///   r1 (ens3 192.0.2.1) ──┐                 rt (gw 198.51.100.254) ── r2 (ens3 198.51.100.2)
    ///   cl (eth0 192.0.2.10) ─┼─ br0 in sw ──── rt (lan 192.0.2.254)
    /// ```
    pub fn routed(prefix: &'static str) -> Result<Self> {
        let (mut lab, switch) = Self::switch(prefix)?;
        let r1 = lab.namespace("r1")?;
        let r2 = lab.namespace("r2")?;
        let client = lab.namespace("cl")?;
        let router = lab.namespace("rt")?;
        Self::plug(&lab, &switch, &r1, "ens3", "p1", SERVER1)?;
        Self::plug(&lab, &switch, &client, "eth0", "pc", CLIENT)?;
        Self::plug(&lab, &switch, &router, "lan", "pr", ROUTED_GATEWAY1)?;
        run(
            "ip",
            &[
                "link", "add", "ens3", "netns", &r2, "type", "veth", "peer", "name", "gw", "netns",
                &router,
            ],
        )?;
        lab.exec(&router, "ip", &["addr", "add", &format!("{ROUTED_GATEWAY2}/24"), "dev", "gw"])?;
        lab.exec(&router, "ip", &["link", "set", "gw", "up"])?;
        lab.exec(&router, "sysctl", &["-qw", "net.ipv4.ip_forward=1"])?;
        lab.exec(&r2, "ip", &["addr", "add", &format!("{ROUTED_SERVER2}/24"), "dev", "ens3"])?;
        lab.exec(&r2, "ip", &["link", "set", "ens3", "up"])?;
        for (namespace, gateway) in [(&r1, ROUTED_GATEWAY1), (&r2, ROUTED_GATEWAY2)] {
            lab.exec(namespace, "ip", &["route", "add", "default", "via", gateway])?;
        }
        Self::finish(lab, switch, [r1, r2], client)
    }

    fn switch(prefix: &'static str) -> Result<(Lab, String)> {
        let mut lab = Lab::with_prefix(prefix);
        let switch = lab.namespace("sw")?;
        lab.exec(&switch, "ip", &["link", "add", "br0", "type", "bridge"])?;
        lab.exec(&switch, "ip", &["link", "set", "br0", "up"])?;
        Ok((lab, switch))
    }

    /// A veth from `namespace` (`ifname`, `address`/24, up) to port `port` of the bridge.
    fn plug(
        lab: &Lab,
        switch: &str,
        namespace: &str,
        ifname: &str,
        port: &str,
        address: &str,
    ) -> Result<()> {
        run(
            "ip",
            &[
                "link", "add", ifname, "netns", namespace, "type", "veth", "peer", "name", port,
                "netns", switch,
            ],
        )?;
        lab.exec(switch, "ip", &["link", "set", port, "master", "br0", "up"])?;
        lab.exec(namespace, "ip", &["addr", "add", &format!("{address}/24"), "dev", ifname])?;
        lab.exec(namespace, "ip", &["link", "set", ifname, "up"])?;
        Ok(())
    }

    fn finish(lab: Lab, switch: String, routers: [String; 2], client: String) -> Result<Self> {
        let dir = std::env::temp_dir().join(format!("vrrp-lab-{}", lab.tag));
        fs::create_dir_all(&dir)?;
        let bpffs = dir.join("bpffs");
        fs::create_dir_all(&bpffs)?;
        run("mount", &["-t", "bpf", "bpf", &bpffs.to_string_lossy()])?;
        Ok(Self { daemons: Vec::new(), lab, switch, routers, client, dir, bpffs })
    }

    /// Adds namespace `suffix` with interface `ifname` (`address`/24, up) on a new port `port`
    /// of the bridge, like the client's. Returns the namespace's name.
    pub fn add_host(
        &mut self,
        suffix: &str,
        ifname: &str,
        port: &str,
        address: &str,
    ) -> Result<String> {
        let namespace = self.lab.namespace(suffix)?;
        run(
            "ip",
            &[
                "link",
                "add",
                ifname,
                "netns",
                &namespace,
                "type",
                "veth",
                "peer",
                "name",
                port,
                "netns",
                &self.switch,
            ],
        )?;
        self.lab.exec(&self.switch, "ip", &["link", "set", port, "master", "br0", "up"])?;
        self.lab.exec(
            &namespace,
            "ip",
            &["addr", "add", &format!("{address}/24"), "dev", ifname],
        )?;
        self.lab.exec(&namespace, "ip", &["link", "set", ifname, "up"])?;
        Ok(namespace)
    }

    /// `vrrpd cleanup -f CONFIG` in router `n`'s namespace, with the lab's folders for it.
    pub fn cleanup(&self, n: usize, config: &Path) -> Result<std::process::Output> {
        Command::new("ip")
            .args(["netns", "exec", self.router(n)])
            .arg(vrrpd_binary()?)
            .args(["cleanup", "-f"])
            .arg(config)
            .arg("--pin-dir")
            .arg(self.bpffs.join(format!("r{n}")))
            .arg("--runtime-dir")
            .arg(self.dir.join(format!("run-r{n}")))
            .output()
            .context("running vrrpd cleanup")
    }

    /// Writes `text` as the configuration of router `n` and returns its path.
    pub fn write_config(&self, n: usize, name: &str, text: &str) -> Result<PathBuf> {
        let path = self.dir.join(format!("r{n}-{name}"));
        fs::write(&path, text)?;
        Ok(path)
    }

    pub fn router(&self, n: usize) -> &str {
        &self.routers[n - 1]
    }

    /// Starts `vrrpd` in router `n` with `config` and extra arguments.
    pub fn start_vrrpd(&mut self, n: usize, config: &Path, extra: &[&str]) -> Result<usize> {
        self.start_vrrpd_with_env(n, config, extra, &[])
    }

    /// [`Self::start_vrrpd`] with extra environment variables.
    pub fn start_vrrpd_with_env(
        &mut self,
        n: usize,
        config: &Path,
        extra: &[&str],
        env: &[(&str, &str)],
    ) -> Result<usize> {
        self.start_vrrpd_under(n, &[], config, extra, env)
    }

    /// [`Self::start_vrrpd_with_env`], started through `launcher` (a program and its
    /// arguments that execs the rest, `setpriv ...` say) inside the namespace.
    pub fn start_vrrpd_under(
        &mut self,
        n: usize,
        launcher: &[&str],
        config: &Path,
        extra: &[&str],
        env: &[(&str, &str)],
    ) -> Result<usize> {
        let binary = vrrpd_binary()?;
        let pin_dir = self.bpffs.join(format!("r{n}"));
        let mut args = vec!["netns".to_owned(), "exec".to_owned(), self.router(n).to_owned()];
        args.extend(launcher.iter().map(|arg| (*arg).to_owned()));
        args.extend([
            binary.to_string_lossy().into_owned(),
            "-f".to_owned(),
            config.to_string_lossy().into_owned(),
        ]);
        if !extra.contains(&"--pin-dir") {
            args.extend(["--pin-dir".to_owned(), pin_dir.to_string_lossy().into_owned()]);
        }
        if !extra.contains(&"--runtime-dir") {
            let runtime_dir = self.dir.join(format!("run-r{n}"));
            args.extend(["--runtime-dir".to_owned(), runtime_dir.to_string_lossy().into_owned()]);
        }
        args.extend(extra.iter().map(|arg| (*arg).to_owned()));
        self.spawn(&format!("vrrpd-r{n}"), "ip", &args, env)
    }

    /// Starts keepalived (VRRP only) in router `n` with `config`, its files in the lab folder.
    pub fn start_keepalived(&mut self, n: usize, config: &Path) -> Result<usize> {
        self.start_keepalived_with_env(n, config, &[])
    }

    /// [`Self::start_keepalived`] with extra environment variables (`TMPDIR`: where its dump
    /// files go).
    pub fn start_keepalived_with_env(
        &mut self,
        n: usize,
        config: &Path,
        env: &[(&str, &str)],
    ) -> Result<usize> {
        let pid = self.dir.join(format!("keepalived-r{n}.pid"));
        let vrrp_pid = self.dir.join(format!("keepalived-vrrp-r{n}.pid"));
        let args: Vec<String> = [
            "netns",
            "exec",
            self.router(n),
            "keepalived",
            "--dont-fork",
            "--log-console",
            "--log-detail",
            "--vrrp",
            "-f",
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .chain([
            config.to_string_lossy().into_owned(),
            "-p".to_owned(),
            pid.to_string_lossy().into_owned(),
            "-r".to_owned(),
            vrrp_pid.to_string_lossy().into_owned(),
        ])
        .collect();
        self.spawn(&format!("keepalived-r{n}"), "ip", &args, env)
    }

    /// FRR's zebra in router `n`, its sockets, pid and log files in the lab folder (`-z`,
    /// `--vty_socket`, `-i`, no TCP vty), so nothing touches the machine's /etc/frr or
    /// /var/run/frr. FRR drops to its own user (root is not in the `frrvty` group it checks),
    /// so that folder belongs to `frr`. Returns once zebra's API socket exists.
    pub fn start_frr_zebra(&mut self, n: usize) -> Result<usize> {
        let dir = self.frr_dir(n)?;
        fs::write(dir.join("zebra.conf"), "")?;
        run("chown", &["-R", "frr:frr", &dir.to_string_lossy()])?;
        let index = self.spawn_frr(n, "zebra")?;
        let socket = dir.join("zserv.api");
        let deadline = Instant::now() + Duration::from_secs(20);
        while !socket.exists() {
            if Instant::now() > deadline {
                bail!(
                    "zebra made no {} within 20 s:\n{}",
                    socket.display(),
                    self.daemons[index].log_text()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(index)
    }

    /// FRR's vrrpd in router `n` with `config` (vrrpd.conf text), beside the zebra of
    /// [`Self::start_frr_zebra`].
    pub fn start_frr_vrrpd(&mut self, n: usize, config: &str) -> Result<usize> {
        let dir = self.frr_dir(n)?;
        let path = dir.join("vrrpd.conf");
        fs::write(&path, config)?;
        run("chown", &["frr:frr", &path.to_string_lossy()])?;
        self.spawn_frr(n, "vrrpd")
    }

    fn frr_dir(&self, n: usize) -> Result<PathBuf> {
        let dir = self.dir.join(format!("frr-r{n}"));
        fs::create_dir_all(&dir)?;
        Ok(dir)
    }

    fn spawn_frr(&mut self, n: usize, daemon: &str) -> Result<usize> {
        let dir = self.frr_dir(n)?;
        let file = |name: String| dir.join(name).to_string_lossy().into_owned();
        let args = vec![
            "netns".to_owned(),
            "exec".to_owned(),
            self.router(n).to_owned(),
            format!("/usr/lib/frr/{daemon}"),
            "-f".to_owned(),
            file(format!("{daemon}.conf")),
            "-i".to_owned(),
            file(format!("{daemon}.pid")),
            "-z".to_owned(),
            file("zserv.api".to_owned()),
            "--vty_socket".to_owned(),
            dir.to_string_lossy().into_owned(),
            "-P".to_owned(),
            "0".to_owned(),
            "--log".to_owned(),
            "stdout".to_owned(),
        ];
        self.spawn(&format!("frr-{daemon}-r{n}"), "ip", &args, &[])
    }

    /// Adds macvlan `name` on router `n`'s `ens3` (bridge mode, so it hears its parent's
    /// neighbours), with MAC `mac`, a random link-local address and `cidrs`, up.
    pub fn add_macvlan(&self, n: usize, name: &str, mac: &str, cidrs: &[&str]) -> Result<()> {
        let namespace = self.router(n);
        let ip = |args: &[&str]| self.lab.exec(namespace, "ip", args).map(drop);
        ip(&["link", "add", name, "link", "ens3", "type", "macvlan", "mode", "bridge"])?;
        ip(&["link", "set", name, "addrgenmode", "random"])?;
        ip(&["link", "set", name, "address", mac])?;
        // No duplicate address detection: FRR cannot bind to a tentative link-local address
        // ("Failed to find address to bind"), and as master it would then send nothing.
        let dad = format!("net.ipv6.conf.{name}.accept_dad=0");
        self.lab.exec(namespace, "sysctl", &["-qw", &dad])?;
        for cidr in cidrs {
            ip(&["addr", "add", cidr, "dev", name])?;
        }
        ip(&["link", "set", name, "up"])?;
        // The link-local address comes with the carrier, and stays through protodown: wait for
        // it to be usable, since FRR sends its IPv6 advertisements from it.
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let out = self.lab.exec(namespace, "ip", &["-6", "addr", "show", "dev", name])?;
            let text = String::from_utf8_lossy(&out.stdout);
            if text.lines().any(|line| line.contains("scope link") && !line.contains("tentative")) {
                break;
            }
            if Instant::now() > deadline {
                bail!("{name} got no link-local address within 10 s");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        // Not answering for the router until its VRRP daemon says master (FRR: protodown as
        // backup), so that no test sees a master before the daemon starts.
        ip(&["link", "set", name, "protodown", "on"])
    }

    /// Whether interface `name` of router `n` is in protodown (FRR's backup state).
    pub fn protodown(&self, n: usize, name: &str) -> Result<bool> {
        let out = self.lab.exec(self.router(n), "ip", &["-d", "-o", "link", "show", name])?;
        Ok(String::from_utf8_lossy(&out.stdout).contains("protodown on"))
    }

    fn spawn(
        &mut self,
        name: &str,
        program: &str,
        args: &[String],
        env: &[(&str, &str)],
    ) -> Result<usize> {
        let log = self.dir.join(format!("{name}-{}.log", self.daemons.len()));
        let file = fs::File::create(&log)?;
        let child = Command::new(program)
            .args(args)
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(file.try_clone()?)
            .stderr(file)
            .spawn()
            .with_context(|| format!("starting {name}"))?;
        self.daemons.push(Daemon { name: name.to_owned(), child, log });
        Ok(self.daemons.len() - 1)
    }

    pub fn daemon(&mut self, index: usize) -> &mut Daemon {
        &mut self.daemons[index]
    }

    /// How many daemons were started (stopped ones included).
    pub fn daemon_count(&self) -> usize {
        self.daemons.len()
    }

    /// Whether router `n` holds the virtual address.
    pub fn has_vip(&self, n: usize) -> Result<bool> {
        self.holds(n, VIP)
    }

    /// Whether router `n`'s `ens3` has `address` (IPv4 or IPv6, any prefix length).
    pub fn holds(&self, n: usize, address: &str) -> Result<bool> {
        let out = self.lab.exec(self.router(n), "ip", &["-o", "addr", "show", "dev", "ens3"])?;
        Ok(String::from_utf8_lossy(&out.stdout).contains(&format!(" {address}/")))
    }

    /// Whether router `n`'s interface `ifname` has `address`; false while `ifname` does not
    /// exist (a macvlan its daemon has not created yet, or removed).
    pub fn holds_on(&self, n: usize, ifname: &str, address: &str) -> Result<bool> {
        let out = self.lab.exec(self.router(n), "ip", &["-o", "addr", "show"])?;
        let text = String::from_utf8_lossy(&out.stdout);
        Ok(text.lines().any(|line| {
            line.split_whitespace().nth(1) == Some(ifname) && line.contains(&format!(" {address}/"))
        }))
    }

    /// Adds `cidr` (`address/prefix`) to router `n`'s `ens3`.
    pub fn add_address(&self, n: usize, cidr: &str) -> Result<()> {
        self.lab.exec(self.router(n), "ip", &["addr", "add", cidr, "dev", "ens3"])?;
        Ok(())
    }

    /// Router `n`'s `vrrpd status --json` (its runtime folder as [`Self::start_vrrpd`] sets
    /// it), decoded; `None` while no daemon answers there.
    pub fn vrrpd_status(&self, n: usize) -> Result<Option<Status>> {
        let output = Command::new(vrrpd_binary()?)
            .arg("status")
            .arg("--json")
            .arg("--runtime-dir")
            .arg(self.dir.join(format!("run-r{n}")))
            .output()
            .context("running vrrpd status")?;
        if !output.status.success() {
            return Ok(None);
        }
        Ok(Some(serde_json::from_slice(&output.stdout).context("vrrpd status --json")?))
    }

    /// Waits until exactly router `n` holds the VIP; returns when it happened.
    pub fn wait_for_master(&self, n: usize, timeout: Duration) -> Result<Instant> {
        let deadline = Instant::now() + timeout;
        loop {
            if self.has_vip(n)? && !self.has_vip(3 - n)? {
                return Ok(Instant::now());
            }
            if Instant::now() > deadline {
                bail!(
                    "router {n} did not become the only holder of {VIP} within {timeout:?} \
                     (r1: {}, r2: {})",
                    self.has_vip(1)?,
                    self.has_vip(2)?
                );
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Waits until router `n` no longer holds the VIP. A daemon logs a state change before it
    /// carries out the change's removals, so its log line is no proof of the release.
    pub fn wait_for_release(&self, n: usize, timeout: Duration) -> Result<()> {
        let deadline = Instant::now() + timeout;
        while self.has_vip(n)? {
            if Instant::now() > deadline {
                bail!("router {n} still holds {VIP} after {timeout:?}");
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        Ok(())
    }

    /// Takes router `n`'s link down or up (the "cable").
    pub fn set_link(&self, n: usize, up: bool) -> Result<()> {
        self.lab.exec(
            self.router(n),
            "ip",
            &["link", "set", "ens3", if up { "up" } else { "down" }],
        )?;
        Ok(())
    }

    /// Whether an XDP program is attached to router `n`'s interface.
    pub fn xdp_attached(&self, n: usize) -> Result<bool> {
        let out = self.lab.exec(self.router(n), "ip", &["-d", "link", "show", "ens3"])?;
        Ok(String::from_utf8_lossy(&out.stdout).contains("prog/xdp"))
    }

    /// The lab's client pings the VIP once; true when a reply came.
    pub fn client_ping(&self) -> bool {
        self.lab.exec(&self.client, "ping", &["-c", "1", "-W", "1", VIP]).is_ok()
    }
}

impl Drop for ReferenceLab {
    fn drop(&mut self) {
        for daemon in &mut self.daemons {
            daemon.stop(Duration::from_secs(5));
        }
        let _ = run("umount", &[&self.bpffs.to_string_lossy()]);
        let _ = fs::remove_dir_all(&self.dir);
    }
}

impl Daemon {
    pub fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    /// The process started by `ip netns exec` replaces it (exec), so the PID is the daemon's.
    pub fn signal(&self, signal: i32) {
        // SAFETY: sending a signal to a child we started.
        unsafe { libc::kill(self.pid(), signal) };
    }

    pub fn log_text(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Waits for a line containing `pattern` in the log.
    pub fn wait_for_log(&self, pattern: &str, timeout: Duration) -> Result<()> {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if self.log_text().contains(pattern) {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        bail!("{}: no {pattern:?} in the log within {timeout:?}:\n{}", self.name, self.log_text())
    }

    /// SIGTERM, then SIGKILL after `grace`; returns the exit status if it exited.
    pub fn stop(&mut self, grace: Duration) -> Option<std::process::ExitStatus> {
        if let Ok(Some(status)) = self.child.try_wait() {
            return Some(status);
        }
        self.signal(libc::SIGTERM);
        let deadline = Instant::now() + grace;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        None
    }

    /// SIGKILL: a crash.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    pub fn wait_exit(&mut self, timeout: Duration) -> Option<std::process::ExitStatus> {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        None
    }
}

/// The `vrrpd` binary next to this test binary (target/<profile>/vrrpd), or `VRRPD`.
pub fn vrrpd_binary() -> Result<PathBuf> {
    if let Some(path) = std::env::var_os("VRRPD") {
        return Ok(path.into());
    }
    let exe = std::env::current_exe()?;
    for dir in exe.ancestors().skip(1).take(3) {
        let candidate = dir.join("vrrpd");
        if candidate.is_file() {
            return Ok(candidate);
        }
    }
    bail!("vrrpd is not built next to {}: run `cargo build -p vrrp-user` first", exe.display())
}

/// Wall-clock milliseconds since the epoch.
pub fn now_ms() -> f64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs_f64() * 1000.0).unwrap_or(0.0)
}
