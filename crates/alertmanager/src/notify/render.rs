//! Rendering a receiver's configured strings (titles, bodies, URLs) against one
//! notification, as upstream's `tmplText`/`tmplHTML`: every string sees the same dot, and a
//! template that fails makes the notification fail without retry.

use bongsu_gotmpl::alertmanager::{Data, NotificationTemplates};
use bongsu_gotmpl::{Error, Value};

use super::NotifyError;

/// The templates and the dot of one notification.
pub struct Render<'a> {
    templates: &'a NotificationTemplates,
    dot: Value,
}

impl<'a> Render<'a> {
    pub fn new(templates: &'a NotificationTemplates, data: &Data) -> Render<'a> {
        Render {
            templates,
            dot: data.to_value(),
        }
    }

    /// Renders a text template string (`ExecuteTextString`); empty stays empty.
    pub fn text(&self, what: &str, text: &str) -> Result<String, NotifyError> {
        self.try_text(text)
            .map_err(|e| NotifyError::permanent(format!("template {what}: {e}")))
    }

    /// Renders an HTML template string (`ExecuteHTMLString`): values printed by actions are
    /// HTML-escaped; empty stays empty.
    pub fn html(&self, what: &str, text: &str) -> Result<String, NotifyError> {
        self.try_html(text)
            .map_err(|e| NotifyError::permanent(format!("template {what}: {e}")))
    }

    /// [`text`](Self::text) with the template error itself, for notifiers that word their
    /// errors as upstream does.
    pub fn try_text(&self, text: &str) -> Result<String, Error> {
        self.templates.execute_text(text, &self.dot)
    }

    /// [`html`](Self::html) with the template error itself.
    pub fn try_html(&self, text: &str) -> Result<String, Error> {
        self.templates.execute_html(text, &self.dot)
    }
}
