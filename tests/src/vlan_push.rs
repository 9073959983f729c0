//! A sender's VLAN tag without VLAN devices (this kernel has no 802.1Q support): a tc egress
//! program, `bpf_skb_vlan_push`, puts the tag into the skb's metadata exactly as a VLAN device
//! would, and the veth carries it there across the pair unless the sender's `txvlan` is off.

use std::path::Path;

use anyhow::{Context, Result};
use vrrp_common::wire::ETH_P_8021Q;

use crate::netns::Lab;

/// tc egress, direct action: `bpf_skb_vlan_push(skb, htons(ETH_P_8021Q), vlan)`, then
/// TC_ACT_OK. Five instructions, loaded as they are.
fn program(vlan: u16) -> Vec<u64> {
    let insn = |code: u8, regs: u8, imm: i32| {
        u64::from(code) | u64::from(regs) << 8 | ((imm as u32 as u64) << 32)
    };
    const MOV64_IMM: u8 = 0xb7;
    const CALL: u8 = 0x85;
    const EXIT: u8 = 0x95;
    const BPF_FUNC_SKB_VLAN_PUSH: i32 = 18;
    vec![
        insn(MOV64_IMM, 2, i32::from(ETH_P_8021Q.to_be())),
        insn(MOV64_IMM, 3, i32::from(vlan)),
        insn(CALL, 0, BPF_FUNC_SKB_VLAN_PUSH),
        insn(MOV64_IMM, 0, 0),
        insn(EXIT, 0, 0),
    ]
}

fn bpf(command: i64, attr: &mut [u64; 16]) -> std::io::Result<i32> {
    // SAFETY: `attr` is a zeroed union bpf_attr prefix large enough for the commands used.
    let result = unsafe {
        libc::syscall(libc::SYS_bpf, command, attr.as_mut_ptr(), std::mem::size_of_val(attr))
    };
    if result < 0 {
        Err(std::io::Error::last_os_error())
    } else {
        Ok(result as i32)
    }
}

/// Loads the program tagging for `vlan` and pins it at `path` (on a bpffs), for
/// `tc ... object-pinned`.
pub fn pin(path: &Path, vlan: u16) -> Result<()> {
    const BPF_PROG_LOAD: i64 = 5;
    const BPF_OBJ_PIN: i64 = 6;
    const BPF_PROG_TYPE_SCHED_CLS: u64 = 3;
    let program = program(vlan);
    let license = c"GPL";
    let mut attr = [0u64; 16];
    attr[0] = BPF_PROG_TYPE_SCHED_CLS | (program.len() as u64) << 32;
    attr[1] = program.as_ptr() as u64;
    attr[2] = license.as_ptr() as u64;
    let fd = bpf(BPF_PROG_LOAD, &mut attr).context("loading the tc vlan-push program")?;
    let path = std::ffi::CString::new(path.to_string_lossy().as_bytes())?;
    let mut attr = [0u64; 16];
    attr[0] = path.as_ptr() as u64;
    attr[1] = fd as u64;
    let pinned = bpf(BPF_OBJ_PIN, &mut attr).context("pinning the tc vlan-push program");
    // SAFETY: our own descriptor; the pin keeps the program alive.
    unsafe { libc::close(fd) };
    pinned.map(drop)
}

/// Every frame `ifname` in `namespace` sends from now on leaves tagged by the program pinned at
/// `pinned` (see [`pin`]), until [`untag`].
pub fn tag(lab: &Lab, namespace: &str, ifname: &str, pinned: &Path) -> Result<()> {
    lab.exec(namespace, "tc", &["qdisc", "replace", "dev", ifname, "clsact"])?;
    let pinned = pinned.to_string_lossy();
    let filter = ["filter", "add", "dev", ifname, "egress", "bpf", "da", "object-pinned", &pinned];
    lab.exec(namespace, "tc", &filter)?;
    Ok(())
}

/// Undoes [`tag`].
pub fn untag(lab: &Lab, namespace: &str, ifname: &str) -> Result<()> {
    lab.exec(namespace, "tc", &["filter", "del", "dev", ifname, "egress"])?;
    Ok(())
}
