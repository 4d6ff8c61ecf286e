//! No silent ignoring of query parameters, on every endpoint: the OpenAPI
//! document lists the query parameters each operation takes, and a request
//! naming another one is a 400 that names it — also on endpoints that read
//! no query string at all (`GET /orders/{id}?x=1`), which an extractor
//! cannot see. Lists still check their own parameters (`ListQuery`); this
//! catches the rest from the same document, so the two cannot disagree.

use std::collections::HashMap;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::web;
use utoipa::openapi::path::{Operation, ParameterIn};
use utoipa::openapi::OpenApi as OpenApiDoc;

use super::auth;
use super::query::decode;
use crate::error::{AppError, FieldError};

/// (method, path template) → the query parameters the operation declares.
#[derive(Debug, Default)]
pub struct DeclaredQueries(HashMap<(String, String), Vec<String>>);

impl DeclaredQueries {
    pub fn from_openapi(doc: &OpenApiDoc) -> DeclaredQueries {
        let mut map = HashMap::new();
        for (path, item) in doc.paths.paths.iter() {
            let operations: [(&str, Option<&Operation>); 5] = [
                ("GET", item.get.as_ref()),
                ("POST", item.post.as_ref()),
                ("PUT", item.put.as_ref()),
                ("PATCH", item.patch.as_ref()),
                ("DELETE", item.delete.as_ref()),
            ];
            for (method, op) in operations {
                let Some(op) = op else { continue };
                let names = op
                    .parameters
                    .iter()
                    .flatten()
                    .filter(|p| matches!(p.parameter_in, ParameterIn::Query))
                    .map(|p| p.name.clone())
                    .collect();
                map.insert((method.to_string(), path.clone()), names);
            }
        }
        DeclaredQueries(map)
    }

    /// `Err` names the first parameter of `raw` that the operation does not take.
    fn check(&self, method: &str, pattern: &str, raw: &str) -> Result<(), AppError> {
        let Some(declared) = self.0.get(&(method.to_string(), pattern.to_string())) else {
            return Ok(());
        };
        let pairs = decode(raw)?;
        let Some((unknown, _)) = pairs.iter().find(|(k, _)| !declared.contains(k)) else {
            return Ok(());
        };
        let message = if declared.is_empty() {
            "is not a parameter of this endpoint, which takes none".to_string()
        } else {
            format!(
                "is not a parameter of this endpoint; it takes {}",
                declared.join(", ")
            )
        };
        Err(AppError::BadRequestFields(
            format!("the query string is not valid: {unknown} {message}"),
            vec![FieldError::new(unknown.clone(), message)],
        ))
    }
}

/// The middleware. It runs after authentication and lets a request without
/// a valid token through to its handler, so that 401 still comes first.
pub async fn refuse_undeclared(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let raw = req.query_string();
    // Under the API only: probes of /healthz and /readyz may carry anything.
    if !raw.is_empty() && req.path().starts_with("/api/") {
        let public = req.path() == "/api/v1/openapi.json";
        let signed_in = auth::token_id(req.request()).is_some();
        if let (Some(pattern), Some(declared)) = (
            req.match_pattern(),
            req.app_data::<web::Data<DeclaredQueries>>(),
        ) {
            if public || signed_in {
                if let Err(refused) = declared.check(req.method().as_str(), &pattern, raw) {
                    // An answer, not an Err: the middleware around this one
                    // (the request log) still sees the request and its token.
                    return Ok(req.error_response(refused));
                }
            }
        }
    }
    Ok(next.call(req).await?.map_into_boxed_body())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn declared() -> DeclaredQueries {
        let mut map = HashMap::new();
        map.insert(("GET".into(), "/api/v1/orders/{id}".into()), vec![]);
        map.insert(
            ("GET".into(), "/api/v1/stock".into()),
            vec!["format".to_string(), "lot_id".to_string()],
        );
        DeclaredQueries(map)
    }

    #[test]
    fn an_undeclared_parameter_is_named() {
        let d = declared();
        let err = d.check("GET", "/api/v1/orders/{id}", "x=1").unwrap_err();
        assert!(err
            .to_string()
            .contains("x is not a parameter of this endpoint, which takes none"));
        let err = d
            .check("GET", "/api/v1/stock", "lot_id=1&bom=1")
            .unwrap_err();
        assert!(err.to_string().contains("it takes format, lot_id"));
    }

    #[test]
    fn declared_parameters_and_unknown_operations_pass() {
        let d = declared();
        assert!(d
            .check("GET", "/api/v1/stock", "format=csv&lot_id=lot_1")
            .is_ok());
        assert!(d.check("GET", "/docs", "anything=1").is_ok());
    }
}
