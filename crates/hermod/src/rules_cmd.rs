//! `hermod rule ...`: delivery rules from the command line.

use anyhow::{Context, Result, anyhow, bail};
use hermod_model::rules::{Action, Condition, MatchMode, Rule};
use hermod_store::{NewRule, RuleOwner, Store, StoreError};

use crate::cli::{RuleArgs, RuleCmd};
use crate::output::{self, print_json};

fn owner(s: &str) -> Result<RuleOwner> {
    RuleOwner::parse(s).map_err(|e| anyhow!("{e}; OWNER is a user's address or a domain name"))
}

fn explain(e: StoreError, owner: &RuleOwner) -> anyhow::Error {
    match &e {
        StoreError::NotFound("rule", _) => {
            anyhow!("{e}; see `hermod rule list {owner}`")
        }
        StoreError::Exists("rule", _) => {
            anyhow!(
                "{e}; choose another name, or change it with `hermod rule edit {owner} NAME ...`"
            )
        }
        _ => crate::commands::explain(e),
    }
}

/// "to contains ann@example.com" → (to, contains, ann@example.com).
fn condition(text: &str) -> Result<Condition> {
    let mut parts = text.trim().splitn(3, char::is_whitespace);
    match (parts.next(), parts.next(), parts.next()) {
        (Some(field), Some(op), Some(term)) if !term.trim().is_empty() => Ok(Condition {
            field: field.to_lowercase(),
            op: op.to_lowercase(),
            term: term.trim().to_string(),
        }),
        _ => {
            bail!("condition {text:?} is not \"FIELD OP TERM\", e.g. \"subject contains invoice\"")
        }
    }
}

fn day(s: &str, end_of_day: bool) -> Result<i64> {
    let d = chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .with_context(|| format!("{s:?} is not a date; write YYYY-MM-DD"))?;
    let t = if end_of_day {
        d.and_hms_opt(23, 59, 59)
    } else {
        d.and_hms_opt(0, 0, 0)
    };
    Ok(t.map(|t| t.and_utc().timestamp()).unwrap_or(0))
}

fn new_rule(name: &str, a: &RuleArgs) -> Result<NewRule> {
    let conditions = a
        .conditions()
        .iter()
        .map(|c| condition(c))
        .collect::<Result<Vec<_>>>()?;
    let mut actions = Vec::new();
    actions.extend(
        a.folder
            .iter()
            .map(|f| Action::Folder { folder: f.clone() }),
    );
    actions.extend(a.forward.iter().map(|t| Action::Forward {
        to: t.clone(),
        keep_copy: false,
    }));
    actions.extend(a.forward_copy.iter().map(|t| Action::Forward {
        to: t.clone(),
        keep_copy: true,
    }));
    if a.mark_read {
        actions.push(Action::MarkRead);
    }
    if a.flag {
        actions.push(Action::Flag);
    }
    if let (Some(subject), Some(body)) = (&a.auto_reply_subject, &a.auto_reply_body) {
        actions.push(Action::AutoReply {
            subject: subject.clone(),
            body: body.clone(),
            start: a
                .auto_reply_start
                .as_deref()
                .map(|d| day(d, false))
                .transpose()?,
            end: a
                .auto_reply_end
                .as_deref()
                .map(|d| day(d, true))
                .transpose()?,
            interval_days: a.auto_reply_days,
        });
    }
    if a.delete {
        actions.push(Action::Delete);
    }
    if a.stop {
        actions.push(Action::Stop);
    }
    let rule = NewRule {
        name: name.to_string(),
        match_mode: if a.any {
            MatchMode::Any
        } else {
            MatchMode::All
        },
        conditions,
        actions,
    };
    check(&rule)?;
    Ok(rule)
}

/// The engine's own validation, so the CLI refuses exactly what the engine cannot run.
fn check(rule: &NewRule) -> Result<()> {
    let as_rule = Rule {
        id: 0,
        owner: String::new(),
        name: rule.name.clone(),
        enabled: false,
        position: 0,
        match_mode: rule.match_mode.clone(),
        conditions: rule.conditions.clone(),
        actions: rule.actions.clone(),
    };
    hermod_rules::validate(&as_rule).map_err(|e| anyhow!(e))
}

fn describe_condition(c: &Condition) -> String {
    format!("{} {} {}", c.field, c.op, c.term)
}

fn describe_action(a: &Action) -> String {
    match a {
        Action::Folder { folder } => format!("file into {folder}"),
        Action::Forward {
            to,
            keep_copy: false,
        } => format!("forward to {to}"),
        Action::Forward {
            to,
            keep_copy: true,
        } => format!("forward a copy to {to}"),
        Action::Delete => "delete".into(),
        Action::MarkRead => "mark read".into(),
        Action::Flag => "flag".into(),
        Action::AutoReply {
            subject,
            interval_days,
            ..
        } => format!("auto-reply {subject:?} (once per sender every {interval_days} days)"),
        Action::Stop => "stop processing rules".into(),
    }
}

pub async fn run(store: &Store, cmd: RuleCmd) -> Result<()> {
    match cmd {
        RuleCmd::Add {
            owner: o,
            name,
            rule,
        } => {
            let o = owner(&o)?;
            let new = new_rule(&name, &rule)?;
            let r = store.add_rule(&o, new).await.map_err(|e| explain(e, &o))?;
            println!(
                "added rule {} for {o} at position {} (disabled; turn it on with `hermod rule enable {o} {}`)",
                r.name, r.position, r.name
            );
        }
        RuleCmd::Edit {
            owner: o,
            name,
            rule,
        } => {
            let o = owner(&o)?;
            let new = new_rule(&name, &rule)?;
            store
                .update_rule(&o, &name, &new)
                .await
                .map_err(|e| explain(e, &o))?;
            println!("saved rule {name} of {o}");
        }
        RuleCmd::List { owner: o, json } => {
            let o = owner(&o)?;
            let rules = store.list_rules(&o).await.map_err(|e| explain(e, &o))?;
            if json.json {
                print_json(&rules);
            } else {
                output::table(
                    &["#", "NAME", "STATE", "MATCH", "CONDITIONS", "ACTIONS"],
                    rules.iter().enumerate().map(|(i, r)| {
                        vec![
                            (i + 1).to_string(),
                            r.name.clone(),
                            if r.enabled { "enabled" } else { "disabled" }.into(),
                            match r.match_mode {
                                MatchMode::All => "all".into(),
                                MatchMode::Any => "any".into(),
                            },
                            r.conditions
                                .iter()
                                .map(describe_condition)
                                .collect::<Vec<_>>()
                                .join("; "),
                            r.actions
                                .iter()
                                .map(describe_action)
                                .collect::<Vec<_>>()
                                .join("; "),
                        ]
                    }),
                );
            }
        }
        RuleCmd::Show {
            owner: o,
            name,
            json,
        } => {
            let o = owner(&o)?;
            let r = store
                .get_rule(&o, &name)
                .await
                .map_err(|e| explain(e, &o))?;
            if json.json {
                print_json(&r);
            } else {
                let mut pairs = vec![
                    ("name", r.name.clone()),
                    ("owner", r.owner.clone()),
                    (
                        "state",
                        if r.enabled { "enabled" } else { "disabled" }.to_string(),
                    ),
                    ("position", r.position.to_string()),
                    (
                        "match",
                        match r.match_mode {
                            MatchMode::All => "all conditions".into(),
                            MatchMode::Any => "any condition".into(),
                        },
                    ),
                ];
                pairs.extend(r.conditions.iter().map(|c| ("if", describe_condition(c))));
                pairs.extend(r.actions.iter().map(|a| ("then", describe_action(a))));
                output::fields(&pairs);
            }
        }
        RuleCmd::Enable { owner: o, name } => {
            let o = owner(&o)?;
            store
                .set_rule_enabled(&o, &name, true)
                .await
                .map_err(|e| explain(e, &o))?;
            println!("rule {name} of {o} is enabled");
        }
        RuleCmd::Disable { owner: o, name } => {
            let o = owner(&o)?;
            store
                .set_rule_enabled(&o, &name, false)
                .await
                .map_err(|e| explain(e, &o))?;
            println!("rule {name} of {o} is disabled");
        }
        RuleCmd::Move {
            owner: o,
            name,
            position,
        } => {
            let o = owner(&o)?;
            if position == 0 {
                bail!("positions start at 1 (the rule that runs first)");
            }
            store
                .move_rule(&o, &name, position)
                .await
                .map_err(|e| explain(e, &o))?;
            println!("rule {name} of {o} moved to position {position}");
        }
        RuleCmd::Remove { owner: o, name } => {
            let o = owner(&o)?;
            store
                .remove_rule(&o, &name)
                .await
                .map_err(|e| explain(e, &o))?;
            println!("removed rule {name} of {o}");
        }
        RuleCmd::Export { owner: o, sieve } => {
            let o = owner(&o)?;
            let rules = store.list_rules(&o).await.map_err(|e| explain(e, &o))?;
            if sieve {
                print!("{}", hermod_rules::to_sieve(&rules));
            } else {
                print!("{}", hermod_rules::rules_to_json(&rules));
            }
        }
        RuleCmd::Import { owner: o, file } => {
            let o = owner(&o)?;
            let text = if file == "-" {
                std::io::read_to_string(std::io::stdin()).context("cannot read standard input")?
            } else {
                std::fs::read_to_string(&file).with_context(|| format!("cannot read {file}"))?
            };
            let rules = hermod_rules::rules_from_json(&text).map_err(|e| anyhow!("{file}: {e}"))?;
            let n = store
                .import_rules(&o, &rules)
                .await
                .map_err(|e| explain(e, &o))?;
            println!("imported {n} rule(s) for {o}");
        }
    }
    Ok(())
}
