//! One interface for the controller over both data paths: what arrived, for which instance.
//!
//! - XDP: the kernel validated the advertisement and raised an event because something changed;
//!   a task turns ring-buffer records into [`Arrival`]s.
//! - Socket: a raw socket per interface and family runs the same validation in user space and
//!   hands over the valid advertisements (see `socket_receiver`).

use std::{net::IpAddr, sync::Arc, time::Instant};

use anyhow::{anyhow, Result};
use aya::maps::{MapData, RingBuf};
use tokio::{io::unix::AsyncFd, sync::mpsc};
use vrrp_common::{event_kind, AdvertEvent, Counter, InstanceKey};
use vrrp_proto::Centiseconds;

use crate::{kernel_clock::KernelClock, ring_resync::LossWatch, xdp};

/// A valid advertisement for one instance.
#[derive(Clone, Debug)]
pub struct Arrival {
    pub key: InstanceKey,
    pub source: IpAddr,
    pub received_at: Instant,
    /// The kernel's stamp (jiffies) of an advertisement the XDP program saw.
    pub kernel_tick: Option<u64>,
    pub priority: u8,
    pub interval: Centiseconds,
    /// The advertised addresses, when the data path saw them (the kernel's summary does not
    /// carry them; the state machine does not need them).
    pub addresses: Option<Vec<IpAddr>>,
    /// Bits of `vrrp_common::event_cause` (XDP), for the log.
    pub causes: u8,
    pub source_mac: Option<[u8; 6]>,
    /// Not an advertisement: the kernel's master-down timer of the instance expired
    /// (`event_kind::MASTER_DOWN`); only `key`, `received_at` and `kernel_tick` are meaningful.
    pub master_down: bool,
    /// It carried keepalived's pre-1.3.6 unicast checksum (which its instance allows).
    pub old_checksum: bool,
}

fn arrival_of_event(event: &AdvertEvent, clock: &KernelClock) -> Arrival {
    let received_at = clock.instant_of(event.jiffies).unwrap_or_else(|error| {
        log::warn!("dating an event by the kernel clock: {error:#}; taking its reading time");
        Instant::now()
    });
    Arrival {
        key: event.key,
        source: vrrp_common::address_of(event.key.family, event.sender),
        received_at,
        kernel_tick: Some(event.jiffies),
        priority: event.priority,
        interval: Centiseconds::new(event.interval_cs),
        addresses: None,
        causes: event.causes,
        source_mac: Some(event.sender_mac),
        old_checksum: event.checksum_form == vrrp_common::checksum_form::V3_IPV4_OLD_UNICAST,
        master_down: event.kind == event_kind::MASTER_DOWN,
    }
}

/// Forwards ring-buffer events until the receiver is gone, dated by the kernel's clock. The
/// task ends early only if the ring cannot be polled any more: the daemon watches for that.
/// Each time the ring is drained, the events the kernel could not queue since the last time
/// (`event_lost`) are reported on `losses`, after the events forwarded before them.
pub fn spawn_ring_reader(
    ring: RingBuf<MapData>,
    sender: mpsc::Sender<Arrival>,
    clock: Arc<KernelClock>,
    counters: xdp::CounterMap,
    losses: mpsc::Sender<u64>,
) -> Result<tokio::task::JoinHandle<()>> {
    let mut watch = LossWatch::default();
    // SAFETY: the ring buffer (and its descriptor) moves into the AsyncFd and lives as long.
    let mut ring = unsafe { AsyncFd::register_with_interest(ring, tokio::io::Interest::READABLE) }
        .map_err(|error| anyhow!("polling the event ring: {error}"))?;
    Ok(tokio::spawn(async move {
        loop {
            let Ok(mut guard) = ring.readable_mut().await else {
                return;
            };
            while let Some(event) = xdp::read_event(guard.get_inner_mut()) {
                if sender.send(arrival_of_event(&event, &clock)).await.is_err() {
                    return;
                }
            }
            guard.clear_ready();
            match xdp::sum_counters(&counters) {
                Ok(totals) => {
                    let lost = watch.observe(totals[Counter::EventLost as usize]);
                    if lost > 0 && losses.send(lost).await.is_err() {
                        return;
                    }
                }
                Err(error) => log::warn!("reading the event_lost counter: {error:#}"),
            }
        }
    }))
}

/// Forwards the XDP program's debug log records to the daemon's log.
pub fn spawn_kernel_log(logger: xdp::KernelLog) -> Result<()> {
    // SAFETY: the logger (and its descriptor) moves into the AsyncFd and lives as long.
    let mut logger =
        unsafe { AsyncFd::register_with_interest(logger, tokio::io::Interest::READABLE) }
            .map_err(|error| anyhow!("polling the XDP program's log: {error}"))?;
    tokio::spawn(async move {
        while let Ok(mut guard) = logger.readable_mut().await {
            guard.get_inner_mut().flush();
            guard.clear_ready();
        }
    });
    Ok(())
}
