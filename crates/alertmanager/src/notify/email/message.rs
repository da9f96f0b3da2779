//! The bytes of an email as upstream writes them: each header value Q-encoded when it needs
//! to be (Go's `mime.QEncoding`), a `multipart/alternative` body whose parts are
//! quoted-printable (Go's `mime/quotedprintable` writer), parts in the order given.
//!
//! This module only formats; what goes into the headers and parts is the notifier's choice.

use std::fmt::Write as _;

/// Go's longest encoded word (RFC 2047) and the room left for text in one.
const MAX_ENCODED_WORD: usize = 75;
const MAX_WORD_CONTENT: usize = MAX_ENCODED_WORD - "=?UTF-8?q?".len() - "?=".len();
/// Go's quoted-printable line limit, soft break included.
const QP_LINE_MAX: usize = 76;
const UPPER_HEX: &[u8; 16] = b"0123456789ABCDEF";

/// Go's `mime.QEncoding.Encode("utf-8", s)`: `s` itself when it is printable ASCII (tabs
/// allowed), else `=?utf-8?q?…?=` words of at most 75 bytes separated by spaces, never
/// splitting a character.
pub fn q_encode(s: &str) -> String {
    if !s.chars().any(|c| !(' '..='~').contains(&c) && c != '\t') {
        return s.to_string();
    }
    let mut out = String::from("=?utf-8?q?");
    let mut len = 0;
    for c in s.chars() {
        let mut buf = [0u8; 4];
        let bytes = c.encode_utf8(&mut buf).as_bytes();
        let plain = (' '..='~').contains(&c) && !"=?_".contains(c);
        let enc_len = if plain { 1 } else { 3 * bytes.len() };
        if len + enc_len > MAX_WORD_CONTENT {
            out.push_str("?= =?utf-8?q?");
            len = 0;
        }
        for &b in bytes {
            match b {
                b' ' => out.push('_'),
                b'!'..=b'~' if !b"=?_".contains(&b) => out.push(b as char),
                b => {
                    out.push('=');
                    out.push(UPPER_HEX[(b >> 4) as usize] as char);
                    out.push(UPPER_HEX[(b & 15) as usize] as char);
                }
            }
        }
        len += enc_len;
    }
    out.push_str("?=");
    out
}

/// Quoted-printable as Go's writer produces it from one write of `body` and a close:
/// CRLF line ends (a bare CR or LF becomes CRLF), `=` and bytes outside printable ASCII
/// encoded, spaces and tabs before a line end encoded, soft breaks at 76 columns.
pub fn quoted_printable(body: &[u8]) -> Vec<u8> {
    let mut qp = Qp {
        out: Vec::with_capacity(body.len() + body.len() / 8),
        line: Vec::with_capacity(QP_LINE_MAX + 2),
        cr: false,
    };
    for &b in body {
        match b {
            b'!'..=b'~' if b != b'=' => qp.literal(b),
            b' ' | b'\t' | b'\r' | b'\n' => qp.literal(b),
            b => qp.encode(b),
        }
    }
    qp.check_last_byte();
    qp.flush();
    qp.out
}

struct Qp {
    out: Vec<u8>,
    line: Vec<u8>,
    cr: bool,
}

impl Qp {
    fn literal(&mut self, b: u8) {
        if b == b'\r' || b == b'\n' {
            if self.cr && b == b'\n' {
                self.cr = false;
                return;
            }
            self.cr = b == b'\r';
            self.check_last_byte();
            self.crlf();
            return;
        }
        if self.line.len() == QP_LINE_MAX - 1 {
            self.soft_break();
        }
        self.line.push(b);
        self.cr = false;
    }

    fn encode(&mut self, b: u8) {
        if QP_LINE_MAX - 1 - self.line.len() < 3 {
            self.soft_break();
        }
        self.line.extend_from_slice(&[
            b'=',
            UPPER_HEX[(b >> 4) as usize],
            UPPER_HEX[(b & 15) as usize],
        ]);
    }

    /// A space or tab must not end a line: it is encoded instead.
    fn check_last_byte(&mut self) {
        if let Some(&b) = self.line.last() {
            if b == b' ' || b == b'\t' {
                self.line.pop();
                self.encode(b);
            }
        }
    }

    fn soft_break(&mut self) {
        self.line.push(b'=');
        self.crlf();
    }

    fn crlf(&mut self) {
        self.line.extend_from_slice(b"\r\n");
        self.flush();
    }

    fn flush(&mut self) {
        self.out.append(&mut self.line);
    }
}

/// One part of the body.
pub struct Part {
    /// `text/plain; charset=UTF-8` or `text/html; charset=UTF-8`.
    pub content_type: &'static str,
    pub body: String,
}

/// A message: `headers` (name, already rendered value) in order, then upstream's `Date`,
/// `Content-Type` and `MIME-Version`, then the parts joined by `boundary` (Go's
/// `multipart.Writer`, which sorts part headers by name).
pub fn build(headers: &[(String, String)], date: &str, boundary: &str, parts: &[Part]) -> Vec<u8> {
    let mut head = String::new();
    for (name, value) in headers {
        let _ = write!(head, "{name}: {}\r\n", q_encode(value));
    }
    let _ = write!(
        head,
        "Date: {date}\r\nContent-Type: multipart/alternative;  boundary={boundary}\r\nMIME-Version: 1.0\r\n\r\n"
    );
    let mut out = head.into_bytes();
    for (i, part) in parts.iter().enumerate() {
        let sep = if i == 0 { "" } else { "\r\n" };
        let _ = write!(
            PushStr(&mut out),
            "{sep}--{boundary}\r\nContent-Transfer-Encoding: quoted-printable\r\nContent-Type: {}\r\n\r\n",
            part.content_type
        );
        out.extend_from_slice(&quoted_printable(part.body.as_bytes()));
    }
    let _ = write!(PushStr(&mut out), "\r\n--{boundary}--\r\n");
    out
}

/// Go's multipart boundary: 30 random bytes in hex.
pub fn boundary() -> String {
    let bytes: [u8; 30] = rand::random();
    bytes.iter().fold(String::with_capacity(60), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// Lets `write!` append to a byte buffer.
struct PushStr<'a>(&'a mut Vec<u8>);

impl std::fmt::Write for PushStr<'_> {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        self.0.extend_from_slice(s.as_bytes());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Expected values are what Go 1.19's `mime.QEncoding.Encode("utf-8", …)` returns.
    #[test]
    fn q_encoding_matches_go() {
        for (input, want) in [
            ("[FIRING:1] HighLoad", "[FIRING:1] HighLoad"),
            ("tab\tok", "tab\tok"),
            ("Grüße", "=?utf-8?q?Gr=C3=BC=C3=9Fe?="),
            ("a_b=c?d é", "=?utf-8?q?a=5Fb=3Dc=3Fd_=C3=A9?="),
            ("line\nbreak", "=?utf-8?q?line=0Abreak?="),
            (
                "[FIRING:2] DiskFull ünïcödé and a rather long subject line that must split",
                "=?utf-8?q?[FIRING:2]_DiskFull_=C3=BCn=C3=AFc=C3=B6d=C3=A9_and_a_rather_lo?= =?utf-8?q?ng_subject_line_that_must_split?=",
            ),
        ] {
            assert_eq!(q_encode(input), want, "{input:?}");
        }
    }

    /// Expected values are what Go 1.19's `quotedprintable.Writer` writes for one `Write`
    /// of the input and a `Close`.
    #[test]
    fn quoted_printable_matches_go() {
        let long = "x".repeat(80);
        for (input, want) in [
            ("plain text\n", "plain text\r\n".to_string()),
            ("a=b é\r\nend ", "a=3Db =C3=A9\r\nend=20".to_string()),
            (
                "trailing space \nnext\ttab\t\n",
                "trailing space=20\r\nnext\ttab=09\r\n".to_string(),
            ),
            (
                long.as_str(),
                format!("{}=\r\n{}", "x".repeat(75), "x".repeat(5)),
            ),
            ("bare\rcr", "bare\r\ncr".to_string()),
        ] {
            let got = String::from_utf8(quoted_printable(input.as_bytes())).unwrap_or_default();
            assert_eq!(got, want, "{input:?}");
        }
    }

    #[test]
    fn multipart_layout() {
        let msg = build(
            &[("Subject".into(), "hi".into())],
            "Thu, 01 Jan 2026 00:00:00 +0000",
            "BOUND",
            &[
                Part {
                    content_type: "text/plain; charset=UTF-8",
                    body: "t".into(),
                },
                Part {
                    content_type: "text/html; charset=UTF-8",
                    body: "<b>h</b>".into(),
                },
            ],
        );
        let want = "Subject: hi\r\nDate: Thu, 01 Jan 2026 00:00:00 +0000\r\n\
            Content-Type: multipart/alternative;  boundary=BOUND\r\nMIME-Version: 1.0\r\n\r\n\
            --BOUND\r\nContent-Transfer-Encoding: quoted-printable\r\n\
            Content-Type: text/plain; charset=UTF-8\r\n\r\nt\
            \r\n--BOUND\r\nContent-Transfer-Encoding: quoted-printable\r\n\
            Content-Type: text/html; charset=UTF-8\r\n\r\n<b>h</b>\r\n--BOUND--\r\n";
        assert_eq!(String::from_utf8(msg).unwrap_or_default(), want);
        assert_eq!(boundary().len(), 60);
    }
}
