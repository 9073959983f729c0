//! The Internet checksum (RFC 1071) over packet memory, in a loop the verifier can bound.

use aya_ebpf::programs::XdpContext;
use vrrp_common::Counter;

use crate::parse::bytes;

/// The longest VRRP message: VRRPv3 over IPv6 with 255 addresses (8 + 255 * 16 bytes).
const MAX_MESSAGE_WORDS: usize = (8 + 255 * 16) / 4;

/// Sum of the big-endian 16-bit words of `data` (even length), not folded.
#[inline(always)]
pub fn words(data: &[u8]) -> u32 {
    let mut sum = 0u32;
    let mut index = 0;
    while index + 1 < data.len() {
        sum += u32::from(u16::from_be_bytes([data[index], data[index + 1]]));
        index += 2;
    }
    sum
}

/// Sum of the words of the `len`-byte message at `offset`; `len` is a multiple of four (the
/// caller has checked it against the address count, and every VRRP message length is).
#[inline(always)]
pub fn message(ctx: &XdpContext, offset: usize, len: usize) -> Result<u32, Counter> {
    let mut sum = 0u32;
    for word in 0..MAX_MESSAGE_WORDS {
        if word * 4 >= len {
            break;
        }
        let Some(bytes) = bytes::<4>(ctx, offset + word * 4) else {
            return Err(Counter::Truncated);
        };
        sum += u32::from(u16::from_be_bytes([bytes[0], bytes[1]]))
            + u32::from(u16::from_be_bytes([bytes[2], bytes[3]]));
    }
    Ok(sum)
}

/// Whether a sum that includes the transmitted checksum folds to all ones.
#[inline(always)]
pub fn is_valid(sum: u32) -> bool {
    let folded = (sum & 0xffff) + (sum >> 16);
    let folded = (folded & 0xffff) + (folded >> 16);
    folded == 0xffff
}
