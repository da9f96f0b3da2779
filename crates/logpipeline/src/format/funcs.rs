//! Loki's template functions (`pkg/logql/log/fmt.go`): its own string functions
//! (`ToLower`, `Replace`, `Trim*`, `regexReplaceAll`, `count`, `urlencode`, `alignLeft`,
//! `b64dec`, …) and the Sprig ones it lists (`lower`, `trunc`, `substr`, `indent`,
//! `fromJson`, `default`, …); the numeric ones are in `numeric`, the time ones in `gotime`.
//! `__line__` and `__timestamp__` are added per formatter.

use std::collections::BTreeMap;

use base64::Engine;
use bongsu_gotmpl::funcs::{arity, arity_min, check_len, str_arg, FuncError, FuncMap};
use bongsu_gotmpl::time::Time;
use bongsu_gotmpl::value::{ListKind, MapKind};
use bongsu_gotmpl::Value;

use super::gotime;
use crate::parser::json_scan::{self, Kind, Members};
use crate::units::parse_float;

/// How deep `fromJson` builds nested values.
const MAX_FROM_JSON_DEPTH: usize = 32;

fn s1(name: &'static str, f: fn(&str) -> String) -> impl Fn(&[Value]) -> Result<Value, FuncError> {
    move |a| {
        arity(name, a, 1)?;
        Ok(Value::str(f(str_arg(&a[0])?)))
    }
}

fn s2(
    name: &'static str,
    f: fn(&str, &str) -> String,
) -> impl Fn(&[Value]) -> Result<Value, FuncError> {
    move |a| {
        arity(name, a, 2)?;
        Ok(Value::str(f(str_arg(&a[0])?, str_arg(&a[1])?)))
    }
}

/// An `int` parameter: Go converts integer constants (and integral float constants).
pub(super) fn int_arg(v: &Value) -> Result<i64, FuncError> {
    match v {
        Value::Int(i) => Ok(*i),
        Value::Float(f) if f.fract() == 0.0 => Ok(*f as i64),
        other => Err(FuncError::Args(format!(
            "wrong type for value; expected int; got {}",
            other.type_name()
        ))),
    }
}

pub(super) fn time_arg(v: &Value) -> Result<&Time, FuncError> {
    bongsu_gotmpl::funcs::time_arg(v)
}

/// Sprig's `empty`: Go's zero values, empty strings and collections.
fn empty(v: &Value) -> bool {
    !v.truth()
}

/// Go's `url.QueryUnescape`.
fn query_unescape(s: &str) -> Result<String, String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' => {
                let hex = b
                    .get(i + 1..i + 3)
                    .and_then(|h| std::str::from_utf8(h).ok());
                let Some(v) = hex.and_then(|h| u8::from_str_radix(h, 16).ok()) else {
                    let end = (i + 3).min(b.len());
                    return Err(format!(
                        "invalid URL escape {}",
                        crate::units::go_quote(&String::from_utf8_lossy(&b[i..end]))
                    ));
                };
                out.push(v);
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    Ok(String::from_utf8_lossy(&out).into_owned())
}

/// Loki's `alignLeft`/`alignRight`: pad with spaces or cut to `count` characters.
fn align(count: i64, src: &str, left: bool) -> String {
    let chars: Vec<char> = src.chars().collect();
    let len = chars.len() as i64;
    if count < 0 || count == len {
        return src.to_string();
    }
    if count > len {
        let pad = " ".repeat((count - len) as usize);
        return if left {
            src.to_string() + &pad
        } else {
            pad + src
        };
    }
    let count = count as usize;
    if left {
        chars[..count].iter().collect()
    } else {
        chars[chars.len() - count..].iter().collect()
    }
}

/// A byte range of `s` as text (Sprig slices bytes; a cut character becomes U+FFFD).
fn byte_slice(s: &str, start: usize, end: usize) -> String {
    String::from_utf8_lossy(&s.as_bytes()[start..end]).into_owned()
}

/// `fromJson`: a JSON document as template values (objects as `map[string]interface {}`,
/// numbers as float64); nil when it does not parse.
fn from_json(doc: &[u8], depth: usize) -> Option<Value> {
    let (v, kind, _) = json_scan::value(doc).ok()?;
    json_value(v, kind, depth)
}

fn json_value(v: &[u8], kind: Kind, depth: usize) -> Option<Value> {
    if depth > MAX_FROM_JSON_DEPTH {
        return None;
    }
    Some(match kind {
        Kind::Null => Value::Nil,
        Kind::Bool => Value::Bool(v == b"true"),
        Kind::Number => Value::Float(parse_float(std::str::from_utf8(v).ok()?).ok()?),
        Kind::String => Value::str(String::from_utf8(json_scan::unescape(v)?).ok()?),
        Kind::Object => {
            let mut entries = BTreeMap::new();
            for m in Members::new(v) {
                let (k, mv, mk) = m.ok()?;
                let key = String::from_utf8(k.into_owned()).ok()?;
                entries.insert(key, json_value(mv, mk, depth + 1)?);
            }
            Value::map(MapKind::Any, entries)
        }
        Kind::Array => {
            let mut items = Vec::new();
            while let Some((ev, ek)) = json_scan::array_element(v, items.len()).ok()? {
                items.push(json_value(ev, ek, depth + 1)?);
                check_len("fromJson", items.len()).ok()?;
            }
            Value::list(ListKind::Any, items)
        }
    })
}

/// The function map every Loki template has, without `__line__`/`__timestamp__`.
pub fn loki_funcs() -> FuncMap {
    let mut m = FuncMap::new();
    m.insert("ToLower", s1("ToLower", |s| s.to_lowercase()));
    m.insert("ToUpper", s1("ToUpper", |s| s.to_uppercase()));
    m.insert("lower", s1("lower", |s| s.to_lowercase()));
    m.insert("upper", s1("upper", |s| s.to_uppercase()));
    m.insert(
        "title",
        s1("title", |s| {
            bongsu_gotmpl::funcs::prometheus::title(s, false)
        }),
    );
    m.insert("TrimSpace", s1("TrimSpace", |s| s.trim().to_string()));
    m.insert("trim", s1("trim", |s| s.trim().to_string()));
    m.insert(
        "Trim",
        s2("Trim", |s, c| s.trim_matches(|x| c.contains(x)).to_string()),
    );
    m.insert(
        "TrimLeft",
        s2("TrimLeft", |s, c| {
            s.trim_start_matches(|x| c.contains(x)).to_string()
        }),
    );
    m.insert(
        "TrimRight",
        s2("TrimRight", |s, c| {
            s.trim_end_matches(|x| c.contains(x)).to_string()
        }),
    );
    m.insert(
        "TrimPrefix",
        s2("TrimPrefix", |s, p| {
            s.strip_prefix(p).unwrap_or(s).to_string()
        }),
    );
    m.insert(
        "TrimSuffix",
        s2("TrimSuffix", |s, p| {
            s.strip_suffix(p).unwrap_or(s).to_string()
        }),
    );
    m.insert(
        "trimAll",
        s2("trimAll", |c, s| {
            s.trim_matches(|x| c.contains(x)).to_string()
        }),
    );
    m.insert(
        "trimPrefix",
        s2("trimPrefix", |p, s| {
            s.strip_prefix(p).unwrap_or(s).to_string()
        }),
    );
    m.insert(
        "trimSuffix",
        s2("trimSuffix", |p, s| {
            s.strip_suffix(p).unwrap_or(s).to_string()
        }),
    );
    m.insert(
        "b64enc",
        s1("b64enc", |s| {
            base64::engine::general_purpose::STANDARD.encode(s)
        }),
    );
    m.insert(
        "b64dec",
        s1("b64dec", |s| {
            let mut v = s.to_string();
            let rem = v.len() % 4;
            if rem > 1 {
                v.push_str(&"=".repeat(4 - rem));
            }
            match base64::engine::general_purpose::STANDARD.decode(&v) {
                Ok(d) => String::from_utf8_lossy(&d).into_owned(),
                // Loki returns the error's text as the result.
                Err(
                    base64::DecodeError::InvalidByte(at, _)
                    | base64::DecodeError::InvalidLastSymbol(at, _),
                ) => {
                    format!("illegal base64 data at input byte {at}")
                }
                Err(_) => format!("illegal base64 data at input byte {}", v.len()),
            }
        }),
    );
    m.insert(
        "urlencode",
        s1("urlencode", bongsu_gotmpl::funcs::builtins::query_escape),
    );
    m.insert("urldecode", |a| {
        arity("urldecode", a, 1)?;
        query_unescape(str_arg(&a[0])?)
            .map(Value::str)
            .map_err(FuncError::Call)
    });
    m.insert("Replace", |a| {
        arity("Replace", a, 4)?;
        let (s, old, new) = (str_arg(&a[0])?, str_arg(&a[1])?, str_arg(&a[2])?);
        let n = int_arg(&a[3])?;
        check_len("Replace", s.len().saturating_mul(new.len().max(1)))?;
        Ok(Value::str(if n < 0 {
            s.replace(old, new)
        } else {
            s.replacen(old, new, n as usize)
        }))
    });
    m.insert("replace", |a| {
        arity("replace", a, 3)?;
        let (old, new, s) = (str_arg(&a[0])?, str_arg(&a[1])?, str_arg(&a[2])?);
        check_len("replace", s.len().saturating_mul(new.len().max(1)))?;
        Ok(Value::str(s.replace(old, new)))
    });
    for (name, literal) in [("regexReplaceAll", false), ("regexReplaceAllLiteral", true)] {
        m.insert(name, move |a| {
            arity(name, a, 3)?;
            let re = crate::goregex::compile(str_arg(&a[0])?).map_err(FuncError::Call)?;
            let (s, repl) = (str_arg(&a[1])?, str_arg(&a[2])?);
            check_len(name, s.len().saturating_mul(repl.len().max(1)) / 64)?;
            let out = if literal {
                re.replace_all(s.as_bytes(), regex::bytes::NoExpand(repl.as_bytes()))
            } else {
                re.replace_all(s.as_bytes(), repl.as_bytes())
            };
            check_len(name, out.len())?;
            Ok(Value::str(String::from_utf8_lossy(&out)))
        });
    }
    m.insert("count", |a| {
        arity("count", a, 2)?;
        let re = crate::goregex::compile(str_arg(&a[0])?).map_err(FuncError::Call)?;
        Ok(Value::Int(
            re.find_iter(str_arg(&a[1])?.as_bytes()).count() as i64
        ))
    });
    m.insert("contains", |a| {
        arity("contains", a, 2)?;
        Ok(Value::Bool(str_arg(&a[1])?.contains(str_arg(&a[0])?)))
    });
    m.insert("hasPrefix", |a| {
        arity("hasPrefix", a, 2)?;
        Ok(Value::Bool(str_arg(&a[1])?.starts_with(str_arg(&a[0])?)))
    });
    m.insert("hasSuffix", |a| {
        arity("hasSuffix", a, 2)?;
        Ok(Value::Bool(str_arg(&a[1])?.ends_with(str_arg(&a[0])?)))
    });
    m.insert("repeat", |a| {
        arity("repeat", a, 2)?;
        let (n, s) = (int_arg(&a[0])?.max(0) as usize, str_arg(&a[1])?);
        check_len("repeat", s.len().saturating_mul(n))?;
        Ok(Value::str(s.repeat(n)))
    });
    for (name, newline) in [("indent", false), ("nindent", true)] {
        m.insert(name, move |a| {
            arity(name, a, 2)?;
            let (n, s) = (int_arg(&a[0])?.max(0) as usize, str_arg(&a[1])?);
            check_len(
                name,
                s.len()
                    .saturating_add(n)
                    .saturating_mul(s.lines().count().max(1)),
            )?;
            let pad = " ".repeat(n);
            let body = pad.clone() + &s.replace('\n', &format!("\n{pad}"));
            Ok(Value::str(if newline { format!("\n{body}") } else { body }))
        });
    }
    m.insert("trunc", |a| {
        arity("trunc", a, 2)?;
        let (c, s) = (int_arg(&a[0])?, str_arg(&a[1])?);
        let len = s.len() as i64;
        Ok(Value::str(if c < 0 && len + c > 0 {
            byte_slice(s, (len + c) as usize, s.len())
        } else if c >= 0 && len > c {
            byte_slice(s, 0, c as usize)
        } else {
            s.to_string()
        }))
    });
    m.insert("substr", |a| {
        arity("substr", a, 3)?;
        let (start, end, s) = (int_arg(&a[0])?, int_arg(&a[1])?, str_arg(&a[2])?);
        let len = s.len() as i64;
        let bad = || {
            FuncError::Call(format!(
                "runtime error: slice bounds out of range [{start}:{end}]"
            ))
        };
        if start < 0 {
            if end < 0 || end > len {
                return Err(bad());
            }
            return Ok(Value::str(byte_slice(s, 0, end as usize)));
        }
        if end < 0 || end > len {
            if start > len {
                return Err(bad());
            }
            return Ok(Value::str(byte_slice(s, start as usize, s.len())));
        }
        if start > end {
            return Err(bad());
        }
        Ok(Value::str(byte_slice(s, start as usize, end as usize)))
    });
    m.insert("alignLeft", |a| {
        arity("alignLeft", a, 2)?;
        Ok(Value::str(align(int_arg(&a[0])?, str_arg(&a[1])?, true)))
    });
    m.insert("alignRight", |a| {
        arity("alignRight", a, 2)?;
        Ok(Value::str(align(int_arg(&a[0])?, str_arg(&a[1])?, false)))
    });
    super::numeric::numeric_funcs(&mut m);
    gotime::time_funcs(&mut m);
    m.insert("fromJson", |a| {
        arity("fromJson", a, 1)?;
        Ok(from_json(str_arg(&a[0])?.as_bytes(), 0).unwrap_or(Value::Nil))
    });
    m.insert("default", |a| {
        arity_min("default", a, 1)?;
        Ok(match a.get(1) {
            Some(given) if !empty(given) => given.clone(),
            _ => a[0].clone(),
        })
    });
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alignment() {
        assert_eq!(align(3, "abcdef", true), "abc");
        assert_eq!(align(3, "abcdef", false), "def");
        assert_eq!(align(5, "ab", false), "   ab");
    }
}
