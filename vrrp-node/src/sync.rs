//! keepalived's vrrp_sync_group: the members of a group change state together. One member
//! becoming MASTER takes the others to MASTER, one leaving MASTER for BACKUP takes the others
//! to BACKUP (keepalived vrrp_sync.c vrrp_sync_master(), vrrp_sync_backup()), and a member's
//! fault is the whole group's ([`crate::tracking::propagate_group_faults`], vrrp_sync_fault()).
//! A backup whose master-down timer expires becomes MASTER only when every other member wants
//! to as well (vrrp_sync_can_goto_master()): a router that lost only one side keeps following
//! its peer on the other until that side's master is gone too.

use vrrp_config::Notify;
use vrrp_proto::State;

use crate::output::InstanceId;

/// One sync group of the running configuration.
#[derive(Clone, Debug)]
pub(crate) struct Group {
    pub name: String,
    /// The running members, in configuration order.
    pub members: Vec<InstanceId>,
    /// keepalived's `sgroup->state`: where the group as a whole last went; `Initialize` until
    /// its members have started (and again once stopped).
    pub state: State,
    pub notify: Notify,
}

/// What a member that is not the one asking brings to the group's decision.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct MemberView {
    pub state: State,
    /// keepalived's `wantstate == MASTER`: its own master-down timer expired and the group
    /// held it, and no advertisement worth following arrived since.
    pub wants_master: bool,
}

/// keepalived vrrp_sync.c vrrp_sync_can_goto_master(): a group already MASTER takes any
/// member; otherwise every other member must want MASTER ("prefer backup state to avoid
/// thrashing").
pub(crate) fn may_become_master(
    group: State,
    others: impl IntoIterator<Item = MemberView>,
) -> bool {
    group == State::Master
        || others.into_iter().all(|other| other.state == State::Master || other.wants_master)
}

/// The state a group reaches from its members' states when no member's own transition moved
/// it: any member in FAULT makes it FAULT; once all have started, a group in `Initialize` or
/// FAULT becomes MASTER if all members are, else BACKUP (keepalived vrrp_sync.c
/// vrrp_sync_set_group(), vrrp_scheduler.c try_up_instance()). `None`: it stays.
pub(crate) fn settled_state(group: State, members: &[State]) -> Option<State> {
    if members.contains(&State::Fault) {
        return (group != State::Fault).then_some(State::Fault);
    }
    if members.is_empty() || members.contains(&State::Initialize) {
        return None;
    }
    if !matches!(group, State::Initialize | State::Fault) {
        return None;
    }
    let all_master = members.iter().all(|state| *state == State::Master);
    Some(if all_master { State::Master } else { State::Backup })
}

#[cfg(test)]
mod tests {
    use super::*;

    const BACKUP: MemberView = MemberView { state: State::Backup, wants_master: false };
    const WAITING: MemberView = MemberView { state: State::Backup, wants_master: true };
    const MASTER: MemberView = MemberView { state: State::Master, wants_master: false };

    #[test]
    fn a_member_goes_master_only_when_the_others_want_to() {
        assert!(!may_become_master(State::Backup, [BACKUP]));
        assert!(may_become_master(State::Backup, [WAITING]));
        assert!(may_become_master(State::Backup, [MASTER, WAITING]));
        assert!(!may_become_master(State::Backup, [WAITING, BACKUP]));
        assert!(may_become_master(State::Master, [BACKUP]), "the group is MASTER already");
        assert!(may_become_master(State::Backup, []), "alone in its group");
    }

    #[test]
    fn a_group_settles_from_its_members() {
        use State::*;
        assert_eq!(settled_state(Initialize, &[Backup, Initialize]), None, "still starting");
        assert_eq!(settled_state(Initialize, &[Backup, Backup]), Some(Backup));
        assert_eq!(settled_state(Initialize, &[Master, Master]), Some(Master));
        assert_eq!(settled_state(Initialize, &[Fault, Backup]), Some(Fault));
        assert_eq!(settled_state(Master, &[Fault, Fault]), Some(Fault));
        assert_eq!(settled_state(Fault, &[Fault, Fault]), None);
        assert_eq!(settled_state(Fault, &[Backup, Backup]), Some(Backup), "the fault cleared");
        assert_eq!(settled_state(Master, &[Master, Backup]), None, "members' moves decide");
    }
}
