//! Configuration errors from the YAML parser, in Prometheus' (Go yaml.v2's) shape.

use bongsu_yaml::describe;

/// A serde_yaml_ng error as a `ConfigError::Parse`, with its line and Go's wording.
pub(crate) fn parse_error(path: &str, e: &serde_yaml_ng::Error) -> crate::ConfigError {
    let line = e.location().map(|l| l.line());
    let described = describe(e);
    let at = line.map(|l| format!("line {l}: ")).unwrap_or_default();
    let message = if bongsu_yaml::is_unmarshal_error(&described) {
        format!("yaml: unmarshal errors: {at}{described}")
    } else {
        format!("yaml: {at}{described}")
    };
    crate::ConfigError::Parse {
        path: path.to_string(),
        line,
        message,
    }
}
