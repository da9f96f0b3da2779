use super::*;

fn meta(sref: u32, max_time: i64) -> ChunkMeta {
    ChunkMeta {
        sref,
        min_time: max_time - 5,
        max_time,
        encoding: 1,
    }
}

#[test]
fn write_read_truncate() {
    let dir = tempfile::tempdir().unwrap();
    let (d, loaded) = ChunkDisk::open(&dir.path().join("chunks_head")).unwrap();
    assert!(loaded.is_empty());
    let a = d.write(meta(1, 10), b"abc").unwrap();
    let b = d.write(meta(2, 20), b"defg").unwrap();
    assert_eq!(d.with_chunk(a, |b| b.to_vec()).unwrap(), b"abc");
    assert_eq!(d.with_chunk(b, |b| b.to_vec()).unwrap(), b"defg");
    assert!(d.with_chunk(a + 1, |_| ()).is_err());
    // The file being written is never deleted.
    d.truncate(100).unwrap();
    assert!(d.with_chunk(a, |_| ()).is_ok());
}

#[test]
fn reopen_gives_chunks_back_and_writes_a_new_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("chunks_head");
    let (d, _) = ChunkDisk::open(&path).unwrap();
    let a = d.write(meta(7, 10), b"abc").unwrap();
    let b = d.write(meta(7, 20), b"de").unwrap();
    let c = d.write(meta(9, 15), b"f").unwrap();
    drop(d);
    let (d, loaded) = ChunkDisk::open(&path).unwrap();
    let got = |sref: u32| {
        loaded[&sref]
            .iter()
            .map(|c| (c.max_time, c.r))
            .collect::<Vec<_>>()
    };
    assert_eq!(got(7), vec![(10, a), (20, b)]);
    assert_eq!(got(9), vec![(15, c)]);
    assert_eq!(loaded[&7][0].min_time, 5);
    assert_eq!(d.with_chunk(b, |b| b.to_vec()).unwrap(), b"de");
    let n = d.write(meta(9, 30), b"gh").unwrap();
    assert_eq!(n >> 32, 2, "a new file after the last");
    assert_eq!(file_indexes(&path).unwrap(), vec![1, 2]);
}

#[test]
fn damage_cuts_the_file_and_drops_later_ones() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("chunks_head");
    let (d, _) = ChunkDisk::open(&path).unwrap();
    d.write(meta(1, 10), b"abc").unwrap();
    let b = d.write(meta(1, 20), b"def").unwrap();
    drop(d);
    // A second file, then a flipped bit in the first file's second record.
    let (d, _) = ChunkDisk::open(&path).unwrap();
    d.write(meta(1, 30), b"ghi").unwrap();
    drop(d);
    let first = path_of(&path, 1);
    let f = OpenOptions::new().write(true).open(&first).unwrap();
    f.write_all_at(b"X", (b & 0xffff_ffff) + RECORD_HEADER + 1)
        .unwrap();
    let (_, loaded) = ChunkDisk::open(&path).unwrap();
    assert_eq!(loaded[&1].len(), 1);
    assert_eq!(loaded[&1][0].max_time, 10);
    assert_eq!(file_indexes(&path).unwrap(), vec![1]);
    assert_eq!(fs::metadata(&first).unwrap().len(), b & 0xffff_ffff);
    // Reopening finds the cut file clean.
    let (_, loaded) = ChunkDisk::open(&path).unwrap();
    assert_eq!(loaded[&1].len(), 1);
}

#[test]
fn chunks_before_the_recorded_min_time_are_ignored() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("chunks_head");
    let (d, _) = ChunkDisk::open(&path).unwrap();
    d.write(meta(1, 10), b"abc").unwrap();
    d.write(meta(1, 20), b"def").unwrap();
    d.truncate(15).unwrap();
    d.truncate(12).unwrap();
    drop(d);
    let (d, loaded) = ChunkDisk::open(&path).unwrap();
    assert_eq!(loaded[&1].len(), 1);
    assert_eq!(loaded[&1][0].max_time, 20);
    drop(d);
    // A damaged min_time drops every file.
    fs::write(path.join(MIN_TIME_FILE), b"garbage").unwrap();
    let (_, loaded) = ChunkDisk::open(&path).unwrap();
    assert!(loaded.is_empty());
    assert!(file_indexes(&path).unwrap().is_empty());
    assert!(!path.join(MIN_TIME_FILE).exists());
}

#[test]
fn version_1_files_are_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("chunks_head");
    fs::create_dir_all(&path).unwrap();
    let mut v1 = vec![0u8; 4096];
    v1[..5].copy_from_slice(b"BGHC\x01");
    fs::write(path_of(&path, 1), &v1).unwrap();
    fs::write(path_of(&path, 2), &v1).unwrap();
    let (_, loaded) = ChunkDisk::open(&path).unwrap();
    assert!(loaded.is_empty());
    assert!(file_indexes(&path).unwrap().is_empty());
}
