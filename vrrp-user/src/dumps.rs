//! keepalived's dump files on keepalived's signals, for what already watches keepalived (its
//! exporters, OpenShift's `kill -USR1 ... && ! grep -q "State = FAULT" /tmp/keepalived.data`):
//!
//! | signal | file | `--signum=` |
//! |---|---|---|
//! | SIGUSR1 | `keepalived.data` | `DATA` |
//! | SIGUSR2 | `keepalived.stats` | `STATS` |
//! | SIGRTMAX-1 | `keepalived.stats`, then its counters start again from 0 | `STATS_CLEAR` |
//! | SIGRTMIN+2 | `keepalived.json` | `JSON` |
//!
//! in the dump folder (keepalived's: `$TMPDIR` when absolute, else /tmp). The event loop only
//! notes which dumps were asked for and hands them, with a fresh snapshot, to a writer task;
//! requests that come while it writes are merged into its next round, so a burst of signals
//! costs one round, and the loop never waits for a disk.
//!
//! Each file is written whole to a new temporary file beside it and renamed over the old one:
//! a reader sees the old file or the new one, never half of one (keepalived renames first and
//! writes after). The dump folder is usually /tmp, writable by anyone: the temporary file is
//! created with O_CREAT|O_EXCL|O_NOFOLLOW (a file or symlink planted under its name makes the
//! open fail, never followed; another name is tried), and rename(2) replaces a symlink planted
//! at the final name instead of following it. Files are mode 0600, as keepalived's (its umask
//! 0177): root, or the daemon's own user, reads them. A folder where someone else could
//! rename or remove them (owned by another user, or writable by others without the sticky
//! bit /tmp has) gets no dump: a reader there could be handed a forged one.

use std::{
    fs::{self, OpenOptions, Permissions},
    hash::{BuildHasher, Hasher, RandomState},
    io::{self, Write},
    os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt},
    path::{Path, PathBuf},
    sync::{
        atomic::{AtomicU8, Ordering},
        Arc,
    },
    time::{Instant, SystemTime},
};

use tokio::{
    signal::unix::{signal, Signal, SignalKind},
    sync::{watch, Notify},
};

use crate::{
    dump_layout::{self, DumpClock, StatsBaseline},
    status::Published,
};

pub const DATA_FILE: &str = "keepalived.data";
pub const STATS_FILE: &str = "keepalived.stats";
pub const JSON_FILE: &str = "keepalived.json";
/// keepalived's folder when `TMPDIR` names none (keepalived: utils.c set_tmp_dir()).
pub const DEFAULT_DUMP_DIR: &str = "/tmp";
/// Temporary names tried before a dump is given up (each taken one was planted by someone).
const NAME_ATTEMPTS: usize = 16;

/// keepalived's SIGJSON (keepalived: signals.h, SIGRTMIN + 2).
fn sigjson() -> i32 {
    libc::SIGRTMIN() + 2
}

/// keepalived's SIGSTATS_CLEAR (keepalived: signals.h, SIGRTMAX - 1).
fn sigstats_clear() -> i32 {
    libc::SIGRTMAX() - 1
}

/// `--signum=NAME`: the signal that asks for NAME, as keepalived lib/signals.c get_signum()
/// names them (exact, upper case).
pub fn signal_number(name: &str) -> Option<i32> {
    Some(match name {
        "STOP" => libc::SIGTERM,
        "RELOAD" => libc::SIGHUP,
        "DATA" => libc::SIGUSR1,
        "STATS" => libc::SIGUSR2,
        "STATS_CLEAR" => sigstats_clear(),
        "JSON" => sigjson(),
        _ => return None,
    })
}

/// keepalived's dump folder: `TMPDIR` when it is an absolute path, else /tmp.
pub fn default_dir() -> PathBuf {
    match std::env::var_os("TMPDIR") {
        Some(dir) if Path::new(&dir).is_absolute() => dir.into(),
        _ => DEFAULT_DUMP_DIR.into(),
    }
}

/// Which dumps are asked for: a set, so that repeated requests merge.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Requests(u8);

impl Requests {
    pub const DATA: Requests = Requests(1);
    pub const STATS: Requests = Requests(2);
    pub const STATS_CLEAR: Requests = Requests(4);
    pub const JSON: Requests = Requests(8);

    pub fn add(&mut self, other: Requests) {
        self.0 |= other.0;
    }

    pub fn contains(self, other: Requests) -> bool {
        self.0 & other.0 == other.0
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    pub fn take(&mut self) -> Requests {
        std::mem::take(self)
    }
}

/// The four signals, as one stream of requests.
pub struct DumpSignals {
    data: Signal,
    stats: Signal,
    stats_clear: Signal,
    json: Signal,
}

impl DumpSignals {
    /// Installs the handlers (from now on these signals no longer end the process).
    pub fn new() -> io::Result<Self> {
        Ok(Self {
            data: signal(SignalKind::user_defined1())?,
            stats: signal(SignalKind::user_defined2())?,
            stats_clear: signal(SignalKind::from_raw(sigstats_clear()))?,
            json: signal(SignalKind::from_raw(sigjson()))?,
        })
    }

    /// The next request. Cancel-safe, as each signal's `recv`.
    pub async fn recv(&mut self) -> Requests {
        tokio::select! {
            _ = self.data.recv() => Requests::DATA,
            _ = self.stats.recv() => Requests::STATS,
            _ = self.stats_clear.recv() => Requests::STATS_CLEAR,
            _ = self.json.recv() => Requests::JSON,
        }
    }
}

/// The writer task; dropping it stops it.
pub struct DumpWriter {
    pending: Arc<AtomicU8>,
    wake: Arc<Notify>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for DumpWriter {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl DumpWriter {
    /// Starts the task that writes into `dir` what [`DumpWriter::request`] asks for, from the
    /// snapshot published last.
    pub fn spawn(dir: PathBuf, published: watch::Receiver<Arc<Published>>) -> Self {
        let pending = Arc::new(AtomicU8::new(0));
        let wake = Arc::new(Notify::new());
        let task =
            tokio::spawn(write_rounds(dir, published, Arc::clone(&pending), Arc::clone(&wake)));
        Self { pending, wake, task }
    }

    /// Asks for `requests`; merged with any not yet started.
    pub fn request(&self, requests: Requests) {
        self.pending.fetch_or(requests.0, Ordering::Relaxed);
        // A permit is kept if the task is busy: it starts one more round when done.
        self.wake.notify_one();
    }
}

async fn write_rounds(
    dir: PathBuf,
    published: watch::Receiver<Arc<Published>>,
    pending: Arc<AtomicU8>,
    wake: Arc<Notify>,
) {
    let mut baseline = StatsBaseline::default();
    loop {
        wake.notified().await;
        let requests = Requests(pending.swap(0, Ordering::Relaxed));
        if requests.is_empty() {
            continue;
        }
        let published = Arc::clone(&*published.borrow());
        let dir = dir.clone();
        let round = tokio::task::spawn_blocking(move || {
            let clock = DumpClock {
                now: Instant::now(),
                wall: SystemTime::now(),
                utc_offset_seconds: local_utc_offset(),
            };
            write_round(&dir, requests, &published, &clock, &mut baseline);
            baseline
        });
        match round.await {
            Ok(kept) => baseline = kept,
            Err(error) => {
                log::error!("writing the dump files: {error}");
                baseline = StatsBaseline::default();
            }
        }
    }
}

/// Renders and writes one round of dumps.
fn write_round(
    dir: &Path,
    requests: Requests,
    published: &Published,
    clock: &DumpClock,
    baseline: &mut StatsBaseline,
) {
    if let Err(why) = check_folder(dir) {
        log::warn!("no dump written into {}: {why}", dir.display());
        return;
    }
    let snapshot = &published.snapshot;
    let mut files = Vec::new();
    if requests.contains(Requests::DATA) {
        files.push((DATA_FILE, dump_layout::data(snapshot, clock)));
    }
    if requests.contains(Requests::STATS) || requests.contains(Requests::STATS_CLEAR) {
        files.push((STATS_FILE, dump_layout::stats(snapshot, baseline)));
    }
    if requests.contains(Requests::JSON) {
        files.push((JSON_FILE, dump_layout::json(snapshot, clock, baseline)));
    }
    if requests.contains(Requests::STATS_CLEAR) {
        // keepalived: vrrp_print.c vrrp_print_stats(clear): the file shows the counters, then
        // they start again.
        baseline.clear(snapshot);
    }
    for (name, text) in files {
        let path = dir.join(name);
        match write_replacing(&path, text.as_bytes()) {
            Ok(()) => log::debug!("wrote {}", path.display()),
            Err(error) => log::warn!("cannot write {}: {error}", path.display()),
        }
    }
}

/// A folder (followed if a link: the operator named it) that only the daemon's user or root
/// own, and that others can write only if it is sticky (then they cannot touch our files).
pub fn check_folder(dir: &Path) -> io::Result<()> {
    let metadata = fs::metadata(dir)?;
    if !metadata.is_dir() {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, "not a directory"));
    }
    // SAFETY: geteuid has no preconditions.
    let euid = unsafe { libc::geteuid() };
    if metadata.uid() != 0 && metadata.uid() != euid {
        let owner = metadata.uid();
        return Err(io::Error::new(
            io::ErrorKind::PermissionDenied,
            format!("owned by uid {owner}"),
        ));
    }
    let mode = metadata.mode();
    if mode & 0o022 != 0 && mode & 0o1000 == 0 {
        let why = format!("writable by others without the sticky bit (mode {:o})", mode & 0o7777);
        return Err(io::Error::new(io::ErrorKind::PermissionDenied, why));
    }
    Ok(())
}

/// Writes `contents` to a new file beside `path`, then renames it to `path`.
pub fn write_replacing(path: &Path, contents: &[u8]) -> io::Result<()> {
    let (Some(dir), Some(name)) = (path.parent(), path.file_name()) else {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, "not a file path"));
    };
    for _ in 0..NAME_ATTEMPTS {
        let temporary = dir.join(format!(".{}.{:016x}", name.to_string_lossy(), random()));
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW)
            .open(&temporary);
        let mut file = match file {
            Ok(file) => file,
            Err(error) if error.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(error) => return Err(error),
        };
        let written = file
            // Whatever the umask: 0600 exactly.
            .set_permissions(Permissions::from_mode(0o600))
            .and_then(|()| file.write_all(contents))
            .and_then(|()| fs::rename(&temporary, path));
        if written.is_err() {
            let _ = fs::remove_file(&temporary);
        }
        return written;
    }
    Err(io::Error::new(io::ErrorKind::AlreadyExists, "every temporary name tried is taken"))
}

/// An unpredictable 64-bit number (std's per-process random hash keys, and the time).
fn random() -> u64 {
    let mut hasher = RandomState::new().build_hasher();
    hasher.write_u128(
        SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).unwrap_or_default().as_nanos(),
    );
    hasher.finish()
}

/// The local time zone's offset from UTC now, in seconds (0 where it cannot be read).
fn local_utc_offset() -> i64 {
    let now: libc::time_t = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |since| since.as_secs() as libc::time_t);
    // SAFETY: localtime_r writes only into `tm`, which outlives the call.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    if unsafe { libc::localtime_r(&now, &mut tm) }.is_null() {
        return 0;
    }
    tm.tm_gmtoff
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::symlink;

    use super::*;

    /// A fresh folder, removed on drop.
    struct Folder(PathBuf);

    impl Folder {
        fn new(name: &str) -> Self {
            let path =
                std::env::temp_dir().join(format!("vrrpd-dumps-{name}-{}", std::process::id()));
            let _ = fs::remove_dir_all(&path);
            fs::create_dir_all(&path).unwrap();
            Self(path)
        }
    }

    impl Drop for Folder {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    #[test]
    fn signal_numbers_are_keepalived_s() {
        // keepalived 2.2.7 --signum on glibc: STOP 15, RELOAD 1, DATA 10, STATS 12,
        // STATS_CLEAR 63, JSON 36.
        let names = ["STOP", "RELOAD", "DATA", "STATS", "STATS_CLEAR", "JSON"];
        let numbers: Vec<Option<i32>> = names.iter().map(|name| signal_number(name)).collect();
        let expected = [15, 1, 10, 12, libc::SIGRTMAX() - 1, libc::SIGRTMIN() + 2];
        assert_eq!(numbers, expected.map(Some));
        assert_eq!(
            (signal_number("data"), signal_number("TDUMP"), signal_number("")),
            (None, None, None)
        );
    }

    #[test]
    fn requests_merge() {
        let mut asked = Requests::default();
        asked.add(Requests::DATA);
        asked.add(Requests::JSON);
        asked.add(Requests::DATA);
        assert!(asked.contains(Requests::DATA) && asked.contains(Requests::JSON));
        assert!(!asked.contains(Requests::STATS));
        assert_eq!(asked.take(), Requests(Requests::DATA.0 | Requests::JSON.0));
        assert!(asked.is_empty());
    }

    #[test]
    fn a_file_is_replaced_whole_with_mode_0600_and_nothing_left_beside_it() {
        let folder = Folder::new("replace");
        let path = folder.0.join(DATA_FILE);
        fs::write(&path, "old").unwrap();
        fs::set_permissions(&path, Permissions::from_mode(0o644)).unwrap();
        write_replacing(&path, b"new").unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), "new");
        assert_eq!(fs::metadata(&path).unwrap().mode() & 0o777, 0o600);
        assert_eq!(fs::read_dir(&folder.0).unwrap().count(), 1);
    }

    #[test]
    fn a_symlink_planted_at_the_name_is_replaced_not_followed() {
        let folder = Folder::new("symlink");
        let victim = folder.0.join("victim");
        fs::write(&victim, "precious").unwrap();
        let path = folder.0.join(JSON_FILE);
        symlink(&victim, &path).unwrap();
        write_replacing(&path, b"[]").unwrap();
        assert_eq!(fs::read_to_string(&victim).unwrap(), "precious");
        assert!(fs::symlink_metadata(&path).unwrap().file_type().is_file());
        assert_eq!(fs::read_to_string(&path).unwrap(), "[]");
    }

    #[test]
    fn a_folder_others_can_write_is_refused_unless_sticky() {
        let folder = Folder::new("modes");
        check_folder(&folder.0).unwrap();
        fs::set_permissions(&folder.0, Permissions::from_mode(0o777)).unwrap();
        assert_eq!(check_folder(&folder.0).unwrap_err().kind(), io::ErrorKind::PermissionDenied);
        fs::set_permissions(&folder.0, Permissions::from_mode(0o1777)).unwrap();
        check_folder(&folder.0).unwrap();
        let file = folder.0.join("file");
        fs::write(&file, "").unwrap();
        assert_eq!(check_folder(&file).unwrap_err().kind(), io::ErrorKind::InvalidInput);
    }

    #[test]
    fn a_missing_folder_is_an_error() {
        let folder = Folder::new("missing");
        let path = folder.0.join("absent").join(STATS_FILE);
        assert_eq!(write_replacing(&path, b"x").unwrap_err().kind(), io::ErrorKind::NotFound);
    }
}
