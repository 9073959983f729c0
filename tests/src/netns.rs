//! Network namespaces and veth pairs that clean up after themselves, panics included.
//!
//! Names carry the process id and a counter, so concurrent tests and crashed earlier runs never
//! collide. Deleting a namespace deletes its veths, which detaches their XDP programs.

use std::{
    fs::File,
    os::fd::AsRawFd,
    process::{Command, Output},
    sync::atomic::{AtomicU32, Ordering},
};

use anyhow::{bail, Context, Result};

static NEXT_ID: AtomicU32 = AtomicU32::new(0);

/// A unique short tag for this process and call: `<pid base36><counter>`.
pub fn unique_tag() -> String {
    let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
    format!("{}{id}", base36(std::process::id()))
}

fn base36(mut value: u32) -> String {
    let digits = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let mut out = Vec::new();
    loop {
        out.push(digits[(value % 36) as usize]);
        value /= 36;
        if value == 0 {
            break;
        }
    }
    out.reverse();
    String::from_utf8(out).unwrap_or_default()
}

/// Runs a command, failing with its stderr when it fails.
pub fn run(program: &str, args: &[&str]) -> Result<Output> {
    let output = Command::new(program)
        .args(args)
        .output()
        .with_context(|| format!("cannot run {program}"))?;
    if !output.status.success() {
        bail!(
            "{program} {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(output)
}

/// A set of namespaces deleted on drop.
pub struct Lab {
    pub tag: String,
    /// The first letters of every namespace name, so each suite's are told apart.
    prefix: &'static str,
    namespaces: Vec<String>,
}

impl Lab {
    pub fn new() -> Self {
        Self::with_prefix("vt")
    }

    pub fn with_prefix(prefix: &'static str) -> Self {
        Self { tag: unique_tag(), prefix, namespaces: Vec::new() }
    }

    /// Creates namespace `<prefix><tag><suffix>` with loopback up; returns its name.
    pub fn namespace(&mut self, suffix: &str) -> Result<String> {
        let name = format!("{}{}{suffix}", self.prefix, self.tag);
        run("ip", &["netns", "add", &name])?;
        self.namespaces.push(name.clone());
        self.exec(&name, "ip", &["link", "set", "lo", "up"])?;
        // No duplicate address detection on the lab's links: link-local addresses are usable
        // at once (a daemon cannot bind a tentative address).
        for scope in ["all", "default"] {
            let key = format!("net.ipv6.conf.{scope}.accept_dad=0");
            self.exec(&name, "sysctl", &["-qw", &key])?;
        }
        Ok(name)
    }

    /// Creates a veth pair with one end in each namespace, both up. Returns the end names.
    pub fn veth(&self, left: &str, right: &str, suffix: &str) -> Result<(String, String)> {
        let (a, b) = (format!("va{}{suffix}", self.tag), format!("vb{}{suffix}", self.tag));
        run(
            "ip",
            &["link", "add", &a, "netns", left, "type", "veth", "peer", "name", &b, "netns", right],
        )?;
        self.exec(left, "ip", &["link", "set", &a, "up"])?;
        self.exec(right, "ip", &["link", "set", &b, "up"])?;
        Ok((a, b))
    }

    pub fn exec(&self, namespace: &str, program: &str, args: &[&str]) -> Result<Output> {
        let mut full = vec!["netns", "exec", namespace, program];
        full.extend_from_slice(args);
        run("ip", &full)
    }

    pub fn ifindex(&self, namespace: &str, ifname: &str) -> Result<u32> {
        let out = self.exec(namespace, "cat", &[&format!("/sys/class/net/{ifname}/ifindex")])?;
        Ok(String::from_utf8_lossy(&out.stdout).trim().parse()?)
    }

    pub fn mac(&self, namespace: &str, ifname: &str) -> Result<[u8; 6]> {
        let out = self.exec(namespace, "cat", &[&format!("/sys/class/net/{ifname}/address")])?;
        let text = String::from_utf8_lossy(&out.stdout);
        let mut mac = [0u8; 6];
        let parts: Vec<&str> = text.trim().split(':').collect();
        if parts.len() != 6 {
            bail!("unexpected MAC {text:?}");
        }
        for (byte, part) in mac.iter_mut().zip(parts) {
            *byte = u8::from_str_radix(part, 16)?;
        }
        Ok(mac)
    }
}

impl Default for Lab {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        for name in self.namespaces.drain(..).rev() {
            if let Err(error) = run("ip", &["netns", "del", &name]) {
                eprintln!("warning: cleaning up namespace {name}: {error:#}");
            }
        }
    }
}

/// While alive, the current thread is in another network namespace; it goes back on drop.
pub struct Entered {
    original: File,
}

/// Moves the current thread into `namespace` (only this thread: tests run one per thread).
pub fn enter(namespace: &str) -> Result<Entered> {
    let original = File::open("/proc/thread-self/ns/net").context("opening own netns")?;
    let target = File::open(format!("/run/netns/{namespace}"))
        .with_context(|| format!("opening netns {namespace}"))?;
    setns(&target)?;
    Ok(Entered { original })
}

fn setns(file: &File) -> Result<()> {
    // SAFETY: a valid namespace file descriptor; affects the calling thread only.
    if unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) } != 0 {
        bail!("setns: {}", std::io::Error::last_os_error());
    }
    Ok(())
}

impl Drop for Entered {
    fn drop(&mut self) {
        if let Err(error) = setns(&self.original) {
            eprintln!("warning: returning to the original netns: {error:#}");
        }
    }
}

/// Sends one raw Ethernet frame out of `ifname` in `namespace`, from a short-lived thread.
pub fn send_frame(namespace: &str, ifname: &str, frame: &[u8]) -> Result<()> {
    let (namespace, ifname, frame) = (namespace.to_owned(), ifname.to_owned(), frame.to_vec());
    std::thread::spawn(move || -> Result<()> {
        let _inside = enter(&namespace)?;
        send_on_current_netns(&ifname, &frame)
    })
    .join()
    .map_err(|_| anyhow::anyhow!("sender thread panicked"))?
}

fn send_on_current_netns(ifname: &str, frame: &[u8]) -> Result<()> {
    PacketSocket::bound(ifname)?.send(frame)
}

/// An AF_PACKET raw socket bound to one interface, for sending frames (protocol 0: it
/// receives nothing).
pub struct PacketSocket {
    pub fd: i32,
}

impl PacketSocket {
    /// Binds to `ifname` in the current thread's network namespace.
    pub fn bound(ifname: &str) -> Result<Self> {
        let name = std::ffi::CString::new(ifname)?;
        // SAFETY: plain libc calls with valid arguments; the fd is owned by the returned value.
        unsafe {
            let ifindex = libc::if_nametoindex(name.as_ptr());
            if ifindex == 0 {
                bail!("no interface {ifname}");
            }
            let fd = libc::socket(libc::AF_PACKET, libc::SOCK_RAW, 0);
            if fd < 0 {
                bail!("AF_PACKET socket: {}", std::io::Error::last_os_error());
            }
            let socket = Self { fd };
            let mut address: libc::sockaddr_ll = std::mem::zeroed();
            address.sll_family = libc::AF_PACKET as u16;
            address.sll_ifindex = ifindex as i32;
            if libc::bind(
                fd,
                (&raw const address).cast(),
                std::mem::size_of::<libc::sockaddr_ll>() as u32,
            ) != 0
            {
                bail!("binding to {ifname}: {}", std::io::Error::last_os_error());
            }
            Ok(socket)
        }
    }

    /// Sends one whole Ethernet frame.
    pub fn send(&self, frame: &[u8]) -> Result<()> {
        // SAFETY: the frame is valid for its length.
        let sent = unsafe { libc::send(self.fd, frame.as_ptr().cast(), frame.len(), 0) };
        if sent < 0 {
            bail!("send: {}", std::io::Error::last_os_error());
        }
        Ok(())
    }
}

impl Drop for PacketSocket {
    fn drop(&mut self) {
        // SAFETY: our own descriptor, closed once.
        unsafe { libc::close(self.fd) };
    }
}
