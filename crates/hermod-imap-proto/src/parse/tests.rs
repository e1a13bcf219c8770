use super::*;
use SeqNum::{Largest, Value};
use chrono::TimeZone;

fn ok(s: impl AsRef<[u8]>) -> Command {
    let s = s.as_ref();
    match parse_command(s) {
        Ok(t) => t.command,
        Err(e) => panic!("{:?} failed: {e}", String::from_utf8_lossy(s)),
    }
}

fn err(s: impl AsRef<[u8]>) -> ParseError {
    let s = s.as_ref();
    match parse_command(s) {
        Ok(t) => panic!("{:?} parsed as {t:?}", String::from_utf8_lossy(s)),
        Err(e) => e,
    }
}

/// Asserts the error message contains `needle` and the tag is `tag`.
fn err_msg(s: impl AsRef<[u8]>, tag: Option<&str>, needle: &str) {
    let s = s.as_ref();
    let e = err(s);
    let shown = String::from_utf8_lossy(s);
    assert_eq!(e.tag.as_deref(), tag, "{shown:?}: {e:?}");
    assert!(
        e.message.contains(needle),
        "{shown:?}: message {:?} lacks {needle:?}",
        e.message
    );
}

fn r(a: u32, b: u32) -> (SeqNum, SeqNum) {
    (Value(a), Value(b))
}

fn set(v: &[(SeqNum, SeqNum)]) -> SequenceSet {
    SequenceSet::Ranges(v.to_vec())
}

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

fn search(s: &str) -> Search {
    match ok(s) {
        Command::Search(s) => s,
        c => panic!("not a search: {c:?}"),
    }
}

fn fetch(s: &str) -> Fetch {
    match ok(s) {
        Command::Fetch(f) => f,
        c => panic!("not a fetch: {c:?}"),
    }
}

fn store(s: &str) -> Store {
    match ok(s) {
        Command::Store(f) => f,
        c => panic!("not a store: {c:?}"),
    }
}

// ----- Framing, tags, simple commands.

#[test]
fn simple_commands() {
    assert_eq!(
        parse_command(b"a1 NOOP\r\n").unwrap(),
        Tagged {
            tag: "a1".into(),
            command: Command::Noop
        }
    );
    assert_eq!(ok("a capability\r\n"), Command::Capability);
    assert_eq!(ok("a LoGoUt\n"), Command::Logout);
    assert_eq!(ok("a STARTTLS"), Command::StartTls);
    assert_eq!(ok("a NAMESPACE\r\n"), Command::Namespace);
    assert_eq!(ok("a IDLE\r\n"), Command::Idle);
    assert_eq!(ok("a CHECK\r\n"), Command::Check);
    assert_eq!(ok("a CLOSE\r\n"), Command::Close);
    assert_eq!(ok("a UNSELECT\r\n"), Command::Unselect);
    assert_eq!(ok("a EXPUNGE\r\n"), Command::Expunge { uids: None });
    assert_eq!(
        ok("a UID EXPUNGE 3000:3002\r\n"),
        Command::Expunge {
            uids: Some(set(&[r(3000, 3002)]))
        }
    );
    assert_eq!(
        ok("a COMPRESS deflate\r\n"),
        Command::Compress {
            algorithm: "DEFLATE".into()
        }
    );
    assert_eq!(parse_command(b"A.b]c-1 NOOP\r\n").unwrap().tag, "A.b]c-1");
}

#[test]
fn tag_errors() {
    err_msg("\r\n", None, "empty command line");
    err_msg("", None, "empty command line");
    err_msg(" NOOP\r\n", None, "expected a tag");
    err_msg("+ NOOP\r\n", None, "expected a tag");
    err_msg("* NOOP\r\n", None, "expected a tag");
    err_msg("a+b NOOP\r\n", None, "invalid character in the tag");
    err_msg("a\"b NOOP\r\n", None, "invalid character in the tag");
    err_msg("a1\r\n", Some("a1"), "missing command");
    err_msg("a1 \r\n", Some("a1"), "expected a command name");
    err_msg("a1  NOOP\r\n", Some("a1"), "expected a command name");
}

#[test]
fn unknown_and_trailing() {
    err_msg("a1 FOO\r\n", Some("a1"), "unknown command FOO");
    err_msg("a1 foo bar\r\n", Some("a1"), "unknown command foo");
    err_msg("a1 UID FOO 1\r\n", Some("a1"), "unknown command UID FOO");
    err_msg("a1 UID\r\n", Some("a1"), "expected a command after UID");
    err_msg("a1 NOOP x\r\n", Some("a1"), "unexpected text after NOOP");
    err_msg(
        "a1 NOOP \r\n",
        Some("a1"),
        "unexpected space at the end of NOOP",
    );
    err_msg("a1 NOOP\r\nx", Some("a1"), "unexpected text");
    err_msg(
        "a1 NOOP\rx\n",
        Some("a1"),
        "invalid character in command name",
    );
    err_msg(
        "a1 NO(OP\r\n",
        Some("a1"),
        "invalid character in command name",
    );
    err_msg("a1 LOGOUT\r\n\r\n", Some("a1"), "unexpected text");
}

// ----- Strings.

#[test]
fn login_strings() {
    let login = |u: &str, p: &str| Command::Login {
        user: u.into(),
        password: p.into(),
    };
    assert_eq!(ok("a LOGIN smith sesame\r\n"), login("smith", "sesame"));
    assert_eq!(
        ok("a LOGIN \"smith\" \"ses ame\"\r\n"),
        login("smith", "ses ame")
    );
    assert_eq!(
        ok("a LOGIN \"a\\\"b\" \"c\\\\d\"\r\n"),
        login("a\"b", "c\\d")
    );
    assert_eq!(
        ok("a LOGIN {5}\r\nsmith {6+}\r\nses\r\nm\r\n"),
        login("smith", "ses\r\nm")
    );
    assert_eq!(ok("a LOGIN {5}\nsmith {0}\n\n"), login("smith", ""));
    assert_eq!(ok("a LOGIN \"\" \"\"\r\n"), login("", ""));
    assert_eq!(ok("a LOGIN \"jürgen\" pass]\r\n"), login("jürgen", "pass]"));
    err_msg("a LOGIN smith\r\n", Some("a"), "expected a password");
    err_msg("a LOGIN\r\n", Some("a"), "expected a user name after LOGIN");
    err_msg(
        "a LOGIN \"smith sesame\r\n",
        Some("a"),
        "unterminated quoted string",
    );
    err_msg("a LOGIN \"sm\\ith\" x\r\n", Some("a"), "invalid escape");
    err_msg(
        "a LOGIN {10}\r\nsmith\r\n",
        Some("a"),
        "longer than the data",
    );
    err_msg(
        "a LOGIN {5x}\r\nsmith x\r\n",
        Some("a"),
        "expected } after the literal size",
    );
    err_msg(
        "a LOGIN {5} x\r\n",
        Some("a"),
        "expected a line end after the literal size",
    );
    err_msg(
        "a LOGIN {99999999999999999999999}\r\n",
        Some("a"),
        "too large",
    );
    err_msg("a LOGIN ~{5}\r\nsmith x\r\n", Some("a"), "literal8");
    err_msg(b"a LOGIN \"\xff\" x\r\n", Some("a"), "not valid UTF-8");
    err_msg(b"a LOGIN {1}\r\n\xff x\r\n", Some("a"), "not valid UTF-8");
    err_msg("a LOGIN {1}\r\n\0 x\r\n", Some("a"), "NUL");
    err_msg("a LOGIN sm\"ith x\r\n", Some("a"), "invalid character");
    err_msg(
        "a LOGIN smith sesame extra\r\n",
        Some("a"),
        "unexpected text after LOGIN",
    );
}

#[test]
fn authenticate() {
    assert_eq!(
        ok("a AUTHENTICATE plain\r\n"),
        Command::Authenticate {
            mechanism: "PLAIN".into(),
            initial: None
        }
    );
    assert_eq!(
        ok("a AUTHENTICATE PLAIN AGZyZWQAdGVzdA==\r\n"),
        Command::Authenticate {
            mechanism: "PLAIN".into(),
            initial: Some("AGZyZWQAdGVzdA==".into())
        }
    );
    assert_eq!(
        ok("a AUTHENTICATE PLAIN =\r\n"),
        Command::Authenticate {
            mechanism: "PLAIN".into(),
            initial: Some("=".into())
        }
    );
    err_msg(
        "a AUTHENTICATE PLAIN AG=ZyZ\r\n",
        Some("a"),
        "invalid initial response",
    );
    err_msg(
        "a AUTHENTICATE PLAIN \"AGZy\"\r\n",
        Some("a"),
        "invalid initial response",
    );
    err_msg("a AUTHENTICATE\r\n", Some("a"), "expected a SASL mechanism");
}

#[test]
fn enable_and_id() {
    assert_eq!(
        ok("a ENABLE condstore qresync\r\n"),
        Command::Enable(vec!["CONDSTORE".into(), "QRESYNC".into()])
    );
    assert_eq!(
        ok("a ENABLE UTF8=ACCEPT\r\n"),
        Command::Enable(vec!["UTF8=ACCEPT".into()])
    );
    err_msg(
        "a ENABLE\r\n",
        Some("a"),
        "expected a capability name after ENABLE",
    );
    assert_eq!(ok("a ID NIL\r\n"), Command::Id(None));
    assert_eq!(ok("a ID ()\r\n"), Command::Id(Some(vec![])));
    assert_eq!(
        ok("a ID (\"name\" \"sodr\" \"version\" NIL \"x\" \"NIL\")\r\n"),
        Command::Id(Some(vec![
            ("name".into(), Some("sodr".into())),
            ("version".into(), None),
            ("x".into(), Some("NIL".into())),
        ]))
    );
    err_msg(
        "a ID (\"name\" \"sodr\"\r\n",
        Some("a"),
        "unbalanced parenthesis in ID",
    );
    err_msg("a ID (\"name\")\r\n", Some("a"), "expected a value");
    err_msg(
        "a ID foo\r\n",
        Some("a"),
        "expected NIL or a parenthesised list",
    );
}

// ----- Mailbox commands.

#[test]
fn select_examine() {
    assert_eq!(
        ok("a SELECT inbox\r\n"),
        Command::Select {
            mailbox: "inbox".into(),
            read_only: false,
            condstore: false,
            qresync: None
        }
    );
    assert_eq!(
        ok("a EXAMINE \"Sent Items\" (CONDSTORE)\r\n"),
        Command::Select {
            mailbox: "Sent Items".into(),
            read_only: true,
            condstore: true,
            qresync: None
        }
    );
    let Command::Select {
        qresync: Some(q), ..
    } = ok("A02 SELECT INBOX (QRESYNC (67890007 20050715194045000 41,43:211,214:541))\r\n")
    else {
        panic!()
    };
    assert_eq!(q.uidvalidity, 67890007);
    assert_eq!(q.modseq, 20050715194045000);
    assert_eq!(
        q.known_uids,
        Some(set(&[r(41, 41), r(43, 211), r(214, 541)]))
    );
    assert_eq!(q.seq_match, None);
    let Command::Select {
        qresync: Some(q), ..
    } = ok(
        "B04 SELECT INBOX (QRESYNC (67890007 90060115194045000 1:29997 (5000,7500,9000,9990:9999 15000,22500,27000,29970,29973,29976,29979,29982,29985,29988,29991,29994,29997)))\r\n",
    )
    else {
        panic!()
    };
    assert_eq!(q.known_uids, Some(set(&[r(1, 29997)])));
    let (seqs, uids) = q.seq_match.unwrap();
    assert_eq!(
        seqs,
        set(&[r(5000, 5000), r(7500, 7500), r(9000, 9000), r(9990, 9999)])
    );
    assert!(matches!(uids, SequenceSet::Ranges(v) if v.len() == 13));
    let Command::Select {
        qresync: Some(q), ..
    } = ok("a SELECT x (QRESYNC (1 2 (1:2 3:4)))\r\n")
    else {
        panic!()
    };
    assert_eq!(q.known_uids, None);
    assert_eq!(q.seq_match, Some((set(&[r(1, 2)]), set(&[r(3, 4)]))));
    err_msg(
        "a SELECT\r\n",
        Some("a"),
        "expected a mailbox name after SELECT",
    );
    err_msg(
        "a SELECT x (FOO)\r\n",
        Some("a"),
        "unknown SELECT parameter FOO",
    );
    err_msg(
        "a SELECT x (CONDSTORE\r\n",
        Some("a"),
        "unbalanced parenthesis in SELECT parameters",
    );
    err_msg(
        "a SELECT x (QRESYNC (0 1))\r\n",
        Some("a"),
        "must not be zero",
    );
    err_msg(
        "a SELECT x (QRESYNC (1 2 3:4\r\n",
        Some("a"),
        "unbalanced parenthesis",
    );
    err_msg(
        "a EXAMINE x y\r\n",
        Some("a"),
        "expected ( to start EXAMINE parameters",
    );
}

#[test]
fn mailbox_management() {
    assert_eq!(
        ok("a CREATE owatagusiam/\r\n"),
        Command::Create {
            mailbox: "owatagusiam/".into(),
            special_use: vec![]
        }
    );
    assert_eq!(
        ok("a CREATE MySpecial (USE (\\Drafts \\Sent))\r\n"),
        Command::Create {
            mailbox: "MySpecial".into(),
            special_use: vec!["\\Drafts".into(), "\\Sent".into()]
        }
    );
    err_msg(
        "a CREATE x (USE (Drafts))\r\n",
        Some("a"),
        "special-use attribute",
    );
    err_msg(
        "a CREATE x (FOO)\r\n",
        Some("a"),
        "unknown CREATE parameter FOO",
    );
    assert_eq!(
        ok("a DELETE blurdybloop\r\n"),
        Command::Delete {
            mailbox: "blurdybloop".into()
        }
    );
    assert_eq!(
        ok("a RENAME \"a b\" {3}\r\nc d\r\n"),
        Command::Rename {
            from: "a b".into(),
            to: "c d".into()
        }
    );
    err_msg(
        "a RENAME x\r\n",
        Some("a"),
        "expected the new mailbox name after RENAME",
    );
    assert_eq!(
        ok("a SUBSCRIBE #news.comp.mail.mime\r\n"),
        Command::Subscribe {
            mailbox: "#news.comp.mail.mime".into()
        }
    );
    assert_eq!(
        ok("a UNSUBSCRIBE \"&U,BTFw-\"\r\n"),
        Command::Unsubscribe {
            mailbox: "&U,BTFw-".into()
        }
    );
    assert_eq!(
        ok(
            "a STATUS blurdybloop (UIDNEXT MESSAGES size deleted HIGHESTMODSEQ APPENDLIMIT RECENT UIDVALIDITY UNSEEN)\r\n"
        ),
        Command::Status {
            mailbox: "blurdybloop".into(),
            items: vec![
                StatusItem::UidNext,
                StatusItem::Messages,
                StatusItem::Size,
                StatusItem::Deleted,
                StatusItem::HighestModSeq,
                StatusItem::AppendLimit,
                StatusItem::Recent,
                StatusItem::UidValidity,
                StatusItem::Unseen,
            ]
        }
    );
    err_msg("a STATUS x ()\r\n", Some("a"), "empty the STATUS item list");
    err_msg("a STATUS x (FOO)\r\n", Some("a"), "unknown STATUS item FOO");
    err_msg("a STATUS x MESSAGES\r\n", Some("a"), "expected ( to start");
    err_msg(
        "a STATUS x (MESSAGES\r\n",
        Some("a"),
        "unbalanced parenthesis",
    );
    err_msg("a STATUS x (MESSAGES )\r\n", Some("a"), "unexpected space");
}

#[test]
fn quota() {
    assert_eq!(
        ok("a GETQUOTA \"\"\r\n"),
        Command::GetQuota { root: "".into() }
    );
    assert_eq!(
        ok("a GETQUOTAROOT INBOX\r\n"),
        Command::GetQuotaRoot {
            mailbox: "INBOX".into()
        }
    );
    assert_eq!(
        ok("a SETQUOTA \"\" (storage 512 MESSAGE 1000)\r\n"),
        Command::SetQuota {
            root: "".into(),
            limits: vec![("STORAGE".into(), 512), ("MESSAGE".into(), 1000)]
        }
    );
    assert_eq!(
        ok("a SETQUOTA x ()\r\n"),
        Command::SetQuota {
            root: "x".into(),
            limits: vec![]
        }
    );
    err_msg("a SETQUOTA x (STORAGE)\r\n", Some("a"), "expected a limit");
    err_msg("a GETQUOTA\r\n", Some("a"), "expected a quota root");
}

#[test]
fn list() {
    let Command::List(l) = ok("a LIST \"\" *\r\n") else {
        panic!()
    };
    assert_eq!(
        l,
        List {
            reference: "".into(),
            patterns: vec!["*".into()],
            ..List::default()
        }
    );
    let Command::List(l) = ok("a LIST ~/Mail/ %\r\n") else {
        panic!()
    };
    assert_eq!(
        (l.reference.as_str(), l.patterns),
        ("~/Mail/", vec!["%".to_string()])
    );
    let Command::List(l) = ok("a LIST \"\" \"\"\r\n") else {
        panic!()
    };
    assert_eq!(l.patterns, vec![String::new()]);
    let Command::List(l) = ok("a LIST #news. comp.mail.*]\r\n") else {
        panic!()
    };
    assert_eq!(l.patterns, vec!["comp.mail.*]".to_string()]);
    let Command::List(l) = ok(
        "A01 LIST (SUBSCRIBED REMOTE RECURSIVEMATCH special-use) \"\" (\"INBOX\" \"Drafts\" Sent/%) RETURN (CHILDREN SUBSCRIBED SPECIAL-USE STATUS (MESSAGES UNSEEN))\r\n",
    ) else {
        panic!()
    };
    assert!(l.select_subscribed && l.select_remote && l.select_recursive && l.select_special_use);
    assert!(l.return_children && l.return_subscribed && l.return_special_use && !l.lsub);
    assert_eq!(
        l.patterns,
        vec!["INBOX".to_string(), "Drafts".into(), "Sent/%".into()]
    );
    assert_eq!(
        l.return_status,
        Some(vec![StatusItem::Messages, StatusItem::Unseen])
    );
    let Command::List(l) = ok("a LIST () \"\" % RETURN ()\r\n") else {
        panic!()
    };
    assert_eq!(
        l,
        List {
            patterns: vec!["%".into()],
            ..List::default()
        }
    );
    let Command::List(l) = ok("a LSUB \"#news.\" \"comp.mail.*\"\r\n") else {
        panic!()
    };
    assert!(l.lsub);
    assert_eq!(l.patterns, vec!["comp.mail.*".to_string()]);
    err_msg(
        "a LIST (RECURSIVEMATCH) \"\" *\r\n",
        Some("a"),
        "RECURSIVEMATCH needs another selection option",
    );
    err_msg(
        "a LIST (REMOTE RECURSIVEMATCH) \"\" *\r\n",
        Some("a"),
        "RECURSIVEMATCH",
    );
    err_msg(
        "a LIST (FOO) \"\" *\r\n",
        Some("a"),
        "unknown LIST selection option FOO",
    );
    err_msg(
        "a LIST \"\" * RETURN (FOO)\r\n",
        Some("a"),
        "unknown LIST return option FOO",
    );
    err_msg(
        "a LIST \"\" * FOO (CHILDREN)\r\n",
        Some("a"),
        "expected RETURN",
    );
    err_msg("a LIST \"\" ()\r\n", Some("a"), "empty the LIST patterns");
    err_msg("a LIST \"\"\r\n", Some("a"), "expected a mailbox pattern");
    err_msg(
        "a LIST \"\" * RETURN (STATUS (FOO))\r\n",
        Some("a"),
        "unknown STATUS item FOO",
    );
    err_msg(
        "a LSUB \"\" (a b)\r\n",
        Some("a"),
        "expected a mailbox pattern",
    );
}

// ----- APPEND.

#[test]
fn append() {
    let Command::Append(a) = ok("a APPEND saved-messages (\\Seen) {5}\r\nhello\r\n") else {
        panic!()
    };
    assert_eq!(a.mailbox, "saved-messages");
    assert_eq!(
        a.messages,
        vec![AppendMessage {
            flags: vec!["\\Seen".into()],
            date: None,
            data: b"hello".to_vec()
        }]
    );
    let Command::Append(a) =
        ok("a APPEND x (\\SEEN $Forwarded) \" 7-Feb-1994 21:52:25 -0800\" {3+}\r\na\r\n\r\n")
    else {
        panic!()
    };
    let tz = FixedOffset::west_opt(8 * 3600).unwrap();
    assert_eq!(
        a.messages[0].date,
        Some(tz.with_ymd_and_hms(1994, 2, 7, 21, 52, 25).unwrap())
    );
    assert_eq!(
        a.messages[0].flags,
        vec!["\\Seen".to_string(), "$Forwarded".into()]
    );
    assert_eq!(a.messages[0].data, b"a\r\n");
    let Command::Append(a) =
        ok(b"a APPEND x \"17-Jul-1996 02:44:25 +0000\" ~{4}\r\n\0\xff\r\n\r\n")
    else {
        panic!()
    };
    assert_eq!(a.messages[0].data, b"\0\xff\r\n");
    // MULTIAPPEND.
    let Command::Append(a) = ok(
        "a APPEND x (\\Seen) {2}\r\nab ~{2+}\r\ncd () \"01-Jan-2000 00:00:00 +0100\" {0}\r\n\r\n",
    ) else {
        panic!()
    };
    assert_eq!(a.messages.len(), 3);
    assert_eq!(
        a.messages[1],
        AppendMessage {
            flags: vec![],
            date: None,
            data: b"cd".to_vec()
        }
    );
    assert_eq!(a.messages[2].data, b"");
    // UTF8 data (RFC 6855).
    let Command::Append(a) = ok("a APPEND x UTF8 (~{2}\r\nü)\r\n") else {
        panic!()
    };
    assert_eq!(a.messages[0].data, "ü".as_bytes());
    err_msg(
        "a APPEND x\r\n",
        Some("a"),
        "expected a message literal after the APPEND mailbox name",
    );
    err_msg(
        "a APPEND x (\\Seen)\r\n",
        Some("a"),
        "expected a message literal after the APPEND flags",
    );
    err_msg(
        "a APPEND x (\\*) {1}\r\na\r\n",
        Some("a"),
        "\\* is not a valid flag",
    );
    err_msg(
        "a APPEND x \"17-Jul-1996\" {1}\r\na\r\n",
        Some("a"),
        "invalid date-time",
    );
    err_msg(
        "a APPEND x \"31-Feb-1996 02:44:25 -0700\" {1}\r\na\r\n",
        Some("a"),
        "no such date",
    );
    err_msg(
        "a APPEND x \"17-Jul-1996 25:44:25 -0700\" {1}\r\na\r\n",
        Some("a"),
        "no such date or time",
    );
    err_msg(
        "a APPEND x \"17-Jul-1996 02:44:25 -0790\" {1}\r\na\r\n",
        Some("a"),
        "invalid date-time",
    );
    err_msg(
        "a APPEND x hello\r\n",
        Some("a"),
        "expected a message literal",
    );
    err_msg(
        "a APPEND x CATENATE (TEXT {1}\r\na)\r\n",
        Some("a"),
        "CATENATE is not supported",
    );
    err_msg(
        "a APPEND x {10}\r\nabc\r\n",
        Some("a"),
        "longer than the data",
    );
    err_msg(
        "a APPEND x {1}\r\nab\r\n",
        Some("a"),
        "unexpected text after APPEND",
    );
}

// ----- FETCH.

#[test]
fn fetch_macros_and_items() {
    use FetchItem::*;
    let f = fetch("a FETCH 2:4 ALL\r\n");
    assert_eq!(f.items, vec![Flags, InternalDate, Rfc822Size, Envelope]);
    assert_eq!(f.set, set(&[r(2, 4)]));
    assert!(!f.uid);
    assert_eq!(
        fetch("a FETCH 1 fast\r\n").items,
        vec![Flags, InternalDate, Rfc822Size]
    );
    assert_eq!(
        fetch("a FETCH 1 FULL\r\n").items,
        vec![Flags, InternalDate, Rfc822Size, Envelope, Body]
    );
    assert_eq!(fetch("a FETCH * FLAGS\r\n").set, set(&[(Largest, Largest)]));
    assert_eq!(
        fetch("a FETCH 1 (FLAGS UID ENVELOPE BODYSTRUCTURE BODY INTERNALDATE RFC822 RFC822.HEADER RFC822.TEXT RFC822.SIZE MODSEQ)\r\n").items,
        vec![Flags, Uid, Envelope, BodyStructure, Body, InternalDate, Rfc822, Rfc822Header, Rfc822Text, Rfc822Size, ModSeq]
    );
    let f = fetch("a UID FETCH 1:*,5 (flags)\r\n");
    assert!(f.uid);
    assert_eq!(f.set, set(&[(Value(1), Largest), r(5, 5)]));
    assert_eq!(f.items, vec![Flags]);
    assert_eq!(fetch("a FETCH $ FLAGS\r\n").set, SequenceSet::Saved);
}

#[test]
fn fetch_sections() {
    use FetchItem::*;
    let sec = |peek, part: &[u32], text, partial| Section {
        peek,
        section: super::Section {
            part: part.to_vec(),
            text,
        },
        partial,
    };
    assert_eq!(
        fetch("a FETCH 1 BODY[]\r\n").items,
        vec![sec(false, &[], None, None)]
    );
    assert_eq!(
        fetch("a FETCH 1 body.peek[]<0.2048>\r\n").items,
        vec![sec(true, &[], None, Some((0, 2048)))]
    );
    assert_eq!(
        fetch("a FETCH 1 BODY[TEXT]\r\n").items,
        vec![sec(false, &[], Some(SectionText::Text), None)]
    );
    assert_eq!(
        fetch("a FETCH 1 BODY[header]\r\n").items,
        vec![sec(false, &[], Some(SectionText::Header), None)]
    );
    assert_eq!(
        fetch("a FETCH 1 BODY[1.2.3]\r\n").items,
        vec![sec(false, &[1, 2, 3], None, None)]
    );
    assert_eq!(
        fetch("a FETCH 1 BODY[4.2.MIME]\r\n").items,
        vec![sec(false, &[4, 2], Some(SectionText::Mime), None)]
    );
    assert_eq!(
        fetch("a FETCH 1 BODY[3.HEADER]\r\n").items,
        vec![sec(false, &[3], Some(SectionText::Header), None)]
    );
    assert_eq!(
        fetch("a FETCH 1 (BODY.PEEK[1.2.HEADER.FIELDS (From To \"Subject\")]<10.20> UID)\r\n")
            .items,
        vec![
            sec(
                true,
                &[1, 2],
                Some(SectionText::HeaderFields(vec![
                    "From".into(),
                    "To".into(),
                    "Subject".into()
                ])),
                Some((10, 20))
            ),
            Uid
        ]
    );
    assert_eq!(
        fetch("a FETCH 1 BODY[HEADER.FIELDS.NOT (Received)]\r\n").items,
        vec![sec(
            false,
            &[],
            Some(SectionText::HeaderFieldsNot(vec!["Received".into()])),
            None
        )]
    );
    assert_eq!(
        fetch("a FETCH 1 (BINARY[1.2]<0.100> BINARY.PEEK[] BINARY.SIZE[1])\r\n").items,
        vec![
            Binary {
                peek: false,
                part: vec![1, 2],
                partial: Some((0, 100))
            },
            Binary {
                peek: true,
                part: vec![],
                partial: None
            },
            BinarySize { part: vec![1] },
        ]
    );
}

#[test]
fn fetch_modifiers() {
    let f = fetch("a UID FETCH 300:500 (FLAGS) (CHANGEDSINCE 12345 VANISHED)\r\n");
    assert_eq!((f.changed_since, f.vanished), (Some(12345), true));
    let f = fetch("a FETCH 1:* (FLAGS) (changedsince 12345)\r\n");
    assert_eq!((f.changed_since, f.vanished), (Some(12345), false));
    err_msg(
        "a FETCH 1 FLAGS (CHANGEDSINCE 1 VANISHED)\r\n",
        Some("a"),
        "VANISHED is only allowed with UID FETCH",
    );
    err_msg(
        "a UID FETCH 1 FLAGS (VANISHED)\r\n",
        Some("a"),
        "VANISHED requires CHANGEDSINCE",
    );
    err_msg(
        "a FETCH 1 FLAGS (FOO 1)\r\n",
        Some("a"),
        "unknown FETCH modifier FOO",
    );
    err_msg(
        "a FETCH 1 FLAGS (CHANGEDSINCE 99999999999999999999)\r\n",
        Some("a"),
        "too large",
    );
    err_msg(
        "a FETCH 1 FLAGS (CHANGEDSINCE 9223372036854775808)\r\n",
        Some("a"),
        "too large",
    );
}

#[test]
fn fetch_errors() {
    err_msg(
        "a UID FETCH\r\n",
        Some("a"),
        "expected a sequence set after UID FETCH",
    );
    err_msg(
        "a UID FETCH x FLAGS\r\n",
        Some("a"),
        "expected a sequence set after UID FETCH",
    );
    err_msg(
        "a FETCH 0 FLAGS\r\n",
        Some("a"),
        "0 is not a valid message number",
    );
    err_msg("a FETCH 1:0 FLAGS\r\n", Some("a"), "0 is not a valid");
    err_msg("a FETCH 4294967296 FLAGS\r\n", Some("a"), "too large");
    err_msg(
        "a FETCH 1,,2 FLAGS\r\n",
        Some("a"),
        "expected a sequence set",
    );
    err_msg("a FETCH 1x FLAGS\r\n", Some("a"), "invalid sequence set");
    err_msg("a FETCH $,1 FLAGS\r\n", Some("a"), "invalid sequence set");
    err_msg("a FETCH 1\r\n", Some("a"), "expected FETCH items");
    err_msg(
        "a FETCH 1 (FLAGS UID\r\n",
        Some("a"),
        "unbalanced parenthesis in FETCH items",
    );
    err_msg(
        "a FETCH 1 (FLAGS (UID))\r\n",
        Some("a"),
        "unbalanced parenthesis in FETCH items",
    );
    err_msg("a FETCH 1 FLAGS)\r\n", Some("a"), "unbalanced parenthesis");
    err_msg("a FETCH 1 ()\r\n", Some("a"), "empty list of FETCH items");
    err_msg("a FETCH 1 FOO\r\n", Some("a"), "unknown FETCH item FOO");
    err_msg("a FETCH 1 BODY[FOO]\r\n", Some("a"), "invalid section FOO");
    err_msg(
        "a FETCH 1 BODY[MIME]\r\n",
        Some("a"),
        "MIME needs a part number",
    );
    err_msg("a FETCH 1 BODY[1.0]\r\n", Some("a"), "must not be zero");
    err_msg("a FETCH 1 BODY[1\r\n", Some("a"), "expected . or ]");
    err_msg(
        "a FETCH 1 BODY[TEXT\r\n",
        Some("a"),
        "expected ] to close the section",
    );
    err_msg(
        "a FETCH 1 BODY[HEADER.FIELDS]\r\n",
        Some("a"),
        "expected a list of header fields",
    );
    err_msg(
        "a FETCH 1 BODY[HEADER.FIELDS (From]\r\n",
        Some("a"),
        "header field",
    );
    err_msg(
        "a FETCH 1 BODY[HEADER.FIELDS ()]\r\n",
        Some("a"),
        "empty the header field list",
    );
    err_msg("a FETCH 1 BODY.PEEK\r\n", Some("a"), "expected [");
    err_msg(
        "a FETCH 1 BODY[]<0>\r\n",
        Some("a"),
        "expected <offset.length>",
    );
    err_msg("a FETCH 1 BODY[]<0.0>\r\n", Some("a"), "must not be zero");
    err_msg(
        "a FETCH 1 BODY[]<0.10\r\n",
        Some("a"),
        "expected > to close",
    );
    err_msg("a FETCH 1 BINARY[TEXT]\r\n", Some("a"), "only part numbers");
    err_msg(
        "a FETCH 1 BINARY.SIZE[1]<0.1>\r\n",
        Some("a"),
        "invalid character after FETCH item",
    );
    err_msg(
        "a FETCH 1 FLAGS  UID\r\n",
        Some("a"),
        "expected ( to start FETCH modifiers",
    );
}

// ----- STORE, COPY, MOVE.

#[test]
fn store_variants() {
    let s = store("a STORE 2:4 +FLAGS (\\Deleted)\r\n");
    assert_eq!((s.mode, s.silent, s.uid), (StoreMode::Add, false, false));
    assert_eq!(s.flags, vec!["\\Deleted".to_string()]);
    let s = store("a UID STORE 1,3 -flags.silent \\seen $Junk NonJunk\r\n");
    assert_eq!((s.mode, s.silent, s.uid), (StoreMode::Remove, true, true));
    assert_eq!(
        s.flags,
        vec!["\\Seen".to_string(), "$Junk".into(), "NonJunk".into()]
    );
    let s = store("a STORE 1 FLAGS ()\r\n");
    assert_eq!((s.mode, s.flags.len()), (StoreMode::Replace, 0));
    let s = store("a STORE 7,5,9 (UNCHANGEDSINCE 320162338) +FLAGS.SILENT (\\Deleted \\XExt)\r\n");
    assert_eq!(s.unchanged_since, Some(320162338));
    assert_eq!(s.flags, vec!["\\Deleted".to_string(), "\\XExt".into()]);
    err_msg(
        "a STORE 1 FLAGS (\\*)\r\n",
        Some("a"),
        "\\* is not a valid flag",
    );
    err_msg(
        "a STORE 1 FLAGS (\\Seen\r\n",
        Some("a"),
        "unbalanced parenthesis in flag list",
    );
    err_msg(
        "a STORE 1 FLAGS\r\n",
        Some("a"),
        "expected flags after FLAGS",
    );
    err_msg(
        "a STORE 1 XFLAGS (\\Seen)\r\n",
        Some("a"),
        "expected FLAGS, +FLAGS or -FLAGS",
    );
    err_msg(
        "a STORE 1 (FOO 1) FLAGS (\\Seen)\r\n",
        Some("a"),
        "unknown STORE modifier FOO",
    );
    err_msg(
        "a STORE 1 FLAGS (\\)\r\n",
        Some("a"),
        "expected a flag name",
    );
    err_msg(
        "a STORE 1 FLAGS (a\"b)\r\n",
        Some("a"),
        "invalid character in a flag",
    );
    err_msg(
        "a STORE FLAGS (\\Seen)\r\n",
        Some("a"),
        "expected a sequence set after STORE",
    );
}

#[test]
fn copy_move() {
    assert_eq!(
        ok("a COPY 2:4 MEETING\r\n"),
        Command::Copy {
            uid: false,
            set: set(&[r(2, 4)]),
            mailbox: "MEETING".into()
        }
    );
    assert_eq!(
        ok("a UID MOVE 42:69 \"Other Folder\"\r\n"),
        Command::Move {
            uid: true,
            set: set(&[r(42, 69)]),
            mailbox: "Other Folder".into()
        }
    );
    assert_eq!(
        ok("a MOVE $ Trash\r\n"),
        Command::Move {
            uid: false,
            set: SequenceSet::Saved,
            mailbox: "Trash".into()
        }
    );
    err_msg(
        "a COPY 1\r\n",
        Some("a"),
        "expected a mailbox name after the COPY sequence set",
    );
    err_msg(
        "a UID COPY\r\n",
        Some("a"),
        "expected a sequence set after UID COPY",
    );
}

// ----- SEARCH.

#[test]
fn search_basic() {
    use SearchKey::*;
    let s = search("a SEARCH FLAGGED SINCE 1-Feb-1994 NOT FROM \"Smith\"\r\n");
    assert_eq!(
        s.criteria,
        And(vec![
            Flagged,
            Since(date(1994, 2, 1)),
            Not(Box::new(From("Smith".into())))
        ])
    );
    assert_eq!((s.uid, &s.charset, &s.ret), (false, &None, &None));
    assert_eq!(search("a SEARCH all\r\n").criteria, All);
    let s = search("a UID SEARCH CHARSET UTF-8 TEXT {6}\r\nXXXXXX\r\n");
    assert!(s.uid);
    assert_eq!(s.charset.as_deref(), Some("UTF-8"));
    assert_eq!(s.criteria, Text("XXXXXX".into()));
    assert_eq!(
        search("a SEARCH charset \"utf-8\" ALL\r\n")
            .charset
            .as_deref(),
        Some("utf-8")
    );
    assert_eq!(
        search("a SEARCH SUBJECT \"Grüße\"\r\n").criteria,
        Subject("Grüße".into())
    );
}

#[test]
fn search_all_keys() {
    use SearchKey::*;
    let s = search(
        "a SEARCH ANSWERED DELETED DRAFT FLAGGED SEEN RECENT NEW OLD UNANSWERED UNDELETED UNDRAFT UNFLAGGED UNSEEN \
         KEYWORD $Forwarded UNKEYWORD Junk BCC b CC c FROM f TO t SUBJECT s BODY y TEXT x HEADER Message-ID \"<a@b>\" \
         BEFORE 01-Jan-2000 ON \"2-Mar-2001\" SINCE 31-Dec-1999 SENTBEFORE 1-jan-2000 SENTON 29-Feb-2000 SENTSINCE 1-FEB-2000 \
         LARGER 100 SMALLER 99999999999 MODSEQ 5 OLDER 3600 YOUNGER 60 UID 1:* 1,3:5 * $ ALL\r\n",
    );
    assert_eq!(
        s.criteria,
        And(vec![
            Answered,
            Deleted,
            Draft,
            Flagged,
            Seen,
            Recent,
            New,
            Old,
            Unanswered,
            Undeleted,
            Undraft,
            Unflagged,
            Unseen,
            Keyword("$Forwarded".into()),
            Unkeyword("Junk".into()),
            Bcc("b".into()),
            Cc("c".into()),
            From("f".into()),
            To("t".into()),
            Subject("s".into()),
            Body("y".into()),
            Text("x".into()),
            Header("Message-ID".into(), "<a@b>".into()),
            Before(date(2000, 1, 1)),
            On(date(2001, 3, 2)),
            Since(date(1999, 12, 31)),
            SentBefore(date(2000, 1, 1)),
            SentOn(date(2000, 2, 29)),
            SentSince(date(2000, 2, 1)),
            Larger(100),
            Smaller(99999999999),
            ModSeq(5),
            Older(3600),
            Younger(60),
            Uid(set(&[(Value(1), Largest)])),
            SequenceSet(set(&[r(1, 1), r(3, 5)])),
            SequenceSet(set(&[(Largest, Largest)])),
            SequenceSet(super::SequenceSet::Saved),
            All,
        ])
    );
}

#[test]
fn search_nesting() {
    use SearchKey::*;
    assert_eq!(
        search("a SEARCH OR (SEEN FLAGGED) NOT (DELETED)\r\n").criteria,
        Or(
            Box::new(And(vec![Seen, Flagged])),
            Box::new(Not(Box::new(Deleted)))
        )
    );
    assert_eq!(
        search("a SEARCH (OR OR SEEN DRAFT DELETED (((ALL))))\r\n").criteria,
        And(vec![
            Or(
                Box::new(Or(Box::new(Seen), Box::new(Draft))),
                Box::new(Deleted)
            ),
            All
        ])
    );
    assert_eq!(
        search("a SEARCH MODSEQ \"/flags/\\\\draft\" all 620162338\r\n").criteria,
        ModSeq(620162338)
    );
    assert_eq!(
        search("a SEARCH MODSEQ \"/flags/\\\\Seen\" priv 0\r\n").criteria,
        ModSeq(0)
    );
    // Deep but acceptable.
    let deep = format!("a SEARCH {}ALL{}\r\n", "(".repeat(90), ")".repeat(90));
    assert_eq!(search(&deep).criteria, All);
    let deep = format!("a SEARCH {}ALL\r\n", "NOT ".repeat(99));
    assert!(matches!(search(&deep).criteria, Not(_)));
    // Too deep.
    err_msg(
        format!("a SEARCH {}ALL{}\r\n", "(".repeat(150), ")".repeat(150)),
        Some("a"),
        "nested too deeply",
    );
    err_msg(
        format!("a SEARCH {}ALL\r\n", "NOT ".repeat(100_000)),
        Some("a"),
        "nested too deeply",
    );
    err_msg(
        format!("a SEARCH {}ALL ALL\r\n", "OR ".repeat(1000)),
        Some("a"),
        "nested too deeply",
    );
    err_msg(
        format!("a SEARCH {}\r\n", "(".repeat(100_000)),
        Some("a"),
        "nested too deeply",
    );
}

#[test]
fn search_esearch() {
    use SearchKey::*;
    let s = search("a SEARCH RETURN (MIN MAX COUNT) UNSEEN\r\n");
    assert_eq!(
        s.ret,
        Some(vec![
            SearchReturn::Min,
            SearchReturn::Max,
            SearchReturn::Count
        ])
    );
    let s = search("a UID SEARCH RETURN () CHARSET UTF-8 FLAGGED\r\n");
    assert_eq!(
        (s.ret, s.charset.as_deref(), s.criteria),
        (Some(vec![]), Some("UTF-8"), Flagged)
    );
    let s = search("a SEARCH RETURN (SAVE ALL) SEEN\r\n");
    assert_eq!(s.ret, Some(vec![SearchReturn::Save, SearchReturn::All]));
    err_msg(
        "a SEARCH RETURN (FOO) ALL\r\n",
        Some("a"),
        "unknown SEARCH return option FOO",
    );
    err_msg(
        "a SEARCH RETURN (MIN)\r\n",
        Some("a"),
        "expected search criteria",
    );
}

#[test]
fn search_errors() {
    err_msg(
        "a SEARCH\r\n",
        Some("a"),
        "expected search criteria after SEARCH",
    );
    err_msg(
        "a UID SEARCH\r\n",
        Some("a"),
        "expected search criteria after UID SEARCH",
    );
    err_msg("a SEARCH FOO\r\n", Some("a"), "unknown search key FOO");
    err_msg(
        "a SEARCH SINCE 1-Foo-1994\r\n",
        Some("a"),
        "invalid date, expected dd-Mon-yyyy",
    );
    err_msg(
        "a SEARCH SINCE 1994-02-01\r\n",
        Some("a"),
        "invalid date, expected dd-Mon-yyyy",
    );
    err_msg(
        "a SEARCH SINCE 1-Feb-94\r\n",
        Some("a"),
        "invalid date, expected dd-Mon-yyyy",
    );
    err_msg("a SEARCH SINCE 30-Feb-1994\r\n", Some("a"), "invalid date");
    err_msg("a SEARCH SINCE \"1-Feb-1994\r\n", Some("a"), "invalid date");
    err_msg("a SEARCH SINCE 1-Feb-1994x\r\n", Some("a"), "invalid date");
    err_msg(
        "a SEARCH SINCE\r\n",
        Some("a"),
        "expected a date after SINCE",
    );
    err_msg(
        "a SEARCH FROM\r\n",
        Some("a"),
        "expected a string after FROM",
    );
    err_msg(
        "a SEARCH HEADER Subject\r\n",
        Some("a"),
        "expected a string after the HEADER field name",
    );
    err_msg(
        "a SEARCH OR SEEN\r\n",
        Some("a"),
        "expected a second search key after OR",
    );
    err_msg(
        "a SEARCH NOT\r\n",
        Some("a"),
        "expected a search key after NOT",
    );
    err_msg(
        "a SEARCH (SEEN\r\n",
        Some("a"),
        "unbalanced parenthesis in search criteria",
    );
    err_msg(
        "a SEARCH (SEEN (DRAFT)\r\n",
        Some("a"),
        "unbalanced parenthesis in search criteria",
    );
    err_msg("a SEARCH SEEN)\r\n", Some("a"), "unbalanced parenthesis");
    err_msg("a SEARCH ()\r\n", Some("a"), "empty parentheses");
    err_msg(
        "a SEARCH LARGER x\r\n",
        Some("a"),
        "expected a size after LARGER",
    );
    err_msg("a SEARCH OLDER 0\r\n", Some("a"), "must not be zero");
    err_msg("a SEARCH UID 0\r\n", Some("a"), "0 is not a valid");
    err_msg("a SEARCH 0\r\n", Some("a"), "0 is not a valid");
    err_msg("a SEARCH SEEN  DRAFT\r\n", Some("a"), "invalid search key");
    err_msg(
        "a SEARCH SEEN \r\n",
        Some("a"),
        "unexpected space at the end",
    );
    err_msg(
        "a SEARCH MODSEQ \"/foo\" all 1\r\n",
        Some("a"),
        "invalid MODSEQ entry name",
    );
    err_msg(
        "a SEARCH MODSEQ \"/flags/\\\\Seen\" both 1\r\n",
        Some("a"),
        "expected priv, shared or all",
    );
    err_msg(
        "a SEARCH KEYWORD\r\n",
        Some("a"),
        "expected a keyword after KEYWORD",
    );
    err_msg(
        b"a SEARCH TEXT {3}\r\n\xe4\xf6\xfc\r\n",
        Some("a"),
        "not valid UTF-8",
    );
    err_msg(
        "a SEARCH CHARSET\r\n",
        Some("a"),
        "unknown search key CHARSET",
    );
}

#[test]
fn dates_accept_one_or_two_digit_days() {
    use SearchKey::*;
    assert_eq!(
        search("a SEARCH ON 01-Feb-1994\r\n").criteria,
        On(date(1994, 2, 1))
    );
    assert_eq!(
        search("a SEARCH ON 1-feb-1994\r\n").criteria,
        On(date(1994, 2, 1))
    );
    assert_eq!(
        search("a SEARCH ON \"1-Feb-1994\"\r\n").criteria,
        On(date(1994, 2, 1))
    );
    let Command::Append(a) = ok("a APPEND x \"1-Feb-1994 00:00:00 +0000\" {0}\r\n\r\n") else {
        panic!()
    };
    assert!(a.messages[0].date.is_some());
}

#[test]
fn errors_display() {
    let e = err("a1 FOO\r\n");
    assert_eq!(e.to_string(), "a1: unknown command FOO");
    let e = err("\r\n");
    assert_eq!(e.to_string(), "empty command line");
}
