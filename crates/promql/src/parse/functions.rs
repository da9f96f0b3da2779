//! Prometheus' function signatures (argument types, optional arguments, return type), for the
//! argument checks Prometheus makes while parsing.

use super::ast::ValueType;

pub struct Signature {
    /// One character per argument: `V` instant vector, `M` range vector, `S` scalar, `T` string.
    pub args: &'static str,
    /// 0: exactly `args`; n > 0: the last argument is optional and may repeat up to n times;
    /// negative: the last argument may repeat without limit.
    pub variadic: i32,
    pub ret: ValueType,
}

impl Signature {
    pub fn arg_type(&self, i: usize) -> ValueType {
        code_type(self.args.as_bytes()[i])
    }
}

fn code_type(c: u8) -> ValueType {
    match c {
        b'M' => ValueType::Matrix,
        b'S' => ValueType::Scalar,
        b'T' => ValueType::String,
        _ => ValueType::Vector,
    }
}

use ValueType::{Scalar as S, Vector as V};

/// (name, argument codes, variadic, return type), sorted by name.
const FUNCTIONS: &[(&str, &str, i32, ValueType)] = &[
    ("abs", "V", 0, V),
    ("absent", "V", 0, V),
    ("absent_over_time", "M", 0, V),
    ("acos", "V", 0, V),
    ("acosh", "V", 0, V),
    ("asin", "V", 0, V),
    ("asinh", "V", 0, V),
    ("atan", "V", 0, V),
    ("atanh", "V", 0, V),
    ("avg_over_time", "M", 0, V),
    ("ceil", "V", 0, V),
    ("changes", "M", 0, V),
    ("clamp", "VSS", 0, V),
    ("clamp_max", "VS", 0, V),
    ("clamp_min", "VS", 0, V),
    ("cos", "V", 0, V),
    ("cosh", "V", 0, V),
    ("count_over_time", "M", 0, V),
    ("day_of_month", "V", 1, V),
    ("day_of_week", "V", 1, V),
    ("day_of_year", "V", 1, V),
    ("days_in_month", "V", 1, V),
    ("deg", "V", 0, V),
    ("delta", "M", 0, V),
    ("deriv", "M", 0, V),
    ("double_exponential_smoothing", "MSS", 0, V),
    ("end", "", 0, S),
    ("exp", "V", 0, V),
    ("first_over_time", "M", 0, V),
    ("floor", "V", 0, V),
    ("histogram_avg", "V", 0, V),
    ("histogram_count", "V", 0, V),
    ("histogram_fraction", "SSV", 0, V),
    ("histogram_quantile", "SV", 0, V),
    ("histogram_quantiles", "VTSS", 9, V),
    ("histogram_stddev", "V", 0, V),
    ("histogram_stdvar", "V", 0, V),
    ("histogram_sum", "V", 0, V),
    ("hour", "V", 1, V),
    ("idelta", "M", 0, V),
    ("increase", "M", 0, V),
    ("info", "VV", 1, V),
    ("irate", "M", 0, V),
    ("label_join", "VTTT", -1, V),
    ("label_replace", "VTTTT", 0, V),
    ("last_over_time", "M", 0, V),
    ("ln", "V", 0, V),
    ("log10", "V", 0, V),
    ("log2", "V", 0, V),
    ("mad_over_time", "M", 0, V),
    ("max_of", "SS", 0, S),
    ("max_over_time", "M", 0, V),
    ("min_of", "SS", 0, S),
    ("min_over_time", "M", 0, V),
    ("minute", "V", 1, V),
    ("month", "V", 1, V),
    ("pi", "", 0, S),
    ("predict_linear", "MS", 0, V),
    ("present_over_time", "M", 0, V),
    ("quantile_over_time", "SM", 0, V),
    ("rad", "V", 0, V),
    ("range", "", 0, S),
    ("rate", "M", 0, V),
    ("resets", "M", 0, V),
    ("round", "VS", 1, V),
    ("scalar", "V", 0, S),
    ("sgn", "V", 0, V),
    ("sin", "V", 0, V),
    ("sinh", "V", 0, V),
    ("sort", "V", 0, V),
    ("sort_by_label", "VT", -1, V),
    ("sort_by_label_desc", "VT", -1, V),
    ("sort_desc", "V", 0, V),
    ("sqrt", "V", 0, V),
    ("start", "", 0, S),
    ("start_timestamp", "V", 0, V),
    ("stddev_over_time", "M", 0, V),
    ("stdvar_over_time", "M", 0, V),
    ("step", "", 0, S),
    ("sum_over_time", "M", 0, V),
    ("tan", "V", 0, V),
    ("tanh", "V", 0, V),
    ("time", "", 0, S),
    ("timestamp", "V", 0, V),
    ("ts_of_first_over_time", "M", 0, V),
    ("ts_of_last_over_time", "M", 0, V),
    ("ts_of_max_over_time", "M", 0, V),
    ("ts_of_min_over_time", "M", 0, V),
    ("vector", "S", 0, V),
    ("year", "V", 1, V),
];

pub fn signature(name: &str) -> Option<Signature> {
    lookup(name).map(|(_, sig)| sig)
}

/// The function's name as the table holds it, with its signature.
pub fn lookup(name: &str) -> Option<(&'static str, Signature)> {
    FUNCTIONS
        .binary_search_by(|(n, ..)| (*n).cmp(name))
        .ok()
        .map(|i| {
            let (name, args, variadic, ret) = FUNCTIONS[i];
            (
                name,
                Signature {
                    args,
                    variadic,
                    ret,
                },
            )
        })
}

#[cfg(test)]
mod tests {
    #[test]
    fn sorted() {
        assert!(super::FUNCTIONS.windows(2).all(|w| w[0].0 < w[1].0));
    }
}
