//! The DATA body decoder: dot-unstuffing (RFC 5321 §4.5.2), end detection, size and hop
//! counting, with no I/O and no buffering beyond the bytes it is given.
//!
//! Only `CRLF . CRLF` ends the body; a bare LF never starts a line here, so a body cannot be
//! cut short by `LF . LF` tricks (SMTP smuggling).

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// At the start of a line.
    LineStart,
    /// A '.' at the start of a line.
    Dot,
    /// ".\r" at the start of a line.
    DotCr,
    /// Inside a line.
    Text,
    /// Inside a line, just after '\r'.
    Cr,
}

#[derive(Debug)]
pub struct DataDecoder {
    state: State,
    max_size: u64,
    size: u64,
    in_headers: bool,
    /// The first bytes of the current line, while in the header section.
    line_head: Vec<u8>,
    received: u32,
}

/// What the decoder learnt about a finished body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataSummary {
    /// Bytes after unstuffing (what the message is).
    pub size: u64,
    pub too_big: bool,
    /// Received headers seen in the header section.
    pub received: u32,
}

impl DataDecoder {
    pub fn new(max_size: u64) -> DataDecoder {
        DataDecoder {
            state: State::LineStart,
            max_size,
            size: 0,
            in_headers: true,
            line_head: Vec::with_capacity(9),
            received: 0,
        }
    }

    /// Decodes `input` into `out`. Returns how many input bytes were used and whether the
    /// body ended (the bytes after the end are the next command, and are not used).
    /// Once the body passes the size limit nothing more is written to `out`.
    pub fn feed(&mut self, input: &[u8], out: &mut Vec<u8>) -> (usize, bool) {
        for (i, &b) in input.iter().enumerate() {
            match self.state {
                State::LineStart if b == b'.' => self.state = State::Dot,
                State::Dot if b == b'\r' => self.state = State::DotCr,
                State::DotCr if b == b'\n' => {
                    self.state = State::LineStart;
                    return (i + 1, true);
                }
                State::DotCr => {
                    // ".\r" then something else: the dot was stuffing; keep the "\r".
                    self.emit(b'\r', out);
                    self.state = State::Cr;
                    self.text(b, out);
                }
                // A dot followed by anything else was stuffing: drop it.
                State::Dot | State::LineStart | State::Text | State::Cr => self.text(b, out),
            }
        }
        (input.len(), false)
    }

    fn text(&mut self, b: u8, out: &mut Vec<u8>) {
        self.emit(b, out);
        self.state = match (self.state, b) {
            (State::Cr, b'\n') => {
                self.end_line();
                State::LineStart
            }
            (_, b'\r') => State::Cr,
            _ => State::Text,
        };
    }

    fn emit(&mut self, b: u8, out: &mut Vec<u8>) {
        self.size += 1;
        if self.in_headers && self.line_head.len() < 9 {
            self.line_head.push(b);
        }
        if self.size <= self.max_size {
            out.push(b);
        }
    }

    fn end_line(&mut self) {
        if self.in_headers {
            if self.line_head == b"\r\n" {
                self.in_headers = false;
            } else if self.line_head.len() >= 9
                && self.line_head[..9].eq_ignore_ascii_case(b"received:")
            {
                self.received += 1;
            }
            self.line_head.clear();
        }
    }

    pub fn summary(&self) -> DataSummary {
        DataSummary {
            size: self.size,
            too_big: self.size > self.max_size,
            received: self.received,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds `input` in chunks of `chunk` bytes; returns (body, bytes used, ended).
    fn decode(input: &[u8], chunk: usize, max: u64) -> (Vec<u8>, usize, bool, DataSummary) {
        let mut d = DataDecoder::new(max);
        let mut out = Vec::new();
        let mut used = 0;
        for piece in input.chunks(chunk) {
            let (n, done) = d.feed(piece, &mut out);
            used += n;
            if done {
                return (out, used, true, d.summary());
            }
        }
        (out, used, false, d.summary())
    }

    #[test]
    fn unstuffing_and_end_in_any_chunking() {
        let cases: &[(&[u8], &[u8])] = &[
            (
                b"Subject: x\r\n\r\nhello\r\n.\r\n",
                b"Subject: x\r\n\r\nhello\r\n",
            ),
            (b"a\r\n..b\r\n.\r\n", b"a\r\n.b\r\n"),
            (b"..\r\n.\r\n", b".\r\n"),
            (b".\r\n", b""),
            (b"a\r\n.\rx\r\n.\r\n", b"a\r\n\rx\r\n"),
            (b"x\n.\nstill body\r\n.\r\n", b"x\n.\nstill body\r\n"),
            (b"x\r\n.\nstill\r\n.\r\n", b"x\r\n\nstill\r\n"),
        ];
        for (input, want) in cases {
            for chunk in [1, 2, 3, 7, 1000] {
                let (out, used, ended, _) = decode(input, chunk, 1 << 20);
                assert!(ended, "{:?} chunk {chunk}", String::from_utf8_lossy(input));
                assert_eq!(used, input.len());
                assert_eq!(
                    &out,
                    want,
                    "{:?} chunk {chunk}",
                    String::from_utf8_lossy(input)
                );
            }
        }
    }

    #[test]
    fn stops_at_the_end_and_leaves_the_next_command() {
        let input = b"body\r\n.\r\nQUIT\r\n";
        let (out, used, ended, _) = decode(input, 1000, 100);
        assert!(ended);
        assert_eq!(out, b"body\r\n");
        assert_eq!(&input[used..], b"QUIT\r\n");
    }

    #[test]
    fn no_end_without_crlf_dot_crlf() {
        let (_, _, ended, _) = decode(b"body\r\n.", 1, 100);
        assert!(!ended);
    }

    #[test]
    fn size_limit_stops_output_but_not_reading() {
        let mut input = b"Subject: big\r\n\r\n".to_vec();
        input.extend(std::iter::repeat_n(b'x', 500));
        input.extend(b"\r\n.\r\n");
        let (out, _, ended, summary) = decode(&input, 64, 100);
        assert!(ended);
        assert!(summary.too_big);
        assert_eq!(out.len(), 100);
        assert_eq!(summary.size, input.len() as u64 - 3);
        let (_, _, _, fits) = decode(b"12345\r\n.\r\n", 3, 7);
        assert!(!fits.too_big, "exactly at the limit fits");
    }

    #[test]
    fn counts_received_headers_only_in_the_header_section() {
        let input = b"Received: a\r\nRECEIVED: b\r\nX: y\r\n\r\nReceived: not a header\r\n.\r\n";
        let (_, _, _, s) = decode(input, 5, 1 << 20);
        assert_eq!(s.received, 2);
    }
}
