use super::*;

fn write(path: &Path, bytes: &[u8]) {
    std::fs::write(path, bytes).unwrap();
}

fn load_err(path: &Path, kind: Kind) -> SnapshotError {
    load::<Vec<u32>>(path, kind).unwrap_err()
}

#[test]
fn round_trip_with_header() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("silences");
    assert_eq!(load::<Vec<u32>>(&path, Kind::Silences).unwrap(), None);
    store(&path, Kind::Silences, &[1u32, 2, 3][..]).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    assert_eq!(&bytes[..8], b"BSSL\x01\0\0\0");
    assert_eq!(&bytes[8..16], &7u64.to_le_bytes(), "payload `[1,2,3]`");
    assert_eq!(&bytes[HEADER_LEN..], b"[1,2,3]");
    assert_eq!(
        load::<Vec<u32>>(&path, Kind::Silences).unwrap(),
        Some(vec![1, 2, 3])
    );
    assert!(!dir.path().join("silences.tmp").exists());
    store(&path, Kind::Silences, &[4u32][..]).unwrap();
    assert_eq!(
        load::<Vec<u32>>(&path, Kind::Silences).unwrap(),
        Some(vec![4])
    );
}

#[test]
fn version_0_files_load() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nflog");
    write(&path, b"[5,6]");
    assert_eq!(
        load::<Vec<u32>>(&path, Kind::NotificationLog).unwrap(),
        Some(vec![5, 6])
    );
    write(&path, b" \n[]");
    assert_eq!(
        load::<Vec<u32>>(&path, Kind::NotificationLog).unwrap(),
        Some(vec![])
    );
}

#[test]
fn newer_versions_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("silences");
    // Only the magic and the version are read from a newer file: its header may differ.
    write(&path, b"BSSL\x02 and whatever version 2 holds");
    let e = load_err(&path, Kind::Silences);
    assert!(
        matches!(e, SnapshotError::UnsupportedVersion { version: 2, .. }),
        "{e:?}"
    );
    assert_eq!(
        e.to_string(),
        format!(
            "{}: silences snapshot format version 2 is newer than this bongsu reads (version 1); \
             run a newer bongsu or move the file away",
            path.display()
        )
    );
    assert_eq!(
        std::fs::read(&path).unwrap(),
        b"BSSL\x02 and whatever version 2 holds",
        "the file is left as it was"
    );
}

#[test]
fn damage_is_reported_as_corruption() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("silences");
    store(&path, Kind::Silences, &[1u32, 2, 3][..]).unwrap();
    let good = std::fs::read(&path).unwrap();
    let reason = |bytes: &[u8], kind: Kind| {
        write(&path, bytes);
        match load_err(&path, kind) {
            SnapshotError::Corrupt { reason, .. } => reason,
            e => panic!("not corruption: {e:?}"),
        }
    };
    let mut flipped = good.clone();
    *flipped.last_mut().unwrap() = b'}';
    assert_eq!(
        reason(&flipped, Kind::Silences),
        "payload checksum mismatch"
    );
    assert_eq!(
        reason(&good[..good.len() - 1], Kind::Silences),
        "the header gives 7 payload bytes, the file has 6"
    );
    assert_eq!(
        reason(&[&good[..], b"x"].concat(), Kind::Silences),
        "the header gives 7 payload bytes, the file has 8"
    );
    assert_eq!(
        reason(&good[..20], Kind::Silences),
        "20 bytes, shorter than the header"
    );
    assert_eq!(
        reason(b"BSSL", Kind::Silences),
        "4 bytes, shorter than the header"
    );
    assert_eq!(
        reason(b"BSSL\x00", Kind::Silences),
        "version 0 in a header (version 0 has none)"
    );
    assert_eq!(
        reason(&good, Kind::NotificationLog),
        "the file holds a silences snapshot"
    );
    for junk in [&b""[..], b"{}", b"\0\0\0\0"] {
        assert_eq!(
            reason(junk, Kind::Silences),
            "neither a bongsu snapshot header nor a version-0 JSON array"
        );
    }
    assert_eq!(
        load_err(&path, Kind::Silences).to_string(),
        format!(
            "{}: corrupt silences snapshot: neither a bongsu snapshot header nor a version-0 \
             JSON array",
            path.display()
        )
    );
    write(&path, b"[1,");
    assert!(matches!(
        load_err(&path, Kind::Silences),
        SnapshotError::Decode { .. }
    ));
}
