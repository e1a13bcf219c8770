use super::*;

#[test]
fn defaults_are_the_faqs() {
    let s = Settings::default();
    assert_eq!(s.limits_max_recipients, 100);
    assert_eq!(s.limits_max_message_size, 50 * 1024 * 1024);
    assert_eq!(s.smtp_command_timeout, Duration::from_secs(20));
    assert_eq!(s.smtp_reply_profile, ReplyProfile::Faq);
    assert_eq!(s.listen_submission.len(), 2);
    assert_eq!(s.effective_store_url(), "sqlite://./hermod-data/hermod.db");
}

#[test]
fn the_issue_example_parses() {
    let text = r#"
hostname = "mail.example.net"
data_dir = "/var/lib/hermod"
[listen]
smtp = ["0.0.0.0:25"]
submission = ["0.0.0.0:587", "0.0.0.0:26"]
submissions = ["0.0.0.0:465"]
imap = ["0.0.0.0:143"]
imaps = ["0.0.0.0:993"]
http = ["127.0.0.1:8080"]
[store]
url = "postgres://hermod@127.0.0.1/hermod"
blobs = "/srv/blobs"
[smtp]
reply_profile = "rfc"
command_timeout = 30
"#;
    let s = Settings::parse(text).unwrap();
    assert_eq!(s.hostname, "mail.example.net");
    assert_eq!(
        s.listen_http,
        vec!["127.0.0.1:8080".parse::<SocketAddr>().unwrap()]
    );
    assert_eq!(
        s.effective_store_url(),
        "postgres://hermod@127.0.0.1/hermod"
    );
    assert_eq!(s.effective_blob_dir(), PathBuf::from("/srv/blobs"));
    assert_eq!(s.smtp_reply_profile, ReplyProfile::Rfc);
    assert_eq!(s.smtp_command_timeout, Duration::from_secs(30));
}

#[test]
fn problems_name_their_line() {
    let text = "hostname = \"a.example\"\n[listen]\nsmpt = [\"0.0.0.0:25\"]\nimap = [\"nope\"]\n[smtp]\nreply_profile = \"loud\"\n";
    let problems = Settings::parse(text).unwrap_err();
    let shown: Vec<String> = problems.iter().map(|p| p.to_string()).collect();
    assert_eq!(shown.len(), 3, "{shown:?}");
    assert!(
        shown[0].starts_with("line 3: unknown setting listen.smpt (did you mean listen.smtp?)"),
        "{shown:?}"
    );
    assert!(
        shown[1].starts_with("line 4: bad value for listen.imap"),
        "{shown:?}"
    );
    assert!(
        shown[2].starts_with("line 6: bad value for smtp.reply_profile"),
        "{shown:?}"
    );
}

#[test]
fn syntax_errors_name_their_line() {
    let problems = Settings::parse("hostname = \"a.example\"\n\nlimits = {\n").unwrap_err();
    assert_eq!(problems[0].line, 3, "{problems:?}");
    assert!(problems[0].message.starts_with("not valid TOML"));
}

#[test]
fn wrong_types_are_refused() {
    for (text, why) in [
        ("[limits]\nmax_recipients = -1", "out of range"),
        ("[limits]\nmax_recipients = \"100\"", "expected an integer"),
        (
            "[limits]\ncount_per_recipient = 1",
            "expected true or false",
        ),
        ("[smtp]\ncommand_timeout = 0", "out of range"),
        ("[tls]\ncert = \"/x.pem\"", "must be given together"),
    ] {
        let problems = Settings::parse(text).unwrap_err();
        assert!(
            problems.iter().any(|p| p.message.contains(why)),
            "{text}: {problems:?}"
        );
    }
}

#[test]
fn show_round_trips() {
    let mut s = Settings::default();
    s.hostname = "mx.example.org".into();
    s.limits_count_per_recipient = true;
    let text = s.to_toml_text();
    let again = Settings::parse(&text).unwrap();
    assert_eq!(again.hostname, "mx.example.org");
    assert!(again.limits_count_per_recipient);
    assert_eq!(again.effective_store_url(), s.effective_store_url());
    assert_eq!(s.to_json()["limits.max_recipients"], 100);
}

#[test]
fn every_setting_is_documented() {
    for def in DEFS {
        assert!(!def.doc.trim().is_empty(), "{} has no doc", def.key);
    }
    let reference = Settings::reference();
    assert!(
        reference.contains("| `limits.max_recipients` | integer | `100` |"),
        "{reference}"
    );
}

#[test]
fn docs_settings_md_is_generated_from_the_table() {
    let on_disk = include_str!("../../../docs/settings.md");
    assert_eq!(
        on_disk,
        Settings::reference(),
        "docs/settings.md is stale: run `cargo run -- config reference > docs/settings.md`"
    );
}
