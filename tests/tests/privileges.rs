//! Least privilege after start-up: the running vrrpd holds exactly CAP_NET_ADMIN and
//! CAP_NET_RAW (bounding, permitted, effective; nothing inheritable or ambient, in every
//! thread), and a reload still does what reload does: an instance on a new interface (XDP
//! attached there, raw sockets opened) and a VIP added. A notify script run as root, by default
//! or by name, gets the daemon's two capabilities and no more.
//!
//! Once as root with every capability, once as the systemd unit starts it (no PID 1 systemd
//! here: `setpriv` gives the unit's CapabilityBoundingSet=, AmbientCapabilities= and
//! SecureBits=noroot noroot-locked; without CAP_SETPCAP the bounding set stays the unit's).

use std::{fs, path::Path, time::Duration};

use vrrp_tests::{
    lab::{ReferenceLab, AS_THE_UNIT, SERVER1, VIP},
    netns::run,
    require_root, wait_until,
};
use vrrp_user::privileges::{
    CapSet, ProcCaps, CAP_KILL, CAP_NET_ADMIN, CAP_NET_RAW, CAP_SETGID, CAP_SETUID,
};

const CAP_PERFMON: u32 = 38;
const CAP_BPF: u32 = 39;

const ELECTION: Duration = Duration::from_secs(30);
const SECOND_VIP: &str = "192.0.2.101";
const NEW_LINK_ADDRESS: &str = "198.51.100.1";
const NEW_LINK_VIP: &str = "198.51.100.100";

fn config(dir: &Path, reloaded: bool) -> String {
    let default_caps = dir.join("default-user.caps");
    let root_caps = dir.join("root-user.caps");
    let record =
        |file: &Path| format!("\"/bin/sh -c 'grep ^Cap /proc/self/status > {}'\"", file.display());
    let second_vip = if reloaded { format!("        {SECOND_VIP}\n") } else { String::new() };
    let mut text = format!(
        "vrrp_instance A {{
    interface ens3
    virtual_router_id 51
    priority 200
    advert_int 1
    notify_master {}
    notify_backup {} root
    virtual_ipaddress {{
        {VIP}/24
{second_vip}    }}
}}
",
        record(&default_caps),
        record(&root_caps),
    );
    if reloaded {
        text.push_str(&format!(
            "vrrp_instance B {{
    interface ens4
    virtual_router_id 52
    priority 200
    advert_int 1
    virtual_ipaddress {{
        {NEW_LINK_VIP}/24
    }}
}}
"
        ));
    }
    text
}

fn holds(lab: &ReferenceLab, ifname: &str, address: &str) -> bool {
    lab.lab
        .exec(lab.router(1), "ip", &["-o", "addr", "show", "dev", ifname])
        .map(|out| String::from_utf8_lossy(&out.stdout).contains(&format!("inet {address}/")))
        .unwrap_or(false)
}

fn caps_of(path: &Path) -> ProcCaps {
    ProcCaps::parse(&fs::read_to_string(path).unwrap_or_default())
}

#[test]
fn as_root_only_net_admin_and_net_raw_are_left_and_reload_still_works() {
    require_root();
    drop_and_reload(&[], CapSet::of(&[CAP_NET_ADMIN, CAP_NET_RAW]));
}

#[test]
fn as_the_unit_starts_it_only_net_admin_and_net_raw_are_left_and_reload_still_works() {
    require_root();
    drop_and_reload(AS_THE_UNIT, CapSet::of(&[CAP_NET_ADMIN, CAP_NET_RAW, CAP_BPF, CAP_PERFMON]));
}

fn drop_and_reload(launcher: &[&str], bounding: CapSet) {
    let mut lab = ReferenceLab::with_prefix("hd").expect("building the lab");
    let path = lab.write_config(1, "keepalived.conf", &config(&lab.dir, false)).unwrap();
    let daemon = lab.start_vrrpd_under(1, launcher, &path, &[], &[]).unwrap();
    lab.daemon(daemon).wait_for_log("capabilities kept", ELECTION).unwrap();
    let pid = lab.daemon(daemon).pid();
    let expected = CapSet::of(&[CAP_NET_ADMIN, CAP_NET_RAW]);
    let tasks: Vec<_> = fs::read_dir(format!("/proc/{pid}/task"))
        .expect("the daemon's threads")
        .map(|entry| entry.unwrap().path())
        .collect();
    for task in std::iter::once(Path::new(&format!("/proc/{pid}")).to_owned()).chain(tasks) {
        let caps = caps_of(&task.join("status"));
        assert_eq!(caps.effective, expected, "CapEff of {}: {caps:?}", task.display());
        assert_eq!(caps.permitted, expected, "CapPrm of {}", task.display());
        assert_eq!(caps.bounding, bounding, "CapBnd of {}", task.display());
        assert_eq!(caps.inheritable, CapSet(0), "CapInh of {}", task.display());
        assert_eq!(caps.ambient, CapSet(0), "CapAmb of {}", task.display());
    }
    println!("vrrpd {pid} keeps {expected}, bounding set {bounding}");

    // Alone on the link it becomes master; first it was backup: both scripts ran.
    wait_until("the VIP on ens3", ELECTION, || holds(&lab, "ens3", VIP)).unwrap();
    let default_caps = lab.dir.join("default-user.caps");
    let root_caps = lab.dir.join("root-user.caps");
    wait_until("both notify scripts recorded their capabilities", ELECTION, || {
        caps_of(&default_caps).bounding != CapSet(0) && caps_of(&root_caps).bounding != CapSet(0)
    })
    .unwrap();
    let script = caps_of(&default_caps);
    assert_eq!(script.effective, expected, "a root script by default: {script:?}");
    assert_eq!(script.permitted, expected, "a root script by default: {script:?}");
    let named_root = caps_of(&root_caps);
    assert_eq!(named_root.effective, expected, "a script whose user is root: {named_root:?}");

    // A new interface, then a reload that puts an instance on it and a VIP beside the first.
    run(
        "ip",
        &[
            "link",
            "add",
            "ens4",
            "netns",
            lab.router(1),
            "type",
            "veth",
            "peer",
            "name",
            "p4",
            "netns",
            &lab.switch,
        ],
    )
    .unwrap();
    lab.lab.exec(&lab.switch, "ip", &["link", "set", "p4", "up"]).unwrap();
    let r1 = lab.router(1).to_owned();
    lab.lab
        .exec(&r1, "ip", &["addr", "add", &format!("{NEW_LINK_ADDRESS}/24"), "dev", "ens4"])
        .unwrap();
    lab.lab.exec(&r1, "ip", &["link", "set", "ens4", "up"]).unwrap();
    fs::write(&path, config(&lab.dir, true)).unwrap();
    lab.daemon(daemon).signal(libc::SIGHUP);
    lab.daemon(daemon).wait_for_log("reloaded", ELECTION).unwrap();
    assert!(
        !lab.daemon(daemon).log_text().contains("reload refused"),
        "{}",
        lab.daemon(daemon).log_text()
    );
    wait_until("the added VIP on ens3", ELECTION, || holds(&lab, "ens3", SECOND_VIP)).unwrap();
    wait_until("the new instance's VIP on ens4", ELECTION, || holds(&lab, "ens4", NEW_LINK_VIP))
        .unwrap();
    let link = lab.lab.exec(&r1, "ip", &["-d", "link", "show", "ens4"]).unwrap();
    let link = String::from_utf8_lossy(&link.stdout).into_owned();
    let log = lab.daemon(daemon).log_text();
    assert!(log.contains("XDP attached to ens4"), "XDP on the new interface:\n{log}");
    // Without CAP_BPF no program loads: the veth gets the loaded vrrp_xdp, not one bound to it.
    assert!(
        log.contains("ens4: vrrp_xdp_vlan does not load (programs are loaded only at start"),
        "the reload says why ens4 runs vrrp_xdp:\n{log}"
    );
    assert!(link.contains("prog/xdp"), "XDP on ens4: {link}");
    assert!(holds(&lab, "ens3", VIP) && holds(&lab, "ens3", SERVER1));

    // SIGTERM still removes every address and detaches XDP with what is left.
    let status = lab.daemon(daemon).stop(Duration::from_secs(10));
    assert!(status.is_some_and(|status| status.success()), "exit: {status:?}");
    assert!(!holds(&lab, "ens3", VIP) && !holds(&lab, "ens3", SECOND_VIP));
    assert!(!holds(&lab, "ens4", NEW_LINK_VIP));
    assert!(!lab.xdp_attached(1).unwrap(), "XDP left on ens3");
}

/// Scripts that run as another user keep CAP_SETUID, CAP_SETGID and CAP_KILL, and a tracking
/// script every 0.1 s does not keep a thread of full privileges alive (users are looked up
/// once per configuration).
#[test]
fn scripts_of_another_user_add_only_setuid_setgid_and_kill() {
    require_root();
    let mut lab = ReferenceLab::with_prefix("hd").expect("building the lab");
    let text = format!(
        "global_defs {{
    script_user nobody
}}
vrrp_script quick {{
    script \"/bin/true\"
    interval 0.1
}}
vrrp_instance A {{
    interface ens3
    virtual_router_id 51
    priority 200
    advert_int 1
    track_script {{
        quick
    }}
    virtual_ipaddress {{
        {VIP}/24
    }}
}}
"
    );
    let path = lab.write_config(1, "keepalived.conf", &text).unwrap();
    let daemon = lab.start_vrrpd(1, &path, &[]).unwrap();
    lab.daemon(daemon).wait_for_log("capabilities kept", ELECTION).unwrap();
    let pid = lab.daemon(daemon).pid();
    let expected = CapSet::of(&[CAP_KILL, CAP_SETGID, CAP_SETUID, CAP_NET_ADMIN, CAP_NET_RAW]);
    for task in fs::read_dir(format!("/proc/{pid}/task")).unwrap() {
        let caps = caps_of(&task.unwrap().path().join("status"));
        assert_eq!(caps.effective, expected, "{caps:?}");
        assert_eq!(caps.bounding, expected, "{caps:?}");
    }
    wait_until("the VIP on ens3", ELECTION, || holds(&lab, "ens3", VIP)).unwrap();
    let log = lab.daemon(daemon).log_text();
    assert!(!log.contains("vrrp_script quick: failed"), "{log}");
}
