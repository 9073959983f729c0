//! What the rules need of a frame, whichever hook it came from: its bytes, its length, the
//! interface it arrived on and a VLAN tag the kernel may have taken out of it.
//!
//! XDP sees the frame as the driver received it, in one piece. At tc the frame is an skb: the
//! kernel has already moved an outer VLAN tag into the skb's metadata, and the bytes past the
//! skb's linear part are not directly readable (see [`SkbPacket::new`]).

use aya_ebpf::{
    bindings::__sk_buff,
    helpers::generated::{bpf_skb_load_bytes, bpf_xdp_load_bytes},
    programs::{TcContext, XdpContext},
    EbpfContext,
};

/// The frame under judgement. `data()..data_end()` is the part readable in place, which the
/// verifier bounds-checks; `len()` the whole frame.
pub trait Packet: EbpfContext {
    fn data(&self) -> usize;
    fn data_end(&self) -> usize;
    /// The frame's length, which an skb's linear part may fall short of.
    fn len(&self) -> usize;
    /// Copies `buf.len()` bytes at `offset` through the kernel's helper; `false` past the end.
    fn load_bytes(&self, offset: u32, buf: &mut [u8]) -> bool;
    /// The interface the frame arrived on.
    fn ingress_ifindex(&self) -> u32;
    /// The TCI of a VLAN tag the kernel removed from the frame before the program ran.
    fn offloaded_vlan_tci(&self) -> Option<u16>;
}

impl Packet for XdpContext {
    #[inline(always)]
    fn data(&self) -> usize {
        XdpContext::data(self)
    }

    #[inline(always)]
    fn data_end(&self) -> usize {
        XdpContext::data_end(self)
    }

    #[inline(always)]
    fn len(&self) -> usize {
        XdpContext::data_end(self) - XdpContext::data(self)
    }

    #[inline(always)]
    fn load_bytes(&self, offset: u32, buf: &mut [u8]) -> bool {
        // SAFETY: the helper writes at most `buf.len()` bytes into `buf` and checks the offset
        // against the frame.
        let result = unsafe {
            bpf_xdp_load_bytes(self.ctx, offset, buf.as_mut_ptr().cast(), buf.len() as u32)
        };
        result == 0
    }

    #[inline(always)]
    fn ingress_ifindex(&self) -> u32 {
        XdpContext::ingress_ifindex(self) as u32
    }

    /// XDP runs before the kernel looks at tags: they are all in the frame.
    #[inline(always)]
    fn offloaded_vlan_tci(&self) -> Option<u16> {
        None
    }
}

/// The longest frame that can carry a VRRP message the rules accept: two VLAN tags, an IPv6
/// header and VRRPv3 with 255 IPv6 addresses. Longer frames are never VRRP advertisements.
const MAX_VRRP_FRAME: u32 = 14 + 2 * 4 + 40 + 8 + 255 * 16;
/// Ethernet, two VLAN tags and an IPv6 header: what classification reads.
const HEADERS: u32 = 14 + 2 * 4 + 40;

/// A frame at tc: an skb, made readable in place far enough for the rules.
pub struct SkbPacket {
    ctx: TcContext,
}

impl SkbPacket {
    /// An skb's data may continue past its linear part (page fragments). A frame short enough
    /// to be VRRP is pulled whole into the linear part, and a longer one as far as its headers,
    /// so the rules read it in place as they do at XDP. Only such split skbs pay for the copy;
    /// a failed pull leaves the frame as it was, which the rules then see as short.
    #[inline(always)]
    pub fn new(ctx: TcContext) -> Self {
        let len = ctx.len();
        let linear = (ctx.data_end() - ctx.data()) as u32;
        if linear < len {
            let wanted = if len <= MAX_VRRP_FRAME { len } else { HEADERS };
            if linear < wanted {
                let _ = ctx.pull_data(wanted);
            }
        }
        Self { ctx }
    }

    #[inline(always)]
    fn skb(&self) -> *mut __sk_buff {
        self.ctx.skb.skb
    }
}

impl EbpfContext for SkbPacket {
    fn as_ptr(&self) -> *mut core::ffi::c_void {
        self.ctx.as_ptr()
    }
}

impl Packet for SkbPacket {
    #[inline(always)]
    fn data(&self) -> usize {
        self.ctx.data()
    }

    #[inline(always)]
    fn data_end(&self) -> usize {
        self.ctx.data_end()
    }

    #[inline(always)]
    fn len(&self) -> usize {
        self.ctx.len() as usize
    }

    #[inline(always)]
    fn load_bytes(&self, offset: u32, buf: &mut [u8]) -> bool {
        // SAFETY: as for XDP: the helper bounds both the frame and `buf`.
        let result = unsafe {
            bpf_skb_load_bytes(self.as_ptr(), offset, buf.as_mut_ptr().cast(), buf.len() as u32)
        };
        result == 0
    }

    #[inline(always)]
    fn ingress_ifindex(&self) -> u32 {
        // SAFETY: the context the kernel handed the program, read through its own fields.
        unsafe { (*self.skb()).ingress_ifindex }
    }

    /// On receive the kernel takes the outer tag out of the frame (`skb_vlan_untag()`) before
    /// tc runs; a second, inner tag stays in the frame.
    #[inline(always)]
    fn offloaded_vlan_tci(&self) -> Option<u16> {
        // SAFETY: as above.
        let skb = unsafe { &*self.skb() };
        (skb.vlan_present != 0).then_some(skb.vlan_tci as u16)
    }
}
