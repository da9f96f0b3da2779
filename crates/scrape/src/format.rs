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
    let Some(media_type) = media_type(content_type) else {
        return match fallback {
            None => Err(format!(
                "cannot parse Content-Type {content_type:?} and no fallback_scrape_protocol for target"
            )),
            Some(p) => Ok((
                BodyFormat::of_protocol(p),
                Some(format!(
                    "could not parse received Content-Type {content_type:?}, using fallback_scrape_protocol {:?}",
                    fallback_name(p)
                )),
            )),
        };
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

/// The media type of a `Content-Type`, lower-cased, as Go's `mime.ParseMediaType` reads it;
/// `None` when it is not `type/subtype` of token characters.
fn media_type(content_type: &str) -> Option<String> {
    let mt = content_type.split(';').next().unwrap_or("").trim();
    let (ty, sub) = mt.split_once('/')?;
    let token = |s: &str| {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
    };
    (token(ty) && token(sub)).then(|| mt.to_ascii_lowercase())
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
        assert!(negotiate("garbage", None)
            .unwrap_err()
            .starts_with("cannot parse Content-Type \"garbage\""));
        assert!(
            negotiate("garbage", Some(ScrapeProtocol::OpenMetricsText1_0_0))
                .unwrap()
                .1
                .unwrap()
                .starts_with("could not parse received Content-Type")
        );
    }
}
