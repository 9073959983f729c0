//! Notify FIFOs (`notify_fifo`, `vrrp_notify_fifo`): every notification the node gives as a
//! line (`INSTANCE "VI_1" MASTER 110`) is written, in order, to each FIFO, as keepalived does
//! (core/notify.c fifo_open(), vrrp_notify.c notify_fifo()).
//!
//! The FIFO is created if missing (mode 0644, owned by its user), its `*_script` started once
//! with the FIFO's path appended (before the FIFO is opened, so it can open it for reading),
//! then opened read-write and non-blocking: with the daemon as a reader too, a write never
//! fails for want of a reader and an open never waits. Only a FIFO (not a planted file) owned
//! by the daemon or the FIFO's user is used. Lines go through a bounded queue to a writer task,
//! so the event loop never waits for a slow reader: the task writes each line whole, waiting
//! while the pipe is full; when nobody reads at all, the pipe and then the queue fill, and
//! further lines are dropped and counted (keepalived drops them when the pipe is full).

use std::{
    fs::{File, OpenOptions},
    io::{ErrorKind, Write},
    os::unix::fs::{FileTypeExt, MetadataExt, OpenOptionsExt},
    path::PathBuf,
    time::Duration,
};

use tokio::{io::unix::AsyncFd, io::Interest, sync::mpsc, task::JoinHandle};
use vrrp_config::{NotifyFifo, RunAs};

use crate::scripts;

/// Lines waiting for a FIFO whose pipe is full; more are dropped.
const QUEUE_LINES: usize = 1024;
/// How long the last lines (the instances' STOP) may take to reach a FIFO at shutdown.
const CLOSE_GRACE: Duration = Duration::from_secs(1);
/// A FIFO script runs as long as the daemon (keepalived's TIMER_NEVER).
const SCRIPT_LIFETIME: Duration = Duration::from_secs(u32::MAX as u64);

/// The open FIFOs of the running configuration.
#[derive(Default)]
pub struct NotifyFifos {
    config: Vec<NotifyFifo>,
    fifos: Vec<Fifo>,
}

struct Fifo {
    path: PathBuf,
    /// Created by this daemon, so removed when it closes (keepalived fifo_close()).
    created: bool,
    queue: mpsc::Sender<String>,
    writer: JoinHandle<()>,
    script: Option<JoinHandle<()>>,
    dropped: u64,
}

impl NotifyFifos {
    /// Opens the FIFOs `config` names, unless they are open already; a FIFO that cannot be
    /// used is logged and left out, as keepalived does.
    pub async fn open(&mut self, config: &[NotifyFifo], script_user: Option<&RunAs>) {
        if self.config == config {
            return;
        }
        self.close().await;
        self.config = config.to_vec();
        for fifo in config {
            match Fifo::open(fifo, script_user).await {
                Ok(opened) => self.fifos.push(opened),
                Err(error) => log::error!(
                    "notify FIFO {}: {error}; notifications are not written there",
                    fifo.path.display()
                ),
            }
        }
    }

    /// Queues `line` for every FIFO; never waits.
    pub fn write(&mut self, line: &str) {
        for fifo in &mut self.fifos {
            if fifo.queue.try_send(line.to_owned()).is_err() {
                fifo.dropped += 1;
                // Once per power of two: a reader gone for good cannot flood the log.
                if fifo.dropped.is_power_of_two() {
                    log::warn!(
                        "notify FIFO {}: nobody reads it, {} line(s) dropped",
                        fifo.path.display(),
                        fifo.dropped
                    );
                }
            }
        }
    }

    /// Writes what is queued (for at most `CLOSE_GRACE`), stops the scripts, and removes the
    /// FIFOs this daemon created.
    pub async fn close(&mut self) {
        for fifo in self.fifos.drain(..) {
            drop(fifo.queue);
            let mut writer = fifo.writer;
            if tokio::time::timeout(CLOSE_GRACE, &mut writer).await.is_err() {
                writer.abort();
            }
            if let Some(script) = fifo.script {
                script.abort();
            }
            if fifo.created {
                let _ = std::fs::remove_file(&fifo.path);
            }
        }
        self.config.clear();
    }
}

impl Fifo {
    async fn open(config: &NotifyFifo, script_user: Option<&RunAs>) -> Result<Self, String> {
        let owner = config.owner.as_ref().or(script_user).cloned();
        let ids = match owner {
            Some(owner) => {
                // getpwnam may ask a directory service: never on the event loop's thread.
                let lookup = owner.clone();
                let ids = tokio::task::spawn_blocking(move || scripts::user_ids(&lookup))
                    .await
                    .ok()
                    .flatten();
                Some(ids.ok_or_else(|| format!("unknown user {}", owner.user))?)
            }
            None => None,
        };
        let path = config.path.clone();
        let created =
            match nix::unistd::mkfifo(&path, nix::sys::stat::Mode::from_bits_truncate(0o644)) {
                Ok(()) => {
                    if let Some((uid, gid)) = ids {
                        if let Err(error) = std::os::unix::fs::chown(&path, Some(uid), Some(gid)) {
                            log::warn!(
                                "notify FIFO {}: cannot give it to {uid}:{gid}: {error}",
                                path.display()
                            );
                        }
                    }
                    true
                }
                Err(nix::errno::Errno::EEXIST) => false,
                Err(error) => return Err(format!("cannot be created: {error}")),
            };
        let script = config.script.clone().map(|script| {
            let extra = [path.to_string_lossy().into_owned()];
            let run_as = script.run_as.clone().or_else(|| script_user.cloned());
            tokio::spawn(async move {
                scripts::run(&script.argv, &extra, run_as.as_ref(), SCRIPT_LIFETIME).await;
                log::info!("notify FIFO script {} ended", script.argv[0]);
            })
        });
        let file = match open_owned_fifo(&path, ids.map(|(uid, _)| uid)) {
            Ok(file) => file,
            Err(error) => {
                if let Some(script) = script {
                    script.abort();
                }
                if created {
                    let _ = std::fs::remove_file(&path);
                }
                return Err(error);
            }
        };
        // SAFETY: the file (and its descriptor) moves into the AsyncFd and lives as long.
        let fd = unsafe { AsyncFd::register_with_interest(file, Interest::WRITABLE) }
            .map_err(|error| format!("cannot be polled: {error}"))?;
        let (queue, lines) = mpsc::channel(QUEUE_LINES);
        let writer = tokio::spawn(write_lines(fd, lines, path.clone()));
        Ok(Self { path, created, queue, writer, script, dropped: 0 })
    }
}

/// keepalived fifo_open(): `O_RDWR | O_NONBLOCK | O_NOFOLLOW`, then only a FIFO owned by us
/// or by its user is kept.
fn open_owned_fifo(path: &std::path::Path, owner: Option<u32>) -> Result<File, String> {
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(path)
        .map_err(|error| format!("cannot be opened: {error}"))?;
    let metadata = file.metadata().map_err(|error| format!("cannot be read: {error}"))?;
    // SAFETY: geteuid has no preconditions.
    let ours = unsafe { libc::geteuid() };
    if !metadata.file_type().is_fifo() || (metadata.uid() != ours && Some(metadata.uid()) != owner)
    {
        return Err("is not a FIFO owned by this daemon or its user".to_owned());
    }
    Ok(file)
}

/// Writes each line whole, in order, waiting while the pipe is full.
async fn write_lines(fd: AsyncFd<File>, mut lines: mpsc::Receiver<String>, path: PathBuf) {
    while let Some(line) = lines.recv().await {
        let mut rest = line.as_bytes();
        while !rest.is_empty() {
            let Ok(mut ready) = fd.writable().await else { return };
            match ready.try_io(|fd| fd.get_ref().write(rest)) {
                Ok(Ok(written)) => rest = &rest[written..],
                Ok(Err(error)) if error.kind() == ErrorKind::Interrupted => {}
                Ok(Err(error)) => {
                    log::error!("notify FIFO {}: {error}; no more lines written", path.display());
                    return;
                }
                Err(_would_block) => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{BufRead, BufReader};

    fn fifo_config(path: PathBuf) -> NotifyFifo {
        NotifyFifo { path, owner: None, script: None }
    }

    #[tokio::test]
    async fn lines_arrive_whole_and_in_order_and_the_fifo_goes_at_close() {
        let dir = std::env::temp_dir().join(format!("vrrpd-fifo-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("notify.fifo");
        let mut fifos = NotifyFifos::default();
        fifos.open(&[fifo_config(path.clone())], None).await;
        assert!(std::fs::metadata(&path).unwrap().file_type().is_fifo());
        let reader = BufReader::new(File::open(&path).unwrap());
        for n in 0..3 {
            fifos.write(&format!("INSTANCE \"VI_{n}\" MASTER 110\n"));
        }
        let lines = tokio::task::spawn_blocking(move || {
            reader.lines().take(3).map(Result::unwrap).collect::<Vec<_>>()
        });
        let lines = tokio::time::timeout(Duration::from_secs(10), lines).await.unwrap().unwrap();
        assert_eq!(
            lines,
            [
                "INSTANCE \"VI_0\" MASTER 110",
                "INSTANCE \"VI_1\" MASTER 110",
                "INSTANCE \"VI_2\" MASTER 110"
            ]
        );
        fifos.close().await;
        assert!(!path.exists(), "created by the daemon, removed by it");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[tokio::test]
    async fn a_planted_regular_file_is_not_used_and_nobody_reading_never_blocks() {
        let dir = std::env::temp_dir().join(format!("vrrpd-fifo-planted-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let planted = dir.join("planted");
        std::fs::write(&planted, "").unwrap();
        let unread = dir.join("unread.fifo");
        let mut fifos = NotifyFifos::default();
        fifos.open(&[fifo_config(planted.clone()), fifo_config(unread.clone())], None).await;
        assert_eq!(fifos.fifos.len(), 1, "the regular file is refused");
        let line = format!("INSTANCE \"{}\" MASTER 110\n", "V".repeat(100));
        // 64 KiB of pipe and the queue fill; the rest is dropped, and write() never waits.
        for _ in 0..(QUEUE_LINES + 2000) {
            fifos.write(&line);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        for _ in 0..QUEUE_LINES + 10 {
            fifos.write(&line);
        }
        assert!(fifos.fifos[0].dropped > 0);
        fifos.close().await;
        assert_eq!(std::fs::read_to_string(&planted).unwrap(), "", "never written");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
