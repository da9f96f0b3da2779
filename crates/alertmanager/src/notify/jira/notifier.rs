//! The Jira notifier, as upstream: one issue per alert group, found again by the label
//! `ALERT{<hash of the group key>}` through a JQL search; created while the group fires and
//! no open issue exists, updated otherwise (summary and description only where
//! `enable_update` allows), then moved with the reopen or resolve transition when its status
//! category says it must. 429 and 5xx answers are retried; a request that cannot be sent is
//! not (upstream gives up on those too).

use std::sync::Arc;

use serde::Deserialize;
use serde_json::{json, Value as Json};

use bongsu_gotmpl::alertmanager::NotificationTemplates;

use super::body::{compact_json, deep_copy, Fields};
use super::config::JiraConfig;
use crate::matcher::go_quote;
use crate::notify::retrier::{check_status, key_hash, reason_code, truncate_runes};
use crate::notify::{notification_data, Deliver, NotifyContext, NotifyError, Render};
use crate::types::Alert;

/// Jira's limits, in characters.
const MAX_SUMMARY_RUNES: usize = 255;
const MAX_DESCRIPTION_RUNES: usize = 32767;

/// Most bytes of an answer read.
const MAX_ANSWER_BYTES: usize = 4 << 20;

/// Most bytes of an answer quoted in an error.
const ERROR_BODY_LIMIT: usize = 1024;

#[derive(Deserialize, Default)]
struct SearchResult {
    #[serde(default)]
    issues: Vec<FoundIssue>,
}

#[derive(Deserialize, Default)]
struct FoundIssue {
    #[serde(default)]
    key: String,
    #[serde(default)]
    fields: Option<FoundFields>,
}

#[derive(Deserialize, Default)]
struct FoundFields {
    #[serde(default)]
    status: Option<FoundStatus>,
}

#[derive(Deserialize, Default)]
struct FoundStatus {
    #[serde(default, rename = "statusCategory")]
    category: Category,
}

#[derive(Deserialize, Default)]
struct Category {
    #[serde(default)]
    key: String,
}

#[derive(Deserialize)]
struct Transitions {
    #[serde(default)]
    transitions: Vec<Transition>,
}

#[derive(Deserialize)]
struct Transition {
    #[serde(default)]
    id: String,
    #[serde(default)]
    name: String,
}

pub struct Jira {
    conf: JiraConfig,
    client: reqwest::Client,
    templates: Arc<NotificationTemplates>,
}

fn prefixed(prefix: &str, mut e: NotifyError) -> NotifyError {
    e.message = format!("{prefix}{}", e.message);
    e
}

impl Jira {
    pub fn new(conf: JiraConfig, templates: Arc<NotificationTemplates>) -> Result<Jira, String> {
        let client = bongsu_httpclient::client(&conf.http_config, true)?;
        Ok(Jira {
            conf,
            client,
            templates,
        })
    }

    fn api_url(&self) -> Result<&url::Url, NotifyError> {
        self.conf
            .api_url
            .as_ref()
            .map(|u| u.as_url())
            .ok_or_else(|| NotifyError::permanent("no Jira API URL"))
    }

    /// `path` under the API URL's path (Go's `URL.JoinPath`).
    fn join(&self, path: &str) -> Result<String, NotifyError> {
        let mut url = self.api_url()?.clone();
        let joined = format!(
            "{}/{}",
            url.path().trim_end_matches('/'),
            path.trim_start_matches('/')
        );
        url.set_path(&joined);
        Ok(url.to_string())
    }

    /// The search endpoint: Jira Cloud's `search/jql` (under API version 3) for `cloud`, or
    /// for `auto` on an `atlassian.net` host; `search` otherwise.
    fn search_url(&self) -> Result<String, NotifyError> {
        let host = self.api_url()?.host_str().unwrap_or_default();
        let cloud = self.conf.api_type == "cloud"
            || (self.conf.api_type == "auto" && host.ends_with("atlassian.net"));
        if cloud {
            Ok(self
                .join("search/jql")?
                .replacen("/rest/api/2/", "/rest/api/3/", 1))
        } else {
            self.join("search")
        }
    }

    fn is_api_v3(&self) -> bool {
        self.api_url()
            .is_ok_and(|u| u.path().trim_end_matches('/').ends_with("/3"))
    }

    /// The search for the group's issue: not done (or, when reopening is configured while
    /// firing, resolved recently), never resolved as "won't fix".
    fn jql(&self, project: &str, group_hash: &str, firing: bool) -> String {
        let c = &self.conf;
        let mut jql = String::new();
        if !c.wont_fix_resolution.is_empty() {
            jql.push_str(&format!(
                "(resolution is EMPTY or resolution != {}) and ",
                go_quote(&c.wont_fix_resolution)
            ));
        }
        let reopen_minutes = c.reopen_duration.as_secs() / 60;
        if firing && !c.reopen_transition.is_empty() && reopen_minutes > 0 {
            jql.push_str(&format!(
                "(resolutiondate is EMPTY OR resolutiondate >= -{reopen_minutes}m) and "
            ));
        } else {
            jql.push_str("statusCategory != Done and ");
        }
        jql.push_str(&format!(
            "project={} and labels={} order by status ASC,resolutiondate DESC",
            go_quote(project),
            go_quote(&format!("ALERT{{{group_hash}}}"))
        ));
        jql
    }

    /// One API call: JSON in and out, `Accept-Language: en`, the receiver's credentials.
    async fn call(
        &self,
        method: reqwest::Method,
        url: &str,
        body: Option<Vec<u8>>,
    ) -> Result<Vec<u8>, NotifyError> {
        let mut req = self
            .client
            .request(method, url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header(reqwest::header::ACCEPT_LANGUAGE, "en")
            .header(
                reqwest::header::USER_AGENT,
                concat!("bongsu/", env!("CARGO_PKG_VERSION")),
            );
        if let Some(body) = body {
            req = req.body(body);
        }
        let req = bongsu_httpclient::with_auth(&self.conf.http_config, req)
            .map_err(|e| NotifyError::permanent(e.to_string()))?;
        let mut resp = req
            .send()
            .await
            .map_err(|e| NotifyError::permanent(e.without_url().to_string()))?;
        let status = resp.status().as_u16();
        let mut answer = Vec::new();
        while let Some(chunk) = resp
            .chunk()
            .await
            .map_err(|e| NotifyError::permanent(e.without_url().to_string()))?
        {
            answer.extend_from_slice(&chunk);
            if answer.len() > MAX_ANSWER_BYTES {
                break;
            }
        }
        let quoted = String::from_utf8_lossy(&answer[..answer.len().min(ERROR_BODY_LIMIT)]);
        check_status(status, &[429], &quoted, reason_code(status)).map(|()| answer)
    }

    async fn search(
        &self,
        r: &Render<'_>,
        group_hash: &str,
        firing: bool,
    ) -> Result<Option<FoundIssue>, NotifyError> {
        let project = r.try_text(&self.conf.project).map_err(|e| {
            NotifyError::permanent(format!("invalid project template or value: {e}"))
        })?;
        let jql = self.jql(&project, group_hash, firing);
        tracing::debug!(%jql, "search for recent issues");
        let body = crate::notify::gojson::body(
            &json!({"fields": ["status"], "jql": jql, "maxResults": 2}),
        )?;
        let answer = self
            .call(reqwest::Method::POST, &self.search_url()?, Some(body))
            .await
            .map_err(|e| prefixed("HTTP request to JIRA API: ", e))?;
        let result: SearchResult =
            serde_json::from_slice(&answer).map_err(|e| NotifyError::permanent(e.to_string()))?;
        if result.issues.len() > 1 {
            tracing::warn!(
                selected_issue = %result.issues[0].key,
                "more than one issue matched, selecting the most recently resolved"
            );
        }
        Ok(result.issues.into_iter().next())
    }

    /// The issue's fields for a create (`update` false) or an update.
    fn fields(
        &self,
        r: &Render<'_>,
        group_hash: &str,
        update: bool,
    ) -> Result<Fields, NotifyError> {
        let c = &self.conf;
        let text = |what: &str, t: &str| {
            r.try_text(t)
                .map_err(|e| NotifyError::permanent(format!("{what} template: {e}")))
        };
        let summary = text("summary", &c.summary.template)?;
        let project = text("project", &c.project)?;
        let issue_type = text("issue_type", &c.issue_type)?;
        let render = |t: &str| text("fields", t);
        let mut custom = Vec::with_capacity(c.fields.len());
        for (k, v) in &c.fields {
            custom.push((k, deep_copy(v, &render)?));
        }
        let (summary, cut) = truncate_runes(summary, MAX_SUMMARY_RUNES);
        if cut {
            tracing::warn!(max_runes = MAX_SUMMARY_RUNES, "Truncated summary");
        }
        let mut fields = Fields::default();
        fields.set("summary", &Json::String(summary));
        let description = text("description", &c.description.template)?;
        let (description, cut) = truncate_runes(description, MAX_DESCRIPTION_RUNES);
        if cut {
            tracing::warn!(max_runes = MAX_DESCRIPTION_RUNES, "Truncated description");
        }
        if self.is_api_v3() {
            let doc = description.trim();
            if !doc.is_empty() {
                if serde_json::from_str::<serde::de::IgnoredAny>(doc).is_err() {
                    return Err(NotifyError::permanent(
                        "description template: invalid JSON for API v3",
                    ));
                }
                fields.set_raw("description", compact_json(doc));
            }
        } else if !description.is_empty() {
            fields.set("description", &Json::String(description));
        }
        let mut labels = Vec::with_capacity(c.labels.len() + 1);
        for (i, l) in c.labels.iter().enumerate() {
            labels.push(text(&format!("labels[{i}]"), l)?);
        }
        labels.push(format!("ALERT{{{group_hash}}}"));
        labels.sort();
        fields.set("labels", &json!(labels));
        let priority = text("priority", &c.priority)?;
        if !priority.is_empty() {
            fields.set("priority", &json!({"name": priority}));
        }
        let issue_type = if issue_type.is_empty() {
            json!({})
        } else {
            json!({"name": issue_type})
        };
        fields.set("issuetype", &issue_type);
        fields.set("project", &json!({"key": project}));
        for (k, v) in &custom {
            fields.set(k, v);
        }
        if update && !c.description.update() {
            fields.remove("description");
        }
        if update && !c.summary.update() {
            fields.remove("summary");
        }
        Ok(fields)
    }

    /// Reopens a done issue of a firing group, resolves an open one of a resolved group.
    async fn transition(&self, issue: &FoundIssue, firing: bool) -> Result<(), NotifyError> {
        let Some(status) = issue.fields.as_ref().and_then(|f| f.status.as_ref()) else {
            return Ok(());
        };
        if issue.key.is_empty() || firing != (status.category.key == "done") {
            return Ok(());
        }
        let name = if firing {
            &self.conf.reopen_transition
        } else {
            &self.conf.resolve_transition
        };
        if name.is_empty() {
            return Ok(());
        }
        let path = format!("issue/{}/transitions", issue.key);
        let answer = self
            .call(reqwest::Method::GET, &self.join(&path)?, None)
            .await?;
        let list: Transitions =
            serde_json::from_slice(&answer).map_err(|e| NotifyError::permanent(e.to_string()))?;
        let Some(t) = list.transitions.iter().find(|t| &t.name == name) else {
            return Err(NotifyError::permanent(format!(
                "can't find transition {name} for issue {}",
                issue.key
            )));
        };
        tracing::debug!(issue_key = %issue.key, transition = %name, "transitions jira issue");
        let body = crate::notify::gojson::body(&json!({"transition": {"id": t.id}}))?;
        self.call(reqwest::Method::POST, &self.join(&path)?, Some(body))
            .await
            .map(drop)
    }
}

impl Deliver for Jira {
    async fn deliver(&self, ctx: &NotifyContext, alerts: &[Alert]) -> Result<(), NotifyError> {
        let data = notification_data(ctx, alerts);
        let r = Render::new(&self.templates, &data);
        let group_hash = key_hash(&ctx.group_key);
        let firing = alerts.iter().any(|a| !a.resolved_at(ctx.now));
        let existing = self
            .search(&r, &group_hash, firing)
            .await
            .map_err(|e| prefixed("failed to look up existing issues: ", e))?;
        let (method, path) = match &existing {
            None if !firing => return Ok(()),
            None => (reqwest::Method::POST, "issue".to_string()),
            Some(i) => (reqwest::Method::PUT, format!("issue/{}", i.key)),
        };
        let body = self
            .fields(&r, &group_hash, method == reqwest::Method::PUT)?
            .issue_body();
        let url = self.join(&path)?;
        let what = format!("failed to {method} request to {}: ", go_quote(&path));
        self.call(method, &url, Some(body))
            .await
            .map_err(|e| prefixed(&what, e))?;
        match &existing {
            Some(issue) => self.transition(issue, firing).await,
            None => Ok(()),
        }
    }
}

#[cfg(test)]
#[path = "tests.rs"]
mod tests;
