//! Per-reason counters: the reasons, their names, and the table the kernel fills.
//!
//! One list defines the `Counter` reasons and the fields of `CounterTable` (the value of the
//! per-CPU map `VRRP_COUNTERS`), so the two cannot drift, and `bpftool map dump` shows every
//! counter by its name.

macro_rules! counters {
    ($( $(#[$doc:meta])* $variant:ident => $field:ident, )*) => {
        /// Why a VRRP frame was accepted, passed or dropped. Every VRRP frame the program sees
        /// lands in exactly one verdict counter, and in notes beside it; other traffic is
        /// counted only when dropped for Accept_Mode (it is the fast path).
        #[repr(u32)]
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub enum Counter {
            $( $(#[$doc])* $variant, )*
        }

        /// The value of `VRRP_COUNTERS` (one slot, per CPU): one field per `Counter`, in order.
        #[repr(C)]
        #[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
        pub struct CounterTable {
            $( pub $field: u64, )*
        }

        impl Counter {
            pub const ALL: [Counter; Counter::COUNT as usize] = [$( Counter::$variant, )*];

            /// A stable snake_case name for logs, metrics and the CLI: the table's field name.
            pub const fn name(self) -> &'static str {
                match self {
                    $( Counter::$variant => stringify!($field), )*
                }
            }
        }
    };
}

counters! {
    /// Valid, accounted, no event needed.
    Absorbed => absorbed,
    /// Valid and raised an event.
    Reported => reported,
    /// Valid, but the ring buffer was full: the record is updated, the event is lost.
    EventLost => event_lost,
    Truncated => truncated,
    BadTtl => bad_ttl,
    BadVersion => bad_version,
    BadType => bad_type,
    BadLength => bad_length,
    BadAddrCount => bad_addr_count,
    BadChecksum => bad_checksum,
    ZeroInterval => zero_interval,
    /// Valid, but no instance of this VRID on this interface (and VLAN) and family: passed
    /// untouched, for another VRRP speaker on the host (keepalived for other VRIDs, FRR).
    UnknownVrid => unknown_vrid,
    VersionMismatch => version_mismatch,
    NotAPeer => not_a_peer,
    MacMismatch => mac_mismatch,
    Fragment => fragment,
    BadIhl => bad_ihl,
    /// VRRPv2 over IPv6, which RFC 3768 does not define.
    FamilyMismatch => family_mismatch,
    /// VRRPv2 authentication type or password other than the instance's (keepalived's
    /// `authentication`).
    AuthMismatch => auth_mismatch,
    /// A keepalived `auth_hmac` trailer after the message, which vrrpd cannot verify yet.
    AuthTrailer => auth_trailer,
    /// A note beside the verdict: VRRPv3 over IPv6 whose first address is not link-local
    /// (RFC 9568 §5.2.9 asks senders for one; FRR sends its global address alone). Accepted:
    /// dropping it makes two masters.
    NotLinkLocal => not_link_local,
    /// Not VRRP: IPv4 / IPv6 traffic addressed to a virtual address of a non-owner master
    /// without Accept_Mode (`no_accept`, RFC 9568 §6.4.3), dropped; ARP, and neighbour
    /// solicitations and advertisements for the address, pass.
    NotAccepted => not_accepted,
}

/// What happened to the frames a counter counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Valid for an instance: accounted, then passed or consumed as the instance says.
    Accepted,
    /// Valid, for no instance here: passed up untouched.
    Passed,
    Dropped,
    /// Not a verdict: a remark on a frame that is also counted under its verdict.
    Note,
    /// Not VRRP: traffic dropped because a master does not accept it (Accept_Mode).
    Refused,
}

impl Counter {
    pub const COUNT: u32 = Counter::NotAccepted as u32 + 1;

    pub const fn verdict(self) -> Verdict {
        match self {
            Counter::Absorbed | Counter::Reported | Counter::EventLost => Verdict::Accepted,
            Counter::UnknownVrid => Verdict::Passed,
            Counter::NotLinkLocal => Verdict::Note,
            Counter::NotAccepted => Verdict::Refused,
            _ => Verdict::Dropped,
        }
    }

    /// Whether VRRP frames counted here were dropped in the kernel, by a rule of VRRP's own
    /// (traffic `Refused` for Accept_Mode is not VRRP).
    pub const fn is_drop(self) -> bool {
        matches!(self.verdict(), Verdict::Dropped)
    }
}

// The table is `COUNT` u64 fields in `Counter` order: the kernel indexes it as an array.
const _: () = assert!(core::mem::size_of::<CounterTable>() == Counter::COUNT as usize * 8);

impl CounterTable {
    /// The counters in `Counter` order.
    pub fn as_array(&self) -> [u64; Counter::COUNT as usize] {
        // SAFETY: #[repr(C)] with COUNT u64 fields and nothing else (size checked above).
        unsafe { core::mem::transmute_copy(self) }
    }

    pub fn get(&self, counter: Counter) -> u64 {
        self.as_array()[counter as usize]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_counter_has_its_own_slot_and_name() {
        let table =
            CounterTable { absorbed: 1, not_a_peer: 14, not_link_local: 21, ..Default::default() };
        assert_eq!(table.get(Counter::Absorbed), 1);
        assert_eq!(table.get(Counter::NotAPeer), 14);
        assert_eq!(table.get(Counter::NotLinkLocal), 21);
        for (index, counter) in Counter::ALL.iter().enumerate() {
            assert_eq!(*counter as usize, index);
            for other in &Counter::ALL[index + 1..] {
                assert_ne!(counter.name(), other.name());
            }
        }
        assert_eq!(Counter::NotAPeer.name(), "not_a_peer");
    }
}
