//! Malformed input of every kind never panics: random bytes into each decoder, random text
//! into the label parser; and label strings Loki prints parse back to the same labels.

use proptest::prelude::*;

use super::limits;
use crate::logs::body::{decompress, decompressed_estimate, Encoding, Outer};
use crate::logs::distributor::normalize_metadata;
use crate::logs::gofmt::labels_string;
use crate::logs::selector::parse_labels;
use crate::logs::{elasticsearch, loki, otlp};

const MAX: usize = 1 << 20;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn decoders_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let discover = limits().discover_service_name;
        for format in [loki::Format::Protobuf, loki::Format::Json] {
            for version in [loki::Version::V1, loki::Version::Legacy] {
                let _ = loki::decode(format, version, &bytes, &discover);
            }
        }
        for format in [otlp::Format::Protobuf, otlp::Format::Json] {
            let _ = otlp::decode(format, &bytes, &limits(), 0);
        }
        let opts = elasticsearch::BulkOptions::new(&limits().elasticsearch_label_fields);
        let _ = elasticsearch::decode(&bytes, &opts, &discover, 0);
        for encoding in [
            Encoding::Identity,
            Encoding::Snappy,
            Encoding::Gzip,
            Encoding::Deflate,
            Encoding::Wrapped(Outer::Gzip),
            Encoding::Wrapped(Outer::Deflate),
        ] {
            if let Ok(n) = decompressed_estimate(encoding, &bytes, MAX) {
                let _ = decompress(encoding, &bytes, n, MAX);
            }
        }
    }

    #[test]
    fn label_parser_never_panics(s in "\\PC{0,64}", t in "[{}a-z=\"'`,!~ \\\\.0-9\n#uxU]{0,40}") {
        let _ = parse_labels(&s);
        let _ = parse_labels(&t);
    }

    #[test]
    fn printed_labels_parse_back(
        labels in proptest::collection::btree_map("[a-zA-Z_][a-zA-Z0-9_]{0,8}", "\\PC{1,12}", 0..6)
    ) {
        let printed = labels_string(labels.iter().map(|(n, v)| (n.as_str(), v.as_str())));
        let want: Vec<(String, String)> = labels
            .into_iter()
            .filter(|(_, v)| !v.contains('\u{fffd}'))
            .collect();
        if want.len() == printed.matches('=').count().min(want.len()) {
            if let Ok(parsed) = parse_labels(&printed) {
                prop_assert_eq!(parsed, want);
            }
        }
    }

    #[test]
    fn metadata_normalization_never_panics(
        md in proptest::collection::vec(("\\PC{0,8}", "\\PC{0,8}"), 0..6)
    ) {
        let mut md = md;
        let _ = normalize_metadata(&mut md);
    }
}
