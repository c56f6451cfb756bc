//! BlazeFace's kernels besides the matrix products and the depthwise conv (shared with the
//! object detector, `crate::detect::dw`): 2x2 max pool, ReLU and channel zero-padding, NHWC.

use pulp::{Arch, Simd, WithSimd};

use crate::buf::Floats;
use crate::kernels::Shape;

/// `x = max(x, 0)` in place.
pub fn relu(x: &mut [f32]) {
    struct Relu<'a>(&'a mut [f32]);
    impl WithSimd for Relu<'_> {
        type Output = ();
        #[inline(always)]
        fn with_simd<S: Simd>(self, _: S) {
            self.0.iter_mut().for_each(|v| *v = v.max(0.0));
        }
    }
    Arch::new().dispatch(Relu(x));
}

/// 2x2 max pool, stride 2 (even sides in this network), into `out` (reused).
pub fn max_pool(x: &[f32], s: Shape, out: &mut impl Floats) -> Shape {
    let (oh, ow, c) = (s.h / 2, s.w / 2, s.c);
    out.clear();
    out.resize(s.n * oh * ow * c, f32::NEG_INFINITY);
    for (i, o) in out.chunks_exact_mut(c).enumerate() {
        let (n, oy, ox) = (i / (oh * ow), i / ow % oh, i % ow);
        for (dy, dx) in [(0, 0), (0, 1), (1, 0), (1, 1)] {
            let at = ((n * s.h + 2 * oy + dy) * s.w + 2 * ox + dx) * c;
            o.iter_mut()
                .zip(&x[at..at + c])
                .for_each(|(m, &v)| *m = m.max(v));
        }
    }
    Shape { h: oh, w: ow, ..s }
}

/// Zero-pads every pixel's channels from `s.c` to `c`, into `out` (reused).
pub fn pad_channels(x: &[f32], s: Shape, c: usize, out: &mut impl Floats) -> Shape {
    out.clear();
    out.resize(x.len() / s.c * c, 0.0);
    for (d, px) in out.chunks_exact_mut(c).zip(x.chunks_exact(s.c)) {
        d[..s.c].copy_from_slice(px);
    }
    Shape { c, ..s }
}
