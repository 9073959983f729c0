//! Nanoseconds per frame of `vrrp_xdp` under BPF_PROG_TEST_RUN, beside an empty XDP program
//! (`r0 = XDP_PASS; exit`) on the same frames as the floor: what the kernel's test harness costs
//! by itself; and the same for `vrrp_tc` beside an empty tc program (`r0 = TC_ACT_UNSPEC`).
//! Traffic that is not VRRP is measured with no address refused (Accept_Mode's one array read),
//! with some refused on another interface (the same read), and on its own (its hash lookup),
//! passed or dropped. An absorbed advertisement is also measured at a backup that watches its
//! master in the kernel, where it re-arms the master-down timer. The kernel reports the average
//! over `repeat` runs; each figure here is the median of several such averages. Reports, never
//! asserts: timings depend on the machine and its load.
//!
//! Run as root: `cargo bench -p vrrp-tests --bench xdp_test_run`.

use std::{
    net::{IpAddr, Ipv4Addr},
    os::fd::{FromRawFd, OwnedFd},
};

use vrrp_common::{
    instance_flags, Counter, InstanceConfig, InstanceKey, EVENTS_BYTES, FAMILY_IPV4,
    MAX_UNICAST_PEERS,
};
use vrrp_tests::{
    corpus::{self, Advert, Layout},
    frames, require_root,
    rig::Rig,
    test_run,
};
use vrrp_user::{device_bound::ProgLoadAttr, hook::Hook};

/// How a path is measured: `runs` test runs of `repeat` repetitions; the median is reported.
#[derive(Clone, Copy)]
struct Workload {
    repeat: u32,
    runs: usize,
}

/// Paths that raise no event.
const STEADY: Workload = Workload { repeat: 1_000_000, runs: 15 };
/// Every repetition raises an event: fewer per run than the ring buffer holds (4681 48-byte
/// events in 56-byte slots), and the ring is drained between runs.
const EVENTS: Workload = Workload { repeat: 4096, runs: 101 };

const BPF_PROG_LOAD: libc::c_long = 5;
const BPF_PROG_TYPE_SCHED_CLS: u32 = 3;
const BPF_PROG_TYPE_XDP: u32 = 6;
const BPF_XDP: u32 = 37;

/// One eBPF instruction (include/uapi/linux/bpf.h, `struct bpf_insn`).
#[repr(C)]
struct Instruction {
    code: u8,
    /// Destination register in the low nibble, source in the high one.
    registers: u8,
    offset: i16,
    immediate: i32,
}

/// An empty program of the hook's type, loaded with a raw bpf(2) call: `r0 = XDP_PASS; exit`
/// for XDP, `r0 = TC_ACT_UNSPEC; exit` for tc. What the test harness costs by itself.
struct Floor {
    hook: Hook,
    program: OwnedFd,
}

impl Floor {
    fn load(hook: Hook) -> Self {
        let (prog_type, expected_attach_type, verdict, name) = match hook {
            Hook::Xdp => (BPF_PROG_TYPE_XDP, BPF_XDP, 2, &b"xdp_floor\0"[..]),
            Hook::Tcx => (BPF_PROG_TYPE_SCHED_CLS, 0, -1, &b"tc_floor\0"[..]),
        };
        let program = [
            // BPF_ALU64 | BPF_MOV | BPF_K: r0 = the verdict that passes the frame on
            Instruction { code: 0xb7, registers: 0, offset: 0, immediate: verdict },
            // BPF_JMP | BPF_EXIT
            Instruction { code: 0x95, registers: 0, offset: 0, immediate: 0 },
        ];
        let license = c"GPL";
        let mut prog_name = [0u8; 16];
        prog_name[..name.len()].copy_from_slice(name);
        let attr = ProgLoadAttr {
            prog_type,
            insn_cnt: program.len() as u32,
            insns: program.as_ptr() as u64,
            license: license.as_ptr() as u64,
            prog_name,
            expected_attach_type,
            ..ProgLoadAttr::default()
        };
        // SAFETY: attr and the buffers it points to are valid for the call.
        let fd = unsafe {
            libc::syscall(libc::SYS_bpf, BPF_PROG_LOAD, &raw const attr, size_of::<ProgLoadAttr>())
        };
        assert!(fd >= 0, "BPF_PROG_LOAD of the floor: {}", std::io::Error::last_os_error());
        // SAFETY: a fresh descriptor the kernel just returned, owned here alone.
        Self { hook, program: unsafe { OwnedFd::from_raw_fd(fd as i32) } }
    }

    fn run(&self, frame: &[u8], repeat: u32) -> test_run::RunResult {
        let (result, passed) = match self.hook {
            Hook::Xdp => {
                (test_run::run(&self.program, frame, corpus::IFINDEX, repeat), test_run::XDP_PASS)
            }
            Hook::Tcx => (
                test_run::run_skb(&self.program, frame, corpus::IFINDEX, repeat),
                test_run::TC_ACT_UNSPEC,
            ),
        };
        let result = result.expect("floor test run");
        assert_eq!(result.action, passed, "the floor passes everything");
        result
    }
}

fn median(mut values: Vec<u32>) -> u32 {
    values.sort_unstable();
    values[values.len() / 2]
}

/// What a path is compared against.
#[derive(Clone, Copy)]
enum Target {
    /// Within this many nanoseconds of the floor.
    NearFloor(u32),
    /// Under this many nanoseconds per frame.
    Under(u32),
    None,
}

struct Row {
    path: String,
    frame_len: usize,
    program_ns: u32,
    floor_ns: u32,
    target: Target,
    events_lost: u64,
}

impl Row {
    fn verdict(&self) -> String {
        let (met, goal) = match self.target {
            Target::NearFloor(ns) => {
                (self.program_ns <= self.floor_ns + ns, format!("floor + {ns} ns"))
            }
            Target::Under(ns) => (self.program_ns < ns, format!("< {ns} ns")),
            Target::None => return "-".into(),
        };
        format!("{goal}: {}", if met { "met" } else { "MISSED" })
    }
}

/// Median nanoseconds per frame of the floor program on `frame`.
fn floor_ns(floor: &Floor, frame: &[u8], repeat: u32, runs: usize) -> u32 {
    median((0..runs).map(|_| floor.run(frame, repeat).duration_ns).collect())
}

/// Measures the rig's program (`vrrp_xdp` or `vrrp_tc`) and the floor of its hook on `frame`. Every run must count its `repeat` frames under
/// `expected` (nothing for non-VRRP); events the ring could not take are counted as lost.
fn measure(
    rig: &mut Rig,
    floor: &Floor,
    path: &str,
    frame: &[u8],
    expected: Option<Counter>,
    Workload { repeat, runs }: Workload,
    target: Target,
) -> Row {
    let mut durations = Vec::with_capacity(runs);
    let mut events_lost = 0;
    for _ in 0..runs {
        let outcome = rig.run_repeated(frame, repeat).expect("test run");
        let lost = Counter::EventLost.name();
        events_lost +=
            outcome.counted.iter().filter(|(n, _)| *n == lost).map(|(_, c)| c).sum::<u64>();
        let counted: u64 = outcome.counted.iter().filter(|(n, _)| *n != lost).map(|(_, c)| c).sum();
        match expected {
            None => assert!(outcome.counted.is_empty(), "{path}: counted {:?}", outcome.counted),
            Some(counter) => {
                assert!(
                    outcome.counted.iter().all(|(n, _)| *n == counter.name() || *n == lost)
                        && counted + events_lost >= u64::from(repeat),
                    "{path}: counted {:?}",
                    outcome.counted
                );
            }
        }
        durations.push(outcome.duration_ns);
    }
    Row {
        path: path.to_owned(),
        frame_len: frame.len(),
        program_ns: median(durations),
        floor_ns: floor_ns(floor, frame, repeat, runs),
        target,
        events_lost,
    }
}

fn machine() -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|line| line.strip_prefix("model name"))
        .map_or("unknown CPU", |rest| rest.trim_start_matches([' ', '\t', ':']));
    let cpus = cpuinfo.lines().filter(|line| line.starts_with("processor")).count();
    let read = |path: &str| std::fs::read_to_string(path).unwrap_or_default().trim().to_owned();
    let kernel = read("/proc/sys/kernel/osrelease");
    let load = read("/proc/loadavg");
    format!("{model} ({cpus} CPUs), Linux {kernel}, load average {load}")
}

fn main() {
    require_root();
    let floor = Floor::load(Hook::Xdp);
    let tc_floor = Floor::load(Hook::Tcx);
    let mut rig = Rig::load(Hook::Xdp, 0).expect("loading vrrp_xdp");
    let mut tc_rig = Rig::load(Hook::Tcx, 0).expect("loading vrrp_tc");
    let mut mirroring = Rig::load(Hook::Xdp, instance_flags::MIRROR_ALL).expect("loading vrrp_xdp");
    // A backup that watches its master in the kernel: every advertisement re-arms the
    // instance's master-down timer (Master_Down_Interval of 1 s adverts at priority 100, so
    // that it never runs out between two test runs).
    let mut watching = Rig::load(Hook::Xdp, 0).expect("loading vrrp_xdp");
    let watched = InstanceConfig {
        version: 3,
        flags: instance_flags::WATCH_MASTER,
        group: corpus::address_key(IpAddr::V4(corpus::GROUP_V4)),
        master_down_us: 3_609_375,
        follow_priority: 1,
        ..InstanceConfig::default()
    };
    let watched_key = InstanceKey::new(corpus::IFINDEX, corpus::VRID_V3, FAMILY_IPV4);
    watching.datapath.set_instance(watched_key, watched, &[]).expect("watching the master");
    // Accept_Mode: addresses refused (a no_accept master's VIPs), so every IP frame that is
    // not VRRP pays the lookup; a frame to another address passes, one to a VIP is dropped.
    let mut refusing = Rig::load(Hook::Xdp, 0).expect("loading vrrp_xdp");
    let mut elsewhere = Rig::load(Hook::Xdp, 0).expect("loading vrrp_xdp");
    for address in [IpAddr::V4(corpus::VIP_V4), IpAddr::V6(corpus::VIP_V6)] {
        refusing.datapath.refuse_traffic(corpus::IFINDEX, address).expect("refusing traffic");
        elsewhere.datapath.refuse_traffic(corpus::IFINDEX + 1, address).expect("refusing");
    }

    let advert = Advert::v3_ipv4();
    let valid = advert.frame();
    let layout = Layout::of(&valid);
    let mut bad_checksum = valid.clone();
    bad_checksum[layout.message + 7] ^= 1;
    let mut bad_ttl = valid.clone();
    bad_ttl[layout.ttl()] = 64;
    let udp = frames::udp_ipv4(corpus::PEER_V4, corpus::ROUTER_V4);
    let to_vip = frames::udp_ipv4(corpus::PEER_V4, corpus::VIP_V4);
    let ipv6 = Advert::v3_ipv6().frame();
    // The reference scenario's path: unicast from its one listed peer, pinned to its MAC.
    let unicast = Advert {
        vrid: corpus::VRID_PINNED,
        destination: IpAddr::V4(corpus::ROUTER_V4),
        ..Advert::v3_ipv4()
    }
    .frame();
    // The longest peer search: the last of a full table.
    let last_peer = Advert { vrid: corpus::VRID_PEERS, ..Advert::v3_ipv4() }.frame();
    let with_addresses = |count: u8| {
        Advert {
            addresses: (0..count).map(|n| Ipv4Addr::new(198, 51, 100, n).into()).collect(),
            ..Advert::v3_ipv4()
        }
        .frame()
    };
    let twenty = with_addresses(20);
    let many = with_addresses(255);
    // The first advertisement of each instance raises FIRST; after it, repeats are absorbed
    // (or, with MIRROR_ALL, mirrored).
    for frame in [&valid, &unicast, &last_peer, &ipv6, &twenty, &many] {
        rig.run(frame).expect("priming the record");
    }
    tc_rig.run(&valid).expect("priming the record");
    mirroring.run(&valid).expect("priming the record");

    let advert = Target::Under(100);
    let mut rows = vec![measure(
        &mut rig,
        &floor,
        "not VRRP (UDP/IPv4)",
        &udp,
        None,
        STEADY,
        Target::NearFloor(5),
    )];
    let not_accepted: [(&str, &[u8], Option<Counter>); 2] = [
        ("not VRRP (UDP/IPv4), 2 addresses refused: passed", &udp, None),
        ("not VRRP (UDP/IPv4) to a refused address: dropped", &to_vip, Some(Counter::NotAccepted)),
    ];
    for (path, frame, expected) in not_accepted {
        rows.push(measure(&mut refusing, &floor, path, frame, expected, STEADY, Target::None));
    }
    let path = "not VRRP (UDP/IPv4), 2 addresses refused on another interface";
    rows.push(measure(&mut elsewhere, &floor, path, &udp, None, STEADY, Target::NearFloor(5)));
    let last_peer_path =
        format!("absorbed VRRPv3/IPv4 from the last of {MAX_UNICAST_PEERS} unicast peers");
    let absorbed_paths: [(&str, &[u8]); 6] = [
        ("absorbed VRRPv3/IPv4", &valid),
        ("absorbed VRRPv3/IPv4 from a unicast peer (pinned MAC)", &unicast),
        (&last_peer_path, &last_peer),
        ("absorbed VRRPv3/IPv6, 2 addresses", &ipv6),
        ("absorbed VRRPv3/IPv4, 20 addresses", &twenty),
        ("absorbed VRRPv3/IPv4, 255 addresses (the longest IPv4 message)", &many),
    ];
    for (path, frame) in absorbed_paths {
        rows.push(measure(&mut rig, &floor, path, frame, Some(Counter::Absorbed), STEADY, advert));
    }
    let path = "absorbed VRRPv3/IPv4, watched by a backup (master-down timer re-armed)";
    let absorbed = Some(Counter::Absorbed);
    // Primed here: a timer armed earlier would run out while the other rows are measured.
    watching.run(&valid).expect("priming the record");
    rows.push(measure(&mut watching, &floor, path, &valid, absorbed, STEADY, advert));
    let reported = Some(Counter::Reported);
    let event = "event raised (MIRROR_ALL)";
    rows.push(measure(&mut mirroring, &floor, event, &valid, reported, EVENTS, advert));
    let invalid_paths: [(&str, &[u8], Counter); 2] = [
        ("invalid: bad checksum", &bad_checksum, Counter::BadChecksum),
        ("invalid: TTL 64", &bad_ttl, Counter::BadTtl),
    ];
    for (path, frame, counter) in invalid_paths {
        rows.push(measure(&mut rig, &floor, path, frame, Some(counter), STEADY, Target::None));
    }

    // The same rules at tc ingress, against an empty tc program: what vrrpd in front of other
    // tc programs costs their traffic.
    let tc_paths: [(&str, &[u8], Option<Counter>, Target); 4] = [
        ("tcx: not VRRP (UDP/IPv4)", &udp, None, Target::NearFloor(5)),
        ("tcx: absorbed VRRPv3/IPv4", &valid, Some(Counter::Absorbed), advert),
        ("tcx: invalid: bad checksum", &bad_checksum, Some(Counter::BadChecksum), Target::None),
        ("tcx: invalid: TTL 64", &bad_ttl, Some(Counter::BadTtl), Target::None),
    ];
    for (path, frame, expected, target) in tc_paths {
        rows.push(measure(&mut tc_rig, &tc_floor, path, frame, expected, STEADY, target));
    }

    let (steady, events) = (STEADY, EVENTS);
    println!(
        "\nvrrp_xdp under BPF_PROG_TEST_RUN, ns per frame: median of {} runs of {} repetitions;",
        steady.runs, steady.repeat
    );
    println!("event path: {} runs of {}, ring drained between runs", events.runs, events.repeat);
    println!("machine: {}\n", machine());
    println!("| path | frame | vrrp_xdp (vrrp_tc for tcx) | floor | difference | target |");
    println!("|---|---:|---:|---:|---:|---|");
    for row in &rows {
        println!(
            "| {} | {} B | {} ns | {} ns | {:+} ns | {} |",
            row.path,
            row.frame_len,
            row.program_ns,
            row.floor_ns,
            i64::from(row.program_ns) - i64::from(row.floor_ns),
            row.verdict()
        );
    }
    let lost: u64 = rows.iter().map(|row| row.events_lost).sum();
    println!("\nevents lost (ring buffer of {EVENTS_BYTES} bytes full): {lost}");
}
