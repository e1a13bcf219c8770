//! The message index's view of an analysis.

use hermod_model::IndexData;

/// Analyses a message for the index: what the store keeps so IMAP never re-parses it.
pub fn index(raw: &[u8]) -> IndexData {
    let a = crate::analyze(raw);
    IndexData {
        envelope: a.envelope,
        body_structure: a.body_structure,
        body: a.body,
        parts: a.parts.to_text(),
        sent_date: a.sent_date,
    }
}
