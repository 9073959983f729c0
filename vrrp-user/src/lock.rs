//! One daemon per runtime folder: an exclusive `flock` on `vrrpd.lock` inside it, held for the
//! daemon's lifetime and released by the kernel when the process dies, so a crash leaves no
//! stale lock.
//!
//! The folder (`RuntimeDirectory=vrrpd` under systemd, `/run/vrrpd` by default) must be a real
//! directory owned by the daemon's user and writable by nobody else: a lock that another user
//! can create, replace or hold would let that user keep vrrpd from starting.

use std::{
    fs::{self, DirBuilder, File, OpenOptions},
    io,
    os::{
        fd::AsRawFd,
        unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt},
    },
    path::{Path, PathBuf},
};

use anyhow::{bail, Context, Result};

/// The folder used when neither `--runtime-dir` nor systemd's `RUNTIME_DIRECTORY` names one.
pub const DEFAULT_RUNTIME_DIR: &str = "/run/vrrpd";
const LOCK_FILE: &str = "vrrpd.lock";

/// Held while the daemon runs; dropping it (or dying) releases the lock.
#[derive(Debug)]
pub struct RuntimeLock {
    _file: File,
    path: PathBuf,
}

impl RuntimeLock {
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// Creates `dir` (mode 0700) if needed, checks it is ours alone, and takes its lock.
pub fn acquire(dir: &Path) -> Result<RuntimeLock> {
    match DirBuilder::new().mode(0o700).create(dir) {
        Ok(()) => {}
        Err(error) if error.kind() == io::ErrorKind::AlreadyExists => {}
        Err(error) => {
            return Err(error)
                .with_context(|| format!("creating the runtime folder {}", dir.display()))
        }
    }
    check_trusted(dir)?;
    let path = dir.join(LOCK_FILE);
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(&path)
        .with_context(|| format!("opening the lock {}", path.display()))?;
    // SAFETY: flock on a descriptor we own; no memory is involved.
    if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } != 0 {
        let error = io::Error::last_os_error();
        if error.kind() == io::ErrorKind::WouldBlock {
            bail!(
                "another vrrpd is running here (it holds {}); stop it first, or give this one \
                 another --runtime-dir and --pin-dir",
                path.display()
            );
        }
        return Err(error).with_context(|| format!("locking {}", path.display()));
    }
    Ok(RuntimeLock { _file: file, path })
}

/// A directory (not a link to one), owned by the effective user, writable by no one else.
fn check_trusted(dir: &Path) -> Result<()> {
    let metadata = fs::symlink_metadata(dir)
        .with_context(|| format!("reading the runtime folder {}", dir.display()))?;
    if !metadata.file_type().is_dir() {
        bail!("the runtime folder {} is not a directory (a symbolic link?)", dir.display());
    }
    // SAFETY: geteuid has no preconditions.
    let euid = unsafe { libc::geteuid() };
    if metadata.uid() != euid {
        bail!(
            "the runtime folder {} belongs to uid {}, not to this daemon's uid {euid}: remove it",
            dir.display(),
            metadata.uid()
        );
    }
    if metadata.mode() & 0o022 != 0 {
        bail!(
            "the runtime folder {} is writable by others (mode {:o}): chmod go-w it",
            dir.display(),
            metadata.mode() & 0o7777
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("vrrpd-lock-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        dir
    }

    #[test]
    fn a_second_daemon_is_refused_until_the_first_lets_go() {
        let dir = scratch("second");
        let first = acquire(&dir).unwrap();
        assert_eq!(fs::metadata(&dir).unwrap().mode() & 0o777, 0o700);
        let refused = acquire(&dir).unwrap_err().to_string();
        assert!(refused.contains("another vrrpd is running"), "{refused}");
        drop(first);
        let again = acquire(&dir).unwrap();
        assert_eq!(again.path(), dir.join(LOCK_FILE));
        drop(again);
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_folder_others_may_write_or_a_link_is_refused() {
        let dir = scratch("open");
        fs::create_dir(&dir).unwrap();
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o777)).unwrap();
        let error = acquire(&dir).unwrap_err().to_string();
        assert!(error.contains("writable by others"), "{error}");
        let link = scratch("link");
        std::os::unix::fs::symlink(&dir, &link).unwrap();
        let error = acquire(&link).unwrap_err().to_string();
        assert!(error.contains("not a directory"), "{error}");
        fs::remove_file(&link).unwrap();
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_lock_file_that_is_a_link_is_not_followed() {
        let dir = scratch("lockfile");
        fs::create_dir(&dir).unwrap();
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o700)).unwrap();
        std::os::unix::fs::symlink("/etc/passwd", dir.join(LOCK_FILE)).unwrap();
        let error = format!("{:#}", acquire(&dir).unwrap_err());
        assert!(error.contains("opening the lock"), "{error}");
        fs::remove_dir_all(&dir).unwrap();
    }
}
