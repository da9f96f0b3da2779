//! A parsed syslog message, whichever the format, and the names of its priority parts.

use std::fmt;

/// RFC 5424 structured data: each element's id and its parameters, in message order.
pub type StructuredData = Vec<(String, Vec<(String, String)>)>;

/// One syslog message as the parsers return it; absent (`-`) fields are `None`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Message {
    /// `PRI`: facility × 8 + severity, 0..=191.
    pub priority: u8,
    /// Unix nanoseconds of the message's own timestamp.
    pub timestamp: Option<i64>,
    pub hostname: Option<String>,
    pub app_name: Option<String>,
    pub proc_id: Option<String>,
    pub msg_id: Option<String>,
    pub structured_data: StructuredData,
    /// The free-form text; `None` when the message has none (counted as empty, not sent).
    pub message: Option<String>,
}

/// Severity levels as Promtail's parser names them (`__syslog_message_severity`): go-syslog's
/// `SeverityLevel`, the long names (not its `SeverityShortLevel` keywords such as `err`).
const SEVERITIES: [&str; 8] = [
    "emergency",
    "alert",
    "critical",
    "error",
    "warning",
    "notice",
    "informational",
    "debug",
];

/// Facility keywords as Promtail's parser names them (`__syslog_message_facility`).
const FACILITIES: [&str; 24] = [
    "kern",
    "user",
    "mail",
    "daemon",
    "auth",
    "syslog",
    "lpr",
    "news",
    "uucp",
    "cron",
    "authpriv",
    "ftp",
    "ntp",
    "security",
    "console",
    "solaris-cron",
    "local0",
    "local1",
    "local2",
    "local3",
    "local4",
    "local5",
    "local6",
    "local7",
];

impl Message {
    pub fn severity(&self) -> &'static str {
        SEVERITIES[usize::from(self.priority & 7)]
    }

    pub fn facility(&self) -> &'static str {
        // PRI is at most 191, so the facility is at most 23.
        FACILITIES[usize::from(self.priority >> 3).min(FACILITIES.len() - 1)]
    }
}

/// Why a message did not parse: the reason in Promtail's parser's words and the 0-based byte
/// where parsing stopped, printed as `reason [col N]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    pub reason: &'static str,
    pub col: usize,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} [col {}]", self.reason, self.col)
    }
}

impl std::error::Error for ParseError {}

/// A byte cursor shared by the two parsers.
pub(crate) struct Cursor<'a> {
    pub(crate) data: &'a [u8],
    pub(crate) pos: usize,
}

impl<'a> Cursor<'a> {
    pub(crate) fn new(data: &'a [u8]) -> Cursor<'a> {
        Cursor { data, pos: 0 }
    }

    pub(crate) fn peek(&self) -> Option<u8> {
        self.data.get(self.pos).copied()
    }

    pub(crate) fn fail<T>(&self, reason: &'static str) -> Result<T, ParseError> {
        Err(ParseError {
            reason,
            col: self.pos,
        })
    }

    /// Consumes `b` or fails with `reason`.
    pub(crate) fn expect(&mut self, b: u8, reason: &'static str) -> Result<(), ParseError> {
        if self.peek() == Some(b) {
            self.pos += 1;
            Ok(())
        } else {
            self.fail(reason)
        }
    }

    /// The bytes up to (not including) the next space or the end.
    pub(crate) fn token(&mut self) -> &'a [u8] {
        let start = self.pos;
        while self.peek().is_some_and(|b| b != b' ') {
            self.pos += 1;
        }
        &self.data[start..self.pos]
    }

    pub(crate) fn rest(&self) -> &'a [u8] {
        &self.data[self.pos..]
    }

    /// `<PRIVAL>`: 0, or 1..=191 without a leading zero.
    pub(crate) fn priority(&mut self) -> Result<u8, ParseError> {
        const PRI: &str = "expecting a priority value within angle brackets";
        const PRIVAL: &str = "expecting a priority value in the range 1-191 or equal to 0";
        self.expect(b'<', PRI)?;
        let start = self.pos;
        while self.peek().is_some_and(|b| b.is_ascii_digit()) && self.pos - start < 3 {
            self.pos += 1;
        }
        let digits = &self.data[start..self.pos];
        let value = std::str::from_utf8(digits)
            .ok()
            .and_then(|s| s.parse::<u16>().ok())
            .filter(|v| *v <= 191 && (digits.len() == 1 || digits[0] != b'0'));
        let Some(value) = value else {
            self.pos = start;
            return self.fail(PRIVAL);
        };
        self.expect(b'>', PRI)?;
        Ok(value as u8)
    }
}

/// Whether every byte is printable US-ASCII (33..=126), RFC 5424's PRINTUSASCII.
pub(crate) fn print_us_ascii(s: &[u8]) -> bool {
    s.iter().all(|b| (33..=126).contains(b))
}

/// A header field that passed [`print_us_ascii`], so it is valid UTF-8.
pub(crate) fn ascii(s: &[u8]) -> String {
    utf8_lossy(s)
}

/// `s` as a string, bytes that are not UTF-8 replaced with U+FFFD. Checks with the fast
/// validator first: nearly every message is valid.
pub(crate) fn utf8_lossy(s: &[u8]) -> String {
    match std::str::from_utf8(s) {
        Ok(t) => t.to_owned(),
        Err(_) => String::from_utf8_lossy(s).into_owned(),
    }
}
