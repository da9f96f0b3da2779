//! What several targets share: WAL segments framed as the writers frame them, so the fuzzer's
//! bytes reach the record decoders behind the checksums.

/// A segment file (`docs/format/wal.md`, `logs-wal.md`): the 8-byte header, then one frame per
/// record cut from `data` as `[type][len: u16 LE][payload]…` (a short tail is taken as is), each
/// with its correct CRC32C — except where the record's type byte has its high bit set, which
/// keeps a deliberately wrong CRC so torn-record handling is reached too.
pub fn segment(magic: &[u8; 4], version: u8, mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() + 64);
    out.extend_from_slice(magic);
    out.extend_from_slice(&[version, 0, 0, 0]);
    while let Some((&rtype, rest)) = data.split_first() {
        let (len, rest) = match rest {
            [a, b, rest @ ..] => (usize::from(u16::from_le_bytes([*a, *b])), rest),
            _ => (rest.len(), &[][..]),
        };
        let (payload, rest) = rest.split_at(len.min(rest.len()));
        data = rest;
        let start = out.len();
        out.extend_from_slice(&(payload.len() as u32).to_le_bytes());
        out.extend_from_slice(&[0; 4]);
        out.push(rtype & 0x7f);
        out.extend_from_slice(payload);
        let mut crc = crc32c::crc32c(&out[start..start + 4]);
        crc = crc32c::crc32c_append(crc, &out[start + 8..]);
        if rtype & 0x80 != 0 {
            crc = !crc;
        }
        out[start + 4..start + 8].copy_from_slice(&crc.to_le_bytes());
    }
    out
}
