//! Bearer-token access: the middleware that resolves a token once per request,
//! and the [`Caller`] extractor through which a handler declares which roles
//! may call it.
//!
//! Failures: no or an unknown/revoked token → 401; a role not allowed → 403.
//! Objects of another merchant or carrier answer 404; that check is the
//! services' (see [`Principal::sees_merchant`]).

use std::marker::PhantomData;
use std::ops::Deref;

use actix_web::body::MessageBody;
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::{header, Method};
use actix_web::middleware::Next;
use actix_web::{web, FromRequest, HttpMessage, HttpRequest};
use futures_util::future::{ready, Ready};

use crate::db::{self, DbPool};
use crate::domain::access::{Principal, Role};
use crate::error::AppError;
use crate::services::access;

/// The outcome of authenticating the request, kept in its extensions.
#[derive(Clone)]
struct Authentication(Result<Principal, AppError>);

/// Resolves the bearer token of an API request (one indexed lookup) before
/// any extractor runs, so that a caller without a valid token gets 401 before
/// its body is even read.
pub async fn authenticate(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    if req.path().starts_with("/api/") {
        if let Some(value) = req.headers().get(header::AUTHORIZATION) {
            // Safe methods read; every other may write, which an inactive
            // merchant's token may not (RFC 9110 §9.2.1).
            let writes = !matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
            let outcome = match bearer_secret(value.to_str().unwrap_or("")) {
                Ok(secret) => match req.app_data::<web::Data<DbPool>>() {
                    Some(pool) if writes => {
                        db::run(pool, move |c| access::authenticate_writer(c, &secret)).await
                    }
                    Some(pool) => db::run(pool, move |c| access::authenticate(c, &secret)).await,
                    None => Err(AppError::Internal("no database pool in app data".into())),
                },
                Err(e) => Err(e),
            };
            req.extensions_mut().insert(Authentication(outcome));
        }
    }
    next.call(req).await
}

/// The id (never the secret) of the token that authenticated `req`, if one did.
pub fn token_id(req: &HttpRequest) -> Option<String> {
    match req.extensions().get::<Authentication>() {
        Some(Authentication(Ok(principal))) => Some(principal.token_id.clone()),
        _ => None,
    }
}

/// The secret of an `Authorization: Bearer <token>` header (RFC 6750 §2.1;
/// the scheme name is case-insensitive, RFC 9110 §11.1).
fn bearer_secret(value: &str) -> Result<String, AppError> {
    let (scheme, secret) = value.trim().split_once(' ').unwrap_or((value, ""));
    if !scheme.eq_ignore_ascii_case("bearer") || secret.trim().is_empty() {
        return Err(AppError::Unauthenticated(
            "the Authorization header must be 'Bearer <token>'".into(),
        ));
    }
    Ok(secret.trim().to_string())
}

impl FromRequest for Principal {
    type Error = AppError;
    type Future = Ready<Result<Principal, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let outcome = match req.extensions().get::<Authentication>() {
            Some(Authentication(outcome)) => outcome.clone(),
            None => Err(AppError::Unauthenticated(
                "this endpoint needs a bearer token: Authorization: Bearer <token>".into(),
            )),
        };
        ready(outcome)
    }
}

/// Which roles may call an endpoint.
pub trait Allowed {
    const ROLES: &'static [Role];
}

/// Admin only: set-up of tokens and partners.
pub struct AdminOnly;
/// The warehouse's own people.
pub struct StaffOnly;
/// The warehouse, and merchants for their own objects.
pub struct StaffOrMerchant;
/// The warehouse, and carriers for their own objects.
pub struct StaffOrCarrier;
/// Carriers, for their own objects.
pub struct CarrierOnly;
/// Any valid token; what it sees is still scoped by the service.
pub struct AnyRole;

impl Allowed for AdminOnly {
    const ROLES: &'static [Role] = &[Role::Admin];
}
impl Allowed for StaffOnly {
    const ROLES: &'static [Role] = &[Role::Admin, Role::Staff];
}
impl Allowed for StaffOrMerchant {
    const ROLES: &'static [Role] = &[Role::Admin, Role::Staff, Role::Merchant];
}
impl Allowed for StaffOrCarrier {
    const ROLES: &'static [Role] = &[Role::Admin, Role::Staff, Role::Carrier];
}
impl Allowed for CarrierOnly {
    const ROLES: &'static [Role] = &[Role::Carrier];
}
impl Allowed for AnyRole {
    const ROLES: &'static [Role] = &Role::ALL;
}

/// The authenticated caller of an endpoint that `R` allows. Put it first
/// among a handler's arguments so that 401 and 403 come before body errors.
pub struct Caller<R: Allowed> {
    principal: Principal,
    _roles: PhantomData<R>,
}

impl<R: Allowed> Caller<R> {
    pub fn into_principal(self) -> Principal {
        self.principal
    }
}

impl<R: Allowed> Deref for Caller<R> {
    type Target = Principal;
    fn deref(&self) -> &Principal {
        &self.principal
    }
}

impl<R: Allowed> FromRequest for Caller<R> {
    type Error = AppError;
    type Future = Ready<Result<Caller<R>, AppError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let outcome = Principal::from_request(req, payload)
            .into_inner()
            .and_then(|principal| {
                if principal.is(R::ROLES) {
                    Ok(Caller {
                        principal,
                        _roles: PhantomData,
                    })
                } else {
                    let allowed: Vec<_> = R::ROLES.iter().map(|r| r.as_str()).collect();
                    Err(AppError::Forbidden(format!(
                        "a {} token may not do this; allowed: {}",
                        principal.role,
                        allowed.join(", ")
                    )))
                }
            });
        ready(outcome)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_scheme_is_case_insensitive_and_required() {
        assert_eq!(bearer_secret("Bearer abc").unwrap(), "abc");
        assert_eq!(bearer_secret("bearer  abc ").unwrap(), "abc");
        assert!(bearer_secret("Basic abc").is_err());
        assert!(bearer_secret("Bearer").is_err());
        assert!(bearer_secret("abc").is_err());
    }
}
