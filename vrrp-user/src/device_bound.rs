//! `vrrp_xdp_vlan`: `vrrp_xdp` for a device whose driver tells XDP the VLAN tag it took out of
//! a frame (Linux >= 6.8, `bpf_xdp_metadata_rx_vlan_tag`: veth, mlx5, ice and others). A NIC
//! that strips tags (`rxvlan`), or a veth whose sender left the tag in the skb's metadata (the
//! default of a VLAN device on a veth), hands XDP the frame without its tag; without asking the
//! driver, the program would credit a frame of VLAN 100 to the interface's untagged instance of
//! the same VRID, and a VLAN's master would drive the untagged router (two masters on the VLAN).
//!
//! Such a kfunc may only be called by a program bound to one device
//! (`BPF_F_XDP_DEV_BOUND_ONLY`, `prog_ifindex`), which aya 0.14 can neither load nor relocate:
//! - [`resolve_kfunc_calls`] turns the build's undefined call into a kernel function call
//!   (`BPF_PSEUDO_KFUNC_CALL`, the function's id in the kernel's BTF) before aya parses the
//!   object, so aya loads the other programs untouched;
//! - [`DeviceBound::load`] relocates the program with aya's object crate against the maps aya
//!   created, loads it bound to the device with its BTF (its timer callback needs func_info),
//!   and attaches it with an XDP link in driver mode, owned by the process like aya's links.
//!
//! keepalived has no kernel data path; it reads VLAN-tagged frames on the VLAN device's socket.

use std::{
    collections::HashMap,
    ffi::CString,
    os::fd::{AsRawFd, FromRawFd, OwnedFd},
};

use anyhow::{anyhow, bail, Context, Result};
use aya_obj::btf::{Btf, BtfFeatures, BtfKind};
use object::{Object, ObjectSection, ObjectSymbol, RelocationTarget};

use crate::tcx::bpf;

/// The kfunc the program calls, as the build leaves it: an undefined symbol.
pub const KFUNC: &str = "bpf_xdp_metadata_rx_vlan_tag";
/// The device-bound program's name in the object and in `bpftool prog`.
pub const PROGRAM: &str = "vrrp_xdp_vlan";

const BPF_PROG_LOAD: libc::c_long = 5;
const BPF_BTF_LOAD: libc::c_long = 18;
const BPF_LINK_CREATE: libc::c_long = 28;
const BPF_PROG_TYPE_XDP: u32 = 6;
/// `enum bpf_attach_type`.
const BPF_XDP: u32 = 37;
const BPF_F_XDP_DEV_BOUND_ONLY: u32 = 1 << 6;
const XDP_FLAGS_DRV_MODE: u32 = 1 << 2;
const BPF_PSEUDO_KFUNC_CALL: u8 = 2;
const BPF_CALL_OPCODE: u8 = 0x85;
/// The verifier's log, read only when it refuses the program.
const LOG_SIZE: usize = 1 << 20;

/// The prog-load member of `union bpf_attr` (include/uapi/linux/bpf.h), up to `attach_btf_id`;
/// the benchmarks load their empty programs with it too.
#[repr(C)]
#[derive(Default)]
pub struct ProgLoadAttr {
    pub prog_type: u32,
    pub insn_cnt: u32,
    pub insns: u64,
    pub license: u64,
    pub log_level: u32,
    pub log_size: u32,
    pub log_buf: u64,
    pub kern_version: u32,
    pub prog_flags: u32,
    pub prog_name: [u8; 16],
    pub prog_ifindex: u32,
    pub expected_attach_type: u32,
    pub prog_btf_fd: u32,
    pub func_info_rec_size: u32,
    pub func_info: u64,
    pub func_info_cnt: u32,
    pub line_info_rec_size: u32,
    pub line_info: u64,
    pub line_info_cnt: u32,
    pub attach_btf_id: u32,
}

/// The BTF-load member of `union bpf_attr`.
#[repr(C)]
#[derive(Default)]
struct BtfLoadAttr {
    btf: u64,
    btf_log_buf: u64,
    btf_size: u32,
    btf_log_size: u32,
    btf_log_level: u32,
}

/// The link-create member of `union bpf_attr`, for an XDP link.
#[repr(C)]
#[derive(Default)]
struct LinkCreateAttr {
    prog_fd: u32,
    target_ifindex: u32,
    attach_type: u32,
    flags: u32,
}

/// The id of [`KFUNC`] in the running kernel's BTF; `None` before Linux 6.8.
pub fn kfunc_id() -> Option<u32> {
    let btf = Btf::from_sys_fs().ok()?;
    btf.id_by_type_name_kind(KFUNC, BtfKind::Func).ok()
}

/// `object` with every call of [`KFUNC`] made a kernel function call of `id` (0 where the
/// kernel has none: the program that calls it is then never loaded).
pub fn resolve_kfunc_calls(object: &[u8], id: u32) -> Result<Vec<u8>> {
    let file = object::File::parse(object).context("reading the BPF object")?;
    let mut patched = object.to_vec();
    let mut calls = 0;
    for section in file.sections() {
        let Some((section_start, _)) = section.file_range() else { continue };
        for (offset, relocation) in section.relocations() {
            let RelocationTarget::Symbol(index) = relocation.target() else { continue };
            let symbol = file.symbol_by_index(index)?;
            if !symbol.is_undefined() || symbol.name()? != KFUNC {
                continue;
            }
            let at = usize::try_from(section_start + offset)?;
            let instruction = patched
                .get_mut(at..at + 8)
                .ok_or_else(|| anyhow!("a call of {KFUNC} past the end of the object"))?;
            if instruction[0] != BPF_CALL_OPCODE {
                bail!("the relocation of {KFUNC} at {at:#x} is not on a call");
            }
            // dst_reg 0, src_reg BPF_PSEUDO_KFUNC_CALL; off 0: the function is in vmlinux.
            instruction[1] = BPF_PSEUDO_KFUNC_CALL << 4;
            instruction[2..4].fill(0);
            instruction[4..8].copy_from_slice(&id.to_le_bytes());
            calls += 1;
        }
    }
    if calls == 0 {
        bail!("the BPF object calls no {KFUNC}: built from another source?");
    }
    Ok(patched)
}

/// `vrrp_xdp_vlan` loaded for one device, not attached yet.
pub struct Loaded {
    program: OwnedFd,
    ifindex: u32,
}

/// `vrrp_xdp_vlan` attached to its device in driver mode. Dropping it closes the link, which
/// detaches the program, and then the program, which unloads it.
pub struct DeviceBound {
    _link: OwnedFd,
    _program: OwnedFd,
}

impl Loaded {
    /// Loads `vrrp_xdp_vlan` from `object` (already through [`resolve_kfunc_calls`]) bound to
    /// `ifindex`, its maps being those of `map_fds` (by name, as aya created them).
    pub fn load(object: &[u8], map_fds: &HashMap<String, OwnedFd>, ifindex: u32) -> Result<Self> {
        let mut obj = aya_obj::Object::parse(object).context("parsing the BPF object")?;
        let features = BtfFeatures::new(true, true, true, true, true, true, true, true);
        let btf = obj
            .fixup_and_sanitize_btf(&features)?
            .map(|btf| btf.to_bytes())
            .ok_or_else(|| anyhow!("the BPF object has no BTF"))?;
        let btf_fd = load_btf(&btf)?;
        let maps: Vec<(String, aya_obj::Map)> =
            obj.maps.iter().map(|(name, map)| (name.clone(), map.clone())).collect();
        let mut relocations = Vec::with_capacity(maps.len());
        for (name, map) in &maps {
            let fd = map_fds.get(name).ok_or_else(|| anyhow!("no map {name} loaded"))?;
            relocations.push((name.as_str(), fd.as_raw_fd(), map));
        }
        let text_sections = obj.functions.keys().map(|(section, _)| *section).collect();
        obj.relocate_maps(relocations.into_iter(), &text_sections)?;
        obj.relocate_calls(&text_sections)?;
        let program = obj
            .programs
            .get(PROGRAM)
            .ok_or_else(|| anyhow!("the BPF object has no program {PROGRAM}"))?;
        let function = obj
            .functions
            .get(&program.function_key())
            .ok_or_else(|| anyhow!("the BPF object has no code for {PROGRAM}"))?;
        let license = program.license.clone();
        let program = load_program(function, &license, btf_fd.as_raw_fd(), ifindex)?;
        Ok(Self { program, ifindex })
    }

    /// Attaches the program to its device with an XDP link in driver mode; fails where the
    /// hook already holds a program.
    pub fn attach(self) -> Result<DeviceBound> {
        let link = attach(&self.program, self.ifindex)?;
        Ok(DeviceBound { _link: link, _program: self.program })
    }
}

fn load_btf(btf: &[u8]) -> Result<OwnedFd> {
    let mut attr = BtfLoadAttr {
        btf: btf.as_ptr() as u64,
        btf_size: u32::try_from(btf.len())?,
        ..BtfLoadAttr::default()
    };
    let fd = bpf(BPF_BTF_LOAD, &mut attr).context("loading the program's BTF")?;
    // SAFETY: BPF_BTF_LOAD returned a new descriptor, ours alone.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as i32) })
}

fn load_program(
    function: &aya_obj::Function,
    license: &CString,
    btf_fd: i32,
    ifindex: u32,
) -> Result<OwnedFd> {
    let func_info = function.func_info.func_info_bytes();
    let line_info = function.line_info.line_info_bytes();
    let mut name = [0u8; 16];
    name[..PROGRAM.len()].copy_from_slice(PROGRAM.as_bytes());
    let mut log = vec![0u8; LOG_SIZE];
    let mut attr = ProgLoadAttr {
        prog_type: BPF_PROG_TYPE_XDP,
        insn_cnt: u32::try_from(function.instructions.len())?,
        insns: function.instructions.as_ptr() as u64,
        license: license.as_ptr() as u64,
        prog_flags: BPF_F_XDP_DEV_BOUND_ONLY,
        prog_name: name,
        prog_ifindex: ifindex,
        expected_attach_type: BPF_XDP,
        prog_btf_fd: btf_fd as u32,
        func_info_rec_size: function.func_info_rec_size as u32,
        func_info: func_info.as_ptr() as u64,
        func_info_cnt: function.func_info.num_info,
        line_info_rec_size: function.line_info_rec_size as u32,
        line_info: line_info.as_ptr() as u64,
        line_info_cnt: function.line_info.num_info,
        ..ProgLoadAttr::default()
    };
    match bpf(BPF_PROG_LOAD, &mut attr) {
        // SAFETY: BPF_PROG_LOAD returned a new descriptor, ours alone.
        Ok(fd) => Ok(unsafe { OwnedFd::from_raw_fd(fd as i32) }),
        Err(first) => {
            // Again with the verifier's log, which only a refusal needs.
            attr.log_level = 1;
            attr.log_size = LOG_SIZE as u32;
            attr.log_buf = log.as_mut_ptr() as u64;
            let _ = bpf(BPF_PROG_LOAD, &mut attr);
            let text = String::from_utf8_lossy(&log);
            let tail: Vec<&str> = text.trim_end_matches('\0').lines().rev().take(3).collect();
            let tail: Vec<&str> = tail.into_iter().rev().collect();
            Err(anyhow::Error::new(first)
                .context(format!("the kernel refused {PROGRAM} ({})", tail.join(" / "))))
        }
    }
}

fn attach(program: &OwnedFd, ifindex: u32) -> Result<OwnedFd> {
    let mut attr = LinkCreateAttr {
        prog_fd: program.as_raw_fd() as u32,
        target_ifindex: ifindex,
        attach_type: BPF_XDP,
        flags: XDP_FLAGS_DRV_MODE,
    };
    let fd = bpf(BPF_LINK_CREATE, &mut attr).with_context(|| format!("attaching {PROGRAM}"))?;
    // SAFETY: BPF_LINK_CREATE returned a new descriptor, ours alone.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as i32) })
}

/// Whether the driver of `ifindex` (in this network namespace) tells XDP the tags it strips:
/// `NETDEV_XDP_RX_METADATA_VLAN_TAG` in the netdev generic-netlink family's `dev-get` answer
/// (Linux >= 6.8; older kernels have no such family, and the answer is no).
pub fn driver_reports_vlan_tags(ifindex: u32) -> Result<bool> {
    let socket = GenericNetlink::open()?;
    let Some(family) = socket.family_id("netdev")? else { return Ok(false) };
    const NETDEV_CMD_DEV_GET: u8 = 1;
    const NETDEV_A_DEV_IFINDEX: u16 = 1;
    const NETDEV_A_DEV_XDP_RX_METADATA_FEATURES: u16 = 5;
    const NETDEV_XDP_RX_METADATA_VLAN_TAG: u64 = 1 << 2;
    let answer =
        socket.request(family, NETDEV_CMD_DEV_GET, NETDEV_A_DEV_IFINDEX, &ifindex.to_ne_bytes())?;
    let features = attribute(&answer, NETDEV_A_DEV_XDP_RX_METADATA_FEATURES)
        .and_then(|value| Some(u64::from_ne_bytes(value.get(..8)?.try_into().ok()?)));
    Ok(features.is_some_and(|bits| bits & NETDEV_XDP_RX_METADATA_VLAN_TAG != 0))
}

/// Whether the driver of `ifname` may take VLAN tags out of received frames: the legacy
/// ethtool flag `ETH_FLAG_RXVLAN` (`rxvlan`, the feature rx-vlan-hw-parse), as `ethtool -k`
/// shows it. Off, every tag stays in the frame data, where XDP sees it.
pub fn driver_strips_vlan_tags(ifname: &str) -> Result<bool> {
    const ETHTOOL_GFLAGS: u32 = 0x25;
    const ETH_FLAG_RXVLAN: u32 = 1 << 8;
    #[repr(C)]
    struct EthtoolValue {
        cmd: u32,
        data: u32,
    }
    #[repr(C)]
    struct IfReq {
        name: [u8; libc::IFNAMSIZ],
        data: *mut EthtoolValue,
        _pad: [u8; 16],
    }
    if ifname.len() >= libc::IFNAMSIZ {
        bail!("interface name {ifname:?} is too long");
    }
    let mut value = EthtoolValue { cmd: ETHTOOL_GFLAGS, data: 0 };
    let mut request = IfReq { name: [0; libc::IFNAMSIZ], data: &mut value, _pad: [0; 16] };
    request.name[..ifname.len()].copy_from_slice(ifname.as_bytes());
    // SAFETY: a plain socket(2) for the ioctl; checked and owned below.
    let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) };
    if fd < 0 {
        return Err(std::io::Error::last_os_error()).context("opening a socket for ethtool");
    }
    // SAFETY: a new descriptor, ours alone.
    let socket = unsafe { OwnedFd::from_raw_fd(fd) };
    // SAFETY: SIOCETHTOOL reads the request and writes `value`, both valid for the call.
    let result = unsafe { libc::ioctl(socket.as_raw_fd(), libc::SIOCETHTOOL, &mut request) };
    if result < 0 {
        return Err(std::io::Error::last_os_error())
            .with_context(|| format!("{ifname}: reading its ethtool flags"));
    }
    Ok(value.data & ETH_FLAG_RXVLAN != 0)
}

/// A generic-netlink socket for one request at a time (`NETLINK_GENERIC`).
struct GenericNetlink(OwnedFd);

const NLMSG_HDRLEN: usize = 16;
const GENL_HDRLEN: usize = 4;
const NLMSG_ERROR: u16 = 2;

impl GenericNetlink {
    fn open() -> Result<Self> {
        // SAFETY: a plain socket(2); the descriptor is checked and owned below.
        let fd = unsafe {
            libc::socket(
                libc::AF_NETLINK,
                libc::SOCK_RAW | libc::SOCK_CLOEXEC,
                libc::NETLINK_GENERIC,
            )
        };
        if fd < 0 {
            return Err(std::io::Error::last_os_error())
                .context("opening a generic-netlink socket");
        }
        // SAFETY: a new descriptor, ours alone.
        Ok(Self(unsafe { OwnedFd::from_raw_fd(fd) }))
    }

    /// The id of the family `name`, or `None` where the kernel has no such family.
    fn family_id(&self, name: &str) -> Result<Option<u16>> {
        const GENL_ID_CTRL: u16 = 0x10;
        const CTRL_CMD_GETFAMILY: u8 = 3;
        const CTRL_ATTR_FAMILY_ID: u16 = 1;
        const CTRL_ATTR_FAMILY_NAME: u16 = 2;
        let mut value = name.as_bytes().to_vec();
        value.push(0);
        match self.request(GENL_ID_CTRL, CTRL_CMD_GETFAMILY, CTRL_ATTR_FAMILY_NAME, &value) {
            Ok(answer) => Ok(attribute(&answer, CTRL_ATTR_FAMILY_ID)
                .and_then(|id| Some(u16::from_ne_bytes(id.get(..2)?.try_into().ok()?)))),
            Err(error)
                if error.downcast_ref::<std::io::Error>().and_then(|e| e.raw_os_error())
                    == Some(libc::ENOENT) =>
            {
                Ok(None)
            }
            Err(error) => Err(error),
        }
    }

    /// Sends command `command` of `family` with one attribute and returns the answer's
    /// attributes (after the generic header).
    fn request(&self, family: u16, command: u8, attr_type: u16, value: &[u8]) -> Result<Vec<u8>> {
        const NLM_F_REQUEST: u16 = 1;
        let attr_len = 4 + value.len();
        let len = NLMSG_HDRLEN + GENL_HDRLEN + attr_len.next_multiple_of(4);
        let mut message = Vec::with_capacity(len);
        message.extend_from_slice(&(len as u32).to_ne_bytes());
        message.extend_from_slice(&family.to_ne_bytes());
        message.extend_from_slice(&NLM_F_REQUEST.to_ne_bytes());
        message.extend_from_slice(&1u32.to_ne_bytes()); // sequence
        message.extend_from_slice(&0u32.to_ne_bytes()); // port: the kernel's
        message.extend_from_slice(&[command, 1, 0, 0]); // genlmsghdr: command, version 1
        message.extend_from_slice(&(attr_len as u16).to_ne_bytes());
        message.extend_from_slice(&attr_type.to_ne_bytes());
        message.extend_from_slice(value);
        message.resize(len, 0);
        // SAFETY: sends `message`, valid for its length.
        let sent = unsafe { libc::send(self.0.as_raw_fd(), message.as_ptr().cast(), len, 0) };
        if sent < 0 {
            return Err(std::io::Error::last_os_error())
                .context("sending a generic-netlink request");
        }
        let mut answer = vec![0u8; 16 * 1024];
        // SAFETY: receives into `answer`, valid for its length.
        let received =
            unsafe { libc::recv(self.0.as_raw_fd(), answer.as_mut_ptr().cast(), answer.len(), 0) };
        if received < 0 {
            return Err(std::io::Error::last_os_error())
                .context("reading a generic-netlink answer");
        }
        answer.truncate(received as usize);
        if answer.len() < NLMSG_HDRLEN + 4 {
            bail!("a generic-netlink answer of {} bytes", answer.len());
        }
        if u16::from_ne_bytes([answer[4], answer[5]]) == NLMSG_ERROR {
            let errno = i32::from_ne_bytes(answer[16..20].try_into()?);
            return Err(std::io::Error::from_raw_os_error(-errno).into());
        }
        let end = (u32::from_ne_bytes(answer[..4].try_into()?) as usize).min(answer.len());
        Ok(answer.get(NLMSG_HDRLEN + GENL_HDRLEN..end).unwrap_or_default().to_vec())
    }
}

/// The value of the first attribute of type `wanted` in `attributes`.
fn attribute(attributes: &[u8], wanted: u16) -> Option<&[u8]> {
    let mut rest = attributes;
    while rest.len() >= 4 {
        let len = u16::from_ne_bytes([rest[0], rest[1]]) as usize;
        let kind = u16::from_ne_bytes([rest[2], rest[3]]) & 0x3fff;
        if len < 4 || len > rest.len() {
            return None;
        }
        if kind == wanted {
            return Some(&rest[4..len]);
        }
        rest = rest.get(len.next_multiple_of(4)..).unwrap_or_default();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The instructions at every relocation of [`KFUNC`] in `object`.
    fn kfunc_calls(object: &[u8]) -> Vec<[u8; 8]> {
        let file = object::File::parse(object).unwrap();
        let mut calls = Vec::new();
        for section in file.sections() {
            let Some((start, _)) = section.file_range() else { continue };
            for (offset, relocation) in section.relocations() {
                let RelocationTarget::Symbol(index) = relocation.target() else { continue };
                if file.symbol_by_index(index).unwrap().name().unwrap() == KFUNC {
                    let at = (start + offset) as usize;
                    calls.push(object[at..at + 8].try_into().unwrap());
                }
            }
        }
        calls
    }

    #[test]
    fn the_build_leaves_an_undefined_call_and_the_loader_makes_it_a_kfunc_call() {
        let built = kfunc_calls(crate::xdp::OBJECT);
        assert!(!built.is_empty(), "vrrp_xdp_vlan calls {KFUNC}");
        for call in &built {
            assert_eq!(
                (call[0], call[1] >> 4),
                (BPF_CALL_OPCODE, 1),
                "a BPF_PSEUDO_CALL: {call:x?}"
            );
        }
        let patched = resolve_kfunc_calls(crate::xdp::OBJECT, 0x0102_0304).unwrap();
        assert_eq!(patched.len(), crate::xdp::OBJECT.len());
        let calls = kfunc_calls(&patched);
        assert_eq!(calls.len(), built.len());
        for call in calls {
            assert_eq!(call, [BPF_CALL_OPCODE, BPF_PSEUDO_KFUNC_CALL << 4, 0, 0, 4, 3, 2, 1]);
        }
        let changed = patched.iter().zip(crate::xdp::OBJECT).filter(|(a, b)| a != b).count();
        assert!(changed <= built.len() * 5, "only the calls change ({changed} bytes)");
    }

    #[test]
    fn an_object_that_is_not_elf_is_refused() {
        let error = resolve_kfunc_calls(b"not an object", 1).unwrap_err();
        assert!(format!("{error:#}").contains("reading the BPF object"), "{error:#}");
    }

    fn nlattr(kind: u16, value: &[u8]) -> Vec<u8> {
        let mut attr = Vec::new();
        attr.extend_from_slice(&((4 + value.len()) as u16).to_ne_bytes());
        attr.extend_from_slice(&kind.to_ne_bytes());
        attr.extend_from_slice(value);
        attr.resize(attr.len().next_multiple_of(4), 0);
        attr
    }

    #[test]
    fn attributes_are_found_past_padding_and_never_past_the_end() {
        let mut attributes = nlattr(1, &[7]);
        attributes.extend(nlattr(5 | 0x8000, &4u64.to_ne_bytes()));
        assert_eq!(attribute(&attributes, 1), Some(&[7][..]));
        assert_eq!(attribute(&attributes, 5), Some(&4u64.to_ne_bytes()[..]), "nested flag masked");
        assert_eq!(attribute(&attributes, 2), None);
        let mut truncated = nlattr(3, &[1, 2, 3, 4]);
        truncated.truncate(6);
        assert_eq!(attribute(&truncated, 3), None);
        assert_eq!(attribute(&[0, 0, 1, 0], 1), None, "a zero length ends the walk");
    }
}
