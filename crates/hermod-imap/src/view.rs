//! What a session has told its client about the selected mailbox: which UID each sequence
//! number is, each message's flags and MODSEQ, and the MODSEQ it has caught up to. Changes
//! from the store's feed become untagged responses here.

use hermod_imap_proto::{SeqNum, SequenceSet, encode};
use hermod_model::Mailbox;
use hermod_store::{Changes, MessageState};

pub struct View {
    pub mailbox: Mailbox,
    pub read_only: bool,
    /// Messages in sequence order (= UID order).
    pub messages: Vec<MessageState>,
    /// Everything up to this MODSEQ has been reported.
    pub synced: u64,
    /// SEARCHRES: UIDs saved by SEARCH RETURN (SAVE), for `$`.
    pub saved: Vec<u32>,
}

/// How the client wants changes reported.
#[derive(Debug, Clone, Copy, Default)]
pub struct Report {
    pub condstore: bool,
    pub qresync: bool,
}

impl View {
    pub fn new(
        mailbox: Mailbox,
        read_only: bool,
        messages: Vec<MessageState>,
        synced: u64,
    ) -> View {
        View {
            mailbox,
            read_only,
            messages,
            synced,
            saved: Vec::new(),
        }
    }

    pub fn exists(&self) -> u32 {
        self.messages.len() as u32
    }

    pub fn seq_of(&self, uid: u32) -> Option<u32> {
        self.messages
            .binary_search_by_key(&uid, |m| m.uid)
            .ok()
            .map(|i| i as u32 + 1)
    }

    pub fn get(&self, uid: u32) -> Option<&MessageState> {
        self.messages
            .binary_search_by_key(&uid, |m| m.uid)
            .ok()
            .map(|i| &self.messages[i])
    }

    /// The UIDs a set names, ascending: by sequence number, or by UID (UIDs not in the
    /// mailbox are skipped; `*` is the highest UID).
    pub fn resolve(&self, set: &SequenceSet, uid: bool) -> Vec<u32> {
        let ranges = match set {
            SequenceSet::Saved => {
                let mut s: Vec<u32> = self
                    .saved
                    .iter()
                    .copied()
                    .filter(|u| self.get(*u).is_some())
                    .collect();
                s.sort_unstable();
                return s;
            }
            SequenceSet::Ranges(r) => r,
        };
        if self.messages.is_empty() {
            return Vec::new();
        }
        let mut out = Vec::new();
        let largest_uid = self.messages.last().map(|m| m.uid).unwrap_or(0);
        for &(a, b) in ranges {
            let num = |n: SeqNum| match n {
                SeqNum::Value(v) => v,
                SeqNum::Largest if uid => largest_uid,
                SeqNum::Largest => self.exists(),
            };
            let (lo, hi) = {
                let (x, y) = (num(a), num(b));
                (x.min(y), x.max(y))
            };
            if uid {
                let start = self.messages.partition_point(|m| m.uid < lo);
                out.extend(
                    self.messages[start..]
                        .iter()
                        .take_while(|m| m.uid <= hi)
                        .map(|m| m.uid),
                );
            } else {
                let hi = hi.min(self.exists());
                if lo >= 1 && lo <= hi {
                    out.extend(
                        self.messages[(lo - 1) as usize..hi as usize]
                            .iter()
                            .map(|m| m.uid),
                    );
                }
            }
        }
        out.sort_unstable();
        out.dedup();
        out
    }

    /// Whether a sequence-number set names only messages that do not exist (a client
    /// error). `1:*` on an empty mailbox is accepted and names nothing, as clients expect.
    pub fn seq_out_of_range(&self, set: &SequenceSet) -> bool {
        let exists = self.exists();
        match set {
            SequenceSet::Ranges(r) => r.iter().any(|&(a, b)| {
                let num = |n: SeqNum| match n {
                    SeqNum::Value(v) => v,
                    SeqNum::Largest => exists,
                };
                let has_star = a == SeqNum::Largest || b == SeqNum::Largest;
                num(a).min(num(b)) > exists && !(exists == 0 && has_star)
            }),
            SequenceSet::Saved => false,
        }
    }

    /// Applies this session's own flag change (already reported to its client).
    pub fn apply_own(&mut self, changed: &[MessageState]) {
        for c in changed {
            if let Ok(i) = self.messages.binary_search_by_key(&c.uid, |m| m.uid) {
                self.messages[i] = c.clone();
            }
        }
    }

    /// Removes this session's own expunges; returns the responses to send.
    pub fn remove_own(&mut self, uids: &[u32], report: Report) -> Vec<String> {
        let mut out = Vec::new();
        let mut gone = Vec::new();
        for uid in uids {
            if let Ok(i) = self.messages.binary_search_by_key(uid, |m| m.uid) {
                self.messages.remove(i);
                if report.qresync {
                    gone.push(*uid);
                } else {
                    out.push(format!("* {} EXPUNGE\r\n", i + 1));
                }
            }
        }
        if !gone.is_empty() {
            out.push(format!("* VANISHED {}\r\n", encode::compress_set(&gone)));
        }
        out
    }

    /// Turns changes made elsewhere into untagged responses and brings the view up to date.
    pub fn apply_changes(&mut self, changes: Changes, report: Report) -> Vec<String> {
        let mut out = self.remove_own(&changes.expunged, report);
        let last_uid = self.messages.last().map(|m| m.uid).unwrap_or(0);
        let mut added = false;
        let mut flag_updates = Vec::new();
        for c in changes.changed {
            if c.uid > last_uid {
                self.messages.push(c);
                added = true;
            } else if let Ok(i) = self.messages.binary_search_by_key(&c.uid, |m| m.uid) {
                let m = &mut self.messages[i];
                let flags_differ = m.flags != c.flags;
                if flags_differ || (report.condstore && m.modseq != c.modseq) {
                    m.flags = c.flags;
                    m.modseq = c.modseq;
                    if flags_differ {
                        flag_updates.push(i);
                    }
                }
            }
        }
        if added {
            out.push(format!("* {} EXISTS\r\n", self.exists()));
        }
        for i in flag_updates {
            let m = &self.messages[i];
            out.push(flags_response(i as u32 + 1, m, report));
        }
        self.synced = self.synced.max(changes.highest_modseq);
        out
    }
}

/// `* n FETCH (FLAGS (...) [UID u] [MODSEQ (m)])` for a flag change.
pub fn flags_response(seq: u32, m: &MessageState, report: Report) -> String {
    let mut s = format!("* {seq} FETCH (FLAGS {}", encode::flag_list(&m.flags));
    if report.qresync {
        s.push_str(&format!(" UID {}", m.uid));
    }
    if report.condstore {
        s.push_str(&format!(" MODSEQ ({})", m.modseq));
    }
    s.push_str(")\r\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use hermod_model::EmailAddress;

    fn state(uid: u32, modseq: u64, flags: &[&str]) -> MessageState {
        MessageState {
            uid,
            modseq,
            flags: flags.iter().map(|f| f.to_string()).collect(),
        }
    }

    fn view(uids: &[u32]) -> View {
        let mailbox = Mailbox {
            id: 1,
            account: EmailAddress::parse("ann@example.com").unwrap(),
            name: "INBOX".into(),
            uidvalidity: 7,
            uidnext: 100,
            highest_modseq: 10,
            special_use: None,
            subscribed: true,
        };
        View::new(
            mailbox,
            false,
            uids.iter().map(|u| state(*u, 1, &[])).collect(),
            10,
        )
    }

    fn set(ranges: &[(SeqNum, SeqNum)]) -> SequenceSet {
        SequenceSet::Ranges(ranges.to_vec())
    }

    #[test]
    fn sets_resolve_by_sequence_and_by_uid() {
        let v = view(&[3, 5, 9, 12]);
        let v1 = SeqNum::Value;
        assert_eq!(
            v.resolve(&set(&[(v1(2), SeqNum::Largest)]), false),
            vec![5, 9, 12]
        );
        assert_eq!(v.resolve(&set(&[(v1(4), v1(10))]), true), vec![5, 9]);
        assert_eq!(
            v.resolve(&set(&[(SeqNum::Largest, SeqNum::Largest)]), true),
            vec![12]
        );
        // "*" with a UID above every message still names the last one (RFC 9051 6.4.8).
        assert_eq!(
            v.resolve(&set(&[(v1(50), SeqNum::Largest)]), true),
            vec![12]
        );
        assert_eq!(v.resolve(&set(&[(v1(3), v1(1))]), false), vec![3, 5, 9]);
        assert!(v.seq_out_of_range(&set(&[(v1(5), v1(5))])));
        assert!(
            view(&[])
                .resolve(&set(&[(v1(1), SeqNum::Largest)]), true)
                .is_empty()
        );
    }

    #[test]
    fn changes_become_expunge_exists_and_fetch_in_that_order() {
        let mut v = view(&[3, 5, 9]);
        let changes = Changes {
            changed: vec![state(9, 11, &["\\Seen"]), state(13, 12, &[])],
            expunged: vec![3, 4],
            highest_modseq: 12,
        };
        let out = v.apply_changes(changes, Report::default());
        assert_eq!(
            out,
            vec![
                "* 1 EXPUNGE\r\n".to_string(),
                "* 3 EXISTS\r\n".to_string(),
                "* 2 FETCH (FLAGS (\\Seen))\r\n".to_string(),
            ]
        );
        assert_eq!(v.synced, 12);
        assert_eq!(v.seq_of(13), Some(3));
        // Told once: the same changes again say nothing.
        let again = Changes {
            changed: vec![state(9, 11, &["\\Seen"])],
            expunged: vec![3],
            highest_modseq: 12,
        };
        assert!(v.apply_changes(again, Report::default()).is_empty());
    }

    #[test]
    fn qresync_clients_get_vanished_and_uids() {
        let mut v = view(&[3, 5, 9]);
        let report = Report {
            condstore: true,
            qresync: true,
        };
        let out = v.apply_changes(
            Changes {
                changed: vec![state(5, 11, &["\\Flagged"])],
                expunged: vec![3, 9],
                highest_modseq: 11,
            },
            report,
        );
        assert_eq!(
            out,
            vec![
                "* VANISHED 3,9\r\n".to_string(),
                "* 1 FETCH (FLAGS (\\Flagged) UID 5 MODSEQ (11))\r\n".to_string(),
            ]
        );
    }
}
