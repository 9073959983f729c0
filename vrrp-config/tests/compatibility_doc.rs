//! docs/keepalived-compatibility.md is generated from the keyword table and kept in step.

use std::path::Path;

const REGENERATE: &str = "VRRPD_BLESS=1 cargo test -p vrrp-config --test compatibility_doc";

#[test]
fn the_committed_document_is_what_the_table_generates() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/keepalived-compatibility.md");
    let generated = vrrp_config::keywords::compatibility_markdown();
    if std::env::var_os("VRRPD_BLESS").is_some_and(|value| value == "1") {
        std::fs::write(&path, &generated).unwrap();
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "docs/keepalived-compatibility.md differs from vrrp-config/src/keywords.rs; regenerate \
         it with `{REGENERATE}`"
    );
}
