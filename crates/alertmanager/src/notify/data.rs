//! The data of one notification, Alertmanager's `template.Data`: built once per attempt from
//! the alerts, rendered by notification templates and serialized as the webhook payload.
//! Each alert also carries bongsu's `LogsURL` for templates; the payload stays upstream's.

use serde::ser::{Serialize, SerializeStruct, Serializer};

use bongsu_gotmpl::alertmanager::{Alert as TemplateAlert, Data};
use bongsu_gotmpl::time::Time;
use bongsu_model::logs_link::alert_logs_url;

use super::NotifyContext;
use crate::types::Alert;

/// Go's `time.RFC3339Nano`, the layout `time.Time` marshals to JSON with.
const RFC3339_NANO: &str = "2006-01-02T15:04:05.999999999Z07:00";

/// Builds the data as Alertmanager does: firing alerts carry Go's zero time as their end,
/// resolved ones their real end. `LogsURL` links under the Alertmanager's external URL.
pub fn notification_data(ctx: &NotifyContext, alerts: &[Alert]) -> Data {
    let list = alerts
        .iter()
        .map(|a| {
            let resolved = a.resolved_at(ctx.now);
            TemplateAlert {
                status: if resolved { "resolved" } else { "firing" }.to_string(),
                labels: a.labels.clone(),
                annotations: a.annotations.clone(),
                starts_at: time(a.starts_at),
                ends_at: if resolved {
                    time(a.ends_at)
                } else {
                    Time::zero()
                },
                generator_url: a.generator_url.clone(),
                fingerprint: a.fingerprint().to_string(),
                logs_url: alert_logs_url(
                    &ctx.external_url,
                    |name| a.labels.get(name).map(String::as_str),
                    a.starts_at.as_millisecond(),
                    resolved.then(|| a.ends_at.as_millisecond()),
                    &a.generator_url,
                ),
            }
        })
        .collect();
    let mut data = Data::new(
        &ctx.receiver,
        ctx.group_labels.clone(),
        list,
        &ctx.external_url,
    );
    data.notification_reason = ctx.notification_reason.to_string();
    data
}

fn time(t: jiff::Timestamp) -> Time {
    Time::utc(t.as_second(), t.subsec_nanosecond().max(0) as u32)
}

/// Serializes the data with upstream's JSON names and time format (the webhook body).
pub struct DataJson<'a>(pub &'a Data);

struct AlertJson<'a>(&'a TemplateAlert);

impl Serialize for DataJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let d = self.0;
        let alerts: Vec<AlertJson<'_>> = d.alerts.iter().map(AlertJson).collect();
        let mut st = s.serialize_struct("Data", 8)?;
        st.serialize_field("receiver", &d.receiver)?;
        st.serialize_field("status", &d.status)?;
        st.serialize_field("alerts", &alerts)?;
        st.serialize_field("notification_reason", &d.notification_reason)?;
        st.serialize_field("groupLabels", &d.group_labels)?;
        st.serialize_field("commonLabels", &d.common_labels)?;
        st.serialize_field("commonAnnotations", &d.common_annotations)?;
        st.serialize_field("externalURL", &d.external_url)?;
        st.end()
    }
}

impl Serialize for AlertJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let a = self.0;
        let mut st = s.serialize_struct("Alert", 7)?;
        st.serialize_field("status", &a.status)?;
        st.serialize_field("labels", &a.labels)?;
        st.serialize_field("annotations", &a.annotations)?;
        st.serialize_field("startsAt", &a.starts_at.format(RFC3339_NANO))?;
        st.serialize_field("endsAt", &a.ends_at.format(RFC3339_NANO))?;
        st.serialize_field("generatorURL", &a.generator_url)?;
        st.serialize_field("fingerprint", &a.fingerprint)?;
        st.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notify::gojson;
    use crate::notify::test_support::{alert, ctx};

    #[test]
    fn the_payload_carries_the_notification_reason_after_the_alerts() {
        let mut c = ctx();
        c.notification_reason = "some alerts resolved";
        let data = notification_data(&c, &[alert("A", None)]);
        let body = String::from_utf8(gojson::encode(&DataJson(&data)).unwrap()).unwrap();
        assert!(
            body.contains("}],\"notification_reason\":\"some alerts resolved\",\"groupLabels\":{}"),
            "{body}"
        );
    }

    #[test]
    fn the_payload_leaves_the_logs_link_out() {
        let mut a = alert("A", None);
        a.labels.insert("job".into(), "node".into());
        let data = notification_data(&ctx(), &[a]);
        assert!(data.alerts[0].logs_url.contains("job%3D%22node%22"));
        let body = String::from_utf8(gojson::encode(&DataJson(&data)).unwrap()).unwrap();
        assert!(!body.to_lowercase().contains("logs"), "{body}");
    }
}
