//! Real keepalived.conf files from public projects (`tests/data/corpus/`, each naming its source
//! in its first lines), read by vrrp-config and by keepalived 2.2.7 `--config-test`.
//!
//! Every file here is one keepalived runs, and vrrp-config must accept it, or refuse it for a
//! reason stated below (a feature vrrpd lacks). What vrrp-config says about a file is stated
//! below, warning by warning, except the one note per keyword of
//! another keepalived subsystem (LVS `virtual_server`, SMTP, ...), which vrrpd skips.

use std::path::{Path, PathBuf};
use std::process::Command;

use vrrp_config::{load_with, Diagnostic, LoadOptions};

struct Case {
    file: &'static str,
    /// `-i`: the configuration id the file is written for.
    config_id: Option<&'static str>,
    /// The interfaces the file names: keepalived's `--config-test` refuses a file whose
    /// interfaces do not exist, so a real interface of this machine stands in for them.
    interfaces: &'static [&'static str],
    instances: usize,
    /// The keywords vrrpd does not act on, as `LINE:COLUMN KEYWORD`; check-config prints each
    /// with its effect (the keyword table, docs/keepalived-compatibility.md).
    unsupported: &'static [&'static str],
    /// Some of them can change which node holds the virtual addresses: the file is refused
    /// unless unsupported keywords are allowed (`--allow-unsupported`).
    needs_allow_unsupported: bool,
    /// Every other warning, as `LINE[:COLUMN]: MESSAGE`.
    warnings: &'static [&'static str],
    /// A file keepalived runs that vrrpd refuses, with the error, until it is supported.
    refused: Option<&'static str>,
}

const CASES: &[Case] = &[
    Case {
        file: "ansible-redhat-cop-infra-ansible.conf",
        config_id: None,
        interfaces: &["eth0"],
        unsupported: &[],
        needs_allow_unsupported: false,
        instances: 1,
        warnings: &[],
        refused: None,
    },
    Case {
        file: "cyberark-joetanx-keepalived-master.conf",
        config_id: None,
        interfaces: &["eth0"],
        unsupported: &[],
        needs_allow_unsupported: false,
        instances: 1,
        warnings: &[
            "18:20: unicast_src_ip \"192.168.0.91/24\": only the address 192.168.0.91 is used, \
             as keepalived does",
            "20:9: unicast_peer \"192.168.0.92/24\": only the address 192.168.0.92 is used, as \
             keepalived does",
        ],
        refused: None,
    },
    Case {
        file: "homelab-mrp-yt-galaxy-master.conf",
        config_id: None,
        interfaces: &["vmbr0"],
        unsupported: &[],
        needs_allow_unsupported: false,
        instances: 1,
        // keepalived says the same ("Truncating auth_pass to 8 characters").
        warnings: &["11: auth_pass is longer than 8 characters: only the first 8 are used"],
        refused: None,
    },
    Case {
        file: "k8s-docs-xusxlinux-master02.conf",
        config_id: None,
        interfaces: &["eth0"],
        unsupported: &[],
        needs_allow_unsupported: false,
        instances: 1,
        warnings: &[],
        refused: None,
    },
    Case {
        file: "k8s-install-noskywalker-master02.conf",
        config_id: None,
        interfaces: &["ens33"],
        unsupported: &[],
        needs_allow_unsupported: false,
        instances: 1,
        // keepalived says the same ("Truncating auth_pass to 8 characters").
        warnings: &["25: auth_pass is longer than 8 characters: only the first 8 are used"],
        refused: None,
    },
    Case {
        file: "k8s-installer-fanux-kubeinit.conf",
        config_id: None,
        interfaces: &["eth0", "eth1"],
        unsupported: &[],
        needs_allow_unsupported: false,
        instances: 2,
        warnings: &[],
        refused: None,
    },
    Case {
        // Its first line: "Run keepalived with either '-i high' or '-i low'".
        file: "keepalived-samples-conditional_conf.conf",
        config_id: Some("high"),
        interfaces: &["eth0", "eth2", "eth3"],
        unsupported: &["5:7 net_namespace"],
        needs_allow_unsupported: true,
        instances: 1,
        warnings: &[],
        refused: None,
    },
    Case {
        file: "keepalived-samples-sample.conf",
        config_id: None,
        interfaces: &["eth0"],
        unsupported: &[],
        needs_allow_unsupported: false,
        instances: 1,
        warnings: &[],
        refused: None,
    },
    Case {
        file: "keepalived-samples-track_interface.conf",
        config_id: None,
        interfaces: &["eth0", "eth1", "eth2", "eth3"],
        unsupported: &[],
        needs_allow_unsupported: false,
        instances: 1,
        warnings: &[],
        refused: None,
    },
    Case {
        file: "keepalived-samples-vrrp-localcheck.conf",
        config_id: None,
        interfaces: &["eth0", "eth1", "eth2", "eth3"],
        unsupported: &[],
        needs_allow_unsupported: false,
        instances: 9,
        warnings: &[],
        refused: None,
    },
    Case {
        // The sync group lists its members without `group { }`: keepalived reports them as
        // unknown keywords and removes the empty group.
        file: "keepalived-samples-vrrp-lvs_syncd.conf",
        config_id: None,
        interfaces: &["eth0", "eth1"],
        unsupported: &[],
        needs_allow_unsupported: false,
        instances: 3,
        warnings: &[
            "6: unknown keyword \"VI_2\" in vrrp_sync_group VG1, ignored",
            "7: unknown keyword \"VI_3\" in vrrp_sync_group VG1, ignored",
            "5: vrrp_sync_group VG1 lists no vrrp_instance (no group { ... }): left out, as \
             keepalived does",
        ],
        refused: None,
    },
    Case {
        // keepalived itself calls "or" deprecated (use "nexthop"): multipath routes are not
        // carried out.
        file: "keepalived-samples-vrrp-routes.conf",
        config_id: None,
        interfaces: &["eth0", "eth1", "eth2", "eth3"],
        unsupported: &["32:46 or"],
        needs_allow_unsupported: true,
        instances: 1,
        warnings: &[],
        refused: None,
    },
    Case {
        // "192.168.100./24" is no address: keepalived reports it too ("Invalid rule to
        // address") and runs without that rule; a rule left out is refused here.
        file: "keepalived-samples-vrrp-rules.conf",
        config_id: None,
        interfaces: &["eth0", "eth1", "eth2"],
        unsupported: &[],
        needs_allow_unsupported: false,
        instances: 1,
        warnings: &[],
        refused: Some(
            "13:8: invalid to \"192.168.100./24\": expected an IPv4 or IPv6 address with an \
             optional /prefix",
        ),
    },
    Case {
        file: "keepalived-samples-vrrp-scripts.conf",
        config_id: None,
        interfaces: &["eth0"],
        unsupported: &[],
        needs_allow_unsupported: false,
        instances: 3,
        warnings: &[],
        refused: None,
    },
    Case {
        file: "keepalived-samples-vrrp-static_ipaddress.conf",
        config_id: None,
        interfaces: &["eth0", "eth1", "eth2"],
        unsupported: &[],
        needs_allow_unsupported: false,
        instances: 1,
        warnings: &[],
        refused: None,
    },
    Case {
        file: "keepalived-samples-vrrp-sync.conf",
        config_id: None,
        interfaces: &["eth0", "eth1"],
        unsupported: &[],
        needs_allow_unsupported: false,
        instances: 9,
        warnings: &[],
        refused: None,
    },
    Case {
        file: "keepalived-samples-vrrp.conf",
        config_id: None,
        interfaces: &["eth0", "eth1"],
        unsupported: &[],
        needs_allow_unsupported: false,
        instances: 4,
        warnings: &[],
        refused: None,
    },
    Case {
        file: "openstack-neutron-l3-ha.conf",
        config_id: None,
        interfaces: &["eth0", "eth1", "eth2", "eth4", "eth6", "eth10"],
        unsupported: &[],
        needs_allow_unsupported: false,
        instances: 2,
        // keepalived says the same ("Initial state master is incompatible with AH
        // authentication - clearing").
        warnings: &[
            "7: vrrp_instance VR_1: initial state MASTER is incompatible with auth_type AH, \
             starting as BACKUP",
        ],
        refused: None,
    },
];

fn corpus(file: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/corpus").join(file)
}

fn options(case: &Case, allow_unsupported: bool) -> LoadOptions {
    LoadOptions { config_id: case.config_id.map(str::to_string), allow_unsupported }
}

/// The note vrrpd gives, once per keyword, for what belongs to another keepalived subsystem.
fn is_skipped_subsystem_note(warning: &Diagnostic) -> bool {
    warning.message.ends_with("which vrrpd does not run: skipped")
}

/// A keyword vrrpd does not act on, reported with its effect.
fn is_unsupported(diagnostic: &Diagnostic) -> bool {
    let prefixes =
        ["keyword \"", "option \"", "route option \"", "route type \"", "rule option \""];
    prefixes.iter().any(|prefix| diagnostic.message.starts_with(prefix))
        && diagnostic.message.contains(" is not supported: ")
}

/// `LINE:COLUMN KEYWORD` of an unsupported keyword's diagnostic.
fn unsupported_at(diagnostic: &Diagnostic) -> String {
    let keyword = diagnostic.message.split('"').nth(1).unwrap_or_default();
    format!("{}:{} {keyword}", diagnostic.line.unwrap_or(0), diagnostic.column.unwrap_or(0))
}

fn located(warning: &Diagnostic) -> String {
    let line = warning.line.map_or(String::new(), |line| line.to_string());
    let column = warning.column.map_or(String::new(), |column| format!(":{column}"));
    format!("{line}{column}: {}", warning.message)
}

#[test]
fn the_corpus_is_every_file_stored() {
    let mut stored: Vec<String> = std::fs::read_dir(corpus(""))
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    stored.sort();
    let listed: Vec<&str> = CASES.iter().map(|case| case.file).collect();
    assert_eq!(stored, listed);
    for case in CASES {
        let text = std::fs::read_to_string(corpus(case.file)).unwrap();
        assert!(text.starts_with("# Source: github.com/"), "{} names no source", case.file);
    }
}

#[test]
fn vrrp_config_accepts_every_file_as_stated() {
    for case in CASES {
        if let Some(refusal) = case.refused {
            let error = load_with(&corpus(case.file), &options(case, true))
                .expect_err(case.file)
                .to_string();
            let expected = format!("{}:{refusal}", corpus(case.file).display());
            // The first error is the one stated.
            assert_eq!(error.lines().next(), Some(expected.as_str()), "{}", case.file);
            continue;
        }
        let loaded = load_with(&corpus(case.file), &options(case, true))
            .unwrap_or_else(|error| panic!("{} is refused:\n{error}", case.file));
        assert_eq!(loaded.config.instances.len(), case.instances, "{}", case.file);
        let (skipped, rest): (Vec<&Diagnostic>, Vec<&Diagnostic>) =
            loaded.warnings.iter().partition(|warning| is_skipped_subsystem_note(warning));
        let (unsupported, stated): (Vec<&Diagnostic>, Vec<&Diagnostic>) =
            rest.into_iter().partition(|warning| is_unsupported(warning));
        let unsupported: Vec<String> = unsupported.into_iter().map(unsupported_at).collect();
        assert_eq!(unsupported, case.unsupported, "{}", case.file);
        let stated: Vec<String> = stated.into_iter().map(located).collect();
        assert_eq!(stated, case.warnings, "{}", case.file);
        // Without --allow-unsupported, the keywords that can move the addresses refuse it,
        // and nothing else does.
        match load_with(&corpus(case.file), &options(case, false)) {
            Ok(_) => assert!(!case.needs_allow_unsupported, "{} is accepted", case.file),
            Err(error) => {
                assert!(case.needs_allow_unsupported, "{} is refused:\n{error}", case.file);
                assert!(error.errors.iter().all(is_unsupported), "{}:\n{error}", case.file);
            }
        }
        // A skipped block gets one note, never one per line of what it holds.
        let text = std::fs::read_to_string(corpus(case.file)).unwrap();
        let blocks = text.lines().filter(|line| line.starts_with("virtual_server ")).count();
        let noted = |keyword: &str| {
            let quoted = format!("keyword \"{keyword}\" ");
            skipped.iter().filter(|warning| warning.message.starts_with(&quoted)).count()
        };
        assert_eq!(noted("virtual_server"), blocks, "{}", case.file);
        assert_eq!(noted("real_server"), 0, "{}", case.file);
    }
}

/// keepalived 2.2.7 runs every file of the corpus: `--config-test` exits 0, 5 (configuration
/// errors it runs with) or 6 (scripts it will not run without script security), never 4 (a
/// configuration it cannot run) (keepalived/core/main.c config_test_exit()).
#[test]
fn keepalived_runs_every_file() {
    let binary = ["/usr/sbin/keepalived", "/usr/local/sbin/keepalived", "/sbin/keepalived"]
        .into_iter()
        .map(PathBuf::from)
        .find(|path| path.exists())
        .expect("keepalived is not installed: this test compares with `keepalived --config-test`");
    let stand_in = std::fs::read_dir("/sys/class/net")
        .expect("/sys/class/net lists the network interfaces")
        .flatten()
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .filter(|name| name != "lo")
        .min()
        .expect("keepalived needs an existing non-loopback interface");
    let directory = std::env::temp_dir().join(format!("vrrp-config-corpus-{}", std::process::id()));
    std::fs::create_dir_all(&directory).unwrap();
    for case in CASES {
        let mut text = std::fs::read_to_string(corpus(case.file)).unwrap();
        for interface in case.interfaces {
            text = replace_word(&text, interface, &stand_in);
        }
        let path = directory.join(case.file);
        std::fs::write(&path, text).unwrap();
        let mut command = Command::new(&binary);
        command.arg("--config-test").arg("-f").arg(&path);
        if let Some(config_id) = case.config_id {
            command.arg("-i").arg(config_id);
        }
        let output = command.output().expect("keepalived runs");
        let code = output.status.code();
        assert!(
            matches!(code, Some(0 | 5 | 6)),
            "keepalived cannot run {} (exit {code:?}): {}",
            case.file,
            String::from_utf8_lossy(&output.stderr)
        );
    }
    std::fs::remove_dir_all(&directory).unwrap();
}

/// `text` with every whole-word `word` (not inside a longer name) replaced by `by`.
fn replace_word(text: &str, word: &str, by: &str) -> String {
    let is_name = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let mut result = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(word) {
        let before = rest[..at].chars().next_back().or(result.chars().next_back());
        let after = rest[at + word.len()..].chars().next();
        result.push_str(&rest[..at]);
        if before.is_some_and(is_name) || after.is_some_and(is_name) {
            result.push_str(word);
        } else {
            result.push_str(by);
        }
        rest = &rest[at + word.len()..];
    }
    result.push_str(rest);
    result
}

#[test]
fn interface_names_are_replaced_as_whole_words() {
    assert_eq!(
        replace_word("eth1 veth1 eth10 eth1:1 {eth1}", "eth1", "x0"),
        "x0 veth1 eth10 x0:1 {x0}"
    );
}
