//! Pure rules of the warehouse: no diesel, no actix. Each module carries its
//! unit tests.

pub mod access;
pub mod batching;
pub mod code128;
pub mod csv;
pub mod dispatch;
pub mod evidence;
pub mod gs1;
pub mod ids;
pub mod inspection;
pub mod label_pdf;
pub mod labels;
pub mod master_data;
pub mod orders;
pub mod page;
pub mod receiving;
pub mod reservations;
pub mod returns;
pub mod sampling;
pub mod share;
pub mod storage;
pub mod switching;
pub mod text;
pub mod time;
pub mod trace;
pub mod webhooks;
