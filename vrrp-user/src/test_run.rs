//! BPF_PROG_TEST_RUN: runs a loaded XDP or tc program on a crafted frame, without any
//! interface. The daemon uses it to read the kernel's clock (`vrrp_clock`); the tests, to run
//! the data path on crafted frames at either hook.

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

/// The head of `struct __sk_buff` up to `ingress_ifindex`, the only field set here: a test run
/// of a tc program takes a context shorter than the whole structure, the rest zero.
#[repr(C)]
#[derive(Default)]
struct SkBuffHead {
    len: u32,
    pkt_type: u32,
    mark: u32,
    queue_mapping: u32,
    protocol: u32,
    vlan_present: u32,
    vlan_tci: u32,
    vlan_proto: u32,
    priority: u32,
    ingress_ifindex: u32,
}

const BPF_PROG_TEST_RUN: libc::c_long = 10;

/// What one test run reported.
#[derive(Debug, Clone)]
pub struct RunResult {
    /// The program's return value: an XDP action (`XDP_PASS` = 2, `XDP_DROP` = 1, ...) or a tc
    /// verdict (`TC_ACT_UNSPEC`, `TC_ACT_SHOT`).
    pub action: u32,
    /// Average nanoseconds per run, as the kernel measured over `repeat` runs.
    pub duration_ns: u32,
    /// The frame as the program left it.
    pub frame_out: Vec<u8>,
}

pub const XDP_ABORTED: u32 = 0;
pub const XDP_DROP: u32 = 1;
pub const XDP_PASS: u32 = 2;

/// tc verdicts as the run reports them (`retval` is unsigned: `TC_ACT_UNSPEC` is -1).
pub const TC_ACT_UNSPEC: u32 = u32::MAX;
pub const TC_ACT_SHOT: u32 = 2;

/// Runs the XDP `program` on `frame` `repeat` times as if received on `ifindex` (loopback is
/// 1). With `ifindex` 0 no context is passed in, which kernels before 5.15 require.
pub fn run(program: impl AsFd, frame: &[u8], ifindex: u32, repeat: u32) -> Result<RunResult> {
    let context =
        XdpMd { data_end: frame.len() as u32, ingress_ifindex: ifindex, ..XdpMd::default() };
    let context = (ifindex != 0).then_some(as_bytes(&context));
    run_with(program.as_fd(), frame, context, repeat)
}

/// Runs the tc (`sched_cls`) `program` on `frame` `repeat` times as if received on
/// `ingress_ifindex`. The kernel builds an skb on loopback around the frame, Ethernet header
/// included, as tc ingress sees it; any VLAN tags stay in the frame.
pub fn run_skb(
    program: impl AsFd,
    frame: &[u8],
    ingress_ifindex: u32,
    repeat: u32,
) -> Result<RunResult> {
    let context = SkBuffHead { ingress_ifindex, ..SkBuffHead::default() };
    run_with(program.as_fd(), frame, Some(as_bytes(&context)), repeat)
}

/// The bytes of a plain `#[repr(C)]` structure without padding.
fn as_bytes<T>(value: &T) -> &[u8] {
    // SAFETY: `T` is one of the structures above: u32 fields only, so no padding bytes.
    unsafe { std::slice::from_raw_parts((value as *const T).cast(), std::mem::size_of::<T>()) }
}

fn run_with(
    program: std::os::fd::BorrowedFd<'_>,
    frame: &[u8],
    context: Option<&[u8]>,
    repeat: u32,
) -> Result<RunResult> {
    let fd = program.as_raw_fd();
    let mut out = vec![0u8; frame.len() + 256];
    let mut attr = TestRunAttr {
        prog_fd: fd as u32,
        data_size_in: frame.len() as u32,
        data_size_out: out.len() as u32,
        data_in: frame.as_ptr() as u64,
        data_out: out.as_mut_ptr() as u64,
        repeat,
        ..TestRunAttr::default()
    };
    if let Some(context) = context {
        attr.ctx_size_in = context.len() as u32;
        attr.ctx_in = context.as_ptr() as u64;
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
