//! The backup's master-down timer in the kernel (`instance_flags::WATCH_MASTER`, Linux >= 5.15):
//! a `bpf_timer` per slot of `VRRP_INSTANCES`, re-armed by every advertisement that resets the
//! timer of RFC 9568 §6.4.2, whose expiry queues one `event_kind::MASTER_DOWN` event. While the
//! master is healthy, the daemon is not woken at all.

use core::ffi::c_void;

use aya_ebpf::{
    bindings::bpf_timer,
    btf_maps::Array,
    helpers::{bpf_jiffies64, bpf_timer_init, bpf_timer_set_callback, bpf_timer_start},
    macros::btf_map,
};
use vrrp_common::{event_kind, AdvertEvent, Counter, INSTANCE_SLOTS};

use crate::maps;

/// `CLOCK_MONOTONIC` (include/uapi/linux/time.h), the clock of `bpf_timer_init`.
const CLOCK_MONOTONIC: u64 = 1;

/// A slot's timer. The kernel finds the `bpf_timer` field through the map's BTF; a daemon's
/// write to the element would cancel it, so the daemon never writes this map: the interval
/// lives in the instance's configuration.
#[repr(C)]
pub struct MasterDown {
    timer: bpf_timer,
    /// Non-zero once the timer has its clock and callback, which it keeps for the map's life
    /// (only a write to the element, which also clears this, would take them).
    initialised: u64,
}

#[btf_map]
static VRRP_MASTER_DOWN: Array<MasterDown, { INSTANCE_SLOTS as usize }> = Array::new();

/// (Re-)arms slot `slot`'s timer to fire in `interval_ns`. The first arming initialises it;
/// later ones skip the two helpers that would only find it done (each takes the timer's lock
/// with interrupts off: about an eighth of the program's time at a backup of 250 instances).
/// Two first armings on two CPUs both initialise: one gets EBUSY, which is harmless.
#[inline(always)]
pub fn arm(slot: u32, interval_ns: u64) {
    let Some(entry) = VRRP_MASTER_DOWN.get_ptr_mut(slot) else {
        return;
    };
    // SAFETY: `entry` points into the array's value memory (checked non-null by the lookup);
    // the helpers take the timer inside it, the map it belongs to, and a static subprogram.
    unsafe {
        let timer = &raw mut (*entry).timer;
        if (*entry).initialised == 0 {
            let map = (&raw const VRRP_MASTER_DOWN).cast_mut().cast::<c_void>();
            bpf_timer_init(timer, map, CLOCK_MONOTONIC);
            // Set only once both took: a failed initialisation (ENOMEM) is tried again.
            if bpf_timer_set_callback(timer, expired as *mut c_void) == 0 {
                (*entry).initialised = 1;
            }
        }
        bpf_timer_start(timer, interval_ns, 0);
    }
}

/// The timer of slot `*slot` ran out: one event for its instance, if it still watches its
/// master (the daemon may have turned the watch off meanwhile).
extern "C" fn expired(_map: *mut c_void, slot: *mut u32, _entry: *mut MasterDown) -> i32 {
    // SAFETY: the kernel passes the key of the element whose timer fired.
    let slot = unsafe { *slot };
    let Some(state) = maps::slot(slot) else {
        return 0;
    };
    // SAFETY: a pointer into a live map value (see `maps::instance`); copied out at once.
    let (key, flags) = unsafe { ((*state).key, (*state).config.flags) };
    if flags & vrrp_common::instance_flags::WATCH_MASTER == 0 {
        return 0;
    }
    let event = AdvertEvent {
        key,
        kind: event_kind::MASTER_DOWN,
        // SAFETY: bpf_jiffies64 takes no arguments and reads no memory of ours.
        jiffies: unsafe { bpf_jiffies64() },
        ..AdvertEvent::default()
    };
    maps::count(if maps::emit(event) { Counter::Reported } else { Counter::EventLost });
    0
}
