//! Go's `fmt` for template values: `Sprint`, `Sprintln`, `Sprintf`.
//!
//! Output matches Go for the verbs templates use (`%v %s %q %d %f %e %g %x %t %c %%`, flags
//! `+ - # 0 space`, width, precision, `*`, `%[n]`), including the error forms
//! `%!d(string=x)`, `%!s(MISSING)` and `%!(EXTRA …)`. Floats print as Go's `strconv` does: `%v`
//! is the shortest round-trip `%g`. Rust's exact float formatting provides the digits; the
//! layout (exponent form, trailing zeros) is Go's.

use std::fmt::Write;

pub use super::strconv::format_float;
use super::value::{ListKind, MapKind, Value};

/// `fmt.Sprint`: operands joined, with a space between two operands when neither is a string.
pub fn sprint(args: &[Value]) -> String {
    let mut out = String::new();
    for (i, a) in args.iter().enumerate() {
        let is_str = |v: &Value| matches!(v, Value::Str(_));
        if i > 0 && !is_str(a) && !is_str(&args[i - 1]) {
            out.push(' ');
        }
        out.push_str(&format_value(a, 'v', &Flags::default()));
    }
    out
}

/// `fmt.Sprintln`: operands always separated by spaces, then a newline.
pub fn sprintln(args: &[Value]) -> String {
    let parts: Vec<String> = args
        .iter()
        .map(|a| format_value(a, 'v', &Flags::default()))
        .collect();
    format!("{}\n", parts.join(" "))
}

/// How a value prints with `%v` (what `{{ . }}` writes, except that a missing value is
/// `<no value>` there).
pub fn to_string(v: &Value) -> String {
    format_value(v, 'v', &Flags::default())
}

#[derive(Default, Clone, Debug)]
struct Flags {
    plus: bool,
    minus: bool,
    sharp: bool,
    space: bool,
    zero: bool,
    width: Option<usize>,
    prec: Option<usize>,
}

/// `fmt.Sprintf`.
pub fn sprintf(format: &str, args: &[Value]) -> String {
    let mut out = String::new();
    let mut arg = 0usize;
    let mut reordered = false;
    let mut chars = format.char_indices().peekable();
    while let Some((_, c)) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let mut f = Flags::default();
        while let Some(&(_, c)) = chars.peek() {
            match c {
                '+' => f.plus = true,
                '-' => f.minus = true,
                '#' => f.sharp = true,
                ' ' => f.space = true,
                '0' => f.zero = true,
                _ => break,
            }
            chars.next();
        }
        // An explicit argument index, `%[2]d`.
        let mut bad_index = false;
        let mut take_index = |chars: &mut std::iter::Peekable<std::str::CharIndices>,
                              arg: &mut usize| {
            if chars.peek().map(|&(_, c)| c) != Some('[') {
                return;
            }
            chars.next();
            let mut n = String::new();
            while let Some(&(_, c)) = chars.peek() {
                chars.next();
                if c == ']' {
                    break;
                }
                n.push(c);
            }
            match n.parse::<usize>() {
                Ok(i) if i >= 1 && i <= args.len() => *arg = i - 1,
                _ => bad_index = true,
            }
            reordered = true;
        };
        take_index(&mut chars, &mut arg);
        if chars.peek().map(|&(_, c)| c) == Some('*') {
            chars.next();
            match args.get(arg) {
                Some(Value::Int(w)) if w.unsigned_abs() <= 1_000_000 => {
                    if *w < 0 {
                        f.minus = true;
                    }
                    f.width = Some(w.unsigned_abs() as usize);
                }
                _ => out.push_str("%!(BADWIDTH)"),
            }
            arg += 1;
        } else {
            f.width = read_num(&mut chars);
        }
        if chars.peek().map(|&(_, c)| c) == Some('.') {
            chars.next();
            take_index(&mut chars, &mut arg);
            if chars.peek().map(|&(_, c)| c) == Some('*') {
                chars.next();
                match args.get(arg) {
                    Some(Value::Int(p)) if (0..=1_000_000).contains(p) => {
                        f.prec = Some(*p as usize)
                    }
                    _ => out.push_str("%!(BADPREC)"),
                }
                arg += 1;
            } else {
                f.prec = Some(read_num(&mut chars).unwrap_or(0));
            }
        }
        take_index(&mut chars, &mut arg);
        let Some((_, verb)) = chars.next() else {
            out.push_str("%!(NOVERB)");
            break;
        };
        if verb == '%' {
            out.push('%');
            continue;
        }
        if verb == 'T' {
            let name = args.get(arg).map_or("%!T(MISSING)", Value::type_name);
            out.push_str(&pad(name, &f, false));
            arg += 1;
            continue;
        }
        if bad_index {
            let _ = write!(out, "%!{verb}(BADINDEX)");
            continue;
        }
        match args.get(arg) {
            None => {
                let _ = write!(out, "%!{verb}(MISSING)");
            }
            Some(v) => out.push_str(&format_value(v, verb, &f)),
        }
        arg += 1;
    }
    if !reordered && arg < args.len() {
        out.push_str("%!(EXTRA ");
        let extra: Vec<String> = args[arg..]
            .iter()
            .map(|v| match v {
                Value::Nil => "<nil>".to_string(),
                v => format!("{}={}", v.type_name(), to_string(v)),
            })
            .collect();
        out.push_str(&extra.join(", "));
        out.push(')');
    }
    out
}

fn read_num(chars: &mut std::iter::Peekable<std::str::CharIndices>) -> Option<usize> {
    let mut n: Option<usize> = None;
    while let Some(&(_, c)) = chars.peek() {
        let Some(d) = c.to_digit(10) else { break };
        // Go caps widths at 1e6; larger is a bad width, which we clamp instead of erroring.
        n = Some((n.unwrap_or(0) * 10 + d as usize).min(1_000_000));
        chars.next();
    }
    n
}

fn bad_verb(v: &Value, verb: char) -> String {
    match v {
        Value::Nil => format!("%!{verb}(<nil>)"),
        v => format!("%!{verb}({}={})", v.type_name(), to_string(v)),
    }
}

fn format_value(v: &Value, verb: char, f: &Flags) -> String {
    match v {
        Value::Nil => match verb {
            'v' | 's' => pad("<nil>", f, false),
            _ => bad_verb(v, verb),
        },
        Value::Bool(b) => match verb {
            'v' | 't' => pad(if *b { "true" } else { "false" }, f, false),
            _ => bad_verb(v, verb),
        },
        Value::Int(i) => format_int(*i, verb, f).unwrap_or_else(|| bad_verb(v, verb)),
        Value::Float(x) => format_float_verb(*x, verb, f).unwrap_or_else(|| bad_verb(v, verb)),
        Value::Str(s) | Value::Html(s) | Value::Url(s) => {
            format_str(s, verb, f).unwrap_or_else(|| bad_verb(v, verb))
        }
        Value::Time(t) => stringer(&t.to_string(), v, verb, f),
        Value::Duration(d) => match verb {
            'd' => format_int(d.0, verb, f).unwrap_or_default(),
            _ => stringer(&d.to_string(), v, verb, f),
        },
        Value::List(l) => {
            if matches!(l.kind, ListKind::Pairs) {
                return stringer(&super::methods::pairs_string(&l.items), v, verb, f);
            }
            let parts: Vec<String> = l.items.iter().map(|e| format_value(e, verb, f)).collect();
            format!("[{}]", parts.join(" "))
        }
        Value::Map(m) => {
            if m.kind == MapKind::Kv {
                return stringer(&super::methods::kv_string(m), v, verb, f);
            }
            let parts: Vec<String> = m
                .entries
                .iter()
                .map(|(k, e)| {
                    let key =
                        format_str(k, verb, f).unwrap_or_else(|| bad_verb(&Value::str(k), verb));
                    format!("{key}:{}", format_value(e, verb, f))
                })
                .collect();
            format!("map[{}]", parts.join(" "))
        }
        Value::Struct(s) => {
            let parts: Vec<String> = s
                .fields
                .iter()
                .map(|(_, e)| format_value(e, verb, f))
                .collect();
            let amp = if s.type_name.starts_with('*') {
                "&"
            } else {
                ""
            };
            format!("{amp}{{{}}}", parts.join(" "))
        }
    }
}

/// A value with a `String()` method: string verbs format its text.
fn stringer(text: &str, v: &Value, verb: char, f: &Flags) -> String {
    match verb {
        'v' | 's' | 'q' | 'x' | 'X' => format_str(text, verb, f).unwrap_or_default(),
        _ => bad_verb(v, verb),
    }
}

fn pad(s: &str, f: &Flags, numeric: bool) -> String {
    let width = f.width.unwrap_or(0);
    let len = s.chars().count();
    if len >= width {
        return s.to_string();
    }
    let fill = width - len;
    if f.minus {
        return format!("{s}{}", " ".repeat(fill));
    }
    if f.zero {
        // Zeros go after a sign.
        if numeric && (s.starts_with('-') || s.starts_with('+') || s.starts_with(' ')) {
            let (sign, rest) = s.split_at(1);
            return format!("{sign}{}{rest}", "0".repeat(fill));
        }
        return format!("{}{s}", "0".repeat(fill));
    }
    format!("{}{s}", " ".repeat(fill))
}

fn format_str(s: &str, verb: char, f: &Flags) -> Option<String> {
    let s: String = match f.prec {
        Some(p) if verb != 'q' => s.chars().take(p).collect(),
        _ => s.to_string(),
    };
    let text = match verb {
        'v' | 's' => s,
        'q' => quote(&s),
        'x' => hex_bytes(&s, false, f),
        'X' => hex_bytes(&s, true, f),
        _ => return None,
    };
    Some(pad(
        &text,
        &Flags {
            zero: f.zero && !f.minus,
            ..f.clone()
        },
        false,
    ))
}

fn hex_bytes(s: &str, upper: bool, f: &Flags) -> String {
    let mut out = String::new();
    for (i, b) in s.bytes().enumerate() {
        if f.space && i > 0 {
            out.push(' ');
        }
        if f.sharp && (f.space || i == 0) {
            out.push_str(if upper { "0X" } else { "0x" });
        }
        let _ = if upper {
            write!(out, "{b:02X}")
        } else {
            write!(out, "{b:02x}")
        };
    }
    out
}

/// Approximates Go's `strconv.IsPrint`: controls, format characters we know of, private-use
/// and noncharacter code points are not printable.
fn is_print(c: char) -> bool {
    let u = c as u32;
    !(c.is_control()
        || matches!(u, 0xad | 0x200b..=0x200f | 0x2028..=0x202e | 0x2060..=0x206f | 0xfeff)
        || (0xe000..=0xf8ff).contains(&u)
        || u >= 0xf0000
        || (0xfdd0..=0xfdef).contains(&u)
        || (u & 0xfffe) == 0xfffe)
}

/// Go's `strconv.Quote`.
pub fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{b}' => out.push_str("\\v"),
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c if !is_print(c) => {
                let _ = if (c as u32) < 0x10000 {
                    write!(out, "\\u{:04x}", c as u32)
                } else {
                    write!(out, "\\U{:08x}", c as u32)
                };
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn format_int(i: i64, verb: char, f: &Flags) -> Option<String> {
    let neg = i < 0;
    let u = i.unsigned_abs();
    let mut digits = match verb {
        'd' | 'v' => u.to_string(),
        'b' => format!("{u:b}"),
        'o' | 'O' => format!("{u:o}"),
        'x' => format!("{u:x}"),
        'X' => format!("{u:X}"),
        'c' => return Some(pad(&rune(i).to_string(), f, false)),
        'q' => {
            let c = rune(i);
            let q = match c {
                '\'' => "'\\''".to_string(),
                '"' => "'\"'".to_string(),
                c => format!(
                    "'{}'",
                    &quote(&c.to_string())[1..quote(&c.to_string()).len() - 1]
                ),
            };
            return Some(pad(&q, f, false));
        }
        'U' => return Some(pad(&format!("U+{:04X}", i as u64), f, false)),
        _ => return None,
    };
    if let Some(p) = f.prec {
        if p == 0 && u == 0 {
            digits.clear();
        } else if digits.len() < p {
            digits = format!("{}{digits}", "0".repeat(p - digits.len()));
        }
    }
    let prefix = match verb {
        'x' if f.sharp => "0x",
        'X' if f.sharp => "0X",
        'o' if f.sharp && !digits.starts_with('0') => "0",
        'O' => "0o",
        'b' if f.sharp => "0b",
        _ => "",
    };
    let sign = if neg {
        "-"
    } else if f.plus {
        "+"
    } else if f.space {
        " "
    } else {
        ""
    };
    // Go ignores the zero flag when a precision is given for integers.
    let flags = Flags {
        zero: f.zero && f.prec.is_none() && !f.minus,
        ..f.clone()
    };
    let body = format!("{prefix}{digits}");
    if flags.zero {
        let width = f.width.unwrap_or(0);
        let len = sign.len() + body.chars().count();
        if len < width {
            return Some(format!("{sign}{}{body}", "0".repeat(width - len)));
        }
    }
    Some(pad(&format!("{sign}{body}"), &flags, true))
}

/// A code point as Go's `%c` takes it: out-of-range values are U+FFFD.
fn rune(i: i64) -> char {
    u32::try_from(i)
        .ok()
        .and_then(char::from_u32)
        .unwrap_or('\u{fffd}')
}

/// Go's `#` flag on floats: always a decimal point, and `%g`/`%v` keep trailing zeros up to
/// the precision (6 when none is given).
fn sharp_float(body: &str, verb: char, prec: Option<usize>) -> String {
    let (sign, num) = match body.strip_prefix('-') {
        Some(rest) => ("-", rest),
        None => ("", body),
    };
    let mut digits: i64 = match verb {
        'v' | 'g' | 'G' => prec.map_or(6, |p| p as i64),
        _ => 0,
    };
    let (mant, tail) = match num.find(['e', 'E']) {
        Some(i) => num.split_at(i),
        None => (num, ""),
    };
    let mut seen_nonzero = false;
    for c in mant.chars().filter(char::is_ascii_digit) {
        if c != '0' {
            seen_nonzero = true;
        }
        if seen_nonzero {
            digits -= 1;
        }
    }
    let mut out = format!("{sign}{mant}");
    if !mant.contains('.') {
        if mant == "0" {
            digits -= 1;
        }
        out.push('.');
    }
    for _ in 0..digits.max(0) {
        out.push('0');
    }
    out.push_str(tail);
    out
}

fn format_float_verb(x: f64, verb: char, f: &Flags) -> Option<String> {
    let body = match verb {
        'v' => format_float(x, 'g', f.prec),
        'e' | 'E' | 'f' | 'F' => format_float(x, verb, Some(f.prec.unwrap_or(6))),
        'g' | 'G' => format_float(x, verb, f.prec),
        _ => return None,
    };
    let special = x.is_nan() || x.is_infinite();
    let body = if f.sharp && !special {
        sharp_float(&body, verb, f.prec)
    } else {
        body
    };
    let body = if special {
        // Infinities keep their sign; NaN gets one only when asked.
        if x.is_nan() && (f.plus || f.space) {
            format!("{}NaN", if f.plus { '+' } else { ' ' })
        } else if x.is_infinite() && x > 0.0 && !f.plus {
            if f.space {
                " Inf".to_string()
            } else {
                "+Inf".to_string()
            }
        } else {
            body
        }
    } else if !body.starts_with('-') && f.plus {
        format!("+{body}")
    } else if !body.starts_with('-') && f.space {
        format!(" {body}")
    } else {
        body
    };
    let flags = Flags {
        zero: f.zero && !f.minus && !special,
        ..f.clone()
    };
    Some(pad(&body, &flags, true))
}
