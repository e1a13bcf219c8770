//! Property tests for the command parser: it never panics, and FETCH / SEARCH / STORE
//! commands printed from a random command tree parse back to that same tree.

use chrono::NaiveDate;
use hermod_imap_proto::encode;
use hermod_imap_proto::*;
use proptest::prelude::*;

// ---------------------------------------------------------------- (a) arbitrary bytes

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        let _ = parse_command(&bytes);
        let _ = frame::literal_at_end(&bytes);
        let _ = frame::tag_of(&bytes);
        if let Ok(s) = std::str::from_utf8(&bytes) {
            let _ = mutf7::decode(s);
        }
    }

    #[test]
    fn tagged_arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        let mut input = b"a1 ".to_vec();
        input.extend_from_slice(&bytes);
        if let Err(e) = parse_command(&input) {
            prop_assert!(e.tag.is_none() || e.tag.as_deref() == Some("a1"));
            prop_assert!(!e.message.is_empty());
        }
    }
}

// ---------------------------------------------------------------- (b) token soup

const TOKENS: &[&str] = &[
    "a1",
    " ",
    " ",
    " ",
    "\r\n",
    "\n",
    "\r",
    "UID",
    "FETCH",
    "STORE",
    "SEARCH",
    "COPY",
    "MOVE",
    "EXPUNGE",
    "APPEND",
    "SELECT",
    "EXAMINE",
    "LIST",
    "LSUB",
    "STATUS",
    "ID",
    "LOGIN",
    "AUTHENTICATE",
    "ENABLE",
    "CREATE",
    "SETQUOTA",
    "RENAME",
    "NOOP",
    "(",
    "(",
    ")",
    ")",
    "[",
    "]",
    "<",
    ">",
    ".",
    "{3}\r\n",
    "{0}\r\n",
    "{5+}\r\n",
    "~{2}\r\n",
    "{99999999999}\r\n",
    "\"",
    "\"x y\"",
    "\\",
    "1",
    "0",
    "1:*",
    "*",
    "$",
    "2,4:7",
    "4294967295",
    "4294967296",
    "BODY",
    "BODY.PEEK[",
    "BINARY[",
    "HEADER.FIELDS",
    "HEADER.FIELDS.NOT",
    "MIME",
    "TEXT",
    "<0.5>",
    "NOT",
    "OR",
    "ALL",
    "FAST",
    "FULL",
    "\\Seen",
    "\\*",
    "$Junk",
    "FLAGS",
    "+FLAGS.SILENT",
    "-FLAGS",
    "CHANGEDSINCE",
    "VANISHED",
    "UNCHANGEDSINCE",
    "MODSEQ",
    "CONDSTORE",
    "QRESYNC",
    "RETURN",
    "CHARSET",
    "MIN",
    "SAVE",
    "SINCE",
    "1-Feb-1994",
    "\"17-Jul-1996 02:44:25 -0700\"",
    "SUBSCRIBED",
    "RECURSIVEMATCH",
    "STATUS",
    "MESSAGES",
    "NIL",
    "INBOX",
    "\u{e4}",
    "\u{0}",
    "\u{ff}",
    "%",
    "USE",
    "\\Drafts",
    "STORAGE",
    "HEADER",
    "From",
    "=",
    "AGZy",
    "UTF8",
    "CATENATE",
    "+",
    "~",
];

fn soup() -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(proptest::sample::select(TOKENS), 0..40)
        .prop_map(|toks| toks.concat().into_bytes())
}

/// Commands that start right, then continue with token soup.
fn prefixed_soup() -> impl Strategy<Value = Vec<u8>> {
    let prefixes = proptest::sample::select(
        &[
            "a1 FETCH ",
            "a1 UID FETCH 1:* ",
            "a1 SEARCH ",
            "a1 UID SEARCH RETURN (",
            "a1 STORE 1 ",
            "a1 APPEND x ",
            "a1 LIST ",
            "a1 SELECT x (",
            "a1 FETCH 1 (BODY[",
            "a1 SEARCH OR ",
            "a1 ID (",
            "a1 LOGIN ",
        ][..],
    );
    (prefixes, soup()).prop_map(|(p, mut s)| {
        let mut v = p.as_bytes().to_vec();
        v.append(&mut s);
        v
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 3000, ..ProptestConfig::default() })]

    #[test]
    fn token_soup_never_panics(input in soup()) {
        match parse_command(&input) {
            Ok(t) => prop_assert!(!t.tag.is_empty()),
            Err(e) => prop_assert!(!e.message.is_empty()),
        }
        let _ = frame::literal_at_end(&input);
    }

    #[test]
    fn prefixed_soup_never_panics(input in prefixed_soup()) {
        match parse_command(&input) {
            Ok(t) => prop_assert_eq!(t.tag, "a1"),
            Err(e) => prop_assert_eq!(e.tag.as_deref(), Some("a1")),
        }
    }
}

// ---------------------------------------------------------------- (c) round trips

fn seq_num() -> impl Strategy<Value = SeqNum> {
    prop_oneof![4 => (1u32..).prop_map(SeqNum::Value), 4 => (1u32..100).prop_map(SeqNum::Value), 1 => Just(SeqNum::Largest)]
}

fn seq_set() -> impl Strategy<Value = SequenceSet> {
    prop_oneof![
        9 => proptest::collection::vec((seq_num(), seq_num()), 1..5).prop_map(SequenceSet::Ranges),
        1 => Just(SequenceSet::Saved),
    ]
}

/// Text for search strings: anything but NUL, including quotes, backslashes, CRLF, UTF-8.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-zA-Z0-9@.<>-]{0,12}",
        "[ -~]{0,12}",
        "\\PC{0,8}".prop_map(|s: String| s.replace('\0', "")),
        "[a\"\\\\ \r\n\u{e4}\u{65e5}]{0,8}",
    ]
}

fn atom() -> impl Strategy<Value = String> {
    "[A-Za-z$][A-Za-z0-9$_.-]{0,10}"
}

fn keyword_flag() -> impl Strategy<Value = String> {
    prop_oneof![
        atom(),
        proptest::sample::select(
            &[
                "\\Seen",
                "\\Answered",
                "\\Flagged",
                "\\Deleted",
                "\\Draft",
                "\\Recent"
            ][..]
        )
        .prop_map(String::from),
        atom().prop_map(|a| format!("\\X{a}")),
    ]
}

fn date() -> impl Strategy<Value = NaiveDate> {
    (1900i32..2100, 1u32..13, 1u32..29)
        .prop_map(|(y, m, d)| NaiveDate::from_ymd_opt(y, m, d).unwrap())
}

fn modseq() -> impl Strategy<Value = u64> {
    prop_oneof![0u64..1000, 0u64..=i64::MAX as u64]
}

fn leaf_key() -> impl Strategy<Value = SearchKey> {
    use SearchKey::*;
    prop_oneof![
        proptest::sample::select(vec![
            All, Answered, Deleted, Draft, Flagged, Seen, Recent, New, Old, Unanswered, Undeleted,
            Undraft, Unflagged, Unseen,
        ]),
        seq_set().prop_map(SequenceSet),
        seq_set().prop_map(Uid),
        keyword_flag().prop_map(Keyword),
        keyword_flag().prop_map(Unkeyword),
        text().prop_map(Bcc),
        text().prop_map(Cc),
        text().prop_map(From),
        text().prop_map(To),
        text().prop_map(Subject),
        text().prop_map(Body),
        text().prop_map(Text),
        ("[A-Za-z-]{1,10}", text()).prop_map(|(f, v)| Header(f, v)),
        date().prop_map(Before),
        date().prop_map(On),
        date().prop_map(Since),
        date().prop_map(SentBefore),
        date().prop_map(SentOn),
        date().prop_map(SentSince),
        any::<u64>().prop_map(Larger),
        any::<u64>().prop_map(Smaller),
        modseq().prop_map(ModSeq),
        (1u64..).prop_map(Older),
        (1u64..).prop_map(Younger),
    ]
}

fn search_key() -> impl Strategy<Value = SearchKey> {
    leaf_key().prop_recursive(5, 40, 4, |inner| {
        prop_oneof![
            inner.clone().prop_map(|k| SearchKey::Not(Box::new(k))),
            (inner.clone(), inner.clone())
                .prop_map(|(a, b)| SearchKey::Or(Box::new(a), Box::new(b))),
            proptest::collection::vec(inner, 2..4).prop_map(SearchKey::And),
        ]
    })
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

fn print_date(d: NaiveDate) -> String {
    use chrono::Datelike;
    // Alternate the accepted forms: 1-Feb-1994, 01-Feb-1994, "1-Feb-1994".
    let m = MONTHS[d.month0() as usize];
    match d.day() % 3 {
        0 => format!("{}-{m}-{}", d.day(), d.year()),
        1 => format!("{:02}-{}-{}", d.day(), m.to_uppercase(), d.year()),
        _ => format!("\"{}-{m}-{}\"", d.day(), d.year()),
    }
}

fn print_key(k: &SearchKey, out: &mut String) {
    use SearchKey::*;
    let s = |out: &mut String, name: &str, v: &str| {
        out.push_str(name);
        out.push(' ');
        out.push_str(&encode::astring(v));
    };
    match k {
        All => out.push_str("ALL"),
        And(v) => {
            out.push('(');
            for (i, k) in v.iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                print_key(k, out);
            }
            out.push(')');
        }
        Or(a, b) => {
            out.push_str("OR ");
            print_key(a, out);
            out.push(' ');
            print_key(b, out);
        }
        Not(a) => {
            out.push_str("not ");
            print_key(a, out);
        }
        SequenceSet(set) => out.push_str(&set.to_string()),
        Uid(set) => out.push_str(&format!("UID {set}")),
        Answered => out.push_str("ANSWERED"),
        Deleted => out.push_str("DELETED"),
        Draft => out.push_str("draft"),
        Flagged => out.push_str("FLAGGED"),
        Seen => out.push_str("Seen"),
        Recent => out.push_str("RECENT"),
        New => out.push_str("NEW"),
        Old => out.push_str("OLD"),
        Unanswered => out.push_str("UNANSWERED"),
        Undeleted => out.push_str("UNDELETED"),
        Undraft => out.push_str("UNDRAFT"),
        Unflagged => out.push_str("UNFLAGGED"),
        Unseen => out.push_str("UNSEEN"),
        Keyword(k) => out.push_str(&format!("KEYWORD {k}")),
        Unkeyword(k) => out.push_str(&format!("UNKEYWORD {k}")),
        Bcc(v) => s(out, "BCC", v),
        Cc(v) => s(out, "CC", v),
        From(v) => s(out, "FROM", v),
        To(v) => s(out, "TO", v),
        Subject(v) => s(out, "SUBJECT", v),
        Body(v) => s(out, "BODY", v),
        Text(v) => s(out, "TEXT", v),
        Header(f, v) => {
            s(out, "HEADER", f);
            out.push(' ');
            out.push_str(&encode::string_utf8(v, true));
        }
        Before(d) => out.push_str(&format!("BEFORE {}", print_date(*d))),
        On(d) => out.push_str(&format!("ON {}", print_date(*d))),
        Since(d) => out.push_str(&format!("SINCE {}", print_date(*d))),
        SentBefore(d) => out.push_str(&format!("SENTBEFORE {}", print_date(*d))),
        SentOn(d) => out.push_str(&format!("SENTON {}", print_date(*d))),
        SentSince(d) => out.push_str(&format!("SENTSINCE {}", print_date(*d))),
        Larger(n) => out.push_str(&format!("LARGER {n}")),
        Smaller(n) => out.push_str(&format!("SMALLER {n}")),
        ModSeq(n) if n % 2 == 0 => out.push_str(&format!("MODSEQ \"/flags/\\\\Seen\" shared {n}")),
        ModSeq(n) => out.push_str(&format!("MODSEQ {n}")),
        Older(n) => out.push_str(&format!("OLDER {n}")),
        Younger(n) => out.push_str(&format!("YOUNGER {n}")),
    }
}

fn search_cmd() -> impl Strategy<Value = Search> {
    let ret = proptest::option::of(proptest::collection::vec(
        proptest::sample::select(vec![
            SearchReturn::Min,
            SearchReturn::Max,
            SearchReturn::All,
            SearchReturn::Count,
            SearchReturn::Save,
        ]),
        0..4,
    ));
    let charset = proptest::option::of(proptest::sample::select(vec![
        "UTF-8".to_string(),
        "us-ascii".into(),
    ]));
    (any::<bool>(), charset, ret, search_key()).prop_map(|(uid, charset, ret, criteria)| Search {
        uid,
        charset,
        ret,
        criteria,
    })
}

fn print_search(s: &Search) -> Vec<u8> {
    let mut out = String::from("t1 ");
    if s.uid {
        out.push_str("UID ");
    }
    out.push_str("SEARCH ");
    if let Some(ret) = &s.ret {
        let names: Vec<&str> = ret
            .iter()
            .map(|r| match r {
                SearchReturn::Min => "MIN",
                SearchReturn::Max => "MAX",
                SearchReturn::All => "ALL",
                SearchReturn::Count => "COUNT",
                SearchReturn::Save => "SAVE",
            })
            .collect();
        out.push_str(&format!("RETURN ({}) ", names.join(" ")));
    }
    if let Some(c) = &s.charset {
        out.push_str(&format!("CHARSET {c} "));
    }
    match &s.criteria {
        SearchKey::And(keys) => {
            for (i, k) in keys.iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                print_key(k, &mut out);
            }
        }
        k => print_key(k, &mut out),
    }
    out.push_str("\r\n");
    out.into_bytes()
}

fn part() -> impl Strategy<Value = Vec<u32>> {
    proptest::collection::vec(1u32..30, 0..4)
}

fn partial() -> impl Strategy<Value = Option<(u32, u32)>> {
    proptest::option::of((any::<u32>(), 1u32..))
}

fn section() -> impl Strategy<Value = Section> {
    let fields = proptest::collection::vec("[A-Za-z][A-Za-z0-9-]{0,10}", 1..4);
    (part(), 0u8..6, fields).prop_map(|(part, t, fields)| {
        let text = match t {
            0 => None,
            1 => Some(SectionText::Header),
            2 => Some(SectionText::Text),
            3 if !part.is_empty() => Some(SectionText::Mime),
            3 => None,
            4 => Some(SectionText::HeaderFields(fields)),
            _ => Some(SectionText::HeaderFieldsNot(fields)),
        };
        Section { part, text }
    })
}

fn fetch_item() -> impl Strategy<Value = FetchItem> {
    use FetchItem::*;
    prop_oneof![
        proptest::sample::select(vec![
            Envelope,
            BodyStructure,
            Body,
            Flags,
            InternalDate,
            Rfc822,
            Rfc822Header,
            Rfc822Text,
            Rfc822Size,
            Uid,
            ModSeq,
        ]),
        (any::<bool>(), section(), partial()).prop_map(|(peek, section, partial)| Section {
            peek,
            section,
            partial
        }),
        (any::<bool>(), part(), partial()).prop_map(|(peek, part, partial)| Binary {
            peek,
            part,
            partial
        }),
        part().prop_map(|part| BinarySize { part }),
    ]
}

fn fetch_cmd() -> impl Strategy<Value = Fetch> {
    (
        any::<bool>(),
        seq_set(),
        proptest::collection::vec(fetch_item(), 1..6),
        proptest::option::of(modseq()),
        any::<bool>(),
    )
        .prop_map(|(uid, set, items, changed_since, vanished)| Fetch {
            uid,
            set,
            items,
            changed_since,
            vanished: vanished && uid && changed_since.is_some(),
        })
}

fn print_part(part: &[u32]) -> String {
    part.iter()
        .map(|p| p.to_string())
        .collect::<Vec<_>>()
        .join(".")
}

fn print_item(item: &FetchItem) -> String {
    use FetchItem::*;
    let partial = |p: &Option<(u32, u32)>| p.map(|(o, l)| format!("<{o}.{l}>")).unwrap_or_default();
    match item {
        Envelope => "ENVELOPE".into(),
        BodyStructure => "BODYSTRUCTURE".into(),
        Body => "body".into(),
        Flags => "FLAGS".into(),
        InternalDate => "INTERNALDATE".into(),
        Rfc822 => "RFC822".into(),
        Rfc822Header => "RFC822.HEADER".into(),
        Rfc822Text => "rfc822.text".into(),
        Rfc822Size => "RFC822.SIZE".into(),
        Uid => "UID".into(),
        ModSeq => "MODSEQ".into(),
        Section {
            peek,
            section,
            partial: p,
        } => {
            let mut spec = print_part(&section.part);
            let text = match &section.text {
                None => String::new(),
                Some(SectionText::Header) => "HEADER".into(),
                Some(SectionText::Text) => "TEXT".into(),
                Some(SectionText::Mime) => "MIME".into(),
                Some(SectionText::HeaderFields(f)) => format!("HEADER.FIELDS ({})", f.join(" ")),
                Some(SectionText::HeaderFieldsNot(f)) => {
                    format!("HEADER.FIELDS.NOT ({})", f.join(" "))
                }
            };
            if !spec.is_empty() && !text.is_empty() {
                spec.push('.');
            }
            spec.push_str(&text);
            format!(
                "BODY{}[{spec}]{}",
                if *peek { ".PEEK" } else { "" },
                partial(p)
            )
        }
        Binary {
            peek,
            part,
            partial: p,
        } => {
            format!(
                "BINARY{}[{}]{}",
                if *peek { ".PEEK" } else { "" },
                print_part(part),
                partial(p)
            )
        }
        BinarySize { part } => format!("BINARY.SIZE[{}]", print_part(part)),
    }
}

fn print_fetch(f: &Fetch) -> Vec<u8> {
    let items: Vec<String> = f.items.iter().map(print_item).collect();
    let items = if items.len() == 1 && f.set.to_string().len().is_multiple_of(2) {
        items[0].clone()
    } else {
        format!("({})", items.join(" "))
    };
    let mut out = format!(
        "t2 {}FETCH {} {items}",
        if f.uid { "UID " } else { "" },
        f.set
    );
    if let Some(c) = f.changed_since {
        out.push_str(&format!(
            " (CHANGEDSINCE {c}{})",
            if f.vanished { " VANISHED" } else { "" }
        ));
    }
    out.push_str("\r\n");
    out.into_bytes()
}

fn store_cmd() -> impl Strategy<Value = Store> {
    let mode =
        proptest::sample::select(vec![StoreMode::Replace, StoreMode::Add, StoreMode::Remove]);
    (
        any::<bool>(),
        seq_set(),
        proptest::option::of(modseq()),
        mode,
        any::<bool>(),
        proptest::collection::vec(keyword_flag(), 0..5),
    )
        .prop_map(|(uid, set, unchanged_since, mode, silent, flags)| Store {
            uid,
            set,
            unchanged_since,
            mode,
            silent,
            flags,
        })
}

fn print_store(s: &Store, parens: bool) -> Vec<u8> {
    let mut out = format!("t3 {}STORE {} ", if s.uid { "UID " } else { "" }, s.set);
    if let Some(u) = s.unchanged_since {
        out.push_str(&format!("(UNCHANGEDSINCE {u}) "));
    }
    out.push_str(match s.mode {
        StoreMode::Replace => "FLAGS",
        StoreMode::Add => "+FLAGS",
        StoreMode::Remove => "-Flags",
    });
    if s.silent {
        out.push_str(".SILENT");
    }
    out.push(' ');
    if parens || s.flags.is_empty() {
        out.push_str(&encode::flag_list(&s.flags));
    } else {
        out.push_str(&s.flags.join(" "));
    }
    out.push_str("\r\n");
    out.into_bytes()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1000, ..ProptestConfig::default() })]

    #[test]
    fn search_round_trip(s in search_cmd()) {
        let line = print_search(&s);
        let parsed = parse_command(&line);
        prop_assert!(parsed.is_ok(), "{:?}: {:?}", String::from_utf8_lossy(&line), parsed);
        prop_assert_eq!(parsed.unwrap().command, Command::Search(s));
    }

    #[test]
    fn fetch_round_trip(f in fetch_cmd()) {
        let line = print_fetch(&f);
        let parsed = parse_command(&line);
        prop_assert!(parsed.is_ok(), "{:?}: {:?}", String::from_utf8_lossy(&line), parsed);
        prop_assert_eq!(parsed.unwrap().command, Command::Fetch(f));
    }

    #[test]
    fn store_round_trip(s in store_cmd(), parens in any::<bool>()) {
        let line = print_store(&s, parens);
        let parsed = parse_command(&line);
        prop_assert!(parsed.is_ok(), "{:?}: {:?}", String::from_utf8_lossy(&line), parsed);
        prop_assert_eq!(parsed.unwrap().command, Command::Store(s));
    }

    /// Mutating one byte of a valid command never panics.
    #[test]
    fn mutated_commands_never_panic(f in fetch_cmd(), pos in any::<usize>(), byte in any::<u8>()) {
        let mut line = print_fetch(&f);
        let i = pos % line.len();
        line[i] = byte;
        let _ = parse_command(&line);
        line.truncate(i);
        let _ = parse_command(&line);
    }

    #[test]
    fn mutf7_round_trip(s in "\\PC{0,20}") {
        let e = mutf7::encode(&s);
        prop_assert_eq!(mutf7::decode(&e), Some(s));
    }

    #[test]
    fn compress_set_matches_contains(mut v in proptest::collection::vec(1u32..200, 0..40)) {
        let s = encode::compress_set(&v);
        v.sort_unstable();
        v.dedup();
        if v.is_empty() {
            prop_assert_eq!(s, "");
        } else {
            let line = format!("a FETCH {s} FLAGS\r\n");
            let Command::Fetch(f) = parse_command(line.as_bytes()).unwrap().command else { unreachable!() };
            for n in 1..=200 {
                prop_assert_eq!(f.set.contains(n, 200), v.contains(&n));
            }
            let resolved = f.set.resolve(200);
            let count: u32 = resolved.iter().map(|(a, b)| b - a + 1).sum();
            prop_assert_eq!(count as usize, v.len());
        }
    }
}
