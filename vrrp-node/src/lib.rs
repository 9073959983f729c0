//! keepalived's policy over every virtual router of one configuration, without sockets, clocks
//! or a runtime: the layer between the daemon's I/O and `vrrp-proto`'s routers.
//!
//! A [`Node`] owns one [`vrrp_proto::Router`] per configured instance, each named by an
//! [`InstanceId`] that never changes while the instance runs, and decides what keepalived
//! decides above RFC 9568: effective priorities and faults from tracked interfaces and scripts
//! ([`tracking`]), sync groups whose members change state together (`sync`), which notify
//! scripts run with which arguments ([`notify`]), putting back an address another agent
//! removed, restarting an instance whose primary address changed, and reload as a diff applied
//! in place ([`reload`]); routes and rules moving with the addresses, static ones held from
//! start to stop ([`routes`]); traffic to the addresses refused while a non-owner master
//! without Accept_Mode holds them (`accept_mode`).
//!
//! The contract is the routers' own, one level up: `handle_*(now, ...)` inputs, [`Node::poll_output`]
//! until `None`, [`Node::poll_timeout`] for the next deadline (one timer table for every
//! instance, [`timers`]). Calling [`Node::handle_timeout`] early or twice is harmless.
//! [`Node::snapshot`] reads the per-instance statistics ([`stats`]).

mod accept_mode;
mod node;
pub mod notify;
mod output;
pub mod primary;
pub mod process_table;
pub mod reload;
pub mod routes;
pub mod stats;
mod sync;
pub mod timers;
pub mod tracking;

pub use node::{InstanceView, Node, NodeError};
pub use output::{InstanceId, Output, ScriptRun};
pub use primary::primary_address;
pub use reload::ReloadPlan;
pub use routes::RouteKey;
pub use stats::{Entered, Heard, InstanceSnapshot, Snapshot, Statistics, Transition};
pub use timers::Timer;
