//! Go's `strconv.FormatFloat` for the `e`, `f` and `g` formats, shortest or with a precision.
//! Rust's exact float formatting gives the digits; the layout is Go's.

use std::fmt::Write;

/// Go's `strconv.FormatFloat(x, fmt, prec, 64)` for `fmt` in `e E f F g G`; `prec: None` is
/// the shortest representation that round-trips (Go's `-1`).
pub fn format_float(x: f64, fmt: char, prec: Option<usize>) -> String {
    if x.is_nan() {
        return "NaN".to_string();
    }
    if x.is_infinite() {
        return if x > 0.0 { "+Inf" } else { "-Inf" }.to_string();
    }
    let neg = x.is_sign_negative();
    let a = x.abs();
    let sign = if neg { "-" } else { "" };
    let upper = fmt.is_ascii_uppercase();
    match fmt.to_ascii_lowercase() {
        'f' => match prec {
            Some(p) => format!("{sign}{a:.p$}"),
            None => {
                let (d, dp) = shortest_digits(a);
                format!(
                    "{sign}{}",
                    layout_f(&d, dp, (d.len() as i32 - dp).max(0) as usize)
                )
            }
        },
        'e' => {
            let (d, dp) = match prec {
                Some(p) => rounded_digits(a, p + 1),
                None => shortest_digits(a),
            };
            let p = prec.unwrap_or(d.len().saturating_sub(1));
            format!("{sign}{}", layout_e(&d, dp, p, upper))
        }
        _ => {
            let shortest = prec.is_none();
            let (d, dp) = match prec {
                Some(p) => {
                    let (mut d, dp) = rounded_digits(a, p.max(1));
                    while d.len() > 1 && d.ends_with('0') {
                        d.pop();
                    }
                    (d, dp)
                }
                None => shortest_digits(a),
            };
            let nd = d.len() as i32;
            let mut p = prec.map_or(nd, |p| p.max(1) as i32);
            let mut eprec = p;
            if eprec > nd && nd >= dp {
                eprec = nd;
            }
            if shortest {
                eprec = 6;
            }
            let exp = dp - 1;
            if exp < -4 || exp >= eprec {
                if p > nd {
                    p = nd;
                }
                return format!("{sign}{}", layout_e(&d, dp, (p - 1).max(0) as usize, upper));
            }
            if p > dp {
                p = nd;
            }
            format!("{sign}{}", layout_f(&d, dp, (p - dp).max(0) as usize))
        }
    }
}

/// Decimal digits (no leading zeros, at least one) and the decimal point position of `a >= 0`:
/// the value is `0.d1d2… × 10^dp`.
fn shortest_digits(a: f64) -> (String, i32) {
    split_exp(&format!("{a:e}"))
}

fn rounded_digits(a: f64, n: usize) -> (String, i32) {
    split_exp(&format!("{a:.*e}", n - 1))
}

fn split_exp(s: &str) -> (String, i32) {
    let (mant, exp) = s.split_once('e').unwrap_or((s, "0"));
    let digits: String = mant.chars().filter(char::is_ascii_digit).collect();
    let exp: i32 = exp.parse().unwrap_or(0);
    if digits.bytes().all(|b| b == b'0') {
        return ("0".to_string(), 1);
    }
    (digits, exp + 1)
}

fn layout_e(d: &str, dp: i32, prec: usize, upper: bool) -> String {
    let b = d.as_bytes();
    let mut out = String::new();
    out.push(b[0] as char);
    if prec > 0 {
        out.push('.');
        for i in 1..=prec {
            out.push(b.get(i).map_or('0', |&c| c as char));
        }
    }
    let exp = if d == "0" { 0 } else { dp - 1 };
    out.push(if upper { 'E' } else { 'e' });
    out.push(if exp < 0 { '-' } else { '+' });
    let _ = write!(out, "{:02}", exp.abs());
    out
}

fn layout_f(d: &str, dp: i32, prec: usize) -> String {
    let b = d.as_bytes();
    let digit = |i: i32| -> char {
        if i >= 0 && (i as usize) < b.len() {
            b[i as usize] as char
        } else {
            '0'
        }
    };
    let mut out = String::new();
    if dp > 0 {
        for i in 0..dp {
            out.push(digit(i));
        }
    } else {
        out.push('0');
    }
    if prec > 0 {
        out.push('.');
        for i in 0..prec as i32 {
            out.push(digit(dp + i));
        }
    }
    out
}
