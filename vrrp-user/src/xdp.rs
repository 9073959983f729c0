//! The XDP data path: the embedded kernel program, its loader and its maps.

use anyhow::{anyhow, bail, Context, Result};
use aya::{
    maps::{HashMap, MapData, PerCpuArray, RingBuf},
    programs::{xdp::XdpLinkId, Xdp, XdpMode},
    Ebpf,
};
use vrrp_common::{
    names, AdvertEvent, Counter, InstanceConfig, InstanceKey, InstanceRecord, PeerConfig, PeerKey,
};

/// The BPF object built by `cargo xtask build-ebpf` (the build script runs the same code).
pub static OBJECT: &[u8] = aya::include_bytes_aligned!(env!("VRRP_EBPF_OBJECT"));

/// Per-reason counters, summed over CPUs, indexed by `Counter as usize`.
pub type Counters = [u64; Counter::COUNT as usize];

/// The loaded program and typed handles on its maps.
pub struct XdpDatapath {
    ebpf: Ebpf,
    instances: HashMap<MapData, InstanceKey, InstanceConfig>,
    peers: HashMap<MapData, PeerKey, PeerConfig>,
    records: HashMap<MapData, InstanceKey, InstanceRecord>,
    counters: PerCpuArray<MapData, u64>,
    events: RingBuf<MapData>,
    links: Vec<(String, XdpLinkId)>,
}

impl XdpDatapath {
    /// Loads the program into the kernel (verifier included); attaches nothing.
    pub fn load() -> Result<Self> {
        let mut ebpf = Ebpf::load(OBJECT).context("loading the XDP object")?;
        program_of(&mut ebpf)?.load().context("the kernel refused the XDP program")?;
        let mut take =
            |name: &str| ebpf.take_map(name).ok_or_else(|| anyhow!("the object has no map {name}"));
        let instances = HashMap::try_from(take(names::INSTANCES)?)?;
        let peers = HashMap::try_from(take(names::PEERS)?)?;
        let records = HashMap::try_from(take(names::RECORDS)?)?;
        let counters = PerCpuArray::try_from(take(names::COUNTERS)?)?;
        let events = RingBuf::try_from(take(names::EVENTS)?)?;
        Ok(Self { ebpf, instances, peers, records, counters, events, links: Vec::new() })
    }

    pub fn program(&mut self) -> Result<&mut Xdp> {
        program_of(&mut self.ebpf)
    }

    pub fn attach(&mut self, ifname: &str, mode: XdpMode) -> Result<()> {
        let link = self
            .program()?
            .attach(ifname, mode)
            .with_context(|| format!("attaching XDP to {ifname} ({mode:?})"))?;
        self.links.push((ifname.to_owned(), link));
        Ok(())
    }

    pub fn detach(&mut self, ifname: &str) -> Result<()> {
        let Some(position) = self.links.iter().position(|(name, _)| name == ifname) else {
            bail!("XDP is not attached to {ifname}");
        };
        let (_, link) = self.links.remove(position);
        self.program()?.detach(link).with_context(|| format!("detaching XDP from {ifname}"))
    }

    pub fn set_instance(&mut self, key: InstanceKey, config: InstanceConfig) -> Result<()> {
        self.instances.insert(key, config, 0).context("updating VRRP_INSTANCES")
    }

    pub fn set_peer(&mut self, key: PeerKey, config: PeerConfig) -> Result<()> {
        self.peers.insert(key, config, 0).context("updating VRRP_PEERS")
    }

    /// The kernel's summary of the instance's last valid advertisement, if any.
    pub fn record(&self, key: &InstanceKey) -> Result<Option<InstanceRecord>> {
        match self.records.get(key, 0) {
            Ok(record) => Ok(Some(record)),
            Err(aya::maps::MapError::KeyNotFound) => Ok(None),
            Err(error) => Err(error).context("reading VRRP_RECORDS"),
        }
    }

    pub fn counters(&self) -> Result<Counters> {
        let mut totals = [0u64; Counter::COUNT as usize];
        for (index, total) in totals.iter_mut().enumerate() {
            let per_cpu = self.counters.get(&(index as u32), 0).context("reading counters")?;
            *total = per_cpu.iter().sum();
        }
        Ok(totals)
    }

    /// The next queued event, if any (never blocks).
    pub fn next_event(&mut self) -> Option<AdvertEvent> {
        let item = self.events.next()?;
        if item.len() < std::mem::size_of::<AdvertEvent>() {
            return None;
        }
        // SAFETY: the kernel wrote a whole AdvertEvent (size checked), which is plain data.
        Some(unsafe { std::ptr::read_unaligned(item.as_ptr().cast::<AdvertEvent>()) })
    }
}

fn program_of(ebpf: &mut Ebpf) -> Result<&mut Xdp> {
    ebpf.program_mut(names::PROGRAM)
        .ok_or_else(|| anyhow!("the object has no program {}", names::PROGRAM))?
        .try_into()
        .context("the program is not XDP")
}
