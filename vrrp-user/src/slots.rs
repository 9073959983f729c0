//! Where each instance lives in `VRRP_INSTANCES`: the daemon's half of the kernel's
//! open-addressed table. An instance goes in the first free slot among the `SLOT_PROBES` slots
//! from its home slot (`InstanceKey::home_slot`), the same ones the program probes.

use std::collections::HashMap;

use anyhow::{bail, Result};
use vrrp_common::{InstanceKey, INSTANCE_SLOTS, SLOT_PROBES};

#[derive(Debug)]
pub struct SlotTable {
    by_key: HashMap<InstanceKey, u32>,
    taken: Vec<bool>,
}

impl Default for SlotTable {
    fn default() -> Self {
        Self { by_key: HashMap::new(), taken: vec![false; INSTANCE_SLOTS as usize] }
    }
}

impl SlotTable {
    pub fn slot_of(&self, key: &InstanceKey) -> Option<u32> {
        self.by_key.get(key).copied()
    }

    /// The instance's slot: where it already is, or the first free one the program will probe.
    pub fn place(&mut self, key: InstanceKey) -> Result<u32> {
        if let Some(slot) = self.slot_of(&key) {
            return Ok(slot);
        }
        let home = key.home_slot();
        let free = (0..SLOT_PROBES)
            .map(|probe| (home + probe) & (INSTANCE_SLOTS - 1))
            .find(|&slot| !self.taken[slot as usize]);
        let Some(slot) = free else {
            bail!(
                "no room in the kernel's instance table for VRID {} on interface {}: the {} \
                 slots it may use are taken ({} instances configured; the table holds about 512)",
                key.vrid,
                key.ifindex,
                SLOT_PROBES,
                self.by_key.len()
            );
        };
        self.taken[slot as usize] = true;
        self.by_key.insert(key, slot);
        Ok(slot)
    }

    /// Frees the instance's slot; returns it, if the instance had one.
    pub fn release(&mut self, key: &InstanceKey) -> Option<u32> {
        let slot = self.by_key.remove(key)?;
        self.taken[slot as usize] = false;
        Some(slot)
    }
}

#[cfg(test)]
mod tests {
    use vrrp_common::{FAMILY_IPV4, FAMILY_IPV6};

    use super::*;

    fn within_probes(key: &InstanceKey, slot: u32) -> bool {
        (slot.wrapping_sub(key.home_slot()) & (INSTANCE_SLOTS - 1)) < SLOT_PROBES
    }

    fn place_all(keys: &[InstanceKey]) -> SlotTable {
        let mut table = SlotTable::default();
        for key in keys {
            let slot = table.place(*key).unwrap_or_else(|error| panic!("{error}"));
            assert!(within_probes(key, slot), "{key:?} in slot {slot}, beyond its probes");
        }
        let mut slots: Vec<u32> = keys.iter().filter_map(|key| table.slot_of(key)).collect();
        slots.sort_unstable();
        slots.dedup();
        assert_eq!(slots.len(), keys.len(), "every instance has a slot of its own");
        table
    }

    #[test]
    fn every_vrid_of_both_families_on_one_interface_fits() {
        let keys: Vec<_> = (1..=255)
            .flat_map(|vrid| [FAMILY_IPV4, FAMILY_IPV6].map(|f| InstanceKey::new(3, vrid, f)))
            .collect();
        place_all(&keys);
    }

    #[test]
    fn one_vrid_on_many_vlan_interfaces_fits() {
        let keys: Vec<_> =
            (2..514).map(|ifindex| InstanceKey::new(ifindex, 1, FAMILY_IPV4)).collect();
        place_all(&keys);
    }

    #[test]
    fn placing_again_keeps_the_slot_and_release_frees_it() {
        let key = InstanceKey::new(7, 123, FAMILY_IPV4);
        let mut table = SlotTable::default();
        let slot = table.place(key).unwrap();
        assert_eq!(table.place(key).unwrap(), slot);
        assert_eq!(table.release(&key), Some(slot));
        assert_eq!(table.release(&key), None);
        assert_eq!(table.slot_of(&key), None);
    }

    #[test]
    fn collisions_take_the_next_slots_and_a_full_window_is_refused() {
        // Keys that share one home slot, found by search: they fill the probe window in order.
        let home = InstanceKey::new(1, 1, FAMILY_IPV4).home_slot();
        let colliding: Vec<_> = (1..u32::MAX)
            .flat_map(|ifindex| (1..=255).map(move |vrid| InstanceKey::new(ifindex, vrid, 4)))
            .filter(|key| key.home_slot() == home)
            .take(SLOT_PROBES as usize + 1)
            .collect();
        let mut table = SlotTable::default();
        for (probe, key) in colliding.iter().take(SLOT_PROBES as usize).enumerate() {
            let slot = table.place(*key).unwrap();
            assert_eq!(slot, (home + probe as u32) & (INSTANCE_SLOTS - 1));
        }
        let refused = table.place(colliding[SLOT_PROBES as usize]).unwrap_err();
        assert!(refused.to_string().contains("no room"), "{refused}");
        // Freeing one slot of the window makes room again, in that slot.
        let freed = table.release(&colliding[3]).unwrap();
        assert_eq!(table.place(colliding[SLOT_PROBES as usize]).unwrap(), freed);
    }
}
