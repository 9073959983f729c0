//! `vrrp_track_process`: which running processes each tracker counts, and when its quorum is
//! gained or lost (keepalived core/track_process.c). Pure: the shell reads `/proc` and the
//! kernel's process events and hands over what it read; the table answers with the trackers
//! whose quorum changed, and with the deadline of its delays ([`ProcessTable::poll_timeout`]).

use std::collections::{HashMap, HashSet};
use std::time::Instant;

use vrrp_config::{ParamMatch, TrackProcess};

/// A process as the shell read it: its name (`comm`, without the newline) and, when some
/// tracker compares command lines, the start of `/proc/PID/cmdline` (at most
/// [`ProcessTable::cmdline_limit`] bytes).
#[derive(Clone, Copy, Debug, Default)]
pub struct Seen<'a> {
    pub comm: Option<&'a [u8]>,
    pub cmdline: Option<&'a [u8]>,
}

/// A tracker's quorum changed: `(vrrp_track_process name, has quorum now)`.
pub type QuorumChange = (String, bool);

#[derive(Debug)]
struct Tracker {
    spec: TrackProcess,
    count: u32,
    have_quorum: bool,
    /// keepalived's fork_timer_thread: quorum reached by a fork, counted at this time.
    fork_due: Option<Instant>,
    /// keepalived's terminate_timer_thread: quorum left by an exit, counted at this time.
    terminate_due: Option<Instant>,
}

impl Tracker {
    fn in_range(&self) -> bool {
        (self.spec.quorum..=self.spec.quorum_max).contains(&self.count)
    }

    /// keepalived update_process_status(): news only when the quorum flips.
    fn update(&mut self, now_up: bool, changes: &mut Vec<QuorumChange>) {
        if now_up != self.have_quorum {
            self.have_quorum = now_up;
            changes.push((self.spec.name.clone(), now_up));
        }
    }

    /// One more process counted (keepalived check_process(), check_process_fork()): the
    /// count reaching the quorum gains it, one above quorum_max loses it. A fork's gain waits
    /// `fork_delay`, unless a loss was pending, which is then called off.
    fn added(&mut self, now: Instant, by_fork: bool, changes: &mut Vec<QuorumChange>) {
        self.count += 1;
        if self.count != self.spec.quorum && self.count != self.spec.quorum_max.saturating_add(1) {
            return;
        }
        if self.terminate_due.take().is_none() && by_fork {
            if let Some(delay) = self.spec.fork_delay {
                self.fork_due = Some(now + delay);
                return;
            }
        }
        self.update(self.count == self.spec.quorum, changes);
    }

    /// One process fewer (keepalived check_process_termination(), remove_process_from_track(),
    /// check_process_comm_change()): dropping below the quorum loses it, coming down to
    /// quorum_max gains it. An exit's change waits `terminate_delay`, unless a fork's gain was
    /// pending, which is then called off.
    fn removed(&mut self, now: Instant, by_exit: bool, changes: &mut Vec<QuorumChange>) {
        let before = self.count;
        self.count = self.count.saturating_sub(1);
        if before != self.spec.quorum && self.count != self.spec.quorum_max {
            return;
        }
        if self.fork_due.take().is_none() && by_exit {
            if let Some(delay) = self.spec.terminate_delay {
                self.terminate_due = Some(now + delay);
                return;
            }
        }
        self.update(self.count == self.spec.quorum_max, changes);
    }
}

/// The trackers of one configuration and the processes each counts.
#[derive(Debug, Default)]
pub struct ProcessTable {
    trackers: Vec<Tracker>,
    /// Each counted process (by PID) and the trackers counting it.
    pids: HashMap<u32, HashSet<usize>>,
}

impl ProcessTable {
    /// The trackers, none counting anything yet: each starts without quorum unless its
    /// quorum is 0. A [`scan`](Self::begin_scan) follows.
    pub fn new(specs: &[&TrackProcess]) -> Self {
        let trackers = specs
            .iter()
            .map(|spec| Tracker {
                spec: (*spec).clone(),
                count: 0,
                have_quorum: spec.quorum == 0,
                fork_due: None,
                terminate_due: None,
            })
            .collect();
        ProcessTable { trackers, pids: HashMap::new() }
    }

    pub fn is_empty(&self) -> bool {
        self.trackers.is_empty()
    }

    /// Whether some tracker compares command lines (keepalived vrrp_use_process_cmdline).
    pub fn needs_cmdline(&self) -> bool {
        self.trackers.iter().any(|t| t.spec.full_command)
    }

    /// Whether some tracker compares process names (keepalived vrrp_use_process_comm).
    pub fn needs_comm(&self) -> bool {
        self.trackers.iter().any(|t| !t.spec.full_command)
    }

    /// How much of a command line is worth reading: the longest configured one and two bytes
    /// more, enough to tell a longer one apart (keepalived vrrp_max_process_name_len,
    /// check_process()).
    pub fn cmdline_limit(&self) -> usize {
        let longest = self
            .trackers
            .iter()
            .filter(|t| t.spec.full_command)
            .map(|t| t.spec.process.len() + 1 + t.spec.params.len())
            .max()
            .unwrap_or(0);
        longest + 2
    }

    /// Every tracker's quorum, in configuration order.
    pub fn quorums(&self) -> Vec<QuorumChange> {
        self.trackers.iter().map(|t| (t.spec.name.clone(), t.have_quorum)).collect()
    }

    /// A scan of `/proc` starts: nothing is counted, no delay is pending (keepalived
    /// reinitialise_track_processes()). Returns the counts before, for [`end_scan`].
    ///
    /// [`end_scan`]: Self::end_scan
    pub fn begin_scan(&mut self) -> Vec<u32> {
        self.pids.clear();
        self.trackers
            .iter_mut()
            .map(|tracker| {
                tracker.fork_due = None;
                tracker.terminate_due = None;
                std::mem::take(&mut tracker.count)
            })
            .collect()
    }

    /// One process found by the scan (keepalived read_procs()); the shell leaves zombies out.
    pub fn scanned(&mut self, pid: u32, seen: Seen<'_>) {
        for index in 0..self.trackers.len() {
            if matches(&self.trackers[index].spec, seen)
                && self.pids.entry(pid).or_default().insert(index)
            {
                self.trackers[index].count += 1;
            }
        }
    }

    /// The scan is over. At start (`first`) each quorum is what the count says (keepalived
    /// initialise_process_tracking_priorities()). After lost events, a tracker whose count
    /// crossed a bound gains quorum at once and loses it after `terminate_delay`
    /// (reinitialise_track_processes()).
    pub fn end_scan(&mut self, now: Instant, before: &[u32], first: bool) -> Vec<QuorumChange> {
        let mut changes = Vec::new();
        for (index, tracker) in self.trackers.iter_mut().enumerate() {
            let up = tracker.in_range();
            if first || up {
                tracker.update(up, &mut changes);
                continue;
            }
            let was = before.get(index).copied().unwrap_or(0);
            let was_up = (tracker.spec.quorum..=tracker.spec.quorum_max).contains(&was);
            match tracker.spec.terminate_delay {
                Some(delay) if was_up => tracker.terminate_due = Some(now + delay),
                _ => tracker.update(false, &mut changes),
            }
        }
        changes
    }

    /// Process `pid` ran a new program (keepalived check_process() for PROC_EVENT_EXEC): it
    /// counts for the trackers it matches now, and no longer for those it matched before.
    pub fn handle_exec(&mut self, now: Instant, pid: u32, seen: Seen<'_>) -> Vec<QuorumChange> {
        self.check(now, pid, seen, false)
    }

    /// Process `pid` renamed itself (keepalived check_process_comm_change()): the name
    /// trackers it no longer matches drop it, and those it matches now count it. A command
    /// line does not change with the name.
    pub fn handle_comm(&mut self, now: Instant, pid: u32, comm: &[u8]) -> Vec<QuorumChange> {
        let mut changes = Vec::new();
        if let Some(counting) = self.pids.get(&pid) {
            let by_name: Vec<usize> =
                counting.iter().copied().filter(|&i| !self.trackers[i].spec.full_command).collect();
            // keepalived returns when the name is the one tracked already.
            if by_name.iter().any(|&i| self.trackers[i].spec.process.as_bytes() == comm) {
                return changes;
            }
            for index in by_name {
                self.forget(pid, index);
                self.trackers[index].removed(now, false, &mut changes);
            }
        }
        changes.extend(self.check(now, pid, Seen { comm: Some(comm), cmdline: None }, true));
        changes
    }

    /// Process `parent` forked `child` (keepalived check_process_fork()): the child counts
    /// wherever the parent does.
    pub fn handle_fork(&mut self, now: Instant, parent: u32, child: u32) -> Vec<QuorumChange> {
        let mut changes = Vec::new();
        let Some(counting) = self.pids.get(&parent).cloned() else { return changes };
        let mut indexes: Vec<usize> = counting.into_iter().collect();
        indexes.sort_unstable();
        for index in indexes {
            if self.pids.entry(child).or_default().insert(index) {
                self.trackers[index].added(now, true, &mut changes);
            }
        }
        changes
    }

    /// Process `pid` ended (keepalived check_process_termination()).
    pub fn handle_exit(&mut self, now: Instant, pid: u32) -> Vec<QuorumChange> {
        let mut changes = Vec::new();
        let Some(counting) = self.pids.remove(&pid) else { return changes };
        let mut indexes: Vec<usize> = counting.into_iter().collect();
        indexes.sort_unstable();
        for index in indexes {
            self.trackers[index].removed(now, true, &mut changes);
        }
        changes
    }

    /// The earliest pending delay.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.trackers.iter().flat_map(|t| [t.fork_due, t.terminate_due]).flatten().min()
    }

    /// Delays that are over count the quorum as it is then (keepalived
    /// process_gained_quorum_timer_thread(), process_lost_quorum_timer_thread()).
    pub fn handle_timeout(&mut self, now: Instant) -> Vec<QuorumChange> {
        let mut changes = Vec::new();
        for tracker in &mut self.trackers {
            let due = |at: Option<Instant>| at.is_some_and(|at| at <= now);
            if due(tracker.fork_due) || due(tracker.terminate_due) {
                tracker.fork_due = tracker.fork_due.filter(|at| *at > now);
                tracker.terminate_due = tracker.terminate_due.filter(|at| *at > now);
                let up = tracker.in_range();
                tracker.update(up, &mut changes);
            }
        }
        changes
    }

    /// keepalived check_process(): `have_comm` for a rename, where command-line trackers
    /// are left as they are.
    fn check(
        &mut self,
        now: Instant,
        pid: u32,
        seen: Seen<'_>,
        renamed: bool,
    ) -> Vec<QuorumChange> {
        let mut changes = Vec::new();
        for index in 0..self.trackers.len() {
            if renamed && self.trackers[index].spec.full_command {
                continue;
            }
            let counted = self.pids.get(&pid).is_some_and(|set| set.contains(&index));
            if matches(&self.trackers[index].spec, seen) {
                if !counted {
                    self.pids.entry(pid).or_default().insert(index);
                    self.trackers[index].added(now, false, &mut changes);
                }
            } else if counted && !renamed {
                self.forget(pid, index);
                self.trackers[index].removed(now, false, &mut changes);
            }
        }
        changes
    }

    fn forget(&mut self, pid: u32, index: usize) {
        if let Some(set) = self.pids.get_mut(&pid) {
            set.remove(&index);
            if set.is_empty() {
                self.pids.remove(&pid);
            }
        }
    }
}

/// Whether a process is one `spec` counts (keepalived check_process(), read_procs()): its
/// name is compared with the process name, or with `full_command` the first word of its
/// command line, and then its arguments as `param_match` says.
pub fn matches(spec: &TrackProcess, seen: Seen<'_>) -> bool {
    if !spec.full_command {
        return seen.comm.is_some_and(|comm| comm == spec.process.as_bytes());
    }
    let Some(cmdline) = seen.cmdline else { return false };
    let (name, params) = match cmdline.iter().position(|&b| b == 0) {
        Some(end) => (&cmdline[..end], &cmdline[end + 1..]),
        None => (cmdline, &[][..]),
    };
    name == spec.process.as_bytes()
        && (spec.param_match == ParamMatch::None || params_match(spec, params))
}

/// keepalived track_process.c check_params(): `params` and the configured arguments are each
/// a run of NUL-terminated words.
fn params_match(spec: &TrackProcess, params: &[u8]) -> bool {
    let wanted = spec.params.as_slice();
    if params.len() < wanted.len() {
        return false;
    }
    match spec.param_match {
        ParamMatch::None => true,
        ParamMatch::Exact => params == wanted,
        ParamMatch::Partial => params.starts_with(wanted),
        // The last configured word may be the start of the process's.
        ParamMatch::Initial => wanted.len() <= 1 || params.starts_with(&wanted[..wanted.len() - 1]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn spec(process: &str, params: &[&str], param_match: ParamMatch) -> TrackProcess {
        let mut packed = Vec::new();
        for param in params {
            packed.extend_from_slice(param.as_bytes());
            packed.push(0);
        }
        TrackProcess {
            name: format!("t_{process}"),
            process: process.into(),
            params: packed,
            full_command: param_match != ParamMatch::None || !params.is_empty(),
            param_match,
            quorum: 1,
            quorum_max: u32::MAX,
            terminate_delay: None,
            fork_delay: None,
            weight: 0,
            reverse: false,
        }
    }

    fn cmdline(words: &[&str]) -> Vec<u8> {
        words.iter().flat_map(|w| w.bytes().chain([0])).collect()
    }

    fn by_cmdline(line: &[u8]) -> Seen<'_> {
        Seen { comm: None, cmdline: Some(line) }
    }

    #[test]
    fn parameters_match_as_keepalived_compares_them() {
        let exact = spec("/usr/sbin/nginx", &["-c", "/etc/nginx.conf"], ParamMatch::Exact);
        let partial = spec("/usr/sbin/nginx", &["-c"], ParamMatch::Partial);
        let initial = spec("/usr/sbin/nginx", &["-c", "/etc/ng"], ParamMatch::Initial);
        let same = cmdline(&["/usr/sbin/nginx", "-c", "/etc/nginx.conf"]);
        let more = cmdline(&["/usr/sbin/nginx", "-c", "/etc/nginx.conf", "-g"]);
        let other = cmdline(&["/usr/sbin/nginx", "-t"]);
        assert!(matches(&exact, by_cmdline(&same)));
        assert!(!matches(&exact, by_cmdline(&more)), "exact: no more arguments");
        assert!(matches(&partial, by_cmdline(&more)), "partial: the first words");
        assert!(!matches(&partial, by_cmdline(&other)));
        assert!(!matches(&partial, by_cmdline(&cmdline(&["/usr/sbin/nginx", "-cx"]))));
        assert!(matches(&initial, by_cmdline(&same)), "initial: the last word a prefix");
        assert!(!matches(&initial, by_cmdline(&other)));
        let bare = spec("/usr/sbin/nginx", &[], ParamMatch::Exact);
        assert!(matches(&bare, by_cmdline(&cmdline(&["/usr/sbin/nginx"]))));
        assert!(!matches(&bare, by_cmdline(&same)), "exact without arguments wants none");
        let any = TrackProcess { full_command: true, ..spec("/bin/sleep", &[], ParamMatch::None) };
        assert!(matches(&any, by_cmdline(&cmdline(&["/bin/sleep", "1000"]))));
        assert!(!matches(&any, by_cmdline(&cmdline(&["/bin/sleeper"]))));
        let named = spec("sleep", &[], ParamMatch::None);
        assert!(matches(&named, Seen { comm: Some(b"sleep"), cmdline: None }));
        assert!(!matches(&named, Seen { comm: Some(b"sleepy"), cmdline: None }));
        assert!(!matches(&named, by_cmdline(&cmdline(&["sleep"]))), "the name, not the line");
    }

    fn table(quorum: u32, quorum_max: u32) -> ProcessTable {
        let spec = TrackProcess { quorum, quorum_max, ..spec("worker", &[], ParamMatch::None) };
        let mut table = ProcessTable::new(&[&spec]);
        let before = table.begin_scan();
        assert!(table.end_scan(Instant::now(), &before, true).is_empty() || quorum == 0);
        table
    }

    const WORKER: Seen<'static> = Seen { comm: Some(b"worker"), cmdline: None };

    #[test]
    fn quorum_counts_matching_processes_within_its_bounds() {
        let now = Instant::now();
        let mut t = table(2, 3);
        assert_eq!(t.quorums(), [("t_worker".into(), false)]);
        assert!(t.handle_exec(now, 10, WORKER).is_empty());
        assert!(t.handle_exec(now, 11, Seen { comm: Some(b"other"), cmdline: None }).is_empty());
        assert_eq!(t.handle_exec(now, 12, WORKER), [("t_worker".into(), true)]);
        assert!(t.handle_fork(now, 12, 13).is_empty(), "3 is within quorum_max");
        assert_eq!(t.handle_fork(now, 13, 14), [("t_worker".into(), false)], "4 is too many");
        assert!(t.handle_fork(now, 11, 15).is_empty(), "an uncounted parent's child");
        assert_eq!(t.handle_exit(now, 14), [("t_worker".into(), true)]);
        assert!(t.handle_exit(now, 99).is_empty());
        assert!(t.handle_exit(now, 13).is_empty());
        // A counted process that runs another program, or renames itself, counts no more.
        assert_eq!(
            t.handle_exec(now, 12, Seen { comm: Some(b"bash"), cmdline: None }),
            [("t_worker".into(), false)]
        );
        assert_eq!(t.handle_comm(now, 12, b"worker"), [("t_worker".into(), true)]);
        assert_eq!(t.handle_comm(now, 10, b"renamed"), [("t_worker".into(), false)]);
        // quorum_max 0: the process must not run.
        let mut absent = table(0, 0);
        assert_eq!(absent.quorums(), [("t_worker".into(), true)]);
        assert_eq!(absent.handle_exec(now, 20, WORKER), [("t_worker".into(), false)]);
        assert_eq!(absent.handle_exit(now, 20), [("t_worker".into(), true)]);
    }

    #[test]
    fn a_scan_counts_what_runs_and_a_rescan_reports_only_changes() {
        let now = Instant::now();
        let spec = spec("worker", &[], ParamMatch::None);
        let mut t = ProcessTable::new(&[&spec]);
        let before = t.begin_scan();
        t.scanned(1, WORKER);
        t.scanned(1, WORKER);
        t.scanned(2, Seen { comm: Some(b"init"), cmdline: None });
        assert_eq!(t.end_scan(now, &before, true), [("t_worker".into(), true)]);
        let before = t.begin_scan();
        t.scanned(3, WORKER);
        assert!(t.end_scan(now, &before, false).is_empty(), "still in quorum");
        let before = t.begin_scan();
        assert_eq!(t.end_scan(now, &before, false), [("t_worker".into(), false)]);
        assert_eq!(t.handle_exec(now, 4, WORKER), [("t_worker".into(), true)]);
    }

    #[test]
    fn delays_hold_a_change_of_quorum_back() {
        let now = Instant::now();
        let second = Duration::from_secs(1);
        let spec = TrackProcess {
            terminate_delay: Some(second),
            fork_delay: Some(2 * second),
            ..spec("worker", &[], ParamMatch::None)
        };
        let mut t = ProcessTable::new(&[&spec]);
        let before = t.begin_scan();
        t.scanned(1, WORKER);
        t.end_scan(now, &before, true);
        // An exit loses quorum only after terminate_delay.
        assert!(t.handle_exit(now, 1).is_empty());
        assert_eq!(t.poll_timeout(), Some(now + second));
        assert!(t.handle_timeout(now + second / 2).is_empty(), "early: harmless");
        assert_eq!(t.handle_timeout(now + second), [("t_worker".into(), false)]);
        assert_eq!(t.poll_timeout(), None);
        // A new program gains it at once; a fork only after fork_delay.
        assert_eq!(t.handle_exec(now, 2, WORKER), [("t_worker".into(), true)]);
        assert!(t.handle_exit(now, 2).is_empty());
        assert!(t.handle_exec(now, 3, WORKER).is_empty(), "the pending loss is called off");
        assert_eq!(t.poll_timeout(), None);
        assert!(t.handle_timeout(now + 5 * second).is_empty(), "quorum was never lost");
        let later = now + 10 * second;
        assert!(t.handle_exit(later, 3).is_empty());
        assert_eq!(t.handle_timeout(later + second), [("t_worker".into(), false)]);
        assert_eq!(t.handle_exec(later, 4, WORKER), [("t_worker".into(), true)]);
        assert_eq!(t.handle_exec(later, 5, Seen::default()), []);
        assert!(t.handle_exit(later, 4).is_empty());
        assert!(t.handle_fork(later, 4, 6).is_empty(), "an ended parent counts for nothing");
    }

    #[test]
    fn a_fork_gaining_quorum_waits_fork_delay() {
        let now = Instant::now();
        let second = Duration::from_secs(1);
        let spec = TrackProcess {
            quorum: 2,
            fork_delay: Some(second),
            ..spec("worker", &[], ParamMatch::None)
        };
        let mut t = ProcessTable::new(&[&spec]);
        let before = t.begin_scan();
        t.scanned(1, WORKER);
        assert!(t.end_scan(now, &before, true).is_empty(), "one of two: no quorum");
        assert!(t.handle_fork(now, 1, 2).is_empty());
        assert_eq!(t.poll_timeout(), Some(now + second));
        assert_eq!(t.handle_timeout(now + second), [("t_worker".into(), true)]);
        assert_eq!(t.handle_exit(now, 2), [("t_worker".into(), false)], "no terminate_delay");
        // A fork whose child ends before the delay is over changes nothing.
        assert!(t.handle_fork(now, 1, 3).is_empty());
        assert!(t.handle_exit(now, 3).is_empty());
        assert_eq!(t.poll_timeout(), None, "the pending gain is called off");
    }
}
