//! JSON export and import of rules (`hermod rule export` / `hermod rule import`).
//!
//! The format is a JSON array of [`Rule`] objects as serialised by
//! hermod-model (fields `id`, `owner`, `name`, `enabled`, `position`,
//! `match_mode`, `conditions`, `actions`). Import checks every rule with
//! [`validate`] and that names are unique; errors name the rule.

use hermod_model::rules::Rule;

use crate::engine::validate;

/// The rules as pretty-printed JSON (an array), ending with a newline.
pub fn rules_to_json(rules: &[Rule]) -> String {
    let mut s = serde_json::to_string_pretty(rules).unwrap_or_else(|_| "[]".into());
    s.push('\n');
    s
}

/// Reads rules written by [`rules_to_json`] and checks each of them.
pub fn rules_from_json(text: &str) -> Result<Vec<Rule>, String> {
    let rules: Vec<Rule> = serde_json::from_str(text).map_err(|e| {
        format!("the file is not a valid rules export ({e}); it must be a JSON array of rules as written by `hermod rule export`")
    })?;
    for (i, rule) in rules.iter().enumerate() {
        validate(rule).map_err(|e| format!("rule {} ({:?}): {e}", i + 1, rule.name))?;
        if let Some(j) = rules[..i]
            .iter()
            .position(|r| r.name == rule.name && r.owner == rule.owner)
        {
            return Err(format!(
                "rule {} ({:?}): the name is already used by rule {}; give each rule its own name",
                i + 1,
                rule.name,
                j + 1
            ));
        }
    }
    Ok(rules)
}
