//! Reading one file from an offset: whole lines out, the unfinished last line held back, lines
//! longer than [`MAX_LINE_BYTES`] truncated, invalid UTF-8 replaced. Plain files are read with
//! positioned reads through a handle kept open (so a file renamed away is still read to its
//! end); `.gz` files (a job's `decompression`) are decompressed as a stream, once.
//!
//! Not here: noticing rotation (the tailer compares inodes and sizes) or timestamps and labels.

use std::fs::File;
use std::io::{self, BufReader, Read};
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::Path;

use flate2::read::MultiGzDecoder;

/// Longest line handed on; the rest of a longer line is skipped up to its newline and the line
/// counted as truncated. Also the most a file holds back while waiting for a newline. The log
/// store's default line limit, so a truncated line is still stored.
pub const MAX_LINE_BYTES: usize = 256 * 1024;
/// A held-back line's buffer is kept for the next one up to this capacity (a long line's is
/// freed, so memory per file stays small).
const KEEP_PARTIAL_CAPACITY: usize = 4096;
/// Bytes read per system call.
const READ_CHUNK: usize = 64 * 1024;

thread_local! {
    /// The read buffer, one per thread rather than per file (1,000 tailed files would pin
    /// 64 MiB otherwise).
    static READ_BUF: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// One line read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    pub text: String,
    /// Cut at [`MAX_LINE_BYTES`].
    pub truncated: bool,
}

enum Source {
    Plain(File),
    Gz(Box<MultiGzDecoder<BufReader<File>>>),
}

/// An open file being read.
pub struct FileReader {
    source: Source,
    inode: u64,
    /// Just after the last whole line handed on: what positions record.
    offset: u64,
    /// Where the next read starts (`offset` + held-back bytes + skipped bytes).
    read_pos: u64,
    /// The start of a line whose newline has not been read yet.
    partial: Vec<u8>,
    /// Skipping the rest of an over-long line until its newline.
    skipping: bool,
    /// A compressed file read to its end.
    done: bool,
}

impl FileReader {
    /// Opens `path` to read from `offset` (decompressing when `gz`; then `offset` counts
    /// decompressed bytes, skipped again on open).
    pub fn open(path: &Path, offset: u64, gz: bool) -> io::Result<FileReader> {
        let file = File::open(path)?;
        let meta = file.metadata()?;
        let (source, start) = if gz {
            let mut dec = MultiGzDecoder::new(BufReader::new(file));
            let skipped = io::copy(&mut (&mut dec).take(offset), &mut io::sink())?;
            (Source::Gz(Box::new(dec)), skipped)
        } else if meta.len() < offset {
            // Shorter than where we were: truncated while we were away.
            (Source::Plain(file), 0)
        } else {
            (Source::Plain(file), offset)
        };
        let r = FileReader {
            source,
            inode: meta.ino(),
            offset: start,
            read_pos: start,
            partial: Vec::new(),
            skipping: false,
            done: false,
        };
        Ok(r)
    }

    pub fn inode(&self) -> u64 {
        self.inode
    }

    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// Where the next read starts: compared with the file's size to notice truncation.
    pub fn read_pos(&self) -> u64 {
        self.read_pos
    }

    /// A compressed file read to its end: nothing more will come.
    pub fn is_done(&self) -> bool {
        self.done
    }

    /// The file was truncated in place (copytruncate): start again at 0. The held-back start of
    /// a line went with the old contents.
    pub fn restart(&mut self) {
        self.offset = 0;
        self.read_pos = 0;
        self.partial.clear();
        self.skipping = false;
    }

    /// Reads up to about `budget` bytes, pushing whole lines to `out`; returns the bytes read
    /// (0 at the end of the file).
    pub fn read(&mut self, budget: usize, out: &mut Vec<Line>) -> io::Result<usize> {
        if self.done {
            return Ok(0);
        }
        READ_BUF.with_borrow_mut(|buf| {
            buf.resize(READ_CHUNK, 0);
            let mut total = 0;
            while total < budget {
                let n = match &mut self.source {
                    Source::Plain(f) => f.read_at(buf, self.read_pos)?,
                    Source::Gz(d) => d.read(buf)?,
                };
                if n == 0 {
                    if matches!(self.source, Source::Gz(_)) {
                        self.done = true;
                        self.finish(out);
                    }
                    break;
                }
                self.split(&buf[..n], out);
                self.read_pos += n as u64;
                total += n;
            }
            Ok(total)
        })
    }

    /// Hands on the held-back last line (the file ends without a newline and will not grow:
    /// rotated away, or a compressed file's end).
    pub fn finish(&mut self, out: &mut Vec<Line>) {
        if !self.partial.is_empty() {
            let text = std::mem::take(&mut self.partial);
            out.push(line(&text, false));
        }
        self.skipping = false;
        self.offset = self.read_pos;
    }

    fn split(&mut self, mut bytes: &[u8], out: &mut Vec<Line>) {
        let base = self.read_pos;
        let mut consumed = 0u64;
        while let Some(i) = memchr::memchr(b'\n', bytes) {
            let (head, rest) = (&bytes[..i], &bytes[i + 1..]);
            consumed += i as u64 + 1;
            if self.skipping {
                self.skipping = false;
            } else if self.partial.is_empty() {
                self.push(head, out);
            } else {
                let mut whole = std::mem::take(&mut self.partial);
                whole.extend_from_slice(head);
                self.push(&whole, out);
                whole.clear();
                if whole.capacity() <= KEEP_PARTIAL_CAPACITY {
                    self.partial = whole;
                }
            }
            self.offset = base + consumed;
            bytes = rest;
        }
        if self.skipping || bytes.is_empty() {
            return;
        }
        if self.partial.len() + bytes.len() > MAX_LINE_BYTES {
            let room = MAX_LINE_BYTES - self.partial.len();
            let mut whole = std::mem::take(&mut self.partial);
            whole.extend_from_slice(&bytes[..room]);
            out.push(line(&whole, true));
            self.skipping = true;
            // The cut line is handed on: a restart resumes after what was read of it.
            self.offset = base + consumed + bytes.len() as u64;
        } else {
            self.partial.extend_from_slice(bytes);
        }
    }

    fn push(&mut self, bytes: &[u8], out: &mut Vec<Line>) {
        if bytes.len() > MAX_LINE_BYTES {
            out.push(line(&bytes[..MAX_LINE_BYTES], true));
        } else {
            out.push(line(bytes, false));
        }
    }
}

/// A line's text: a trailing `\r` removed (CRLF files), invalid UTF-8 replaced by U+FFFD as
/// Loki's JSON answers show such bytes (the store keeps text). Replacement can make a line
/// longer (one byte becomes three): it is cut again to [`MAX_LINE_BYTES`].
fn line(bytes: &[u8], truncated: bool) -> Line {
    let bytes = bytes.strip_suffix(b"\r").unwrap_or(bytes);
    let mut text = String::from_utf8_lossy(bytes).into_owned();
    let mut truncated = truncated;
    if text.len() > MAX_LINE_BYTES {
        let mut cut = MAX_LINE_BYTES;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        text.truncate(cut);
        truncated = true;
    }
    Line { text, truncated }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn texts(lines: &[Line]) -> Vec<&str> {
        lines.iter().map(|l| l.text.as_str()).collect()
    }

    #[test]
    fn whole_lines_partial_held_offsets_exact() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("a.log");
        let mut f = File::create(&p).unwrap();
        f.write_all(b"one\r\ntwo\nthr").unwrap();
        let mut r = FileReader::open(&p, 0, false).unwrap();
        let mut out = Vec::new();
        r.read(1 << 20, &mut out).unwrap();
        assert_eq!(texts(&out), ["one", "two"]);
        assert_eq!(r.offset(), 9);
        f.write_all(b"ee\n\xff\xfebin\n").unwrap();
        out.clear();
        r.read(1 << 20, &mut out).unwrap();
        assert_eq!(texts(&out), ["three", "\u{fffd}\u{fffd}bin"]);
        assert_eq!(r.offset(), 21);
        let mut again = FileReader::open(&p, 9, false).unwrap();
        out.clear();
        again.read(1 << 20, &mut out).unwrap();
        assert_eq!(texts(&out), ["three", "\u{fffd}\u{fffd}bin"]);
    }

    #[test]
    fn long_lines_are_cut_and_the_rest_skipped() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("a.log");
        let mut body = vec![b'x'; MAX_LINE_BYTES * 3 + 5];
        body.extend_from_slice(b"\nnext\n");
        std::fs::write(&p, &body).unwrap();
        let mut r = FileReader::open(&p, 0, false).unwrap();
        let mut out = Vec::new();
        while r.read(1 << 20, &mut out).unwrap() > 0 {}
        assert_eq!(out.len(), 2);
        assert!(out[0].truncated && out[0].text.len() == MAX_LINE_BYTES);
        assert_eq!(out[1].text, "next");
        assert_eq!(r.offset(), body.len() as u64);

        // Binary bytes: replaced, and cut again if replacement made the line too long.
        let bin = d.path().join("bin.log");
        let mut body = vec![0xffu8; MAX_LINE_BYTES - 1];
        body.push(b'\n');
        std::fs::write(&bin, &body).unwrap();
        let mut r = FileReader::open(&bin, 0, false).unwrap();
        out.clear();
        while r.read(1 << 20, &mut out).unwrap() > 0 {}
        assert_eq!(out.len(), 1);
        assert!(out[0].truncated && out[0].text.len() <= MAX_LINE_BYTES);
        assert!(out[0].text.chars().all(|c| c == '\u{fffd}'));
    }

    #[test]
    fn gz_files_are_read_once_and_resume() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("a.log.gz");
        let mut enc =
            flate2::write::GzEncoder::new(File::create(&p).unwrap(), flate2::Compression::fast());
        enc.write_all(b"a\nb\nc").unwrap();
        enc.finish().unwrap();
        let mut r = FileReader::open(&p, 0, true).unwrap();
        let mut out = Vec::new();
        while r.read(1 << 20, &mut out).unwrap() > 0 {}
        assert!(r.is_done());
        assert_eq!(texts(&out), ["a", "b", "c"]);
        let mut r = FileReader::open(&p, 2, true).unwrap();
        out.clear();
        while r.read(1 << 20, &mut out).unwrap() > 0 {}
        assert_eq!(texts(&out), ["b", "c"]);
    }
}
