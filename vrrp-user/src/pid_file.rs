//! `--pid-file`: the daemon's process id in a file, as keepalived writes /run/keepalived.pid
//! (keepalived core/pidfile.c pidfile_write()), so that what signals keepalived by its pid
//! file (the Prometheus exporters' `ka.pid-path`, scripts) can signal vrrpd the same way.
//!
//! Written only once the single-instance lock is held (a second daemon, refused, never
//! replaces the first one's file), whole and renamed into place like the dump files, in a folder
//! only root (or the daemon's user) can write; removed at exit if it still names this process.

use std::{fs, io, path::PathBuf};

use anyhow::{Context, Result};

use crate::dumps::{check_folder, write_replacing};

/// The written file; removed when dropped, if it still holds this process's id.
pub struct PidFile {
    path: PathBuf,
    pid: u32,
}

impl PidFile {
    /// Writes "PID\n" to `path`.
    pub fn write(path: PathBuf) -> Result<PidFile> {
        let folder = path.parent().filter(|dir| !dir.as_os_str().is_empty());
        let folder = folder.context("--pid-file needs a file name in a folder")?;
        check_folder(folder).with_context(|| {
            format!("--pid-file {}: its folder {} is not safe", path.display(), folder.display())
        })?;
        let pid = std::process::id();
        write_replacing(&path, format!("{pid}\n").as_bytes())
            .with_context(|| format!("writing --pid-file {}", path.display()))?;
        Ok(PidFile { path, pid })
    }
}

impl Drop for PidFile {
    fn drop(&mut self) {
        // Another daemon's file (after a takeover by hand) is not ours to remove.
        match fs::read_to_string(&self.path) {
            Ok(text) if text.trim() == self.pid.to_string() => {
                if let Err(error) = fs::remove_file(&self.path) {
                    log::warn!("cannot remove {}: {error}", self.path.display());
                }
            }
            Ok(_) => {}
            Err(error) if error.kind() == io::ErrorKind::NotFound => {}
            Err(error) => log::warn!("cannot read {}: {error}", self.path.display()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn holds_the_pid_and_goes_at_drop_unless_another_process_took_it() {
        let dir = std::env::temp_dir().join(format!("vrrpd-pid-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o700)).unwrap();
        let path = dir.join("vrrpd.pid");
        let file = PidFile::write(path.clone()).unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), format!("{}\n", std::process::id()));
        drop(file);
        assert!(!path.exists(), "removed at exit");

        let file = PidFile::write(path.clone()).unwrap();
        fs::write(&path, "1\n").unwrap();
        drop(file);
        assert_eq!(fs::read_to_string(&path).unwrap(), "1\n", "another process's file stays");
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_folder_others_can_write_is_refused() {
        let dir = std::env::temp_dir().join(format!("vrrpd-pid-open-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o777)).unwrap();
        let refused = PidFile::write(dir.join("vrrpd.pid"));
        fs::remove_dir_all(&dir).unwrap();
        assert!(refused.is_err(), "a world-writable folder without the sticky bit");
    }
}
