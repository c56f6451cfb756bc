//! Huffman decoding for the DC-only path: DC differences are decoded, AC coefficients are only
//! skipped (code and extra bits consumed in one table lookup, never dequantised or stored).

/// Code prefixes resolved by one table lookup; longer codes take the canonical slow path.
const FAST_BITS: u32 = 12;

/// The AC skip entry for the `FAST_BITS` bits `p`: whole (run, size) symbols while they fit,
/// or the first symbol alone with extra bits reaching past `p`.
fn skip_entry(fast: &[u16], p: u32) -> u16 {
    let (mut used, mut adv) = (0u32, 0u32);
    while used < FAST_BITS {
        // The next code, left-aligned in the lookup window (unknown bits read as zeros).
        let e = fast[((p << used) & ((1 << FAST_BITS) - 1)) as usize];
        let len = u32::from(e >> 8);
        if e == 0 || used + len > FAST_BITS {
            break;
        }
        let (run, size) = (u32::from(e as u8 >> 4), u32::from(e as u8 & 15));
        let step = match (run, size) {
            (0, 0) => return ((used + len) | (adv << 5) | (1 << 12)) as u16,
            (15, 0) => 16,
            (_, 0) => break, // invalid as AC symbol: the slow path reports it
            _ => run + 1,
        };
        if used + len + size > FAST_BITS && used > 0 {
            break;
        }
        used += len + size;
        adv += step;
    }
    if used == 0 {
        0
    } else {
        (used | (adv << 5)) as u16
    }
}

/// One Huffman table with two lookup tables over the next `FAST_BITS` bits.
pub struct Table {
    /// `len << 8 | symbol`, 0 when the code is longer than `FAST_BITS`.
    fast: Vec<u16>,
    /// AC skipping: `bits to consume | coefficients to advance << 5 | end-of-block << 12`, 0 on
    /// miss. One entry covers every whole symbol (code and extra bits) in the looked-up bits.
    skip: Vec<u16>,
    /// Largest code of each length (index 1..=16), -1 if none.
    maxcode: [i32; 17],
    /// `values` index minus first code of each length.
    offset: [i32; 17],
    values: Vec<u8>,
}

impl Table {
    /// Builds a table from the DHT counts per code length (1..=16) and the symbols.
    pub fn new(counts: &[u8; 16], values: &[u8]) -> Option<Table> {
        let total: usize = counts.iter().map(|&c| usize::from(c)).sum();
        if total > 256 || values.len() != total {
            return None;
        }
        let mut fast = vec![0u16; 1 << FAST_BITS];
        let (mut maxcode, mut offset) = ([-1i32; 17], [0i32; 17]);
        let (mut code, mut k) = (0u32, 0usize);
        for len in 1..=16u32 {
            let n = usize::from(counts[len as usize - 1]);
            offset[len as usize] = k as i32 - code as i32;
            for _ in 0..n {
                if code >= 1 << len {
                    return None; // over-subscribed code space
                }
                if len <= FAST_BITS {
                    let first = (code << (FAST_BITS - len)) as usize;
                    let entry = (len << 8) as u16 | u16::from(values[k]);
                    fast[first..first + (1 << (FAST_BITS - len))].fill(entry);
                }
                code += 1;
                k += 1;
            }
            if n > 0 {
                maxcode[len as usize] = code as i32 - 1;
            }
            code <<= 1;
        }
        let skip = (0..1u32 << FAST_BITS)
            .map(|p| skip_entry(&fast, p))
            .collect();
        Some(Table {
            fast,
            skip,
            maxcode,
            offset,
            values: values.to_vec(),
        })
    }

    fn decode_slow(&self, bits: &mut Bits<'_>) -> Option<u8> {
        let peek = bits.peek(16) as i32;
        for len in FAST_BITS + 1..=16 {
            let code = peek >> (16 - len);
            if code <= self.maxcode[len as usize] {
                bits.consume(len);
                return self
                    .values
                    .get((code + self.offset[len as usize]) as usize)
                    .copied();
            }
        }
        None
    }

    #[inline(always)]
    fn decode(&self, bits: &mut Bits<'_>) -> Option<u8> {
        let e = self.fast[bits.peek(FAST_BITS) as usize];
        if e != 0 {
            bits.consume(u32::from(e >> 8));
            return Some(e as u8);
        }
        self.decode_slow(bits)
    }
}

/// MSB-first bit reader over destuffed entropy-coded bytes; reads past the end yield zeros and
/// are detected by [`Bits::overrun`].
pub struct Bits<'a> {
    data: &'a [u8],
    pos: usize,
    buf: u64,
    n: u32,
}

impl<'a> Bits<'a> {
    pub fn new(data: &'a [u8]) -> Self {
        Bits {
            data,
            pos: 0,
            buf: 0,
            n: 0,
        }
    }

    /// Tops the buffer up to at least 56 bits (branch-free refill of whole bytes).
    #[inline(always)]
    fn refill(&mut self) {
        let next = match self.data.get(self.pos..self.pos + 8) {
            Some(s) => u64::from_be_bytes(s.try_into().expect("8 bytes")),
            None => self.tail(),
        };
        self.buf |= next >> self.n;
        self.pos += (63 - self.n as usize) >> 3;
        self.n |= 56;
    }

    /// The last bytes, zero-padded (past the end: zeros).
    #[cold]
    fn tail(&self) -> u64 {
        let mut b = [0u8; 8];
        let tail = self.data.get(self.pos..).unwrap_or_default();
        b[..tail.len()].copy_from_slice(tail);
        u64::from_be_bytes(b)
    }

    #[inline(always)]
    fn peek(&self, k: u32) -> u32 {
        (self.buf >> (64 - k)) as u32
    }

    #[inline(always)]
    fn consume(&mut self, k: u32) {
        self.buf <<= k;
        self.n -= k;
    }

    /// True when more bits were consumed than the data holds.
    pub fn overrun(&self) -> bool {
        (self.pos * 8).saturating_sub(self.n as usize) > self.data.len() * 8
    }

    /// Decodes one 8x8 block and returns its DC difference; AC coefficients are skipped.
    #[inline(always)]
    pub fn block_dc(&mut self, dc: &Table, ac: &Table) -> Option<i32> {
        let diff = self.dc(dc)?;
        self.skip_ac(ac, 1).then_some(diff)
    }

    /// One bit (a progressive DC refinement scan's bit of a block).
    #[inline(always)]
    pub fn bit(&mut self) -> u32 {
        if self.n < 32 {
            self.refill();
        }
        let b = self.peek(1);
        self.consume(1);
        b
    }

    /// A block's DC difference (a baseline block's first symbols; all of a block in a
    /// progressive DC scan).
    #[inline(always)]
    pub fn dc(&mut self, dc: &Table) -> Option<i32> {
        if self.n < 32 {
            self.refill();
        }
        let size = u32::from(dc.decode(self)?);
        if size > 11 {
            return None;
        }
        Some(self.value(size))
    }

    /// The next `size`-bit coefficient value (at most 16 bits, after a refill).
    #[inline(always)]
    fn value(&mut self, size: u32) -> i32 {
        if size == 0 {
            return 0;
        }
        let v = self.peek(size) as i32;
        self.consume(size);
        // JPEG's "extend": a leading 0 bit marks a negative value.
        if v < 1 << (size - 1) {
            v - (1 << size) + 1
        } else {
            v
        }
    }

    /// Decodes one baseline block and returns its DC difference and its AC coefficients at
    /// zigzag positions 1, 2 and 4 (the 2x2 lowest frequencies, what a 1/4-scale IDCT reads);
    /// the others are skipped.
    #[inline(always)]
    pub fn block_low(&mut self, dc: &Table, ac: &Table) -> Option<(i32, [i32; 3])> {
        let diff = self.dc(dc)?;
        let mut low = [0i32; 3];
        let mut k = 1u32;
        while k <= 4 {
            if self.n < 32 {
                self.refill();
            }
            let sym = ac.decode(self)?;
            let (run, size) = (u32::from(sym >> 4), u32::from(sym & 15));
            match (run, size) {
                (0, 0) => return Some((diff, low)),
                (15, 0) => k += 16,
                (_, 0) => return None,
                _ => {
                    k += run;
                    let v = self.value(size);
                    match k {
                        1 => low[0] = v,
                        2 => low[1] = v,
                        4 => low[2] = v,
                        _ => {}
                    }
                    k += 1;
                }
            }
        }
        self.skip_ac(ac, k).then_some((diff, low))
    }

    /// Skips a baseline block's AC coefficients from zigzag position `k` on; false on a
    /// malformed run.
    #[inline(always)]
    fn skip_ac(&mut self, ac: &Table, mut k: u32) -> bool {
        while k < 64 {
            if self.n < 32 {
                self.refill();
            }
            let e = u32::from(ac.skip[self.peek(FAST_BITS) as usize]);
            let (adv, eob) = ((e >> 5) & 127, (e >> 12) & 1);
            // A multi-symbol entry must not run past this block's 64th coefficient: the bits
            // after it belong to the next block.
            if e != 0 && k + adv + eob <= 64 {
                self.consume(e & 31);
                k += adv;
                if eob != 0 {
                    break;
                }
                continue;
            }
            let Some(sym) = ac.decode(self) else {
                return false;
            };
            let (run, size) = (u32::from(sym >> 4), u32::from(sym & 15));
            match (run, size) {
                (0, 0) => break,
                (15, 0) => k += 16,
                (_, 0) => return false,
                _ => {
                    self.consume(size);
                    k += run + 1;
                }
            }
        }
        k <= 64
    }
}
