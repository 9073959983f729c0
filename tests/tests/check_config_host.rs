//! `vrrpd check-config` on the host that will run the file: in a namespace, it reports the
//! interfaces that do not exist and the source addresses nobody holds, as keepalived's
//! `--config-test` does, and `--no-host-checks` skips that with a note. check-config runs no
//! daemon, so every assertion is on a finished command.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use vrrp_tests::{lab::vrrpd_binary, netns::Lab, require_root};

fn instance(interface: &str, extra: &str) -> String {
    format!(
        "vrrp_instance VI01 {{\n    interface {interface}\n    virtual_router_id 51\n    \
         priority 110\n{extra}    virtual_ipaddress {{\n        192.0.2.100/24\n    }}\n}}\n"
    )
}

/// `vrrpd check-config FILE ARGS` inside `namespace`.
fn check_config(namespace: &str, file: &Path, args: &[&str]) -> Output {
    let vrrpd = vrrpd_binary().expect("vrrpd built");
    Command::new("ip")
        .args(["netns", "exec", namespace])
        .arg(vrrpd)
        .arg("check-config")
        .arg(file)
        .args(args)
        .output()
        .expect("ip netns exec runs")
}

/// The test's files, removed on every exit path.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!("vrrpd-check-config-{tag}"));
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn check_config_reports_what_only_the_host_can_say() {
    require_root();
    let mut lab = Lab::with_prefix("kw");
    let left = lab.namespace("a").unwrap();
    let right = lab.namespace("b").unwrap();
    let (ifname, _) = lab.veth(&left, &right, "").unwrap();
    lab.exec(&left, "ip", &["addr", "add", "192.0.2.1/24", "dev", &ifname]).unwrap();
    let dir = TempDir::new(&lab.tag);
    let write = |name: &str, text: String| {
        let path = dir.0.join(name);
        std::fs::write(&path, text).unwrap();
        path
    };

    // Everything the file names is on this host: valid, with a word on the missing tracked
    // interface (keepalived leaves it out, vrrpd counts it down).
    let tracked = "    track_interface {\n        kwgone0\n    }\n    unicast_src_ip 192.0.2.1\n";
    let good = write("good.conf", instance(&ifname, tracked));
    let output = check_config(&left, &good, &[]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("track_interface kwgone0 does not exist on this host"),
        "{}",
        stderr(&output)
    );

    // The interface is missing: refused, naming it, as the daemon would refuse to start.
    let missing = write("missing.conf", instance("kwnone0", ""));
    let output = check_config(&left, &missing, &[]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert!(
        stderr(&output)
            .contains("vrrp_instance VI01: interface kwnone0 does not exist on this host"),
        "{}",
        stderr(&output)
    );
    // keepalived's --config-test names the same interfaces (it then runs without them,
    // exit 5: vrrpd refuses the missing interface and counts the tracked one down).
    let both =
        write("both.conf", instance("kwnone0", "    track_interface {\n        kwgone0\n    }\n"));
    let keepalived = Command::new("ip")
        .args(["netns", "exec", &left, "/usr/sbin/keepalived", "--config-test", "-f"])
        .arg(&both)
        .output()
        .expect("keepalived 2.2.7 is installed (cargo xtask setup)");
    let said = stderr(&keepalived);
    assert_eq!(keepalived.status.code(), Some(5), "{said}");
    assert!(said.contains("interface kwnone0 for vrrp_instance VI01 doesn't exist"), "{said}");
    assert!(said.contains("tracked interface kwgone0 doesn't exist"), "{said}");
    let output = check_config(&left, &both, &[]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert!(stderr(&output).contains("interface kwnone0 does not exist"), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("track_interface kwgone0 does not exist"),
        "{}",
        stderr(&output)
    );

    // Away from the host, the file alone is checked, and the output says so.
    let output = check_config(&left, &missing, &["--no-host-checks"]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("host checks skipped (--no-host-checks)"),
        "{}",
        stderr(&output)
    );

    // A source address nobody on this host holds: refused.
    let source = "    unicast_src_ip 192.0.2.9\n    unicast_peer {\n        192.0.2.2\n    }\n";
    let unheld = write("unheld.conf", instance(&ifname, source));
    let output = check_config(&left, &unheld, &[]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert!(
        stderr(&output)
            .contains("source address 192.0.2.9 (unicast_src_ip / mcast_src_ip) is not configured"),
        "{}",
        stderr(&output)
    );

    // A keyword whose absence can move the addresses is refused unless allowed.
    let ipvlan = write("ipvlan.conf", instance(&ifname, "    use_ipvlan\n"));
    let output = check_config(&left, &ipvlan, &[]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("keyword \"use_ipvlan\" in vrrp_instance VI01 is not supported")
    );
    let output = check_config(&left, &ipvlan, &["--allow-unsupported"]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(stderr(&output).contains("(allowed by --allow-unsupported)"), "{}", stderr(&output));
}

/// The public keepalived.conf files of vrrp-config's corpus, each checked on a namespace that
/// holds what it names (its interfaces, as veths, and its source addresses): the host checks
/// find nothing to say about a file keepalived runs on such a host.
#[test]
fn corpus_files_pass_the_host_checks_where_their_interfaces_exist() {
    require_root();
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("../vrrp-config/tests/data/corpus");
    let mut files: Vec<_> = std::fs::read_dir(&corpus)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|extension| extension == "conf"))
        .collect();
    files.sort();
    let mut checked = 0;
    for file in files {
        // Its first lines say it is written for `-i high` (or `-i low`).
        let config_id = file.to_string_lossy().contains("conditional_conf").then_some("high");
        let options = vrrp_config::LoadOptions {
            config_id: config_id.map(str::to_string),
            allow_unsupported: true,
        };
        // A file vrrp-config refuses for what it says (its refusal is stated and checked in
        // vrrp-config/tests/corpus.rs) has nothing left for the host to judge.
        let config = match vrrp_config::load_with(&file, &options) {
            Ok(loaded) => loaded.config,
            Err(error) => {
                println!("{}: refused before the host checks: {error}", file.display());
                continue;
            }
        };
        let mut lab = Lab::with_prefix("kw");
        let namespace = lab.namespace("c").unwrap();
        let mut names = std::collections::BTreeSet::new();
        for instance in &config.instances {
            names.insert(instance.interface.clone());
            names.extend(instance.track_interfaces.iter().map(|tracked| tracked.name.clone()));
            let vips = instance.virtual_addresses.iter().chain(&instance.excluded_addresses);
            names.extend(vips.filter_map(|vip| vip.device.clone()));
        }
        // veth pairs (this kernel may have no dummy interfaces); the peer stays unused.
        for (index, name) in names.iter().enumerate() {
            let peer = format!("kwpeer{index}");
            let add = ["link", "add", name, "type", "veth", "peer", "name", &peer];
            lab.exec(&namespace, "ip", &add).unwrap();
            lab.exec(&namespace, "ip", &["link", "set", name, "up"]).unwrap();
        }
        for (index, instance) in config.instances.iter().enumerate() {
            let own = match (instance.source_ip, instance.family) {
                (Some(source), _) => source.to_string(),
                (None, vrrp_config::Family::Ipv4) => format!("10.255.{index}.1/24"),
                (None, vrrp_config::Family::Ipv6) => format!("fe80::{:x}/64", index + 1),
            };
            // Instances sharing an interface may name one source twice.
            let _ = lab.exec(&namespace, "ip", &["addr", "add", &own, "dev", &instance.interface]);
        }
        let mut args = vec!["--allow-unsupported"];
        if let Some(config_id) = config_id {
            args.extend(["-i", config_id]);
        }
        let output = check_config(&namespace, &file, &args);
        let log = stderr(&output);
        assert!(output.status.success(), "{}:\n{log}", file.display());
        assert!(!log.contains("on this host"), "{}:\n{log}", file.display());
        checked += 1;
    }
    assert!(checked >= 10, "only {checked} corpus files reached the host checks");
}
