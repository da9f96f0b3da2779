//! Which parser reads a scraped body: the `Content-Type` the target sent, or the job's
//! `fallback_scrape_protocol` when that is missing, unparsable or unknown — Prometheus 3's
//! rules (`textparse.New`), with its messages.
//!
//! Not here: the `Accept` header (built once per job in `from_config` with
//! [`crate::fetch::accept_header`]) and the parsers themselves (`bongsu_exposition`).

use bongsu_config::ScrapeProtocol;
use bongsu_exposition::nhcb::NhcbParser;
use bongsu_exposition::proto::{ProtoError, ProtoOptions, ProtoParser};
use bongsu_exposition::{Entry, Format, Parser};

/// The format of a scraped body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyFormat {
    /// A text format (Prometheus text or OpenMetrics).
    Text(Format),
    /// The delimited protobuf format.
    Proto,
}

impl BodyFormat {
    /// The format of a recognised media type (lower-case, without parameters).
    fn from_media_type(media_type: &str) -> Option<BodyFormat> {
        Some(match media_type {
            "application/openmetrics-text" => BodyFormat::Text(Format::OpenMetrics),
            "text/plain" => BodyFormat::Text(Format::PrometheusText),
            bongsu_exposition::proto::MEDIA_TYPE => BodyFormat::Proto,
            _ => return None,
        })
    }

    /// The format a `fallback_scrape_protocol` names.
    pub fn of_protocol(p: ScrapeProtocol) -> BodyFormat {
        match p {
            ScrapeProtocol::PrometheusProto => BodyFormat::Proto,
            ScrapeProtocol::PrometheusText0_0_4 | ScrapeProtocol::PrometheusText1_0_0 => {
                BodyFormat::Text(Format::PrometheusText)
            }
            ScrapeProtocol::OpenMetricsText0_0_1 | ScrapeProtocol::OpenMetricsText1_0_0 => {
                BodyFormat::Text(Format::OpenMetrics)
            }
        }
    }
}

/// The job's fallback protocol as Prometheus names it in messages (its media type).
fn fallback_name(p: ScrapeProtocol) -> &'static str {
    let header = p.header();
    header.split(';').next().unwrap_or(header)
}

/// What a body's `Content-Type` means: its format, and a warning when the fallback was used
/// (Prometheus logs it at debug). An error fails the scrape.
pub fn negotiate(
    content_type: &str,
    fallback: Option<ScrapeProtocol>,
) -> Result<(BodyFormat, Option<String>), String> {
    if content_type.is_empty() {
        return match fallback {
            None => Err("non-compliant scrape target sending blank Content-Type and no fallback_scrape_protocol specified for target".into()),
            Some(p) => Ok((
                BodyFormat::of_protocol(p),
                Some(format!("non-compliant scrape target sending blank Content-Type, using fallback_scrape_protocol {:?}", fallback_name(p))),
            )),
        };
    }
    // Go joins the parse error to the message with a newline (`errors.Join`).
    let media_type = match media_type(content_type) {
        Ok(m) => m,
        Err(mime) => {
            return match fallback {
                None => Err(format!(
                    "cannot parse Content-Type {content_type:?} and no fallback_scrape_protocol for target\n{mime}"
                )),
                Some(p) => Ok((
                    BodyFormat::of_protocol(p),
                    Some(format!(
                        "could not parse received Content-Type {content_type:?}, using fallback_scrape_protocol {:?}\n{mime}",
                        fallback_name(p)
                    )),
                )),
            }
        }
    };
    if let Some(f) = BodyFormat::from_media_type(&media_type) {
        return Ok((f, None));
    }
    match fallback {
        None => Err(format!(
            "received unsupported Content-Type {content_type:?} and no fallback_scrape_protocol specified for target"
        )),
        Some(p) => Ok((
            BodyFormat::of_protocol(p),
            Some(format!(
                "received unsupported Content-Type {content_type:?}, using fallback_scrape_protocol {:?}",
                fallback_name(p)
            )),
        )),
    }
}

/// The media type of a `Content-Type`, lower-cased, as Go's `mime.ParseMediaType` reads it:
/// a token, or `type/subtype` of tokens, then `;`-separated `name=value` parameters (value a
/// token or a quoted string, trailing semicolons allowed). The error is Go's.
fn media_type(content_type: &str) -> Result<String, &'static str> {
    let (base, params) = match content_type.split_once(';') {
        Some((b, p)) => (b, Some(p)),
        None => (content_type, None),
    };
    let mt = base.trim().to_ascii_lowercase();
    let (ty, rest) = split_token(&mt);
    if ty.is_empty() {
        return Err("mime: no media type");
    }
    if !rest.is_empty() {
        let Some(rest) = rest.strip_prefix('/') else {
            return Err("mime: expected slash after first token");
        };
        let (sub, rest) = split_token(rest);
        if sub.is_empty() {
            return Err("mime: expected token after slash");
        }
        if !rest.is_empty() {
            return Err("mime: unexpected content after media subtype");
        }
    }
    let params: Vec<&str> = params.map_or(Vec::new(), |p| p.split(';').collect());
    let mut names: Vec<String> = Vec::new();
    for (i, p) in params.iter().enumerate() {
        let p = p.trim();
        if p.is_empty() {
            if params[i..].iter().all(|rest| rest.trim().is_empty()) {
                break;
            }
            return Err("mime: invalid media parameter");
        }
        let valid = p.split_once('=').is_some_and(|(name, value)| {
            let value = value.trim();
            let quoted = value.len() >= 2 && value.starts_with('"') && value.ends_with('"');
            is_token(name.trim()) && (quoted || is_token(value))
        });
        if !valid {
            return Err("mime: invalid media parameter");
        }
        let name = p
            .split('=')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        if names.contains(&name) {
            return Err("mime: duplicate parameter name");
        }
        names.push(name);
    }
    Ok(mt)
}

/// The leading token of `s` and the rest.
fn split_token(s: &str) -> (&str, &str) {
    let end = s.bytes().position(|b| !is_token_byte(b)).unwrap_or(s.len());
    s.split_at(end)
}

fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// An RFC 7230 token (what Go's `mime` package accepts as one).
fn is_token(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(is_token_byte)
}

/// A parser of either kind, yielding the same entries.
pub(crate) enum BodyParser<'a> {
    Text(Parser<'a>),
    /// Text with `convert_classic_histograms_to_nhcb`.
    Nhcb(Box<NhcbParser<'a>>),
    Proto(ProtoParser<'a>),
}

impl<'a> BodyParser<'a> {
    pub(crate) fn new(body: &'a [u8], format: BodyFormat, opts: ProtoOptions) -> BodyParser<'a> {
        match format {
            BodyFormat::Text(f) if opts.convert_nhcb => BodyParser::Nhcb(Box::new(
                NhcbParser::new(Parser::new(body, f), opts.keep_classic),
            )),
            BodyFormat::Text(f) => BodyParser::Text(Parser::new(body, f)),
            BodyFormat::Proto => BodyParser::Proto(ProtoParser::new(body, opts)),
        }
    }

    /// The next entry; `Ok(None)` at the end.
    pub(crate) fn next_entry(&mut self) -> Result<Option<Entry<'_>>, String> {
        match self {
            BodyParser::Text(p) => p.next_entry().map_err(|e| e.to_string()),
            BodyParser::Nhcb(p) => p.next_entry().map_err(|e| e.to_string()),
            BodyParser::Proto(p) => p.next_entry().map_err(|ProtoError(e)| e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_types_and_fallbacks() {
        let text = BodyFormat::Text(Format::PrometheusText);
        assert_eq!(
            negotiate("text/plain; version=0.0.4", None),
            Ok((text, None))
        );
        assert_eq!(
            negotiate(
                "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited",
                None
            ),
            Ok((BodyFormat::Proto, None))
        );
        assert_eq!(
            negotiate("Application/OpenMetrics-Text; version=1.0.0", None),
            Ok((BodyFormat::Text(Format::OpenMetrics), None))
        );
        assert_eq!(
            negotiate("", None).unwrap_err(),
            "non-compliant scrape target sending blank Content-Type and no fallback_scrape_protocol specified for target"
        );
        assert_eq!(
            negotiate("", Some(ScrapeProtocol::PrometheusText0_0_4)).unwrap(),
            (text, Some("non-compliant scrape target sending blank Content-Type, using fallback_scrape_protocol \"text/plain\"".into()))
        );
        assert_eq!(
            negotiate("application/json", None).unwrap_err(),
            "received unsupported Content-Type \"application/json\" and no fallback_scrape_protocol specified for target"
        );
        assert_eq!(
            negotiate("application/json", Some(ScrapeProtocol::PrometheusProto))
                .unwrap()
                .0,
            BodyFormat::Proto
        );
        // A bare token is a media type to Go, just not a known one.
        assert_eq!(
            negotiate("garbage", None).unwrap_err(),
            "received unsupported Content-Type \"garbage\" and no fallback_scrape_protocol specified for target"
        );
        assert_eq!(
            negotiate("text/plain; version", None).unwrap_err(),
            "cannot parse Content-Type \"text/plain; version\" and no fallback_scrape_protocol for target\nmime: invalid media parameter"
        );
        assert_eq!(
            negotiate("a/b/c", None).unwrap_err(),
            "cannot parse Content-Type \"a/b/c\" and no fallback_scrape_protocol for target\nmime: unexpected content after media subtype"
        );
        assert!(
            negotiate("a/b/c", Some(ScrapeProtocol::OpenMetricsText1_0_0))
                .unwrap()
                .1
                .unwrap()
                .starts_with("could not parse received Content-Type")
        );
        assert_eq!(
            negotiate("text/plain; charset=\"utf-8\";", None),
            Ok((text, None))
        );
    }
}
