//! Where a value came from: a file, a line and a column (1-based), for diagnostics and
//! for plans that point back at the manifest a change comes from.

use serde::{Deserialize, Serialize};

/// A position in a manifest file. Line and column are 1-based.
#[derive(
    Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, schemars::JsonSchema,
)]
pub struct Source {
    pub file: String,
    pub line: usize,
    pub column: usize,
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}:{}", self.file, self.line, self.column)
    }
}

/// A value with the position of the document it was read from.
#[derive(Debug, Clone, PartialEq)]
pub struct Located<T> {
    pub value: T,
    pub source: Source,
}

impl<T> Located<T> {
    pub fn new(value: T, source: Source) -> Self {
        Located { value, source }
    }
}
