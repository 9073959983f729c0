//! `track_file` in the namespace lab: server 1 (110) tracks a file with weight -20; writing 1
//! into it makes its priority 90, below server 2's 100, and the VIP moves; writing 0 brings it
//! back (preemption); writing a value that makes -254 or less puts it in FAULT. The same
//! files run under vrrpd and under keepalived 2.2.7, with the same result.

use std::path::{Path, PathBuf};
use std::time::Duration;

use vrrp_tests::{
    lab::{reference_config, ReferenceLab},
    require_root,
};

/// Start-up and a move of the VIP (Master_Down_Interval or a preemption), with room for a
/// loaded machine.
const ELECTION: Duration = Duration::from_secs(30);

fn server1(level: &Path) -> String {
    reference_config(1)
        .replace(
            "vrrp_instance VI01 {",
            &format!(
                "track_file level {{\n    file {}\n    weight -20\n    init_file 0 overwrite\n}}\n\
                 vrrp_instance VI01 {{",
                level.display()
            ),
        )
        .replace(
            "    virtual_ipaddress {",
            "    track_file {\n        level\n    }\n    virtual_ipaddress {",
        )
}

struct FileLab {
    lab: ReferenceLab,
    level: PathBuf,
    configs: [PathBuf; 2],
}

impl FileLab {
    fn new() -> Self {
        let lab = ReferenceLab::with_prefix("sg").unwrap();
        let level = lab.dir.join("level");
        std::fs::write(&level, "7\n").unwrap();
        let configs = [
            lab.write_config(1, "keepalived.conf", &server1(&level)).unwrap(),
            lab.write_config(2, "keepalived.conf", &reference_config(2)).unwrap(),
        ];
        Self { lab, level, configs }
    }

    /// Writes `value` the way an operator's script does: a new file renamed over the old.
    fn write(&self, value: &str) {
        let staged = self.level.with_extension("new");
        std::fs::write(&staged, value).unwrap();
        std::fs::rename(&staged, &self.level).unwrap();
    }

    fn run(mut self, start: impl Fn(&mut ReferenceLab, usize, &Path)) {
        start(&mut self.lab, 1, &self.configs[0].clone());
        // init_file 0 overwrite: the 7 left there is replaced at start-up.
        self.lab.wait_for_master(1, ELECTION).expect("server 1 (110, file at 0) is master");
        start(&mut self.lab, 2, &self.configs[1].clone());
        self.lab.wait_for_master(1, ELECTION).expect("server 1 stays master beside server 2");
        assert_eq!(std::fs::read_to_string(&self.level).unwrap().trim(), "0", "init_file");

        self.write("1\n");
        self.lab.wait_for_master(2, ELECTION).expect("1 x -20: server 1 at 90 yields to 100");
        self.write("0\n");
        self.lab.wait_for_master(1, ELECTION).expect("0: server 1 back at 110 preempts");
        std::fs::remove_file(&self.level).unwrap();
        // A removed file reads as 0: nothing moves, so the write after it must move the VIP.
        self.write("13\n");
        self.lab.wait_for_master(2, ELECTION).expect("13 x -20 <= -254: server 1 in FAULT");
    }
}

#[test]
fn vrrpd_moves_the_vip_when_the_tracked_file_changes() {
    require_root();
    FileLab::new().run(|lab, n, config| {
        lab.start_vrrpd(n, config, &[]).unwrap();
    });
}

#[test]
fn keepalived_does_the_same_with_the_same_files() {
    require_root();
    FileLab::new().run(|lab, n, config| {
        lab.start_keepalived(n, config).unwrap();
    });
}
