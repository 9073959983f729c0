//! systemd's notification protocol (sd_notify(3)), without libsystemd: one datagram per state.

use std::{env, os::unix::net::UnixDatagram, time::Duration};

/// Sends `state` (e.g. "READY=1") to the service manager; silent when not run by systemd.
pub fn notify(state: &str) {
    let Some(path) = env::var_os("NOTIFY_SOCKET") else {
        return;
    };
    let Ok(socket) = UnixDatagram::unbound() else {
        return;
    };
    let bytes = path.as_encoded_bytes();
    // A leading '@' names an abstract socket.
    let result = if let Some(abstract_name) = bytes.strip_prefix(b"@") {
        use std::os::linux::net::SocketAddrExt;
        std::os::unix::net::SocketAddr::from_abstract_name(abstract_name)
            .and_then(|address| socket.send_to_addr(state.as_bytes(), &address))
    } else {
        socket.send_to(state.as_bytes(), &path)
    };
    if let Err(error) = result {
        log::warn!("sd_notify({state:?}): {error}");
    }
}

/// How often to ping the watchdog: half of WATCHDOG_USEC, when it is meant for this process.
pub fn watchdog_interval() -> Option<Duration> {
    let usec: u64 = env::var("WATCHDOG_USEC").ok()?.parse().ok()?;
    if let Ok(pid) = env::var("WATCHDOG_PID") {
        if pid.parse::<u32>().ok()? != std::process::id() {
            return None;
        }
    }
    Some(Duration::from_micros(usec / 2))
}

/// `RELOADING=1` must carry the monotonic time for `Type=notify-reload` (systemd >= 253).
pub fn reloading() {
    // SAFETY: clock_gettime with a valid pointer.
    let mut now = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &raw mut now) };
    let usec = now.tv_sec as u64 * 1_000_000 + now.tv_nsec as u64 / 1_000;
    notify(&format!("RELOADING=1\nMONOTONIC_USEC={usec}"));
}

/// Whether standard error is the journal's stream (systemd.exec(5): `JOURNAL_STREAM` holds the
/// device and inode of the stream it connected, and a child that inherits the variable but not
/// the stream must not believe it).
pub fn logs_to_journal() -> bool {
    let Some(value) = env::var_os("JOURNAL_STREAM") else { return false };
    let Some(stream) = value.to_str().and_then(journal_stream) else { return false };
    let mut stat = std::mem::MaybeUninit::<libc::stat>::uninit();
    // SAFETY: fstat writes a `struct stat` into the buffer we own.
    if unsafe { libc::fstat(libc::STDERR_FILENO, stat.as_mut_ptr()) } != 0 {
        return false;
    }
    // SAFETY: fstat succeeded, so the buffer is initialised.
    let stat = unsafe { stat.assume_init() };
    stream == (stat.st_dev, stat.st_ino)
}

/// `JOURNAL_STREAM`'s "DEVICE:INODE".
fn journal_stream(value: &str) -> Option<(u64, u64)> {
    let (device, inode) = value.split_once(':')?;
    Some((device.parse().ok()?, inode.parse().ok()?))
}

/// sd-daemon(3)'s `<N>` prefix for a log level.
pub fn syslog_priority(level: log::Level) -> u8 {
    match level {
        log::Level::Error => 3,
        log::Level::Warn => 4,
        log::Level::Info => 6,
        log::Level::Debug | log::Level::Trace => 7,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn journal_stream_is_device_colon_inode() {
        assert_eq!(journal_stream("8:1234"), Some((8, 1234)));
        for bad in ["", "8", "8:", ":1", "a:1", "8:1:2"] {
            assert_eq!(journal_stream(bad), None, "{bad:?}");
        }
    }
}
