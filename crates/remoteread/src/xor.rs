//! Prometheus' XOR float chunk (`tsdb/chunkenc/xor.go`), decoded: the chunks of a
//! `STREAMED_XOR_CHUNKS` answer. bongsu's own XOR chunks (`tsdb::chunk::xor`) use other
//! timestamp buckets, so they cannot read these.
//!
//! Layout: the sample count (big-endian u16); the first timestamp as a signed varint and its
//! value as 64 raw bits; the second timestamp's delta as an unsigned varint; then
//! delta-of-deltas in buckets of 14, 17, 20 or 64 bits, and values XORed with the previous
//! one, reusing the previous window of meaningful bits when the control bit says so.

use bongsu_model::Sample;

use crate::ReadError;

/// Reads bits most significant first.
struct Bits<'a> {
    data: &'a [u8],
    pos: usize,
}

impl Bits<'_> {
    fn bit(&mut self) -> Result<bool, ReadError> {
        let byte = self
            .data
            .get(self.pos / 8)
            .ok_or_else(|| ReadError::Decode("XOR chunk is truncated".into()))?;
        let b = byte & (0x80 >> (self.pos % 8)) != 0;
        self.pos += 1;
        Ok(b)
    }

    fn bits(&mut self, n: u32) -> Result<u64, ReadError> {
        let mut v = 0u64;
        for _ in 0..n {
            v = (v << 1) | u64::from(self.bit()?);
        }
        Ok(v)
    }

    /// A Go `binary.Uvarint` read bit-aligned, as Prometheus writes it into the stream.
    fn uvarint(&mut self) -> Result<u64, ReadError> {
        let mut v = 0u64;
        for shift in (0..70).step_by(7) {
            let b = self.bits(8)?;
            if shift == 63 && b > 1 {
                break;
            }
            v |= (b & 0x7f) << shift;
            if b < 0x80 {
                return Ok(v);
            }
        }
        Err(ReadError::Decode("XOR chunk has a bad varint".into()))
    }

    fn varint(&mut self) -> Result<i64, ReadError> {
        let u = self.uvarint()?;
        Ok(((u >> 1) as i64) ^ -((u & 1) as i64))
    }
}

/// Appends the samples of a Prometheus XOR chunk to `out`.
pub(crate) fn decode(data: &[u8], out: &mut Vec<Sample>) -> Result<(), ReadError> {
    let header = data
        .get(..2)
        .ok_or_else(|| ReadError::Decode("XOR chunk is truncated".into()))?;
    let count = usize::from(u16::from_be_bytes([header[0], header[1]]));
    let mut r = Bits {
        data: &data[2..],
        pos: 0,
    };
    let (mut t, mut delta, mut vbits) = (0i64, 0i64, 0u64);
    let (mut leading, mut trailing) = (0u32, 0u32);
    out.reserve(count);
    for i in 0..count {
        match i {
            0 => {
                t = r.varint()?;
                vbits = r.bits(64)?;
            }
            _ => {
                if i == 1 {
                    delta = r.uvarint()? as i64;
                } else {
                    let mut ones = 0;
                    while ones < 4 && r.bit()? {
                        ones += 1;
                    }
                    let size = [0, 14, 17, 20, 64][ones];
                    if size > 0 {
                        let raw = r.bits(size)?;
                        let mut dod = raw as i64;
                        if size != 64 && raw > 1 << (size - 1) {
                            dod -= 1 << size;
                        }
                        delta = delta.wrapping_add(dod);
                    }
                }
                t = t.wrapping_add(delta);
                if r.bit()? {
                    if r.bit()? {
                        leading = r.bits(5)? as u32;
                        let mut significant = r.bits(6)? as u32;
                        if significant == 0 {
                            significant = 64;
                        }
                        trailing = 64u32.checked_sub(leading + significant).ok_or_else(|| {
                            ReadError::Decode("XOR chunk has a bad value window".into())
                        })?;
                    }
                    let significant = 64 - leading - trailing;
                    let x = r.bits(significant)?;
                    vbits ^= x.checked_shl(trailing).unwrap_or(0);
                }
            }
        }
        out.push(Sample {
            t,
            v: f64::from_bits(vbits),
        });
    }
    Ok(())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A bit writer producing Prometheus' layout, to test the decoder against.
    #[derive(Default)]
    struct W {
        out: Vec<u8>,
        n: usize,
    }

    impl W {
        fn bit(&mut self, b: bool) {
            if self.n.is_multiple_of(8) {
                self.out.push(0);
            }
            if b {
                *self.out.last_mut().unwrap() |= 0x80 >> (self.n % 8);
            }
            self.n += 1;
        }
        fn bits(&mut self, v: u64, n: u32) {
            for i in (0..n).rev() {
                self.bit(v >> i & 1 == 1);
            }
        }
        fn uvarint(&mut self, mut v: u64) {
            while v >= 0x80 {
                self.bits((v as u8 | 0x80).into(), 8);
                v >>= 7;
            }
            self.bits(v, 8);
        }
    }

    /// Encodes samples as Prometheus' `XORChunk.Appender` does (always a new value window).
    pub(crate) fn encode(samples: &[Sample]) -> Vec<u8> {
        let mut w = W::default();
        let (mut prev_t, mut prev_delta, mut prev_v) = (0i64, 0i64, 0u64);
        for (i, s) in samples.iter().enumerate() {
            let vb = s.v.to_bits();
            if i == 0 {
                w.uvarint(((s.t << 1) ^ (s.t >> 63)) as u64);
                w.bits(vb, 64);
            } else {
                let delta = s.t - prev_t;
                if i == 1 {
                    w.uvarint(delta as u64);
                } else {
                    let dod = delta - prev_delta;
                    let fits = |n: u32| -(1i64 << (n - 1)) < dod && dod <= 1 << (n - 1);
                    match dod {
                        0 => w.bit(false),
                        _ if fits(14) => {
                            w.bits(0b10, 2);
                            w.bits(dod as u64 & ((1 << 14) - 1), 14)
                        }
                        _ if fits(17) => {
                            w.bits(0b110, 3);
                            w.bits(dod as u64 & ((1 << 17) - 1), 17)
                        }
                        _ if fits(20) => {
                            w.bits(0b1110, 4);
                            w.bits(dod as u64 & ((1 << 20) - 1), 20)
                        }
                        _ => {
                            w.bits(0b1111, 4);
                            w.bits(dod as u64, 64)
                        }
                    }
                }
                prev_delta = delta;
                let x = vb ^ prev_v;
                if x == 0 {
                    w.bit(false);
                } else {
                    let lead = x.leading_zeros().min(31);
                    let trail = x.trailing_zeros();
                    let sig = 64 - lead - trail;
                    w.bits(0b11, 2);
                    w.bits(lead.into(), 5);
                    w.bits(u64::from(sig % 64), 6);
                    w.bits(x >> trail, sig);
                }
            }
            prev_t = s.t;
            prev_v = vb;
        }
        let mut out = (samples.len() as u16).to_be_bytes().to_vec();
        out.extend(w.out);
        out
    }

    #[test]
    fn decodes_every_bucket_and_value_case() {
        let ts = [
            -5i64,
            10_000,
            20_000,
            30_000,
            30_001,
            45_000,
            200_000,
            400_000,
            1 << 40,
        ];
        let vs = [1.0, 1.0, 2.5, -7.25, f64::MAX, 0.0, 0.1, 3.0, 3.0];
        let samples: Vec<Sample> = ts.iter().zip(vs).map(|(&t, v)| Sample { t, v }).collect();
        let mut out = Vec::new();
        decode(&encode(&samples), &mut out).unwrap();
        assert_eq!(out, samples);
    }

    #[test]
    fn truncated_chunk_is_an_error() {
        let samples = [Sample { t: 1, v: 1.0 }, Sample { t: 2, v: 2.0 }];
        let bytes = encode(&samples);
        let mut out = Vec::new();
        assert!(decode(&bytes[..bytes.len() - 2], &mut out).is_err());
    }
}
