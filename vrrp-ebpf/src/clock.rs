//! `vrrp_clock`: the kernel's tick count (jiffies) for the daemon, which has no other way to
//! read it. The advertisement path stamps records and events with `bpf_jiffies64`; the daemon
//! runs this program with BPF_PROG_TEST_RUN to learn the current tick, and so how long ago a
//! record was stamped. It is never attached to an interface.

use aya_ebpf::{
    bindings::xdp_action::XDP_PASS, helpers::bpf_jiffies64, macros::xdp, programs::XdpContext,
};

/// Writes the current jiffies into the first eight bytes of the frame it runs on (native byte
/// order), which the test run hands back.
#[xdp]
pub fn vrrp_clock(ctx: XdpContext) -> u32 {
    let start = ctx.data();
    if start + 8 <= ctx.data_end() {
        // SAFETY: the eight bytes lie inside the frame (checked just above); bpf_jiffies64
        // takes no arguments and reads no memory of ours.
        unsafe { core::ptr::write_unaligned(start as *mut u64, bpf_jiffies64()) };
    }
    XDP_PASS
}
