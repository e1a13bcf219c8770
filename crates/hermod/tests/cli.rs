//! The operator's CLI, run as a real process against SQLite and PostgreSQL.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::Value;

struct Env {
    dir: tempfile::TempDir,
    config: PathBuf,
}

struct Out {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Env {
    fn new(store_url: Option<String>) -> Env {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("hermod.toml");
        let mut text = format!(
            "hostname = \"mail.test.example\"\ndata_dir = {:?}\n",
            dir.path().join("data").display().to_string()
        );
        text.push_str("[listen]\nsmtp = [\"127.0.0.1:0\"]\nsubmission = [\"127.0.0.1:0\"]\nsubmissions = [\"127.0.0.1:0\"]\n");
        if let Some(url) = store_url {
            text.push_str(&format!("[store]\nurl = {url:?}\n"));
        }
        std::fs::write(&config, text).unwrap();
        Env { dir, config }
    }

    fn run_with_stdin(&self, args: &[&str], stdin: &str) -> Out {
        let mut child = Command::new(env!("CARGO_BIN_EXE_hermod"))
            .arg("--config")
            .arg(&self.config)
            .args(args)
            .current_dir(self.dir.path())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(stdin.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        let o = Out {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into(),
            stderr: String::from_utf8_lossy(&out.stderr).into(),
        };
        assert!(
            !o.stderr.contains("panicked"),
            "hermod {args:?} panicked: {}",
            o.stderr
        );
        o
    }

    fn run(&self, args: &[&str]) -> Out {
        self.run_with_stdin(args, "")
    }

    fn ok(&self, args: &[&str]) -> String {
        let o = self.run(args);
        assert_eq!(o.code, 0, "hermod {args:?} failed: {}", o.stderr);
        o.stdout
    }

    fn json(&self, args: &[&str]) -> Value {
        let mut args = args.to_vec();
        args.push("--json");
        serde_json::from_str(&self.ok(&args)).unwrap()
    }

    /// Fails with one line on stderr that contains `want`.
    fn fails(&self, args: &[&str], want: &str) {
        let o = self.run(args);
        assert_ne!(o.code, 0, "hermod {args:?} should fail");
        let line = o.stderr.trim();
        assert_eq!(line.lines().count(), 1, "one line please: {line}");
        assert!(
            line.starts_with("error: ") && line.contains(want),
            "hermod {args:?}: {line}"
        );
    }
}

fn pg_env() -> Option<Env> {
    let base = std::env::var("HERMOD_TEST_PG")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let schema = format!(
        "cli_{}_{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    );
    match rt.block_on(hermod_store::Store::open_raw_for_tests(&base)) {
        Ok(admin) => rt.block_on(admin.create_schema(&schema)).unwrap(),
        Err(e) if std::env::var("HERMOD_SKIP_PG").as_deref() == Ok("1") => {
            eprintln!(
                "\n!!!!! PostgreSQL at {base} is not reachable ({e}); SKIPPING the PostgreSQL half !!!!!\n"
            );
            return None;
        }
        Err(e) => panic!(
            "PostgreSQL at {base} is not reachable: {e}; set HERMOD_SKIP_PG=1 to skip (never in CI)"
        ),
    }
    let sep = if base.contains('?') { '&' } else { '?' };
    Some(Env::new(Some(format!(
        "{base}{sep}options[search_path]={schema}"
    ))))
}

fn round_trip(env: &Env) {
    env.ok(&["domain", "add", "Example.COM"]);
    env.ok(&[
        "domain",
        "add",
        "bücher.example",
        "--local-delivery",
        "no",
        "--plan",
        "enhanced",
    ]);
    let domains = env.json(&["domain", "list"]);
    assert_eq!(domains[0]["name"], "example.com");
    assert_eq!(domains[1]["name"], "xn--bcher-kva.example");
    assert_eq!(domains[1]["local_delivery"], false);
    assert_eq!(domains[1]["default_plan"], "enhanced");

    let o = env.run_with_stdin(
        &["user", "add", "Ann@Example.com", "--name", "Ann Example"],
        "correct-horse\n",
    );
    assert_eq!(o.code, 0, "{}", o.stderr);
    env.run_with_stdin(
        &["user", "add", "bob@example.com", "--plan", "enhanced"],
        "battery-staple\n",
    );
    let users = env.json(&["user", "list", "--domain", "example.com"]);
    assert_eq!(users.as_array().unwrap().len(), 2);
    assert_eq!(users[0]["address"], "ann@example.com");
    assert_eq!(users[0]["display_name"], "Ann Example");
    assert_eq!(users[0]["plan"], "basic");
    assert!(
        users[0].get("password_hash").is_none(),
        "hashes never leave the store"
    );

    env.ok(&["alias", "add", "sales@example.com", "ann@example.com"]);
    env.ok(&["alias", "add", "sales@example.com", "bob@example.com"]);
    let aliases = env.json(&["alias", "list"]);
    assert_eq!(aliases[0]["address"], "sales@example.com");
    assert_eq!(
        aliases[0]["targets"],
        serde_json::json!(["ann@example.com", "bob@example.com"])
    );

    env.ok(&[
        "user",
        "send-as",
        "grant",
        "ann@example.com",
        "ceo@example.com",
    ]);
    assert_eq!(
        env.json(&["user", "send-as", "list", "ann@example.com"]),
        serde_json::json!(["ceo@example.com"])
    );

    env.ok(&["filter", "add", "block", "*.xyz"]);
    env.ok(&[
        "filter",
        "add",
        "block",
        "spam.com",
        "--domain",
        "example.com",
    ]);
    env.ok(&[
        "filter",
        "add",
        "allow",
        "friend@spam.com",
        "--user",
        "ann@example.com",
    ]);
    let system = env.json(&["filter", "list"]);
    assert_eq!(system.as_array().unwrap().len(), 1);
    assert_eq!(system[0]["pattern"], "*.xyz");
    assert_eq!(system[0]["scope"], "system");
    let combined = env.json(&[
        "filter",
        "list",
        "--domain",
        "example.com",
        "--include-users",
        "--search",
        "spam",
    ]);
    assert_eq!(combined.as_array().unwrap().len(), 2, "{combined}");
    let id = combined[1]["id"].as_i64().unwrap().to_string();
    env.ok(&["filter", "remove", &id]);
    assert_eq!(
        env.json(&["filter", "list", "--all"])
            .as_array()
            .unwrap()
            .len(),
        2
    );

    env.ok(&["plan", "set", "enhanced", "1500"]);
    env.ok(&["user", "set", "bob@example.com", "--send-limit", "5000"]);
    let bob = env.json(&["user", "show", "bob@example.com"]);
    assert_eq!(bob["daily_limit"], 5000);
    assert_eq!(bob["sent_last_24h"], 0);
    let ann = env.json(&["user", "show", "ann@example.com"]);
    assert_eq!(ann["daily_limit"], 300);
    assert_eq!(ann["send_as"], serde_json::json!(["ceo@example.com"]));
    assert!(
        env.ok(&["user", "show", "ann@example.com"])
            .contains("sent in last 24h  0 of 300")
    );

    // Bad input: one clear line and a non-zero exit.
    env.fails(
        &["domain", "add", "example.com"],
        "domain example.com already exists",
    );
    env.fails(
        &["user", "add", "x@nowhere.com"],
        "domain nowhere.com does not exist; add it with `hermod domain add nowhere.com`",
    );
    let dup = env.run_with_stdin(&["user", "add", "ann@example.com"], "whatever-pass\n");
    assert_ne!(dup.code, 0);
    assert!(
        dup.stderr.contains("user ann@example.com already exists"),
        "{}",
        dup.stderr
    );
    env.fails(
        &["user", "add", "not an address"],
        "is not an e-mail address",
    );
    env.fails(
        &["user", "show", "ghost@example.com"],
        "user ghost@example.com does not exist",
    );
    env.fails(
        &["domain", "set", "example.com", "--plan", "gold"],
        "plan gold does not exist",
    );
    env.fails(
        &["filter", "add", "block", "no spaces.com"],
        "a pattern is an address",
    );
    env.fails(
        &["user", "set", "ann@example.com", "--send-limit", "lots"],
        "--send-limit takes a number",
    );
    let short = env.run_with_stdin(&["user", "passwd", "ann@example.com"], "short\n");
    assert!(
        short.code != 0 && short.stderr.contains("too short"),
        "{}",
        short.stderr
    );
    let ok = env.run_with_stdin(&["user", "passwd", "ann@example.com"], "a-longer-one\n");
    assert_eq!(ok.code, 0, "{}", ok.stderr);

    env.fails(
        &["domain", "remove", "example.com"],
        "still has 2 account(s)",
    );
    env.ok(&["domain", "remove", "example.com", "--with-accounts"]);
    env.fails(&["domain", "show", "example.com"], "does not exist");
}

#[test]
fn round_trip_on_sqlite() {
    round_trip(&Env::new(None));
}

#[test]
fn round_trip_on_postgres() {
    if let Some(env) = pg_env() {
        round_trip(&env);
    }
}

#[test]
fn without_a_config_the_data_directory_is_local() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_hermod"))
        .args(["domain", "add", "example.org"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(dir.path().join("hermod-data/hermod.db").exists());
}

#[test]
fn settings_problems_name_their_line() {
    let env = Env::new(None);
    let bad = env.dir.path().join("bad.toml");
    std::fs::write(
        &bad,
        "hostname = \"a.example\"\n[listen]\nsmpt = [\"0.0.0.0:25\"]\n",
    )
    .unwrap();
    env.fails(
        &["config", "check", bad.to_str().unwrap()],
        "line 3: unknown setting listen.smpt (did you mean listen.smtp?)",
    );
    std::fs::write(&bad, "[limits]\nmax_recipients = \"many\"\n").unwrap();
    env.fails(
        &["config", "check", bad.to_str().unwrap()],
        "line 2: bad value for limits.max_recipients",
    );
    let o = Command::new(env!("CARGO_BIN_EXE_hermod"))
        .args(["--config", bad.to_str().unwrap(), "domain", "list"])
        .output()
        .unwrap();
    assert!(!o.status.success());
    env.fails(
        &["config", "check", "/does/not/exist.toml"],
        "cannot read settings file /does/not/exist.toml",
    );
    let good = env.dir.path().join("good.toml");
    std::fs::write(&good, env.ok(&["config", "show"])).unwrap();
    assert!(
        env.ok(&["config", "check", good.to_str().unwrap()])
            .contains("ok")
    );
    let shown = env.json(&["config", "show"]);
    assert_eq!(shown["limits.max_recipients"], 100);
    assert_eq!(shown["smtp.reply_profile"], "faq");
    assert_eq!(shown["hostname"], "mail.test.example");
}

#[test]
fn an_unreachable_postgres_is_one_line() {
    let env = Env::new(Some("postgres://nobody@127.0.0.1:1/none".into()));
    env.fails(
        &["domain", "list"],
        "cannot open the store at postgres://nobody@127.0.0.1:1/none",
    );
}

#[test]
fn serve_starts_and_stops_on_sigterm() {
    let env = Env::new(None);
    let mut child = Command::new(env!("CARGO_BIN_EXE_hermod"))
        .args(["--config", env.config.to_str().unwrap(), "serve"])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let reader = std::thread::spawn(move || {
        use std::io::BufRead;
        let mut seen = String::new();
        for line in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            seen.push_str(&line);
            seen.push('\n');
        }
        seen
    });
    let cert = env.dir.path().join("data/tls/self-signed.crt");
    wait_for(&cert);
    std::thread::sleep(std::time::Duration::from_millis(300));
    send_signal(child.id(), 15);
    let status = child.wait().unwrap();
    let log = reader.join().unwrap();
    assert!(status.success(), "exit {status:?}: {log}");
    assert!(log.contains("made a self-signed certificate"), "{log}");
    assert!(log.contains("hermod started"), "{log}");
    assert!(log.contains("shutting down"), "{log}");
    assert!(
        std::fs::read_to_string(&cert)
            .unwrap()
            .contains("BEGIN CERTIFICATE")
    );
}

fn wait_for(path: &Path) {
    for _ in 0..200 {
        if path.exists() {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    panic!("{} never appeared", path.display());
}

fn send_signal(pid: u32, signal: i32) {
    Command::new("kill")
        .arg(format!("-{signal}"))
        .arg(pid.to_string())
        .status()
        .unwrap();
}
