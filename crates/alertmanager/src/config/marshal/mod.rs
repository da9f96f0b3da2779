//! The configuration printed back as YAML, as Alertmanager serves it (`/api/v2/status`,
//! `amtool config show`): defaults and inheritance applied, keys in upstream's order with its
//! omit-empty rules, and every secret as `<secret>`. The output loads again (placeholders
//! included), though `match`/`match_re` come back as `matchers` and legacy
//! `mute_time_intervals` as `time_intervals`.
//!
//! One departure: settings that Alertmanager 0.25 does not know yet are left out while they
//! hold their default (upstream prints them), because `amtool` 0.25 (Debian's) loads the
//! printed configuration strictly in `amtool config routes`; loading fills them back in.

mod receivers;

use std::path::PathBuf;
use std::time::Duration;

use receivers::receiver;
use serde_yaml_ng::{Mapping, Value};

use bongsu_httpclient::{HttpClientConfig, Secret, TlsConfig, TlsVersion};
use bongsu_model::format_prometheus_duration;

use super::common::{HostPort, SecretUrl, Url, SECRET_TOKEN};
use super::global::DEFAULT_ROCKETCHAT_API_URL;
use super::{Config, GlobalConfig, InhibitRule, RouteConfig, DEFAULT_SLACK_APP_URL};
use crate::matcher::Matchers;
use crate::timeinterval::{InclusiveRange, TimeInterval, WEEKDAYS};

/// An ordered YAML mapping with Go's `omitempty` helpers.
#[derive(Default)]
pub(crate) struct Map(Mapping);

impl Map {
    pub(crate) fn put(&mut self, key: &str, v: impl Into<Value>) -> &mut Map {
        self.0.insert(Value::from(key), v.into());
        self
    }

    pub(crate) fn string(&mut self, key: &str, v: &str) -> &mut Map {
        if !v.is_empty() {
            self.put(key, v);
        }
        self
    }

    pub(crate) fn secret(&mut self, key: &str, v: &Secret) -> &mut Map {
        if !v.expose().is_empty() {
            self.put(key, SECRET_TOKEN);
        }
        self
    }

    pub(crate) fn secret_url(&mut self, key: &str, v: &Option<SecretUrl>) -> &mut Map {
        if v.is_some() {
            self.put(key, SECRET_TOKEN);
        }
        self
    }

    /// A URL unless it is `default` (settings newer than Alertmanager 0.25).
    pub(crate) fn url_unless(&mut self, key: &str, v: &Url, default: &str) -> &mut Map {
        if url::Url::parse(default).ok().as_ref() != Some(v.as_url()) {
            self.put(key, v.as_str());
        }
        self
    }

    /// A duration unless zero (settings newer than Alertmanager 0.25).
    pub(crate) fn duration(&mut self, key: &str, d: Duration) -> &mut Map {
        if !d.is_zero() {
            self.put(key, go_duration_text(d));
        }
        self
    }

    pub(crate) fn url(&mut self, key: &str, v: Option<&Url>) -> &mut Map {
        if let Some(u) = v {
            self.put(key, u.as_str());
        }
        self
    }

    pub(crate) fn path(&mut self, key: &str, v: &Option<PathBuf>) -> &mut Map {
        if let Some(p) = v {
            self.put(key, p.display().to_string());
        }
        self
    }

    pub(crate) fn flag(&mut self, key: &str, v: bool) -> &mut Map {
        if v {
            self.put(key, true);
        }
        self
    }

    pub(crate) fn list(&mut self, key: &str, items: Vec<Value>) -> &mut Map {
        if !items.is_empty() {
            self.put(key, Value::Sequence(items));
        }
        self
    }

    pub(crate) fn map(&mut self, key: &str, m: Map) -> &mut Map {
        if !m.0.is_empty() {
            self.put(key, Value::Mapping(m.0));
        }
        self
    }

    pub(crate) fn done(&mut self) -> Value {
        Value::Mapping(std::mem::take(&mut self.0))
    }
}

pub(crate) fn strings<'a>(items: impl IntoIterator<Item = &'a String>) -> Vec<Value> {
    items.into_iter().map(|s| Value::from(s.as_str())).collect()
}

pub(crate) fn string_map<'a>(m: impl IntoIterator<Item = (&'a String, &'a String)>) -> Map {
    let mut out = Map::default();
    for (k, v) in m {
        out.put(k, v.as_str());
    }
    out
}

/// Go's `time.Duration.String()` for whole milliseconds: `10s`, `1m30s`, `1h0m0s`, `500ms`.
pub(crate) fn go_duration_text(d: Duration) -> String {
    let ms = d.as_millis();
    if ms == 0 {
        return "0s".to_string();
    }
    if ms < 1000 {
        return format!("{ms}ms");
    }
    let (h, m) = (ms / 3_600_000, (ms / 60_000) % 60);
    let s = (ms % 60_000) as f64 / 1000.0;
    match (h, m) {
        (0, 0) => format!("{s}s"),
        (0, m) => format!("{m}m{s}s"),
        (h, m) => format!("{h}h{m}m{s}s"),
    }
}

fn tls_version(v: TlsVersion) -> &'static str {
    match v {
        TlsVersion::Tls10 => "TLS10",
        TlsVersion::Tls11 => "TLS11",
        TlsVersion::Tls12 => "TLS12",
        TlsVersion::Tls13 => "TLS13",
    }
}

pub(crate) fn tls(t: &TlsConfig) -> Map {
    let mut m = Map::default();
    m.string("ca", &t.ca)
        .string("cert", &t.cert)
        .secret("key", &t.key)
        .path("ca_file", &t.ca_file)
        .path("cert_file", &t.cert_file)
        .path("key_file", &t.key_file)
        .string("server_name", &t.server_name)
        .put("insecure_skip_verify", t.insecure_skip_verify);
    if let Some(v) = t.min_version {
        m.put("min_version", tls_version(v));
    }
    if let Some(v) = t.max_version {
        m.put("max_version", tls_version(v));
    }
    m
}

pub(crate) fn http(h: &HttpClientConfig) -> Value {
    let mut m = Map::default();
    if let Some(b) = &h.basic_auth {
        let mut a = Map::default();
        a.string("username", &b.username)
            .secret("password", &b.password)
            .path("username_file", &b.username_file)
            .path("password_file", &b.password_file);
        m.map("basic_auth", a);
    }
    if let Some(a) = &h.authorization {
        let mut auth = Map::default();
        auth.string("type", &a.kind)
            .secret("credentials", &a.credentials)
            .path("credentials_file", &a.credentials_file);
        m.map("authorization", auth);
    }
    let t = tls(&h.tls_config);
    if t.0.len() > 1 || h.tls_config.insecure_skip_verify {
        m.map("tls_config", t);
    }
    m.put("follow_redirects", h.follow_redirects)
        .put("enable_http2", h.enable_http2);
    if let Some(p) = &h.proxy_url {
        m.put("proxy_url", &*bongsu_httpclient::redact_url(p));
    }
    if let Some(p) = &h.no_proxy {
        m.put("no_proxy", p.as_str());
    }
    m.flag("proxy_from_environment", h.proxy_from_environment);
    let mut connect = Map::default();
    for (name, values) in &h.proxy_connect_header {
        connect.put(
            name,
            Value::Sequence(values.iter().map(|_| Value::from(SECRET_TOKEN)).collect()),
        );
    }
    m.map("proxy_connect_header", connect);
    let mut headers = Map::default();
    for (name, hv) in &h.http_headers {
        let mut one = Map::default();
        one.list("values", strings(&hv.values))
            .list(
                "secrets",
                hv.secrets
                    .iter()
                    .map(|_| Value::from(SECRET_TOKEN))
                    .collect(),
            )
            .list(
                "files",
                hv.files
                    .iter()
                    .map(|f| Value::from(f.display().to_string()))
                    .collect(),
            );
        headers.map(name, one);
    }
    m.map("http_headers", headers);
    m.done()
}

pub(crate) fn host_port(m: &mut Map, key: &str, hp: &HostPort) {
    if !hp.is_empty() {
        m.put(key, hp.to_string());
    }
}

fn global(g: &GlobalConfig) -> Value {
    let mut m = Map::default();
    m.put(
        "resolve_timeout",
        format_prometheus_duration(g.resolve_timeout),
    )
    .put("http_config", http(&g.http_config))
    .url("jira_api_url", g.jira_api_url.as_ref())
    .string("smtp_from", &g.smtp_from)
    // Printed even when empty (upstream omits it), or reloading would bring back the
    // default.
    .put("smtp_hello", g.smtp_hello.as_str());
    host_port(&mut m, "smtp_smarthost", &g.smtp_smarthost);
    m.string("smtp_auth_username", &g.smtp_auth_username)
        .secret("smtp_auth_password", &g.smtp_auth_password)
        .path("smtp_auth_password_file", &g.smtp_auth_password_file)
        .secret("smtp_auth_secret", &g.smtp_auth_secret)
        .path("smtp_auth_secret_file", &g.smtp_auth_secret_file)
        .string("smtp_auth_identity", &g.smtp_auth_identity)
        .put("smtp_require_tls", g.smtp_require_tls);
    let smtp_tls = tls(&g.smtp_tls_config);
    if smtp_tls.0.len() > 1 || g.smtp_tls_config.insecure_skip_verify {
        m.put("smtp_tls_config", Value::Mapping(smtp_tls.0));
    }
    if let Some(v) = g.smtp_force_implicit_tls {
        m.put("smtp_force_implicit_tls", v);
    }
    // The old bot-token workaround sets the public app URL here; printed in clear, it keeps
    // the printed file loadable (a placeholder would conflict with `slack_app_token`).
    let api_url_is_app_url = g
        .slack_api_url
        .as_ref()
        .and_then(SecretUrl::expose)
        .is_some_and(|u| u == &g.slack_app_url);
    if api_url_is_app_url {
        m.url("slack_api_url", Some(&g.slack_app_url));
    } else {
        m.secret_url("slack_api_url", &g.slack_api_url);
    }
    m.path("slack_api_url_file", &g.slack_api_url_file)
        .secret("slack_app_token", &g.slack_app_token)
        .path("slack_app_token_file", &g.slack_app_token_file)
        .url_unless("slack_app_url", &g.slack_app_url, DEFAULT_SLACK_APP_URL)
        .url("pagerduty_url", Some(&g.pagerduty_url))
        .url("opsgenie_api_url", Some(&g.opsgenie_api_url))
        .secret("opsgenie_api_key", &g.opsgenie_api_key)
        .path("opsgenie_api_key_file", &g.opsgenie_api_key_file)
        .url("wechat_api_url", Some(&g.wechat_api_url))
        .secret("wechat_api_secret", &g.wechat_api_secret)
        .path("wechat_api_secret_file", &g.wechat_api_secret_file)
        .string("wechat_api_corp_id", &g.wechat_api_corp_id)
        .url("victorops_api_url", Some(&g.victorops_api_url))
        .secret("victorops_api_key", &g.victorops_api_key)
        .path("victorops_api_key_file", &g.victorops_api_key_file)
        .url("telegram_api_url", Some(&g.telegram_api_url))
        .secret("telegram_bot_token", &g.telegram_bot_token)
        .path("telegram_bot_token_file", &g.telegram_bot_token_file)
        .url("webex_api_url", Some(&g.webex_api_url))
        .url_unless(
            "rocketchat_api_url",
            &g.rocketchat_api_url,
            DEFAULT_ROCKETCHAT_API_URL,
        );
    if g.rocketchat_token.is_some() {
        m.put("rocketchat_token", SECRET_TOKEN);
    }
    m.path("rocketchat_token_file", &g.rocketchat_token_file);
    if g.rocketchat_token_id.is_some() {
        m.put("rocketchat_token_id", SECRET_TOKEN);
    }
    m.path("rocketchat_token_id_file", &g.rocketchat_token_id_file)
        .secret_url("mattermost_webhook_url", &g.mattermost_webhook_url)
        .path(
            "mattermost_webhook_url_file",
            &g.mattermost_webhook_url_file,
        );
    m.done()
}

fn matchers(ms: &Matchers) -> Vec<Value> {
    ms.iter().map(|m| Value::from(m.to_string())).collect()
}

fn route(r: &RouteConfig) -> Value {
    let mut m = Map::default();
    m.string("receiver", &r.receiver);
    if r.group_by_all {
        m.put("group_by", vec![Value::from("...")]);
    } else if let Some(names) = &r.group_by {
        // Printed even when empty (upstream omits it): `[]` overrides the parent's list.
        m.put("group_by", Value::Sequence(strings(names)));
    }
    m.list("matchers", matchers(&r.matchers))
        .list("mute_time_intervals", strings(&r.mute_time_intervals))
        .list("active_time_intervals", strings(&r.active_time_intervals))
        .put("continue", r.continue_matching)
        .list("routes", r.routes.iter().map(route).collect());
    for (key, d) in [
        ("group_wait", r.group_wait),
        ("group_interval", r.group_interval),
        ("repeat_interval", r.repeat_interval),
    ] {
        if let Some(d) = d {
            m.put(key, format_prometheus_duration(d));
        }
    }
    m.map("labels", string_map(&r.labels));
    m.done()
}

fn inhibit_rule(r: &InhibitRule) -> Value {
    let mut m = Map::default();
    m.string("name", &r.name)
        .list("source_matchers", matchers(&r.source_matchers))
        .list("target_matchers", matchers(&r.target_matchers))
        .list("equal", strings(&r.equal));
    m.done()
}

fn range_text(r: &InclusiveRange, name: impl Fn(i32) -> String) -> Value {
    if r.begin == r.end {
        Value::from(name(r.begin))
    } else {
        Value::from(format!("{}:{}", name(r.begin), name(r.end)))
    }
}

fn time_interval(ti: &TimeInterval) -> Value {
    let number = |n: i32| n.to_string();
    let weekday = |n: i32| WEEKDAYS.get(n as usize).copied().unwrap_or("").to_string();
    let ranges = |rs: &Option<Vec<InclusiveRange>>, f: &dyn Fn(i32) -> String| {
        rs.iter()
            .flatten()
            .map(|r| range_text(r, f))
            .collect::<Vec<_>>()
    };
    let mut m = Map::default();
    let times = ti
        .times
        .iter()
        .flatten()
        .map(|t| {
            let hm = |x: i32| format!("{:02}:{:02}", x / 60, x % 60);
            let mut tm = Map::default();
            tm.put("start_time", hm(t.start_minute))
                .put("end_time", hm(t.end_minute));
            tm.done()
        })
        .collect();
    m.list("times", times)
        .list("weekdays", ranges(&ti.weekdays, &weekday))
        .list("days_of_month", ranges(&ti.days_of_month, &number))
        .list("months", ranges(&ti.months, &number))
        .list("years", ranges(&ti.years, &number));
    if let Some((name, _)) = &ti.location {
        m.put("location", name.as_str());
    }
    m.done()
}

impl Config {
    /// The configuration as YAML with every secret shown as `<secret>`.
    pub fn to_redacted_yaml(&self) -> String {
        let mut m = Map::default();
        m.put("global", global(&self.global))
            .put("route", route(&self.route))
            .list(
                "inhibit_rules",
                self.inhibit_rules.iter().map(inhibit_rule).collect(),
            )
            .list("receivers", self.receivers.iter().map(receiver).collect())
            .put("templates", Value::Sequence(strings(&self.templates)));
        let intervals = self
            .time_intervals
            .iter()
            .map(|(name, tis)| {
                let mut im = Map::default();
                im.put("name", name.as_str()).put(
                    "time_intervals",
                    Value::Sequence(tis.iter().map(time_interval).collect()),
                );
                im.done()
            })
            .collect();
        m.list("time_intervals", intervals);
        serde_yaml_ng::to_string(&m.done())
            .unwrap_or_else(|e| format!("<error printing the configuration: {e}>"))
    }
}
