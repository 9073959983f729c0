//! Pinned peer MACs on the socket data path, as the XDP program enforces them.
//!
//! A raw IP socket never shows user space the sender's MAC: recvmsg(2) gives the source IP
//! (and, as ancillary data, the hop limit and destination), and Linux has no control message
//! for the link-layer address (only a packet socket's sockaddr_ll carries it). keepalived
//! reads from such sockets (vrrp.c open_vrrp_read_socket()) and never looks at MACs. What the
//! kernel does offer a raw socket is a classic BPF filter, which reads the frame's link-layer
//! header at `SKF_LL_OFF`: the filter built here compares the source MAC of each pinned
//! peer's packets with the pinned one and, on a mismatch, keeps a single byte of the datagram
//! ([`MISMATCH_LEN`]), which no VRRP packet is as short as: the reader counts it under
//! `mac_mismatch` and drops it. Packets of other senders pass whole.
//!
//! What stays out of reach: the XDP path also notes when an unpinned peer's MAC changes
//! (logged once, `MAC_CHANGED`); a socket filter can judge a MAC but cannot tell user space
//! what it was, so the socket path cannot see such a change.

use std::{io, net::IpAddr, os::fd::AsRawFd};

use socket2::Socket;

/// The length a mismatched datagram is cut to. An IPv4 datagram here holds its 20-byte header
/// and an IPv6 one at least the 8-byte VRRP header, so no real datagram is this short; an
/// IPv6 packet of protocol 112 with a 1-byte payload would be counted as a mismatch rather
/// than as too short, and dropped either way.
pub const MISMATCH_LEN: usize = 1;

// Classic BPF (linux/filter.h): instruction classes, sizes, modes and the ancillary bases.
const BPF_LD: u16 = 0x00;
const BPF_JMP: u16 = 0x05;
const BPF_RET: u16 = 0x06;
const BPF_W: u16 = 0x00;
const BPF_H: u16 = 0x08;
const BPF_ABS: u16 = 0x20;
const BPF_JEQ: u16 = 0x10;
const BPF_K: u16 = 0x00;
const SKF_NET_OFF: i32 = -0x10_0000;
const SKF_LL_OFF: i32 = -0x20_0000;
/// Offset of the source MAC in the Ethernet header.
const ETH_SOURCE: i32 = 6;

const ACCEPT: u32 = u32::MAX;

fn load(size: u16, offset: i32) -> libc::sock_filter {
    // A negative offset reaches the ancillary bases; the kernel reads `k` as signed.
    libc::sock_filter { code: BPF_LD | size | BPF_ABS, jt: 0, jf: 0, k: offset as u32 }
}

fn jump_if_equal(value: u32, jt: u8, jf: u8) -> libc::sock_filter {
    libc::sock_filter { code: BPF_JMP | BPF_JEQ | BPF_K, jt, jf, k: value }
}

fn ret(value: u32) -> libc::sock_filter {
    libc::sock_filter { code: BPF_RET | BPF_K, jt: 0, jf: 0, k: value }
}

/// The filter for a socket whose pinned peers are `pinned`, or `None` when there are none.
/// An IPv4 raw socket's filter sees the IP header first (the source at offset 12); an IPv6
/// one sees the VRRP header, the source then being at `SKF_NET_OFF + 8`.
pub fn program(ipv4: bool, pinned: &[(IpAddr, [u8; 6])]) -> Option<Vec<libc::sock_filter>> {
    if pinned.is_empty() {
        return None;
    }
    let mut code = Vec::new();
    for (address, mac) in pinned {
        let words: Vec<(i32, u32)> = match address {
            IpAddr::V4(v4) if ipv4 => vec![(12, u32::from(*v4))],
            IpAddr::V6(v6) if !ipv4 => v6
                .octets()
                .chunks(4)
                .enumerate()
                .map(|(i, word)| {
                    let value = u32::from_be_bytes([word[0], word[1], word[2], word[3]]);
                    (SKF_NET_OFF + 8 + 4 * i as i32, value)
                })
                .collect(),
            _ => continue,
        };
        // The block: the source, word by word (another sender skips to the next block), then
        // the MAC in two loads, accepted or cut to the mark.
        let block_len = 2 * words.len() + 6;
        for (index, (offset, value)) in words.iter().enumerate() {
            let here = 2 * index + 1;
            let to_next_block = u8::try_from(block_len - here - 1).expect("a short block");
            code.push(load(BPF_W, *offset));
            code.push(jump_if_equal(*value, 0, to_next_block));
        }
        let high = u32::from_be_bytes([mac[0], mac[1], mac[2], mac[3]]);
        let low = u32::from(u16::from_be_bytes([mac[4], mac[5]]));
        code.push(load(BPF_W, SKF_LL_OFF + ETH_SOURCE));
        code.push(jump_if_equal(high, 0, 3));
        code.push(load(BPF_H, SKF_LL_OFF + ETH_SOURCE + 4));
        code.push(jump_if_equal(low, 0, 1));
        code.push(ret(ACCEPT));
        code.push(ret(MISMATCH_LEN as u32));
    }
    code.push(ret(ACCEPT));
    Some(code)
}

/// Puts `program` on `socket` in place of its filter (or takes the filter off for `None`).
pub fn apply(socket: &Socket, program: Option<&[libc::sock_filter]>) -> io::Result<()> {
    let fd = socket.as_raw_fd();
    let status = match program {
        Some(program) => {
            let len = u16::try_from(program.len()).map_err(|_| io::ErrorKind::InvalidInput)?;
            let fprog = libc::sock_fprog { len, filter: program.as_ptr().cast_mut() };
            // SAFETY: fprog points at `program`, alive for the call; the kernel copies it.
            unsafe {
                libc::setsockopt(
                    fd,
                    libc::SOL_SOCKET,
                    libc::SO_ATTACH_FILTER,
                    (&raw const fprog).cast(),
                    std::mem::size_of::<libc::sock_fprog>() as libc::socklen_t,
                )
            }
        }
        None => {
            let unused: libc::c_int = 0;
            // SAFETY: SO_DETACH_FILTER reads no value; a live int is given anyway.
            let status = unsafe {
                libc::setsockopt(
                    fd,
                    libc::SOL_SOCKET,
                    libc::SO_DETACH_FILTER,
                    (&raw const unused).cast(),
                    std::mem::size_of::<libc::c_int>() as libc::socklen_t,
                )
            };
            // No filter to take off is no error.
            if status != 0 && io::Error::last_os_error().raw_os_error() == Some(libc::ENOENT) {
                return Ok(());
            }
            status
        }
    };
    if status == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 0x99];

    /// Runs a program on a datagram as the kernel would, `frame` being the link-layer header
    /// and `network` the IP header the datagram starts at (IPv4) or precedes (IPv6).
    fn run(code: &[libc::sock_filter], frame: &[u8], network: &[u8], data: &[u8]) -> u32 {
        let mut pc = 0;
        let mut a: u32 = 0;
        loop {
            let insn = code[pc];
            match insn.code {
                c if c & 0x07 == BPF_RET => return insn.k,
                c if c & 0x07 == BPF_LD => {
                    let offset = insn.k as i32;
                    let (bytes, at) = if (SKF_LL_OFF..=SKF_LL_OFF + 0xffff).contains(&offset) {
                        (frame, offset - SKF_LL_OFF)
                    } else if offset < 0 {
                        (network, offset - SKF_NET_OFF)
                    } else {
                        (data, offset)
                    };
                    let at = at as usize;
                    let size = if c & 0x18 == BPF_H { 2 } else { 4 };
                    let Some(slice) = bytes.get(at..at + size) else { return 0 };
                    a = slice.iter().fold(0, |acc, byte| acc << 8 | u32::from(*byte));
                    pc += 1;
                }
                _ => {
                    pc += 1 + usize::from(if a == insn.k { insn.jt } else { insn.jf });
                }
            }
        }
    }

    fn frame(mac: [u8; 6]) -> Vec<u8> {
        let mut frame = vec![0x01, 0, 0x5e, 0, 0, 0x12];
        frame.extend_from_slice(&mac);
        frame.extend_from_slice(&[0x08, 0x00]);
        frame
    }

    fn ipv4_header(source: [u8; 4]) -> Vec<u8> {
        let mut header = vec![0x45, 0, 0, 40, 0, 0, 0, 0, 255, 112, 0, 0];
        header.extend_from_slice(&source);
        header.extend_from_slice(&[224, 0, 0, 18]);
        header
    }

    #[test]
    fn no_pinned_peer_no_filter() {
        assert!(program(true, &[]).is_none());
        // A peer of the other family leaves only the final accept.
        let v6 = program(true, &[("2001:db8::2".parse().unwrap(), MAC)]).unwrap();
        assert_eq!(v6.len(), 1);
    }

    #[test]
    fn ipv4_a_pinned_peer_from_another_mac_is_cut_to_the_mark() {
        let peers = [("192.0.2.9".parse().unwrap(), [9; 6]), ("192.0.2.2".parse().unwrap(), MAC)];
        let code = program(true, &peers).unwrap();
        let packet = ipv4_header([192, 0, 2, 2]);
        assert_eq!(run(&code, &frame(MAC), &packet, &packet), ACCEPT, "its own MAC");
        let forged = run(&code, &frame([0x02, 0, 0, 0, 0, 0x98]), &packet, &packet);
        assert_eq!(forged, MISMATCH_LEN as u32, "another MAC");
        let forged_high = run(&code, &frame([0x03, 0, 0, 0, 0, 0x99]), &packet, &packet);
        assert_eq!(forged_high, MISMATCH_LEN as u32);
        let other = ipv4_header([192, 0, 2, 3]);
        assert_eq!(run(&code, &frame([7; 6]), &other, &other), ACCEPT, "not a pinned peer");
        assert_eq!(run(&code, &frame([9; 6]), &ipv4_header([192, 0, 2, 9]), &other), ACCEPT);
    }

    #[test]
    fn ipv6_the_source_is_read_from_the_network_header() {
        let peer: std::net::Ipv6Addr = "fe80::2".parse().unwrap();
        let code = program(false, &[(IpAddr::V6(peer), MAC)]).unwrap();
        let header = |source: std::net::Ipv6Addr| {
            let mut header = vec![0x60, 0, 0, 0, 0, 8, 112, 255];
            header.extend_from_slice(&source.octets());
            header.extend_from_slice(&[0xff, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x12]);
            header
        };
        let vrrp = [0x31, 1, 100, 0, 0, 100, 0, 0];
        assert_eq!(run(&code, &frame(MAC), &header(peer), &vrrp), ACCEPT);
        let forged = run(&code, &frame([2; 6]), &header(peer), &vrrp);
        assert_eq!(forged, MISMATCH_LEN as u32);
        let other = header("fe80::3".parse().unwrap());
        assert_eq!(run(&code, &frame([2; 6]), &other, &vrrp), ACCEPT);
    }
}
