//! The write-ahead log (being built).
