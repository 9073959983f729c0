//! Scripts the configuration names: notify scripts on state changes, and tracking scripts
//! (`vrrp_script`) whose results move priorities or cause a fault.
//!
//! Scripts run without a shell (argv as configured), as the configured user when one is set,
//! with a timeout, in tasks of their own: the event loop never waits for them.

use std::{collections::HashMap, process::Stdio, time::Duration};

use tokio::{process::Command, sync::mpsc};
use vrrp_config::{RunAs, Script};

/// A notify script gets this long before it is killed.
const NOTIFY_TIMEOUT: Duration = Duration::from_secs(30);

/// Variables a script must not inherit: the loader's and the shell's overrides (as keepalived
/// drops, notify.c system_call()), and the daemon's own channels to systemd and its log filter.
const SCRUBBED_VARIABLES: &[&str] = &[
    "IFS",
    "NOTIFY_SOCKET",
    "WATCHDOG_PID",
    "WATCHDOG_USEC",
    "LISTEN_FDS",
    "LISTEN_PID",
    "LISTEN_FDNAMES",
    "RUST_LOG",
];

/// Whether a script sees the daemon's environment variable `name`.
fn inherited(name: &str) -> bool {
    !name.starts_with("LD_") && !SCRUBBED_VARIABLES.contains(&name)
}

/// Runs `argv` (plus `extra` arguments), killing it after `timeout`. `true` when it exited 0.
///
/// As keepalived does (notify.c): the script leads a process group of its own, so a timeout
/// kills whatever it started too; it gets SIGTERM if the daemon dies; its output goes nowhere.
pub async fn run(
    argv: &[String],
    extra: &[String],
    run_as: Option<&RunAs>,
    timeout: Duration,
) -> bool {
    let Some((program, args)) = argv.split_first() else {
        return false;
    };
    let mut command = Command::new(program);
    command
        .args(args)
        .args(extra)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .kill_on_drop(true);
    for (name, _) in std::env::vars_os() {
        if !inherited(&name.to_string_lossy()) {
            command.env_remove(&name);
        }
    }
    // SAFETY: getuid has no preconditions.
    let mut as_root = unsafe { libc::getuid() } == 0;
    if let Some(run_as) = run_as {
        match resolved(run_as).await {
            Some((uid, gid)) => {
                as_root = uid == 0;
                // SAFETY: getuid and getgid have no preconditions.
                if (uid, gid) != unsafe { (libc::getuid(), libc::getgid()) } {
                    command.uid(uid).gid(gid);
                }
            }
            None => {
                log::error!("script {program}: unknown user {}", run_as.user);
                return false;
            }
        }
    }
    // SAFETY: prctl and capset are async-signal-safe and touch no memory of the parent.
    unsafe {
        command.pre_exec(move || {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            // A script run as root keeps the daemon's remaining capabilities, no more.
            crate::privileges::script_pre_exec(as_root)
        });
    }
    // Spawned from the event loop's thread, which lives as long as the daemon: the death
    // signal follows the thread that forked, not the process.
    let mut child = match command.spawn() {
        Ok(child) => child,
        Err(error) => {
            log::warn!("script {program}: cannot start: {error}");
            return false;
        }
    };
    match tokio::time::timeout(timeout, child.wait()).await {
        Ok(Ok(status)) => status.success(),
        Ok(Err(error)) => {
            log::warn!("script {program}: {error}");
            false
        }
        Err(_) => {
            if let Some(pid) = child.id() {
                // SAFETY: a signal to the process group this child leads.
                unsafe { libc::kill(-(pid as i32), libc::SIGKILL) };
            }
            log::warn!("script {program}: timed out after {timeout:?}, killed with its children");
            false
        }
    }
}

/// Starts a notify script and returns at once (which ones, with which arguments, is the
/// node's decision).
pub fn notify(script: vrrp_node::ScriptRun) {
    tokio::spawn(async move {
        run(&script.argv, &[], script.run_as.as_ref(), NOTIFY_TIMEOUT).await;
    });
}

/// Users as looked up since the configuration was (re)loaded: by name, their ids.
type UserCache = HashMap<(String, Option<String>), Option<(u32, u32)>>;
static USERS: std::sync::Mutex<Option<UserCache>> = std::sync::Mutex::new(None);

/// A script's user and group ids, looked up once per configuration as keepalived does at
/// load. getpwnam may ask a directory service: never on the event loop's thread. (Once every
/// user is known, no thread is started for it, so the daemon's threads can end and give up
/// their capabilities, see `privileges`.)
async fn resolved(run_as: &RunAs) -> Option<(u32, u32)> {
    let key = (run_as.user.clone(), run_as.group.clone());
    let cached = USERS.lock().ok().and_then(|users| users.as_ref()?.get(&key).copied());
    if let Some(ids) = cached {
        return ids;
    }
    let lookup = run_as.clone();
    let ids = tokio::task::spawn_blocking(move || user_ids(&lookup)).await.ok().flatten();
    if let Ok(mut users) = USERS.lock() {
        users.get_or_insert_with(HashMap::new).insert(key, ids);
    }
    ids
}

/// A reloaded configuration looks its users up again.
pub fn forget_users() {
    if let Ok(mut users) = USERS.lock() {
        *users = None;
    }
}

pub(crate) fn user_ids(run_as: &RunAs) -> Option<(u32, u32)> {
    let name = std::ffi::CString::new(run_as.user.as_str()).ok()?;
    // SAFETY: getpwnam returns a pointer into static storage or null; read at once.
    let (uid, mut gid) = unsafe {
        let entry = libc::getpwnam(name.as_ptr());
        if entry.is_null() {
            return None;
        }
        ((*entry).pw_uid, (*entry).pw_gid)
    };
    if let Some(group) = &run_as.group {
        let group = std::ffi::CString::new(group.as_str()).ok()?;
        // SAFETY: as above, for getgrnam.
        unsafe {
            let entry = libc::getgrnam(group.as_ptr());
            if entry.is_null() {
                return None;
            }
            gid = (*entry).gr_gid;
        }
    }
    Some((uid, gid))
}

/// A tracking script's result changed: `(name, ok)`.
pub type ScriptResult = (String, bool);

/// Runs each tracking script on its interval, applying rise and fall, and reports changes of
/// the result from `known` (the node's, so a reload's new trackers continue where the old
/// ones stopped).
pub fn spawn_trackers(
    scripts: &[Script],
    known: &HashMap<String, bool>,
    default_user: Option<&RunAs>,
    sender: mpsc::Sender<ScriptResult>,
) -> Vec<tokio::task::JoinHandle<()>> {
    let mut tasks = Vec::new();
    for script in scripts {
        let ok = known.get(&script.name).copied().unwrap_or(!script.init_fail);
        let script = script.clone();
        let run_as = script.run_as.clone().or_else(|| default_user.cloned());
        let sender = sender.clone();
        tasks.push(tokio::spawn(async move {
            let (mut ok, mut streak) = (ok, 0u32);
            let mut ticks = tokio::time::interval(script.interval);
            loop {
                ticks.tick().await;
                let passed = run(&script.argv, &[], run_as.as_ref(), script.timeout).await;
                // keepalived: `rise` successes in a row to become OK, `fall` failures to fail.
                if passed == ok {
                    streak = 0;
                    continue;
                }
                streak += 1;
                let needed = if passed { script.rise } else { script.fall }.max(1);
                if streak >= needed {
                    ok = passed;
                    streak = 0;
                    log::info!(
                        "vrrp_script {}: {}",
                        script.name,
                        if ok { "succeeded" } else { "failed" }
                    );
                    if sender.send((script.name.clone(), ok)).await.is_err() {
                        return;
                    }
                }
            }
        }));
    }
    tasks
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scripts_inherit_no_loader_or_systemd_variables() {
        for name in
            ["LD_PRELOAD", "LD_LIBRARY_PATH", "LD_AUDIT", "IFS", "NOTIFY_SOCKET", "RUST_LOG"]
        {
            assert!(!inherited(name), "{name}");
        }
        for name in ["PATH", "LANG", "TZ", "HOME"] {
            assert!(inherited(name), "{name}");
        }
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_timed_out_script_is_killed_with_what_it_started() {
        let dir = std::env::temp_dir().join(format!("vrrpd-script-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let pid_file = dir.join("group");
        // The shell leaves a grandchild behind, as `sh -c 'sleep 37'` scripts do.
        let argv = [
            "/bin/sh".to_owned(),
            "-c".to_owned(),
            format!("echo $$ > {}; sleep 37 & wait", pid_file.display()),
        ];
        assert!(!run(&argv, &[], None, Duration::from_millis(300)).await);
        let group: i32 = std::fs::read_to_string(&pid_file).unwrap().trim().parse().unwrap();
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        // SAFETY: signal 0 only asks whether a process of the group is left.
        while unsafe { libc::kill(-group, 0) } == 0 {
            assert!(std::time::Instant::now() < deadline, "the script's group outlived it");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
