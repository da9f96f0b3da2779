//! Sprig's numeric template functions as Loki exposes them (`int`, `float64`, `add`, `sub`,
//! `mul`, `div`, `mod`, `max`, `min`, `maxf`, `minf`, `addf`, `subf`, `mulf`, `divf`, `ceil`,
//! `floor`, `round`) and Loki's `bytes`/`duration`/`duration_seconds`.
//!
//! Sprig takes any value and converts it as `spf13/cast` does (a string is parsed, a failure
//! is 0); its `addf`… use decimal arithmetic, which we follow by rounding each result to 15
//! significant digits (what removes binary noise such as `0.1 + 0.2`).

use bongsu_gotmpl::funcs::{arity, arity_min, str_arg, FuncError, FuncMap};
use bongsu_gotmpl::Value;

use super::funcs::int_arg;
use crate::units::{parse_bytes, parse_duration, parse_float};

/// `cast.ToInt64`: numbers truncated, booleans 0/1, strings parsed (decimals cut at the
/// point, `0x`/`0o`/`0b`/leading-`0` bases), anything else 0.
pub(crate) fn to_int64(v: &Value) -> i64 {
    match v {
        Value::Int(i) => *i,
        Value::Float(f) => *f as i64,
        Value::Bool(b) => i64::from(*b),
        Value::Duration(d) => d.0,
        Value::Str(s) => parse_go_int(&trim_decimal(s)).unwrap_or(0),
        _ => 0,
    }
}

/// `cast.ToFloat64`.
pub(crate) fn to_float64(v: &Value) -> f64 {
    match v {
        Value::Int(i) => *i as f64,
        Value::Float(f) => *f,
        Value::Bool(b) => f64::from(u8::from(*b)),
        Value::Duration(d) => d.0 as f64,
        Value::Str(s) if s.is_empty() => 0.0,
        Value::Str(s) => parse_float(s).unwrap_or(0.0),
        _ => 0.0,
    }
}

/// cast's `trimDecimal`: `12.5` → `12`, `-.5` → `-0`.
fn trim_decimal(s: &str) -> String {
    let Some(dot) = s.find('.') else {
        return s.to_string();
    };
    let (int, frac) = (&s[..dot], &s[dot + 1..]);
    let int_ok = int
        .strip_prefix(['-', '+'])
        .unwrap_or(int)
        .bytes()
        .all(|c| c.is_ascii_digit());
    if !int_ok || !frac.bytes().all(|c| c.is_ascii_digit()) {
        return s.to_string();
    }
    match int {
        "" => "0".into(),
        "-" | "+" => format!("{int}0"),
        _ => int.to_string(),
    }
}

/// Go's `strconv.ParseInt(s, 0, 64)`.
fn parse_go_int(s: &str) -> Option<i64> {
    let (neg, body) = match s.as_bytes().first()? {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    let lower = body.to_ascii_lowercase();
    let (radix, digits) = if let Some(d) = lower.strip_prefix("0x") {
        (16, d.to_string())
    } else if let Some(d) = lower.strip_prefix("0b") {
        (2, d.to_string())
    } else if let Some(d) = lower.strip_prefix("0o") {
        (8, d.to_string())
    } else if lower.len() > 1 && lower.starts_with('0') {
        (8, lower[1..].to_string())
    } else {
        (10, lower)
    };
    let digits = if radix != 10 {
        digits.replace('_', "")
    } else {
        digits
    };
    let v = i64::from_str_radix(&digits, radix).ok()?;
    Some(if neg { -v } else { v })
}

/// Sprig's decimal arithmetic: operands at their shortest decimal form, result as float.
fn decimal_op(
    name: &str,
    a: &[Value],
    op: fn(f64, f64) -> Option<f64>,
) -> Result<Value, FuncError> {
    let mut acc = to_float64(&a[0]);
    for v in &a[1..] {
        acc = op(acc, to_float64(v))
            .ok_or_else(|| FuncError::Call(format!("{name}: decimal division by 0")))?;
        // Round to the shortest decimal that the exact decimal result would print as.
        acc = shortest(acc);
    }
    Ok(Value::Float(acc))
}

/// `x` rounded to 15 significant digits, which removes binary noise such as
/// `0.1 + 0.2 = 0.30000000000000004` as decimal arithmetic would.
fn shortest(x: f64) -> f64 {
    if !x.is_finite() || x == 0.0 {
        return x;
    }
    format!("{x:.14e}").parse().unwrap_or(x)
}

fn int_fold(a: &[Value], f: fn(i64, i64) -> Option<i64>) -> Result<Value, FuncError> {
    let mut acc = to_int64(&a[0]);
    for v in &a[1..] {
        acc = f(acc, to_int64(v))
            .ok_or_else(|| FuncError::Call("runtime error: integer divide by zero".into()))?;
    }
    Ok(Value::Int(acc))
}

pub(super) fn numeric_funcs(m: &mut FuncMap) {
    m.insert("int", |a| {
        arity("int", a, 1)?;
        Ok(Value::Int(to_int64(&a[0])))
    });
    m.insert("float64", |a| {
        arity("float64", a, 1)?;
        Ok(Value::Float(to_float64(&a[0])))
    });
    m.insert("add", |a| {
        Ok(Value::Int(
            a.iter().map(to_int64).fold(0i64, i64::wrapping_add),
        ))
    });
    m.insert("sub", |a| {
        arity("sub", a, 2)?;
        int_fold(a, |x, y| Some(x.wrapping_sub(y)))
    });
    m.insert("mul", |a| {
        arity_min("mul", a, 1)?;
        int_fold(a, |x, y| Some(x.wrapping_mul(y)))
    });
    m.insert("div", |a| {
        arity("div", a, 2)?;
        int_fold(a, i64::checked_div)
    });
    m.insert("mod", |a| {
        arity("mod", a, 2)?;
        int_fold(a, i64::checked_rem)
    });
    m.insert("max", |a| {
        arity_min("max", a, 1)?;
        Ok(Value::Int(a.iter().map(to_int64).max().unwrap_or(0)))
    });
    m.insert("min", |a| {
        arity_min("min", a, 1)?;
        Ok(Value::Int(a.iter().map(to_int64).min().unwrap_or(0)))
    });
    m.insert("maxf", |a| {
        arity_min("maxf", a, 1)?;
        Ok(Value::Float(
            a.iter().map(to_float64).fold(f64::NEG_INFINITY, f64::max),
        ))
    });
    m.insert("minf", |a| {
        arity_min("minf", a, 1)?;
        Ok(Value::Float(
            a.iter().map(to_float64).fold(f64::INFINITY, f64::min),
        ))
    });
    m.insert("addf", |a| {
        let mut all = vec![Value::Float(0.0)];
        all.extend_from_slice(a);
        decimal_op("addf", &all, |x, y| Some(x + y))
    });
    m.insert("subf", |a| {
        arity_min("subf", a, 1)?;
        decimal_op("subf", a, |x, y| Some(x - y))
    });
    m.insert("mulf", |a| {
        arity_min("mulf", a, 1)?;
        decimal_op("mulf", a, |x, y| Some(x * y))
    });
    m.insert("divf", |a| {
        arity_min("divf", a, 1)?;
        decimal_op("divf", a, |x, y| (y != 0.0).then(|| x / y))
    });
    m.insert("ceil", |a| {
        arity("ceil", a, 1)?;
        Ok(Value::Float(to_float64(&a[0]).ceil()))
    });
    m.insert("floor", |a| {
        arity("floor", a, 1)?;
        Ok(Value::Float(to_float64(&a[0]).floor()))
    });
    m.insert("round", |a| {
        arity_min("round", a, 2)?;
        let round_on = a.get(2).map_or(0.5, to_float64);
        let val = to_float64(&a[0]);
        let pow = 10f64.powf(int_arg(&a[1])? as f64);
        let digit = pow * val;
        let r = if digit.fract() >= round_on {
            digit.ceil()
        } else {
            digit.floor()
        };
        Ok(Value::Float(r / pow))
    });
    m.insert("bytes", |a| {
        arity("bytes", a, 1)?;
        parse_bytes(str_arg(&a[0])?)
            .map(|b| Value::Float(b as f64))
            .map_err(FuncError::Call)
    });
    for name in ["duration", "duration_seconds"] {
        m.insert(name, move |a| {
            arity(name, a, 1)?;
            parse_duration(str_arg(&a[0])?)
                .map(|d| Value::Float(crate::units::duration_seconds(d)))
                .map_err(FuncError::Call)
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn casts() {
        assert_eq!(to_int64(&Value::str("12.7")), 12);
        assert_eq!(to_int64(&Value::str("0x10")), 16);
        assert_eq!(to_int64(&Value::str("abc")), 0);
        assert_eq!(to_float64(&Value::str("1.5")), 1.5);
        assert_eq!(shortest(0.1 + 0.2), 0.3);
    }
}
