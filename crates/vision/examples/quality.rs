//! Tag-quality harness for `bench/quality`: runs the built-in tagger over a labelled set of photos
//! and prints, per photo, the tags it gave, the expected concepts it missed and the wrong ones it
//! gave; then the hit rate (expected concepts found / expected) and the wrong-tag rate (wrong
//! concepts given / wrong concepts listed), and the issue's per-photo goals: photos with an
//! expected concept found, photos with a wrong tag at confidence >= 0.5, and the `person` /
//! `people` / `animal` rules.
//!
//! ```text
//! cargo run --release -p imgtag-vision --example quality -- bench/quality.tsv IMAGE_DIR [FLOOR]
//! ```
//! `FLOOR` overrides the label floor ([`BuiltinConfig::min_confidence`]) to compare floors.
//! The set file has `file \t expected,... \t wrong,...` lines (`#` comments); an expected entry
//! may list alternatives as `a|b` (either counts as a hit).

use std::path::Path;

use imgtag_vision::{BuiltinConfig, BuiltinTagger};

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    anyhow::ensure!(
        (2..=3).contains(&args.len()),
        "usage: quality SET.tsv IMAGE_DIR [FLOOR]"
    );
    let set = std::fs::read_to_string(&args[0])?;
    let dir = Path::new(&args[1]);
    let mut cfg = BuiltinConfig::default();
    if let Some(floor) = args.get(2) {
        cfg.min_confidence = floor.parse()?;
    }
    let tagger = BuiltinTagger::load(cfg)?;
    let (mut expected, mut hits, mut listed_wrong, mut given_wrong) = (0usize, 0usize, 0, 0);
    // Per photo: [with expectations, one found], [photos, a wrong tag >= 0.5], and the photos
    // breaking the person / people / animal rules.
    let (mut with_expected, mut found_one, mut photos, mut wrong_photos) = (0, 0, 0, 0);
    let mut broken: Vec<String> = Vec::new();
    for line in set
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
    {
        let cols: Vec<&str> = line.split('\t').collect();
        anyhow::ensure!(
            cols.len() == 3,
            "bad line (want 3 tab-separated columns): {line}"
        );
        let bytes = std::fs::read(dir.join(cols[0]))?;
        let tags = tagger.tag_bytes(&bytes)?;
        let names: Vec<&str> = tags.iter().map(|p| p.name.as_str()).collect();
        let mut missed = Vec::new();
        let wants: Vec<&str> = cols[1].split(',').filter(|s| !s.is_empty()).collect();
        let before = hits;
        for &want in &wants {
            expected += 1;
            if want.split('|').any(|alt| names.contains(&alt)) {
                hits += 1;
            } else {
                missed.push(want);
            }
        }
        photos += 1;
        if !wants.is_empty() {
            with_expected += 1;
            found_one += usize::from(hits > before);
        }
        let mut wrong = Vec::new();
        let mut confident_wrong = false;
        for bad in cols[2].split(',').filter(|s| !s.is_empty()) {
            listed_wrong += 1;
            if let Some(p) = tags.iter().find(|p| p.name.as_str() == bad) {
                given_wrong += 1;
                wrong.push(bad);
                confident_wrong |= p.confidence >= 0.5;
            }
        }
        wrong_photos += usize::from(confident_wrong);
        // The issue's rules: a photo expecting `person`/`people` has it; a photo that lists
        // `person`/`people`/`animal` as wrong does not.
        let bad_list: Vec<&str> = cols[2].split(',').collect();
        for rule in ["person", "people", "animal"] {
            let expects = wants.iter().any(|w| w.split('|').any(|a| a == rule));
            if expects && !names.contains(&rule) {
                broken.push(format!("{} missing {rule}", cols[0]));
            } else if bad_list.contains(&rule) && names.contains(&rule) {
                broken.push(format!("{} wrongly {rule}", cols[0]));
            }
        }
        let shown: Vec<String> = tags
            .iter()
            .map(|p| format!("{} {:.2}", p.name.as_str(), p.confidence))
            .collect();
        println!("{}\n  tags:   {}", cols[0], shown.join(", "));
        println!(
            "  missed: {}\n  wrong:  {}",
            missed.join(", "),
            wrong.join(", ")
        );
    }
    let rate = |a: usize, b: usize| if b == 0 { 0.0 } else { a as f64 / b as f64 };
    println!(
        "hit rate {:.3} ({hits}/{expected})  wrong-tag rate {:.3} ({given_wrong}/{listed_wrong})",
        rate(hits, expected),
        rate(given_wrong, listed_wrong)
    );
    println!(
        "photos with an expected concept found {:.3} ({found_one}/{with_expected})  \
         photos with a wrong tag >= 0.5 {:.3} ({wrong_photos}/{photos})",
        rate(found_one, with_expected),
        rate(wrong_photos, photos)
    );
    println!(
        "person/people/animal rules broken on {} photos: {}",
        broken.len(),
        broken.join("; ")
    );
    Ok(())
}
