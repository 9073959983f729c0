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

/// Runs `argv` (plus `extra` arguments), killing it after `timeout`. `true` when it exited 0.
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
    command.args(args).args(extra).stdin(Stdio::null()).kill_on_drop(true);
    if let Some(run_as) = run_as {
        match user_ids(run_as) {
            Some((uid, gid)) => {
                command.uid(uid).gid(gid);
            }
            None => {
                log::error!("script {program}: unknown user {}", run_as.user);
                return false;
            }
        }
    }
    let child = match command.spawn() {
        Ok(child) => child,
        Err(error) => {
            log::warn!("script {program}: cannot start: {error}");
            return false;
        }
    };
    match tokio::time::timeout(timeout, child.wait_with_output()).await {
        Ok(Ok(output)) => output.status.success(),
        Ok(Err(error)) => {
            log::warn!("script {program}: {error}");
            false
        }
        Err(_) => {
            log::warn!("script {program}: timed out after {timeout:?}, killed");
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

fn user_ids(run_as: &RunAs) -> Option<(u32, u32)> {
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
