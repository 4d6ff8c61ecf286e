//! Problems that actix would otherwise answer in plain text: unknown routes
//! (404), wrong methods (405), and any other error response that is not yet
//! `application/problem+json`. Also the human page behind each problem `type`.

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::ServiceResponse;
use actix_web::http::{header, StatusCode};
use actix_web::middleware::ErrorHandlerResponse;
use actix_web::{web, HttpRequest, HttpResponse};
use utoipa::openapi::OpenApi;

use crate::error::{problem_kind, AppError, PROBLEM_JSON, PROBLEM_KINDS};

/// Every path depot serves, with its methods: the OpenAPI document's paths and
/// the few pages outside it. Used to tell 405 (known path, other method) from 404.
pub struct RouteTable {
    routes: Vec<(Vec<String>, Vec<String>)>,
}

impl RouteTable {
    pub fn from_openapi(doc: &OpenApi, extra: &[(&str, &str)]) -> RouteTable {
        let mut routes: Vec<(Vec<String>, Vec<String>)> = Vec::new();
        let mut add = |path: &str, method: String| {
            let segments = split(path);
            match routes.iter_mut().find(|(s, _)| *s == segments) {
                Some((_, methods)) => methods.push(method),
                None => routes.push((segments, vec![method])),
            }
        };
        for (path, item) in doc.paths.paths.iter() {
            let methods = [
                ("GET", item.get.is_some()),
                ("POST", item.post.is_some()),
                ("PUT", item.put.is_some()),
                ("PATCH", item.patch.is_some()),
                ("DELETE", item.delete.is_some()),
            ];
            for (method, present) in methods {
                if present {
                    add(path, method.to_string());
                }
            }
        }
        for (method, path) in extra {
            add(path, method.to_string());
        }
        RouteTable { routes }
    }

    /// The methods allowed on `path`, or None for a path depot does not serve.
    pub fn allowed(&self, path: &str) -> Option<Vec<String>> {
        let wanted = split(path);
        let mut allowed: Vec<String> = Vec::new();
        for (template, methods) in &self.routes {
            let matches = template.len() == wanted.len()
                && template
                    .iter()
                    .zip(&wanted)
                    .all(|(t, w)| (t.starts_with('{') && !w.is_empty()) || t == w);
            if matches {
                allowed.extend(methods.iter().cloned());
            }
        }
        if allowed.is_empty() {
            None
        } else {
            allowed.sort();
            allowed.dedup();
            Some(allowed)
        }
    }
}

fn split(path: &str) -> Vec<String> {
    path.trim_end_matches('/')
        .split('/')
        .map(str::to_string)
        .collect()
}

/// The app's default service: 405 with `Allow` for a known path, else 404.
pub async fn no_route(
    req: HttpRequest,
    table: web::Data<RouteTable>,
) -> Result<HttpResponse, AppError> {
    Err(match table.allowed(req.path()) {
        Some(allowed) if !allowed.iter().any(|m| m == req.method().as_str()) => {
            AppError::MethodNotAllowed {
                method: req.method().to_string(),
                allowed: allowed.join(", "),
            }
        }
        _ => AppError::NotFound(format!("depot has no resource at {}", req.path())),
    })
}

/// Rewrites an error response that is not a problem yet (actix's own plain
/// text answers) into one, keeping its status. RFC 9457 §4.2.1: a status with
/// no depot-specific type gets `about:blank` and the status phrase as title.
pub fn ensure_problem<B: MessageBody + 'static>(
    res: ServiceResponse<B>,
) -> actix_web::Result<ErrorHandlerResponse<B>> {
    let is_problem = res
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(PROBLEM_JSON.as_bytes()));
    if is_problem {
        return Ok(ErrorHandlerResponse::Response(res.map_into_left_body()));
    }
    let status = res.status();
    let body = problem_for_status(status);
    let (req, old) = res.into_parts();
    let mut new = HttpResponse::build(status);
    for (name, value) in old.headers() {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            new.append_header((name.clone(), value.clone()));
        }
    }
    let new = new.content_type(PROBLEM_JSON).body(BoxBody::new(body));
    Ok(ErrorHandlerResponse::Response(
        ServiceResponse::new(req, new).map_into_right_body(),
    ))
}

fn problem_for_status(status: StatusCode) -> String {
    let title = status.canonical_reason().unwrap_or("Error");
    let (problem_type, title) = match PROBLEM_KINDS.iter().find(|k| k.status == status) {
        Some(kind) => (format!("/problems/{}", kind.code), kind.title),
        None => ("about:blank".to_string(), title),
    };
    serde_json::json!({
        "type": problem_type,
        "title": title,
        "status": status.as_u16(),
        "detail": status.canonical_reason().unwrap_or("Error"),
    })
    .to_string()
}

/// `GET /problems/{code}`: what a problem type means, for a person who follows
/// the `type` reference of a problem.
pub async fn problem_page(code: web::Path<String>) -> Result<HttpResponse, AppError> {
    let kind =
        problem_kind(&code).ok_or_else(|| AppError::NotFound(format!("no problem type {code}")))?;
    let html = format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>{title}</title></head>\
         <body><h1>{title}</h1><p>HTTP status {status}. Problem type <code>/problems/{code}</code>.</p>\
         <p>depot answers errors as RFC 9457 problem details; the <code>detail</code> member says \
         what went wrong in this occurrence and <code>errors</code> lists offending fields.</p>\
         <p><a href=\"/docs\">API documentation</a></p></body></html>",
        title = kind.title,
        status = kind.status.as_u16(),
        code = kind.code,
    );
    Ok(HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(html))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> RouteTable {
        let mut table = RouteTable { routes: Vec::new() };
        table
            .routes
            .push((split("/api/v1/tokens/{id}"), vec!["DELETE".into()]));
        table
            .routes
            .push((split("/api/v1/tokens"), vec!["GET".into(), "POST".into()]));
        table
    }

    #[test]
    fn known_paths_list_their_methods() {
        assert_eq!(
            table().allowed("/api/v1/tokens"),
            Some(vec!["GET".into(), "POST".into()])
        );
        assert_eq!(
            table().allowed("/api/v1/tokens/tok_1"),
            Some(vec!["DELETE".into()])
        );
    }

    #[test]
    fn unknown_paths_have_no_methods() {
        assert_eq!(table().allowed("/api/v1/nothing"), None);
        assert_eq!(table().allowed("/api/v1/tokens/a/b"), None);
    }
}
