//! A simulated host (filled in below).
