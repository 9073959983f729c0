//! BPF_PROG_TEST_RUN: runs a loaded XDP program on a crafted frame, without any interface.
//! The daemon uses it to read the kernel's clock (`vrrp_clock`); the tests, to run the
//! data path on crafted frames.

use std::os::fd::{AsFd, AsRawFd};

use anyhow::{bail, Result};

/// The `test` member of `union bpf_attr` (include/uapi/linux/bpf.h).
#[repr(C)]
#[derive(Default)]
struct TestRunAttr {
    prog_fd: u32,
    retval: u32,
    data_size_in: u32,
    data_size_out: u32,
    data_in: u64,
    data_out: u64,
    repeat: u32,
    duration: u32,
    ctx_size_in: u32,
    ctx_size_out: u32,
    ctx_in: u64,
    ctx_out: u64,
    flags: u32,
    cpu: u32,
    batch_size: u32,
    _pad: u32,
}

/// `struct xdp_md` as the test run takes it in.
#[repr(C)]
#[derive(Default)]
struct XdpMd {
    data: u32,
    data_end: u32,
    data_meta: u32,
    ingress_ifindex: u32,
    rx_queue_index: u32,
    egress_ifindex: u32,
}

const BPF_PROG_TEST_RUN: libc::c_long = 10;

/// What one test run reported.
#[derive(Debug, Clone)]
pub struct RunResult {
    /// The XDP action (`XDP_PASS` = 2, `XDP_DROP` = 1, ...).
    pub action: u32,
    /// Average nanoseconds per run, as the kernel measured over `repeat` runs.
    pub duration_ns: u32,
    /// The frame as the program left it.
    pub frame_out: Vec<u8>,
}

pub const XDP_ABORTED: u32 = 0;
pub const XDP_DROP: u32 = 1;
pub const XDP_PASS: u32 = 2;

/// Runs the XDP `program` on `frame` `repeat` times as if received on `ifindex` (loopback is
/// 1). With `ifindex` 0 no context is passed in, which kernels before 5.15 require.
pub fn run(program: impl AsFd, frame: &[u8], ifindex: u32, repeat: u32) -> Result<RunResult> {
    let fd = program.as_fd().as_raw_fd();
    let mut out = vec![0u8; frame.len() + 256];
    let context =
        XdpMd { data_end: frame.len() as u32, ingress_ifindex: ifindex, ..XdpMd::default() };
    let mut attr = TestRunAttr {
        prog_fd: fd as u32,
        data_size_in: frame.len() as u32,
        data_size_out: out.len() as u32,
        data_in: frame.as_ptr() as u64,
        data_out: out.as_mut_ptr() as u64,
        repeat,
        ..TestRunAttr::default()
    };
    if ifindex != 0 {
        attr.ctx_size_in = std::mem::size_of::<XdpMd>() as u32;
        attr.ctx_in = (&raw const context) as u64;
    }
    // SAFETY: attr points at valid buffers of the sizes given, alive for the call.
    let result = unsafe {
        libc::syscall(
            libc::SYS_bpf,
            BPF_PROG_TEST_RUN,
            &raw mut attr,
            std::mem::size_of::<TestRunAttr>(),
        )
    };
    if result != 0 {
        bail!("BPF_PROG_TEST_RUN: {}", std::io::Error::last_os_error());
    }
    out.truncate(attr.data_size_out as usize);
    Ok(RunResult { action: attr.retval, duration_ns: attr.duration, frame_out: out })
}
