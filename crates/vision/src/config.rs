//! Settings of the built-in tagger.

use serde::Deserialize;

/// Configuration of [`crate::BuiltinTagger`]. Every field has a default, so an empty config section
/// (or `BuiltinConfig::default()`) gives a working tagger.
#[derive(Debug, Clone, PartialEq, Deserialize)]
// No `deny_unknown_fields`: the server may embed this struct with `#[serde(flatten)]` or in an
// internally tagged enum, which that attribute breaks.
#[serde(default)]
pub struct BuiltinConfig {
    /// Labels below this confidence are dropped. EfficientNet-Lite2 spreads its probability more
    /// than Lite0 did (a clear cat 0.85, not 0.93): 0.15 finds as many photos' expected concepts
    /// on `bench/quality` as Lite0 at 0.25, with no wrong ones; 0.12-0.18 give the same rules,
    /// 0.1 an `animal` on a field of dandelions.
    pub min_confidence: f32,
    /// At most this many labels per image, highest confidence first.
    pub top_k: usize,
    /// Images with more pixels (width x height, from the header) are refused before decoding.
    pub max_pixels: u64,
    /// Worker threads for decoding and inference; 0 = one per available core.
    pub threads: usize,
    /// Run the face detector and add `face`, `person`, `people`, `group` and `portrait` tags.
    pub faces: bool,
    /// Faces below this detector confidence are ignored. 0.75 keeps frontal faces (0.9 and up on
    /// the test portraits) and drops what the detector half-believes in a cat's face (~0.6).
    pub face_min_confidence: f32,
    /// `portrait` needs exactly one face whose box is at least this share of the image height.
    pub portrait_min_face: f32,
    /// `group` needs at least this many faces or persons (`people` needs two).
    pub group_min_faces: usize,
    /// Run the object detector (COCO's 80 classes) and add its tags with boxes: `person`,
    /// `people`, `dining table`, `cup`, `car`, ... and their parents.
    pub objects: bool,
    /// The detector's input long side (a multiple of 32; the short side is the photo's, rounded up
    /// to a multiple of 32). Its cost grows with the square; 384 finds people down to about a
    /// twelfth of the photo's height at 56 % of 512's cost.
    pub object_side: usize,
    /// Detected objects below this score are ignored.
    pub object_min_confidence: f32,
    /// Detected persons below this score are ignored (also what `people` and `group` count).
    pub person_min_confidence: f32,
    /// Detected animals below this score are ignored unless the classifier backs them (its
    /// score for the same tag at least `objects::ANIMAL_BACKING`, 0.05; then the object
    /// floor applies). The classifier knows 398 animal classes and is the better judge; the
    /// detector's animals are often the wrong species (a cheetah as `dog` 0.54, mountain
    /// flocks as `sheep` 0.45 on a photo with none).
    pub animal_min_confidence: f32,
}

impl Default for BuiltinConfig {
    fn default() -> Self {
        BuiltinConfig {
            min_confidence: 0.15,
            top_k: 10,
            // 50 MP: every phone camera's full-resolution output passes, a 20000x20000 bomb does not.
            max_pixels: 50_000_000,
            threads: 0,
            faces: true,
            face_min_confidence: 0.75,
            portrait_min_face: 0.15,
            group_min_faces: 3,
            objects: true,
            object_side: crate::detect::TAGGING_SIDE,
            object_min_confidence: 0.25,
            person_min_confidence: 0.25,
            animal_min_confidence: 0.6,
        }
    }
}

impl BuiltinConfig {
    /// Number of worker threads to actually use.
    pub fn effective_threads(&self) -> usize {
        if self.threads > 0 {
            self.threads
        } else {
            std::thread::available_parallelism().map_or(1, |n| n.get())
        }
    }
}
