use super::*;
use crate::notify::test_support::{alert, ctx, entry, templates};

fn notifier(api_url: &str, extra: &str) -> Jira {
    let conf = entry(
        "{}",
        &format!("api_url: '{api_url}'\n    project: OPS\n    issue_type: Bug\n    {extra}"),
    );
    Jira::new(conf, templates()).unwrap()
}

fn body(n: &Jira, update: bool) -> String {
    let data = notification_data(&ctx(), &[alert("A", None)]);
    let r = Render::new(&n.templates, &data);
    String::from_utf8(n.fields(&r, "h", update).unwrap().issue_body()).unwrap()
}

#[test]
fn search_endpoints() {
    let n = notifier("https://x.atlassian.net/rest/api/2/", "");
    assert_eq!(
        n.search_url().unwrap(),
        "https://x.atlassian.net/rest/api/3/search/jql"
    );
    let n = notifier("https://jira.example/rest/api/2", "");
    assert_eq!(
        n.search_url().unwrap(),
        "https://jira.example/rest/api/2/search"
    );
    let n = notifier("https://jira.example/rest/api/2/", "api_type: cloud");
    assert_eq!(
        n.search_url().unwrap(),
        "https://jira.example/rest/api/3/search/jql"
    );
    let n = notifier("https://x.atlassian.net/rest/api/2", "api_type: datacenter");
    assert_eq!(
        n.search_url().unwrap(),
        "https://x.atlassian.net/rest/api/2/search"
    );
    assert_eq!(
        n.join("issue/OPS-1/transitions").unwrap(),
        "https://x.atlassian.net/rest/api/2/issue/OPS-1/transitions"
    );
}

#[test]
fn jql_forms() {
    let n = notifier("https://jira.example/rest/api/2", "");
    assert_eq!(
        n.jql("OPS", "h", true),
        r#"statusCategory != Done and project="OPS" and labels="ALERT{h}" order by status ASC,resolutiondate DESC"#
    );
    let n = notifier(
        "https://jira.example/rest/api/2",
        "reopen_transition: Reopen\n    reopen_duration: 90m\n    wont_fix_resolution: \"Won't Fix\"",
    );
    assert_eq!(
        n.jql("OPS", "h", true),
        r#"(resolution is EMPTY or resolution != "Won't Fix") and (resolutiondate is EMPTY OR resolutiondate >= -90m) and project="OPS" and labels="ALERT{h}" order by status ASC,resolutiondate DESC"#
    );
    assert!(n
        .jql("OPS", "h", false)
        .contains(") and statusCategory != Done and project="));
}

#[test]
fn issue_fields_v2() {
    let n = notifier(
        "https://jira.example/rest/api/2",
        "summary: 'S <{{ .Status }}>'\n    description: 'D'\n    priority: High\n    \
         labels: ['z', 'a-{{ .Receiver }}']\n    fields: {customfield_10: '{{ len .Alerts }}', labels: [own]}",
    );
    assert_eq!(
        body(&n, false),
        "{\"fields\":{\"customfield_10\":1,\"description\":\"D\",\"issuetype\":{\"name\":\"Bug\"},\
         \"labels\":[\"own\"],\"priority\":{\"name\":\"High\"},\"project\":{\"key\":\"OPS\"},\
         \"summary\":\"S \\u003cfiring\\u003e\"}}\n"
    );
    let n = notifier(
        "https://jira.example/rest/api/2",
        "summary: {template: S, enable_update: false}\n    description: {template: D, enable_update: false}\n    \
         priority: ''\n    labels: ['z', 'a']",
    );
    assert_eq!(
        body(&n, true),
        "{\"fields\":{\"issuetype\":{\"name\":\"Bug\"},\"labels\":[\"ALERT{h}\",\"a\",\"z\"],\
         \"project\":{\"key\":\"OPS\"}}}\n"
    );
    assert!(body(&n, false).contains("\"summary\":\"S\""));
}

#[test]
fn issue_description_v3_is_a_document() {
    let n = notifier(
        "https://x.atlassian.net/rest/api/3",
        "description: '  {\"version\": 1, \"type\": \"doc\", \"content\": []}  '",
    );
    assert!(body(&n, false)
        .contains("\"description\":{\"version\":1,\"type\":\"doc\",\"content\":[]},"));
    let n = notifier("https://x.atlassian.net/rest/api/3", "description: 'plain'");
    let data = notification_data(&ctx(), &[alert("A", None)]);
    let r = Render::new(&n.templates, &data);
    let e = n.fields(&r, "h", false).err().unwrap();
    assert_eq!(e.message, "description template: invalid JSON for API v3");
    assert!(!e.retry);
}

#[test]
fn default_templates_render() {
    let n = notifier("https://jira.example/rest/api/2", "");
    let v: serde_json::Value = serde_json::from_str(&body(&n, false)).unwrap();
    assert!(v["fields"]["summary"]
        .as_str()
        .unwrap()
        .contains("FIRING:1"));
    assert!(!v["fields"]["description"].as_str().unwrap().is_empty());
}
