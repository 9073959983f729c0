//! `vrrpd counters`: the kernel's per-reason counters, read from the pinned map.

use std::{io::Write, path::Path};

use anyhow::Result;
use vrrp_common::Counter;

use crate::xdp;

pub fn print(pin_dir: &Path) -> Result<()> {
    let totals = xdp::pinned_counters(pin_dir)?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "{:<18} {:>14}  kernel verdict", "reason", "frames")?;
    for counter in Counter::ALL {
        let verdict = if counter.is_drop() { "dropped" } else { "accepted" };
        writeln!(out, "{:<18} {:>14}  {verdict}", counter.name(), totals[counter as usize])?;
    }
    Ok(())
}
