//! Byte search tuned for FTP's short lines.
//!
//! `memchr` is fastest on long haystacks but pays a fixed set-up cost per
//! call, which dominates on command lines of 10 to 40 bytes. These helpers
//! test eight bytes at a time in a `u64` (SWAR) for the first bytes and hand
//! longer searches to `memchr`.

const LO: u64 = 0x0101_0101_0101_0101;
const HI: u64 = 0x8080_8080_8080_8080;

/// Where SWAR stops and `memchr` takes over.
const SHORT: usize = 64;

/// Bytes equal to `needle` in `word` have their high bit set in the result;
/// the lowest set bit marks the first match exactly (borrows only propagate
/// upwards, past it).
#[inline(always)]
pub(crate) fn matches(word: u64, needle: u8) -> u64 {
    let x = word ^ (LO * u64::from(needle));
    x.wrapping_sub(LO) & !x & HI
}

/// Bytes below `limit` (at most 0x80) in `word` have their high bit set in
/// the result; as in [`matches`], the lowest set bit is exact.
#[inline(always)]
fn below(word: u64, limit: u8) -> u64 {
    word.wrapping_sub(LO * u64::from(limit)) & !word & HI
}

/// The index of the first byte below `limit` (at most 0x80) in `hay`: one
/// test per word finds the first control character, so a line's CR and LF
/// cost one search, not two. Two words a step, each with its own exit (the
/// step's bounds check and count are shared), to the end: there is no
/// "below" search in `memchr` to hand a long line to. (Testing both words
/// together, by SWAR or by an SSE2 compare, measured slower on the
/// benchmark's lines: more work per line than the branch it saves.)
#[inline]
pub(crate) fn find_below(hay: &[u8], limit: u8) -> Option<usize> {
    debug_assert!(limit <= 0x80);
    let word = |bytes: &[u8]| below(u64::from_le_bytes(bytes.try_into().expect("eight bytes")), limit);
    let at = |base: usize, marks: u64| Some(base + (marks.trailing_zeros() / 8) as usize);
    let mut blocks = hay.chunks_exact(32);
    let mut base = 0;
    for block in &mut blocks {
        for (i, w) in block.chunks_exact(8).enumerate() {
            let m = word(w);
            if m != 0 {
                return at(base + 8 * i, m);
            }
        }
        base += 32;
    }
    for w in blocks.remainder().chunks_exact(8) {
        let m = word(w);
        if m != 0 {
            return at(base, m);
        }
        base += 8;
    }
    hay[base..].iter().position(|&b| b < limit).map(|i| base + i)
}

/// The index of the first `needle` in `hay`.
#[inline]
pub(crate) fn find(hay: &[u8], needle: u8) -> Option<usize> {
    let head = &hay[..hay.len().min(SHORT)];
    let mut chunks = head.chunks_exact(8);
    let mut base = 0;
    for chunk in &mut chunks {
        let word = u64::from_le_bytes(chunk.try_into().expect("eight bytes"));
        let m = matches(word, needle);
        if m != 0 {
            return Some(base + (m.trailing_zeros() / 8) as usize);
        }
        base += 8;
    }
    if let Some(i) = chunks.remainder().iter().position(|&b| b == needle) {
        return Some(base + i);
    }
    if hay.len() > SHORT {
        return memchr::memchr(needle, &hay[SHORT..]).map(|i| i + SHORT);
    }
    None
}

/// The index of the first `a` or `b` in `hay`.
#[inline]
pub(crate) fn find2(hay: &[u8], a: u8, b: u8) -> Option<usize> {
    let head = &hay[..hay.len().min(SHORT)];
    let mut chunks = head.chunks_exact(8);
    let mut base = 0;
    for chunk in &mut chunks {
        let word = u64::from_le_bytes(chunk.try_into().expect("eight bytes"));
        let m = matches(word, a) | matches(word, b);
        if m != 0 {
            return Some(base + (m.trailing_zeros() / 8) as usize);
        }
        base += 8;
    }
    if let Some(i) = chunks.remainder().iter().position(|&x| x == a || x == b) {
        return Some(base + i);
    }
    if hay.len() > SHORT {
        return memchr::memchr2(a, b, &hay[SHORT..]).map(|i| i + SHORT);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agrees_with_memchr() {
        let mut hay = alloc::vec::Vec::new();
        for len in 0..200usize {
            hay.clear();
            hay.extend((0..len).map(|i| (i % 251) as u8 | 0x20));
            for pos in 0..=len {
                let mut h = hay.clone();
                if pos < len {
                    h[pos] = b'\n';
                }
                assert_eq!(find(&h, b'\n'), memchr::memchr(b'\n', &h), "len {len} pos {pos}");
                assert_eq!(find2(&h, b'\r', b'\n'), memchr::memchr2(b'\r', b'\n', &h));
                assert_eq!(find_below(&h, 0x0E), h.iter().position(|&b| b < 0x0E));
                // 0x80 and 0xFF around the needle must not fool the borrow trick.
                if pos > 0 && pos < len {
                    h[pos - 1] = 0xFF;
                    assert_eq!(find(&h, b'\n'), memchr::memchr(b'\n', &h));
                    assert_eq!(find(&h, 0xFF), memchr::memchr(0xFF, &h));
                    assert_eq!(find_below(&h, 0x0E), h.iter().position(|&b| b < 0x0E));
                    h[pos - 1] = 0x0B;
                    assert_eq!(find(&h, b'\n'), memchr::memchr(b'\n', &h));
                    assert_eq!(find_below(&h, 0x0E), h.iter().position(|&b| b < 0x0E));
                }
            }
        }
    }
}
