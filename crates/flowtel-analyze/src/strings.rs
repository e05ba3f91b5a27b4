//! Interned strings: every service, span name, step, flow, peer and route is stored once and
//! referred to by a 4-byte [`Sym`], which keeps a held span small and comparisons cheap.

use std::collections::HashMap;

use foldhash::fast::RandomState;

/// An interned string; [`Sym::EMPTY`] is the empty string, used for "absent".
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Sym(pub u32);

impl Sym {
    /// The empty string: the attribute was absent.
    pub const EMPTY: Sym = Sym(0);

    /// Whether this is the empty string.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }
}

/// The string table of a [`crate::TraceSet`].
#[derive(Debug, Clone)]
pub struct Strings {
    list: Vec<Box<str>>,
    index: HashMap<Box<str>, u32, RandomState>,
}

impl Default for Strings {
    fn default() -> Self {
        let mut s = Strings {
            list: Vec::new(),
            index: HashMap::default(),
        };
        s.intern("");
        s
    }
}

impl Strings {
    /// The symbol of `text`, adding it when new.
    pub fn intern(&mut self, text: &str) -> Sym {
        if let Some(&i) = self.index.get(text) {
            return Sym(i);
        }
        let i = u32::try_from(self.list.len()).unwrap_or(u32::MAX);
        if i == u32::MAX {
            // Four billion distinct strings: fold the rest into one rather than grow further.
            return Sym(i - 1);
        }
        self.list.push(text.into());
        self.index.insert(text.into(), i);
        Sym(i)
    }

    /// The symbol of `text` if it was interned.
    pub fn get(&self, text: &str) -> Option<Sym> {
        self.index.get(text).map(|&i| Sym(i))
    }

    /// The text of `sym` (empty for an unknown symbol).
    pub fn resolve(&self, sym: Sym) -> &str {
        self.list.get(sym.0 as usize).map_or("", |s| s)
    }

    /// Number of distinct strings, the empty one included.
    pub fn len(&self) -> usize {
        self.list.len()
    }

    /// Whether only the empty string is interned.
    pub fn is_empty(&self) -> bool {
        self.list.len() <= 1
    }

    /// Bytes held by the table, approximately.
    pub fn heap_bytes(&self) -> usize {
        self.list.iter().map(|s| 2 * s.len() + 40).sum::<usize>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interns_once_and_resolves() {
        let mut s = Strings::default();
        assert_eq!(s.intern(""), Sym::EMPTY);
        let a = s.intern("payments");
        assert_eq!(s.intern("payments"), a);
        assert_ne!(s.intern("gateway"), a);
        assert_eq!(s.resolve(a), "payments");
        assert_eq!(s.get("gateway").map(|g| s.resolve(g)), Some("gateway"));
        assert_eq!(s.resolve(Sym(999)), "");
        assert_eq!(s.len(), 3);
    }
}
