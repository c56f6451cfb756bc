//! imgtag's built-in image tagger: EfficientNet-Lite0 (ImageNet-1k) running in pure Rust, with
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
//! 224/256 of the short side, bicubic resize to 224x224, normalise `(p - 127) / 128`, run the
//! network, softmax, then score each class and each concept (sum of its classes' probabilities)
//! and keep labels above [`BuiltinConfig::min_confidence`], at most [`BuiltinConfig::top_k`].

mod block;
pub mod cli;
mod config;
mod dw_row;
mod error;
mod gemm;
mod jpeg_dc;
mod kernels;
mod labels;
mod net;
pub mod preprocess;
mod tagger;
mod taxonomy;

pub use config::BuiltinConfig;
pub use error::VisionError;
pub use tagger::BuiltinTagger;
