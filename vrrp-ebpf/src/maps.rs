//! The program's maps. Names are stable: they are the pin names under bpffs and what
//! `bpftool map show` prints; `vrrp_common::names` holds them for user space.

use aya_ebpf::{
    btf_maps::{HashMap, PerCpuArray, RingBuf},
    macros::btf_map,
};
use vrrp_common::{
    AdvertEvent, Counter, InstanceConfig, InstanceKey, InstanceRecord, PeerConfig, PeerKey,
    EVENTS_BYTES, MAX_INSTANCES, MAX_PEERS,
};

/// Instances configured by the daemon, per interface, VRID and family.
#[btf_map]
static VRRP_INSTANCES: HashMap<InstanceKey, InstanceConfig, { MAX_INSTANCES as usize }> =
    HashMap::new();

/// Allowed unicast peers, with an optional pinned MAC.
#[btf_map]
static VRRP_PEERS: HashMap<PeerKey, PeerConfig, { MAX_PEERS as usize }> = HashMap::new();

/// The last valid advertisement of each instance.
#[btf_map]
static VRRP_RECORDS: HashMap<InstanceKey, InstanceRecord, { MAX_INSTANCES as usize }> =
    HashMap::new();

/// One counter per `Counter` reason, per CPU (no atomics on the hot path).
#[btf_map]
static VRRP_COUNTERS: PerCpuArray<u64, { Counter::COUNT as usize }> = PerCpuArray::new();

/// Events for user space: only what a router must react to.
#[btf_map]
static VRRP_EVENTS: RingBuf<AdvertEvent, { EVENTS_BYTES as usize }> = RingBuf::new();

#[inline(always)]
pub fn count(counter: Counter) {
    if let Some(slot) = VRRP_COUNTERS.get_ptr_mut(counter as u32) {
        // SAFETY: a per-CPU slot is only written by this CPU, and XDP does not nest.
        unsafe { *slot += 1 };
    }
}

#[inline(always)]
pub fn instance(key: &InstanceKey) -> Option<InstanceConfig> {
    // SAFETY: the value is copied out at once, before any update could reuse the slot.
    VRRP_INSTANCES.get_ptr(key).map(|value| unsafe { *value })
}

#[inline(always)]
pub fn peer(key: &PeerKey) -> Option<PeerConfig> {
    // SAFETY: as in `instance`.
    VRRP_PEERS.get_ptr(key).map(|value| unsafe { *value })
}

/// The instance's record in the map, to read and, for an absorbed advertisement, refresh.
#[inline(always)]
pub fn record(key: &InstanceKey) -> Option<*mut InstanceRecord> {
    VRRP_RECORDS.get_ptr_mut(key)
}

/// Refreshes a record in place for an advertisement that changed nothing else: three aligned
/// stores instead of a map update (which allocates, copies and frees an element), so a reader
/// sees each field old or new and every other field unchanged. A concurrent count increment
/// may be lost, as with an update.
#[inline(always)]
pub fn refresh_record(record: *mut InstanceRecord, now: u64, checksum_form: u8) {
    // SAFETY: a pointer from `record`, valid for this run (map values outlive the program run).
    unsafe {
        (*record).last_seen_ns = now;
        (*record).count += 1;
        (*record).checksum_form = checksum_form;
    }
}

#[inline(always)]
pub fn store_record(key: &InstanceKey, record: &InstanceRecord) {
    // A full table is impossible (one record per configured instance, same capacity); if the
    // daemon were to over-fill it, the event path still reports the advertisement.
    let _ = VRRP_RECORDS.insert(key, record, 0);
}

/// Queues an event; `false` when the ring buffer is full.
#[inline(always)]
pub fn emit(event: &AdvertEvent) -> bool {
    VRRP_EVENTS.output(event, 0).is_ok()
}
