//! The rules every hook applies, in the order the crate's documentation gives: what the frame
//! says (`parse`), Accept_Mode for traffic that is not VRRP (`accept_mode`), then what the
//! instance it is for allows, then what changed since the last valid advertisement. The hooks
//! differ only in how they hand the frame over (`packet`) and in the names of their verdicts.

use aya_ebpf::helpers::bpf_jiffies64;
use aya_log_ebpf::debug;
use vrrp_common::{
    checksum_form, event_cause, event_kind, instance_flags,
    wire::{VRRP_AUTH_PASS, VRRP_TTL},
    AdvertEvent, Counter, InstanceConfig, InstanceRecord,
};

use crate::{
    accept_mode, checksum, maps, master_down,
    packet::Packet,
    parse::{parse_frame, Frame, Parsed, OLD_FORM_PENDING},
};

/// What becomes of a frame that is not dropped.
pub enum Verdict {
    /// On to the stack (and to the programs after this one): not VRRP, or VRRP for the host.
    Pass,
    /// A valid advertisement of an instance whose daemon has asked for it to stop here.
    Consume,
}

/// `Ok(verdict)` for frames that are not VRRP or are valid; `Err(reason)` for a drop.
#[inline(always)]
pub fn judge(ctx: &impl Packet) -> Result<Verdict, Counter> {
    let mut frame = match parse_frame(ctx)? {
        Parsed::Vrrp(frame) => frame,
        Parsed::Ip(ip) if accept_mode::refused(ctx, &ip) => return Err(Counter::NotAccepted),
        Parsed::Ip(_) | Parsed::Other => return Ok(Verdict::Pass),
    };
    let key = frame.key(ctx.ingress_ifindex());
    let Some((slot, state)) = maps::instance(&key) else {
        if frame.checksum_form == OLD_FORM_PENDING {
            return Err(Counter::BadChecksum);
        }
        // Not ours: keepalived for other VRIDs, or FRR, may run beside us and must hear it.
        maps::count(Counter::UnknownVrid);
        return Ok(Verdict::Pass);
    };
    // SAFETY: a pointer into a live map value (see `maps::instance`); copied out at once.
    let config = unsafe { (*state).config };
    if frame.checksum_form == OLD_FORM_PENDING {
        frame.checksum_form = old_form(&frame, &config)?;
        if frame.interval_cs == 0 {
            return Err(Counter::ZeroInterval);
        }
    }
    // keepalived vrrp.c open_vrrp_read_socket(): a multicast instance's socket is bound to its
    // group, so an advertisement to another group (a speaker on another vrrp_mcast_group4 /
    // mcast_dst_ip) is not its own: counted and passed, as an unknown VRID is.
    if config.peer_count == 0 && config.group != [0; 16] && config.group != frame.destination {
        maps::count(Counter::UnknownVrid);
        return Ok(Verdict::Pass);
    }
    if config.version != frame.version {
        return Err(Counter::VersionMismatch);
    }
    // Unicast mode: only the configured peers, always (no second lookup: they are inline).
    if config.peer_count != 0 {
        let Some(peer) = maps::peer(state, config.peer_count, &frame.source) else {
            return Err(Counter::NotAPeer);
        };
        // keepalived vrrp.c vrrp_check_packet(): a unicast peer may be routed, so its TTL is
        // checked only against the limits its `unicast_peer` line sets.
        if peer.ttl_limited != 0 && (frame.ttl < peer.min_ttl || frame.ttl > peer.max_ttl) {
            return Err(Counter::BadTtl);
        }
        if peer.pinned != 0 && peer.mac != frame.source_mac {
            return Err(Counter::MacMismatch);
        }
    } else if frame.ttl != VRRP_TTL {
        // RFC 9568 §7.1: a multicast advertisement comes from the link (TTL / hop limit 255).
        return Err(Counter::BadTtl);
    }
    // keepalived vrrp.c vrrp_check_packet(): the Auth Type must be the instance's, and a
    // password must match; a mismatch from a keepalived peer would otherwise make two masters.
    if frame.version == 2
        && (frame.auth_type != config.auth_type
            || (config.auth_type == VRRP_AUTH_PASS && frame.auth_data != config.auth_data))
    {
        return Err(Counter::AuthMismatch);
    }

    // The tick: the verifier inlines it as one load, where a clock helper is a call of about
    // 18 ns here, a third of the advertisement path. A tick is plenty for timers of seconds.
    // SAFETY: bpf_jiffies64 takes no arguments and reads no memory of ours; the kernel offers
    // it to every program type (Linux >= 5.5).
    let now = unsafe { bpf_jiffies64() };
    // SAFETY: as above; the record is only written in place, by `maps`.
    let record = unsafe { &raw mut (*state).record };
    let previous = unsafe { *record };
    let previous = (previous.count != 0).then_some(previous);
    let causes = causes(previous.as_ref(), &frame, config.flags);
    if frame.first_not_link_local {
        maps::count(Counter::NotLinkLocal);
    }
    // RFC 9568 §6.4.2: in Backup, an advertisement of a master worth following resets the
    // Master_Down_Timer; the daemon says which ones are (`follow_priority`). A resignation
    // never does: it raises an event, and the daemon arms Skew_Time itself.
    if config.flags & instance_flags::WATCH_MASTER != 0
        && frame.priority != 0
        && frame.priority >= config.follow_priority
    {
        master_down::arm(slot, u64::from(config.master_down_us) * 1000);
    }
    if causes == 0 {
        maps::refresh_record(record, now, frame.checksum_form);
        maps::count(Counter::Absorbed);
    } else {
        let value = InstanceRecord {
            last_seen_jiffies: now,
            count: previous.map_or(0, |p| p.count) + 1,
            sender: frame.source,
            sender_mac: frame.source_mac,
            priority: frame.priority,
            checksum_form: frame.checksum_form,
            interval_cs: frame.interval_cs,
            version: frame.version,
            _pad: [0; 5],
        };
        maps::store_record(record, &value);
        // Logs stay off the hot path: only a first advertisement or a peer's new MAC, both rare.
        if causes & (event_cause::FIRST | event_cause::MAC_CHANGED) != 0 {
            debug!(
                ctx,
                "vrid {} ifindex {}: causes {:x}, priority {}",
                key.vrid,
                key.ifindex,
                causes,
                frame.priority
            );
        }
        let event = AdvertEvent {
            key,
            causes,
            priority: frame.priority,
            interval_cs: frame.interval_cs,
            version: frame.version,
            checksum_form: frame.checksum_form,
            sender_mac: frame.source_mac,
            sender: frame.source,
            kind: event_kind::ADVERTISEMENT,
            _pad: [0; 3],
            jiffies: now,
        };
        maps::count(if maps::emit(event) { Counter::Reported } else { Counter::EventLost });
    }
    Ok(if config.flags & instance_flags::CONSUME_VALID != 0 {
        Verdict::Consume
    } else {
        Verdict::Pass
    })
}

/// The checksum of a frame whose RFC and plain forms failed: keepalived's pre-1.3.6 unicast
/// form if the instance allows it and the pseudo-header on its group verifies (keepalived
/// vrrp.c vrrp_in_chk() tries it last), else a bad checksum as for any other instance.
#[inline(always)]
fn old_form(frame: &Frame, config: &InstanceConfig) -> Result<u8, Counter> {
    if config.flags & instance_flags::OLD_UNICAST_CHECKSUM == 0 {
        return Err(Counter::BadChecksum);
    }
    let group = config.old_unicast_group;
    let group_sum = u32::from(u16::from_ne_bytes([group[0], group[1]]))
        + u32::from(u16::from_ne_bytes([group[2], group[3]]));
    if !checksum::is_valid(frame.pending_sum + group_sum) {
        return Err(Counter::BadChecksum);
    }
    Ok(checksum_form::V3_IPV4_OLD_UNICAST)
}

/// What changed since the previous valid advertisement: the reasons to wake user space.
#[inline(always)]
fn causes(previous: Option<&InstanceRecord>, frame: &Frame, flags: u8) -> u8 {
    let mut causes = 0;
    match previous {
        None => causes |= event_cause::FIRST,
        Some(previous) => {
            if previous.sender != frame.source {
                causes |= event_cause::NEW_SENDER;
            } else if previous.sender_mac != frame.source_mac {
                causes |= event_cause::MAC_CHANGED;
            }
            if previous.priority != frame.priority {
                causes |= event_cause::PRIORITY;
            }
            if previous.interval_cs != frame.interval_cs {
                causes |= event_cause::INTERVAL;
            }
        }
    }
    // RFC 9568 §6.4.2: a backup reacts to every priority-0 advertisement (Skew_Time takeover).
    if frame.priority == 0 {
        causes |= event_cause::RESIGN;
    }
    if causes == 0 && flags & instance_flags::MIRROR_ALL != 0 {
        causes |= event_cause::MIRROR;
    }
    // Only beside another cause: a sender's first advertisement always has one, which is all
    // the daemon needs to warn about it once.
    if causes != 0 && frame.first_not_link_local {
        causes |= event_cause::NOT_LINK_LOCAL;
    }
    causes
}

impl Frame {
    #[inline(always)]
    fn key(&self, ifindex: u32) -> vrrp_common::InstanceKey {
        vrrp_common::InstanceKey::tagged(ifindex, self.vlan, self.vrid, self.family)
    }
}
