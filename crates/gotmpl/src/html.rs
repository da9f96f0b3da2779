//! The part of Go's `html/template` that notification templates need: values printed by
//! actions are escaped as its `htmlEscaper` does in text and quoted-attribute context, and
//! HTML comments in the template text are left out. Not here: the contextual escapers for
//! URLs (normalisation, `#ZgotmplZ`), JavaScript and CSS.

/// What `html/template` prints for a plain value in text and quoted-attribute context: its
/// `htmlEscaper` replaces `"&'+<>` with entities and NUL with U+FFFD.
pub(super) fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\0' => out.push('\u{FFFD}'),
            '"' => out.push_str("&#34;"),
            '&' => out.push_str("&amp;"),
            '\'' => out.push_str("&#39;"),
            '+' => out.push_str("&#43;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
    }
    out
}

/// The pieces of `text` outside HTML comments. `in_comment` says whether `text` starts inside
/// one (a comment may span actions) and is left saying whether it ends inside one.
pub(super) fn outside_comments<'t>(mut text: &'t str, in_comment: &mut bool) -> Vec<&'t str> {
    let mut out = Vec::new();
    loop {
        if *in_comment {
            match text.find("-->") {
                Some(end) => {
                    text = &text[end + 3..];
                    *in_comment = false;
                }
                None => return out,
            }
        }
        match text.find("<!--") {
            Some(start) => {
                out.push(&text[..start]);
                text = &text[start + 4..];
                *in_comment = true;
            }
            None => {
                out.push(text);
                return out;
            }
        }
    }
}
