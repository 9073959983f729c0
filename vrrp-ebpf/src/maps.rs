//! The program's maps. Names are stable: they are the pin names under bpffs and what
//! `bpftool map show` prints; `vrrp_common::names` holds them for user space.

use aya_ebpf::{
    btf_maps::{HashMap, PerCpuArray, RingBuf},
    macros::btf_map,
};
use vrrp_common::{
    AdvertEvent, Counter, CounterTable, InstanceKey, InstanceRecord, InstanceState, PeerConfig,
    PeerKey, EVENTS_BYTES, MAX_INSTANCES, MAX_PEERS,
};

/// Instances configured by the daemon, per interface, VRID and family, each with the record of
/// its last valid advertisement.
#[btf_map]
static VRRP_INSTANCES: HashMap<InstanceKey, InstanceState, { MAX_INSTANCES as usize }> =
    HashMap::new();

/// Allowed unicast peers, with an optional pinned MAC.
#[btf_map]
static VRRP_PEERS: HashMap<PeerKey, PeerConfig, { MAX_PEERS as usize }> = HashMap::new();

/// One table of per-reason counters per CPU (no atomics on the hot path); its fields carry the
/// reasons' names, so `bpftool map dump` reads clearly.
#[btf_map]
static VRRP_COUNTERS: PerCpuArray<CounterTable, 1> = PerCpuArray::new();

/// Events for user space: only what a router must react to.
#[btf_map]
static VRRP_EVENTS: RingBuf<AdvertEvent, { EVENTS_BYTES as usize }> = RingBuf::new();

#[inline(always)]
pub fn count(counter: Counter) {
    if let Some(table) = VRRP_COUNTERS.get_ptr_mut(0) {
        // SAFETY: the table is `Counter::COUNT` u64 fields in `Counter` order (checked in
        // vrrp-common), so the field of `counter` is in bounds; a per-CPU value is only written
        // by this CPU, and XDP does not nest.
        unsafe { *table.cast::<u64>().add(counter as usize) += 1 };
    }
}

/// The instance's configuration and record: one lookup for the whole advertisement path.
/// The pointer stays valid for this run: the element is only freed when the daemon removes the
/// instance, and a hash map defers frees past running programs (RCU).
#[inline(always)]
pub fn instance(key: &InstanceKey) -> Option<*mut InstanceState> {
    VRRP_INSTANCES.get_ptr_mut(key)
}

#[inline(always)]
pub fn peer(key: &PeerKey) -> Option<PeerConfig> {
    // SAFETY: as in `instance`.
    VRRP_PEERS.get_ptr(key).map(|value| unsafe { *value })
}

/// Refreshes a record for an advertisement that changed nothing else: three aligned stores, so
/// a reader sees each field old or new and every other field unchanged. A concurrent count
/// increment may be lost.
#[inline(always)]
pub fn refresh_record(record: *mut InstanceRecord, now: u64, checksum_form: u8) {
    // SAFETY: a pointer into a live map value (see `instance`).
    unsafe {
        (*record).last_seen_ns = now;
        (*record).count += 1;
        (*record).checksum_form = checksum_form;
    }
}

/// Replaces a record in place when something changed. A reader racing with it may see a mix of
/// old and new fields; the event that follows carries the new ones whole.
#[inline(always)]
pub fn store_record(record: *mut InstanceRecord, value: &InstanceRecord) {
    // SAFETY: as in `refresh_record`.
    unsafe { *record = *value };
}

/// Queues an event; `false` when the ring buffer is full.
#[inline(always)]
pub fn emit(event: &AdvertEvent) -> bool {
    VRRP_EVENTS.output(event, 0).is_ok()
}
