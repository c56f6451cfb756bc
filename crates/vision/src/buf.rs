//! [`Buf`]: the detectors' float buffers, whose contents start on a cache-line boundary.
//!
//! The allocator aligns to 16 bytes (blocks of 128 KB or more sit 16 bytes past a page
//! boundary), so in a map with whole vectors of channels per pixel every 64-byte vector load
//! straddled two cache lines, and each such load costs two: the depthwise kernel, which loads
//! every input vector in place, ran ~1.5x slower on misaligned maps (`bench/README.md`,
//! "Detection cost", ninth session). A `Buf` keeps up to a line of spare floats in front of its
//! contents and starts them at the first line boundary of its allocation. The products are
//! indifferent (they broadcast single floats of their left operand).

use std::ops::{Deref, DerefMut};

/// Floats in a 64-byte cache line.
const LINE: usize = 16;

/// A growable float buffer starting on a cache-line boundary; derefs to its contents.
#[derive(Clone, Debug, Default)]
pub struct Buf {
    v: Vec<f32>,
    /// Where the contents start in `v`, and their length.
    off: usize,
    len: usize,
}

/// A growable float buffer: `Vec<f32>` or [`Buf`], for kernels that fill either. The methods
/// are `Vec`'s.
pub trait Floats: DerefMut<Target = [f32]> {
    fn resize(&mut self, len: usize, value: f32);
    /// For kernels that then write every element: [`Floats::resize`] without setting the new
    /// elements, which keep whatever the buffer held (stale floats, never uninitialised
    /// memory). A pool buffer grows whenever it next holds a bigger value, and the zero fills
    /// cost ~2 % of a tagging pass.
    fn resize_to_write(&mut self, len: usize);
    fn clear(&mut self);
    fn extend_from_slice(&mut self, items: &[f32]);
    fn reserve(&mut self, extra: usize);
    /// Appends `items`, of known length.
    fn extend<I>(&mut self, items: I)
    where
        I: IntoIterator<Item = f32>,
        I::IntoIter: ExactSizeIterator;
}

impl Floats for Vec<f32> {
    fn resize(&mut self, len: usize, value: f32) {
        Vec::resize(self, len, value);
    }

    fn resize_to_write(&mut self, len: usize) {
        Vec::resize(self, len, 0.0);
    }

    fn clear(&mut self) {
        Vec::clear(self);
    }

    fn extend_from_slice(&mut self, items: &[f32]) {
        Vec::extend_from_slice(self, items);
    }

    fn reserve(&mut self, extra: usize) {
        Vec::reserve(self, extra);
    }

    fn extend<I>(&mut self, items: I)
    where
        I: IntoIterator<Item = f32>,
        I::IntoIter: ExactSizeIterator,
    {
        Extend::extend(self, items);
    }
}

impl Floats for Buf {
    fn resize(&mut self, len: usize, value: f32) {
        let (keep, grown) = (self.len.min(len), self.v.len());
        self.set_len(len);
        // What the allocation grew by is zeros already.
        let end = match value.to_bits() == 0 {
            true => grown.saturating_sub(self.off).clamp(keep, len),
            false => len,
        };
        self.v[self.off + keep..self.off + end].fill(value);
    }

    fn resize_to_write(&mut self, len: usize) {
        self.set_len(len);
    }

    fn clear(&mut self) {
        self.len = 0;
    }

    fn extend_from_slice(&mut self, items: &[f32]) {
        let n = self.len;
        self.set_len(n + items.len());
        self[n..].copy_from_slice(items);
    }

    /// Room for `extra` more without moving (so without realigning) later.
    fn reserve(&mut self, extra: usize) {
        let n = self.len;
        self.set_len(n + extra);
        self.len = n;
    }

    /// Written once (no fill first).
    fn extend<I>(&mut self, items: I)
    where
        I: IntoIterator<Item = f32>,
        I::IntoIter: ExactSizeIterator,
    {
        let items = items.into_iter();
        let n = self.len;
        self.set_len(n + items.len());
        for (d, x) in self[n..].iter_mut().zip(items) {
            *d = x;
        }
    }
}

impl Buf {
    /// Resizes to `len` without filling: contents kept up to `len`, past them whatever the
    /// allocation held (always initialised floats). Realigns when a reallocation moved them.
    fn set_len(&mut self, len: usize) {
        let keep = self.len.min(len);
        if self.v.len() < len + LINE - 1 {
            self.v.resize(len + LINE - 1, 0.0);
        }
        let off = (self.v.as_ptr() as usize / size_of::<f32>()).wrapping_neg() % LINE;
        if off != self.off {
            self.v.copy_within(self.off..self.off + keep, off);
            self.off = off;
        }
        self.len = len;
    }
}

impl From<Vec<f32>> for Buf {
    /// The vector's contents, moved to a line boundary (at most 15 floats over).
    fn from(v: Vec<f32>) -> Self {
        let mut b = Buf {
            len: v.len(),
            v,
            off: 0,
        };
        b.set_len(b.len);
        b
    }
}

impl Deref for Buf {
    type Target = [f32];
    fn deref(&self) -> &[f32] {
        &self.v[self.off..self.off + self.len]
    }
}

impl DerefMut for Buf {
    fn deref_mut(&mut self) -> &mut [f32] {
        &mut self.v[self.off..self.off + self.len]
    }
}

impl<'a> IntoIterator for &'a Buf {
    type Item = &'a f32;
    type IntoIter = std::slice::Iter<'a, f32>;
    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn on_a_line(b: &Buf) -> bool {
        (b.as_ptr() as usize).is_multiple_of(64)
    }

    /// Growing (reallocating), shrinking and appending keep the contents, as a `Vec` would,
    /// and every state starts on a line boundary.
    #[test]
    fn behaves_like_a_vec_on_a_line_boundary() {
        let mut b = Buf::default();
        let mut v: Vec<f32> = Vec::new();
        for round in 0..40 {
            let len = (round * 7919) % 50_000;
            // Zeros (the fill a grown allocation skips) in every other round.
            let x = (round % 2 * round) as f32;
            Floats::resize(&mut b, len, x);
            v.resize(len, x);
            assert!(on_a_line(&b), "round {round}");
            let tail: Vec<f32> = (0..round * 13).map(|i| i as f32).collect();
            b.extend_from_slice(&tail);
            v.extend_from_slice(&tail);
            b.extend(tail.iter().map(|t| -t));
            Extend::extend(&mut v, tail.iter().map(|t| -t));
            assert_eq!(&b[..], &v[..], "round {round}");
            if round % 5 == 0 {
                b.clear();
                v.clear();
            }
        }
        // Kept up to the new length; the rest is the kernel's to write.
        let keep = b.len().min(1000);
        b.resize_to_write(100_000);
        assert!(on_a_line(&b));
        assert_eq!(&b[..keep], &v[..keep]);
        let from = Buf::from(vec![1.0, 2.0, 3.0]);
        assert!(on_a_line(&from));
        assert_eq!(&from[..], &[1.0, 2.0, 3.0]);
    }
}
