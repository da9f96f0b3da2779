//! Decoding Prometheus' XOR chunks (`chunkenc.XORChunk`, Prometheus' encoding 1), for importing
//! Prometheus blocks. Its layout differs from bongsu's XOR encoding only in the timestamps:
//! the first is a byte varint, the second a byte uvarint delta, later ones delta-of-deltas in
//! 14, 17, 20 or 64 bits behind the prefixes `10`, `110`, `1110`, `1111`. Values are XOR-coded
//! exactly like bongsu's.

use bongsu_model::Sample;

use super::bstream::BitReader;
use super::xor::XorValueDecoder;
use super::ChunkError;

/// Decodes a whole Prometheus XOR chunk, appending to `out`.
pub fn decode_prometheus_xor(bytes: &[u8], out: &mut Vec<Sample>) -> Result<(), ChunkError> {
    const WHAT: &str = "Prometheus XOR sample";
    if bytes.len() < 2 {
        return Err(ChunkError::Truncated {
            what: "Prometheus XOR chunk header",
        });
    }
    let n = u16::from_be_bytes([bytes[0], bytes[1]]) as usize;
    let mut r = BitReader::new(&bytes[2..]);
    let mut values = XorValueDecoder::default();
    let (mut t, mut delta) = (0i64, 0i64);
    out.reserve(n);
    for i in 0..n {
        match i {
            0 => {
                let u = r.read_uvarint(WHAT)?;
                t = ((u >> 1) as i64) ^ -((u & 1) as i64);
            }
            1 => {
                delta = r.read_uvarint(WHAT)? as i64;
                t = t.wrapping_add(delta);
            }
            _ => {
                let mut ones = 0;
                while ones < 4 && r.read_bit(WHAT)? {
                    ones += 1;
                }
                let dod = match ones {
                    0 => 0,
                    4 => r.read_bits(64, WHAT)? as i64,
                    k => {
                        let sz = [14, 17, 20][k - 1];
                        let mut bits = r.read_bits(sz, WHAT)?;
                        if bits > 1 << (sz - 1) {
                            bits = bits.wrapping_sub(1 << sz);
                        }
                        bits as i64
                    }
                };
                delta = delta.wrapping_add(dod);
                t = t.wrapping_add(delta);
            }
        }
        let v = values.decode(&mut r)?;
        out.push(Sample { t, v });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chunk::bstream::BitWriter;

    /// A chunk written by hand after Prometheus' `xorAppender`: t 1000 (varint), v 1.0 raw;
    /// t +15000 (uvarint), v repeats; t dod +5 (`10` + 14 bits), v 2.0 (`11` window).
    #[test]
    fn decodes_prometheus_layout() {
        let mut w = BitWriter::default();
        w.write_bits(3, 16);
        w.write_uvarint(2000); // zigzag(1000)
        w.write_bits(1f64.to_bits(), 64);
        w.write_uvarint(15_000);
        w.write_bit(false);
        w.write_bits(0b10, 2);
        w.write_bits(5, 14);
        let x = 1f64.to_bits() ^ 2f64.to_bits();
        let (lead, trail) = (x.leading_zeros(), x.trailing_zeros());
        w.write_bits(0b11, 2);
        w.write_bits(u64::from(lead), 5);
        w.write_bits(u64::from(64 - lead - trail), 6);
        w.write_bits(x >> trail, 64 - lead - trail);
        let mut out = Vec::new();
        decode_prometheus_xor(w.bytes(), &mut out).unwrap();
        assert_eq!(
            out,
            vec![
                Sample::new(1000, 1.0),
                Sample::new(16_000, 1.0),
                Sample::new(31_005, 2.0)
            ]
        );
        assert!(decode_prometheus_xor(&w.bytes()[..10], &mut Vec::new()).is_err());
    }
}
