//! The kernel hooks the data path runs at, and which one an interface gets.

/// Where the kernel program runs on an interface.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Hook {
    /// `vrrp_xdp` on the interface's XDP hook, before the kernel builds an skb.
    Xdp,
    /// `vrrp_tc` at tc ingress through a tcx link (Linux >= 6.6), which many programs share.
    Tcx,
}

impl Hook {
    pub const ALL: [Hook; 2] = [Hook::Xdp, Hook::Tcx];

    pub fn name(self) -> &'static str {
        match self {
            Hook::Xdp => "xdp",
            Hook::Tcx => "tcx",
        }
    }
}
