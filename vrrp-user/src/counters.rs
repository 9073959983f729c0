//! `vrrpd counters`: the kernel's per-reason counters, read from the pinned map.

use std::{io::Write, path::Path};

use anyhow::{Context, Result};
use aya::maps::{Map, MapData, PerCpuArray};
use vrrp_common::{names, Counter};

pub fn print(pin_dir: &Path) -> Result<()> {
    let path = pin_dir.join(names::COUNTERS);
    let data = MapData::from_pin(&path).with_context(|| {
        format!("reading {} (is vrrpd running with the XDP data path?)", path.display())
    })?;
    let counters: PerCpuArray<MapData, u64> = PerCpuArray::try_from(Map::PerCpuArray(data))?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "{:<18} {:>14}  kernel verdict", "reason", "frames")?;
    for counter in Counter::ALL {
        let total: u64 = counters.get(&(counter as u32), 0)?.iter().sum();
        let verdict = if counter.is_drop() { "dropped" } else { "accepted" };
        writeln!(out, "{:<18} {total:>14}  {verdict}", counter.name())?;
    }
    Ok(())
}
