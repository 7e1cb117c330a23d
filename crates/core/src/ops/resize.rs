//! (rules to be written)

use super::OpDef;

pub const OPS: &[OpDef] = &[];
