//! The I/O of every running instance, by the node's id and by the data path's key: an
//! arrival finds its instance with one lookup, whatever the number of instances.

use std::collections::{btree_map, BTreeMap, HashMap};

use vrrp_common::InstanceKey;
use vrrp_node::InstanceId;

use crate::instance::Instance;

#[derive(Default)]
pub(crate) struct InstanceTable {
    by_id: BTreeMap<InstanceId, Instance>,
    by_key: HashMap<InstanceKey, InstanceId>,
}

impl InstanceTable {
    pub(crate) fn get(&self, id: &InstanceId) -> Option<&Instance> {
        self.by_id.get(id)
    }

    pub(crate) fn get_mut(&mut self, id: &InstanceId) -> Option<&mut Instance> {
        self.by_id.get_mut(id)
    }

    /// The instance an arrival with `key` belongs to.
    pub(crate) fn by_key_mut(&mut self, key: &InstanceKey) -> Option<(InstanceId, &mut Instance)> {
        let id = *self.by_key.get(key)?;
        self.by_id.get_mut(&id).map(|instance| (id, instance))
    }

    pub(crate) fn insert(&mut self, id: InstanceId, instance: Instance) {
        if let Some(previous) = self.by_id.get(&id) {
            self.by_key.remove(&previous.key);
        }
        self.by_key.insert(instance.key, id);
        self.by_id.insert(id, instance);
    }

    pub(crate) fn remove(&mut self, id: &InstanceId) -> Option<Instance> {
        let instance = self.by_id.remove(id)?;
        if self.by_key.get(&instance.key) == Some(id) {
            self.by_key.remove(&instance.key);
        }
        Some(instance)
    }

    pub(crate) fn iter(&self) -> btree_map::Iter<'_, InstanceId, Instance> {
        self.by_id.iter()
    }

    pub(crate) fn values(&self) -> btree_map::Values<'_, InstanceId, Instance> {
        self.by_id.values()
    }
}
