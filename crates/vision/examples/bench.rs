//! End-to-end throughput of the built-in tagger (decode + resize + inference + labels), for
//! `bench/tagger`. Images are read into memory first, so disk speed does not count.
//!
//! ```text
//! cargo run --release -p imgtag-vision --example bench -- --threads 1 --mode batch --seconds 5 FILE...
//! ```
//! Prints one JSON line: `{"engine":"imgtag","mode","threads","images","seconds","per_sec"}`.

use std::time::{Duration, Instant};

use imgtag_vision::{BuiltinConfig, BuiltinTagger};

fn main() -> anyhow::Result<()> {
    let mut threads = 1usize;
    let mut mode = String::from("batch");
    let mut seconds = 5.0f64;
    let mut label = String::from("images");
    let mut files = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--threads" => threads = args.next().unwrap_or_default().parse()?,
            "--mode" => mode = args.next().unwrap_or_default(),
            "--seconds" => seconds = args.next().unwrap_or_default().parse()?,
            "--label" => label = args.next().unwrap_or_default(),
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
    let tagger = BuiltinTagger::load(BuiltinConfig {
        threads,
        ..BuiltinConfig::default()
    })?;
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
