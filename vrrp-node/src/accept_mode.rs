//! Accept_Mode (RFC 9568 §6.1): a master that is not the address owner accepts traffic
//! addressed to its virtual addresses only with Accept_Mode True (keepalived's `accept`; its
//! default without `vrrp_strict` / `strict_mode`). Otherwise the shell is told to refuse that
//! traffic while the addresses are held: refused before they are added, accepted again after
//! they are removed, so no moment holds them unguarded (keepalived vrrp.c
//! vrrp_handle_accept_mode(), called beside the address changes).

use std::net::IpAddr;

use crate::{InstanceId, Output};

/// What goes before adding `addresses` for an instance whose Accept_Mode is `accept`.
pub(crate) fn before_adding(id: InstanceId, accept: bool, addresses: &[IpAddr]) -> Option<Output> {
    (!accept && !addresses.is_empty())
        .then(|| Output::RefuseTraffic { id, addresses: addresses.to_vec() })
}

/// What goes after removing `addresses`.
pub(crate) fn after_removing(id: InstanceId, accept: bool, addresses: &[IpAddr]) -> Option<Output> {
    (!accept && !addresses.is_empty())
        .then(|| Output::AcceptTraffic { id, addresses: addresses.to_vec() })
}

/// A reload changed Accept_Mode from `before` to `after` while `held` stay installed
/// (keepalived vrrp.c vrrp_update_vrrp(): all refused, or all accepted again).
pub(crate) fn changed(
    id: InstanceId,
    before: bool,
    after: bool,
    held: &[IpAddr],
) -> Option<Output> {
    match (before, after) {
        (true, false) => before_adding(id, false, held),
        (false, true) => after_removing(id, false, held),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn only_an_instance_without_accept_mode_refuses() {
        let id = InstanceId(1);
        let held = [ip("192.0.2.1"), ip("2001:db8::1")];
        assert_eq!(before_adding(id, true, &held), None);
        assert_eq!(after_removing(id, true, &held), None);
        assert_eq!(
            before_adding(id, false, &held),
            Some(Output::RefuseTraffic { id, addresses: held.to_vec() })
        );
        assert_eq!(
            after_removing(id, false, &held),
            Some(Output::AcceptTraffic { id, addresses: held.to_vec() })
        );
        assert_eq!(before_adding(id, false, &[]), None);
    }

    #[test]
    fn a_reload_that_flips_accept_mode_flips_every_held_address() {
        let id = InstanceId(2);
        let held = [ip("192.0.2.1")];
        let refuse = Some(Output::RefuseTraffic { id, addresses: held.to_vec() });
        let accept = Some(Output::AcceptTraffic { id, addresses: held.to_vec() });
        assert_eq!(changed(id, true, false, &held), refuse);
        assert_eq!(changed(id, false, true, &held), accept);
        assert_eq!(changed(id, false, false, &held), None);
        assert_eq!(changed(id, true, true, &held), None);
    }
}
