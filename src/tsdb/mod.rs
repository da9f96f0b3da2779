//! The storage engine: write-ahead log, in-memory head, compressed chunks and immutable,
//! memory-mapped blocks, behind the `Appender` and `Querier` interfaces.
//!
//! `tsdb` knows nothing of HTTP, PromQL or scraping.

pub mod chunk;
pub mod wal;
