//! The program's maps. Names are stable: they are the pin names under bpffs and what
//! `bpftool map show` prints; `vrrp_common::names` holds them for user space.

use aya_ebpf::{
    btf_maps::{Array, HashMap, PerCpuArray, RingBuf},
    macros::btf_map,
};
use vrrp_common::{
    not_accepted_slot, AddressKey, AdvertEvent, Counter, CounterTable, InstanceKey, InstanceRecord,
    InstanceState, Peer, EVENTS_BYTES, INSTANCE_SLOTS, NOT_ACCEPTED_ENTRIES, NOT_ACCEPTED_SLOTS,
    SLOT_PROBES,
};

/// Instances configured by the daemon (per interface, VRID and family) with their unicast peers
/// and the record of their last valid advertisement: an open-addressed table (see
/// `InstanceKey::home_slot`) in an array, whose lookups the verifier inlines.
#[btf_map]
static VRRP_INSTANCES: Array<InstanceState, { INSTANCE_SLOTS as usize }> = Array::new();

/// One table of per-reason counters per CPU (no atomics on the hot path); its fields carry the
/// reasons' names, so `bpftool map dump` reads clearly.
#[btf_map]
static VRRP_COUNTERS: PerCpuArray<CounterTable, 1> = PerCpuArray::new();

/// Events for user space: only what a router must react to.
#[btf_map]
static VRRP_EVENTS: RingBuf<AdvertEvent, { EVENTS_BYTES as usize }> = RingBuf::new();

/// Destinations whose traffic is dropped on an interface (Accept_Mode False), filled by the
/// daemon while a non-owner master without `accept` holds them.
#[btf_map]
static VRRP_NOT_ACCEPTED: HashMap<AddressKey, u8, { NOT_ACCEPTED_ENTRIES as usize }> =
    HashMap::new();

/// The entries of `VRRP_NOT_ACCEPTED` per slot of interfaces (`not_accepted_slot`), kept by the
/// daemon: an array read the verifier inlines, so a frame on an interface that refuses
/// nothing pays no hash lookup.
#[btf_map]
static VRRP_NOT_ACCEPTED_COUNT: Array<u32, { NOT_ACCEPTED_SLOTS as usize }> = Array::new();

/// Whether interface `ifindex` may refuse traffic to some destination.
#[inline(always)]
pub fn refusing_on(ifindex: u32) -> bool {
    VRRP_NOT_ACCEPTED_COUNT.get(not_accepted_slot(ifindex)).is_some_and(|count| *count != 0)
}

/// Whether traffic to `key` is not accepted.
#[inline(always)]
pub fn refused(key: &AddressKey) -> bool {
    VRRP_NOT_ACCEPTED.get_ptr(key).is_some()
}

#[inline(always)]
pub fn count(counter: Counter) {
    if let Some(table) = VRRP_COUNTERS.get_ptr_mut(0) {
        // SAFETY: the table is `Counter::COUNT` u64 fields in `Counter` order (checked in
        // vrrp-common), so the field of `counter` is in bounds; a per-CPU value is only written
        // by this CPU, and neither hook nests on a CPU.
        unsafe { *table.cast::<u64>().add(counter as usize) += 1 };
    }
}

/// The slot (and its index) of the instance `key`, probing from its home slot as the daemon placed it. An
/// array's elements are never freed, so the pointer is valid for the whole run; the daemon may
/// rewrite the slot meanwhile (a reconfiguration), which at worst judges one frame by a mix of
/// old and new values.
#[inline(always)]
pub fn instance(key: &InstanceKey) -> Option<(u32, *mut InstanceState)> {
    let home = key.home_slot();
    for probe in 0..SLOT_PROBES {
        let slot = (home + probe) & (INSTANCE_SLOTS - 1);
        let state = VRRP_INSTANCES.get_ptr_mut(slot)?;
        // SAFETY: a pointer into the array's value memory, checked non-null by the lookup.
        if unsafe { (*state).key } == *key {
            return Some((slot, state));
        }
    }
    None
}

/// The instance in slot `slot` (see `instance`).
#[inline(always)]
pub fn slot(slot: u32) -> Option<*mut InstanceState> {
    VRRP_INSTANCES.get_ptr_mut(slot)
}

/// The instance's unicast peer with address `addr`, among the first `count` peers.
#[inline(always)]
pub fn peer(state: *const InstanceState, count: u8, addr: &[u8; 16]) -> Option<Peer> {
    // SAFETY: as in `instance`.
    let peers = unsafe { &(*state).peers };
    for index in 0..usize::from(count) {
        // Hidden from the optimiser, so the bound check stays an ordered comparison the
        // verifier can follow (merged into the loop's end test, it became an equality the
        // verifier cannot bound).
        let Some(peer) = peers.get(core::hint::black_box(index)) else {
            break;
        };
        if peer.addr == *addr {
            return Some(*peer);
        }
    }
    None
}

/// Refreshes a record for an advertisement that changed nothing else: three aligned stores, so
/// a reader sees each field old or new and every other field unchanged. A concurrent count
/// increment may be lost.
#[inline(always)]
pub fn refresh_record(record: *mut InstanceRecord, now: u64, checksum_form: u8) {
    // SAFETY: a pointer into a live map value (see `instance`).
    unsafe {
        (*record).last_seen_jiffies = now;
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

/// Queues an event; `false` when the ring buffer is full. Reserving and writing in place costs
/// about 8 ns less than `output`, which copies the event in with a call to `memcpy`.
#[inline(always)]
pub fn emit(event: AdvertEvent) -> bool {
    match VRRP_EVENTS.reserve(0) {
        Some(mut entry) => {
            entry.write(event);
            entry.submit(0);
            true
        }
        None => false,
    }
}
