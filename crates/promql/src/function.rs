//! The function registry: every PromQL function declared once, with its name, its signature
//! (what the parser checks) and the kernel family that evaluates it.
//!
//! A name is looked up once: by the parser's checks while parsing, and for evaluation once
//! per query, when the query's side table (`position`) maps every call of the AST to its
//! [`Function`] in a [`ResolvedCalls`]. The evaluator then dispatches on the enum and never
//! compares names again.
//!
//! Not here: the kernels themselves (`functions/`) and the argument checks that use the
//! signatures (`parse/check.rs`).

use std::collections::HashMap;

use promql_parser::parser::Call;

use super::parse::ValueType;

/// What a function takes and returns, as Prometheus declares it.
#[derive(Debug)]
pub(crate) struct Signature {
    /// One character per argument: `V` instant vector, `M` range vector, `S` scalar, `T` string.
    pub args: &'static str,
    /// 0: exactly `args`; n > 0: the last argument is optional and may repeat up to n times;
    /// negative: the last argument may repeat without limit.
    pub variadic: i32,
    pub ret: ValueType,
}

impl Signature {
    /// The type of argument `i` (`i < args.len()`).
    pub fn arg_type(&self, i: usize) -> ValueType {
        match self.args.as_bytes()[i] {
            b'M' => ValueType::Matrix,
            b'S' => ValueType::Scalar,
            b'T' => ValueType::String,
            _ => ValueType::Vector,
        }
    }
}

/// The kernels that evaluate a function, one dispatcher each (see `functions/`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Family {
    /// Functions of a range vector's windows (`rate`, `*_over_time`, …): `rate.rs`,
    /// `over_time.rs`, and `hist_range.rs` for windows with native histograms.
    Range,
    /// Per-value math and date functions and the scalar functions: `math.rs`.
    Math,
    /// Label and ordering functions and `absent`: `label.rs`.
    Label,
    /// Quantiles and fractions of classic and native histograms: `histogram.rs`.
    HistogramEstimate,
    /// A float of each native histogram (`histogram_count`, …): `native.rs`.
    HistogramValue,
    /// `info`: `info.rs`.
    Info,
    /// Parsed but not evaluated (`start_timestamp`: storage keeps no start timestamps).
    Unimplemented,
}

/// One row of the registry.
struct Entry {
    name: &'static str,
    signature: Signature,
    family: Family,
}

/// Declares the functions once: the enum (variants in the order given) and `TABLE`, whose
/// row `i` is variant `i`. Rows are sorted by name (a test checks) for the binary search.
macro_rules! registry {
    ($($variant:ident $name:literal $args:literal $variadic:literal $ret:ident $family:ident,)*) => {
        /// A PromQL function, resolved from its name once (see the module doc).
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub(crate) enum Function {
            $($variant,)*
        }

        const TABLE: &[Entry] = &[
            $(Entry {
                name: $name,
                signature: Signature { args: $args, variadic: $variadic, ret: ValueType::$ret },
                family: Family::$family,
            },)*
        ];

        /// The variants in `TABLE`'s order.
        const FUNCTIONS: &[Function] = &[$(Function::$variant,)*];
    };
}

registry! {
    Abs "abs" "V" 0 Vector Math,
    Absent "absent" "V" 0 Vector Label,
    AbsentOverTime "absent_over_time" "M" 0 Vector Range,
    Acos "acos" "V" 0 Vector Math,
    Acosh "acosh" "V" 0 Vector Math,
    Asin "asin" "V" 0 Vector Math,
    Asinh "asinh" "V" 0 Vector Math,
    Atan "atan" "V" 0 Vector Math,
    Atanh "atanh" "V" 0 Vector Math,
    AvgOverTime "avg_over_time" "M" 0 Vector Range,
    Ceil "ceil" "V" 0 Vector Math,
    Changes "changes" "M" 0 Vector Range,
    Clamp "clamp" "VSS" 0 Vector Math,
    ClampMax "clamp_max" "VS" 0 Vector Math,
    ClampMin "clamp_min" "VS" 0 Vector Math,
    Cos "cos" "V" 0 Vector Math,
    Cosh "cosh" "V" 0 Vector Math,
    CountOverTime "count_over_time" "M" 0 Vector Range,
    DayOfMonth "day_of_month" "V" 1 Vector Math,
    DayOfWeek "day_of_week" "V" 1 Vector Math,
    DayOfYear "day_of_year" "V" 1 Vector Math,
    DaysInMonth "days_in_month" "V" 1 Vector Math,
    Deg "deg" "V" 0 Vector Math,
    Delta "delta" "M" 0 Vector Range,
    Deriv "deriv" "M" 0 Vector Range,
    DoubleExponentialSmoothing "double_exponential_smoothing" "MSS" 0 Vector Range,
    End "end" "" 0 Scalar Math,
    Exp "exp" "V" 0 Vector Math,
    FirstOverTime "first_over_time" "M" 0 Vector Range,
    Floor "floor" "V" 0 Vector Math,
    HistogramAvg "histogram_avg" "V" 0 Vector HistogramValue,
    HistogramCount "histogram_count" "V" 0 Vector HistogramValue,
    HistogramFraction "histogram_fraction" "SSV" 0 Vector HistogramEstimate,
    HistogramQuantile "histogram_quantile" "SV" 0 Vector HistogramEstimate,
    HistogramQuantiles "histogram_quantiles" "VTSS" 9 Vector HistogramEstimate,
    HistogramStddev "histogram_stddev" "V" 0 Vector HistogramValue,
    HistogramStdvar "histogram_stdvar" "V" 0 Vector HistogramValue,
    HistogramSum "histogram_sum" "V" 0 Vector HistogramValue,
    Hour "hour" "V" 1 Vector Math,
    Idelta "idelta" "M" 0 Vector Range,
    Increase "increase" "M" 0 Vector Range,
    Info "info" "VV" 1 Vector Info,
    Irate "irate" "M" 0 Vector Range,
    LabelJoin "label_join" "VTTT" -1 Vector Label,
    LabelReplace "label_replace" "VTTTT" 0 Vector Label,
    LastOverTime "last_over_time" "M" 0 Vector Range,
    Ln "ln" "V" 0 Vector Math,
    Log10 "log10" "V" 0 Vector Math,
    Log2 "log2" "V" 0 Vector Math,
    MadOverTime "mad_over_time" "M" 0 Vector Range,
    MaxOf "max_of" "SS" 0 Scalar Math,
    MaxOverTime "max_over_time" "M" 0 Vector Range,
    MinOf "min_of" "SS" 0 Scalar Math,
    MinOverTime "min_over_time" "M" 0 Vector Range,
    Minute "minute" "V" 1 Vector Math,
    Month "month" "V" 1 Vector Math,
    Pi "pi" "" 0 Scalar Math,
    PredictLinear "predict_linear" "MS" 0 Vector Range,
    PresentOverTime "present_over_time" "M" 0 Vector Range,
    QuantileOverTime "quantile_over_time" "SM" 0 Vector Range,
    Rad "rad" "V" 0 Vector Math,
    Range "range" "" 0 Scalar Math,
    Rate "rate" "M" 0 Vector Range,
    Resets "resets" "M" 0 Vector Range,
    Round "round" "VS" 1 Vector Math,
    Scalar "scalar" "V" 0 Scalar Math,
    Sgn "sgn" "V" 0 Vector Math,
    Sin "sin" "V" 0 Vector Math,
    Sinh "sinh" "V" 0 Vector Math,
    Sort "sort" "V" 0 Vector Label,
    SortByLabel "sort_by_label" "VT" -1 Vector Label,
    SortByLabelDesc "sort_by_label_desc" "VT" -1 Vector Label,
    SortDesc "sort_desc" "V" 0 Vector Label,
    Sqrt "sqrt" "V" 0 Vector Math,
    Start "start" "" 0 Scalar Math,
    StartTimestamp "start_timestamp" "V" 0 Vector Unimplemented,
    StddevOverTime "stddev_over_time" "M" 0 Vector Range,
    StdvarOverTime "stdvar_over_time" "M" 0 Vector Range,
    Step "step" "" 0 Scalar Math,
    SumOverTime "sum_over_time" "M" 0 Vector Range,
    Tan "tan" "V" 0 Vector Math,
    Tanh "tanh" "V" 0 Vector Math,
    Time "time" "" 0 Scalar Math,
    Timestamp "timestamp" "V" 0 Vector Math,
    TsOfFirstOverTime "ts_of_first_over_time" "M" 0 Vector Range,
    TsOfLastOverTime "ts_of_last_over_time" "M" 0 Vector Range,
    TsOfMaxOverTime "ts_of_max_over_time" "M" 0 Vector Range,
    TsOfMinOverTime "ts_of_min_over_time" "M" 0 Vector Range,
    Vector "vector" "S" 0 Vector Math,
    Year "year" "V" 1 Vector Math,
}

impl Function {
    /// The function called `name`, if PromQL has one.
    pub(crate) fn from_name(name: &str) -> Option<Function> {
        TABLE
            .binary_search_by(|e| e.name.cmp(name))
            .ok()
            .map(|i| FUNCTIONS[i])
    }

    /// The name as written in queries.
    pub(crate) fn name(self) -> &'static str {
        self.entry().name
    }

    pub(crate) fn signature(self) -> &'static Signature {
        &self.entry().signature
    }

    /// The kernels that evaluate it.
    pub(crate) fn family(self) -> Family {
        self.entry().family
    }

    fn entry(self) -> &'static Entry {
        &TABLE[self as usize]
    }
}

/// The function of every call in one AST, keyed by the call's address (so the AST must not
/// move while this is used, as for the other per-query side tables in `position`).
#[derive(Debug, Default)]
pub(crate) struct ResolvedCalls(HashMap<usize, Function>);

impl ResolvedCalls {
    pub(crate) fn insert(&mut self, call: &Call, f: Function) {
        self.0.insert(key(call), f);
    }

    pub(crate) fn get(&self, call: &Call) -> Option<Function> {
        self.0.get(&key(call)).copied()
    }
}

fn key(call: &Call) -> usize {
    call as *const Call as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_sorted_and_unique() {
        assert!(TABLE.windows(2).all(|w| w[0].name < w[1].name));
        assert_eq!(TABLE.len(), FUNCTIONS.len());
    }

    #[test]
    fn every_name_round_trips() {
        for (i, &f) in FUNCTIONS.iter().enumerate() {
            assert_eq!(f as usize, i);
            assert_eq!(Function::from_name(f.name()), Some(f));
        }
        assert_eq!(Function::from_name("nope"), None);
        assert_eq!(Function::from_name(""), None);
    }

    #[test]
    fn every_signature_is_well_formed() {
        for &f in FUNCTIONS {
            let sig = f.signature();
            assert!(sig.args.bytes().all(|c| b"VMST".contains(&c)), "{f:?}");
            // A variadic function repeats its last argument, so it has one.
            assert!(sig.variadic == 0 || !sig.args.is_empty(), "{f:?}");
            if f.family() == Family::Range {
                assert!(sig.args.contains('M'), "{f:?}");
            }
        }
    }
}
