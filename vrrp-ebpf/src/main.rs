//! `vrrp_xdp` and `vrrp_tc`: VRRP advertisements validated, filtered and summarised in the
//! kernel, at the XDP hook or at tc ingress (tcx). Both programs are thin adapters over one
//! set of rules (`rules`, `parse`) and share the maps; the daemon attaches one per interface.
//!
//! Every frame takes the fewest checks that prove it is not VRRP (EtherType, then IP protocol)
//! and leaves untouched (`XDP_PASS`, `TC_ACT_UNSPEC`), unless it is IP traffic to an address
//! the daemon listed as not accepted on its interface (`accept_mode`): one array read on an
//! interface that refuses nothing. A VRRP frame is validated in the order below, which is also
//! the order of `vrrp_proto`'s decoder so the two agree on the reason of a rejection:
//!
//! 1. IP layer: IPv4 header length, fragments, lengths against the frame (`truncated`);
//! 2. version, version against family, type (RFC 9568 §5.2.1, §5.2.2);
//! 3. address count, then message length against it (RFC 9568 §5.2.5, §7.1);
//! 4. checksum (RFC 9568 §5.2.8; both IPv4 forms accepted, the form is recorded); a VRRPv3
//!    IPv4 advertisement that fails both waits for its instance, which alone may allow
//!    keepalived's pre-1.3.6 unicast form: checked, with the zero interval after it, right after
//!    the instance is found, and a bad checksum (before everything else) for any other;
//! 5. zero interval (RFC 9568 §5.2.7; the reserved bits of §5.2.6 are ignored);
//! 6. configuration: VRID known on this interface, VLAN and family, for a multicast instance
//!    its group as destination (else passed, as an unknown VRID is), version; then for a
//!    multicast instance TTL / hop limit 255 (RFC 9568 §7.1), for a unicast one an allowed peer,
//!    its TTL limits if it has any, its pinned MAC; VRRPv2 authentication.
//!
//! A failure is dropped and counted under its own reason, except an unknown VRID: that frame is
//! counted and passed, for another VRRP speaker on the host. A valid advertisement updates the
//! instance's record and raises a ring-buffer event only when a router must react; for a backup
//! whose master the daemon asked it to watch, it also re-arms the instance's master-down timer
//! (`master_down`), whose expiry is such an event. An IPv6
//! advertisement whose first address is not link-local is accepted and noted.
#![no_std]
#![no_main]

mod accept_mode;
mod checksum;
mod clock;
mod maps;
mod master_down;
mod packet;
mod parse;
mod rules;

use aya_ebpf::{
    bindings::{
        xdp_action::{XDP_DROP, XDP_PASS},
        TC_ACT_SHOT, TC_ACT_UNSPEC,
    },
    macros::{classifier, xdp},
    programs::{TcContext, XdpContext},
};

use crate::{
    packet::{DeviceBoundXdp, Packet, SkbPacket},
    rules::Verdict,
};

/// The XDP hook: every frame, before the kernel builds an skb for it.
#[xdp]
pub fn vrrp_xdp(ctx: XdpContext) -> u32 {
    xdp_action(&ctx)
}

/// `vrrp_xdp` for a device whose driver reports stripped VLAN tags: loaded once per such device,
/// bound to it (`BPF_F_XDP_DEV_BOUND_ONLY`), so that a frame tagged for a VLAN is never credited
/// to the interface's untagged instance.
#[xdp]
pub fn vrrp_xdp_vlan(ctx: XdpContext) -> u32 {
    xdp_action(&DeviceBoundXdp(ctx))
}

#[inline(always)]
fn xdp_action(packet: &impl Packet) -> u32 {
    match rules::judge(packet) {
        Ok(Verdict::Pass) => XDP_PASS,
        Ok(Verdict::Consume) => XDP_DROP,
        Err(reason) => {
            maps::count(reason);
            XDP_DROP
        }
    }
}

/// The tc ingress hook (attached with tcx), for interfaces whose XDP hook another program
/// holds. A frame passed leaves with `TC_ACT_UNSPEC`: the next program in the chain, if any,
/// decides, as if vrrpd were not there.
#[classifier]
pub fn vrrp_tc(ctx: TcContext) -> i32 {
    match rules::judge(&SkbPacket::new(ctx)) {
        Ok(Verdict::Pass) => TC_ACT_UNSPEC,
        Ok(Verdict::Consume) => TC_ACT_SHOT as i32,
        Err(reason) => {
            maps::count(reason);
            TC_ACT_SHOT as i32
        }
    }
}

#[cfg(not(test))]
#[panic_handler]
fn panic(_info: &core::panic::PanicInfo) -> ! {
    loop {}
}

/// GPL-compatible so the kernel lets us call every helper we need.
#[unsafe(link_section = "license")]
#[unsafe(no_mangle)]
static LICENSE: [u8; 13] = *b"Dual MIT/GPL\0";
