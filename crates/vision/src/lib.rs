//! imgtag's built-in image tagger: EfficientNet-Lite2 (ImageNet-1k) running in pure Rust, with
//! readable labels and general parent concepts from WordNet (`tabby cat` → `cat` → `animal`).
//!
//! The weights and the taxonomy are embedded in the binary: no download, no model hub, no path.
//!
//! - [`BuiltinTagger`] implements the core [`imgtag_core::Tagger`] port (`name() == "builtin"`) and
//!   offers synchronous [`BuiltinTagger::tag_bytes`] and batched [`BuiltinTagger::tag_batch`].
//! - [`cli::run_tag`] is the `imgtag tag FILE...` command.
//!
//! Pipeline: sniff the format, refuse images over [`BuiltinConfig::max_pixels`] from the header,
//! decode (big JPEGs at reduced scale in the DCT domain), apply EXIF orientation, centre-crop
//! 260/292 of the short side (photos over 2:1 are letterboxed whole instead), bicubic resize to
//! 260x260, normalise `(p - 127) / 128`, run the
//! network, softmax, then score each class and each concept (sum of its classes' probabilities)
//! and keep labels above [`BuiltinConfig::min_confidence`], at most [`BuiltinConfig::top_k`].
//! Scene tags (`beach`, `mountain`, `underwater`, ...) are summed from ImageNet classes like the
//! parent concepts (`models/scenes.tsv`).
//!
//! With [`BuiltinConfig::faces`] (default on), MediaPipe BlazeFace (also embedded, also pure Rust)
//! runs on the same decoded photo: on the whole frame, and on four overlapping tiles only when that
//! pass hints at faces too small to confirm; its faces become
//! `face`/`person` (with boxes), `people`, `group` and `portrait` tags, added to the classifier's
//! top-k.
//!
//! With [`BuiltinConfig::objects`] (default on), [`detect::ObjectDetector`] (CenterNet, COCO-80,
//! also embedded and pure Rust) runs on the photo scaled to 384 px on its long side; each object
//! found becomes a tag with its boxes (`person`, `dining table`, `cup`, `car`, ...) and its parents
//! (`table`, `tableware`, `vehicle`), and two or more persons `people` (`models/objects.tsv`).
//! A name several sources give (classifier, detector, faces) keeps its best confidence.

mod block;
pub mod buf;
pub mod cli;
mod config;
pub mod detect;
mod dw_row;
mod error;
pub mod face;
mod gemm;
mod jpeg_dc;
mod kernels;
mod labels;
mod net;
mod objects;
mod people;
pub mod preprocess;
mod program;
mod scenes;
mod stem;
mod tagger;
mod taxonomy;

pub use config::BuiltinConfig;
pub use error::VisionError;
pub use tagger::BuiltinTagger;
