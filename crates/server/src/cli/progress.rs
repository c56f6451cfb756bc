//! Progress for long commands: a bar (count, rate, ETA) on a terminal, plain periodic lines
//! when the output goes to a file or a pipe.

use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressState, ProgressStyle};

const PLAIN_EVERY: Duration = Duration::from_secs(2);

pub struct Progress {
    bar: Option<ProgressBar>,
    plain: Mutex<Plain>,
    verb: &'static str,
}

struct Plain {
    pos: u64,
    len: u64,
    started: Instant,
    last: Instant,
}

impl Progress {
    pub fn new(len: u64, verb: &'static str) -> Self {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = ProgressBar::new(len);
            let template = "{msg} [{bar:30}] {pos}/{len} ({rate}, ETA {eta})";
            let style = ProgressStyle::with_template(template)
                .expect("valid template")
                .with_key("rate", |s: &ProgressState, w: &mut dyn std::fmt::Write| {
                    let _ = write!(w, "{:.1}/s", s.per_sec());
                })
                .progress_chars("=> ");
            bar.set_style(style);
            bar.set_message(verb);
            bar.enable_steady_tick(Duration::from_millis(200));
            bar
        });
        let now = Instant::now();
        Progress {
            bar,
            plain: Mutex::new(Plain {
                pos: 0,
                len,
                started: now,
                last: now,
            }),
            verb,
        }
    }

    pub fn inc(&self) {
        let mut p = self.plain.lock().expect("progress lock");
        p.pos += 1;
        if p.pos > p.len {
            p.len = p.pos;
        }
        match &self.bar {
            Some(bar) => {
                bar.set_length(p.len);
                bar.inc(1);
            }
            None if p.last.elapsed() >= PLAIN_EVERY || p.pos == p.len => {
                p.last = Instant::now();
                eprintln!(
                    "{}",
                    plain_line(self.verb, p.pos, p.len, p.started.elapsed())
                );
            }
            None => {}
        }
    }

    /// A message that must not be lost under the bar (failures).
    pub fn println(&self, msg: impl AsRef<str>) {
        match &self.bar {
            Some(bar) => bar.println(msg.as_ref()),
            None => eprintln!("{}", msg.as_ref()),
        }
    }

    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

fn plain_line(verb: &str, pos: u64, len: u64, elapsed: Duration) -> String {
    let secs = elapsed.as_secs_f64().max(1e-3);
    let rate = pos as f64 / secs;
    let eta = if rate > 0.0 {
        format!("{:.0}s", len.saturating_sub(pos) as f64 / rate)
    } else {
        "?".into()
    };
    format!("{verb}: {pos}/{len} ({rate:.1}/s, ETA {eta})")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_lines_show_count_rate_and_eta() {
        let line = plain_line("importing", 30, 90, Duration::from_secs(10));
        assert_eq!(line, "importing: 30/90 (3.0/s, ETA 20s)");
        assert_eq!(
            plain_line("retagging", 0, 5, Duration::ZERO),
            "retagging: 0/5 (0.0/s, ETA ?)"
        );
    }
}
