//! Reading the envelope addresses out of a rendered `from`/`to` (RFC 5322 address lists,
//! as Go's `mail.ParseAddressList` reads them for upstream).
//!
//! Covers what address headers carry in practice: `a@b`, `Name <a@b>`, `"Quoted, Name"
//! <a@b>`, comments in parentheses, groups of these separated by commas; quoted local parts
//! are unquoted. It is more lenient than Go about the characters of names and domains, and
//! its error texts are Go's for the common mistakes only.

/// The `local@domain` of each address in `list`.
pub fn parse_list(list: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    for item in split_top_level(list)? {
        out.push(parse_one(&item)?);
    }
    Ok(out)
}

/// Splits at commas outside quotes, angle brackets and comments; comments are dropped.
fn split_top_level(list: &str) -> Result<Vec<String>, String> {
    let mut items = Vec::new();
    let mut cur = String::new();
    let (mut quoted, mut angle, mut comment) = (false, false, 0usize);
    let mut chars = list.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' if quoted => {
                cur.push(c);
                if let Some(n) = chars.next() {
                    cur.push(n);
                }
                continue;
            }
            '"' if comment == 0 => quoted = !quoted,
            '(' if !quoted => {
                comment += 1;
                continue;
            }
            ')' if !quoted && comment > 0 => {
                comment -= 1;
                continue;
            }
            _ if comment > 0 => continue,
            '<' if !quoted => angle = true,
            '>' if !quoted => angle = false,
            ',' if !quoted && !angle => {
                items.push(std::mem::take(&mut cur));
                continue;
            }
            _ => {}
        }
        cur.push(c);
    }
    if quoted {
        return Err("mail: missing closing quote".into());
    }
    if comment > 0 {
        return Err("mail: misformatted parenthetical comment".into());
    }
    items.push(cur);
    Ok(items)
}

fn parse_one(item: &str) -> Result<String, String> {
    let item = item.trim();
    if item.is_empty() {
        return Err("mail: no address".into());
    }
    let spec = match item.rfind('<') {
        Some(open) if !in_quotes(item, open) => {
            let rest = &item[open + 1..];
            let close = rest.find('>').ok_or("mail: unclosed angle-addr")?;
            if !rest[close + 1..].trim().is_empty() {
                return Err(format!(
                    "mail: expected single address, got {:?}",
                    &rest[close + 1..]
                ));
            }
            &rest[..close]
        }
        _ => item,
    };
    addr_spec(spec.trim())
}

fn in_quotes(s: &str, at: usize) -> bool {
    s[..at].matches('"').count() % 2 == 1
}

fn addr_spec(spec: &str) -> Result<String, String> {
    let at = spec.rfind('@').ok_or("mail: missing @ in addr-spec")?;
    let (local, domain) = (&spec[..at], &spec[at + 1..]);
    let local = match local.strip_prefix('"').and_then(|l| l.strip_suffix('"')) {
        Some(q) => q.replace("\\\"", "\"").replace("\\\\", "\\"),
        None if local.is_empty() || local.contains(char::is_whitespace) => {
            return Err("mail: invalid string".into())
        }
        None => local.to_string(),
    };
    if domain.is_empty() || domain.contains(char::is_whitespace) {
        return Err("mail: invalid domain".into());
    }
    Ok(format!("{local}@{domain}"))
}

#[cfg(test)]
mod tests {
    use super::parse_list;

    #[test]
    fn address_lists() {
        let ok = |s: &str| parse_list(s).unwrap_or_else(|e| panic!("{s:?}: {e}"));
        assert_eq!(ok("a@example.com"), ["a@example.com"]);
        assert_eq!(
            ok(r#"Alert Manager <am@example.com>, "Ops, Team" <ops@example.com> , b@x (comment)"#),
            ["am@example.com", "ops@example.com", "b@x"]
        );
        assert_eq!(ok(r#""odd local"@example.com"#), ["odd local@example.com"]);
        for (bad, err) in [
            ("", "mail: no address"),
            ("a@b,", "mail: no address"),
            ("nobody", "mail: missing @ in addr-spec"),
            ("Name <a@b", "mail: unclosed angle-addr"),
            ("\"open <a@b>", "mail: missing closing quote"),
        ] {
            assert_eq!(parse_list(bad), Err(err.to_string()), "{bad:?}");
        }
    }
}
