//! A value that one of many event receivers can take: stream readers travel in cloned events,
//! and exactly one receiver may consume a reader.

use std::sync::Arc;

use parking_lot::Mutex;

/// A value that exactly one holder can take; clones share it (see the module doc).
pub struct TakeCell<T>(Arc<Mutex<Option<T>>>);

impl<T> TakeCell<T> {
    /// A cell holding `value`, not yet taken.
    pub fn new(value: T) -> Self {
        Self(Arc::new(Mutex::new(Some(value))))
    }

    /// The value, for the first caller; `None` for every later one.
    pub fn take(&self) -> Option<T> {
        self.0.lock().take()
    }
}

impl<T> Clone for TakeCell<T> {
    fn clone(&self) -> Self {
        Self(self.0.clone())
    }
}

impl<T> std::fmt::Debug for TakeCell<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.lock().is_some() { "TakeCell(full)" } else { "TakeCell(taken)" })
    }
}

#[cfg(test)]
mod tests {
    use super::TakeCell;

    #[test]
    fn only_the_first_taker_gets_the_value() {
        let cell = TakeCell::new(5);
        let clone = cell.clone();
        assert_eq!(clone.take(), Some(5));
        assert_eq!(cell.take(), None);
    }
}
