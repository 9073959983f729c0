//! What the node asks the shell to do.

use std::net::IpAddr;
use std::time::Duration;

use vrrp_config::{Route, Rule, RunAs, VirtualAddress};
use vrrp_proto::{Advertisement, Reason, State};

/// One running instance. Ids are never reused, so an id held across a reload either names the
/// same instance or none.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct InstanceId(pub(crate) u32);

/// A script to start, argv as configured plus keepalived's arguments; the shell never waits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScriptRun {
    pub argv: Vec<String>,
    pub run_as: Option<RunAs>,
}

/// The shell's work, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Output {
    /// The instance named `name` of the configuration now runs as `id`: the shell takes the
    /// I/O it prepared for that name (sockets, kernel maps) into service under this id.
    InstanceStarted {
        id: InstanceId,
        name: String,
    },
    /// The instance's peers or addresses changed in place (reload): the shell refreshes what
    /// it derives from them (destinations, the kernel's peer table, the address details)
    /// before the outputs that follow.
    InstanceReconfigured {
        id: InstanceId,
    },
    /// The instance restarted on a new primary address: the shell reopens its sockets there.
    PrimaryAddressChanged {
        id: InstanceId,
        address: IpAddr,
    },
    /// The instance is gone (reload, shutdown): the shell removes all of its addresses, even
    /// ones it never added in this run, and releases its I/O.
    InstanceStopped {
        id: InstanceId,
    },
    /// Encode and send this advertisement to the router's destinations (its `Transport`).
    SendAdvertisement {
        id: InstanceId,
        advertisement: Advertisement,
    },
    /// Add these of the instance's addresses (advertised and excluded).
    AddAddresses {
        id: InstanceId,
        addresses: Vec<IpAddr>,
    },
    /// Stop accepting traffic addressed to these addresses (Accept_Mode False, RFC 9568
    /// §6.4.3; see `accept_mode`): given before the addresses are added.
    RefuseTraffic {
        id: InstanceId,
        addresses: Vec<IpAddr>,
    },
    /// Accept traffic to these addresses again: after they are removed, or when the
    /// instance's Accept_Mode became True.
    AcceptTraffic {
        id: InstanceId,
        addresses: Vec<IpAddr>,
    },
    /// Remove these of the instance's addresses.
    RemoveAddresses {
        id: InstanceId,
        addresses: Vec<IpAddr>,
    },
    /// One round of gratuitous ARPs / unsolicited neighbour advertisements for the addresses.
    Announce {
        id: InstanceId,
        addresses: Vec<IpAddr>,
    },
    /// Install these routes (`routes.rs`): an instance's on becoming MASTER, after its
    /// addresses; `id` is `None` for static routes. A route already there is not an error.
    AddRoutes {
        id: Option<InstanceId>,
        routes: Vec<Route>,
    },
    /// Remove these routes; one already gone is not an error.
    RemoveRoutes {
        id: Option<InstanceId>,
        routes: Vec<Route>,
    },
    /// Install these policy rules (after the routes); `id` is `None` for static rules.
    AddRules {
        id: Option<InstanceId>,
        rules: Vec<Rule>,
    },
    /// Remove these policy rules (before the routes).
    RemoveRules {
        id: Option<InstanceId>,
        rules: Vec<Rule>,
    },
    /// Add `static_ipaddress` entries (each names its interface).
    AddStaticAddresses {
        addresses: Vec<VirtualAddress>,
    },
    RemoveStaticAddresses {
        addresses: Vec<VirtualAddress>,
    },
    /// Start a notify script.
    RunScript(ScriptRun),
    StateChanged {
        id: InstanceId,
        from: State,
        to: State,
        reason: Reason,
    },
    /// `vrrp_startup_delay`: the instances wait `delay` before they run (keepalived
    /// vrrp_daemon.c start_vrrp(): "Delaying startup for %g seconds"); a reload during the
    /// wait gives the new remaining delay.
    StartupDelayed {
        delay: Duration,
    },
    /// The start-up delay is over: the waiting instances run now (keepalived vrrp_daemon.c
    /// delayed_start_clear_thread(): "Delayed start completed").
    StartupDelayOver,
    /// Write this line (newline included) to every notify FIFO. It follows the notify
    /// scripts of the same change, which are started before it is written.
    NotifyFifo {
        line: String,
    },
}
