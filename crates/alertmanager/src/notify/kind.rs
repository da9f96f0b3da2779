//! What a receiver kind (Slack, email, …) is to bongsu: [`ReceiverKind`], which each kind's
//! configuration type implements in its folder, and [`IntegrationConfig`], the form a
//! receiver holds its entries of any kind in. Which kinds exist, and the orders upstream
//! walks them in, is the registry's business, not this module's.

use std::any::Any;
use std::fmt;
use std::path::Path;
use std::sync::Arc;

use serde::de::DeserializeOwned;
use serde_yaml_ng::Value;

use bongsu_gotmpl::alertmanager::NotificationTemplates;

use super::Notifier;
use crate::config::{ConfigError, GlobalConfig};

/// One kind of notifier a receiver lists under `<NAME>_configs`: how an entry loads
/// (`Deserialize`, with the checks that need nothing else), inherits from `global`, prints
/// and becomes a notifier.
pub trait ReceiverKind: Clone + fmt::Debug + DeserializeOwned + Send + Sync + 'static {
    /// The integration's name (`slack` for `slack_configs`): the `integration` label of the
    /// notification metrics and the middle of notification log names (`receiver/slack/0`).
    const NAME: &'static str;

    /// The Go package upstream declares this kind's configuration in: yaml.v2 names its
    /// `plain` type in decoding errors.
    const GO_PACKAGE: &'static str = Self::NAME;

    fn send_resolved(&self) -> bool;

    /// Fills in what is unset from `global` (the HTTP client, URLs, credentials) and applies
    /// the checks that need it; `dir` resolves relative paths of an own `http_config`.
    fn inherit(&mut self, global: &GlobalConfig, dir: Option<&Path>) -> Result<(), ConfigError>;

    /// What upstream checks for an entry written as null, before refusing it as missing.
    fn check_null_entry(_global: &GlobalConfig) -> Result<(), ConfigError> {
        Ok(())
    }

    /// The entry as `/api/v2/status` and amtool print it: upstream's keys, in its order, with
    /// its omit-empty rules, and secrets as `<secret>`.
    fn print(&self) -> Value;

    /// The notifier delivering to this entry, rendering with `templates`.
    fn notifier(&self, templates: &Arc<NotificationTemplates>)
        -> Result<Box<dyn Notifier>, String>;
}

/// An entry of any kind: the [`ReceiverKind`] methods behind a pointer, plus the cloning and
/// downcasting that a list of mixed kinds needs.
pub trait IntegrationConfig: fmt::Debug + Send + Sync {
    /// [`ReceiverKind::NAME`].
    fn kind(&self) -> &'static str;
    fn send_resolved(&self) -> bool;
    fn inherit(&mut self, global: &GlobalConfig, dir: Option<&Path>) -> Result<(), ConfigError>;
    fn print(&self) -> Value;
    fn notifier(&self, templates: &Arc<NotificationTemplates>)
        -> Result<Box<dyn Notifier>, String>;
    fn clone_box(&self) -> Box<dyn IntegrationConfig>;
    fn as_any(&self) -> &dyn Any;
    fn as_any_mut(&mut self) -> &mut dyn Any;
}

impl<K: ReceiverKind> IntegrationConfig for K {
    fn kind(&self) -> &'static str {
        K::NAME
    }

    fn send_resolved(&self) -> bool {
        ReceiverKind::send_resolved(self)
    }

    fn inherit(&mut self, global: &GlobalConfig, dir: Option<&Path>) -> Result<(), ConfigError> {
        ReceiverKind::inherit(self, global, dir)
    }

    fn print(&self) -> Value {
        ReceiverKind::print(self)
    }

    fn notifier(
        &self,
        templates: &Arc<NotificationTemplates>,
    ) -> Result<Box<dyn Notifier>, String> {
        ReceiverKind::notifier(self, templates)
    }

    fn clone_box(&self) -> Box<dyn IntegrationConfig> {
        Box::new(self.clone())
    }

    fn as_any(&self) -> &dyn Any {
        self
    }

    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }
}

impl Clone for Box<dyn IntegrationConfig> {
    fn clone(&self) -> Self {
        self.clone_box()
    }
}
