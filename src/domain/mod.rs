//! Pure rules of the warehouse: no diesel, no actix. Each module carries its
//! unit tests.

pub mod access;
pub mod ids;
pub mod page;
pub mod text;
pub mod time;
