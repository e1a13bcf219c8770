//! Evaluating sequence sets against a mailbox: membership and normalised ranges.

use std::fmt;

use crate::command::{SeqNum, SequenceSet};

impl SeqNum {
    /// The number this stands for when `largest` is the largest number in use; `*` in an
    /// empty mailbox (`largest == 0`) stands for nothing.
    pub fn resolve(self, largest: u32) -> Option<u32> {
        match self {
            SeqNum::Value(n) => Some(n),
            SeqNum::Largest if largest == 0 => None,
            SeqNum::Largest => Some(largest),
        }
    }
}

impl SequenceSet {
    /// Whether `n` is in the set when `largest` is the largest message number (or UID) in use.
    /// Ranges may be reversed (`5:2`); `*` is `largest`, and matches nothing in an empty
    /// mailbox. Numbers above `largest` are not excluded (the caller checks existence).
    /// Always false for `$` ([`SequenceSet::Saved`]): the server resolves it.
    pub fn contains(&self, n: u32, largest: u32) -> bool {
        match self {
            SequenceSet::Saved => false,
            SequenceSet::Ranges(ranges) => {
                ranges
                    .iter()
                    .any(|&(a, b)| match (a.resolve(largest), b.resolve(largest)) {
                        (Some(a), Some(b)) => a.min(b) <= n && n <= a.max(b),
                        _ => false,
                    })
            }
        }
    }

    /// The set as sorted, merged, inclusive `(low, high)` ranges with `low <= high`, `*` taken
    /// as `largest` (ranges with `*` are dropped when `largest == 0`). Not clipped to
    /// `largest`. `$` gives an empty list: the server handles the saved result itself.
    pub fn resolve(&self, largest: u32) -> Vec<(u32, u32)> {
        let SequenceSet::Ranges(ranges) = self else {
            return Vec::new();
        };
        let mut v: Vec<(u32, u32)> = ranges
            .iter()
            .filter_map(|&(a, b)| {
                let (a, b) = (a.resolve(largest)?, b.resolve(largest)?);
                Some((a.min(b), a.max(b)))
            })
            .collect();
        v.sort_unstable();
        let mut out: Vec<(u32, u32)> = Vec::with_capacity(v.len());
        for (lo, hi) in v {
            match out.last_mut() {
                Some(last) if lo <= last.1.saturating_add(1) => last.1 = last.1.max(hi),
                _ => out.push((lo, hi)),
            }
        }
        out
    }

    /// True for `$` (the saved search result, RFC 5182).
    pub fn is_saved(&self) -> bool {
        matches!(self, SequenceSet::Saved)
    }
}

impl fmt::Display for SeqNum {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SeqNum::Value(n) => write!(f, "{n}"),
            SeqNum::Largest => f.write_str("*"),
        }
    }
}

/// Writes the set in IMAP syntax (`1:4,7,9:*` or `$`), as it was given.
impl fmt::Display for SequenceSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SequenceSet::Saved => f.write_str("$"),
            SequenceSet::Ranges(ranges) => {
                for (i, (a, b)) in ranges.iter().enumerate() {
                    if i > 0 {
                        f.write_str(",")?;
                    }
                    if a == b {
                        write!(f, "{a}")?;
                    } else {
                        write!(f, "{a}:{b}")?;
                    }
                }
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use SeqNum::*;

    fn set(r: &[(SeqNum, SeqNum)]) -> SequenceSet {
        SequenceSet::Ranges(r.to_vec())
    }

    #[test]
    fn contains_basic_and_reversed() {
        let s = set(&[(Value(5), Value(2)), (Value(9), Value(9))]);
        for n in 2..=5 {
            assert!(s.contains(n, 10));
        }
        assert!(!s.contains(1, 10));
        assert!(!s.contains(6, 10));
        assert!(s.contains(9, 10));
    }

    #[test]
    fn contains_star() {
        let s = set(&[(Value(3), Largest)]);
        assert!(s.contains(3, 10) && s.contains(10, 10) && !s.contains(2, 10));
        // 100:* with largest 50 means 50:100.
        let s = set(&[(Value(100), Largest)]);
        assert!(s.contains(50, 50) && !s.contains(49, 50));
        // Empty mailbox: * matches nothing.
        assert!(!set(&[(Value(1), Largest)]).contains(1, 0));
        assert!(!set(&[(Largest, Largest)]).contains(0, 0));
        assert!(set(&[(Value(1), Value(1))]).contains(1, 0));
        assert!(!SequenceSet::Saved.contains(1, 10));
    }

    #[test]
    fn resolve_merges() {
        let s = set(&[
            (Value(7), Value(9)),
            (Value(1), Value(3)),
            (Value(4), Value(4)),
            (Value(8), Largest),
        ]);
        assert_eq!(s.resolve(12), vec![(1, 4), (7, 12)]);
        assert_eq!(s.resolve(0), vec![(1, 4), (7, 9)]);
        assert_eq!(set(&[(Largest, Value(3))]).resolve(2), vec![(2, 3)]);
        assert_eq!(
            set(&[(Value(u32::MAX), Value(1))]).resolve(0),
            vec![(1, u32::MAX)]
        );
        assert!(SequenceSet::Saved.resolve(5).is_empty());
    }

    #[test]
    fn display() {
        assert_eq!(
            set(&[
                (Value(1), Value(4)),
                (Value(7), Value(7)),
                (Value(9), Largest)
            ])
            .to_string(),
            "1:4,7,9:*"
        );
        assert_eq!(SequenceSet::Saved.to_string(), "$");
    }
}
