//! `track_file`: files whose number moves the priority of the instances tracking them
//! (keepalived track_file.c). Each file's folder is watched with inotify for a file closed
//! after writing, moved in or out, or deleted, so a change is seen at once without polling;
//! the value is read (at most `TRACK_FILE_READ_LIMIT` bytes, without blocking on a FIFO) and
//! handed to the node, which decides what it means (`vrrp_node::tracking`).

use std::{
    collections::HashMap,
    ffi::OsString,
    fs,
    io::{ErrorKind, Read},
    os::{
        fd::{AsFd, AsRawFd, RawFd},
        unix::fs::OpenOptionsExt,
    },
    path::{Path, PathBuf},
};

use anyhow::{Context, Result};
use nix::sys::inotify::{AddWatchFlags, InitFlags, Inotify, WatchDescriptor};
use tokio::{
    io::{unix::AsyncFd, Interest},
    sync::mpsc,
    task::JoinHandle,
};
use vrrp_config::TrackFile;
use vrrp_node::tracking::{track_file_value, TRACK_FILE_READ_LIMIT};

/// A tracked file's new value: `(track_file name, value)`.
pub type FileValue = (String, i64);

/// keepalived track_file.c track_file_end_handler(): at the first start (never on a reload),
/// `init_file` writes its value into a file that is missing, or into any regular file with
/// `overwrite`.
pub fn initialise(files: &[&TrackFile]) {
    for file in files {
        let Some(init) = file.init else { continue };
        let existing = fs::metadata(&file.path);
        let write = match &existing {
            Err(error) => error.kind() == ErrorKind::NotFound,
            Ok(metadata) if init.overwrite => {
                if !metadata.is_file() {
                    log::warn!(
                        "track_file {}: cannot initialise {}, it is not a regular file",
                        file.name,
                        file.path.display()
                    );
                }
                metadata.is_file()
            }
            Ok(_) => false,
        };
        if write {
            if let Err(error) = fs::write(&file.path, format!("{}\n", init.value)) {
                log::warn!(
                    "track_file {}: cannot initialise {}: {error}",
                    file.name,
                    file.path.display()
                );
            }
        }
    }
}

/// The value of `file` now: a file that cannot be opened, or is empty, is 0 (keepalived
/// process_track_file()); `None` for a number out of range, which changes nothing.
pub fn read_value(file: &TrackFile) -> Option<i64> {
    let opened = fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(&file.path);
    let mut bytes = Vec::with_capacity(TRACK_FILE_READ_LIMIT);
    if let Ok(opened) = opened {
        // A read error leaves what was read, as keepalived's single read() does.
        let _ = opened.take(TRACK_FILE_READ_LIMIT as u64).read_to_end(&mut bytes);
    }
    let value = track_file_value(&bytes);
    if value.is_none() {
        log::warn!(
            "track_file {}: {} holds a number out of range, ignored",
            file.name,
            file.path.display()
        );
    }
    value
}

/// Watches `files` and sends each new value. The watches are in place when this returns, so
/// a value read afterwards misses no change.
pub fn spawn_watcher(
    files: &[&TrackFile],
    values: mpsc::Sender<FileValue>,
) -> Result<JoinHandle<()>> {
    let inotify = Inotify::init(InitFlags::IN_NONBLOCK | InitFlags::IN_CLOEXEC)
        .context("inotify for track_file")?;
    let mask = AddWatchFlags::IN_CLOSE_WRITE | AddWatchFlags::IN_DELETE | AddWatchFlags::IN_MOVE;
    // Several files may share a folder (one watch), and several track_file blocks a file.
    let mut watched: HashMap<(WatchDescriptor, OsString), Vec<TrackFile>> = HashMap::new();
    for file in files {
        let (folder, name) = split(&file.path)
            .with_context(|| format!("track_file {}: {}", file.name, file.path.display()))?;
        let wd = inotify
            .add_watch(&folder, mask)
            .with_context(|| format!("track_file {}: watching {}", file.name, folder.display()))?;
        watched.entry((wd, name)).or_default().push((*file).clone());
    }
    // SAFETY: the inotify instance (and its descriptor) moves into the AsyncFd and lives as long.
    let inotify = unsafe { AsyncFd::register_with_interest(Watches(inotify), Interest::READABLE) }
        .map_err(|error| anyhow::anyhow!("polling inotify for track_file: {error}"))?;
    Ok(tokio::spawn(async move {
        loop {
            let Ok(mut ready) = inotify.readable().await else { return };
            let events = match ready.get_inner().0.read_events() {
                Ok(events) => events,
                Err(nix::errno::Errno::EAGAIN) => {
                    ready.clear_ready();
                    continue;
                }
                Err(error) => {
                    log::error!(
                        "track_file: inotify cannot be read ({error}): files no longer followed"
                    );
                    return;
                }
            };
            for event in events {
                let Some(name) = event.name else { continue };
                let Some(tracked) = watched.get(&(event.wd, name)) else { continue };
                let gone =
                    event.mask.intersects(AddWatchFlags::IN_DELETE | AddWatchFlags::IN_MOVED_FROM);
                for file in tracked {
                    // keepalived process_inotify(): a file removed or moved away reads as 0.
                    let value = if gone { Some(0) } else { read_value(file) };
                    if let Some(value) = value {
                        if values.send((file.name.clone(), value)).await.is_err() {
                            return;
                        }
                    }
                }
            }
        }
    }))
}

/// The inotify instance, with the raw descriptor tokio polls.
struct Watches(Inotify);

impl AsRawFd for Watches {
    fn as_raw_fd(&self) -> RawFd {
        self.0.as_fd().as_raw_fd()
    }
}

/// The folder to watch and the file's name in it (keepalived watches the folder, so a file
/// that does not exist yet, or is replaced by a rename, is still seen).
fn split(path: &Path) -> Result<(PathBuf, OsString)> {
    let name = path.file_name().context("no file name")?.to_owned();
    let folder = match path.parent() {
        Some(folder) if !folder.as_os_str().is_empty() => folder.to_owned(),
        _ => PathBuf::from("."),
    };
    let folder = fs::canonicalize(&folder)
        .with_context(|| format!("the folder {} does not exist", folder.display()))?;
    Ok((folder, name))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;
    use vrrp_config::FileInit;

    fn tracked(dir: &Path, name: &str, init: Option<FileInit>) -> TrackFile {
        TrackFile { name: name.into(), path: dir.join(name), weight: 1, reverse: false, init }
    }

    fn temp_dir(tag: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("vrrpd-track-file-{tag}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn init_file_writes_a_missing_file_and_overwrites_only_when_asked() {
        let dir = temp_dir("init");
        let missing = tracked(&dir, "missing", Some(FileInit { value: 7, overwrite: false }));
        let kept = tracked(&dir, "kept", Some(FileInit { value: 7, overwrite: false }));
        let overwritten = tracked(&dir, "over", Some(FileInit { value: -3, overwrite: true }));
        fs::write(&kept.path, "1\n").unwrap();
        fs::write(&overwritten.path, "1\n").unwrap();
        initialise(&[&missing, &kept, &overwritten]);
        assert_eq!(fs::read_to_string(&missing.path).unwrap(), "7\n");
        assert_eq!(fs::read_to_string(&kept.path).unwrap(), "1\n");
        assert_eq!(fs::read_to_string(&overwritten.path).unwrap(), "-3\n");
        assert_eq!(read_value(&overwritten), Some(-3));
        assert_eq!(read_value(&tracked(&dir, "absent", None)), Some(0), "missing reads as 0");
        fs::remove_dir_all(&dir).unwrap();
    }

    async fn next(values: &mut mpsc::Receiver<FileValue>) -> FileValue {
        let value = tokio::time::timeout(Duration::from_secs(10), values.recv());
        value.await.expect("a value within 10 s").expect("open")
    }

    #[tokio::test]
    async fn a_write_a_rename_and_a_removal_are_each_seen() {
        let dir = temp_dir("watch");
        let file = tracked(&dir, "level", None);
        let (sender, mut values) = mpsc::channel(8);
        let task = spawn_watcher(&[&file], sender).unwrap();
        fs::write(&file.path, "5\n").unwrap();
        assert_eq!(next(&mut values).await, ("level".to_owned(), 5));
        let staged = dir.join("staged");
        fs::write(&staged, "-2").unwrap();
        fs::rename(&staged, &file.path).unwrap();
        assert_eq!(next(&mut values).await, ("level".to_owned(), -2), "moved in");
        fs::remove_file(&file.path).unwrap();
        assert_eq!(next(&mut values).await, ("level".to_owned(), 0), "removed");
        task.abort();
        fs::remove_dir_all(&dir).unwrap();
    }
}
