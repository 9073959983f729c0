//! keepalived's pre-1.3.6 unicast VRRPv3 checksum (`old_unicast_checksum`): when an instance
//! accepts it and when it sends it. The form itself is [`ChecksumMode::Ipv4OldUnicast`].
//!
//! keepalived 2.2.7 (include/vrrp.h `chksum_compatibility_t`, vrrp_parser.c
//! vrrp_unicast_chksum_handler(), vrrp.c vrrp_in_chk() and vrrp_build_vrrp_v3()):
//! - no keyword (NONE): a unicast advert that fails the RFC checksum but passes with the group
//!   as pseudo-destination is accepted, and the instance sends the old form from then on (AUTO,
//!   "Setting unicast VRRPv3 checksum to old version");
//! - `old_unicast_checksum` (CONFIG): the old form from the start;
//! - `old_unicast_checksum never` (NEVER): the old form is a checksum error.
//!
//! It concerns unicast VRRPv3 over IPv4 only; elsewhere every mode is the RFC behaviour.

use std::net::Ipv4Addr;

use crate::packet::{ChecksumForm, ChecksumMode, ReceiveChecks};

/// What the configuration says (`old_unicast_checksum`, absent, or `never`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum OldChecksumPolicy {
    /// No keyword: switch to the old form on hearing it.
    #[default]
    Detect,
    /// `old_unicast_checksum`: send the old form from the start.
    Send,
    /// `old_unicast_checksum never`: the old form is a bad checksum.
    Never,
}

/// What an advert's checksum form means for the instance.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OldChecksumVerdict {
    /// Accept; nothing changes.
    Accept,
    /// Accept, and send the old form from now on (log it once, as keepalived does).
    AcceptAndSwitch,
    /// A bad checksum (counted under the checksum reason).
    BadChecksum,
}

/// One instance's state: its policy, the group the old form sums, whether it applies (unicast
/// VRRPv3 over IPv4), and whether it has switched.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct OldChecksum {
    policy: OldChecksumPolicy,
    /// keepalived uses the global `vrrp_mcast_group4` (vrrp.c vrrp_in_chk(), `ipv4_phdr.dst`).
    group: Ipv4Addr,
    applies: bool,
    switched: bool,
}

impl OldChecksum {
    /// `applies`: the instance is unicast VRRPv3 over IPv4. A reload builds a new one:
    /// keepalived builds a fresh `vrrp_t` (vrrp_data.c alloc_vrrp() sets NONE) and vrrp_exist()
    /// copies no checksum mode from the old one, so a learned switch is forgotten and relearned
    /// from the next old-form advert.
    pub fn new(policy: OldChecksumPolicy, group: Ipv4Addr, applies: bool) -> Self {
        Self { policy, group, applies, switched: false }
    }

    /// Whether the old form goes out.
    pub fn sends_old(&self) -> bool {
        self.applies && (self.policy == OldChecksumPolicy::Send || self.switched)
    }

    /// The checksum to send with, `rfc` being the instance's form otherwise.
    pub fn send_mode(&self, rfc: ChecksumMode) -> ChecksumMode {
        if self.sends_old() {
            ChecksumMode::Ipv4OldUnicast { group: self.group }
        } else {
            rfc
        }
    }

    /// The decoder's leave to recognise the old form: every policy but `never`.
    pub fn receive_checks(&self, checks: ReceiveChecks) -> ReceiveChecks {
        let allowed = self.applies && self.policy != OldChecksumPolicy::Never;
        ReceiveChecks { old_unicast_group: allowed.then_some(self.group), ..checks }
    }

    /// Judges an advert that arrived with `form`, switching the instance when it should.
    ///
    /// In old mode keepalived checks the old form only, so an RFC-form advert is a checksum
    /// error there (vrrp.c vrrp_in_chk(): `ipv4_phdr.dst` is the group once
    /// `unicast_chksum_compat` >= MIN_COMPAT). Here it stays accepted: a peer that restarts
    /// without the keyword sends the RFC form until it switches back itself, and rejecting it
    /// meanwhile would make two masters; accepting it keeps one (RFC 9568 §6.4's single master).
    pub fn judge(&mut self, form: ChecksumForm) -> OldChecksumVerdict {
        if form != ChecksumForm::V3Ipv4OldUnicast {
            return OldChecksumVerdict::Accept;
        }
        match self.policy {
            _ if !self.applies => OldChecksumVerdict::BadChecksum,
            OldChecksumPolicy::Never => OldChecksumVerdict::BadChecksum,
            OldChecksumPolicy::Send => OldChecksumVerdict::Accept,
            OldChecksumPolicy::Detect if self.switched => OldChecksumVerdict::Accept,
            OldChecksumPolicy::Detect => {
                self.switched = true;
                OldChecksumVerdict::AcceptAndSwitch
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GROUP: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 18);

    fn unicast(policy: OldChecksumPolicy) -> OldChecksum {
        OldChecksum::new(policy, GROUP, true)
    }

    #[test]
    fn detect_switches_once_on_the_old_form() {
        let mut state = unicast(OldChecksumPolicy::Detect);
        assert!(!state.sends_old());
        assert_eq!(state.judge(ChecksumForm::V3Ipv4PseudoHeader), OldChecksumVerdict::Accept);
        assert!(!state.sends_old());
        assert_eq!(
            state.judge(ChecksumForm::V3Ipv4OldUnicast),
            OldChecksumVerdict::AcceptAndSwitch
        );
        assert!(state.sends_old());
        assert_eq!(
            state.send_mode(ChecksumMode::Ipv4PseudoHeader),
            ChecksumMode::Ipv4OldUnicast { group: GROUP }
        );
        // Logged once: later old-form adverts are plain accepts.
        assert_eq!(state.judge(ChecksumForm::V3Ipv4OldUnicast), OldChecksumVerdict::Accept);
        // The RFC form stays accepted in old mode (one master with a peer that switches back).
        assert_eq!(state.judge(ChecksumForm::V3Ipv4PseudoHeader), OldChecksumVerdict::Accept);
        assert!(state.sends_old());
    }

    #[test]
    fn send_sends_old_from_the_start() {
        let mut state = unicast(OldChecksumPolicy::Send);
        assert!(state.sends_old());
        assert_eq!(state.judge(ChecksumForm::V3Ipv4OldUnicast), OldChecksumVerdict::Accept);
        assert_eq!(state.judge(ChecksumForm::V3Ipv4PseudoHeader), OldChecksumVerdict::Accept);
    }

    #[test]
    fn never_treats_the_old_form_as_a_bad_checksum() {
        let mut state = unicast(OldChecksumPolicy::Never);
        assert_eq!(state.receive_checks(ReceiveChecks::default()).old_unicast_group, None);
        assert_eq!(state.judge(ChecksumForm::V3Ipv4OldUnicast), OldChecksumVerdict::BadChecksum);
        assert!(!state.sends_old());
        assert_eq!(state.send_mode(ChecksumMode::Ipv4Plain), ChecksumMode::Ipv4Plain);
    }

    #[test]
    fn only_unicast_ipv4_v3_is_concerned() {
        for policy in [OldChecksumPolicy::Detect, OldChecksumPolicy::Send] {
            let mut state = OldChecksum::new(policy, GROUP, false);
            assert!(!state.sends_old());
            assert_eq!(state.receive_checks(ReceiveChecks::default()).old_unicast_group, None);
            assert_eq!(
                state.judge(ChecksumForm::V3Ipv4OldUnicast),
                OldChecksumVerdict::BadChecksum
            );
            assert!(!state.sends_old());
        }
        let allowed = unicast(OldChecksumPolicy::Detect).receive_checks(ReceiveChecks::default());
        assert_eq!(allowed.old_unicast_group, Some(GROUP));
    }

    #[test]
    fn reload_forgets_a_learned_switch() {
        let mut state = unicast(OldChecksumPolicy::Detect);
        state.judge(ChecksumForm::V3Ipv4OldUnicast);
        assert!(state.sends_old());
        // A reload builds the state anew from the configuration.
        assert!(!unicast(OldChecksumPolicy::Detect).sends_old());
        assert!(unicast(OldChecksumPolicy::Send).sends_old());
    }
}
