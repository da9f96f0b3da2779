use super::*;

fn clock() -> Clock {
    Clock::starting_at(Timestamp::from_second(1_000_000).unwrap())
}

fn m(name: &str, value: &str, is_regex: bool, is_equal: bool) -> SilenceMatcher {
    SilenceMatcher {
        name: name.into(),
        value: value.into(),
        is_regex,
        is_equal,
    }
}

fn sil(c: &Clock, start: i64, end: i64) -> Silence {
    let now = c.now().as_second();
    Silence {
        id: String::new(),
        matchers: vec![m("job", "api", false, true)],
        starts_at: Timestamp::from_second(now + start).unwrap(),
        ends_at: Timestamp::from_second(now + end).unwrap(),
        updated_at: Timestamp::UNIX_EPOCH,
        created_by: "me".into(),
        comment: "c".into(),
        annotations: LabelSet::new(),
    }
}

fn labels(pairs: &[(&str, &str)]) -> LabelSet {
    pairs
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

#[tokio::test(start_paused = true)]
async fn matchers_and_states() {
    let c = clock();
    let s = Silences::open(None, DEFAULT_RETENTION, c).unwrap();
    let mut x = sil(&c, -10, 3600);
    x.matchers = vec![
        m("job", "api|web", true, true),
        m("env", "dev", false, false),
        m("instance", "db.*", true, false),
    ];
    let id = s.set(x).unwrap();
    assert_eq!(id.len(), 36);
    assert_eq!(
        s.mutes(&labels(&[("job", "web"), ("env", "prod")])),
        vec![id.clone()]
    );
    assert!(s
        .mutes(&labels(&[("job", "web"), ("env", "dev")]))
        .is_empty());
    assert!(s
        .mutes(&labels(&[("job", "web"), ("instance", "db1")]))
        .is_empty());
    assert!(s.mutes(&labels(&[("job", "webx")])).is_empty());
    let pending = s.set(sil(&c, 60, 3600)).unwrap();
    assert_eq!(
        s.get(&pending).unwrap().state(c.now()),
        SilenceState::Pending
    );
    assert!(s.mutes(&labels(&[("job", "api")])).len() == 1);
    tokio::time::advance(Duration::from_secs(61)).await;
    assert_eq!(s.mutes(&labels(&[("job", "api")])).len(), 2);
    s.expire(&pending).unwrap();
    assert_eq!(
        s.get(&pending).unwrap().state(c.now()),
        SilenceState::Expired
    );
    assert_eq!(
        s.expire(&pending),
        Err(SilenceError::AlreadyExpired(pending.clone()))
    );
    assert_eq!(s.expire("nope"), Err(SilenceError::NotFound));
}

#[tokio::test(start_paused = true)]
async fn update_rules() {
    let c = clock();
    let s = Silences::open(None, DEFAULT_RETENTION, c).unwrap();
    let id = s.set(sil(&c, -10, 3600)).unwrap();
    let stored = s.get(&id).unwrap();
    // Active: changing only the end edits in place.
    let mut upd = stored.clone();
    upd.ends_at = add(stored.ends_at, Duration::from_secs(60));
    upd.comment = "longer".into();
    assert_eq!(s.set(upd).unwrap(), id);
    assert_eq!(s.get(&id).unwrap().comment, "longer");
    // Active: changing the matchers expires the old one and creates a new one.
    let mut upd = s.get(&id).unwrap();
    upd.matchers = vec![m("job", "web", false, true)];
    let new_id = s.set(upd).unwrap();
    assert_ne!(new_id, id);
    assert_eq!(s.get(&id).unwrap().state(c.now()), SilenceState::Expired);
    // Expired: never edited in place.
    let mut upd = s.get(&id).unwrap();
    upd.ends_at = add(c.now(), Duration::from_secs(60));
    assert_ne!(s.set(upd).unwrap(), id);
    // Pending: moving the start to the future edits in place.
    let p = s.set(sil(&c, 100, 3600)).unwrap();
    let mut upd = s.get(&p).unwrap();
    upd.starts_at = add(c.now(), Duration::from_secs(200));
    assert_eq!(s.set(upd).unwrap(), p);
    let mut unknown = sil(&c, 0, 10);
    unknown.id = "missing".into();
    assert_eq!(s.set(unknown), Err(SilenceError::NotFound));
    let mut bad = sil(&c, 0, 10);
    bad.matchers.clear();
    assert_eq!(
        s.set(bad).unwrap_err().to_string(),
        "invalid silence: at least one matcher required"
    );
}

#[tokio::test(start_paused = true)]
async fn persists_and_collects_garbage() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("silences");
    let c = clock();
    let retention = Duration::from_secs(3600);
    let s = Silences::open(Some(path.clone()), retention, c).unwrap();
    let a = s.set(sil(&c, 0, 60)).unwrap();
    let b = s.set(sil(&c, 0, 7200)).unwrap();
    drop(s);
    let s = Silences::open(Some(path.clone()), retention, c).unwrap();
    assert_eq!(s.get(&a).unwrap().created_by, "me");
    assert!(s.get(&b).is_some());
    tokio::time::advance(Duration::from_secs(60 + 3601)).await;
    assert_eq!(s.gc(), 1);
    let s = Silences::open(Some(path), retention, c).unwrap();
    assert!(s.get(&a).is_none());
    assert!(s.get(&b).is_some());
}

#[tokio::test(start_paused = true)]
async fn loads_a_snapshot_from_before_versions() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("silences");
    // Byte for byte what bongsu wrote before snapshot files had a header.
    std::fs::write(
        &path,
        r#"[{"id":"4a4f5e3c-8f7e-4a0b-9c1d-2e3f4a5b6c7d","matchers":[{"name":"job","value":"api","isRegex":false,"isEqual":true}],"startsAt":"1970-01-12T13:46:40Z","endsAt":"1970-01-12T14:46:40Z","updatedAt":"1970-01-12T13:46:40Z","createdBy":"me","comment":"c","annotations":{}}]"#,
    )
    .unwrap();
    let c = clock();
    let s = Silences::open(Some(path.clone()), DEFAULT_RETENTION, c).unwrap();
    let id = "4a4f5e3c-8f7e-4a0b-9c1d-2e3f4a5b6c7d";
    assert_eq!(s.mutes(&labels(&[("job", "api")])), vec![id.to_string()]);
    // The next change writes the current version, which loads back.
    s.expire(id).unwrap();
    assert!(std::fs::read(&path).unwrap().starts_with(b"BSSL\x01"));
    let s = Silences::open(Some(path), DEFAULT_RETENTION, c).unwrap();
    assert_eq!(s.get(id).unwrap().state(c.now()), SilenceState::Expired);
}

#[tokio::test(start_paused = true)]
async fn max_silences_counts_expired_ones_and_refuses_with_upstreams_text() {
    let c = clock();
    let s = Silences::open(None, DEFAULT_RETENTION, c)
        .unwrap()
        .with_limits(SilenceLimits {
            max_silences: Some(2),
            max_silence_size_bytes: None,
        });
    let a = s.set(sil(&c, 0, 3600)).unwrap();
    let b = s.set(sil(&c, 0, 3600)).unwrap();
    s.expire(&b).unwrap();
    let err = s.set(sil(&c, 0, 3600)).unwrap_err();
    assert_eq!(err, SilenceError::TooMany { count: 2, limit: 2 });
    assert_eq!(
        err.to_string(),
        "exceeded maximum number of silences: 2 (limit: 2)"
    );
    // An edit in place needs no room; a replacement does, and a refused one leaves the old
    // silence active.
    let mut longer = s.get(&a).unwrap();
    longer.ends_at = add(longer.ends_at, Duration::from_secs(60));
    assert_eq!(s.set(longer).unwrap(), a);
    let mut other = s.get(&a).unwrap();
    other.matchers = vec![m("job", "web", false, true)];
    assert!(matches!(s.set(other), Err(SilenceError::TooMany { .. })));
    assert_eq!(s.get(&a).unwrap().state(c.now()), SilenceState::Active);
    // Room comes back when retention drops the expired one.
    tokio::time::advance(DEFAULT_RETENTION + Duration::from_secs(1)).await;
    assert_eq!(s.gc(), 1);
    s.set(sil(&c, 0, 3600)).unwrap();
}

#[tokio::test(start_paused = true)]
async fn max_silence_size_bytes_refuses_new_and_updated_silences() {
    let c = clock();
    let small = sil(&c, 0, 3600);
    let s = Silences::open(None, DEFAULT_RETENTION, c).unwrap();
    let id = s.set(small.clone()).unwrap();
    let size = serde_json::to_vec(&s.get(&id).unwrap()).unwrap().len();
    let s = Silences::open(None, DEFAULT_RETENTION, c)
        .unwrap()
        .with_limits(SilenceLimits {
            max_silences: None,
            max_silence_size_bytes: Some(size),
        });
    let id = s.set(small.clone()).unwrap();
    let mut big = small.clone();
    big.comment = "c".repeat(10);
    assert_eq!(
        s.set(big.clone()).unwrap_err().to_string(),
        format!(
            "silence exceeded maximum size: {} bytes (limit: {size} bytes)",
            size + 9
        )
    );
    big.id = id.clone();
    assert!(matches!(
        s.set(big),
        Err(SilenceError::TooLarge { limit, .. }) if limit == size
    ));
    assert_eq!(
        s.get(&id).unwrap().comment,
        "c",
        "the refused edit changed nothing"
    );
    assert_eq!(s.list().len(), 1);
}

#[tokio::test(start_paused = true)]
async fn loaded_silences_are_kept_beyond_the_limits() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("silences");
    let c = clock();
    let s = Silences::open(Some(path.clone()), DEFAULT_RETENTION, c).unwrap();
    s.set(sil(&c, 0, 3600)).unwrap();
    s.set(sil(&c, 0, 3600)).unwrap();
    let limits = SilenceLimits {
        max_silences: Some(1),
        max_silence_size_bytes: Some(1),
    };
    let s = Silences::open(Some(path), DEFAULT_RETENTION, c)
        .unwrap()
        .with_limits(limits);
    assert_eq!(s.list().len(), 2);
    assert!(matches!(
        s.set(sil(&c, 0, 3600)),
        Err(SilenceError::TooMany { count: 2, limit: 1 })
    ));
}
