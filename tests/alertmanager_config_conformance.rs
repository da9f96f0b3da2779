//! Alertmanager's own configuration and routing test data (`../shared/conformance/alertmanager/`,
//! see its SOURCE.txt): `config/EXPECTED.yaml` (each file loads, or fails with upstream's
//! message), `amtool-routing/EXPECTED.yaml` (receivers an alert reaches; check-config
//! verdicts) and the documented examples. Files whose receivers bongsu does not deliver to
//! yet are listed below and must fail with exactly that "not supported" error. Skipped, with
//! a message, when the data folder is absent.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use bongsu_alertmanager::config::{Config, SecretUrl, DEFAULT_SLACK_APP_URL};
use bongsu_alertmanager::notify::email::EmailConfig;
use bongsu_alertmanager::notify::opsgenie::OpsgenieConfig;
use bongsu_alertmanager::notify::pagerduty::PagerdutyConfig;
use bongsu_alertmanager::notify::pushover::PushoverConfig;
use bongsu_alertmanager::notify::slack::SlackConfig;
use bongsu_alertmanager::notify::telegram::TelegramConfig;
use bongsu_alertmanager::notify::victorops::VictoropsConfig;
use bongsu_alertmanager::route::Route;

/// Files that use a receiver kind or feature bongsu refuses as unsupported at load time. A
/// listed `ok` file must fail as unsupported; a listed `fail` file may fail as unsupported
/// instead of with upstream's message (its check lives in the unsupported notifier).
const UNSUPPORTED: &[(&str, &str)] = &[
    (
        "conf.opsgenie-default-apikey-old-team.yml",
        "opsgenie_configs",
    ),
    ("conf.sns-invalid.yml", "sns_configs"),
    ("conf.sns-topic-arn.yml", "sns_configs"),
    ("conf.wechat-default-api-secret-file.yml", "wechat_configs"),
    ("conf.wechat-no-api-secret.yml", "wechat_configs"),
    ("simple.yml", "tracing"),
];

fn data_dir() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/conformance/alertmanager");
    dir.is_dir().then_some(dir)
}

#[derive(serde::Deserialize)]
struct ConfigCase {
    file: String,
    expect: String,
    #[serde(default)]
    error_equals: Option<String>,
    #[serde(default)]
    error_contains: Option<String>,
}

fn listed(name: &str) -> bool {
    UNSUPPORTED.iter().any(|(f, _)| *f == name)
}

/// Checks one file against its expectation; `Err` describes a disagreement.
fn check(path: &Path, case: &ConfigCase) -> Result<(), String> {
    let result = Config::load_file(path);
    let name = case.file.as_str();
    match (case.expect.as_str(), &result) {
        (_, Err(e)) if listed(name) && e.is_unsupported() => Ok(()),
        ("ok", Ok(_)) if listed(name) => Err("loads: remove it from UNSUPPORTED".into()),
        ("ok", Ok(_)) => Ok(()),
        ("ok", Err(e)) => Err(format!("should load, got: {e}")),
        ("fail", Ok(_)) => Err("should fail, but loads".into()),
        ("fail", Err(e)) => {
            let msg = e.to_string();
            if let Some(want) = &case.error_equals {
                if &msg != want {
                    return Err(format!("error {msg:?}, want {want:?}"));
                }
            }
            if let Some(want) = &case.error_contains {
                if !msg.contains(want.as_str()) {
                    return Err(format!("error {msg:?} does not contain {want:?}"));
                }
            }
            Ok(())
        }
        (other, _) => Err(format!("unknown expectation {other:?}")),
    }
}

#[test]
fn alertmanager_config_test_files() {
    let Some(dir) = data_dir() else {
        println!("skipped: ../shared/conformance/alertmanager not found");
        return;
    };
    let text = std::fs::read_to_string(dir.join("config/EXPECTED.yaml")).unwrap();
    let cases: Vec<ConfigCase> = serde_yaml_ng::from_str(&text).unwrap();
    assert!(cases.len() >= 40, "EXPECTED.yaml has {} cases", cases.len());
    let mut failures = Vec::new();
    let mut unsupported = 0;
    for case in &cases {
        let path = dir.join("config").join(&case.file);
        if let Err(why) = check(&path, case) {
            failures.push(format!("{}: {why}", case.file));
        }
        if matches!(Config::load_file(&path), Err(e) if e.is_unsupported()) {
            unsupported += 1;
        }
    }
    println!(
        "{} cases, {} agree with upstream, {unsupported} refused as unsupported",
        cases.len(),
        cases.len() - failures.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn documented_examples() {
    let Some(dir) = data_dir() else {
        println!("skipped: ../shared/conformance/alertmanager not found");
        return;
    };
    for name in ["route_labels.yml", "simple.yml"] {
        let case = ConfigCase {
            file: name.to_string(),
            expect: "ok".to_string(),
            error_equals: None,
            error_contains: None,
        };
        if let Err(why) = check(&dir.join("examples").join(name), &case) {
            panic!("{name}: {why}");
        }
    }
}

#[derive(serde::Deserialize)]
struct RoutingCase {
    config_file: String,
    alert: BTreeMap<String, String>,
    expected_receivers: Vec<String>,
}

#[derive(serde::Deserialize)]
struct CheckCase {
    file: String,
    expect: String,
}

#[derive(serde::Deserialize)]
struct RoutingExpected {
    routing: Vec<RoutingCase>,
    check_config: Vec<CheckCase>,
}

fn routing_expected(dir: &Path) -> RoutingExpected {
    let text = std::fs::read_to_string(dir.join("amtool-routing/EXPECTED.yaml")).unwrap();
    serde_yaml_ng::from_str(&text).unwrap()
}

#[test]
fn amtool_routing_cases() {
    let Some(dir) = data_dir() else {
        println!("skipped: ../shared/conformance/alertmanager not found");
        return;
    };
    let expected = routing_expected(&dir);
    assert!(!expected.routing.is_empty());
    for case in &expected.routing {
        let cfg = Config::load_file(&dir.join("amtool-routing").join(&case.config_file))
            .unwrap_or_else(|e| panic!("{}: {e}", case.config_file));
        let tree = Route::new(&cfg.route);
        let got: Vec<&str> = tree
            .match_labels(&case.alert)
            .iter()
            .map(|r| r.opts.receiver.as_str())
            .collect();
        assert_eq!(
            got, case.expected_receivers,
            "{} {:?}",
            case.config_file, case.alert
        );
    }
}

/// `bongsu check alertmanager-config` agrees with amtool's verdicts and prints its report.
#[test]
fn check_alertmanager_config_command() {
    let Some(dir) = data_dir() else {
        println!("skipped: ../shared/conformance/alertmanager not found");
        return;
    };
    let expected = routing_expected(&dir);
    for case in &expected.check_config {
        let path = dir.join("amtool-routing").join(&case.file);
        let out = Command::new(env!("CARGO_BIN_EXE_bongsu"))
            .args(["check", "alertmanager-config"])
            .arg(&path)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        let first = stdout.lines().next().unwrap_or("");
        assert!(
            first.starts_with(&format!("Checking '{}'", path.display())),
            "{stdout}"
        );
        match case.expect.as_str() {
            "ok" => {
                assert!(out.status.success(), "{}: {stdout}", case.file);
                assert!(first.ends_with("  SUCCESS"), "{stdout}");
                assert!(
                    stdout.contains("Found:\n - global config\n - route\n"),
                    "{stdout}"
                );
            }
            _ => {
                assert!(!out.status.success(), "{}: {stdout}", case.file);
                assert!(first.contains("  FAILED: "), "{stdout}");
            }
        }
    }
}

/// Values resolved from `global` that upstream's config tests check on these files.
#[test]
fn resolved_values_of_upstream_test_files() {
    let Some(dir) = data_dir() else {
        println!("skipped: ../shared/conformance/alertmanager not found");
        return;
    };
    let load = |name: &str| {
        Config::load_file(&dir.join("config").join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
    };
    let url = |u: &Option<SecretUrl>| {
        u.as_ref()
            .and_then(SecretUrl::expose)
            .map(|u| u.to_string())
    };

    let c = load("conf.slack-default-app-token.yml");
    let s = c.receivers[0].configs::<SlackConfig>();
    let bearer = |i: usize| {
        let a = s[i]
            .http_config
            .authorization
            .as_ref()
            .expect("authorization");
        (a.kind.clone(), a.credentials.expose().to_string())
    };
    assert_eq!(s[0].app_token.expose(), "xoxb-1234-abcdefgh");
    assert_eq!(url(&s[0].api_url).as_deref(), Some(DEFAULT_SLACK_APP_URL));
    assert_eq!(bearer(0), ("Bearer".into(), "xoxb-1234-abcdefgh".into()));
    assert_eq!(bearer(1), ("Bearer".into(), "xoxb-1234-xxxxxx".into()));
    assert_eq!(
        s[2].app_url.as_ref().map(|u| u.to_string()).as_deref(),
        Some("http://api.fakeslack.example/")
    );
    assert_eq!(
        s[3].app_token.expose(),
        "",
        "own authorization: no global token"
    );
    assert_eq!(bearer(3), ("Bearer".into(), "xoxb-my-bot-token".into()));
    assert_eq!(
        url(&s[4].api_url).as_deref(),
        Some("https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX")
    );
    assert!(s[4].api_url_file.is_none());

    let c = load("conf.slack-default-api-url-file.yml");
    let s = c.receivers[0].configs::<SlackConfig>();
    assert_eq!(
        s[0].api_url_file.as_deref(),
        Some(Path::new("/global_file"))
    );
    assert!(s[0].api_url.is_none());
    assert_eq!(
        s[1].api_url_file.as_deref(),
        Some(Path::new("/override_file"))
    );
    assert_eq!(
        url(&s[2].api_url).as_deref(),
        Some("http://mysecret.example.com/")
    );
    assert!(s[2].api_url_file.is_none());

    let c = load("conf.telegram-default-bot-token.yml");
    assert_eq!(
        c.receivers[0].configs::<TelegramConfig>()[0]
            .bot_token
            .expose(),
        c.global.telegram_bot_token.expose()
    );
    assert_eq!(
        c.receivers[1].configs::<TelegramConfig>()[0]
            .bot_token
            .expose(),
        "qwe456"
    );
    let c = load("conf.telegram-default-bot-token-file.yml");
    assert_eq!(
        c.receivers[0].configs::<TelegramConfig>()[0].bot_token_file,
        c.global.telegram_bot_token_file
    );
    assert_eq!(
        c.receivers[1].configs::<TelegramConfig>()[0]
            .bot_token_file
            .as_deref(),
        Some(Path::new("/override_file"))
    );

    let c = load("conf.good.yml");
    let pager = &c.receivers[1].configs::<PagerdutyConfig>()[0];
    assert_eq!(pager.routing_key.expose(), "mysecret");
    assert_eq!(
        pager.url.as_ref().map(|u| u.to_string()).as_deref(),
        Some("https://events.pagerduty.com/v2/enqueue")
    );
    assert_eq!(
        c.receivers[5].configs::<VictoropsConfig>()[0].routing_key,
        "Sample_route"
    );
    assert_eq!(
        c.receivers[7].configs::<PushoverConfig>()[0].token.expose(),
        "mysecret"
    );

    let c = load("conf.opsgenie-default-apikey.yml");
    let og = |c: &Config, i: usize| c.receivers[i].configs::<OpsgenieConfig>()[0].clone();
    assert_eq!(og(&c, 0).api_key.expose(), "asd132");
    assert_eq!(og(&c, 1).api_key.expose(), "qwe456");
    assert_eq!(
        og(&c, 0).api_url.map(|u| u.to_string()).as_deref(),
        Some("https://api.opsgenie.com/")
    );
    let c = load("conf.opsgenie-default-apikey-file.yml");
    assert_eq!(
        og(&c, 0).api_key_file.as_deref(),
        Some(Path::new("/global_file"))
    );
    assert_eq!(
        og(&c, 1).api_key_file.as_deref(),
        Some(Path::new("/override_file"))
    );

    let c = load("conf.victorops-default-apikey.yml");
    let vo = |c: &Config, i: usize| c.receivers[i].configs::<VictoropsConfig>()[0].clone();
    assert_eq!(vo(&c, 0).api_key.expose(), "asd132");
    assert_eq!(vo(&c, 1).api_key.expose(), "qwe456");
    let c = load("conf.victorops-default-apikey-file.yml");
    assert_eq!(
        vo(&c, 0).api_key_file.as_deref(),
        Some(Path::new("/global_file"))
    );
    assert_eq!(
        vo(&c, 1).api_key_file.as_deref(),
        Some(Path::new("/override_file"))
    );

    let c = load("conf.smtp-password-global-and-local.yml");
    let e = c.receivers[0].configs::<EmailConfig>();
    let file = |p: &Option<PathBuf>| {
        p.as_ref()
            .map(|p| p.display().to_string())
            .unwrap_or_default()
    };
    assert_eq!(
        (file(&e[0].auth_password_file), e[0].auth_password.expose()),
        ("/tmp/globaluserpassword".into(), "")
    );
    assert_eq!(
        (file(&e[0].auth_secret_file), e[0].auth_secret.expose()),
        ("/tmp/globalusersecret".into(), "")
    );
    assert_eq!(
        (file(&e[1].auth_password_file), e[1].auth_password.expose()),
        ("/tmp/localuser1password".into(), "")
    );
    assert_eq!(
        (file(&e[2].auth_password_file), e[2].auth_password.expose()),
        (String::new(), "mysecret")
    );
    assert_eq!(
        (file(&e[3].auth_secret_file), e[3].auth_secret.expose()),
        (String::new(), "myprecious")
    );
    assert_eq!(
        (file(&e[4].auth_secret_file), e[4].auth_secret.expose()),
        ("/tmp/localuser4secret".into(), "")
    );

    let c = load("conf.http-config.good.yml");
    assert!(!c.global.http_config.follow_redirects);
    assert!(
        c.receivers[0].configs::<SlackConfig>()[0]
            .http_config
            .follow_redirects
    );

    assert!(load("conf.group-by-all.yml").route.group_by_all);

    let c = load("conf.empty-fields.yml");
    assert_eq!(
        c.global.smtp_hello, "",
        "an explicit empty value overrides the default"
    );
    assert_eq!(
        c.route.routes[0].matchers.to_string(),
        r#"{service=~"^(?:^(foo1|foo2|baz)$)$"}"#
    );
    let email = &c.receivers[0].configs::<EmailConfig>()[0];
    assert_eq!(
        (email.from.as_str(), email.require_tls),
        ("alertmanager@example.org", Some(true))
    );
}

/// Every upstream test file that loads prints (secrets hidden) to YAML that loads again and
/// prints the same.
#[test]
fn printed_test_files_load_again() {
    let Some(dir) = data_dir() else {
        println!("skipped: ../shared/conformance/alertmanager not found");
        return;
    };
    let mut checked = 0;
    for sub in ["config", "amtool-routing", "examples"] {
        for entry in std::fs::read_dir(dir.join(sub)).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_none_or(|e| e != "yml") {
                continue;
            }
            let Ok(cfg) = Config::load_file(&path) else {
                continue;
            };
            let printed = cfg.to_redacted_yaml();
            let again = Config::parse(&printed, None)
                .unwrap_or_else(|e| panic!("{}: {e}\n{printed}", path.display()));
            assert_eq!(again.to_redacted_yaml(), printed, "{}", path.display());
            checked += 1;
        }
    }
    assert!(checked >= 12, "only {checked} files loaded");
    println!("{checked} printed configurations load again");
}
