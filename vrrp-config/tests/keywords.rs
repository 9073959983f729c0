//! The keyword table: every entry is what the grammar does, every proof exists, and every
//! keyword vrrpd does not act on is reported with its effect.

use std::path::{Path, PathBuf};

use vrrp_config::keywords::{lookup, Block, Support, KEYWORDS};
use vrrp_config::{parse_str_with, Diagnostic, LoadOptions, Severity};

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

/// Every diagnostic the text gives, errors and warnings alike.
fn diagnostics(text: &str, allow_unsupported: bool) -> Vec<Diagnostic> {
    let options = LoadOptions { config_id: None, allow_unsupported };
    match parse_str_with(text, Path::new("t.conf"), &options) {
        Ok(loaded) => loaded.warnings,
        Err(error) => error.errors.into_iter().chain(error.warnings).collect(),
    }
}

/// `keyword` written in `block`, with the line it is on.
fn written_in(block: Block, keyword: &str) -> Option<(String, u32)> {
    let instance = |extra: &str| {
        format!(
            "vrrp_instance VI01 {{\n    interface eth0\n    virtual_router_id 1\n    \
             virtual_ipaddress {{\n        192.0.2.1\n    }}\n{extra}}}\n"
        )
    };
    let text = match block {
        Block::TopLevel => (format!("{keyword}\n{}", instance("")), 1),
        Block::GlobalDefs => (format!("global_defs {{\n    {keyword}\n}}\n{}", instance("")), 2),
        Block::Instance => (instance(&format!("    {keyword}\n")), 7),
        Block::SyncGroup => {
            (format!("{}vrrp_sync_group G {{\n    {keyword}\n}}\n", instance("")), 9)
        }
        Block::Script => (
            format!("vrrp_script S {{\n    script /bin/true\n    {keyword}\n}}\n{}", instance("")),
            3,
        ),
        Block::Authentication => {
            (instance(&format!("    authentication {{\n        {keyword}\n    }}\n")), 8)
        }
        _ => return None,
    };
    Some(text)
}

/// A family's stand-in keyword.
fn example(name: &str) -> String {
    match name.strip_suffix('*') {
        Some(prefix) => format!("{prefix}example"),
        None => name.to_string(),
    }
}

#[test]
fn each_keyword_is_listed_once_per_block() {
    for (index, entry) in KEYWORDS.iter().enumerate() {
        let earlier = &KEYWORDS[..index];
        assert!(
            !earlier.iter().any(|other| other.block == entry.block && other.name == entry.name),
            "{} is listed twice in {}",
            entry.name,
            entry.block.title()
        );
        assert_eq!(lookup(entry.block, &example(entry.name)), Some(entry), "{}", entry.name);
    }
}

#[test]
fn every_proof_names_a_test_that_exists() {
    for entry in KEYWORDS {
        let Support::ActedOn { proof } = entry.support else { continue };
        let (file, test) = proof.split_once("::").unwrap_or_else(|| panic!("{proof}"));
        let source = std::fs::read_to_string(workspace().join(file))
            .unwrap_or_else(|error| panic!("{}: {file}: {error}", entry.name));
        let test = test.trim();
        assert!(
            source.contains(&format!("fn {test}(")),
            "{}: no test {test} in {file}",
            entry.name
        );
    }
}

/// Keywords vrrpd acts on (or always behaves as) reach a branch of the grammar: they are never
/// reported unknown nor unsupported.
#[test]
fn keywords_acted_on_are_read_by_the_grammar() {
    for entry in KEYWORDS {
        if !matches!(entry.support, Support::ActedOn { .. } | Support::Always { .. }) {
            continue;
        }
        let Some((text, line)) = written_in(entry.block, entry.name) else { continue };
        for diagnostic in diagnostics(&text, false) {
            let about_it = diagnostic.line == Some(line)
                && (diagnostic.message.starts_with("unknown keyword")
                    || diagnostic.message.contains(" is not supported: "));
            assert!(!about_it, "{}: {diagnostic}", entry.name);
        }
    }
}

/// Every keyword vrrpd does not act on is reported at its column with its effect: an error
/// when ignoring it can move the virtual addresses (a warning with --allow-unsupported), a
/// warning otherwise; another subsystem's keyword gets one note.
#[test]
fn keywords_not_acted_on_are_reported_with_their_effect() {
    for entry in KEYWORDS {
        let Some((text, line)) = written_in(entry.block, &example(entry.name)) else { continue };
        for allow_unsupported in [false, true] {
            let found: Vec<Diagnostic> = diagnostics(&text, allow_unsupported)
                .into_iter()
                .filter(|d| {
                    d.line == Some(line)
                        && (d.message.contains(" is not supported: ")
                            || d.message.contains("which vrrpd does not run"))
                })
                .collect();
            match entry.support {
                Support::ActedOn { .. } | Support::Always { .. } => {
                    assert_eq!(found, vec![], "{}", entry.name)
                }
                Support::Unsupported { effect, moves_vip } => {
                    assert_eq!(found.len(), 1, "{}: {found:?}", entry.name);
                    let severity = if moves_vip && !allow_unsupported {
                        Severity::Error
                    } else {
                        Severity::Warning
                    };
                    assert_eq!(found[0].severity, severity, "{}", entry.name);
                    assert!(found[0].message.contains(effect), "{}", found[0]);
                    assert!(found[0].column.is_some(), "{}", found[0]);
                }
                Support::OtherSubsystem { subsystem } => {
                    assert_eq!(found.len(), 1, "{}: {found:?}", entry.name);
                    assert_eq!(found[0].severity, Severity::Warning, "{}", entry.name);
                    assert!(found[0].message.contains(subsystem), "{}", found[0]);
                }
            }
        }
    }
}

/// The keywords the grammar used to read and leave unused are listed as what they are.
#[test]
fn keywords_once_parsed_and_unused_have_their_entry() {
    let expected = [
        (Block::GlobalDefs, "enable_script_security", true),
        (Block::Instance, "dont_track_primary", true),
        (Block::Instance, "no_accept", true),
        (Block::GlobalDefs, "vrrp_strict", true),
        (Block::GlobalDefs, "vrrp_mcast_group4", true),
        (Block::GlobalDefs, "vrrp_mcast_group6", true),
        (Block::AddressOption, "brd", false),
        (Block::Instance, "unicast_ttl", true),
        (Block::PeerOption, "min_ttl", true),
        (Block::PeerOption, "max_ttl", true),
        (Block::GlobalDefs, "vrrp_garp_lower_prio_delay", true),
        (Block::Instance, "accept", true),
        (Block::Instance, "check_unicast_src", true),
        (Block::AddressOption, "no_track", true),
        (Block::Instance, "skip_check_adv_addr", true),
    ];
    for (block, keyword, acted_on) in expected {
        let entry = lookup(block, keyword).unwrap_or_else(|| panic!("{keyword} is not listed"));
        let listed_as_acted_on =
            matches!(entry.support, Support::ActedOn { .. } | Support::Always { .. });
        assert_eq!(listed_as_acted_on, acted_on, "{keyword}");
    }
}

/// Every keyword keepalived's VRRP process installs (listed from its source in
/// tests/data/keepalived-keywords.txt) has an entry.
#[test]
fn every_keyword_of_keepalived_is_listed() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/keepalived-keywords.txt");
    let list = std::fs::read_to_string(path).unwrap();
    let keywords: Vec<&str> = list
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .collect();
    assert!(keywords.len() > 200, "the list holds {} keywords", keywords.len());
    for keyword in keywords {
        let listed = KEYWORDS.iter().any(|entry| lookup(entry.block, keyword).is_some());
        assert!(
            listed,
            "keepalived's keyword {keyword} has no entry in vrrp-config/src/keywords.rs"
        );
    }
}
