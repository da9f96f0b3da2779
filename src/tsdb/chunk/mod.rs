//! Chunk encodings (being built).
