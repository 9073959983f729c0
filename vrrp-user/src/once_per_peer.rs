//! Warnings a remote sender can cause, logged once per sender with a bound on the senders
//! remembered, so a flood of forged sources cannot grow memory or the log.

use std::{collections::HashSet, net::IpAddr};

/// Senders remembered; past this, new senders are not warned about.
pub const MAX_SENDERS: usize = 256;

#[derive(Debug, Default)]
pub struct OncePerPeer {
    warned: HashSet<IpAddr>,
}

impl OncePerPeer {
    /// Whether `sender` is new and there is room to remember it: then the caller warns.
    pub fn first_time(&mut self, sender: IpAddr) -> bool {
        self.warned.len() < MAX_SENDERS && self.warned.insert(sender)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn once_per_sender_and_bounded() {
        let mut once = OncePerPeer::default();
        let peer: IpAddr = "2001:db8::1".parse().unwrap();
        assert!(once.first_time(peer));
        assert!(!once.first_time(peer), "the same sender again");
        for n in 1..MAX_SENDERS as u16 {
            assert!(once.first_time(IpAddr::from([0x2001, 0xdb8, 1, 0, 0, 0, 0, n])));
        }
        let one_more = IpAddr::from([0x2001, 0xdb8, 2, 0, 0, 0, 0, 1]);
        assert!(!once.first_time(one_more), "past the bound");
        assert_eq!(once.warned.len(), MAX_SENDERS);
    }
}
