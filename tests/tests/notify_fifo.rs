//! The notify FIFO in the namespace lab: server 1 writes its notifications to
//! `vrrp_notify_fifo`, read by its `vrrp_notify_fifo_script` (started with the FIFO's path, as
//! keepalived starts it). During a flap (start, server 2 joins, server 1's link down and up
//! again) the script sees keepalived's lines, in order. The same files run under vrrpd and
//! under keepalived 2.2.7, with the same lines.

use std::path::{Path, PathBuf};
use std::time::Duration;

use vrrp_tests::{
    lab::{reference_config, ReferenceLab},
    require_root, wait_until,
};

/// Start-up and a move of the VIP, with room for a loaded machine.
const ELECTION: Duration = Duration::from_secs(30);

struct FifoLab {
    lab: ReferenceLab,
    read: PathBuf,
    configs: [PathBuf; 2],
}

impl FifoLab {
    fn new() -> Self {
        let lab = ReferenceLab::with_prefix("sg").unwrap();
        let fifo = lab.dir.join("vrrp.fifo");
        let read = lab.dir.join("read.log");
        let reader = lab.dir.join("reader.sh");
        std::fs::write(&reader, format!("#!/bin/sh\nexec cat \"$1\" >> {}\n", read.display()))
            .unwrap();
        std::process::Command::new("chmod").arg("755").arg(&reader).status().unwrap();
        let server1 = reference_config(1).replacen(
            "global_defs {",
            &format!(
                "global_defs {{\n    vrrp_notify_fifo {}\n    vrrp_notify_fifo_script {}",
                fifo.display(),
                reader.display()
            ),
            1,
        );
        let configs = [
            lab.write_config(1, "keepalived.conf", &server1).unwrap(),
            lab.write_config(2, "keepalived.conf", &reference_config(2)).unwrap(),
        ];
        Self { lab, read, configs }
    }

    fn lines(&self) -> Vec<String> {
        let text = std::fs::read_to_string(&self.read).unwrap_or_default();
        text.lines().map(str::to_owned).collect()
    }

    fn wait_for_lines(&self, expected: &[&str], step: &str) {
        let result = wait_until(step, ELECTION, || self.lines().len() >= expected.len());
        if let Err(error) = result {
            panic!("{error}; the FIFO gave {:?}", self.lines());
        }
        assert_eq!(self.lines(), expected, "{step}");
    }

    fn run(mut self, start: impl Fn(&mut ReferenceLab, usize, &Path)) {
        let mut expected = vec!["INSTANCE \"VI01\" BACKUP 110", "INSTANCE \"VI01\" MASTER 110"];
        start(&mut self.lab, 1, &self.configs[0].clone());
        self.lab.wait_for_master(1, ELECTION).expect("server 1 alone is master");
        self.wait_for_lines(&expected, "start-up");
        start(&mut self.lab, 2, &self.configs[1].clone());
        self.lab.wait_for_master(1, ELECTION).expect("server 1 stays master beside server 2");

        self.lab.set_link(1, false).unwrap();
        self.lab.wait_for_master(2, ELECTION).expect("server 2 takes over");
        expected.push("INSTANCE \"VI01\" FAULT 110");
        self.wait_for_lines(&expected, "link down");
        self.lab.set_link(1, true).unwrap();
        self.lab.wait_for_master(1, ELECTION).expect("server 1 preempts");
        expected.extend(["INSTANCE \"VI01\" BACKUP 110", "INSTANCE \"VI01\" MASTER 110"]);
        self.wait_for_lines(&expected, "link up, preemption");
    }
}

#[test]
fn vrrpd_writes_keepaliveds_lines_in_order_during_a_flap() {
    require_root();
    FifoLab::new().run(|lab, n, config| {
        lab.start_vrrpd(n, config, &[]).unwrap();
    });
}

#[test]
fn keepalived_writes_the_same_lines() {
    require_root();
    FifoLab::new().run(|lab, n, config| {
        lab.start_keepalived(n, config).unwrap();
    });
}
