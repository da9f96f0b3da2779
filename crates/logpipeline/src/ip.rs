//! `ip("…")` matching, for the `|= ip(…)` line filter and the `label = ip(…)` label filter.
//!
//! A pattern is a single address, a CIDR prefix (`192.168.0.0/16`) or a range
//! (`192.168.4.5-192.168.4.20`), IPv4 or IPv6, parsed as Go's `netip` (no leading zeros in
//! IPv4 parts; an IPv4-mapped IPv6 address is IPv6 and never matches an IPv4 pattern). A line
//! (or label value) matches when any address in it matches: like Loki, we scan for places
//! that look like the start of an address (a digit and a dot within the next three bytes, or a
//! hex run ending in `:`), take the longest run of address characters there and parse it.

use std::net::IpAddr;
use std::str::FromStr;

use thiserror::Error;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("ip: invalid pattern: {}", crate::units::go_quote(.0))]
pub struct IpPatternError(pub String);

#[derive(Debug, Clone, PartialEq, Eq)]
enum Matcher {
    Addr(IpAddr),
    Prefix(IpAddr, u8),
    Range(IpAddr, IpAddr),
}

/// A compiled `ip("…")` pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IpMatcher {
    matcher: Matcher,
}

const IPV4_CHARS: &[u8] = b"0123456789.";
const IPV6_CHARS: &[u8] = b"0123456789abcdefABCDEF:.";

impl IpMatcher {
    pub fn new(pattern: &str) -> Result<IpMatcher, IpPatternError> {
        let err = || IpPatternError(pattern.to_string());
        if let Ok(a) = IpAddr::from_str(pattern) {
            return Ok(IpMatcher {
                matcher: Matcher::Addr(a),
            });
        }
        if let Some((addr, bits)) = pattern.split_once('/') {
            let a = IpAddr::from_str(addr).map_err(|_| err())?;
            let max = if a.is_ipv4() { 32 } else { 128 };
            let valid_digits = !bits.is_empty()
                && bits.bytes().all(|c| c.is_ascii_digit())
                && (bits == "0" || !bits.starts_with('0'));
            let n: u8 = bits.parse().map_err(|_| err())?;
            if !valid_digits || n > max {
                return Err(err());
            }
            return Ok(IpMatcher {
                matcher: Matcher::Prefix(a, n),
            });
        }
        if let Some((from, to)) = pattern.split_once('-') {
            let from = IpAddr::from_str(from).map_err(|_| err())?;
            let to = IpAddr::from_str(to).map_err(|_| err())?;
            if from.is_ipv4() != to.is_ipv4() || from > to {
                return Err(err());
            }
            return Ok(IpMatcher {
                matcher: Matcher::Range(from, to),
            });
        }
        Err(err())
    }

    fn contains(&self, ip: IpAddr) -> bool {
        match self.matcher {
            Matcher::Addr(a) => a == ip,
            Matcher::Range(from, to) => from.is_ipv4() == ip.is_ipv4() && from <= ip && ip <= to,
            Matcher::Prefix(net, bits) => match (net, ip) {
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
        }
    }

    /// Whether any address found in `text` matches.
    pub fn matches_in(&self, text: &[u8]) -> bool {
        let n = text.len();
        let at = |i: usize| text.get(i).copied().unwrap_or(0);
        let mut i = 0;
        while i < n {
            let charset = if i + 3 < n && ipv4_hint(&text[i..i + 4]) {
                Some(IPV4_CHARS)
            } else if ipv6_hint([at(i), at(i + 1), at(i + 2), at(i + 3), at(i + 4)]) {
                Some(IPV6_CHARS)
            } else {
                None
            };
            if let Some(charset) = charset {
                let len = text[i..]
                    .iter()
                    .position(|c| !charset.contains(c))
                    .unwrap_or(n - i);
                let parsed = std::str::from_utf8(&text[i..i + len])
                    .ok()
                    .and_then(|s| IpAddr::from_str(s).ok());
                if parsed.is_some_and(|ip| self.contains(ip)) {
                    return true;
                }
                // Loki skips the run and one more byte.
                i += len;
            }
            i += 1;
        }
        false
    }
}

fn ipv4_hint(p: &[u8]) -> bool {
    p[0].is_ascii_digit() && (p[1] == b'.' || p[2] == b'.' || p[3] == b'.')
}

fn ipv6_hint(p: [u8; 5]) -> bool {
    let h = |c: u8| c.is_ascii_hexdigit();
    (p[0] == b':' && p[1] == b':' && h(p[2]))
        || (h(p[0]) && p[1] == b':')
        || (h(p[0]) && h(p[1]) && p[2] == b':')
        || (h(p[0]) && h(p[1]) && h(p[2]) && p[3] == b':')
        || (h(p[0]) && h(p[1]) && h(p[2]) && h(p[3]) && p[4] == b':')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns() {
        let m = IpMatcher::new("192.168.0.0/16").unwrap();
        assert!(m.matches_in(b"from 192.168.4.5 port 22"));
        assert!(!m.matches_in(b"from 10.0.0.1 port 22"));
        let m = IpMatcher::new("192.168.4.5-192.168.4.20").unwrap();
        assert!(m.matches_in(b"x=192.168.4.10"));
        assert!(!m.matches_in(b"x=192.168.4.21"));
        let m = IpMatcher::new("::1").unwrap();
        assert!(m.matches_in(b"addr ::1 ok"));
        let m = IpMatcher::new("2001:db8::/32").unwrap();
        assert!(m.matches_in(b"[2001:db8::1]:80"));
        assert!(IpMatcher::new("192.168.01.1").is_err());
        assert!(IpMatcher::new("10.0.0.2-10.0.0.1").is_err());
        assert_eq!(
            IpMatcher::new("foo").unwrap_err().to_string(),
            "ip: invalid pattern: \"foo\""
        );
    }
}
