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
    pub fn name(self) -> &'static str {
        match self {
            Hook::Xdp => "xdp",
            Hook::Tcx => "tcx",
        }
    }
}

/// Which hook the operator asked for (`--hook`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum HookChoice {
    /// XDP where it attaches; tcx where it does not (another program holds the interface's
    /// XDP hook, or the driver refuses the mode asked for).
    Auto,
    Xdp,
    Tcx,
}

impl HookChoice {
    /// The hooks to try on an interface, in order: the first that attaches is used.
    pub fn order(self) -> &'static [Hook] {
        match self {
            HookChoice::Auto => &[Hook::Xdp, Hook::Tcx],
            HookChoice::Xdp => &[Hook::Xdp],
            HookChoice::Tcx => &[Hook::Tcx],
        }
    }
}

/// The start-up log's line for the hooks in use: "XDP" where every interface has it (the line
/// operators and tests know), else each interface with its hook.
pub fn describe(hooks: &[(String, Hook)]) -> String {
    if !hooks.is_empty() && hooks.iter().all(|(_, hook)| *hook == Hook::Xdp) {
        return "XDP".to_owned();
    }
    if !hooks.is_empty() && hooks.iter().all(|(_, hook)| *hook == Hook::Tcx) {
        return "tcx".to_owned();
    }
    let each: Vec<String> =
        hooks.iter().map(|(interface, hook)| format!("{} on {interface}", hook.name())).collect();
    format!("kernel ({})", each.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auto_tries_xdp_first_then_tcx_and_a_named_hook_alone() {
        assert_eq!(HookChoice::Auto.order(), &[Hook::Xdp, Hook::Tcx]);
        assert_eq!(HookChoice::Xdp.order(), &[Hook::Xdp]);
        assert_eq!(HookChoice::Tcx.order(), &[Hook::Tcx]);
    }

    #[test]
    fn the_log_names_one_hook_when_all_interfaces_share_it() {
        let hooks = |list: &[(&str, Hook)]| -> Vec<(String, Hook)> {
            list.iter().map(|(name, hook)| (name.to_string(), *hook)).collect()
        };
        assert_eq!(describe(&hooks(&[("a", Hook::Xdp), ("b", Hook::Xdp)])), "XDP");
        assert_eq!(describe(&hooks(&[("a", Hook::Tcx)])), "tcx");
        assert_eq!(
            describe(&hooks(&[("a", Hook::Xdp), ("b", Hook::Tcx)])),
            "kernel (xdp on a, tcx on b)"
        );
    }
}
