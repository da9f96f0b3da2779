use super::*;

fn parse(yaml: &str) -> Result<TimeInterval, String> {
    let raw: RawTimeInterval = serde_yaml_ng::from_str(yaml).map_err(|e| e.to_string())?;
    TimeInterval::try_from(raw)
}

fn at(s: &str) -> Timestamp {
    s.parse().unwrap()
}

#[test]
fn business_hours_in_a_location() {
    let ti = parse(
        "times: [{start_time: '09:00', end_time: '17:00'}]\n\
         weekdays: ['monday:friday']\n\
         location: Europe/Berlin\n",
    )
    .unwrap();
    // 2024-03-04 is a Monday; Berlin is UTC+1 in March before DST.
    assert!(ti.contains(at("2024-03-04T08:00:00Z")), "09:00 local");
    assert!(!ti.contains(at("2024-03-04T07:59:00Z")), "08:59 local");
    assert!(
        !ti.contains(at("2024-03-04T16:00:00Z")),
        "17:00 local is excluded"
    );
    assert!(!ti.contains(at("2024-03-09T10:00:00Z")), "Saturday");
}

#[test]
fn negative_days_of_month() {
    let ti = parse("days_of_month: ['-3:-1']").unwrap();
    assert!(
        ti.contains(at("2024-02-27T12:00:00Z")),
        "leap February: 27..29"
    );
    assert!(!ti.contains(at("2024-02-26T12:00:00Z")));
    assert!(ti.contains(at("2023-02-26T12:00:00Z")), "26..28");
    assert!(ti.contains(at("2024-01-31T00:00:00Z")));
    let late = parse("days_of_month: ['30:31']").unwrap();
    assert!(
        !late.contains(at("2023-02-28T00:00:00Z")),
        "February has no 30th"
    );
    assert!(late.contains(at("2023-03-31T00:00:00Z")));
    let mixed = parse("days_of_month: ['1:-1']").unwrap();
    assert!(mixed.contains(at("2023-04-30T00:00:00Z")));
}

#[test]
fn months_years_and_names() {
    let ti = parse("months: ['January:March', 'december']\nyears: ['2020:2022', 2024]").unwrap();
    assert!(ti.contains(at("2021-02-01T00:00:00Z")));
    assert!(ti.contains(at("2024-12-25T00:00:00Z")));
    assert!(!ti.contains(at("2023-01-01T00:00:00Z")), "year");
    assert!(!ti.contains(at("2021-04-01T00:00:00Z")), "month");
    let numeric = parse("months: ['1:3']").unwrap();
    assert_eq!(
        numeric.months.unwrap()[0],
        InclusiveRange { begin: 1, end: 3 }
    );
    assert!(parse("{}").unwrap().contains(at("2000-01-01T00:00:00Z")));
}

#[test]
fn upstream_validation_messages() {
    let cases = [
        (
            "weekdays: ['friday:monday']",
            "start day cannot be before end day",
        ),
        (
            "weekdays: ['blurgsday']",
            "blurgsday is not a valid weekday",
        ),
        (
            "days_of_month: ['0']",
            "0 is not a valid day of the month: out of range",
        ),
        (
            "days_of_month: ['-5:3']",
            "end day must be negative if start day is negative",
        ),
        (
            "days_of_month: ['10:5']",
            "end day 5 is always before start day 10",
        ),
        (
            "months: ['march:january']",
            "end month january is before start month march",
        ),
        ("months: ['smarch']", "smarch is not a valid month"),
        (
            "years: ['2022:2020']",
            "end year 2020 is before start year 2022",
        ),
        (
            "years: ['1:2:3']",
            "couldn't parse range 1:2:3, invalid format",
        ),
        (
            "times: [{start_time: '10:00', end_time: '09:00'}]",
            "start time cannot be equal or greater than end time",
        ),
        (
            "times: [{start_time: '10:00'}]",
            "both start and end times must be provided",
        ),
        (
            "times: [{start_time: '24:01', end_time: '25:00'}]",
            "couldn't parse timestamp 24:01, invalid format",
        ),
        ("location: Mars/Olympus", "unknown time zone Mars/Olympus"),
    ];
    for (yaml, want) in cases {
        assert_eq!(parse(yaml).unwrap_err(), want, "{yaml}");
    }
    assert!(parse("times: [{start_time: '00:00', end_time: '24:00'}]").is_ok());
}

#[test]
fn containing_names() {
    let mut known = BTreeMap::new();
    known.insert(
        "weekends".to_string(),
        vec![parse("weekdays: [saturday, sunday]").unwrap()],
    );
    known.insert(
        "nights".to_string(),
        vec![parse("times: [{start_time: '22:00', end_time: '24:00'}]").unwrap()],
    );
    let names = vec!["nights".to_string(), "weekends".to_string()];
    let saturday_night = at("2024-03-09T23:00:00Z");
    assert_eq!(
        containing(&known, &names, saturday_night).unwrap(),
        ["nights", "weekends"]
    );
    assert!(containing(&known, &names, at("2024-03-05T12:00:00Z"))
        .unwrap()
        .is_empty());
    assert_eq!(
        containing(&known, &["x".to_string()], saturday_night).unwrap_err(),
        "time interval x doesn't exist in config"
    );
}
