//! keepalived's dump files, read the way their consumers read them: the keepalived exporters
//! (JSON decoded into `data.iname`, `data.state`, `stats.*`; the data file's ` VRRP Instance =`
//! blocks and `   State =` lines; the stats file's sections) and OpenShift's liveness probe
//! (`kill -USR1 $(pidof keepalived) && ! grep -q "State = FAULT" /tmp/keepalived.data`), on
//! both nodes of the reference lab, against what `vrrpd status --json` says; and `--signum`
//! against keepalived's own.

use std::{
    collections::HashMap,
    fs,
    os::unix::fs::{symlink, MetadataExt},
    path::{Path, PathBuf},
    process::Command,
    time::{Duration, Instant},
};

use vrrp_tests::{
    lab::{vrrpd_binary, ReferenceLab, SERVER1, SERVER2, VIP},
    require_root, wait_until,
};
use vrrp_user::status::Status;

const ELECTION: Duration = Duration::from_secs(30);
const DUMP: Duration = Duration::from_secs(10);
/// keepalived's state numbers, as the exporters decode `data.state`.
const STATES: [&str; 4] = ["INIT", "BACKUP", "MASTER", "FAULT"];
/// The interface both routers' VI_1 tracks (weight 0: down means FAULT).
const TRACKED: &str = "dptrk";

/// Two instances per router: VI_1 (VRRPv2, tracks [`TRACKED`] and the passing script `chk`)
/// and VI_2 (VRRPv3), router 1 the higher priority of both.
fn config(n: usize) -> String {
    let (own, peer, priority) = match n {
        1 => (SERVER1, SERVER2, 150),
        _ => (SERVER2, SERVER1, 100),
    };
    format!(
        "vrrp_script chk {{\n script /bin/true\n interval 1\n weight -20\n}}\n\
         vrrp_instance VI_1 {{\n interface ens3\n virtual_router_id 51\n priority {priority}\n \
         advert_int 1\n unicast_src_ip {own}\n unicast_peer {{\n {peer}\n }}\n \
         track_interface {{\n {TRACKED}\n }}\n track_script {{\n chk\n }}\n \
         virtual_ipaddress {{\n {VIP}/24\n }}\n}}\n\
         vrrp_instance VI_2 {{\n version 3\n interface ens3\n virtual_router_id 52\n \
         priority {priority}\n advert_int 0.5\n unicast_src_ip {own}\n \
         unicast_peer {{\n {peer}\n }}\n virtual_ipaddress {{\n 192.0.2.101\n }}\n}}\n"
    )
}

struct Router {
    index: usize,
    dumps: PathBuf,
    runtime: PathBuf,
}

/// `vrrpd status --json` of a router; `None` while it does not answer.
fn status(router: &Router) -> Option<Status> {
    let output = Command::new(vrrpd_binary().expect("vrrpd built"))
        .args(["status", "--json", "--runtime-dir"])
        .arg(&router.runtime)
        .output()
        .expect("running vrrpd status");
    output.status.success().then(|| serde_json::from_slice(&output.stdout).expect("its schema"))
}

/// Each instance's state, by name, as `vrrpd status` says.
fn states(router: &Router) -> Option<HashMap<String, String>> {
    let status = status(router)?;
    Some(status.instances.into_iter().map(|i| (i.name, i.state)).collect())
}

fn wait_for_states(router: &Router, wanted: &[(&str, &str)]) -> HashMap<String, String> {
    let deadline = Instant::now() + ELECTION;
    loop {
        let seen = states(router);
        if let Some(seen) = &seen {
            if wanted.iter().all(|(name, state)| seen.get(*name).map(String::as_str) == Some(state))
            {
                return seen.clone();
            }
        }
        assert!(Instant::now() < deadline, "not {wanted:?} within {ELECTION:?}: {seen:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Waits until every BACKUP instance of `router` has heard its master (BACKUP is where an
/// instance starts, before any advertisement came).
fn wait_for_masters_heard(router: &Router) {
    wait_until("every backup instance hearing its master", ELECTION, || {
        status(router).is_some_and(|status| {
            status.instances.iter().filter(|i| i.state == "BACKUP").all(|i| {
                i.master.as_ref().is_some_and(|master| !master.is_self)
                    && i.statistics.advertisements_received > 0
            })
        })
    })
    .unwrap();
}

/// Sends `signal` and waits for `file` to be written anew; returns its text.
fn dump(lab: &mut ReferenceLab, router: &Router, signal: i32, file: &str) -> String {
    let path = router.dumps.join(file);
    let _ = fs::remove_file(&path);
    lab.daemon(router.index).signal(signal);
    wait_until(&format!("{} after signal {signal}", path.display()), DUMP, || path.exists())
        .unwrap();
    let metadata = fs::symlink_metadata(&path).unwrap();
    assert!(metadata.file_type().is_file(), "{} is a regular file", path.display());
    assert_eq!(
        (metadata.mode() & 0o777, metadata.uid()),
        (0o600, 0),
        "{} is root's, 0600",
        path.display()
    );
    fs::read_to_string(&path).unwrap()
}

/// The data file as mehdy/keepalived-exporter's ParseVRRPData reads it: instance name ->
/// (State, Wantstate, Interface, Virtual Router ID, VIPs).
fn parse_data(text: &str) -> HashMap<String, (String, String, String, u8, Vec<String>)> {
    let mut instances = HashMap::new();
    let mut current: Option<String> = None;
    let mut key = String::new();
    for line in text.lines() {
        if let Some(name) = line.strip_prefix(" VRRP Instance = ") {
            let name = name.trim().to_owned();
            instances.insert(name.clone(), Default::default());
            current = Some(name);
        } else if let (true, Some(name)) = (line.starts_with("   "), &current) {
            let entry: &mut (String, String, String, u8, Vec<String>) =
                instances.get_mut(name).unwrap();
            if line.starts_with("     ") {
                if key.starts_with("Virtual IP (") {
                    entry.4.push(line.trim().to_owned());
                }
                continue;
            }
            let Some((k, v)) = line.trim().split_once('=').or_else(|| line.trim().split_once(':'))
            else {
                continue;
            };
            key = k.trim().to_owned();
            let value = v.trim().to_owned();
            match key.as_str() {
                "State" => entry.0 = value,
                "Wantstate" => entry.1 = value,
                "Interface" => entry.2 = value,
                "Virtual Router ID" => entry.3 = value.parse().expect("an integer VRID"),
                "Gratuitous ARP delay" => {
                    value.parse::<i64>().expect("an integer delay");
                }
                _ => {}
            }
        } else {
            current = None;
        }
    }
    instances
}

/// The stats file as the exporter's ParseStats reads it: instance -> (section, key) -> value,
/// every value an integer.
fn parse_stats(text: &str) -> HashMap<String, HashMap<(String, String), u64>> {
    let mut stats: HashMap<String, HashMap<(String, String), u64>> = HashMap::new();
    let (mut instance, mut section) = (String::new(), String::new());
    for line in text.lines() {
        if let Some(name) = line.strip_prefix("VRRP Instance: ") {
            instance = name.trim().to_owned();
            stats.entry(instance.clone()).or_default();
        } else if line.starts_with("  ") && line.ends_with(':') {
            section = line.trim().trim_end_matches(':').to_owned();
        } else if let Some((key, value)) = line.trim().split_once(':') {
            if !line.starts_with("    ") {
                section.clear();
            }
            let value = value.trim().parse().unwrap_or_else(|_| panic!("{line:?}: not a number"));
            let entry = stats.get_mut(&instance).expect("a line inside an instance");
            entry.insert((section.clone(), key.trim().to_owned()), value);
        }
    }
    stats
}

/// The JSON as the exporters decode it: instance name -> (state number, the whole element).
fn parse_json(text: &str) -> HashMap<String, (usize, serde_json::Value)> {
    let elements: Vec<serde_json::Value> = serde_json::from_str(text).expect("a JSON array");
    elements
        .into_iter()
        .map(|element| {
            let name = element["data"]["iname"].as_str().expect("data.iname").to_owned();
            let state = element["data"]["state"].as_u64().expect("data.state") as usize;
            for field in ["advert_rcvd", "advert_sent", "become_master", "release_master"] {
                assert!(element["stats"][field].is_u64(), "stats.{field}: {element}");
            }
            for field in ["vrid", "garp_delay", "wantstate"] {
                assert!(element["data"][field].is_u64(), "data.{field}: {element}");
            }
            (name, (state, element))
        })
        .collect()
}

/// `grep -q "State = FAULT" FILE` succeeds (the OpenShift probe fails) when an instance is FAULT.
fn probe_finds_fault(path: &Path) -> bool {
    let status = Command::new("grep").args(["-q", "State = FAULT"]).arg(path).status().unwrap();
    assert!(status.code() == Some(0) || status.code() == Some(1), "grep failed: {status}");
    status.success()
}

/// Every dump of `router` agrees with its status; returns the parsed data and JSON.
fn check_dumps_against_status(lab: &mut ReferenceLab, router: &Router) {
    let expected = states(router).expect("the status answers");
    let data = parse_data(&dump(lab, router, libc::SIGUSR1, "keepalived.data"));
    let json = parse_json(&dump(lab, router, libc::SIGRTMIN() + 2, "keepalived.json"));
    let stats_text = dump(lab, router, libc::SIGUSR2, "keepalived.stats");
    let stats = parse_stats(&stats_text);
    // States may move between the status and the dumps only if the lab did: it does not here.
    assert_eq!(states(router).as_ref(), Some(&expected));
    for (name, state) in &expected {
        let (data_state, want, interface, vrid, vips) = &data[name];
        assert_eq!((data_state, want, interface.as_str()), (state, state, "ens3"), "{name}");
        assert_eq!(*vrid, if name == "VI_1" { 51 } else { 52 });
        let (json_state, element) = &json[name];
        assert_eq!(STATES[*json_state], state, "{name}: {element}");
        let vip = element["data"]["vips"][0].as_str().unwrap();
        // The exporters split a VIP on spaces: address, "dev", interface.
        let words: Vec<&str> = vip.split(' ').collect();
        assert_eq!((words.get(1), words.get(2)), (Some(&"dev"), Some(&"ens3")), "{vip}");
        assert_eq!(vips, &[vip.to_owned()]);
        let counted = &stats[name];
        let sent = counted[&("Advertisements".to_owned(), "Sent".to_owned())];
        let received = counted[&("Advertisements".to_owned(), "Received".to_owned())];
        match state.as_str() {
            "MASTER" => assert!(sent > 0, "{name} sent nothing: {stats_text}"),
            "BACKUP" => assert!(received > 0, "{name} received nothing: {stats_text}"),
            _ => {}
        }
        assert!(counted.contains_key(&(String::new(), "Became master".to_owned())));
    }
    let data_path = router.dumps.join("keepalived.data");
    let faulty = expected.values().any(|state| state == "FAULT");
    assert_eq!(
        probe_finds_fault(&data_path),
        faulty,
        "{}",
        fs::read_to_string(&data_path).unwrap()
    );
}

#[test]
fn dumps_read_as_the_exporters_and_the_openshift_probe_read_them() {
    require_root();
    let mut lab = ReferenceLab::with_prefix("dp").expect("building the lab");
    let mut routers = Vec::new();
    for n in [1, 2] {
        add_tracked_link(&lab, n);
        let dumps = lab.dir.join(format!("dumps-r{n}"));
        fs::create_dir_all(&dumps).unwrap();
        let path = lab.write_config(n, "keepalived.conf", &config(n)).unwrap();
        let dumps_arg = dumps.to_string_lossy().into_owned();
        let pid_file = dumps.join("vrrpd.pid").to_string_lossy().into_owned();
        // Router 1 is told its folder (and writes a pid file, as keepalived's -p); router 2
        // finds its folder as keepalived would, in TMPDIR.
        let index = match n {
            1 => lab.start_vrrpd(n, &path, &["--dump-dir", &dumps_arg, "-p", &pid_file]),
            _ => lab.start_vrrpd_with_env(n, &path, &[], &[("TMPDIR", &dumps_arg)]),
        }
        .unwrap();
        routers.push(Router { index, dumps, runtime: lab.dir.join(format!("run-r{n}")) });
    }
    wait_for_states(&routers[0], &[("VI_1", "MASTER"), ("VI_2", "MASTER")]);
    wait_for_states(&routers[1], &[("VI_1", "BACKUP"), ("VI_2", "BACKUP")]);
    wait_for_masters_heard(&routers[1]);
    for router in &routers {
        check_dumps_against_status(&mut lab, router);
    }
    // The exporters signal the pid their pid file names (ka.pid-path), then read the file.
    let pid_file = routers[0].dumps.join("vrrpd.pid");
    let named: i32 = fs::read_to_string(&pid_file).unwrap().trim().parse().unwrap();
    assert_eq!(named, lab.daemon(routers[0].index).pid(), "the pid file names the daemon");
    let data = routers[0].dumps.join("keepalived.data");
    fs::remove_file(&data).unwrap();
    // SAFETY: kill with a pid read from the file and a valid signal number.
    assert_eq!(unsafe { libc::kill(named, libc::SIGUSR1) }, 0);
    wait_until("keepalived.data after SIGUSR1 to the pid file's pid", DUMP, || data.exists())
        .unwrap();

    // Router 1's tracked interface goes down: VI_1 is FAULT there, the probe fails on router 1
    // only, and router 2 takes VI_1 over.
    lab.lab.exec(lab.router(1), "ip", &["link", "set", TRACKED, "down"]).unwrap();
    wait_for_states(&routers[0], &[("VI_1", "FAULT"), ("VI_2", "MASTER")]);
    wait_for_states(&routers[1], &[("VI_1", "MASTER"), ("VI_2", "BACKUP")]);
    wait_for_masters_heard(&routers[1]);
    for router in &routers {
        check_dumps_against_status(&mut lab, router);
    }

    // A symlink planted at a dump's name is replaced, never followed.
    let victim = lab.dir.join("victim");
    fs::write(&victim, "precious").unwrap();
    let stats = routers[1].dumps.join("keepalived.stats");
    let _ = fs::remove_file(&stats);
    symlink(&victim, &stats).unwrap();
    lab.daemon(routers[1].index).signal(libc::SIGUSR2);
    wait_until("the planted symlink replaced by a file", DUMP, || {
        fs::symlink_metadata(&stats).is_ok_and(|m| m.file_type().is_file())
    })
    .unwrap();
    assert_eq!(fs::read_to_string(&victim).unwrap(), "precious");

    // A burst of signals: the daemon keeps running and answering, and the files stay whole.
    let json = routers[1].dumps.join("keepalived.json");
    for _ in 0..200 {
        let daemon = lab.daemon(routers[1].index);
        daemon.signal(libc::SIGUSR1);
        daemon.signal(libc::SIGRTMIN() + 2);
        daemon.signal(libc::SIGUSR2);
    }
    for _ in 0..20 {
        let text = fs::read_to_string(&json).unwrap();
        assert_eq!(parse_json(&text).len(), 2, "{text}");
    }
    assert!(lab.daemon(routers[1].index).child.try_wait().unwrap().is_none(), "vrrpd died");
    check_dumps_against_status(&mut lab, &routers[1]);
    let leftovers: Vec<_> = fs::read_dir(&routers[1].dumps)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with('.'))
        .collect();
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");

    // keepalived's STATS_CLEAR: the file shows the counters, then the dumps count from 0
    // again, while vrrpd's own counters go on.
    let vi1 = |text: &str, key: &str| {
        let counted = &parse_stats(text)["VI_1"];
        let section = if key == "Became master" { "" } else { "Advertisements" };
        counted[&(section.to_owned(), key.to_owned())]
    };
    let status_sent = |router: &Router| {
        let status = status(router).expect("the status answers");
        let vi1 = status.instances.iter().find(|i| i.name == "VI_1").unwrap();
        vi1.statistics.advertisements_sent
    };
    let sent_before = status_sent(&routers[1]);
    let cleared = dump(&mut lab, &routers[1], libc::SIGRTMAX() - 1, "keepalived.stats");
    let since = dump(&mut lab, &routers[1], libc::SIGUSR2, "keepalived.stats");
    let sent_after = status_sent(&routers[1]);
    // Router 2's VI_1 became master at the failover (and no transition came since).
    let became = (vi1(&cleared, "Became master"), vi1(&since, "Became master"));
    assert!(became.0 >= 1 && became.1 == 0, "{cleared}\n{since}");
    let (at_clear, since_clear) = (vi1(&cleared, "Sent"), vi1(&since, "Sent"));
    assert!(at_clear >= sent_before && at_clear + since_clear <= sent_after, "{cleared}\n{since}");

    // A stopped daemon takes its pid file with it.
    lab.daemon(routers[0].index).stop(Duration::from_secs(10)).expect("router 1 stops");
    assert!(!pid_file.exists(), "{} left behind", pid_file.display());
}

/// Adds [`TRACKED`] (and its peer), up, to router `n`.
fn add_tracked_link(lab: &ReferenceLab, n: usize) {
    let namespace = lab.router(n).to_owned();
    let peer = format!("{TRACKED}p");
    let add = ["link", "add", TRACKED, "type", "veth", "peer", "name", &peer];
    lab.lab.exec(&namespace, "ip", &add).unwrap();
    for link in [TRACKED, &peer] {
        lab.lab.exec(&namespace, "ip", &["link", "set", link, "up"]).unwrap();
    }
}

/// keepalived renames its file into place before it writes it: waits until `path` exists and
/// has stopped growing.
fn wait_for_settled(path: &Path) -> String {
    let mut last = None;
    wait_until(&format!("{} written", path.display()), DUMP, || {
        let now = fs::read_to_string(path).ok().filter(|text| !text.is_empty());
        let settled = now.is_some() && now == last;
        last = now;
        if !settled {
            std::thread::sleep(Duration::from_millis(100));
        }
        settled
    })
    .unwrap();
    last.unwrap()
}

/// Lines whose presence depends on the state (keepalived: vrrp_data.c dump_vrrp(), BACKUP
/// only), left out of the comparison of two routers in different states.
const STATE_LINES: [&str; 4] =
    ["Master router", "Master priority", "Master advert int", "Master advert interval"];

/// The data file as an outline: section headers, and per block (` Name = X` at one space) the
/// keys of its three-space lines, values dropped.
fn outline(text: &str) -> Vec<(String, Vec<String>)> {
    let mut blocks: Vec<(String, Vec<String>)> = Vec::new();
    for line in text.lines() {
        if line.starts_with("------<") {
            blocks.push((line.to_owned(), Vec::new()));
        } else if line.starts_with("     ") {
            continue;
        } else if let Some(rest) = line.strip_prefix("   ") {
            let key = rest.split(['=', ':']).next().unwrap().trim().to_owned();
            if !STATE_LINES.contains(&key.as_str()) {
                if let Some(block) = blocks.last_mut() {
                    block.1.push(key);
                }
            }
        } else if let Some(rest) = line.strip_prefix(' ') {
            let key = rest.split(['=', ':']).next().unwrap().trim();
            let name = rest.split_once('=').map_or(rest, |(_, value)| value).trim();
            if key.starts_with("VRRP Instance") || key.starts_with("VRRP Script") {
                blocks.push((format!("{key} = {name}"), Vec::new()));
            } else if let Some(block) = blocks.last_mut() {
                block.1.push(key.to_owned());
            }
        }
    }
    blocks
}

/// Fails unless `ours` is `theirs` with some items left out (same order).
fn assert_subsequence(what: &str, ours: &[String], theirs: &[String]) {
    let mut rest = theirs.iter();
    for item in ours {
        assert!(
            rest.any(|theirs| theirs == item),
            "{what}: {item:?} is not in keepalived's, or not in its order\nvrrpd: {ours:?}\nkeepalived: {theirs:?}"
        );
    }
}

fn json_kind(value: &serde_json::Value) -> &'static str {
    match value {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "bool",
        serde_json::Value::Number(n) if n.is_u64() || n.is_i64() => "integer",
        serde_json::Value::Number(_) => "float",
        serde_json::Value::String(_) => "string",
        serde_json::Value::Array(_) => "array",
        serde_json::Value::Object(_) => "object",
    }
}

/// keepalived 2.2.7 and vrrpd, one configuration, on one link: every line vrrpd writes in the
/// data file is one keepalived writes there, in keepalived's order; the stats files are line
/// for line alike; every JSON field vrrpd writes is keepalived's, of the same type (integers
/// where keepalived writes whole numbers).
#[test]
fn vrrpd_writes_the_dumps_keepalived_writes() {
    require_root();
    let mut lab = ReferenceLab::with_prefix("dp").expect("building the lab");
    let mut dirs = Vec::new();
    for n in [1, 2] {
        add_tracked_link(&lab, n);
        let dir = lab.dir.join(format!("dumps-r{n}"));
        fs::create_dir_all(&dir).unwrap();
        dirs.push(dir);
    }
    // keepalived in router 1 (the master), vrrpd in router 2. VI_2 announces its address on
    // the other link every 2 s (`garp_extra_if all`), which both write in their dumps.
    let config = |n| {
        config(n).replace(
            " virtual_ipaddress {\n 192.0.2.101\n }",
            &format!(
                " garp_extra_if all 2\n virtual_ipaddress {{\n 192.0.2.101\n \
                      198.51.100.101/24 dev {TRACKED}\n }}"
            ),
        )
    };
    let keepalived_config = lab.write_config(1, "keepalived.conf", &config(1)).unwrap();
    let keepalived_dir = dirs[0].to_string_lossy().into_owned();
    let keepalived = lab
        .start_keepalived_with_env(1, &keepalived_config, &[("TMPDIR", &keepalived_dir)])
        .unwrap();
    let vrrpd_config = lab.write_config(2, "keepalived.conf", &config(2)).unwrap();
    let vrrpd_dir = dirs[1].to_string_lossy().into_owned();
    let vrrpd = lab.start_vrrpd(2, &vrrpd_config, &["--dump-dir", &vrrpd_dir]).unwrap();
    let router = Router { index: vrrpd, dumps: dirs[1].clone(), runtime: lab.dir.join("run-r2") };
    wait_for_states(&router, &[("VI_1", "BACKUP"), ("VI_2", "BACKUP")]);
    wait_for_masters_heard(&router);

    // keepalived's dumps, once its instances are MASTER.
    let theirs = |lab: &mut ReferenceLab, signal: i32, file: &str| {
        let path = dirs[0].join(file);
        let _ = fs::remove_file(&path);
        lab.daemon(keepalived).signal(signal);
        wait_for_settled(&path)
    };
    let deadline = Instant::now() + ELECTION;
    let their_json = loop {
        let text = theirs(&mut lab, libc::SIGRTMIN() + 2, "keepalived.json");
        if parse_json(&text).values().all(|(state, _)| STATES[*state] == "MASTER") {
            break text;
        }
        assert!(Instant::now() < deadline, "keepalived not MASTER: {text}");
    };
    let their_data = theirs(&mut lab, libc::SIGUSR1, "keepalived.data");
    let their_stats = theirs(&mut lab, libc::SIGUSR2, "keepalived.stats");
    let our_data = dump(&mut lab, &router, libc::SIGUSR1, "keepalived.data");
    let our_stats = dump(&mut lab, &router, libc::SIGUSR2, "keepalived.stats");
    let our_json = dump(&mut lab, &router, libc::SIGRTMIN() + 2, "keepalived.json");

    let extra = "   Gratuitous ARP for each secondary i/f = 2\n";
    assert!(their_data.contains(extra), "{their_data}");
    assert!(our_data.contains(extra), "{our_data}");
    let (ours, theirs) = (outline(&our_data), outline(&their_data));
    let headers =
        |blocks: &[(String, Vec<String>)]| blocks.iter().map(|b| b.0.clone()).collect::<Vec<_>>();
    assert_subsequence("the data file's sections and blocks", &headers(&ours), &headers(&theirs));
    for (header, keys) in &ours {
        let their_keys = &theirs.iter().find(|block| &block.0 == header).unwrap().1;
        assert_subsequence(header, keys, their_keys);
    }

    let masked = |text: &str| -> Vec<String> {
        text.lines()
            .map(|line| line.trim_end_matches(|c: char| c.is_ascii_digit()).to_owned())
            .collect()
    };
    assert_eq!(
        masked(&our_stats),
        masked(&their_stats),
        "vrrpd:\n{our_stats}\nkeepalived:\n{their_stats}"
    );

    let (ours, theirs) = (parse_json(&our_json), parse_json(&their_json));
    assert_eq!(ours.len(), theirs.len());
    for (name, (_, element)) in &ours {
        let their_element = &theirs[name].1;
        for part in ["data", "stats"] {
            let their_fields = their_element[part].as_object().unwrap();
            for (field, value) in element[part].as_object().unwrap() {
                let theirs = their_fields.get(field).unwrap_or_else(|| {
                    panic!("{name}: {part}.{field} is not keepalived's: {their_element}")
                });
                // Whole seconds are integers in both; keepalived's last_transition is a float.
                let (kind, their_kind) = (json_kind(value), json_kind(theirs));
                let same = kind == their_kind || (field == "last_transition" && kind != "string");
                assert!(
                    same,
                    "{name}: {part}.{field} is {kind}, keepalived's {their_kind} ({theirs})"
                );
            }
        }
        let their_stats: Vec<&String> =
            their_element["stats"].as_object().unwrap().keys().collect();
        let our_stats: Vec<&String> = element["stats"].as_object().unwrap().keys().collect();
        assert_eq!(our_stats, their_stats, "{name}: the stats fields");
    }
}

/// `vrrpd --signum=NAME` prints what `keepalived --signum=NAME` prints, with its exit code.
#[test]
fn signum_answers_as_keepalived_does() {
    let keepalived = Path::new("/usr/sbin/keepalived");
    assert!(keepalived.exists(), "keepalived is needed to compare with (cargo xtask setup)");
    for name in ["STOP", "RELOAD", "DATA", "STATS", "STATS_CLEAR", "JSON", "data", "TDUMP"] {
        let argument = format!("--signum={name}");
        let theirs = Command::new(keepalived).arg(&argument).output().unwrap();
        let ours = Command::new(vrrpd_binary().unwrap()).arg(&argument).output().unwrap();
        assert_eq!(
            (ours.status.code(), &ours.stdout, &ours.stderr),
            (theirs.status.code(), &theirs.stdout, &theirs.stderr),
            "{argument}: vrrpd {:?}, keepalived {:?}",
            String::from_utf8_lossy(&ours.stdout),
            String::from_utf8_lossy(&theirs.stdout)
        );
    }
}
