//! Whether the XDP program's pins can go to the pin folder. Pinning is for inspection only
//! (`vrrpd counters`, `vrrpd instances`, bpftool): where there is no bpffs (under `ip netns
//! exec`, which remounts /sys, or in a container) XDP runs unpinned. A folder that exists but
//! that another user could have prepared is never used, and never a reason to run without XDP:
//! its maps would steer the election.

use std::{
    fs,
    io::ErrorKind,
    os::unix::fs::{MetadataExt, PermissionsExt},
    path::Path,
};

use anyhow::{bail, Context, Result};
use nix::sys::statfs::{statfs, BPF_FS_MAGIC};

/// Where the pins go.
#[derive(Debug, PartialEq, Eq)]
pub enum PinPlan {
    /// In the folder (created, or emptied of a crashed run's pins, by the loader).
    Pinned,
    /// Nowhere, for this reason.
    Unpinned(String),
}

/// Judges `dir`: an error for a folder that is not trusted (not a directory, a symbolic link,
/// not owned by root, or open to anyone but its owner).
pub fn plan(dir: &Path) -> Result<PinPlan> {
    let metadata = match fs::symlink_metadata(dir) {
        Ok(metadata) => metadata,
        Err(error) if error.kind() == ErrorKind::NotFound => {
            let parent = dir.parent().unwrap_or(Path::new("/"));
            return Ok(if is_bpffs(parent) {
                PinPlan::Pinned
            } else {
                PinPlan::Unpinned(format!("{} is not on a BPF filesystem", parent.display()))
            });
        }
        Err(error) => {
            return Err(error)
                .with_context(|| format!("inspecting the pin folder {}", dir.display()))
        }
    };
    let mode = metadata.permissions().mode() & 0o7777;
    let untrusted = if metadata.file_type().is_symlink() {
        Some("is a symbolic link".to_owned())
    } else if !metadata.is_dir() {
        Some("is not a directory".to_owned())
    } else if metadata.uid() != 0 {
        Some(format!("is owned by uid {}, not root", metadata.uid()))
    } else if mode != 0o700 {
        Some(format!("has mode {mode:04o}, not 0700"))
    } else {
        None
    };
    if let Some(why) = untrusted {
        bail!(
            "the pin folder {} {why}: vrrpd does not use a pin folder another user may have \
             prepared (its maps steer the election); remove it, or choose another --pin-dir",
            dir.display()
        );
    }
    Ok(if is_bpffs(dir) {
        PinPlan::Pinned
    } else {
        PinPlan::Unpinned(format!("{} is not on a BPF filesystem", dir.display()))
    })
}

/// Whether `path` is on a BPF filesystem.
pub fn is_bpffs(path: &Path) -> bool {
    statfs(path).is_ok_and(|stats| stats.filesystem_type() == BPF_FS_MAGIC)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> std::path::PathBuf {
        let dir =
            std::env::temp_dir().join(format!("vrrpd-pin-test-{}-{name}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn a_missing_folder_outside_bpffs_means_unpinned() {
        let dir = scratch("missing");
        let plan = plan(&dir.join("vrrpd")).unwrap();
        assert!(
            matches!(&plan, PinPlan::Unpinned(why) if why.contains("not on a BPF")),
            "{plan:?}"
        );
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn untrusted_folders_are_refused() {
        let dir = scratch("untrusted");
        let open = dir.join("open");
        fs::create_dir(&open).unwrap();
        fs::set_permissions(&open, fs::Permissions::from_mode(0o777)).unwrap();
        let link = dir.join("link");
        std::os::unix::fs::symlink(&open, &link).unwrap();
        let file = dir.join("file");
        fs::write(&file, b"").unwrap();
        for (path, expected) in
            [(&open, "mode 0777"), (&link, "symbolic link"), (&file, "not a directory")]
        {
            let error = plan(path).unwrap_err().to_string();
            assert!(error.contains(expected), "{}: {error}", path.display());
        }
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_trusted_folder_outside_bpffs_means_unpinned() {
        let dir = scratch("trusted");
        let trusted = dir.join("vrrpd");
        fs::create_dir(&trusted).unwrap();
        fs::set_permissions(&trusted, fs::Permissions::from_mode(0o700)).unwrap();
        if std::fs::metadata(&trusted).unwrap().uid() == 0 {
            assert!(matches!(plan(&trusted).unwrap(), PinPlan::Unpinned(_)));
        } else {
            let error = plan(&trusted).unwrap_err().to_string();
            assert!(error.contains("not root"), "{error}");
        }
        fs::remove_dir_all(dir).unwrap();
    }
}
