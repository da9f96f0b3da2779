//! OTLP's JSON encoding (protobuf's JSON mapping as the OpenTelemetry collector's `pdata`
//! reads it): 64-bit integers as strings or numbers, enums as numbers or names, trace and span
//! ids in hex, `bytesValue` in base64, `AnyValue` as an object with one `*Value` key.

use std::fmt;

use base64::Engine as _;
use serde::de::{self, MapAccess, Visitor};
use serde::{Deserialize, Deserializer};

use super::proto::{AnyValue, ArrayValue, KeyValueList, Value};

/// Severity numbers by their enum names (`SEVERITY_NUMBER_WARN2` is 14).
const SEVERITY_NAMES: [&str; 6] = ["TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"];

/// A number or a string of one (proto3 JSON for 64-bit integers), as `T`.
fn number<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: std::str::FromStr + TryFrom<u64> + TryFrom<i64>,
{
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw<'a> {
        U(u64),
        I(i64),
        F(f64),
        S(std::borrow::Cow<'a, str>),
    }
    let bad = || de::Error::custom("expected an integer or a string of one");
    match Raw::deserialize(d)? {
        Raw::U(n) => T::try_from(n).map_err(|_| bad()),
        Raw::I(n) => T::try_from(n).map_err(|_| bad()),
        Raw::F(f) if f.fract() == 0.0 && f.abs() < 9.007_199_254_740_992e15 => {
            T::try_from(f as i64).map_err(|_| bad())
        }
        Raw::F(_) => Err(bad()),
        Raw::S(s) => s.trim().parse().map_err(|_| bad()),
    }
}

/// `fixed64` nanosecond timestamps.
pub fn u64_any<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    number(d)
}

/// `SeverityNumber`: a number, or a name such as `SEVERITY_NUMBER_INFO`.
pub fn severity_number<'de, D: Deserializer<'de>>(d: D) -> Result<i32, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw<'a> {
        N(i32),
        S(std::borrow::Cow<'a, str>),
    }
    match Raw::deserialize(d)? {
        Raw::N(n) => Ok(n),
        Raw::S(s) => severity_by_name(&s)
            .ok_or_else(|| de::Error::custom(format!("unknown severity number {s:?}"))),
    }
}

fn severity_by_name(s: &str) -> Option<i32> {
    if let Ok(n) = s.parse() {
        return Some(n);
    }
    let rest = s.strip_prefix("SEVERITY_NUMBER_")?;
    if rest == "UNSPECIFIED" {
        return Some(0);
    }
    let (name, step) = match rest.char_indices().find(|(_, c)| c.is_ascii_digit()) {
        Some((i, _)) => (&rest[..i], rest[i..].parse::<i32>().ok()?),
        None => (rest, 1),
    };
    let base = SEVERITY_NAMES.iter().position(|n| *n == name)? as i32;
    (1..=4).contains(&step).then_some(base * 4 + step)
}

/// Trace and span ids: hex strings (empty for none).
pub fn hex_bytes<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
    let s = std::borrow::Cow::<str>::deserialize(d)?;
    if !s.len().is_multiple_of(2) {
        return Err(de::Error::custom(
            "an id must be an even number of hex digits",
        ));
    }
    (0..s.len())
        .step_by(2)
        .map(|i| {
            u8::from_str_radix(s.get(i..i + 2).unwrap_or("zz"), 16)
                .map_err(|_| de::Error::custom(format!("invalid hex id {s:?}")))
        })
        .collect()
}

impl<'de> Deserialize<'de> for AnyValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = AnyValue;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an AnyValue object such as {\"stringValue\": \"…\"}")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<AnyValue, A::Error> {
                let mut value = None;
                while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
                    value = Some(match &*key {
                        "stringValue" | "string_value" => Value::String(map.next_value()?),
                        "boolValue" | "bool_value" => Value::Bool(map.next_value()?),
                        "intValue" | "int_value" => Value::Int(map.next_value_seed(IntSeed)?),
                        "doubleValue" | "double_value" => {
                            Value::Double(map.next_value_seed(DoubleSeed)?)
                        }
                        "arrayValue" | "array_value" => {
                            Value::Array(map.next_value::<ArrayValue>()?)
                        }
                        "kvlistValue" | "kvlist_value" => {
                            Value::Kvlist(map.next_value::<KeyValueList>()?)
                        }
                        "bytesValue" | "bytes_value" => {
                            let s: std::borrow::Cow<'de, str> = map.next_value()?;
                            Value::Bytes(
                                base64::engine::general_purpose::STANDARD
                                    .decode(s.as_bytes())
                                    .map_err(de::Error::custom)?,
                            )
                        }
                        _ => {
                            map.next_value::<de::IgnoredAny>()?;
                            continue;
                        }
                    });
                }
                Ok(AnyValue { value })
            }
        }
        d.deserialize_map(V)
    }
}

struct IntSeed;

impl<'de> de::DeserializeSeed<'de> for IntSeed {
    type Value = i64;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<i64, D::Error> {
        number(d)
    }
}

/// A double, or proto3 JSON's strings `"NaN"`, `"Infinity"`, `"-Infinity"`.
struct DoubleSeed;

impl<'de> de::DeserializeSeed<'de> for DoubleSeed {
    type Value = f64;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<f64, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw<'a> {
            F(f64),
            S(std::borrow::Cow<'a, str>),
        }
        match Raw::deserialize(d)? {
            Raw::F(f) => Ok(f),
            Raw::S(s) => match &*s {
                "NaN" => Ok(f64::NAN),
                "Infinity" => Ok(f64::INFINITY),
                "-Infinity" => Ok(f64::NEG_INFINITY),
                other => other
                    .parse()
                    .map_err(|_| de::Error::custom(format!("invalid double {other:?}"))),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn severity_names() {
        assert_eq!(severity_by_name("SEVERITY_NUMBER_UNSPECIFIED"), Some(0));
        assert_eq!(severity_by_name("SEVERITY_NUMBER_TRACE"), Some(1));
        assert_eq!(severity_by_name("SEVERITY_NUMBER_INFO"), Some(9));
        assert_eq!(severity_by_name("SEVERITY_NUMBER_WARN2"), Some(14));
        assert_eq!(severity_by_name("SEVERITY_NUMBER_FATAL4"), Some(24));
        assert_eq!(severity_by_name("17"), Some(17));
        assert_eq!(severity_by_name("SEVERITY_NUMBER_LOUD"), None);
    }
}
