//! Online anomaly detection: models that read one series in time order and, for each new value,
//! say what they expected (`yhat` and a band `[yhat_lower, yhat_upper]`) and how anomalous the
//! value is (`anomaly_score`, above 1 when it lies outside the band), then learn from it.
//!
//! Owns the models ([`model`]: rolling z-score, median/MAD, Holt-Winters with one or more
//! seasons, MSTL), their settings as they appear in configuration ([`ModelConfig`], one table
//! of kinds), and [`replay`], which runs a model over `timestamp,value` rows — the exact code a
//! live detector runs, for offline tuning and the NAB benchmark.
//!
//! [`detector`] runs models over a PromQL query's result series at an interval (fitted from
//! history at start) and writes the scores through the storage `Appender`.
//!
//! Not here: storage files (only the storage traits), HTTP, alerting (ordinary alerting rules
//! over the output series).
//!
//! Causality: [`Model::observe`] sees a value only after the score for it is computed, and
//! nothing later; no model looks ahead.

pub mod detector;
pub mod model;
pub mod replay;

pub use model::{Model, ModelConfig, ModelError, Prediction};
