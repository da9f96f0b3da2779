//! The argument of `ip("…")`: one address, a CIDR prefix or an inclusive range `a-b`, read
//! as Go's `netip.ParseAddr`, `netip.ParsePrefix` and `netipx.ParseIPRange` read them, with
//! Loki's error text.
//!
//! Not here: finding addresses inside a line (the evaluator's job).

use std::net::IpAddr;

/// A parsed `ip("…")` pattern.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IpPattern {
    Addr(IpAddr),
    /// Address and prefix length (host bits may be set, as Go allows).
    Prefix(IpAddr, u8),
    /// Inclusive, same family, `from <= to`.
    Range(IpAddr, IpAddr),
}

impl IpPattern {
    /// Whether `ip` is in the pattern.
    pub fn contains(&self, ip: IpAddr) -> bool {
        match *self {
            IpPattern::Addr(a) => a == ip,
            IpPattern::Prefix(net, bits) => match (net, ip) {
                (IpAddr::V4(n), IpAddr::V4(i)) => {
                    let mask = u32::MAX.checked_shl(32 - u32::from(bits)).unwrap_or(0);
                    u32::from(n) & mask == u32::from(i) & mask
                }
                (IpAddr::V6(n), IpAddr::V6(i)) => {
                    let mask = u128::MAX.checked_shl(128 - u32::from(bits)).unwrap_or(0);
                    u128::from(n) & mask == u128::from(i) & mask
                }
                _ => false,
            },
            IpPattern::Range(from, to) => match (from, to, ip) {
                (IpAddr::V4(f), IpAddr::V4(t), IpAddr::V4(i)) => f <= i && i <= t,
                (IpAddr::V6(f), IpAddr::V6(t), IpAddr::V6(i)) => f <= i && i <= t,
                _ => false,
            },
        }
    }
}

/// Loki's `ip: invalid pattern: "…"` on failure.
pub fn parse(pattern: &str) -> Result<IpPattern, String> {
    let invalid = || format!("ip: invalid pattern: {}", crate::go::quote(pattern));
    if let Ok(a) = pattern.parse::<IpAddr>() {
        return Ok(IpPattern::Addr(a));
    }
    if let Some((addr, bits)) = pattern.split_once('/') {
        let a: IpAddr = addr.parse().map_err(|_| invalid())?;
        let max = if a.is_ipv4() { 32 } else { 128 };
        // Go wants a plain decimal without sign or leading zeros.
        let ok_digits = !bits.is_empty()
            && bits.bytes().all(|b| b.is_ascii_digit())
            && (bits == "0" || !bits.starts_with('0'));
        let n: u8 = bits
            .parse()
            .ok()
            .filter(|n| ok_digits && *n <= max)
            .ok_or_else(invalid)?;
        return Ok(IpPattern::Prefix(a, n));
    }
    if let Some((from, to)) = pattern.split_once('-') {
        let f: IpAddr = from.parse().map_err(|_| invalid())?;
        let t: IpAddr = to.parse().map_err(|_| invalid())?;
        let ordered = match (f, t) {
            (IpAddr::V4(a), IpAddr::V4(b)) => a <= b,
            (IpAddr::V6(a), IpAddr::V6(b)) => a <= b,
            _ => false,
        };
        if ordered {
            return Ok(IpPattern::Range(f, t));
        }
    }
    Err(invalid())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms() {
        let p = parse("192.168.4.5/16").unwrap();
        assert!(p.contains("192.168.0.1".parse().unwrap()));
        assert!(!p.contains("192.169.0.1".parse().unwrap()));
        let r = parse("2001:db8::1-2001:db8::8").unwrap();
        assert!(r.contains("2001:db8::5".parse().unwrap()));
        assert_eq!(parse("x").unwrap_err(), r#"ip: invalid pattern: "x""#);
        assert!(parse("10.0.0.9-10.0.0.1").is_err());
    }
}
