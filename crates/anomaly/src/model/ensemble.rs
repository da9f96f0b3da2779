//! [`Ensemble`]: several models of one series at once; the value's prediction is the member's
//! that finds it most anomalous (so a spike seen by a z-score and a change of distribution
//! seen by relative entropy both count). Members warming up are left out.

use std::time::Duration;

use serde::Deserialize;

use super::{Model, ModelConfig, ModelError, Prediction};

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnsembleConfig {
    pub models: Vec<ModelConfig>,
}

pub struct Ensemble {
    members: Vec<Box<dyn Model>>,
}

impl Ensemble {
    pub fn new(c: &EnsembleConfig, step: Duration) -> Result<Ensemble, ModelError> {
        if c.models.is_empty() {
            return Err(ModelError::Invalid(
                "ensemble needs at least one model".into(),
            ));
        }
        Ok(Ensemble {
            members: c
                .models
                .iter()
                .map(|m| m.build(step))
                .collect::<Result<_, _>>()?,
        })
    }
}

impl Model for Ensemble {
    fn observe(&mut self, t: i64, y: f64) -> Option<Prediction> {
        // Every member learns every value, whichever wins.
        self.members
            .iter_mut()
            .filter_map(|m| m.observe(t, y))
            .reduce(|a, b| {
                if b.anomaly_score > a.anomaly_score {
                    b
                } else {
                    a
                }
            })
    }

    fn state_bytes(&self) -> usize {
        std::mem::size_of::<Self>() + self.members.iter().map(|m| m.state_bytes()).sum::<usize>()
    }
}
