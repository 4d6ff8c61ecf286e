//! Use cases. One use case is one function; one that writes owns one
//! transaction ([`crate::db::write`]). Services take and return plain data,
//! never HTTP types, so the CLI, the benchmark and the HTTP handlers share them.
//!
//! Who may call a use case (the role) is checked by the caller's layer before
//! it runs; which objects a caller may see (its merchant, its carrier) is
//! checked here, because it needs the data.

pub mod access;
pub mod batching;
pub mod carriers;
pub mod catalog;
pub mod dispatch;
pub mod epcis;
pub mod evidence;
pub mod inspections;
pub mod ledger;
pub mod lots;
pub mod master_data;
pub mod merchants;
pub mod order_queue;
pub mod orders;
pub mod packing;
pub mod picking;
pub mod recall;
pub mod receiving;
pub mod reports;
pub mod reservations;
pub mod returns;
pub mod share;
pub mod storage;
pub mod switching;
pub mod trace;
pub mod trace_query;
pub mod trace_seal;
pub mod webhooks;
