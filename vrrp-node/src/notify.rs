//! keepalived's notify scripts: which run on a state change, with which arguments, in which
//! order.

use vrrp_config::{Command, Notify, RunAs};
use vrrp_proto::State;

use crate::output::ScriptRun;

/// The word keepalived gives a state in `notify` arguments; Initialize is reached only by
/// stopping, so it is `STOP`.
pub fn state_word(state: State) -> &'static str {
    match state {
        State::Master => "MASTER",
        State::Backup => "BACKUP",
        State::Fault => "FAULT",
        State::Initialize => "STOP",
    }
}

/// keepalived vrrp_notify.c send_instance_notifies(): first the state's own script
/// (`notify_master`, `notify_backup`, `notify_fault`, `notify_stop`) with no arguments, then
/// the generic `notify` with `INSTANCE <name> <STATE> <priority>` appended
/// (notify_script_exec()). A command without its own user runs as `script_user`.
pub fn instance_scripts(
    notify: &Notify,
    name: &str,
    state: State,
    priority: u8,
    script_user: Option<&RunAs>,
) -> Vec<ScriptRun> {
    scripts(notify, "INSTANCE", name, state, priority, script_user)
}

/// keepalived vrrp_notify.c send_group_notifies(): a sync group's scripts, in the same order,
/// the generic one with `GROUP <name> <STATE> 0` appended (a group has no priority, and
/// keepalived passes 0).
pub fn group_scripts(
    notify: &Notify,
    name: &str,
    state: State,
    script_user: Option<&RunAs>,
) -> Vec<ScriptRun> {
    scripts(notify, "GROUP", name, state, 0, script_user)
}

/// keepalived vrrp_notify.c notify_fifo(): `INSTANCE "VI_1" MASTER 110`, `GROUP "G1" BACKUP 0`
/// (a group's priority is 0), with a newline.
pub fn fifo_line(kind: FifoSubject, name: &str, state: State, priority: u8) -> String {
    let kind = match kind {
        FifoSubject::Instance => "INSTANCE",
        FifoSubject::Group => "GROUP",
    };
    format!("{kind} \"{name}\" {} {priority}\n", state_word(state))
}

/// keepalived vrrp_notify.c send_instance_priority_notifies() (`notify_priority_changes`):
/// `INSTANCE "VI_1" MASTER_PRIORITY 90`, `BACKUP_PRIORITY` in any other state.
pub fn priority_line(name: &str, state: State, priority: u8) -> String {
    let event = if state == State::Master { "MASTER_PRIORITY" } else { "BACKUP_PRIORITY" };
    format!("INSTANCE \"{name}\" {event} {priority}\n")
}

/// Whose state a FIFO line reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FifoSubject {
    Instance,
    Group,
}

fn scripts(
    notify: &Notify,
    kind: &str,
    name: &str,
    state: State,
    priority: u8,
    script_user: Option<&RunAs>,
) -> Vec<ScriptRun> {
    let specific = match state {
        State::Master => &notify.master,
        State::Backup => &notify.backup,
        State::Fault => &notify.fault,
        State::Initialize => &notify.stop,
    };
    let run = |command: &Command, extra: Vec<String>| ScriptRun {
        argv: command.argv.iter().cloned().chain(extra).collect(),
        run_as: command.run_as.clone().or_else(|| script_user.cloned()),
    };
    let mut runs: Vec<ScriptRun> =
        specific.iter().map(|command| run(command, Vec::new())).collect();
    if let Some(command) = &notify.any {
        let extra = [kind, name, state_word(state)].map(str::to_owned);
        runs.push(run(command, extra.into_iter().chain([priority.to_string()]).collect()));
    }
    runs
}

#[cfg(test)]
mod tests {
    use super::*;

    fn command(argv: &[&str], user: Option<&str>) -> Option<Command> {
        Some(Command {
            argv: argv.iter().map(|a| a.to_string()).collect(),
            run_as: user.map(|user| RunAs { user: user.into(), group: None }),
        })
    }

    #[test]
    fn the_states_script_then_notify_with_keepaliveds_arguments() {
        let notify = Notify {
            master: command(&["/bin/m", "x y"], None),
            any: command(&["/bin/n", "a"], Some("alice")),
            ..Notify::default()
        };
        let default_user = RunAs { user: "vrrp".into(), group: Some("vrrp".into()) };
        let runs = instance_scripts(&notify, "VI01", State::Master, 110, Some(&default_user));
        assert_eq!(
            runs,
            vec![
                ScriptRun { argv: vec!["/bin/m".into(), "x y".into()], run_as: Some(default_user) },
                ScriptRun {
                    argv: ["/bin/n", "a", "INSTANCE", "VI01", "MASTER", "110"]
                        .map(String::from)
                        .to_vec(),
                    run_as: Some(RunAs { user: "alice".into(), group: None }),
                },
            ]
        );
    }

    #[test]
    fn each_state_has_its_script_and_word() {
        let notify = Notify {
            master: command(&["m"], None),
            backup: command(&["b"], None),
            fault: command(&["f"], None),
            stop: command(&["s"], None),
            any: command(&["n"], None),
        };
        for (state, script, word) in [
            (State::Master, "m", "MASTER"),
            (State::Backup, "b", "BACKUP"),
            (State::Fault, "f", "FAULT"),
            (State::Initialize, "s", "STOP"),
        ] {
            let runs = instance_scripts(&notify, "VI", state, 1, None);
            assert_eq!(runs[0].argv, vec![script.to_owned()]);
            assert_eq!(runs[1].argv, ["n", "INSTANCE", "VI", word, "1"].map(String::from));
            assert_eq!(runs.len(), 2);
        }
    }

    #[test]
    fn a_groups_scripts_say_group_and_priority_zero() {
        let notify = Notify {
            backup: command(&["/bin/b"], None),
            any: command(&["/bin/n"], None),
            ..Notify::default()
        };
        let runs = group_scripts(&notify, "G1", State::Backup, None);
        let argv: Vec<Vec<String>> = runs.into_iter().map(|run| run.argv).collect();
        assert_eq!(
            argv,
            [
                vec!["/bin/b".to_owned()],
                ["/bin/n", "GROUP", "G1", "BACKUP", "0"].map(String::from).to_vec()
            ]
        );
    }

    #[test]
    fn fifo_lines_in_keepaliveds_format() {
        let line = fifo_line(FifoSubject::Instance, "VI_1", State::Master, 110);
        assert_eq!(line, "INSTANCE \"VI_1\" MASTER 110\n");
        let line = fifo_line(FifoSubject::Group, "G1", State::Initialize, 0);
        assert_eq!(line, "GROUP \"G1\" STOP 0\n");
        assert_eq!(
            priority_line("VI_1", State::Backup, 90),
            "INSTANCE \"VI_1\" BACKUP_PRIORITY 90\n"
        );
        assert_eq!(
            priority_line("VI_1", State::Master, 90),
            "INSTANCE \"VI_1\" MASTER_PRIORITY 90\n"
        );
    }

    #[test]
    fn nothing_configured_runs_nothing() {
        assert!(instance_scripts(&Notify::default(), "VI", State::Master, 100, None).is_empty());
    }
}
