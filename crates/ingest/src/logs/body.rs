//! A push body from the wire to decodable bytes: `Content-Encoding`, the size limits (checked
//! before anything is allocated where the format allows), and decompression. No HTTP types
//! beyond the header values; no decoding of the content.

use std::io::Read;

use flate2::read::{DeflateDecoder, MultiGzDecoder};

use super::PushError;

/// A `Content-Encoding` a push endpoint takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Identity,
    /// Snappy block format, the protobuf push's own framing (Loki's `RawSnappy`).
    Snappy,
    Gzip,
    /// Raw DEFLATE, as Go's `compress/flate` (Loki's push endpoint only).
    Deflate,
    /// A snappy-framed protobuf push inside gzip or DEFLATE (Loki takes it; no known client
    /// sends it).
    Wrapped(Outer),
}

/// The outer compression of [`Encoding::Wrapped`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outer {
    Gzip,
    Deflate,
}

/// Loki's words for a body over the read limit (`ErrRequestBodyTooLarge` wrapping
/// `ErrMessageSizeTooLarge`): answered with 413.
pub fn body_too_large(size: u64, max: usize) -> PushError {
    PushError::TooLarge(format!(
        "request body too large: message size too large than max ({size} vs {max})"
    ))
}

/// The same for the decompressed size.
pub fn decompressed_too_large(size: u64, max: usize) -> PushError {
    PushError::TooLarge(format!(
        "request body too large: decompressed message size too large than max ({size} vs {max})"
    ))
}

/// The decompressed size to budget for before decompressing: exact for identity and snappy
/// (its header), the gzip trailer's for gzip, and the limit itself for raw DEFLATE, which
/// announces nothing, and for a wrapped snappy body, whose inner size is known only after the
/// outer layer. Over `max` is Loki's 413.
pub fn decompressed_estimate(
    encoding: Encoding,
    body: &[u8],
    max: usize,
) -> Result<usize, PushError> {
    let n = match encoding {
        Encoding::Identity => body.len(),
        Encoding::Snappy => snap::raw::decompress_len(body)
            .map_err(|e| PushError::BadRequest(format!("snappy: {e}")))?,
        // ISIZE: the last member's size modulo 2^32. `decompress` refuses bodies that
        // decompress to more, so the estimate is a bound.
        Encoding::Gzip if !body.starts_with(&[0x1f, 0x8b]) => {
            return Err(PushError::BadRequest("gzip: invalid header".into()))
        }
        Encoding::Gzip => match body.len().checked_sub(4) {
            Some(at) => {
                let isize =
                    u32::from_le_bytes([body[at], body[at + 1], body[at + 2], body[at + 3]]);
                isize as usize
            }
            None => return Err(PushError::BadRequest("gzip: unexpected EOF".into())),
        },
        Encoding::Deflate | Encoding::Wrapped(_) => max,
    };
    if n > max {
        return Err(decompressed_too_large(n as u64, max));
    }
    Ok(n)
}

/// Decompresses `body` to at most `budget` bytes (the estimate the caller holds permits for,
/// itself at most the limit `max`).
pub fn decompress(
    encoding: Encoding,
    body: &[u8],
    budget: usize,
    max: usize,
) -> Result<Vec<u8>, PushError> {
    match encoding {
        Encoding::Identity => Ok(body.to_vec()),
        Encoding::Snappy => snap::raw::Decoder::new()
            .decompress_vec(body)
            .map_err(|e| PushError::BadRequest(format!("snappy: {e}"))),
        Encoding::Gzip => read_bounded(MultiGzDecoder::new(body), budget, max, "gzip"),
        Encoding::Deflate => read_bounded(DeflateDecoder::new(body), budget, max, "flate"),
        Encoding::Wrapped(outer) => {
            let outer = match outer {
                Outer::Gzip => Encoding::Gzip,
                Outer::Deflate => Encoding::Deflate,
            };
            let framed = decompress(outer, body, budget, max)?;
            decompressed_estimate(Encoding::Snappy, &framed, budget)?;
            decompress(Encoding::Snappy, &framed, budget, max)
        }
    }
}

fn read_bounded(r: impl Read, budget: usize, max: usize, what: &str) -> Result<Vec<u8>, PushError> {
    let mut out = Vec::with_capacity(budget.min(max));
    r.take(budget as u64 + 1)
        .read_to_end(&mut out)
        .map_err(|e| PushError::BadRequest(format!("{what}: {e}")))?;
    if out.len() > budget {
        if budget >= max {
            return Err(decompressed_too_large(out.len() as u64, max));
        }
        // Only a multi-member or forged gzip body decompresses past its trailer's size.
        return Err(PushError::BadRequest(format!(
            "{what}: the body decompresses to more than the {budget} bytes its trailer announces"
        )));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    fn gzip(raw: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(raw).unwrap();
        e.finish().unwrap()
    }

    #[test]
    fn gzip_within_its_trailer() {
        let raw = vec![b'x'; 10_000];
        let body = gzip(&raw);
        let n = decompressed_estimate(Encoding::Gzip, &body, 1 << 20).unwrap();
        assert_eq!(n, raw.len());
        assert_eq!(decompress(Encoding::Gzip, &body, n, 1 << 20).unwrap(), raw);
        // A forged trailer cannot make the receiver hold more than it budgeted.
        let mut forged = body.clone();
        let at = forged.len() - 4;
        forged[at..].copy_from_slice(&100u32.to_le_bytes());
        assert!(matches!(
            decompress(Encoding::Gzip, &forged, 100, 1 << 20),
            Err(PushError::BadRequest(_))
        ));
        assert!(matches!(
            decompressed_estimate(Encoding::Gzip, &body, 100),
            Err(PushError::TooLarge(m)) if m == "request body too large: decompressed message \
                size too large than max (10000 vs 100)"
        ));
    }
}
