#[test]
fn dump() {
    let dir = std::env::var("DUMP").unwrap();
    for f in dir.split(',') {
        let raw = std::fs::read(f).unwrap();
        let a = hermod_mime::analyze(&raw);
        println!(
            "== {f}\nENV {}\nBS {}\nBODY {}\nMAP {}\nDATE {:?}",
            a.envelope,
            a.body_structure,
            a.body,
            a.parts.to_text(),
            a.sent_date
        );
        let st = hermod_mime::search_text(&raw);
        println!(
            "HDRS {:?}\nBODYTEXT {:?}",
            &st.headers[..st.headers.len().min(4)],
            &st.body.chars().take(200).collect::<String>()
        );
    }
}
