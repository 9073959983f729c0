//! The control socket: `RUNTIME_DIR/control`, a Unix stream socket for root only (mode 0600 and
//! the peer's uid checked with SO_PEERCRED: root, or the daemon's own user). One JSON line in, one JSON line out:
//!
//! ```text
//! > {"version":1,"request":"status"}
//! < {"version":1,"status":{...}}          (the schema of `status::Status`)
//! < {"version":1,"error":"..."}           (a request refused)
//! ```
//!
//! Answered from the latest published snapshot by tasks of their own: a reader never waits
//! for the event loop, nor the loop for a reader. Requests are bounded in size, in time and in
//! how many are served at once.

use std::{
    io::{self, BufRead, BufReader, Read, Write},
    os::unix::{fs::PermissionsExt, net::UnixStream as StdUnixStream},
    path::{Path, PathBuf},
    sync::Arc,
    time::Duration,
};

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};
use tokio::{
    io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader as AsyncBufReader},
    net::{UnixListener, UnixStream},
    sync::{watch, Semaphore},
};

use crate::status::{Published, Status, SCHEMA_VERSION};

/// The socket's name in the runtime folder.
pub const SOCKET_NAME: &str = "control";
/// The protocol's version; a request of another is refused.
pub const PROTOCOL_VERSION: u32 = 1;
/// The longest request line accepted, newline included.
pub const MAX_REQUEST: usize = 1024;
/// The pause after a failed accept.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);
/// How long a client has to send its request.
const READ_TIMEOUT: Duration = Duration::from_secs(2);
/// How long a client has to read its answer.
const WRITE_TIMEOUT: Duration = Duration::from_secs(5);
/// Requests served at once; more connections are closed unanswered.
const MAX_CONNECTIONS: usize = 8;
/// The longest answer a client reads (a status of thousands of instances fits).
const MAX_ANSWER: u64 = 64 << 20;

#[derive(Debug, Serialize, Deserialize)]
struct Request {
    version: u32,
    request: String,
}

#[derive(Debug, Serialize, Deserialize)]
struct Answer {
    version: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    status: Option<Status>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

/// The listening socket; dropping it stops serving and removes the file.
pub struct ControlSocket {
    path: PathBuf,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for ControlSocket {
    fn drop(&mut self) {
        self.task.abort();
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Binds `runtime_dir/control` and serves it. A file left there by a crashed daemon is
/// replaced: the runtime folder's lock, held by the caller, proves no other daemon owns it.
pub fn serve(
    runtime_dir: &Path,
    published: watch::Receiver<Arc<Published>>,
) -> Result<ControlSocket> {
    let path = runtime_dir.join(SOCKET_NAME);
    match std::fs::remove_file(&path) {
        Ok(()) => log::info!("replaced a stale control socket {}", path.display()),
        Err(error) if error.kind() == io::ErrorKind::NotFound => {}
        Err(error) => return Err(error).with_context(|| format!("removing {}", path.display())),
    }
    let listener =
        UnixListener::bind(&path).with_context(|| format!("binding {}", path.display()))?;
    // The folder is root's alone (mode 0700); the socket is too.
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))
        .with_context(|| format!("restricting {}", path.display()))?;
    let task = tokio::spawn(accept_loop(listener, published));
    Ok(ControlSocket { path, task })
}

async fn accept_loop(listener: UnixListener, published: watch::Receiver<Arc<Published>>) {
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(_) => {
                // Out of descriptors, say: wait instead of spinning on the runtime the event
                // loop shares.
                tokio::time::sleep(ACCEPT_BACKOFF).await;
                continue;
            }
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            continue; // Busy: the connection is dropped, closed unanswered.
        };
        let published = published.clone();
        tokio::spawn(async move {
            let _slot = slot;
            let _ = answer(stream, published).await;
        });
    }
}

async fn answer(stream: UnixStream, published: watch::Receiver<Arc<Published>>) -> io::Result<()> {
    // SAFETY: geteuid has no preconditions.
    let own_uid = unsafe { libc::geteuid() };
    // Root, or the daemon's own user where it runs unprivileged with capabilities (the runtime
    // folder and the socket are that user's).
    let allowed = stream.peer_cred().is_ok_and(|cred| cred.uid() == 0 || cred.uid() == own_uid);
    let (reader, mut writer) = stream.into_split();
    // The request is read (bounded) before any answer, so that a client sees the answer and
    // not a broken pipe.
    let mut line = Vec::new();
    let mut limited = AsyncBufReader::new(reader).take(MAX_REQUEST as u64);
    let read = tokio::time::timeout(READ_TIMEOUT, limited.read_until(b'\n', &mut line)).await;
    let reply = match read {
        _ if !allowed => error("the control socket is for root only"),
        Err(_) => error("no request within the read timeout"),
        Ok(Err(error_)) => return Err(error_),
        Ok(Ok(_)) if !line.ends_with(b"\n") => {
            error(&format!("a request is one line of at most {MAX_REQUEST} bytes"))
        }
        Ok(Ok(_)) => {
            // The Arc, not the channel's lock, is held while the answer is built.
            let latest = Arc::clone(&published.borrow());
            respond(&line, &latest)
        }
    };
    let mut bytes = serde_json::to_vec(&reply).map_err(io::Error::other)?;
    bytes.push(b'\n');
    // A client that stops reading must not hold its slot for ever.
    let written = tokio::time::timeout(WRITE_TIMEOUT, async {
        writer.write_all(&bytes).await?;
        writer.shutdown().await
    });
    written.await.unwrap_or_else(|_| Err(io::ErrorKind::TimedOut.into()))
}

fn respond(line: &[u8], published: &Published) -> Answer {
    let request: Request = match serde_json::from_slice(line) {
        Ok(request) => request,
        Err(parse) => return error(&format!("not a request: {parse}")),
    };
    if request.version != PROTOCOL_VERSION {
        return error(&format!("protocol version {PROTOCOL_VERSION} only"));
    }
    match request.request.as_str() {
        "status" => match Status::read(published) {
            Ok(status) => Answer { version: PROTOCOL_VERSION, status: Some(status), error: None },
            Err(failed) => error(&format!("{failed:#}")),
        },
        other => error(&format!("unknown request {other:?} (known: status)")),
    }
}

fn error(text: &str) -> Answer {
    Answer { version: PROTOCOL_VERSION, status: None, error: Some(text.to_owned()) }
}

/// Asks the daemon of `runtime_dir` for its status.
pub fn request_status(runtime_dir: &Path) -> Result<Status> {
    let path = runtime_dir.join(SOCKET_NAME);
    let mut stream = StdUnixStream::connect(&path).with_context(|| {
        format!("connecting to {} (is vrrpd running with this runtime folder?)", path.display())
    })?;
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    stream.set_write_timeout(Some(Duration::from_secs(5)))?;
    let request = Request { version: PROTOCOL_VERSION, request: "status".to_owned() };
    let mut line = serde_json::to_vec(&request)?;
    line.push(b'\n');
    stream.write_all(&line)?;
    let mut answer = Vec::new();
    BufReader::new(stream.take(MAX_ANSWER)).read_until(b'\n', &mut answer)?;
    let answer: Answer = serde_json::from_slice(&answer).context("reading the daemon's answer")?;
    if answer.version != PROTOCOL_VERSION {
        bail!(
            "the daemon speaks control protocol {}, this vrrpd {PROTOCOL_VERSION}",
            answer.version
        );
    }
    match (answer.status, answer.error) {
        (Some(status), _) if status.schema != SCHEMA_VERSION => {
            bail!(
                "the daemon's status has schema {}, this vrrpd reads {SCHEMA_VERSION}",
                status.schema
            )
        }
        (Some(status), _) => Ok(status),
        (None, Some(refused)) => bail!("the daemon refused: {refused}"),
        (None, None) => bail!("the daemon answered neither a status nor an error"),
    }
}
