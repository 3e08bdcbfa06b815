//! Row versions and the preconditions clients put on them (HTTP `If-Match`, the console's
//! hidden version field). Every registry write bumps the row's version and is applied only if
//! the row still has the version the write was decided on.

/// What the caller requires of the current version before a write.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum IfVersion {
    /// No precondition: the registry re-reads and decides again if the row changes meanwhile.
    #[default]
    Any,
    /// The write applies only to one of these versions; otherwise it is refused as stale.
    /// Empty never matches (e.g. only weak or malformed entity tags were sent).
    OneOf(Vec<i64>),
}

impl IfVersion {
    pub fn exactly(version: i64) -> Self {
        Self::OneOf(vec![version])
    }

    /// Whether a write may go ahead on a row at `current`.
    pub fn admits(&self, current: i64) -> bool {
        match self {
            Self::Any => true,
            Self::OneOf(versions) => versions.contains(&current),
        }
    }

    /// Whether the caller named a version (and so must be told, not retried, when it is stale).
    pub fn is_conditional(&self) -> bool {
        matches!(self, Self::OneOf(_))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn preconditions() {
        assert!(IfVersion::Any.admits(7));
        assert!(IfVersion::exactly(7).admits(7));
        assert!(!IfVersion::exactly(6).admits(7));
        assert!(!IfVersion::OneOf(vec![]).admits(7));
        assert!(IfVersion::OneOf(vec![3, 7]).admits(7));
        assert!(!IfVersion::Any.is_conditional());
    }
}
