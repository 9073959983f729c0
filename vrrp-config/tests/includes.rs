//! `include`: relative to the including file, with wildcards; missing files and cycles refused.

use std::fs;
use std::path::{Path, PathBuf};

use vrrp_config::load;

/// A scratch directory of configuration files, removed at the end of the test.
struct Files(PathBuf);

impl Files {
    fn new(test: &str) -> Files {
        let root = std::env::temp_dir().join(format!("vrrp-config-{test}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&root);
        fs::create_dir_all(&root).unwrap();
        Files(root)
    }

    fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.0.join(name);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(&path, text).unwrap();
        path
    }

    fn path(&self, name: &str) -> String {
        self.0.join(name).display().to_string()
    }
}

impl Drop for Files {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

fn instance(name: &str, vrid: u8) -> String {
    format!(
        "vrrp_instance {name} {{\n    interface eth0\n    virtual_router_id {vrid}\n    \
         virtual_ipaddress {{\n        192.0.2.{vrid}\n    }}\n}}\n"
    )
}

#[test]
fn relative_include_reads_the_file_next_to_the_includer() {
    let files = Files::new("relative");
    files.write("sub/vi01.conf", &instance("VI01", 1));
    let main = files
        .write("keepalived.conf", "global_defs {\n    vrrp_version 3\n}\ninclude sub/vi01.conf\n");
    let loaded = load(&main).unwrap();
    assert_eq!(loaded.warnings, vec![]);
    assert_eq!(loaded.config.instances.len(), 1);
    assert_eq!(loaded.config.instances[0].vrid, 1);
}

#[test]
fn nested_includes_are_relative_to_each_includer() {
    let files = Files::new("nested");
    files.write("a/b/vi02.conf", &instance("VI02", 2));
    files.write("a/first.conf", "include b/vi02.conf\n");
    let main = files.write("keepalived.conf", "include a/first.conf\n");
    assert_eq!(load(&main).unwrap().config.instances[0].name, "VI02");
}

#[test]
fn glob_includes_every_match_in_name_order() {
    let files = Files::new("glob");
    files.write("conf.d/20-b.conf", &instance("VI02", 2));
    files.write("conf.d/10-a.conf", &instance("VI01", 1));
    files.write("conf.d/30-c.conf.disabled", &instance("VI03", 3));
    files.write("conf.d/.hidden.conf", &instance("VI04", 4));
    let main = files.write("keepalived.conf", "include conf.d/*.conf\n");
    let loaded = load(&main).unwrap();
    let names: Vec<&str> = loaded.config.instances.iter().map(|i| i.name.as_str()).collect();
    assert_eq!(names, ["VI01", "VI02"]);
}

#[test]
fn include_inside_a_block() {
    let files = Files::new("in-block");
    files.write("vips.conf", "192.0.2.7/24\n192.0.2.8/24\n");
    let main = files.write(
        "keepalived.conf",
        "vrrp_instance VI01 {\n    interface eth0\n    virtual_router_id 1\n    \
         virtual_ipaddress {\n        include vips.conf\n    }\n}\n",
    );
    let loaded = load(&main).unwrap();
    assert_eq!(loaded.config.instances[0].virtual_addresses.len(), 2);
}

#[test]
fn glob_matching_nothing_is_a_warning() {
    let files = Files::new("empty-glob");
    let main =
        files.write("keepalived.conf", &format!("include conf.d/*.conf\n{}", instance("VI01", 1)));
    let warnings: Vec<String> =
        load(&main).unwrap().warnings.iter().map(ToString::to_string).collect();
    assert_eq!(
        warnings,
        vec![format!(
            "{}:1: include pattern \"{}\" matches no file",
            files.path("keepalived.conf"),
            files.path("conf.d/*.conf")
        )]
    );
}

#[test]
fn missing_file_is_an_error() {
    let files = Files::new("missing");
    let main =
        files.write("keepalived.conf", &format!("{}include   extra.conf\n", instance("VI01", 1)));
    let error = load(&main).unwrap_err();
    assert_eq!(
        error.to_string(),
        format!(
            "{}:8:11: cannot read included file \"{}\": No such file or directory (os error 2)",
            files.path("keepalived.conf"),
            files.path("extra.conf")
        )
    );
}

#[test]
fn include_cycle_is_an_error() {
    let files = Files::new("cycle");
    files.write("b.conf", "include a.conf\n");
    files.write("a.conf", "include b.conf\n");
    let main = files.write("keepalived.conf", "include a.conf\n");
    let error = load(&main).unwrap_err();
    assert_eq!(
        error.to_string(),
        format!(
            "{}:1:9: include cycle: \"{}\" is already being read",
            files.path("b.conf"),
            files.path("a.conf")
        )
    );
    let selfish = files.write("self.conf", "include self.conf\n");
    assert!(load(&selfish).unwrap_err().to_string().contains("include cycle"));
}

#[test]
fn diagnostics_name_the_included_file() {
    let files = Files::new("diagnostics");
    files.write(
        "vi.conf",
        "vrrp_instance VI01 {\n    interface eth0\n    virtual_router_id 0\n    colour blue\n}\n",
    );
    let main = files.write("keepalived.conf", "global_defs {\n}\ninclude vi.conf\n");
    let error = load(&main).unwrap_err();
    let included = files.path("vi.conf");
    assert_eq!(
        error.to_string(),
        format!(
            "{included}:3:23: invalid virtual_router_id \"0\": expected an integer from 1 to 255\n\
             {included}:1: missing virtual_router_id in vrrp_instance VI01"
        )
    );
    let warnings: Vec<String> = error.warnings.iter().map(ToString::to_string).collect();
    assert!(warnings.contains(&format!(
        "{included}:4: unknown keyword \"colour\" in vrrp_instance VI01, ignored"
    )));
}

#[test]
fn include_needs_a_pattern() {
    let error = vrrp_config::parse_str("include\n", Path::new("k.conf")).unwrap_err();
    assert_eq!(error.to_string(), "k.conf:1:1: include needs a file name or pattern after it");
}

#[test]
fn includes_that_fan_out_are_refused_quickly() {
    // Eight files, each including all eight: every chain that avoids a cycle is read, which is
    // 8! chains without a bound.
    let files = Files::new("fan-out");
    for n in 1..=8 {
        files.write(&format!("conf.d/{n}.conf"), &"include *.conf\n".repeat(8));
    }
    let main = files.write("keepalived.conf", "include conf.d/*.conf\n");
    let error = load(&main).unwrap_err().to_string();
    assert!(
        error.contains(&format!("would read more than {} files", vrrp_config::MAX_FILES)),
        "{}",
        &error[..error.len().min(2000)]
    );
    // Each cycle is reported once per file, not once per chain that meets it.
    assert!(error.lines().count() <= 9 + 1, "{error}");
}

#[test]
fn a_file_over_the_size_limit_is_refused() {
    let files = Files::new("large");
    let text = format!("{}\n", "#".repeat(vrrp_config::MAX_FILE_BYTES as usize));
    let big = files.write("big.conf", &text);
    let error = load(&big).unwrap_err().to_string();
    assert!(error.contains("larger than 8 MiB"), "{error}");
    let main =
        files.write("keepalived.conf", &format!("{}include big.conf\n", instance("VI01", 1)));
    let error = load(&main).unwrap_err().to_string();
    assert!(error.contains("cannot read included file") && error.contains("larger than 8 MiB"));
}

#[test]
fn included_files_together_are_bounded() {
    let files = Files::new("total");
    let chunk = format!("{}\n", "#".repeat(7 << 20));
    for n in 1..=5 {
        files.write(&format!("conf.d/{n}.conf"), &chunk);
    }
    let main = files.write("keepalived.conf", "include conf.d/*.conf\n");
    let error = load(&main).unwrap_err().to_string();
    assert!(
        error.contains(&format!("more than {} MiB", vrrp_config::MAX_TOTAL_BYTES >> 20)),
        "{error}"
    );
}
