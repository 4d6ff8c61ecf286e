//! One `info` line per request, under the target `depot::http`:
//!
//! ```text
//! POST /api/v1/orders 201 3.1ms token=tok_…
//! ```
//!
//! method, route pattern (not the raw path, and no query string: either may
//! carry a phone, an address or an external order id), status, duration and
//! the id of the token that authenticated the request (`-` when none did).
//! Never the token's secret, never a header or body.

use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;

use super::auth;

/// The log target, so that `RUST_LOG=depot::http=warn` silences these lines.
pub const TARGET: &str = "depot::http";

pub async fn record(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    if !log::log_enabled!(target: TARGET, log::Level::Info) {
        return next.call(req).await;
    }
    let started = Instant::now();
    let method = req.method().to_string();
    let route = req
        .match_pattern()
        .unwrap_or_else(|| "unmatched".to_string());
    let outcome = next.call(req).await;
    let (status, token) = match &outcome {
        Ok(res) => (res.status().as_u16(), auth::token_id(res.request())),
        Err(e) => (e.as_response_error().status_code().as_u16(), None),
    };
    log::info!(
        target: TARGET,
        "{method} {route} {status} {:.1}ms token={}",
        started.elapsed().as_secs_f64() * 1000.0,
        token.as_deref().unwrap_or("-")
    );
    outcome
}
