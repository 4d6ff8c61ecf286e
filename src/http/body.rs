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

/// A JSON value read as it was sent, with the first key that an object of it
/// repeats (`{"qty":-5,"qty":1}`), as a path like `lines[0].qty`.
/// `serde_json::Value` alone keeps the last of two equal keys, so a proxy that
/// checked the first would have checked another value than depot used; typed
/// bodies refuse a repeated key through serde's derive, and bodies read as a
/// value first (orders, answered one by one in a bulk push) refuse it with this.
#[derive(Debug, Clone, PartialEq)]
pub struct JsonValue {
    pub value: serde_json::Value,
    pub repeated: Option<String>,
}

/// The message for a repeated key.
pub const REPEATED_KEY: &str = "is given twice; each key may appear only once in an object";

impl JsonValue {
    /// The repeated key as a 400 problem naming it, under `prefix`.
    pub fn refusal(&self, prefix: &str) -> Option<AppError> {
        self.repeated.as_ref().map(|path| {
            let field = format!("{prefix}{path}");
            AppError::BadRequestFields(
                format!("the JSON body is not valid: {field} is given twice"),
                vec![FieldError::new(field, REPEATED_KEY)],
            )
        })
    }
}

/// `parent` + `child` as a path: `lines` + `[0].qty`, `ship_to` + `name`.
fn join_path(parent: &str, child: &str) -> String {
    if child.starts_with('[') {
        format!("{parent}{child}")
    } else {
        format!("{parent}.{child}")
    }
}

impl<'de> serde::Deserialize<'de> for JsonValue {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(JsonValueVisitor)
    }
}

struct JsonValueVisitor;

impl JsonValueVisitor {
    fn plain<E>(value: serde_json::Value) -> Result<JsonValue, E> {
        Ok(JsonValue {
            value,
            repeated: None,
        })
    }
}

impl<'de> serde::de::Visitor<'de> for JsonValueVisitor {
    type Value = JsonValue;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<JsonValue, E> {
        Self::plain(v.into())
    }
    fn visit_i64<E>(self, v: i64) -> Result<JsonValue, E> {
        Self::plain(v.into())
    }
    fn visit_u64<E>(self, v: u64) -> Result<JsonValue, E> {
        Self::plain(v.into())
    }
    fn visit_f64<E>(self, v: f64) -> Result<JsonValue, E> {
        Self::plain(serde_json::Number::from_f64(v).map_or(serde_json::Value::Null, Into::into))
    }
    fn visit_str<E>(self, v: &str) -> Result<JsonValue, E> {
        Self::plain(v.into())
    }
    fn visit_string<E>(self, v: String) -> Result<JsonValue, E> {
        Self::plain(v.into())
    }
    fn visit_unit<E>(self) -> Result<JsonValue, E> {
        Self::plain(serde_json::Value::Null)
    }
    fn visit_none<E>(self) -> Result<JsonValue, E> {
        Self::plain(serde_json::Value::Null)
    }
    fn visit_some<D: serde::Deserializer<'de>>(self, d: D) -> Result<JsonValue, D::Error> {
        serde::Deserialize::deserialize(d)
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<JsonValue, A::Error> {
        let mut items = Vec::new();
        let mut repeated = None;
        while let Some(item) = seq.next_element::<JsonValue>()? {
            if repeated.is_none() {
                repeated = item
                    .repeated
                    .map(|r| join_path(&format!("[{}]", items.len()), &r));
            }
            items.push(item.value);
        }
        Ok(JsonValue {
            value: serde_json::Value::Array(items),
            repeated,
        })
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<JsonValue, A::Error> {
        let mut object = serde_json::Map::new();
        let mut repeated = None;
        while let Some(key) = map.next_key::<String>()? {
            let item: JsonValue = map.next_value()?;
            if repeated.is_none() {
                if object.contains_key(&key) {
                    repeated = Some(key.clone());
                } else if let Some(r) = item.repeated {
                    repeated = Some(join_path(&key, &r));
                }
            }
            // The first value stays: the second is refused anyway.
            object.entry(key).or_insert(item.value);
        }
        Ok(JsonValue {
            value: serde_json::Value::Object(object),
            repeated,
        })
    }
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
    fn a_repeated_key_is_found_at_any_depth() {
        let cases = [
            (
                r#"{"lines":[{"sku_code":"TEA","qty":-5,"qty":1}]}"#,
                "lines[0].qty",
            ),
            (r#"{"ship_to":{"name":"a","name":"b"}}"#, "ship_to.name"),
            (
                r#"{"channel":"douyin","lines":[],"channel":"other"}"#,
                "channel",
            ),
            (r#"[{"a":1},{"b":[{"c":1,"c":1}]}]"#, "[1].b[0].c"),
        ];
        for (body, path) in cases {
            let read: JsonValue = parse(body.as_bytes()).unwrap();
            assert_eq!(read.repeated.as_deref(), Some(path), "{body}");
        }
        let read: JsonValue = parse(br#"{"a":{"b":1},"c":{"b":[1,1.5,null,true]}}"#).unwrap();
        assert_eq!(read.repeated, None);
        assert_eq!(read.value["c"]["b"][1], 1.5);
        match read.refusal("orders[2].") {
            None => {}
            Some(e) => panic!("unexpected {e:?}"),
        }
        let read: JsonValue = parse(br#"{"qty":1,"qty":2}"#).unwrap();
        match read.refusal("orders[2].") {
            Some(AppError::BadRequestFields(_, fields)) => {
                assert_eq!(fields[0].field, "orders[2].qty")
            }
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
