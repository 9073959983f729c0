//! tcx links on an interface's tc ingress, as the kernel lists them (program and link ids), and
//! their forced detachment: what `vrrpd cleanup` needs to remove a `vrrp_tc` that outlived its
//! daemon (a link someone pinned, or whose descriptor another process inherited). aya lists
//! the programs of a tcx hook but not their links, so the two bpf(2) commands are made here.

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

use anyhow::{bail, Result};

const BPF_PROG_QUERY: libc::c_long = 16;
const BPF_LINK_GET_FD_BY_ID: libc::c_long = 30;
const BPF_LINK_DETACH: libc::c_long = 34;
/// `enum bpf_attach_type`: tc ingress through tcx (Linux >= 6.6).
const BPF_TCX_INGRESS: u32 = 46;
/// More programs than any interface's ingress holds in practice; a longer chain is refused
/// by the kernel with ENOSPC and reported.
const MAX_LINKS: usize = 64;

/// The `query` member of `union bpf_attr` (include/uapi/linux/bpf.h).
#[repr(C)]
#[derive(Default)]
struct QueryAttr {
    target_ifindex: u32,
    attach_type: u32,
    query_flags: u32,
    attach_flags: u32,
    prog_ids: u64,
    count: u32,
    _pad: u32,
    prog_attach_flags: u64,
    link_ids: u64,
    link_attach_flags: u64,
    revision: u64,
}

/// The ids of one attachment on the hook.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TcxAttachment {
    pub program_id: u32,
    /// 0 for a program attached without a link.
    pub link_id: u32,
}

pub(crate) fn bpf<T>(command: libc::c_long, attr: &mut T) -> std::io::Result<i64> {
    // SAFETY: `attr` is the member of `union bpf_attr` the command reads, valid for the call.
    let result =
        unsafe { libc::syscall(libc::SYS_bpf, command, attr as *mut T, std::mem::size_of::<T>()) };
    if result < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(result)
}

/// What the tc ingress of `ifindex` (in this network namespace) runs, in order.
pub fn ingress(ifindex: u32) -> Result<Vec<TcxAttachment>> {
    let mut program_ids = [0u32; MAX_LINKS];
    let mut link_ids = [0u32; MAX_LINKS];
    let mut attr = QueryAttr {
        target_ifindex: ifindex,
        attach_type: BPF_TCX_INGRESS,
        prog_ids: program_ids.as_mut_ptr() as u64,
        link_ids: link_ids.as_mut_ptr() as u64,
        count: MAX_LINKS as u32,
        ..QueryAttr::default()
    };
    if let Err(error) = bpf(BPF_PROG_QUERY, &mut attr) {
        bail!("querying the tcx ingress of interface {ifindex}: {error}");
    }
    let count = (attr.count as usize).min(MAX_LINKS);
    Ok((0..count)
        .map(|i| TcxAttachment { program_id: program_ids[i], link_id: link_ids[i] })
        .collect())
}

/// A descriptor of the link `link_id`, which keeps it alive while held.
pub fn open(link_id: u32) -> Result<OwnedFd> {
    let mut by_id = [link_id, 0, 0];
    match bpf(BPF_LINK_GET_FD_BY_ID, &mut by_id) {
        // SAFETY: a fresh descriptor the kernel just returned, owned here alone.
        Ok(fd) => Ok(unsafe { OwnedFd::from_raw_fd(fd as i32) }),
        Err(error) => bail!("opening link {link_id}: {error}"),
    }
}

/// Detaches the tcx link `link_id` whoever holds it; the link object lives on, empty, until
/// its last holder lets go.
pub fn detach(link_id: u32) -> Result<()> {
    let link = open(link_id)?;
    let mut detach = [link.as_raw_fd() as u32];
    if let Err(error) = bpf(BPF_LINK_DETACH, &mut detach) {
        bail!("detaching link {link_id}: {error}");
    }
    Ok(())
}
