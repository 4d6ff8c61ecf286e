//! depot: the system of record of a live-commerce base warehouse.
//!
//! Layers, from the outside in: [`http`] (thin handlers) → [`services`] (one
//! use case, one transaction) → [`domain`] (pure rules) and [`db`] (one
//! connection type over SQLite and PostgreSQL). [`error`] maps every failure
//! to an RFC 9457 problem. See docs/ARCHITECTURE.md.

pub mod bench;
pub mod config;
pub mod db;
pub mod domain;
pub mod error;
pub mod http;
pub mod services;
pub mod startup;
