//! Query strings, read strictly: the one extractor of every list
//! ([`ListQuery`]: `cursor`, `limit` and the list's own typed filters) and of
//! any other endpoint that takes parameters ([`Query`]).
//!
//! What actix's `web::Query` does not do, and these do:
//! - a parameter the endpoint does not know is a 400 naming it, not ignored
//!   (a misspelt `?extrenal_id=` would otherwise list every order);
//! - a parameter given twice is a 400 naming it (which one would count?);
//! - bad percent-encoding (`%zz`) or bytes that are not UTF-8 once decoded
//!   are a 400 naming the parameter, where `serde_urlencoded` would replace
//!   them with U+FFFD and filter on a text nobody sent;
//! - every error is a problem with `errors[{field, message}]`.
//!
//! Raw UTF-8 in the request line (`?live_session=蜂蜜专场-1202`, as some
//! clients send it unencoded) reaches this code as it came and is read as
//! text like its percent-encoded form.
//!
//! The parameters a filter type knows are the field names serde's derive
//! hands to `deserialize_struct`, so a filter struct is the only list of
//! them: a field added there is accepted, documented (its `IntoParams`) and
//! parsed at once. Filter structs must not use `#[serde(flatten)]`.

use std::fmt;

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest};
use futures_util::future::{ready, Ready};
use serde::de::{self, DeserializeOwned, IntoDeserializer, Visitor};
use serde::Deserialize;

use crate::domain::page::{PageRequest, CURSOR_ERROR};
use crate::error::{AppError, FieldError};

/// The parameters every list takes besides its filters.
const PAGE_PARAMS: [&str; 2] = ["cursor", "limit"];

/// `?cursor=&limit=` and the typed filters `F` of a list. Document it in
/// `#[utoipa::path(params(PageQuery, F))]`.
#[derive(Debug)]
pub struct ListQuery<F> {
    pub page: PageRequest,
    pub filter: F,
}

/// The filter of a list that has none: only `cursor` and `limit`.
#[derive(Debug, Deserialize)]
pub struct NoFilter {}

impl<F: DeserializeOwned> ListQuery<F> {
    /// Reads a raw query string (as on the wire, still percent-encoded).
    pub fn parse(raw: &str) -> Result<ListQuery<F>, AppError> {
        let mut pairs = decode(raw)?;
        refuse_repeats(&pairs)?;
        let mut take = |name: &str| {
            pairs
                .iter()
                .position(|(k, _)| k == name)
                .map(|at| pairs.remove(at).1)
        };
        let cursor = take("cursor");
        let limit = match take("limit").filter(|l| !l.is_empty()) {
            None => None,
            Some(l) => Some(l.parse::<i64>().map_err(|_| {
                bad_field(
                    "limit",
                    format!(
                        "must be a whole number from 1 to {}",
                        crate::domain::page::MAX_LIMIT
                    ),
                )
            })?),
        };
        let filter = from_pairs::<F>(pairs, &PAGE_PARAMS)?;
        let page = page_request(cursor, limit)?;
        Ok(ListQuery { page, filter })
    }
}

/// A cursor depot did not hand out is a 400 (the request cannot be read as a
/// page); a limit out of range a 422 (readable, but not allowed).
pub fn page_request(cursor: Option<String>, limit: Option<i64>) -> Result<PageRequest, AppError> {
    PageRequest::parse(cursor, limit).map_err(|m| {
        if m == CURSOR_ERROR {
            bad_field("cursor", m)
        } else {
            AppError::field("limit", m)
        }
    })
}

impl<F: DeserializeOwned> FromRequest for ListQuery<F> {
    type Error = AppError;
    type Future = Ready<Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(ListQuery::parse(req.query_string()))
    }
}

/// The typed parameters `T` of an endpoint that is not a list, read as
/// strictly as a list's.
#[derive(Debug)]
pub struct Query<T>(pub T);

impl<T> Query<T> {
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T: DeserializeOwned> Query<T> {
    pub fn parse(raw: &str) -> Result<Query<T>, AppError> {
        let pairs = decode(raw)?;
        refuse_repeats(&pairs)?;
        from_pairs(pairs, &[]).map(Query)
    }
}

impl<T: DeserializeOwned> FromRequest for Query<T> {
    type Error = AppError;
    type Future = Ready<Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(Query::parse(req.query_string()))
    }
}

fn bad_field(field: impl Into<String>, message: impl Into<String>) -> AppError {
    let field = field.into();
    let message = message.into();
    AppError::BadRequestFields(
        format!("the query string is not valid: {field} {message}"),
        vec![FieldError::new(field, message)],
    )
}

/// Splits and decodes `application/x-www-form-urlencoded` pairs (`+` is a
/// space), refusing what cannot be decoded. An empty value is kept (`?status=`
/// means "no status filter"); empty segments (`a=1&&b=2`) are skipped.
pub fn decode(raw: &str) -> Result<Vec<(String, String)>, AppError> {
    let mut pairs = Vec::new();
    for segment in raw.split('&').filter(|s| !s.is_empty()) {
        let (raw_key, raw_value) = segment.split_once('=').unwrap_or((segment, ""));
        // Name the parameter as far as it can be read.
        let key = percent_decode(raw_key).map_err(|m| bad_field(raw_key, m))?;
        let value = percent_decode(raw_value).map_err(|m| bad_field(&key, m))?;
        pairs.push((key, value));
    }
    Ok(pairs)
}

/// RFC 3986 §2.1 percent-decoding (plus `+` as a space, as HTML forms send
/// it), then UTF-8. Bytes at or above 0x80 that arrived unencoded stay as
/// they are: the request line held UTF-8 text.
fn percent_decode(raw: &str) -> Result<String, String> {
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let hex = bytes.get(i + 1..i + 3).and_then(|h| {
                    let h = std::str::from_utf8(h).ok()?;
                    u8::from_str_radix(h, 16).ok()
                });
                match hex {
                    Some(byte) => out.push(byte),
                    None => {
                        let found: String = raw[i..].chars().take(3).collect();
                        return Err(format!(
                            "has a bad percent-encoding {found:?}: '%' must be followed by two hex digits"
                        ));
                    }
                }
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).map_err(|_| "is not UTF-8 text once percent-decoded".to_string())
}

fn refuse_repeats(pairs: &[(String, String)]) -> Result<(), AppError> {
    for (i, (key, _)) in pairs.iter().enumerate() {
        if pairs[..i].iter().any(|(k, _)| k == key) {
            return Err(bad_field(
                key,
                "is given twice; each parameter may appear only once",
            ));
        }
    }
    Ok(())
}

/// Deserializes `T` from decoded pairs; `also` are names the caller took out
/// before (cursor, limit), named in the message about an unknown parameter.
fn from_pairs<T: DeserializeOwned>(
    pairs: Vec<(String, String)>,
    also: &'static [&'static str],
) -> Result<T, AppError> {
    T::deserialize(Pairs { pairs, also }).map_err(|e| match e.field {
        Some(field) => bad_field(field, e.message),
        None => AppError::BadRequest(format!("the query string is not valid: {}", e.message)),
    })
}

/// A query-string error, with the parameter it is about once known.
#[derive(Debug)]
struct QueryError {
    field: Option<String>,
    message: String,
}

impl QueryError {
    fn at(mut self, key: &str) -> QueryError {
        self.field.get_or_insert_with(|| key.to_string());
        self
    }
}

impl fmt::Display for QueryError {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for QueryError {}

impl de::Error for QueryError {
    fn custom<M: fmt::Display>(msg: M) -> Self {
        QueryError {
            field: None,
            message: msg.to_string(),
        }
    }

    fn missing_field(field: &'static str) -> Self {
        QueryError {
            field: Some(field.to_string()),
            message: "is required".into(),
        }
    }

    fn invalid_value(_: de::Unexpected, expected: &dyn de::Expected) -> Self {
        Self::custom(format_args!("must be {expected}"))
    }

    fn invalid_type(unexp: de::Unexpected, expected: &dyn de::Expected) -> Self {
        Self::invalid_value(unexp, expected)
    }

    fn unknown_variant(variant: &str, expected: &'static [&'static str]) -> Self {
        Self::custom(format_args!(
            "must be one of {}, not {variant:?}",
            expected.join(", ")
        ))
    }
}

/// The decoded pairs, as a struct of parameters.
struct Pairs {
    pairs: Vec<(String, String)>,
    also: &'static [&'static str],
}

impl<'de> de::Deserializer<'de> for Pairs {
    type Error = QueryError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, QueryError> {
        visitor.visit_map(PairsAccess {
            pairs: self.pairs.into_iter(),
            value: None,
        })
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, QueryError> {
        if let Some((unknown, _)) = self
            .pairs
            .iter()
            .find(|(k, _)| !fields.contains(&k.as_str()))
        {
            let mut known: Vec<&str> = self.also.to_vec();
            known.extend(fields);
            let message = if known.is_empty() {
                "is not a parameter of this endpoint, which takes none".to_string()
            } else {
                format!(
                    "is not a parameter of this endpoint; it takes {}",
                    known.join(", ")
                )
            };
            return Err(QueryError {
                field: Some(unknown.clone()),
                message,
            });
        }
        self.deserialize_any(visitor)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf option unit unit_struct newtype_struct seq tuple
        tuple_struct map enum identifier ignored_any
    }
}

struct PairsAccess {
    pairs: std::vec::IntoIter<(String, String)>,
    value: Option<(String, String)>,
}

impl<'de> de::MapAccess<'de> for PairsAccess {
    type Error = QueryError;

    fn next_key_seed<K: de::DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, QueryError> {
        match self.pairs.next() {
            None => Ok(None),
            Some((key, value)) => {
                let deserializer: de::value::StrDeserializer<QueryError> =
                    key.as_str().into_deserializer();
                let k = seed.deserialize(deserializer)?;
                self.value = Some((key, value));
                Ok(Some(k))
            }
        }
    }

    fn next_value_seed<V: de::DeserializeSeed<'de>>(
        &mut self,
        seed: V,
    ) -> Result<V::Value, QueryError> {
        let (key, value) = self
            .value
            .take()
            .ok_or_else(|| de::Error::custom("a value without its parameter"))?;
        seed.deserialize(Part { key: &key, value })
            .map_err(|e| e.at(&key))
    }
}

/// One parameter's value: text, read as the field's type asks.
struct Part<'a> {
    key: &'a str,
    value: String,
}

impl Part<'_> {
    fn err(&self, message: impl Into<String>) -> QueryError {
        QueryError {
            field: Some(self.key.to_string()),
            message: message.into(),
        }
    }
}

macro_rules! parse_number {
    ($($method:ident => $visit:ident : $t:ty, $what:literal;)*) => {
        $(
            fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, QueryError> {
                match self.value.trim().parse::<$t>() {
                    Ok(n) => visitor.$visit(n),
                    Err(_) => Err(self.err(concat!("must be ", $what))),
                }
            }
        )*
    };
}

impl<'de> de::Deserializer<'de> for Part<'_> {
    type Error = QueryError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, QueryError> {
        visitor.visit_string(self.value)
    }

    /// An empty value is no value: `?status=` does not filter.
    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, QueryError> {
        if self.value.is_empty() {
            visitor.visit_none()
        } else {
            visitor.visit_some(self)
        }
    }

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, QueryError> {
        match self.value.as_str() {
            "true" => visitor.visit_bool(true),
            "false" => visitor.visit_bool(false),
            _ => Err(self.err("must be true or false")),
        }
    }

    parse_number! {
        deserialize_i8 => visit_i8: i8, "a whole number";
        deserialize_i16 => visit_i16: i16, "a whole number";
        deserialize_i32 => visit_i32: i32, "a whole number";
        deserialize_i64 => visit_i64: i64, "a whole number";
        deserialize_u8 => visit_u8: u8, "a whole number, 0 or more";
        deserialize_u16 => visit_u16: u16, "a whole number, 0 or more";
        deserialize_u32 => visit_u32: u32, "a whole number, 0 or more";
        deserialize_u64 => visit_u64: u64, "a whole number, 0 or more";
        deserialize_f32 => visit_f32: f32, "a number";
        deserialize_f64 => visit_f64: f64, "a number";
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, QueryError> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, QueryError> {
        let deserializer: de::value::StringDeserializer<QueryError> =
            self.value.into_deserializer();
        visitor.visit_enum(deserializer)
    }

    serde::forward_to_deserialize_any! {
        i128 u128 char str string bytes byte_buf unit unit_struct seq tuple
        tuple_struct map struct identifier ignored_any
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize, PartialEq)]
    struct Filter {
        status: Option<String>,
        days: Option<u32>,
        active: Option<bool>,
    }

    fn fields(err: AppError) -> (u16, Vec<(String, String)>) {
        let status = actix_web::ResponseError::status_code(&err).as_u16();
        let fields = match err {
            AppError::BadRequestFields(_, f) | AppError::Validation(f) => {
                f.into_iter().map(|f| (f.field, f.message)).collect()
            }
            _ => Vec::new(),
        };
        (status, fields)
    }

    #[test]
    fn a_list_query_reads_page_and_typed_filters() {
        let q = ListQuery::<Filter>::parse("status=reserved&days=3&active=false&limit=7").unwrap();
        assert_eq!(q.page.limit, 7);
        assert_eq!(
            q.filter,
            Filter {
                status: Some("reserved".into()),
                days: Some(3),
                active: Some(false)
            }
        );
        let empty = ListQuery::<Filter>::parse("status=&cursor=&limit=").unwrap();
        assert_eq!(empty.filter.status, None);
        assert_eq!(empty.page.after, None);
    }

    #[test]
    fn an_unknown_or_repeated_parameter_is_named() {
        let (status, f) = fields(ListQuery::<Filter>::parse("stauts=reserved").unwrap_err());
        assert_eq!(status, 400);
        assert_eq!(f[0].0, "stauts");
        assert_eq!(
            f[0].1,
            "is not a parameter of this endpoint; it takes cursor, limit, status, days, active"
        );
        let (_, f) = fields(ListQuery::<NoFilter>::parse("x=1").unwrap_err());
        assert_eq!(
            f[0].1,
            "is not a parameter of this endpoint; it takes cursor, limit"
        );
        let (status, f) = fields(ListQuery::<Filter>::parse("days=1&days=2").unwrap_err());
        assert_eq!((status, f[0].0.as_str()), (400, "days"));
        let (_, f) = fields(Query::<NoFilter>::parse("x=1").unwrap_err());
        assert_eq!(
            f[0].1,
            "is not a parameter of this endpoint, which takes none"
        );
    }

    #[test]
    fn a_value_of_the_wrong_type_names_its_parameter() {
        for (raw, field, message) in [
            ("limit=abc", "limit", "must be a whole number from 1 to 500"),
            ("days=-1", "days", "must be a whole number, 0 or more"),
            ("active=yes", "active", "must be true or false"),
        ] {
            let (status, f) = fields(ListQuery::<Filter>::parse(raw).unwrap_err());
            assert_eq!(status, 400, "{raw}");
            assert_eq!(
                (f[0].0.as_str(), f[0].1.as_str()),
                (field, message),
                "{raw}"
            );
        }
        let (status, f) = fields(ListQuery::<Filter>::parse("limit=0").unwrap_err());
        assert_eq!((status, f[0].0.as_str()), (422, "limit"));
    }

    #[test]
    fn text_is_decoded_raw_or_percent_encoded() {
        let raw = ListQuery::<Filter>::parse("status=蜂蜜专场-1202").unwrap();
        let encoded =
            ListQuery::<Filter>::parse("status=%E8%9C%82%E8%9C%9C%E4%B8%93%E5%9C%BA-1202").unwrap();
        assert_eq!(raw.filter.status.as_deref(), Some("蜂蜜专场-1202"));
        assert_eq!(raw.filter, encoded.filter);
        let plus = ListQuery::<Filter>::parse("status=a+b%2Bc").unwrap();
        assert_eq!(plus.filter.status.as_deref(), Some("a b+c"));
    }

    #[test]
    fn malformed_encoding_is_a_400_naming_the_parameter() {
        for raw in ["status=%zz", "status=%E8%9C", "status=%", "status=%4"] {
            let (status, f) = fields(ListQuery::<Filter>::parse(raw).unwrap_err());
            assert_eq!(status, 400, "{raw}");
            assert_eq!(f[0].0, "status", "{raw}");
        }
    }

    #[test]
    fn a_cursor_depot_did_not_issue_is_a_400() {
        let (status, f) = fields(ListQuery::<NoFilter>::parse("cursor=ord_01ABC").unwrap_err());
        assert_eq!((status, f[0].0.as_str()), (400, "cursor"));
    }
}
