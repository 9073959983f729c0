//! `vrrpd counters` and `vrrpd instances`: read-only views of a running daemon's kernel state,
//! from its pinned maps.

use std::{ffi::CStr, io::Write, path::Path, time::Duration};

use anyhow::Result;
use vrrp_common::{checksum_form, instance_flags, Counter, InstanceState, Peer, Verdict};

use crate::xdp;

/// The per-reason counters, summed over CPUs.
pub fn print_counters(pin_dir: &Path) -> Result<()> {
    let totals = xdp::pinned_counters(pin_dir)?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "{:<18} {:>14}  kernel verdict", "reason", "frames")?;
    for counter in Counter::ALL {
        let verdict = match counter.verdict() {
            Verdict::Accepted => "accepted",
            Verdict::Passed => "passed",
            Verdict::Dropped => "dropped",
            Verdict::Note => "note (counted beside its verdict)",
            Verdict::Refused => "dropped (not VRRP: no_accept)",
        };
        writeln!(out, "{:<18} {:>14}  {verdict}", counter.name(), totals[counter as usize])?;
    }
    Ok(())
}

/// The configured instances (the occupied slots of `VRRP_INSTANCES`), each with its peers and
/// the kernel's record of its last valid advertisement.
pub fn print_instances(pin_dir: &Path) -> Result<()> {
    let instances = xdp::pinned_instances(pin_dir)?;
    let clock = xdp::pinned_clock(pin_dir)?;
    let now = clock.jiffies()?;
    let mut out = std::io::stdout().lock();
    if instances.is_empty() {
        writeln!(out, "no instance is configured in the kernel")?;
    }
    for (slot, state) in &instances {
        writeln!(out, "{}", describe(*slot, state, now, clock.tick()))?;
    }
    Ok(())
}

/// One instance in words; `now` is the current kernel tick, `tick` its length.
fn describe(slot: u32, state: &InstanceState, now: u64, tick: Duration) -> String {
    let key = state.key;
    let config = state.config;
    let mut flags = Vec::new();
    if config.flags & instance_flags::CONSUME_VALID != 0 {
        flags.push("consume-valid");
    }
    if config.flags & instance_flags::MIRROR_ALL != 0 {
        flags.push("mirror-all");
    }
    let watch =
        format!("watch-master(priority>={}, {} us)", config.follow_priority, config.master_down_us);
    if config.flags & instance_flags::WATCH_MASTER != 0 {
        flags.push(&watch);
    }
    let flags = if flags.is_empty() { "-".to_owned() } else { flags.join(",") };
    let family = if key.family == vrrp_common::FAMILY_IPV4 { "IPv4" } else { "IPv6" };
    let vlan = match key.vlan {
        0 => String::new(),
        vlan => format!(" VLAN {vlan}"),
    };
    let mut text = format!(
        "VRID {} {family} on {}{vlan}, slot {slot}: VRRPv{}, flags {flags}\n",
        key.vrid,
        interface_name(key.ifindex),
        config.version
    );
    let peers = &state.peers[..usize::from(config.peer_count).min(state.peers.len())];
    if peers.is_empty() && config.group != [0; 16] {
        let group = vrrp_common::address_of(key.family, config.group);
        text.push_str(&format!("  peers: any sender to {group}\n"));
    } else if peers.is_empty() {
        text.push_str("  peers: any sender\n");
    }
    for peer in peers {
        text.push_str(&format!("  peer {}\n", describe_peer(key.family, peer)));
    }
    let record = state.record;
    if record.count == 0 {
        text.push_str("  last advertisement: none since the daemon last cleared the record");
    } else {
        let form = match record.checksum_form {
            checksum_form::V2 => "v2",
            checksum_form::V3_IPV4_PSEUDO => "with pseudo-header",
            checksum_form::V3_IPV4_PLAIN => "without pseudo-header",
            checksum_form::V3_IPV6 => "IPv6 pseudo-header",
            checksum_form::V3_IPV4_OLD_UNICAST => "old unicast (pseudo-header on the group)",
            _ => "unknown",
        };
        let ticks = now.saturating_sub(record.last_seen_jiffies);
        let age = tick.as_secs_f64() * ticks as f64;
        text.push_str(&format!(
            "  last advertisement: {:.2} s ago from {} ({}), priority {}, interval {:.2} s, \
             checksum {form}; {} valid since the record was cleared",
            age,
            vrrp_common::address_of(key.family, record.sender),
            vrrp_config::MacAddr(record.sender_mac),
            record.priority,
            f64::from(record.interval_cs) / 100.0,
            record.count
        ));
    }
    text
}

fn describe_peer(family: u8, peer: &Peer) -> String {
    let mut text = vrrp_common::address_of(family, peer.addr).to_string();
    if peer.pinned != 0 {
        text.push_str(&format!(", pinned to MAC {}", vrrp_config::MacAddr(peer.mac)));
    }
    if peer.ttl_limited != 0 {
        text.push_str(&format!(", TTL {} to {}", peer.min_ttl, peer.max_ttl));
    }
    text
}

/// The interface's name in this network namespace, or its index.
fn interface_name(ifindex: u32) -> String {
    let mut buffer = [0 as libc::c_char; libc::IF_NAMESIZE];
    // SAFETY: if_indextoname writes at most IF_NAMESIZE bytes, NUL included, into the buffer.
    let name = unsafe { libc::if_indextoname(ifindex, buffer.as_mut_ptr()) };
    if name.is_null() {
        return format!("ifindex {ifindex}");
    }
    // SAFETY: on success the buffer holds a NUL-terminated name.
    let name = unsafe { CStr::from_ptr(buffer.as_ptr()) };
    format!("{} (ifindex {ifindex})", name.to_string_lossy())
}

#[cfg(test)]
mod tests {
    use vrrp_common::{InstanceConfig, InstanceKey, InstanceRecord, FAMILY_IPV4};

    use super::*;

    #[test]
    fn an_instance_reads_in_words() {
        let mut state = InstanceState {
            key: InstanceKey::new(u32::MAX, 123, FAMILY_IPV4),
            config: InstanceConfig {
                version: 3,
                flags: instance_flags::CONSUME_VALID,
                peer_count: 1,
                ..InstanceConfig::default()
            },
            record: InstanceRecord {
                last_seen_jiffies: 1_000,
                count: 42,
                sender: [10, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
                sender_mac: [2, 0, 0, 0, 0, 1],
                priority: 110,
                checksum_form: checksum_form::V3_IPV4_PSEUDO,
                interval_cs: 100,
                version: 3,
                _pad: [0; 5],
            },
            ..InstanceState::default()
        };
        state.peers[0] = Peer {
            addr: state.record.sender,
            mac: [2, 0, 0, 0, 0, 1],
            pinned: 1,
            ttl_limited: 1,
            min_ttl: 250,
            max_ttl: 255,
            ..Peer::default()
        };
        let text = describe(7, &state, 1_625, Duration::from_millis(4));
        for part in [
            "VRID 123 IPv4 on ifindex 4294967295, slot 7: VRRPv3, flags consume-valid",
            "peer 10.0.0.1, pinned to MAC 02:00:00:00:00:01, TTL 250 to 255",
            "2.50 s ago from 10.0.0.1 (02:00:00:00:00:01), priority 110, interval 1.00 s",
            "42 valid",
        ] {
            assert!(text.contains(part), "no {part:?} in:\n{text}");
        }
        state.config.peer_count = 0;
        state.record = InstanceRecord::default();
        let text = describe(7, &state, 0, Duration::from_millis(4));
        assert!(text.contains("peers: any sender\n") && text.contains("none since"), "{text}");
        state.config.group = [224, 0, 0, 99, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
        let text = describe(7, &state, 0, Duration::from_millis(4));
        assert!(text.contains("peers: any sender to 224.0.0.99\n"), "{text}");
    }
}
