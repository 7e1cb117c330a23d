//! Input shapes written for another convention: with PyTorch's batch axis
//! (`1x3x224x224`) or channels last as in TensorFlow and images on disk
//! (`224x224x3`). Read as the calculator reads shapes — channels first,
//! without the batch axis — they describe another layer (a 3-D convolution
//! on one channel; 224 channels of 224×3) that still counts, so a layer that
//! reads channels first asks before counting it. The front ends accept such
//! shapes when told (`--batch`, `--channels-last`; `input … batch
//! channels-last`).

use super::{dims_text, LayerError};

/// How a shape looks misread, and what was probably meant.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Misread {
    /// A leading 1 before a plausible image: a batch axis.
    pub batch: bool,
    /// A last axis of 1, 3 or 4 after large ones: channels last.
    pub channels_last: bool,
    /// The shape as the calculator reads it: channels first, no batch.
    pub meant: Vec<i64>,
}

/// Channel counts of images: grey, RGB, RGBA.
fn image_channels(c: i64) -> bool {
    matches!(c, 1 | 3 | 4)
}

/// Spatial sizes of an image or a volume rather than channel counts.
fn spatial(dims: &[i64]) -> bool {
    !dims.is_empty() && dims.iter().all(|&d| d >= 16)
}

/// Whether `dims` (as given, for a layer that reads `[C, spatial...]`)
/// looks like a batch axis or channels last, and what was meant.
///
/// ```
/// use nncost_core::layers::layout::misread;
///
/// assert_eq!(misread(&[1, 3, 224, 224]).unwrap().meant, [3, 224, 224]);
/// assert_eq!(misread(&[224, 224, 3]).unwrap().meant, [3, 224, 224]);
/// assert_eq!(misread(&[1, 224, 224, 3]).unwrap().meant, [3, 224, 224]);
/// // A 1-channel volume and ordinary feature maps are what they say.
/// assert!(misread(&[1, 64, 64, 64]).is_none());
/// assert!(misread(&[64, 56, 56]).is_none());
/// assert!(misread(&[3, 224, 224]).is_none());
/// ```
pub fn misread(dims: &[i64]) -> Option<Misread> {
    let r = dims.len();
    let last = *dims.last()?;
    // [1, H, W, C] (and [1, D, H, W, C]).
    if (4..=5).contains(&r) && dims[0] == 1 && image_channels(last) && spatial(&dims[1..r - 1]) {
        return Some(Misread {
            batch: true,
            channels_last: true,
            meant: to_sample(dims, true, true).ok()?,
        });
    }
    // [1, C, H, W] (and [1, C, D, H, W]).
    if (4..=5).contains(&r) && dims[0] == 1 && image_channels(dims[1]) && spatial(&dims[2..]) {
        return Some(Misread {
            batch: true,
            channels_last: false,
            meant: dims[1..].to_vec(),
        });
    }
    // [H, W, C] (and [D, H, W, C]).
    if (3..=4).contains(&r) && image_channels(last) && spatial(&dims[..r - 1]) {
        return Some(Misread {
            batch: false,
            channels_last: true,
            meant: to_sample(dims, false, true).ok()?,
        });
    }
    None
}

impl Misread {
    /// Why the shape was refused, with what to write instead: `the input
    /// has 4 axes; inputs are written without the batch axis (write
    /// 3x224x224`. The front end closes it with its own way to accept the
    /// shape as given.
    pub fn reason(&self, given: &[i64]) -> String {
        let what = match (self.batch, self.channels_last) {
            (true, false) => format!(
                "the input has {} axes; inputs are written without the batch axis",
                given.len()
            ),
            (false, _) => format!(
                "this reads {} channels of {}; inputs are written channels first",
                given[0],
                dims_text(&given[1..])
            ),
            (true, true) => format!(
                "the input has {} axes, the last of {}; inputs are written without the batch \
                 axis and channels first",
                given.len(),
                given[given.len() - 1]
            ),
        };
        format!("{what} (write {}", dims_text(&self.meant))
    }
}

/// The sample a shape written with a batch axis first (`batch`) and/or
/// channels last (`channels_last`) stands for: channels first, without
/// the batch axis.
pub fn to_sample(dims: &[i64], batch: bool, channels_last: bool) -> Result<Vec<i64>, LayerError> {
    let mut d = dims.to_vec();
    if batch {
        if d.len() < 2 {
            return Err(LayerError::Invalid(format!(
                "{} has no axis after the batch axis",
                dims_text(dims)
            )));
        }
        d.remove(0);
    }
    if channels_last {
        if d.len() < 2 {
            return Err(LayerError::Invalid(format!(
                "{}: channels last needs channels and at least one spatial axis",
                dims_text(&d)
            )));
        }
        let c = d.pop().unwrap_or(1);
        d.insert(0, c);
    }
    Ok(d)
}
