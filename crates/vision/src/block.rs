//! One MBConv block on a wide feature map, computed row by row so that its large intermediate
//! tensors never leave the cache: each task keeps a ring of the `k` padded, expanded (and
//! activated) input rows the depthwise kernel needs, expands a new input row only when the
//! window moves past it, and projects a few depthwise output rows at a time straight into the
//! block's output (with the residual add). Layer at a time, the expanded map (up to 5 MB per
//! image) would be written and read back once more, and the depthwise output too.

use pulp::Arch;
use rayon::prelude::*;

use crate::gemm::{Epilogue, Packed};
use crate::kernels::{relu6_copy, same_padding, Depthwise, Shape, MAX_K};

/// Depthwise output rows (pixels) gathered per projection product: enough rows for the GEMM
/// tiles to pay off, few enough to stay in cache.
const GROUP_PIXELS: usize = 56;

/// Per-task buffers, reused across blocks and images.
#[derive(Default)]
pub struct Scratch {
    ring: Vec<f32>,
    dw: Vec<f32>,
}

/// The block's weights.
pub struct Parts<'a> {
    /// The expansion conv (for block 0: the stem over im2col rows); `None` copies with ReLU6.
    pub expand: Option<&'a Packed>,
    pub dw: &'a Depthwise,
    pub project: &'a Packed,
    pub residual: bool,
}

/// Runs the block on `x` (`s`), writing `[n, oh, ow, C_out]` into `out`; returns that shape.
pub fn run(
    p: &Parts<'_>,
    x: &[f32],
    s: Shape,
    out: &mut Vec<f32>,
    scratch: &mut Vec<Scratch>,
) -> Shape {
    let (k, stride) = (p.dw.k, p.dw.stride);
    let (_, _, oh) = same_padding(s.h, k, stride);
    let (_, _, ow) = same_padding(s.w, k, stride);
    let cout = p.project.n;
    out.resize(s.n * oh * ow * cout, 0.0);
    // Bands of output rows: whole images when there are enough for the workers, else slices
    // (each band re-expands the k - stride input rows it shares with the band above).
    let group = (GROUP_PIXELS / ow).clamp(1, oh);
    let bands = rayon::current_num_threads().div_ceil(s.n);
    let band_rows = oh.div_ceil(bands).next_multiple_of(group);
    let tasks: Vec<(usize, usize, &mut [f32])> = out
        .chunks_mut(oh * ow * cout)
        .enumerate()
        .flat_map(|(n, img)| {
            img.chunks_mut(band_rows * ow * cout)
                .enumerate()
                .map(move |(b, o)| (n, b * band_rows, o))
        })
        .collect();
    if scratch.len() < tasks.len() {
        scratch.resize_with(tasks.len(), Scratch::default);
    }
    let arch = Arch::new();
    tasks
        .into_par_iter()
        .zip(scratch.par_iter_mut())
        .for_each(|((n, oy0, o), sc)| band(p, arch, x, s, n, oy0, group, o, sc));
    Shape {
        n: s.n,
        h: oh,
        w: ow,
        c: cout,
    }
}

/// Output rows `oy0..` of image `n` into `o` (whole rows of `[ow, C_out]`).
#[allow(clippy::too_many_arguments)]
fn band(
    p: &Parts<'_>,
    arch: Arch,
    x: &[f32],
    s: Shape,
    n: usize,
    oy0: usize,
    group: usize,
    o: &mut [f32],
    sc: &mut Scratch,
) {
    let (k, stride) = (p.dw.k, p.dw.stride);
    let (pt, _, _) = same_padding(s.h, k, stride);
    let (pl, pr, ow) = same_padding(s.w, k, stride);
    let ce = p.expand.map_or(s.c, |e| e.n);
    let (row_len, cout) = ((s.w + pl + pr) * ce, p.project.n);
    sc.ring.resize(k * row_len, 0.0);
    sc.dw.resize(group * ow * (ce + 1), 0.0);
    // Which padded input row each ring slot holds (slot = row % k); none yet.
    let mut held = [usize::MAX; MAX_K];
    let image = &x[n * s.h * s.w * s.c..][..s.h * s.w * s.c];
    let rows = o.len() / (ow * cout);
    for g0 in (0..rows).step_by(group) {
        let g = group.min(rows - g0);
        for (i, dwrow) in sc.dw.chunks_exact_mut(ow * (ce + 1)).take(g).enumerate() {
            let first = (oy0 + g0 + i) * stride;
            for py in first..first + k {
                let slot = py % k;
                if held[slot] != py {
                    let dst = &mut sc.ring[slot * row_len..][..row_len];
                    fill(p, arch, image, s, py.checked_sub(pt), (pl, ce), dst);
                    held[slot] = py;
                }
            }
            let ring = &sc.ring;
            let window: [&[f32]; MAX_K] = std::array::from_fn(|ky| match ky < k {
                true => &ring[(first + ky) % k * row_len..][..row_len],
                false => &[][..],
            });
            p.dw.row(arch, &window, ce, dwrow);
        }
        let m = g * ow;
        let dst = &mut o[g0 * ow * cout..][..m * cout];
        // A residual block keeps the map's shape, so its input rows line up with the output's.
        let epi = match p.residual {
            true => Epilogue::Residual(&image[(oy0 + g0) * ow * cout..][..m * cout]),
            false => Epilogue::Store,
        };
        p.project.gemm(arch, &sc.dw[..m * (ce + 1)], dst, epi);
    }
}

/// Padded input row `iy` (`None` or past the bottom: padding) into `dst`: zero borders, the
/// expanded and activated row inside.
fn fill(
    p: &Parts<'_>,
    arch: Arch,
    image: &[f32],
    s: Shape,
    iy: Option<usize>,
    (pl, ce): (usize, usize),
    dst: &mut [f32],
) {
    let Some(iy) = iy.filter(|&y| y < s.h) else {
        dst.fill(0.0);
        return;
    };
    dst[..pl * ce].fill(0.0);
    dst[(pl + s.w) * ce..].fill(0.0);
    let src = &image[iy * s.w * s.c..][..s.w * s.c];
    let inner = &mut dst[pl * ce..][..s.w * ce];
    match p.expand {
        Some(e) => e.gemm(arch, src, inner, Epilogue::BiasRelu6),
        None => relu6_copy(arch, src, inner),
    }
}
