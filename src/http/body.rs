//! Reading request input, with every failure as a problem:
//! a JSON body ([`Json`]) and query strings ([`query_config`]).

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{web, FromRequest, HttpRequest};
use futures_util::future::LocalBoxFuture;
use futures_util::StreamExt;
use serde::de::DeserializeOwned;

use crate::error::{AppError, FieldError};

/// The largest JSON body depot reads. A bulk of 1,000 orders is well under it.
pub const MAX_JSON_BYTES: usize = 4 * 1024 * 1024;

/// A JSON request body. Unlike actix's own extractor it answers every failure
/// as a problem, and names the offending field of a wrong type:
/// no or another content type → 415, too large → 413, malformed or mistyped → 400.
pub struct Json<T>(pub T);

impl<T> Json<T> {
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T: DeserializeOwned + 'static> FromRequest for Json<T> {
    type Error = AppError;
    type Future = LocalBoxFuture<'static, Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let content_type = check_content_type(req);
        let declared_length = req
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<usize>().ok());
        let mut payload = payload.take();
        Box::pin(async move {
            content_type?;
            if declared_length.is_some_and(|n| n > MAX_JSON_BYTES) {
                return Err(too_large());
            }
            let mut body = web::BytesMut::new();
            while let Some(chunk) = payload.next().await {
                let chunk = chunk.map_err(|e| {
                    AppError::BadRequest(format!("the request body could not be read: {e}"))
                })?;
                if body.len() + chunk.len() > MAX_JSON_BYTES {
                    return Err(too_large());
                }
                body.extend_from_slice(&chunk);
            }
            parse(&body).map(Json)
        })
    }
}

fn too_large() -> AppError {
    AppError::PayloadTooLarge(format!("the body exceeds {MAX_JSON_BYTES} bytes"))
}

/// JSON (`application/json` or any `+json` type) is required.
fn check_content_type(req: &HttpRequest) -> Result<(), AppError> {
    let Some(value) = req.headers().get(header::CONTENT_TYPE) else {
        return Err(AppError::UnsupportedMediaType(
            "this endpoint takes a JSON body: send Content-Type: application/json".into(),
        ));
    };
    let essence = value
        .to_str()
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
    {
        Ok(())
    } else {
        Err(AppError::UnsupportedMediaType(format!(
            "this endpoint takes application/json, not {essence:?}"
        )))
    }
}

/// Parses JSON, naming the field at which a wrong type or a missing field was found.
pub fn parse<T: DeserializeOwned>(body: &[u8]) -> Result<T, AppError> {
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    let result: Result<T, _> = serde_path_to_error::deserialize(&mut deserializer);
    let value = result.map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        let detail = format!("the JSON body is not valid: {inner}");
        let missing = missing_field(&inner.to_string());
        if let Some(name) = missing {
            // serde reports a missing field at the enclosing object's path.
            let field = if path == "." {
                name
            } else {
                format!("{path}.{name}")
            };
            AppError::BadRequestFields(detail, vec![FieldError::new(field, "is required")])
        } else if inner.is_data() && path != "." {
            AppError::BadRequestFields(detail, vec![FieldError::new(path, inner.to_string())])
        } else {
            AppError::BadRequest(detail)
        }
    })?;
    deserializer
        .end()
        .map_err(|e| AppError::BadRequest(format!("the JSON body is not valid: {e}")))?;
    Ok(value)
}

/// The name in serde's "missing field `name`" message.
fn missing_field(message: &str) -> Option<String> {
    let rest = message.strip_prefix("missing field `")?;
    Some(rest.split('`').next()?.to_string())
}

/// Query strings that do not parse (a letter where a number goes) are a 400 problem.
pub fn query_config() -> web::QueryConfig {
    web::QueryConfig::default().error_handler(|err, _req| {
        AppError::BadRequest(format!("the query string is not valid: {err}")).into()
    })
}

/// Path segments that do not parse are a 400 problem.
pub fn path_config() -> web::PathConfig {
    web::PathConfig::default().error_handler(|err, _req| {
        AppError::BadRequest(format!("the path is not valid: {err}")).into()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize, Debug)]
    #[allow(dead_code)]
    struct Order {
        lines: Vec<Line>,
    }
    #[derive(serde::Deserialize, Debug)]
    #[allow(dead_code)]
    struct Line {
        qty: u32,
    }

    #[test]
    fn a_wrong_type_names_its_field() {
        let err = parse::<Order>(br#"{"lines":[{"qty":1},{"qty":"two"}]}"#).unwrap_err();
        match err {
            AppError::BadRequestFields(_, fields) => assert_eq!(fields[0].field, "lines[1].qty"),
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn a_missing_field_is_named() {
        match parse::<Order>(br#"{"lines":[{}]}"#).unwrap_err() {
            AppError::BadRequestFields(_, fields) => assert_eq!(fields[0].field, "lines[0].qty"),
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn malformed_json_is_a_bad_request() {
        assert!(matches!(parse::<Order>(b"{"), Err(AppError::BadRequest(_))));
        assert!(matches!(
            parse::<Order>(br#"{"lines":[]} x"#),
            Err(AppError::BadRequest(_))
        ));
    }
}
