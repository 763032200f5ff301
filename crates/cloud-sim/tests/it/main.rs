//! t
mod x {}
