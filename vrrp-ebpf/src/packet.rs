//! What the rules need of a frame, whichever hook it came from: its bytes, its length, the
//! interface it arrived on and a VLAN tag the kernel may have taken out of it.
//!
//! XDP sees the frame as the driver received it, in one piece. At tc the frame is an skb: the
//! kernel has already moved an outer VLAN tag into the skb's metadata, and the bytes past the
//! skb's linear part are not directly readable (see [`SkbPacket::new`]).

use aya_ebpf::{
    bindings::{__sk_buff, xdp_md},
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

unsafe extern "C" {
    /// Linux >= 6.8: the tag the driver took out of the frame, TCI in host order; `-ENODATA`
    /// without one, `-EOPNOTSUPP` where the driver cannot tell. A kernel function (kfunc) of
    /// device-bound XDP programs only: the build emits it as an undefined call, which the loader
    /// (vrrp-user's `device_bound`) turns into a kfunc call before the object is parsed.
    fn bpf_xdp_metadata_rx_vlan_tag(
        ctx: *const xdp_md,
        vlan_proto: *mut u16,
        vlan_tci: *mut u16,
    ) -> i32;
}

/// A frame at XDP on a device whose driver tells the program the tag it stripped (veth, mlx5,
/// ice and others): the program is loaded bound to that one device.
pub struct DeviceBoundXdp(pub XdpContext);

impl EbpfContext for DeviceBoundXdp {
    fn as_ptr(&self) -> *mut core::ffi::c_void {
        self.0.as_ptr()
    }
}

impl Packet for DeviceBoundXdp {
    #[inline(always)]
    fn data(&self) -> usize {
        XdpContext::data(&self.0)
    }

    #[inline(always)]
    fn data_end(&self) -> usize {
        XdpContext::data_end(&self.0)
    }

    #[inline(always)]
    fn len(&self) -> usize {
        Packet::len(&self.0)
    }

    #[inline(always)]
    fn load_bytes(&self, offset: u32, buf: &mut [u8]) -> bool {
        self.0.load_bytes(offset, buf)
    }

    #[inline(always)]
    fn ingress_ifindex(&self) -> u32 {
        Packet::ingress_ifindex(&self.0)
    }

    /// A NIC that strips tags (`rxvlan`), or a veth whose sender left the tag in the skb's
    /// metadata, hands XDP the frame without it: only the driver knows it.
    #[inline(always)]
    fn offloaded_vlan_tci(&self) -> Option<u16> {
        let (mut proto, mut tci) = (0u16, 0u16);
        // SAFETY: the kernel writes one u16 through each pointer, both on this stack frame.
        let result = unsafe { bpf_xdp_metadata_rx_vlan_tag(self.0.ctx, &mut proto, &mut tci) };
        (result == 0).then_some(tci)
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
