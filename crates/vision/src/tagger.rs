//! [`BuiltinTagger`]: the embedded EfficientNet-Lite2 behind the core [`Tagger`] port.

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use bytes::Bytes;
use fast_image_resize::Resizer;
use imgtag_core::{Prediction, TagError, Tagger};
use rayon::prelude::*;

use crate::detect::{Object, ObjectDetector};
use crate::face::{Face, FaceDetector};
use crate::net::{Net, Workspace};
use crate::objects::ObjectTags;
use crate::scenes::Scenes;
use crate::taxonomy::{softmax, Taxonomy};
use crate::{labels, people, preprocess, BuiltinConfig, VisionError};

/// Images per forward pass in [`BuiltinTagger::tag_batch`]: enough rows to keep the 7x7 and 14x14
/// matrix products efficient, few enough to bound activation memory (~5 MB per image).
const MAX_BATCH: usize = 8;

/// The built-in tagger. Cheap to clone (the model is shared); all clones use one thread pool of
/// [`BuiltinConfig::threads`] workers.
#[derive(Clone)]
pub struct BuiltinTagger {
    inner: Arc<Inner>,
}

struct Inner {
    net: Net,
    taxonomy: Taxonomy,
    scenes: Scenes,
    /// `None` when [`BuiltinConfig::faces`] is off.
    faces: Option<FaceDetector>,
    /// `None` when [`BuiltinConfig::objects`] is off.
    objects: Option<(ObjectDetector, ObjectTags)>,
    cfg: BuiltinConfig,
    pool: rayon::ThreadPool,
    /// Idle activation buffers, one per concurrent forward pass at most.
    workspaces: Mutex<Vec<Workspace>>,
}

/// What the detectors found in one photo.
struct Found {
    faces: Vec<Face>,
    objects: Vec<Object>,
}

/// One decoded image: the classifier input and what the detectors found.
struct Prepared {
    input: Vec<f32>,
    found: Found,
}

impl Inner {
    /// Decodes once, at a size every model that runs can use.
    fn decode(&self, bytes: &[u8]) -> Result<image::RgbImage, VisionError> {
        // The detectors scale the long side to `object_side` (the faces' views are smaller).
        let min_long = match self.objects {
            Some(_) => self.cfg.object_side as u32,
            None => 0,
        };
        let min = (preprocess::min_decode_side(), min_long);
        preprocess::decode_at_least(bytes, self.cfg.max_pixels, min)
    }

    /// The faces and the objects in a decoded photo (none when their detector is off).
    fn detect(&self, img: &image::RgbImage, resizer: &mut Resizer) -> Result<Found, VisionError> {
        // Faces run on every photo, not only where the object detector saw a person: in a group
        // shot each person can be too small for it (a 2x2 grid of portraits at 320 px) while
        // the face detector's tiles still find every face. Both side by side: a thread done
        // with the classifier takes the faces.
        let scaled = match &self.objects {
            Some((d, _)) => Some(d.scale(img, resizer).map_err(internal)?),
            None => None,
        };
        // The face detector's views (128 and 214 px) resample the detector's scaled copy when
        // it is the smaller image: a quarter of the pixels of a 640 px photo to read.
        let pixels = |i: &image::RgbImage| u64::from(i.width()) * u64::from(i.height());
        let face_source = match &scaled {
            Some(s) if pixels(s) < pixels(img) => s,
            _ => img,
        };
        let (objects, faces) = rayon::join(
            || -> Result<_, VisionError> {
                let (Some((d, _)), Some(s)) = (&self.objects, &scaled) else {
                    return Ok(Vec::new());
                };
                let mut found = d.detect_scaled(s).map_err(internal)?;
                // A photo whose persons all fall short of the floor: one more look (`zoom.rs`).
                let floor = self.cfg.person_min_confidence;
                d.second_look(img, &mut found, floor).map_err(internal)?;
                Ok(found)
            },
            || match &self.faces {
                Some(d) => d
                    .detect(
                        face_source,
                        &mut Resizer::new(),
                        self.cfg.face_min_confidence,
                    )
                    .map_err(internal),
                None => Ok(Vec::new()),
            },
        );
        Ok(Found {
            faces: faces?,
            objects: objects?,
        })
    }

    /// Decodes once; returns the classifier input and what the detectors found.
    fn prepare(&self, bytes: &[u8], resizer: &mut Resizer) -> Result<Prepared, VisionError> {
        let img = self.decode(bytes)?;
        let input = preprocess::classify_input(&img, resizer)?;
        let found = self.detect(&img, resizer)?;
        Ok(Prepared { input, found })
    }

    fn forward(&self, input: &[f32]) -> anyhow::Result<Vec<Vec<f32>>> {
        let idle = |m: &Mutex<Vec<Workspace>>| m.lock().unwrap_or_else(|e| e.into_inner()).pop();
        let mut ws = idle(&self.workspaces).unwrap_or_default();
        let out = self.net.forward(input, &mut ws);
        self.workspaces
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(ws);
        out
    }
}

impl std::fmt::Debug for BuiltinTagger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BuiltinTagger")
            .field("cfg", &self.inner.cfg)
            .finish_non_exhaustive()
    }
}

impl BuiltinTagger {
    /// Loads the embedded model and taxonomy (no file or network access).
    pub fn load(cfg: BuiltinConfig) -> anyhow::Result<Self> {
        anyhow::ensure!(cfg.top_k > 0, "top_k must be at least 1");
        anyhow::ensure!(
            (0.0..=1.0).contains(&cfg.min_confidence),
            "min_confidence must be in [0, 1]"
        );
        let threads = cfg.effective_threads();
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .thread_name(|i| format!("imgtag-vision-{i}"))
            .build()?;
        let net = Net::load()?;
        let taxonomy = Taxonomy::builtin()?;
        anyhow::ensure!(
            taxonomy.classes.len() == crate::net::CLASSES,
            "taxonomy size mismatch"
        );
        let scenes = Scenes::builtin(&taxonomy.classes)?;
        let faces = match cfg.faces {
            true => Some(FaceDetector::load()?),
            false => None,
        };
        let objects = match cfg.objects {
            true => Some((
                ObjectDetector::with_side(cfg.object_side)?,
                ObjectTags::builtin()?,
            )),
            false => None,
        };
        tracing::debug!(
            threads,
            faces = cfg.faces,
            objects = cfg.objects,
            "built-in tagger loaded"
        );
        Ok(BuiltinTagger {
            inner: Arc::new(Inner {
                net,
                taxonomy,
                scenes,
                faces,
                objects,
                cfg,
                pool,
                workspaces: Mutex::new(Vec::new()),
            }),
        })
    }

    /// The configuration in force.
    pub fn config(&self) -> &BuiltinConfig {
        &self.inner.cfg
    }

    /// Tags one encoded image (JPEG, PNG, WebP, GIF, BMP, TIFF). Blocks the calling thread.
    pub fn tag_bytes(&self, bytes: &[u8]) -> Result<Vec<Prediction>, VisionError> {
        let inner = &*self.inner;
        inner.pool.install(|| {
            let img = inner.decode(bytes)?;
            // The classifier and the detectors side by side: their small late layers alone
            // leave a second thread idle.
            let (logits, found) = rayon::join(
                || {
                    let input = preprocess::classify_input(&img, &mut Resizer::new())?;
                    inner.forward(&input).map_err(internal)
                },
                || inner.detect(&img, &mut Resizer::new()),
            );
            Ok(self.labels(&logits?[0], &found?))
        })
    }

    /// Tags many images, decoding in parallel and running the network on batches. Results are in
    /// input order; one bad image does not affect the others. Blocks the calling thread.
    pub fn tag_batch(&self, images: &[&[u8]]) -> Vec<Result<Vec<Prediction>, VisionError>> {
        let inner = &*self.inner;
        let threads = inner.pool.current_num_threads();
        // Decode a window at a time so bulk runs do not hold every decoded image at once.
        let window = threads * MAX_BATCH;
        inner.pool.install(|| {
            let mut results = Vec::with_capacity(images.len());
            for group in images.chunks(window) {
                let prepared: Vec<Result<Prepared, VisionError>> = group
                    .par_iter()
                    .map_init(Resizer::new, |r, b| inner.prepare(b, r))
                    .collect();
                let ok: Vec<&Vec<f32>> = prepared
                    .iter()
                    .filter_map(|p| p.as_ref().ok().map(|p| &p.input))
                    .collect();
                let per_batch = ok.len().div_ceil(threads).clamp(1, MAX_BATCH);
                let logits: Vec<Result<Vec<Vec<f32>>, VisionError>> = ok
                    .par_chunks(per_batch)
                    .map(|batch| {
                        let input: Vec<f32> =
                            batch.iter().flat_map(|v| v.iter().copied()).collect();
                        inner.forward(&input).map_err(internal)
                    })
                    .collect();
                let mut flat = Vec::with_capacity(ok.len());
                for (batch, res) in ok.chunks(per_batch).zip(logits) {
                    match res {
                        Ok(rows) => flat.extend(rows.into_iter().map(Ok)),
                        Err(e) => flat.extend(batch.iter().map(|_| Err(e.clone()))),
                    }
                }
                let mut flat = flat.into_iter();
                for p in prepared {
                    results.push(p.and_then(|p| {
                        let logits: Result<Vec<f32>, VisionError> = flat
                            .next()
                            .unwrap_or_else(|| Err(internal("missing batch output")));
                        logits.map(|l| self.labels(&l, &p.found))
                    }));
                }
            }
            results
        })
    }

    /// Raw logits (1000 per image) for inputs already preprocessed: 260x260x3 NHWC values
    /// `(p - 127) / 128`, images laid end to end. For reference checks and benchmarks.
    pub fn logits(&self, input: &[f32]) -> anyhow::Result<Vec<Vec<f32>>> {
        self.inner.pool.install(|| self.inner.forward(input))
    }

    /// Readable name of each of the 1000 classes, in logit order.
    pub fn class_names(&self) -> &[String] {
        &self.inner.taxonomy.classes
    }

    /// The classifier's labels, then the object detector's (body boxes on `person`), then the
    /// faces'; one name from several sources keeps its best confidence.
    fn labels(&self, logits: &[f32], p: &Found) -> Vec<Prediction> {
        let inner = &*self.inner;
        let cfg = &inner.cfg;
        let probs = softmax(logits);
        let mut scores = inner.taxonomy.scores(&probs);
        scores.extend(inner.scenes.scores(&probs));
        let found = match &inner.objects {
            Some((_, tags)) => {
                let classifier = |tag: &str| {
                    scores
                        .iter()
                        .filter(|(name, _)| *name == tag)
                        .map(|&(_, p)| p)
                        .fold(0.0, f32::max)
                };
                tags.labels(&p.objects, classifier, cfg)
            }
            None => Vec::new(),
        };
        let out = people::merge(labels::select(scores, cfg), found, cfg);
        people::merge(out, people::labels(&p.faces, cfg), cfg)
    }
}

/// A failure of the network itself (shape bug) rather than of the input; surfaced, not hidden.
fn internal(e: impl std::fmt::Display) -> VisionError {
    VisionError::Unsupported(format!("internal tagger error: {e}"))
}

#[async_trait]
impl Tagger for BuiltinTagger {
    fn name(&self) -> &str {
        "builtin"
    }

    async fn tag(&self, image: Bytes) -> Result<Vec<Prediction>, TagError> {
        let this = self.clone();
        tokio::task::spawn_blocking(move || this.tag_bytes(&image))
            .await
            .map_err(|e| TagError::Unavailable(format!("tagging task failed: {e}")))?
            .map_err(|e| TagError::BadImage(e.to_string()))
    }
}
