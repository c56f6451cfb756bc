//! End-to-end throughput of the built-in tagger (decode + resize + inference + labels), for
//! `bench/tagger`. Images are read into memory first, so disk speed does not count.
//!
//! ```text
//! cargo run --release -p imgtag-vision --example bench -- --threads 1 --mode batch --seconds 5 FILE...
//! ```
//! Prints one JSON line: `{"engine":"imgtag","mode","threads","images","seconds","per_sec"}`.
//!
//! `--faces off` / `--objects off` leave out the face / object detector. `--detectors-cost`
//! instead measures the classifier alone against the full default tagger (classifier + object
//! detector + face detector), alternating one-second rounds so load changes hit both alike, and
//! prints the time per image of each and their ratio (`bench/README.md`, "Detection cost").
//! `--faces-cost` does the same for the face detector alone (object detector off in both).

use std::time::{Duration, Instant};

use imgtag_vision::{BuiltinConfig, BuiltinTagger};

fn main() -> anyhow::Result<()> {
    let mut threads = 1usize;
    let mut mode = String::from("batch");
    let mut seconds = 5.0f64;
    let mut label = String::from("images");
    let mut files = Vec::new();
    let mut faces = true;
    let mut faces_cost = false;
    let mut objects = true;
    let mut detectors_cost = false;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--threads" => threads = args.next().unwrap_or_default().parse()?,
            "--mode" => mode = args.next().unwrap_or_default(),
            "--seconds" => seconds = args.next().unwrap_or_default().parse()?,
            "--label" => label = args.next().unwrap_or_default(),
            "--faces" => faces = args.next().unwrap_or_default() != "off",
            "--faces-cost" => faces_cost = true,
            "--objects" => objects = args.next().unwrap_or_default() != "off",
            "--detectors-cost" => detectors_cost = true,
            _ => files.push(a),
        }
    }
    anyhow::ensure!(!files.is_empty(), "no image files given");
    anyhow::ensure!(
        mode == "batch" || mode == "single",
        "--mode is batch or single"
    );
    let images: Vec<Vec<u8>> = files.iter().map(std::fs::read).collect::<Result<_, _>>()?;
    let refs: Vec<&[u8]> = images.iter().map(Vec::as_slice).collect();
    let cfg = BuiltinConfig {
        threads,
        faces,
        objects,
        ..BuiltinConfig::default()
    };
    if faces_cost {
        let plain = BuiltinConfig {
            objects: false,
            ..cfg
        };
        let (without, with) = (
            BuiltinConfig {
                faces: false,
                ..plain.clone()
            },
            BuiltinConfig {
                faces: true,
                ..plain
            },
        );
        return cost_of(&refs, &mode, [without, with], "with_faces", seconds);
    }
    if detectors_cost {
        let without = BuiltinConfig {
            faces: false,
            objects: false,
            ..cfg.clone()
        };
        let with = BuiltinConfig {
            faces: true,
            objects: true,
            ..cfg
        };
        return cost_of(&refs, &mode, [without, with], "with_detectors", seconds);
    }
    let tagger = BuiltinTagger::load(cfg)?;
    let run_once = || -> anyhow::Result<()> {
        if mode == "batch" {
            for r in tagger.tag_batch(&refs) {
                r?;
            }
        } else {
            for b in &refs {
                tagger.tag_bytes(b)?;
            }
        }
        Ok(())
    };
    run_once()?; // warm-up: page in the weights, size the allocator's pools
    let (start, budget) = (Instant::now(), Duration::from_secs_f64(seconds));
    let mut done = 0usize;
    while start.elapsed() < budget {
        run_once()?;
        done += refs.len();
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "{{\"engine\":\"imgtag\",\"set\":\"{label}\",\"mode\":\"{mode}\",\"threads\":{threads},\"images\":{done},\"seconds\":{secs:.3},\"per_sec\":{:.3}}}",
        done as f64 / secs
    );
    Ok(())
}

/// Time per image of the `[without, with]` configurations, in alternating rounds.
fn cost_of(
    refs: &[&[u8]],
    mode: &str,
    [without, with]: [BuiltinConfig; 2],
    name: &str,
    seconds: f64,
) -> anyhow::Result<()> {
    let threads = with.threads;
    let with = BuiltinTagger::load(with)?;
    let without = BuiltinTagger::load(without)?;
    let run = |t: &BuiltinTagger| -> anyhow::Result<()> {
        if mode == "batch" {
            for r in t.tag_batch(refs) {
                r?;
            }
        } else {
            for b in refs {
                t.tag_bytes(b)?;
            }
        }
        Ok(())
    };
    run(&with)?;
    run(&without)?;
    // Pass by pass, alternating, so both sides see the same machine: this VM's speed drifts
    // within seconds. Medians of the per-pass times, so a pass hit by a burst on the host
    // does not move the figure; the means are printed too.
    let mut passes: [Vec<f64>; 2] = [Vec::new(), Vec::new()];
    let (start, budget) = (Instant::now(), Duration::from_secs_f64(2.0 * seconds));
    while start.elapsed() < budget || passes[0].len() < 5 {
        for (slot, t) in [(0, &without), (1, &with)] {
            let pass = Instant::now();
            run(t)?;
            passes[slot].push(pass.elapsed().as_secs_f64() * 1000.0 / refs.len() as f64);
        }
    }
    let n = passes[0].len();
    // Each pass against the one just before it (the same second of the machine's drift): the
    // median of these ratios moves least between runs of the same binary.
    let mut paired: Vec<f64> = passes[1]
        .iter()
        .zip(&passes[0])
        .map(|(w, o)| w / o)
        .collect();
    paired.sort_by(f64::total_cmp);
    let [a, b] = passes.map(|mut p| {
        let mean = p.iter().sum::<f64>() / p.len() as f64;
        p.sort_by(f64::total_cmp);
        (p[p.len() / 2], mean)
    });
    println!(
        "{{\"mode\":\"{mode}\",\"threads\":{threads},\"passes\":{},\"ms_per_image_classifier\":{:.3},\"ms_per_image_{name}\":{:.3},\"ratio\":{:.3},\"ratio_of_means\":{:.3},\"ratio_paired\":{:.3}}}",
        n,
        a.0,
        b.0,
        b.0 / a.0,
        b.1 / a.1,
        paired[n / 2]
    );
    Ok(())
}
