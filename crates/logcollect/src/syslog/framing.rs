//! Splitting a byte stream into syslog messages (RFC 6587), as Promtail does: the first byte of
//! a stream chooses the framing for the whole stream — `<` non-transparent (newline) framing, a
//! digit octet counting, anything else is refused.
//!
//! Non-transparent framing ends a message at a newline followed by `<` (the next message), so a
//! message may span lines. Promtail waits for that next message; bongsu also ends it when no
//! byte follows the newline within [`NEWLINE_FLUSH_DELAY`], so a quiet sender's last line is
//! not held back. Every message is bounded by the listener's maximum length: a longer one is
//! reported and skipped, never buffered whole.

use std::time::Duration;

use thiserror::Error;
use tokio::io::{AsyncRead, AsyncReadExt};

/// How long a newline-ended message waits for a following byte before it is taken as complete.
pub const NEWLINE_FLUSH_DELAY: Duration = Duration::from_millis(200);
/// At most this many digits in an octet count (counts above `u32::MAX` are refused anyway).
const MAX_COUNT_DIGITS: usize = 10;
/// Bytes read from the socket at a time.
const READ_CHUNK: usize = 64 << 10;

/// The framing of a stream, chosen by its first byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    NonTransparent,
    OctetCounting,
}

/// One framed unit of the stream.
#[derive(Debug, PartialEq, Eq)]
pub enum Frame<'a> {
    Message(&'a [u8]),
    /// A message longer than the limit, skipped: its length if known (octet counting).
    TooLong(Option<usize>),
}

#[derive(Debug, Error)]
pub enum FramingError {
    #[error("invalid or unsupported framing. first byte: '{}'", char::from(*.0))]
    Unsupported(u8),
    #[error("expecting a message length (MSG-LEN SP) at byte {0}")]
    BadCount(u64),
    #[error("connection idle for {0:?}")]
    Idle(Duration),
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// Reads frames from `R`, holding at most one message (plus one read chunk) in memory.
pub struct FrameReader<R> {
    r: R,
    buf: Vec<u8>,
    /// Start of unconsumed bytes in `buf`.
    head: usize,
    /// Bytes dropped from the front of `buf` so far, for error positions.
    offset: u64,
    framing: Option<Framing>,
    max: usize,
    idle: Duration,
    eof: bool,
    /// The length of the last message skipped as too long, when known.
    skipped: Option<usize>,
}

impl<R: AsyncRead + Unpin> FrameReader<R> {
    /// `max` bounds a message's length; a read waiting longer than `idle` fails.
    pub fn new(r: R, max: usize, idle: Duration) -> FrameReader<R> {
        FrameReader {
            r,
            buf: Vec::with_capacity(READ_CHUNK.min(max + 64)),
            head: 0,
            offset: 0,
            framing: None,
            max,
            idle,
            eof: false,
            skipped: None,
        }
    }

    /// The next frame; `None` at the end of the stream.
    pub async fn next(&mut self) -> Result<Option<Frame<'_>>, FramingError> {
        if self.data().is_empty() && !self.fill(None).await? {
            return Ok(None);
        }
        let framing = match self.framing {
            Some(f) => f,
            None => {
                let f = match self.data()[0] {
                    b'<' => Framing::NonTransparent,
                    b'0'..=b'9' => Framing::OctetCounting,
                    b => return Err(FramingError::Unsupported(b)),
                };
                self.framing = Some(f);
                f
            }
        };
        let range = match framing {
            Framing::OctetCounting => self.octet_counted().await?,
            Framing::NonTransparent => self.non_transparent().await?,
        };
        Ok(Some(match range {
            Some((start, end)) => Frame::Message(&self.buf[start..end]),
            None => Frame::TooLong(self.skipped),
        }))
    }

    /// The unconsumed bytes.
    fn data(&self) -> &[u8] {
        &self.buf[self.head..]
    }

    /// Marks `n` more bytes consumed.
    fn consume(&mut self, n: usize) {
        self.head += n;
    }

    /// Reads more bytes after the unconsumed ones (moving those to the front first); false at
    /// the end of the stream. With `wait`, gives up (false, without marking the end) when
    /// nothing arrives within it. Positions into `data()` stay valid across a fill.
    async fn fill(&mut self, wait: Option<Duration>) -> Result<bool, FramingError> {
        if self.eof {
            return Ok(false);
        }
        if self.head > 0 {
            self.buf.drain(..self.head);
            self.offset += self.head as u64;
            self.head = 0;
        }
        self.buf.reserve(READ_CHUNK);
        let limit = wait.unwrap_or(self.idle);
        let n = match tokio::time::timeout(limit, self.r.read_buf(&mut self.buf)).await {
            Ok(read) => read?,
            Err(_) if wait.is_some() => return Ok(false),
            Err(_) => return Err(FramingError::Idle(self.idle)),
        };
        if n == 0 {
            self.eof = true;
        }
        Ok(n > 0)
    }

    fn bad_count(&self) -> FramingError {
        FramingError::BadCount(self.offset + self.head as u64)
    }

    /// `MSG-LEN SP MSG`: the message's range in `buf`, or `None` when it was too long.
    async fn octet_counted(&mut self) -> Result<Option<(usize, usize)>, FramingError> {
        let space = loop {
            let d = self.data();
            let digits = d.iter().take_while(|b| b.is_ascii_digit()).count();
            if digits > MAX_COUNT_DIGITS || digits == 0 || d[0] == b'0' {
                return Err(self.bad_count());
            }
            if digits < d.len() {
                if d[digits] != b' ' {
                    return Err(self.bad_count());
                }
                break digits;
            }
            if !self.fill(None).await? {
                return Err(self.bad_count());
            }
        };
        let count: u64 = std::str::from_utf8(&self.data()[..space])
            .ok()
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| self.bad_count())?;
        if count > self.max as u64 {
            self.consume(space + 1);
            self.skip(count).await?;
            self.skipped = Some(count as usize);
            return Ok(None);
        }
        let end = space + 1 + count as usize;
        while self.data().len() < end {
            if !self.fill(None).await? {
                // A truncated last message: Promtail's parser reports it as an error too.
                let e = self.bad_count();
                self.consume(self.data().len());
                return Err(e);
            }
        }
        let start = self.head + space + 1;
        self.consume(end);
        Ok(Some((start, self.head)))
    }

    /// Drops `n` bytes from the front of the stream.
    async fn skip(&mut self, mut n: u64) -> Result<(), FramingError> {
        loop {
            let have = (self.data().len() as u64).min(n);
            self.consume(have as usize);
            n -= have;
            if n == 0 || !self.fill(None).await? {
                return Ok(());
            }
        }
    }

    /// A message up to a newline followed by `<`, the end of the stream, or a pause.
    async fn non_transparent(&mut self) -> Result<Option<(usize, usize)>, FramingError> {
        let mut scan = 0;
        loop {
            let d = self.data();
            if let Some(i) = memchr::memchr(b'\n', &d[scan..]).map(|i| scan + i) {
                if i > self.max {
                    return self.too_long_line().await;
                }
                let complete = if i + 1 < d.len() {
                    d[i + 1] == b'<'
                } else {
                    !self.fill(Some(NEWLINE_FLUSH_DELAY)).await?
                };
                if complete {
                    let start = self.head;
                    self.consume(i + 1);
                    return Ok(Some((start, start + i)));
                }
                if self.data()[i + 1] != b'<' {
                    scan = i + 1;
                }
                continue;
            }
            if d.len() > self.max {
                return self.too_long_line().await;
            }
            scan = d.len();
            if !self.fill(None).await? {
                let start = self.head;
                self.consume(self.data().len());
                return Ok(Some((start, self.head)));
            }
        }
    }

    /// Skips an over-long message up to the next newline followed by `<` (or the end).
    async fn too_long_line(&mut self) -> Result<Option<(usize, usize)>, FramingError> {
        self.skipped = None;
        loop {
            let d = self.data();
            if let Some(at) = d.windows(2).position(|w| w == b"\n<") {
                self.consume(at + 1);
                return Ok(None);
            }
            // Keep the last byte: it may be the newline of the pair.
            let keep = usize::from(d.last() == Some(&b'\n'));
            self.consume(d.len() - keep);
            if !self.fill(None).await? {
                self.consume(self.data().len());
                return Ok(None);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn frames(input: &[u8], max: usize) -> (Vec<String>, Option<String>) {
        let mut r = FrameReader::new(input, max, Duration::from_secs(5));
        let mut out = Vec::new();
        loop {
            match r.next().await {
                Ok(Some(Frame::Message(m))) => out.push(String::from_utf8_lossy(m).into_owned()),
                Ok(Some(Frame::TooLong(n))) => out.push(format!("too long {n:?}")),
                Ok(None) => return (out, None),
                Err(e) => return (out, Some(e.to_string())),
            }
        }
    }

    #[tokio::test]
    async fn octet_counting() {
        let (f, e) = frames(
            b"23 <13>1 - - - - - - First24 <13>1 - - - - - - Second",
            8192,
        )
        .await;
        assert_eq!(f, ["<13>1 - - - - - - First", "<13>1 - - - - - - Second"]);
        assert_eq!(e, None);
    }

    #[tokio::test]
    async fn octet_counting_too_long_is_skipped() {
        let (f, e) = frames(b"8198 <13>1 - - - - - - First", 8192).await;
        assert_eq!(f, ["too long Some(8198)"]);
        assert_eq!(e, None);
        let (f, _) = frames(b"5 abcde3 xyz", 4).await;
        assert_eq!(f, ["too long Some(5)", "xyz"]);
    }

    #[tokio::test]
    async fn newline_framing_keeps_multiline_messages() {
        let (f, e) = frames(b"<13>1 - - - - - - First\n<13>1 - - - - - - Second\n", 8192).await;
        assert_eq!(f, ["<13>1 - - - - - - First", "<13>1 - - - - - - Second"]);
        assert_eq!(e, None);
        let (f, _) = frames(b"<13>a\nb\n<14>c", 8192).await;
        assert_eq!(f, ["<13>a\nb", "<14>c"]);
    }

    #[tokio::test]
    async fn newline_framing_skips_long_lines() {
        let (f, _) = frames(b"<13>aaaaaaaaaaaa\n<14>b\n", 8).await;
        assert_eq!(f, ["too long None", "<14>b"]);
    }

    #[tokio::test]
    async fn bad_streams() {
        let (_, e) = frames(b"invalid", 8192).await;
        assert_eq!(
            e.as_deref(),
            Some("invalid or unsupported framing. first byte: 'i'")
        );
        let (f, e) = frames(b"", 8192).await;
        assert!(f.is_empty() && e.is_none());
        let (_, e) = frames(b"12x", 8192).await;
        assert!(e.unwrap().contains("MSG-LEN"));
    }
}
