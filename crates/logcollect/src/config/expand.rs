//! `${VAR}` expansion of a config file's text, as Promtail's `-config.expand-env` does it
//! (drone/envsubst): `${VAR}`, `$VAR`, `${VAR:-default}` and `${VAR-default}`; `$$` is a
//! literal `$`. Only run when `--logs.config.expand-env` is given.

use super::LogConfigError;

/// Expands variables from `lookup` (the process environment in the binary). An unset variable
/// expands to the empty string, as envsubst does.
pub fn expand_env(
    text: &str,
    lookup: impl Fn(&str) -> Option<String>,
) -> Result<String, LogConfigError> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        if let Some(tail) = after.strip_prefix('$') {
            out.push('$');
            rest = tail;
        } else if let Some(body) = after.strip_prefix('{') {
            let Some(end) = body.find('}') else {
                return Err(LogConfigError::Expand(format!(
                    "missing closing brace after {:?}",
                    &rest[i..(i + 20).min(rest.len())]
                )));
            };
            let inner = &body[..end];
            let (name, default) = match inner.find(['-', ':']) {
                Some(j) => {
                    let (name, op) = inner.split_at(j);
                    let default = op.strip_prefix(":-").or_else(|| op.strip_prefix('-'));
                    match default {
                        Some(d) => (name, Some((d, op.starts_with(':')))),
                        None => {
                            return Err(LogConfigError::Expand(format!(
                                "unsupported expansion ${{{inner}}}"
                            )))
                        }
                    }
                }
                None => (inner, None),
            };
            let value = lookup(name);
            let expanded = match (value, default) {
                (Some(v), Some((d, true))) if v.is_empty() => d.to_string(),
                (Some(v), _) => v,
                (None, Some((d, _))) => d.to_string(),
                (None, None) => String::new(),
            };
            out.push_str(&expanded);
            rest = &body[end + 1..];
        } else {
            let n = after
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(after.len());
            if n == 0 {
                out.push('$');
            } else {
                out.push_str(&lookup(&after[..n]).unwrap_or_default());
            }
            rest = &after[n..];
        }
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(name: &str) -> Option<String> {
        match name {
            "HOST" => Some("web-1".into()),
            "EMPTY" => Some(String::new()),
            _ => None,
        }
    }

    #[test]
    fn forms() {
        let got = expand_env(
            "a ${HOST} $HOST/x ${NOPE} ${NOPE:-d} ${EMPTY:-e} ${EMPTY-f} $$ $ ${HOST-g}",
            env,
        );
        assert_eq!(got.unwrap(), "a web-1 web-1/x  d e  $ $ web-1");
        assert!(expand_env("${HOST", env).is_err());
    }
}
