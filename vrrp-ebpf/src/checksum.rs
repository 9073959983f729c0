//! The Internet checksum (RFC 1071) over packet memory, in loops the verifier can bound.
//!
//! Words are summed in memory order, without byte swaps: a ones'-complement sum of swapped
//! words is the swapped sum (RFC 1071 §2(B)), and a valid sum folds to 0xffff either way.

use aya_ebpf::helpers::bpf_csum_diff;
use vrrp_common::Counter;

use crate::{packet::Packet, parse::Window};

/// The longest VRRP message: VRRPv3 over IPv6 with 255 addresses (8 + 255 * 16 bytes).
const MAX_MESSAGE_LEN: usize = 8 + 255 * 16;
/// Bytes summed per call of the kernel's `csum_partial` (through `bpf_csum_diff`), for long
/// messages: a call costs more than summing a short message here, and is far cheaper than
/// summing a long one. A multiple of four, at most 512 (older kernels' limit).
const KERNEL_BLOCK: usize = 512;
/// Bytes summed per bounds check in the loop here.
const BLOCK: usize = 32;

/// Sum of the `len` bytes (even) at `at` in `window`, not folded.
#[inline(always)]
pub fn words(window: Window, at: usize, len: usize) -> u32 {
    let mut sum = 0u32;
    let mut index = 0;
    while index < len {
        sum += u32::from(window.ne16(at + index));
        index += 2;
    }
    sum
}

/// Sum of the words of the `len`-byte message at `offset`; `len` is a multiple of four (the
/// caller has checked it against the address count, and every VRRP message length is).
#[inline(always)]
pub fn message(ctx: &impl Packet, offset: usize, len: usize) -> Result<u32, Counter> {
    let mut sum = 0u32;
    let mut done = 0;
    for _ in 0..MAX_MESSAGE_LEN / KERNEL_BLOCK {
        if done + KERNEL_BLOCK > len {
            break;
        }
        let block = Window::new(ctx, offset + done, KERNEL_BLOCK).ok_or(Counter::Truncated)?;
        // SAFETY: the helper reads the checked window only; no `from` buffer.
        let partial = unsafe {
            bpf_csum_diff(core::ptr::null_mut(), 0, block.as_ptr(), KERNEL_BLOCK as u32, 0)
        };
        // A 32-bit partial sum in memory order (folded to 16 bits on some kernels): fold it so
        // the additions here cannot overflow.
        sum += fold(partial as u32);
        done += KERNEL_BLOCK;
    }
    for _ in 0..KERNEL_BLOCK / BLOCK {
        if done + BLOCK > len {
            break;
        }
        let block = Window::new(ctx, offset + done, BLOCK).ok_or(Counter::Truncated)?;
        sum += words(block, 0, BLOCK);
        done += BLOCK;
    }
    // The rest, under a block: four bytes at a time.
    for _ in 0..BLOCK / 4 {
        if done >= len {
            break;
        }
        let word_pair = Window::new(ctx, offset + done, 4).ok_or(Counter::Truncated)?;
        sum += words(word_pair, 0, 4);
        done += 4;
    }
    Ok(sum)
}

/// Whether a sum that includes the transmitted checksum folds to all ones.
#[inline(always)]
pub fn is_valid(sum: u32) -> bool {
    fold(sum) == 0xffff
}

/// The ones'-complement sum in 16 bits.
#[inline(always)]
fn fold(sum: u32) -> u32 {
    let folded = (sum & 0xffff) + (sum >> 16);
    (folded & 0xffff) + (folded >> 16)
}
