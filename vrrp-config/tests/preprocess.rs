//! keepalived's line preprocessor (lib/parser.c read_line()): `@ID` conditional lines,
//! `$NAME=value` definitions, substitution and `~SEQ`. Each expectation below is what
//! keepalived 2.2.7 `--config-test` reports for the same text: an unknown keyword names the
//! line a preprocessed line came from.

use std::path::Path;

use vrrp_config::{parse_str_with, LoadOptions, MAX_GENERATED_LINES};

fn options(config_id: Option<&str>) -> LoadOptions {
    LoadOptions { config_id: config_id.map(str::to_string), ..LoadOptions::default() }
}

/// The unknown top-level keywords, as `line keyword`, of a file read with `config_id`.
fn unknown_keywords(text: &str, config_id: Option<&str>) -> Vec<String> {
    let loaded = parse_str_with(text, Path::new("t.conf"), &options(config_id)).unwrap();
    loaded
        .warnings
        .iter()
        .filter_map(|warning| {
            let keyword = warning.message.strip_prefix("unknown keyword \"")?;
            let keyword = keyword.strip_suffix("\" at top level, ignored")?;
            Some(format!("{} {keyword}", warning.line?))
        })
        .collect()
}

fn errors(text: &str) -> Vec<String> {
    let error = parse_str_with(text, Path::new("t.conf"), &options(None)).unwrap_err();
    error.errors.iter().map(ToString::to_string).collect()
}

#[test]
fn conditional_lines_follow_the_config_id() {
    let text = "@lb1 kw_lb1\n@^lb1 kw_not_lb1\n@lb2 kw_lb2\n@lb1\n  @lb1 kw_indented\n";
    assert_eq!(unknown_keywords(text, Some("lb1")), ["1 kw_lb1", "5 kw_indented"]);
    assert_eq!(unknown_keywords(text, Some("lb2")), ["2 kw_not_lb1", "3 kw_lb2"]);
    // keepalived without an id keeps only the negated lines.
    assert_eq!(unknown_keywords(text, None), ["2 kw_not_lb1"]);
}

#[test]
fn conditional_prefix_keeps_the_columns_of_the_file() {
    let text = "vrrp_instance VI {\n  interface eth0\n@lb1    virtual_router_id abc\n}\n";
    let error = parse_str_with(text, Path::new("t.conf"), &options(Some("lb1"))).unwrap_err();
    assert_eq!(
        error.errors[0].to_string(),
        "t.conf:3:27: invalid virtual_router_id \"abc\": expected an integer from 1 to 255"
    );
}

#[test]
fn definitions_are_substituted_where_keepalived_substitutes_them() {
    let text = "\
$A=kw_a
$A
$B = x
$MULTI=kw_m1 \\
   kw_m2 \\
   kw_m3
$MULTI
kw_mid $MULTI
${A}_suffix
$A/24
$_INSTANCE
$C=$D
$D=kw_d
$C
";
    assert_eq!(
        unknown_keywords(text, Some("lb1")),
        [
            "2 kw_a",
            // No blank is allowed before `=`: this is no definition.
            "3 $B",
            "7 kw_m1",
            "7 kw_m2",
            "7 kw_m3",
            "8 kw_mid",
            "8 kw_m2",
            "8 kw_m3",
            "9 kw_a_suffix",
            // `$NAME` must end at a blank, `,`, `)` or the line's end.
            "10 $A/24",
            "11 lb1",
            // A definition is expanded where it is used, not where it is made.
            "14 kw_d",
        ]
    );
}

#[test]
fn definitions_fill_values_and_blocks() {
    let text = "\
$IF=eth0
$VIP=192.0.2.100/24
$PEERS=192.0.2.2 \\
       192.0.2.3
vrrp_instance VI {
    interface $IF
    virtual_router_id 51
    unicast_peer {
        $PEERS
    }
    virtual_ipaddress {
        ${VIP} dev ${IF}
    }
}
";
    let loaded = parse_str_with(text, Path::new("t.conf"), &options(None)).unwrap();
    let instance = &loaded.config.instances[0];
    assert_eq!(instance.interface, "eth0");
    let peers: Vec<String> = instance.unicast_peers.iter().map(|p| p.address.to_string()).collect();
    assert_eq!(peers, ["192.0.2.2", "192.0.2.3"]);
    assert_eq!(instance.virtual_addresses[0].address.to_string(), "192.0.2.100");
    assert_eq!(instance.virtual_addresses[0].device.as_deref(), Some("eth0"));
}

#[test]
fn sequences_repeat_their_line() {
    let text = "\
~SEQ(i, 1, 2, 5) kw_seq_$i
~SEQ(i, 3) kw_seq3_${i}
~SEQx(j, 9, 12) kw_hex_${j}
kw_after_$i ${i}
~SEQ(i,2) ~SEQ(k,2) kw_nest_${i}_${k}
~SEQ(i, 3, 1) kw_down_$i
";
    assert_eq!(
        unknown_keywords(text, None),
        [
            "1 kw_seq_1",
            "1 kw_seq_3",
            "1 kw_seq_5",
            "2 kw_seq3_1",
            "2 kw_seq3_2",
            "2 kw_seq3_3",
            "3 kw_hex_9",
            "3 kw_hex_a",
            "3 kw_hex_b",
            "3 kw_hex_c",
            // The sequence's variable stays defined after it.
            "4 kw_after_3",
            "5 kw_nest_1_1",
            "5 kw_nest_1_2",
            "5 kw_nest_2_1",
            "5 kw_nest_2_2",
            "6 kw_down_3",
            "6 kw_down_2",
            "6 kw_down_1",
        ]
    );
}

#[test]
fn a_sequence_generates_instances() {
    let text = "\
~SEQ(n, 1, 3) $INSTANCE
";
    let definition = "\
$INSTANCE=vrrp_instance VI_${n} { \\
    interface eth0 \\
    virtual_router_id ${n} \\
    virtual_ipaddress { \\
        192.0.2.${n} \\
    } \\
}
";
    let text = format!("{definition}{text}");
    let loaded = parse_str_with(&text, Path::new("t.conf"), &options(None)).unwrap();
    let names: Vec<(&str, u8)> =
        loaded.config.instances.iter().map(|i| (i.name.as_str(), i.vrid)).collect();
    assert_eq!(names, [("VI_1", 1), ("VI_2", 2), ("VI_3", 3)]);
}

#[test]
fn a_definition_that_refers_to_itself_is_an_error_not_a_hang() {
    assert_eq!(
        errors("$A=$A\n  $A\n"),
        ["t.conf:2:3: this line's definitions expand without end (more than 256 substitutions \
          or 4096 characters: does a definition refer to itself?)"]
    );
    assert_eq!(errors("$A=x $A\n$A\n").len(), 1);
    // A multi-line definition whose lines use it again.
    let error = errors("$M=kw \\\n $M\n$M\n");
    assert_eq!(error.len(), 1, "{error:?}");
    assert!(error[0].starts_with("t.conf:3:"), "{error:?}");
}

#[test]
fn a_sequence_too_long_is_an_error_with_its_line() {
    let error = errors("vrrp_instance VI {\n}\n~SEQ(i, 1, 1000000000) kw_$i\n");
    let expected = format!(
        "t.conf:3:1: ~SEQ and multi-line definitions generate more than {MAX_GENERATED_LINES} \
         lines"
    );
    assert!(error.contains(&expected), "{error:?}");
}

#[test]
fn malformed_sequences_are_errors() {
    for (text, why) in [
        ("~SEQ(i, a, 3) kw", "\"a\" is not an integer"),
        ("~SEQ(i, 1, -1, 3) kw", "the step does not lead from START to END"),
        ("~SEQ(i, 1, 0, 3) kw", "the step does not lead from START to END"),
        ("~SEQx(i, -3) kw", "~SEQx takes positive numbers only"),
        ("~SEQ(i 3 kw", "expected ~SEQ(VAR, START, STEP, END) followed by a line"),
    ] {
        assert_eq!(errors(text), [format!("t.conf:1:1: invalid ~SEQ \"{text}\": {why}")]);
    }
}

/// A stated difference: keepalived 2.2.7 generates all of a sequence's lines before it reads
/// the files they include, so each included file sees the last value (and the last file is read
/// first); vrrpd reads each included file at its own iteration, in order.
#[test]
fn definitions_hold_across_included_files() {
    let directory = std::env::temp_dir().join(format!("vrrp-config-pre-{}", std::process::id()));
    std::fs::create_dir_all(&directory).unwrap();
    std::fs::write(directory.join("defs.conf"), "$IF=eth7\n").unwrap();
    std::fs::write(directory.join("vi_2.conf"), "kw_included_$n\n").unwrap();
    let text = "include defs.conf\n~SEQ(n, 1, 2) include vi_${n}.conf\nkw_$IF\n";
    std::fs::write(directory.join("vi_1.conf"), "kw_included_$n\n").unwrap();
    let main = directory.join("keepalived.conf");
    std::fs::write(&main, text).unwrap();
    let loaded = vrrp_config::load_with(&main, &options(None));
    std::fs::remove_dir_all(&directory).unwrap();
    let keywords: Vec<String> = loaded
        .unwrap()
        .warnings
        .iter()
        .filter_map(|w| w.message.strip_prefix("unknown keyword ").map(str::to_string))
        .collect();
    assert_eq!(
        keywords,
        [
            "\"kw_included_1\" at top level, ignored",
            "\"kw_included_2\" at top level, ignored",
            "\"kw_eth7\" at top level, ignored"
        ]
    );
}

#[test]
fn one_conditional_prefix_per_line_and_blank_lines_inside_a_definition() {
    let text = "@lb1 @lb1 kw_twice\n$M=kw_a \\\n   \n kw_b \\\n\nkw_after\n$M\n";
    // keepalived 2.2.7 reads the second `@lb1` as the keyword, and only an empty line (not
    // one of blanks) ends a multi-line definition.
    assert_eq!(unknown_keywords(text, Some("lb1")), ["1 @lb1", "6 kw_after", "7 kw_a", "7 kw_b"]);
}

#[test]
fn builtins_vrrpd_does_not_provide_are_left_as_written_with_one_warning() {
    let loaded =
        parse_str_with("kw_$_PWD $_PWD $_HASH\n", Path::new("t.conf"), &options(None)).unwrap();
    let warnings: Vec<String> = loaded.warnings.iter().map(ToString::to_string).collect();
    assert_eq!(
        warnings,
        [
            "t.conf:1: $_PWD is a keepalived built-in vrrpd does not provide: left as written",
            "t.conf:1: unknown keyword \"kw_$_PWD\" at top level, ignored",
            "t.conf: no vrrp_instance: there is nothing for VRRP to run",
        ]
    );
}

#[test]
fn expansion_is_bounded_in_bytes_too() {
    let big = "x".repeat(4000);
    let text = format!("$B={big}\n{}", "$B\n".repeat(3000));
    let error = errors(&text);
    assert_eq!(
        error,
        ["t.conf:2099:1: ~SEQ and multi-line definitions generate more than 8 MiB of configuration"]
    );
}

/// keepalived/core/main.c: without `-i`, the configuration id is uname's nodename up to its
/// first dot.
#[test]
fn the_default_config_id_is_the_short_host_name() {
    let output = std::process::Command::new("uname").arg("-n").output().expect("uname runs");
    let nodename = String::from_utf8(output.stdout).unwrap();
    let short = nodename.trim().split('.').next().unwrap().to_string();
    assert_eq!(LoadOptions::for_this_host().config_id, Some(short));
}
