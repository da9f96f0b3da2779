//! Families and the text exposition format (version 0.0.4) they are written in.

use std::fmt::Write;

/// A metric type, as `# TYPE` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Counter,
    Gauge,
    Histogram,
    Summary,
}

impl Kind {
    fn as_str(self) -> &'static str {
        match self {
            Kind::Counter => "counter",
            Kind::Gauge => "gauge",
            Kind::Histogram => "histogram",
            Kind::Summary => "summary",
        }
    }
}

/// A metric family: declared once, as a `static`, by the crate that counts it.
#[derive(Debug)]
pub struct Family {
    pub name: &'static str,
    pub help: &'static str,
    pub kind: Kind,
    /// Label names, in the order values are given when writing.
    pub labels: &'static [&'static str],
}

impl Family {
    const fn of(
        kind: Kind,
        name: &'static str,
        help: &'static str,
        labels: &'static [&'static str],
    ) -> Family {
        Family {
            name,
            help,
            kind,
            labels,
        }
    }

    pub const fn counter(
        name: &'static str,
        help: &'static str,
        labels: &'static [&'static str],
    ) -> Family {
        Family::of(Kind::Counter, name, help, labels)
    }

    pub const fn gauge(
        name: &'static str,
        help: &'static str,
        labels: &'static [&'static str],
    ) -> Family {
        Family::of(Kind::Gauge, name, help, labels)
    }

    pub const fn histogram(
        name: &'static str,
        help: &'static str,
        labels: &'static [&'static str],
    ) -> Family {
        Family::of(Kind::Histogram, name, help, labels)
    }

    pub const fn summary(
        name: &'static str,
        help: &'static str,
        labels: &'static [&'static str],
    ) -> Family {
        Family::of(Kind::Summary, name, help, labels)
    }
}

/// Writes families into a text body.
pub struct Encoder<'a> {
    out: &'a mut String,
}

impl<'a> Encoder<'a> {
    pub fn new(out: &'a mut String) -> Encoder<'a> {
        Encoder { out }
    }

    /// Writes the family's `# HELP` and `# TYPE`; its series follow through the result.
    pub fn family<'e>(&'e mut self, family: &'e Family) -> FamilyEncoder<'e> {
        let _ = write!(self.out, "# HELP {} ", family.name);
        for c in family.help.chars() {
            match c {
                '\\' => self.out.push_str("\\\\"),
                '\n' => self.out.push_str("\\n"),
                c => self.out.push(c),
            }
        }
        let _ = writeln!(
            self.out,
            "\n# TYPE {} {}",
            family.name,
            family.kind.as_str()
        );
        FamilyEncoder {
            out: self.out,
            family,
        }
    }

    /// A family without labels and its one value.
    pub fn single(&mut self, family: &Family, v: f64) {
        self.family(family).sample(&[], v);
    }
}

/// Writes the series of one family.
pub struct FamilyEncoder<'e> {
    out: &'e mut String,
    family: &'e Family,
}

impl FamilyEncoder<'_> {
    /// One counter or gauge value; `labels` are the values of the family's label names.
    pub fn sample(&mut self, labels: &[&str], v: f64) -> &mut Self {
        self.line("", labels, None, v);
        self
    }

    /// One metric of a type that knows how to write itself (a histogram, a summary, …).
    pub fn metric(&mut self, labels: &[&str], m: &impl Encode) -> &mut Self {
        m.encode(self, labels);
        self
    }

    /// Writes a series line: the name with `suffix` (`_bucket`, `_sum`, …), the family's labels,
    /// then `extra` (`le`, `quantile`), then the value.
    pub(crate) fn line(
        &mut self,
        suffix: &str,
        labels: &[&str],
        extra: Option<(&str, &str)>,
        v: f64,
    ) {
        debug_assert_eq!(
            labels.len(),
            self.family.labels.len(),
            "label values of {}",
            self.family.name
        );
        self.out.push_str(self.family.name);
        self.out.push_str(suffix);
        let pairs = self
            .family
            .labels
            .iter()
            .copied()
            .zip(labels.iter().copied());
        let mut first = true;
        for (name, value) in pairs.chain(extra) {
            self.out.push(if first { '{' } else { ',' });
            first = false;
            self.out.push_str(name);
            self.out.push_str("=\"");
            for c in value.chars() {
                match c {
                    '\\' => self.out.push_str("\\\\"),
                    '"' => self.out.push_str("\\\""),
                    '\n' => self.out.push_str("\\n"),
                    c => self.out.push(c),
                }
            }
            self.out.push('"');
        }
        if !first {
            self.out.push('}');
        }
        self.out.push(' ');
        push_value(self.out, v);
        self.out.push('\n');
    }
}

/// A value as the text format spells it (`+Inf`, `-Inf`, `NaN`; integers without a point).
pub(crate) fn push_value(out: &mut String, v: f64) {
    if v == f64::INFINITY {
        out.push_str("+Inf");
    } else if v == f64::NEG_INFINITY {
        out.push_str("-Inf");
    } else {
        let _ = write!(out, "{v}");
    }
}

/// A metric that writes its own series (several lines for histograms and summaries).
pub trait Encode {
    fn encode(&self, f: &mut FamilyEncoder<'_>, labels: &[&str]);
}

#[cfg(test)]
mod tests {
    use super::*;

    static F: Family = Family::gauge("x_things", "Things, with a \\ and\na newline.", &["a", "b"]);

    #[test]
    fn escapes_help_and_label_values_and_spells_special_values() {
        let mut out = String::new();
        let mut enc = Encoder::new(&mut out);
        enc.family(&F)
            .sample(&["q\"uo\\te", "line\nbreak"], f64::INFINITY)
            .sample(&["", ""], 2.0)
            .sample(&["", ""], f64::NAN);
        enc.single(&Family::counter("y_total", "Ys.", &[]), f64::NEG_INFINITY);
        assert_eq!(
            out,
            "# HELP x_things Things, with a \\\\ and\\na newline.\n# TYPE x_things gauge\n\
             x_things{a=\"q\\\"uo\\\\te\",b=\"line\\nbreak\"} +Inf\n\
             x_things{a=\"\",b=\"\"} 2\n\
             x_things{a=\"\",b=\"\"} NaN\n\
             # HELP y_total Ys.\n# TYPE y_total counter\ny_total -Inf\n"
        );
        let mut parser = bongsu_exposition::Parser::new(
            out.as_bytes(),
            bongsu_exposition::Format::PrometheusText,
        );
        while parser.next_entry().unwrap().is_some() {}
    }
}
