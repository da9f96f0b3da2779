//! PagerDuty (`pagerduty_configs`): Events API v2, or v1 with a service key.
//!
//! `config` is the kind's entry: how it loads, inherits from `global` and prints, and what
//! `ReceiverKind` needs; `notifier` delivers.

mod config;
mod notifier;

pub use config::{PagerdutyConfig, PagerdutyImage, PagerdutyLink, DEFAULT_PAGERDUTY_DETAILS};
pub use notifier::Pagerduty;
