//! keepalived's `enable_script_security` and its default script user, applied to a loaded
//! configuration before it runs (keepalived: notify.c check_script_secure(), check_security(),
//! get_default_script_user(); vrrp.c check_vrrp_script_security()).
//!
//! - A script that names no user runs as `script_user`, else as `keepalived_script` when that
//!   user exists, else as the daemon's own user (root). With `enable_script_security` and no
//!   `keepalived_script`, such scripts are disabled instead of run as root.
//! - A script found neither at its path nor on `PATH`, or not executable by its user, is
//!   disabled.
//! - A script runs from its resolved folder (links in the folders are followed, a link as the
//!   file itself is kept when it names the same file), so what was checked is what runs.
//! - A script that runs as root (user or group), or is set-uid/set-gid root, must have every
//!   component of that path, and of the file it resolves to, owned by root and writable by no
//!   one else (a directory may be group or world writable when sticky, and a group write bit
//!   counts only for a group other than root). One that is not is disabled under
//!   `enable_script_security`, and only warned about without it.
//! - Scripts run without `enable_script_security` draw keepalived's "SECURITY VIOLATION"
//!   warning.
//!
//! A disabled tracking script is removed from every instance that tracks it; a disabled notify
//! command is not run. The decisions are the pure functions here; the file system is read by
//! [`Inspect`], which the tests replace with a tree of their own.

use std::{
    os::unix::fs::{MetadataExt, PermissionsExt},
    path::{Path, PathBuf},
};

use vrrp_config::{Command, Config, RunAs};

/// keepalived's default user for scripts that name none.
pub const DEFAULT_SCRIPT_USER: &str = "keepalived_script";
/// Where a bare command name is looked for when the daemon has no `PATH` (glibc's _CS_PATH).
const DEFAULT_PATH: &str = "/bin:/usr/bin";

const S_ISUID: u32 = 0o4000;
const S_ISGID: u32 = 0o2000;
const S_ISVTX: u32 = 0o1000;
const S_IWGRP: u32 = 0o020;
const S_IWOTH: u32 = 0o002;
const S_IXUSR: u32 = 0o100;
const S_IXGRP: u32 = 0o010;
const S_IXOTH: u32 = 0o001;

/// Who a script runs as.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Identity {
    pub uid: u32,
    pub gid: u32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Directory,
    File,
    Symlink,
    Other,
}

/// What `lstat` (or `stat`) says of one file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Entry {
    pub kind: Kind,
    pub uid: u32,
    pub gid: u32,
    /// Permission bits with set-uid, set-gid and sticky.
    pub mode: u32,
}

/// Why one component of a path makes it unsafe, or `None`.
/// keepalived notify.c check_security(): every component but the last a directory, the last a
/// file or a link; owned by root; a file, or a directory without the sticky bit, writable
/// neither by a group other than root's nor by the world.
pub fn component_problem(entry: &Entry, last: bool) -> Option<&'static str> {
    let right_kind = if last {
        matches!(entry.kind, Kind::File | Kind::Symlink)
    } else {
        entry.kind == Kind::Directory
    };
    if !right_kind {
        return Some("wrong file type");
    }
    if entry.uid != 0 {
        return Some("not owned by root");
    }
    let guarded =
        entry.kind == Kind::File || (entry.kind == Kind::Directory && entry.mode & S_ISVTX == 0);
    if guarded && entry.gid != 0 && entry.mode & S_IWGRP != 0 {
        return Some("writable by a group other than root");
    }
    if guarded && entry.mode & S_IWOTH != 0 {
        return Some("writable by everyone");
    }
    None
}

/// keepalived notify.c is_executable(): root needs any execute bit, the owner the owner's,
/// the group the group's, anyone else the others'.
pub fn is_executable(file: &Entry, who: Identity) -> bool {
    (who.uid == 0 && file.mode & (S_IXUSR | S_IXGRP | S_IXOTH) != 0)
        || (who.uid == file.uid && file.mode & S_IXUSR != 0)
        || (who.uid != file.uid
            && ((who.gid == file.gid && file.mode & S_IXGRP != 0)
                || (who.gid != file.gid && file.mode & S_IXOTH != 0)))
}

/// keepalived check_script_secure(): the path must be safe when the script runs as root or
/// gains root by its set-uid or set-gid bit.
pub fn needs_protection(file: &Entry, who: Identity) -> bool {
    who.uid == 0
        || who.gid == 0
        || (file.uid == 0 && file.mode & S_IXUSR != 0 && file.mode & S_ISUID != 0)
        || (file.gid == 0 && file.mode & S_IXGRP != 0 && file.mode & S_ISGID != 0)
}

/// The file system, as the checks see it.
pub trait Inspect {
    /// `lstat`: the link itself for a symbolic link.
    fn entry(&self, path: &Path) -> std::io::Result<Entry>;
    /// `realpath`.
    fn resolve(&self, path: &Path) -> std::io::Result<PathBuf>;
    /// A user (and group) by name.
    fn user(&self, run_as: &RunAs) -> Option<Identity>;
    /// The daemon's own identity.
    fn own(&self) -> Identity;
    /// `PATH`, for bare command names.
    fn search_path(&self) -> String;
}

/// The real file system and user database.
pub struct System;

impl Inspect for System {
    fn entry(&self, path: &Path) -> std::io::Result<Entry> {
        let metadata = std::fs::symlink_metadata(path)?;
        let file_type = metadata.file_type();
        let kind = if file_type.is_dir() {
            Kind::Directory
        } else if file_type.is_file() {
            Kind::File
        } else if file_type.is_symlink() {
            Kind::Symlink
        } else {
            Kind::Other
        };
        Ok(Entry {
            kind,
            uid: metadata.uid(),
            gid: metadata.gid(),
            mode: metadata.permissions().mode() & 0o7777,
        })
    }

    fn resolve(&self, path: &Path) -> std::io::Result<PathBuf> {
        std::fs::canonicalize(path)
    }

    fn user(&self, run_as: &RunAs) -> Option<Identity> {
        crate::scripts::user_ids(run_as).map(|(uid, gid)| Identity { uid, gid })
    }

    fn own(&self) -> Identity {
        // SAFETY: getuid and getgid have no preconditions.
        unsafe { Identity { uid: libc::getuid(), gid: libc::getgid() } }
    }

    fn search_path(&self) -> String {
        std::env::var("PATH").unwrap_or_else(|_| DEFAULT_PATH.to_owned())
    }
}

/// The first component of `path` (from `/`) that makes it unsafe, with why.
pub fn path_problem(fs: &impl Inspect, path: &Path) -> Option<String> {
    let mut prefix = PathBuf::new();
    let components: Vec<_> = path.components().collect();
    for (index, component) in components.iter().enumerate() {
        prefix.push(component);
        let last = index + 1 == components.len();
        match fs.entry(&prefix) {
            Err(error) => return Some(format!("{}: {error}", prefix.display())),
            Ok(entry) => {
                if let Some(problem) = component_problem(&entry, last) {
                    return Some(format!("{}: {problem}", prefix.display()));
                }
            }
        }
    }
    None
}

/// What becomes of one script.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// It runs, from this path.
    Runs(PathBuf),
    /// It runs, from this path, though its path is unsafe (script security is off).
    RunsInsecure(PathBuf, String),
    /// It does not run.
    Disabled(String),
}

/// keepalived check_script_secure() for a script whose first argument is `program`, run as
/// `who`.
pub fn judge(fs: &impl Inspect, program: &str, who: Identity, security: bool) -> Verdict {
    let given = if program.contains('/') {
        PathBuf::from(program)
    } else {
        let found = fs.search_path().split(':').filter(|dir| !dir.is_empty()).find_map(|dir| {
            let candidate = Path::new(dir).join(program);
            fs.resolve(&candidate).ok().map(|_| candidate)
        });
        match found {
            Some(path) => path,
            None => return Verdict::Disabled(format!("cannot find {program} in PATH")),
        }
    };
    let real = match fs.resolve(&given) {
        Ok(real) => real,
        Err(error) => return Verdict::Disabled(format!("{}: {error}", given.display())),
    };
    // keepalived 2.2.7 lib/notify.c check_script_secure(): the script runs from its resolved
    // folder, under its own name when that is still the same file (a program may act on the
    // name it is called by: /bin/sh runs as /usr/bin/sh, not /usr/bin/dash).
    let given = match (real.parent(), given.file_name()) {
        (Some(folder), Some(name)) if Some(name) != real.file_name() => {
            let named = folder.join(name);
            if fs.resolve(&named).is_ok_and(|same| same == real) {
                named
            } else {
                real.clone()
            }
        }
        _ => real.clone(),
    };
    let file = match fs.entry(&real) {
        Ok(file) => file,
        Err(error) => return Verdict::Disabled(format!("{}: {error}", real.display())),
    };
    if file.kind != Kind::File || !is_executable(&file, who) {
        return Verdict::Disabled(format!(
            "{} is not executable for uid:gid {}:{}",
            real.display(),
            who.uid,
            who.gid
        ));
    }
    if !needs_protection(&file, who) {
        return Verdict::Runs(given);
    }
    let problem = path_problem(fs, &given)
        .or_else(|| (real != given).then(|| path_problem(fs, &real)).flatten());
    match problem {
        None => Verdict::Runs(given),
        Some(problem) if security => Verdict::Disabled(format!("unsafe permissions: {problem}")),
        Some(problem) => Verdict::RunsInsecure(given, problem),
    }
}

/// A line for the log: a warning, or an error (a script disabled, a user missing).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    pub error: bool,
    pub text: String,
}

/// Applies the default script user and the script checks to `config`: disabled scripts are
/// taken out of it. Returns what to log.
pub fn apply(config: &mut Config, fs: &impl Inspect) -> Vec<Finding> {
    let mut findings = Vec::new();
    let has_scripts = !config.scripts.is_empty()
        || config.instances.iter().any(|instance| notify_commands(instance).next().is_some());
    if !has_scripts {
        return findings;
    }
    let security = config.global.enable_script_security;
    // keepalived get_default_script_user(): keepalived_script if it exists, else our own user,
    // which script security refuses when it is root.
    let mut default_fails = false;
    if config.global.script_user.is_none() {
        let default = RunAs { user: DEFAULT_SCRIPT_USER.to_owned(), group: None };
        if fs.user(&default).is_some() {
            config.global.script_user = Some(default);
        } else if security && fs.own().uid == 0 {
            findings.push(Finding {
                error: true,
                text: format!(
                    "Unable to set default user {DEFAULT_SCRIPT_USER} for script (it does not \
                     exist): scripts without a user are disabled rather than run as root \
                     under enable_script_security; create it or set script_user"
                ),
            });
            default_fails = true;
        }
    }
    let global = config.global.script_user.clone();
    let mut ran = false;
    let mut insecure = false;
    let mut judge_one = |argv: &mut Vec<String>, own: Option<&RunAs>, what: &str| -> bool {
        let who = match own.or(global.as_ref()) {
            Some(run_as) => match fs.user(run_as) {
                Some(who) => who,
                None => {
                    findings.push(Finding {
                        error: true,
                        text: format!(
                            "{what}: script user {} does not exist - disabled",
                            run_as.user
                        ),
                    });
                    return false;
                }
            },
            None if default_fails => return false,
            None => fs.own(),
        };
        let Some(program) = argv.first() else {
            return false;
        };
        match judge(fs, program, who, security) {
            Verdict::Runs(path) => {
                ran = true;
                argv[0] = path.to_string_lossy().into_owned();
                true
            }
            Verdict::RunsInsecure(path, problem) => {
                ran = true;
                insecure = true;
                findings.push(Finding {
                    error: false,
                    text: format!(
                        "{what}: unsafe permissions found for script {program} ({problem})"
                    ),
                });
                argv[0] = path.to_string_lossy().into_owned();
                true
            }
            Verdict::Disabled(why) => {
                findings.push(Finding {
                    error: true,
                    text: format!("{what}: script {program} disabled: {why}"),
                });
                false
            }
        }
    };
    let mut disabled_trackers = Vec::new();
    for script in &mut config.scripts {
        let what = format!("vrrp_script {}", script.name);
        if !judge_one(&mut script.argv, script.run_as.as_ref(), &what) {
            disabled_trackers.push(script.name.clone());
        }
    }
    for instance in &mut config.instances {
        let name = instance.name.clone();
        let notify = &mut instance.notify;
        for (keyword, slot) in [
            ("notify_master", &mut notify.master),
            ("notify_backup", &mut notify.backup),
            ("notify_fault", &mut notify.fault),
            ("notify_stop", &mut notify.stop),
            ("notify", &mut notify.any),
        ] {
            let keep = match slot {
                Some(Command { argv, run_as }) => {
                    judge_one(argv, run_as.as_ref(), &format!("vrrp_instance {name} {keyword}"))
                }
                None => true,
            };
            if !keep {
                *slot = None;
            }
        }
    }
    config.scripts.retain(|script| !disabled_trackers.contains(&script.name));
    for instance in &mut config.instances {
        instance.track_scripts.retain(|tracked| !disabled_trackers.contains(&tracked.name));
    }
    if !security && ran {
        findings.push(Finding {
            error: false,
            text: format!(
                "SECURITY VIOLATION - scripts are being executed but script_security not \
                 enabled.{}",
                if insecure { " There are insecure scripts." } else { "" }
            ),
        });
    }
    findings
}

fn notify_commands(instance: &vrrp_config::Instance) -> impl Iterator<Item = &Command> {
    let notify = &instance.notify;
    [&notify.master, &notify.backup, &notify.fault, &notify.stop, &notify.any].into_iter().flatten()
}

#[cfg(test)]
mod tests {
    use std::{os::unix::fs::symlink, path::Path};

    use super::*;

    fn entry(kind: Kind, uid: u32, gid: u32, mode: u32) -> Entry {
        Entry { kind, uid, gid, mode }
    }

    #[test]
    fn each_component_follows_keepalived_rules() {
        use Kind::*;
        assert_eq!(component_problem(&entry(Directory, 0, 0, 0o755), false), None);
        assert_eq!(component_problem(&entry(File, 0, 0, 0o755), true), None);
        assert_eq!(component_problem(&entry(Symlink, 0, 0, 0o777), true), None);
        // Sticky directories such as /tmp may be written by all.
        assert_eq!(component_problem(&entry(Directory, 0, 0, 0o1777), false), None);
        // Root's group may write.
        assert_eq!(component_problem(&entry(Directory, 0, 0, 0o775), false), None);
        assert!(component_problem(&entry(Directory, 0, 100, 0o775), false).is_some());
        assert!(component_problem(&entry(Directory, 0, 0, 0o757), false).is_some());
        assert!(component_problem(&entry(Directory, 1000, 0, 0o755), false).is_some());
        assert!(component_problem(&entry(File, 0, 0, 0o757), true).is_some());
        assert!(component_problem(&entry(File, 0, 100, 0o775), true).is_some());
        assert!(component_problem(&entry(File, 1000, 1000, 0o700), true).is_some());
        assert!(component_problem(&entry(File, 0, 0, 0o755), false).is_some(), "a file mid-path");
        assert!(component_problem(&entry(Directory, 0, 0, 0o755), true).is_some(), "a folder");
        assert!(component_problem(&entry(Other, 0, 0, 0o755), true).is_some());
    }

    #[test]
    fn execute_bits_and_root_protection_follow_keepalived() {
        let root = Identity { uid: 0, gid: 0 };
        let user = Identity { uid: 1000, gid: 1000 };
        let file = |uid, gid, mode| entry(Kind::File, uid, gid, mode);
        assert!(is_executable(&file(1000, 1000, 0o010), root));
        assert!(!is_executable(&file(1000, 1000, 0o644), root));
        assert!(is_executable(&file(1000, 5, 0o700), user));
        assert!(!is_executable(&file(1000, 1000, 0o071), user), "the owner's bit decides");
        assert!(is_executable(&file(0, 1000, 0o010), user));
        assert!(is_executable(&file(0, 0, 0o001), user));
        assert!(needs_protection(&file(1000, 1000, 0o755), root));
        assert!(needs_protection(&file(1000, 1000, 0o755), Identity { uid: 1000, gid: 0 }));
        assert!(!needs_protection(&file(0, 0, 0o755), user));
        assert!(needs_protection(&file(0, 0, 0o4755), user), "set-uid root");
        assert!(needs_protection(&file(5, 0, 0o2755), user), "set-gid root");
    }

    /// A tree in a temporary folder whose modes and owners the tests set.
    struct Tree(PathBuf);

    impl Tree {
        fn new(name: &str) -> Self {
            let dir = std::env::temp_dir().join(format!("vrrpd-{name}-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir).unwrap();
            // The temporary folder is sticky or root's; this one is root's, 0755.
            std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
            Self(dir)
        }

        fn dir(&self, path: &str, mode: u32) -> PathBuf {
            let path = self.0.join(path);
            std::fs::create_dir_all(&path).unwrap();
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
            path
        }

        fn script(&self, path: &str, mode: u32) -> PathBuf {
            let path = self.0.join(path);
            std::fs::write(&path, "#!/bin/sh\nexit 0\n").unwrap();
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
            path
        }
    }

    impl Drop for Tree {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn require_root() {
        // SAFETY: geteuid has no preconditions.
        assert_eq!(unsafe { libc::geteuid() }, 0, "this test chowns files: run it as root");
    }

    const ROOT: Identity = Identity { uid: 0, gid: 0 };
    const NOBODY: Identity = Identity { uid: 65534, gid: 65534 };

    fn runs(verdict: &Verdict) -> bool {
        matches!(verdict, Verdict::Runs(_))
    }

    #[test]
    fn a_path_writable_by_others_disables_a_root_script() {
        require_root();
        let tree = Tree::new("script-security");
        tree.dir("safe", 0o755);
        let safe = tree.script("safe/check", 0o755);
        // The temporary folder's own ancestors must be safe for the rest to mean anything.
        assert_eq!(path_problem(&System, &safe), None, "{}", safe.display());
        let path = |p: &Path| p.to_string_lossy().into_owned();
        assert!(runs(&judge(&System, &path(&safe), ROOT, true)));

        tree.dir("open", 0o777);
        let in_open = tree.script("open/check", 0o755);
        assert!(matches!(judge(&System, &path(&in_open), ROOT, true), Verdict::Disabled(_)));
        assert!(matches!(judge(&System, &path(&in_open), ROOT, false), Verdict::RunsInsecure(..)));
        // Not root: nothing to protect.
        assert!(runs(&judge(&System, &path(&in_open), NOBODY, true)));

        tree.dir("sticky", 0o1777);
        let in_sticky = tree.script("sticky/check", 0o755);
        assert!(runs(&judge(&System, &path(&in_sticky), ROOT, true)));

        let world_writable = tree.script("safe/writable", 0o757);
        assert!(matches!(judge(&System, &path(&world_writable), ROOT, true), Verdict::Disabled(_)));

        let owned = tree.script("safe/owned", 0o755);
        std::os::unix::fs::chown(&owned, Some(NOBODY.uid), Some(NOBODY.gid)).unwrap();
        match judge(&System, &path(&owned), ROOT, true) {
            Verdict::Disabled(why) => assert!(why.contains("not owned by root"), "{why}"),
            other => panic!("a root script owned by nobody: {other:?}"),
        }
        let group = tree.dir("group", 0o775);
        std::os::unix::fs::chown(&group, None, Some(NOBODY.gid)).unwrap();
        let in_group = tree.script("group/check", 0o755);
        assert!(matches!(judge(&System, &path(&in_group), ROOT, true), Verdict::Disabled(_)));

        // A safe link to a script in an unsafe folder: the target's path is checked too.
        let link = tree.0.join("safe/link");
        symlink(&in_open, &link).unwrap();
        assert!(matches!(judge(&System, &path(&link), ROOT, true), Verdict::Disabled(_)));
        // A linked folder is resolved: the script runs from the real one, by its own name.
        symlink(tree.0.join("safe"), tree.0.join("alias")).unwrap();
        let through_alias = tree.0.join("alias/check");
        assert_eq!(judge(&System, &path(&through_alias), ROOT, true), Verdict::Runs(safe.clone()));
        let named_link = tree.0.join("safe/named");
        symlink(&safe, &named_link).unwrap();
        let through_both = tree.0.join("alias/named");
        assert_eq!(judge(&System, &path(&through_both), ROOT, true), Verdict::Runs(named_link));

        // /bin is a link to usr/bin on a merged /usr: followed, not refused.
        assert!(runs(&judge(&System, "/bin/sh", ROOT, true)));
        let not_executable = tree.script("safe/plain", 0o644);
        assert!(matches!(judge(&System, &path(&not_executable), ROOT, true), Verdict::Disabled(_)));
        let missing = tree.0.join("safe/missing");
        assert!(matches!(judge(&System, &path(&missing), ROOT, false), Verdict::Disabled(_)));
    }

    /// [`System`] with a chosen user database and PATH.
    struct Users {
        script_user: bool,
        path: String,
    }

    impl Inspect for Users {
        fn entry(&self, path: &Path) -> std::io::Result<Entry> {
            System.entry(path)
        }
        fn resolve(&self, path: &Path) -> std::io::Result<PathBuf> {
            System.resolve(path)
        }
        fn user(&self, run_as: &RunAs) -> Option<Identity> {
            match run_as.user.as_str() {
                "root" => Some(ROOT),
                "nobody" => Some(NOBODY),
                DEFAULT_SCRIPT_USER if self.script_user => Some(Identity { uid: 900, gid: 900 }),
                _ => None,
            }
        }
        fn own(&self) -> Identity {
            ROOT
        }
        fn search_path(&self) -> String {
            self.path.clone()
        }
    }

    fn config(global: &str, tree: &Tree) -> Config {
        let bin = tree.0.join("bin");
        let text = format!(
            "global_defs {{
    {global}
}}
vrrp_script open_check {{
    script \"{open}\"
}}
vrrp_script safe_check {{
    script \"{safe}\"
}}
vrrp_instance A {{
    interface eth0
    virtual_router_id 1
    priority 100
    virtual_ipaddress {{
        192.0.2.100/24
    }}
    track_script {{
        open_check
        safe_check
    }}
    notify_master \"{open}\"
    notify_backup \"check\"
}}
",
            open = tree.0.join("open/check").display(),
            safe = bin.join("check").display(),
        );
        vrrp_config::parse_str(&text, Path::new("test.conf")).unwrap().config
    }

    fn tree_for_config(name: &str) -> Tree {
        let tree = Tree::new(name);
        tree.dir("open", 0o777);
        tree.script("open/check", 0o755);
        tree.dir("bin", 0o755);
        tree.script("bin/check", 0o755);
        tree
    }

    #[test]
    fn script_security_disables_unsafe_scripts_and_root_without_the_default_user() {
        require_root();
        let tree = tree_for_config("script-security-config");
        let fs = Users { script_user: false, path: tree.0.join("bin").display().to_string() };

        // Off: everything runs as root, with keepalived's warnings.
        let mut off = config("", &tree);
        let findings = apply(&mut off, &fs);
        assert_eq!(off.scripts.len(), 2);
        assert!(off.instances[0].notify.master.is_some());
        let backup = off.instances[0].notify.backup.as_ref().unwrap();
        assert_eq!(backup.argv[0], tree.0.join("bin/check").display().to_string(), "PATH");
        let text: Vec<_> = findings.iter().map(|f| f.text.as_str()).collect();
        assert!(
            text.iter().any(|t| t.starts_with("SECURITY VIOLATION")
                && t.contains("There are insecure scripts.")),
            "{text:?}"
        );
        assert!(findings.iter().all(|f| !f.error), "{findings:?}");
        assert_eq!(off.global.script_user, None);

        // On, no keepalived_script, no script_user: nothing may run as root.
        let mut no_user = config("enable_script_security", &tree);
        let findings = apply(&mut no_user, &fs);
        assert!(no_user.scripts.is_empty(), "{:?}", no_user.scripts);
        assert!(no_user.instances[0].track_scripts.is_empty());
        assert!(no_user.instances[0].notify.master.is_none());
        assert!(no_user.instances[0].notify.backup.is_none());
        assert!(findings.iter().any(|f| f.error && f.text.contains(DEFAULT_SCRIPT_USER)));

        // On, running as root by configuration: the unsafe path is disabled, the safe one runs.
        let mut as_root = config("enable_script_security\n    script_user root", &tree);
        let findings = apply(&mut as_root, &fs);
        let names: Vec<_> = as_root.scripts.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["safe_check"], "{findings:?}");
        let tracked: Vec<_> =
            as_root.instances[0].track_scripts.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(tracked, ["safe_check"]);
        assert!(as_root.instances[0].notify.master.is_none());
        assert!(as_root.instances[0].notify.backup.is_some());
        assert!(findings.iter().all(|f| !f.text.starts_with("SECURITY VIOLATION")));

        // keepalived_script exists: it is the default user, and unprivileged scripts need no
        // safe path.
        let fs = Users { script_user: true, ..fs };
        let mut default_user = config("enable_script_security", &tree);
        let findings = apply(&mut default_user, &fs);
        assert_eq!(default_user.global.script_user.as_ref().unwrap().user, DEFAULT_SCRIPT_USER);
        assert_eq!(default_user.scripts.len(), 2, "{findings:?}");
        assert!(findings.is_empty(), "{findings:?}");
    }
}
