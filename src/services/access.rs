//! Bearer tokens: issue, authenticate, list, revoke.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;
use utoipa::ToSchema;

use crate::db::schema::{api_tokens, carriers, merchants};
use crate::db::{self, AnyConnection};
use crate::domain::access::{hash_token, new_token_secret, Principal, Role, TokenSpec};
use crate::domain::ids::new_id;
use crate::domain::page::{Page, PageRequest};
use crate::domain::time;
use crate::error::{AppError, FieldError};

/// A token as listed: never its secret, nor its hash.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TokenInfo {
    pub id: String,
    pub role: Role,
    pub merchant_id: Option<String>,
    pub carrier_id: Option<String>,
    pub label: Option<String>,
    #[serde(serialize_with = "time::serialize")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: NaiveDateTime,
    /// The token that created this one; null for tokens made on the command line.
    pub created_by: Option<String>,
    #[serde(serialize_with = "time::serialize_opt")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub revoked_at: Option<NaiveDateTime>,
    pub revoked_by: Option<String>,
}

/// A newly issued token: the only time its secret is ever shown.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct IssuedToken {
    pub id: String,
    /// The bearer secret. Shown once; depot keeps only its SHA-256.
    pub token: String,
    pub role: Role,
    pub merchant_id: Option<String>,
    pub carrier_id: Option<String>,
    pub label: Option<String>,
}

type TokenRow = (
    String,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    NaiveDateTime,
    Option<String>,
    Option<NaiveDateTime>,
    Option<String>,
);

const TOKEN_COLUMNS: (
    api_tokens::id,
    api_tokens::role,
    api_tokens::merchant_id,
    api_tokens::carrier_id,
    api_tokens::label,
    api_tokens::created_at,
    api_tokens::created_by,
    api_tokens::revoked_at,
    api_tokens::revoked_by,
) = (
    api_tokens::id,
    api_tokens::role,
    api_tokens::merchant_id,
    api_tokens::carrier_id,
    api_tokens::label,
    api_tokens::created_at,
    api_tokens::created_by,
    api_tokens::revoked_at,
    api_tokens::revoked_by,
);

fn token_info(row: TokenRow) -> Result<TokenInfo, AppError> {
    let (id, role, merchant_id, carrier_id, label, created_at, created_by, revoked_at, revoked_by) =
        row;
    let role = Role::parse(&role)
        .ok_or_else(|| AppError::Internal(format!("token {id} has unknown role {role}")))?;
    Ok(TokenInfo {
        id,
        role,
        merchant_id,
        carrier_id,
        label,
        created_at,
        created_by,
        revoked_at,
        revoked_by,
    })
}

/// Issues a token. `created_by` is the token id of the caller (None from the CLI).
pub fn issue(
    conn: &mut AnyConnection,
    created_by: Option<&str>,
    spec: TokenSpec,
) -> Result<IssuedToken, AppError> {
    db::write(conn, |c| {
        let mut errors = Vec::new();
        if let Some(merchant_id) = &spec.merchant_id {
            let found: i64 = merchants::table
                .filter(merchants::id.eq(merchant_id))
                .count()
                .get_result(c)?;
            if found == 0 {
                errors.push(FieldError::new(
                    "merchant_id",
                    format!("no merchant with id {merchant_id}"),
                ));
            }
        }
        if let Some(carrier_id) = &spec.carrier_id {
            let found: i64 = carriers::table
                .filter(carriers::id.eq(carrier_id))
                .count()
                .get_result(c)?;
            if found == 0 {
                errors.push(FieldError::new(
                    "carrier_id",
                    format!("no carrier with id {carrier_id}"),
                ));
            }
        }
        crate::error::validated(errors)?;
        insert_token(c, created_by, spec)
    })
}

fn insert_token(
    c: &mut AnyConnection,
    created_by: Option<&str>,
    spec: TokenSpec,
) -> Result<IssuedToken, AppError> {
    let id = new_id("tok");
    let secret = new_token_secret();
    diesel::insert_into(api_tokens::table)
        .values((
            api_tokens::id.eq(&id),
            api_tokens::token_hash.eq(hash_token(&secret)),
            api_tokens::role.eq(spec.role.as_str()),
            api_tokens::merchant_id.eq(&spec.merchant_id),
            api_tokens::carrier_id.eq(&spec.carrier_id),
            api_tokens::label.eq(&spec.label),
            api_tokens::created_at.eq(time::now()),
            api_tokens::created_by.eq(created_by),
        ))
        .execute(c)?;
    Ok(IssuedToken {
        id,
        token: secret,
        role: spec.role,
        merchant_id: spec.merchant_id,
        carrier_id: spec.carrier_id,
        label: spec.label,
    })
}

/// On an empty database (no token at all), issues the first admin token so
/// that somebody can log in. Returns it, or None when tokens already exist.
pub fn bootstrap_admin(conn: &mut AnyConnection) -> Result<Option<IssuedToken>, AppError> {
    db::write(conn, |c| {
        db::backend::serialize_bootstrap(c)?;
        let existing: i64 = api_tokens::table.count().get_result(c)?;
        if existing > 0 {
            return Ok(None);
        }
        let spec = TokenSpec {
            role: Role::Admin,
            merchant_id: None,
            carrier_id: None,
            label: Some("first admin (created at first start)".into()),
        };
        insert_token(c, None, spec).map(Some)
    })
}

/// The principal behind a bearer secret, if the token exists and is not revoked.
pub fn authenticate(conn: &mut AnyConnection, secret: &str) -> Result<Principal, AppError> {
    let row: Option<(String, String, Option<String>, Option<String>)> = api_tokens::table
        .filter(api_tokens::token_hash.eq(hash_token(secret)))
        .filter(api_tokens::revoked_at.is_null())
        .select((
            api_tokens::id,
            api_tokens::role,
            api_tokens::merchant_id,
            api_tokens::carrier_id,
        ))
        .first(conn)
        .optional()?;
    let Some((token_id, role, merchant_id, carrier_id)) = row else {
        return Err(AppError::Unauthenticated(
            "the bearer token is unknown or revoked".into(),
        ));
    };
    let role = Role::parse(&role)
        .ok_or_else(|| AppError::Internal(format!("token {token_id} has unknown role {role}")))?;
    Ok(Principal {
        token_id,
        role,
        merchant_id,
        carrier_id,
    })
}

/// [`authenticate`] for a request that may write: a merchant token of an
/// inactive merchant still reads, but every write is a 403 saying why.
pub fn authenticate_writer(conn: &mut AnyConnection, secret: &str) -> Result<Principal, AppError> {
    let principal = authenticate(conn, secret)?;
    if let Some(merchant_id) = &principal.merchant_id {
        let active: Option<bool> = merchants::table
            .find(merchant_id)
            .select(merchants::active)
            .first(conn)
            .optional()?;
        if active == Some(false) {
            return Err(AppError::Forbidden(format!(
                "merchant {merchant_id} is inactive: its tokens may read, but not create or change anything"
            )));
        }
    }
    Ok(principal)
}

pub fn list(conn: &mut AnyConnection, page: &PageRequest) -> Result<Page<TokenInfo>, AppError> {
    let mut query = api_tokens::table
        .select(TOKEN_COLUMNS)
        .order(api_tokens::id.asc())
        .limit(page.fetch())
        .into_boxed();
    if let Some(after) = &page.after {
        query = query.filter(api_tokens::id.gt(after));
    }
    let rows: Vec<TokenRow> = query.load(conn)?;
    let infos = rows
        .into_iter()
        .map(token_info)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Page::from_rows(infos, page, |t| &t.id))
}

pub fn get(conn: &mut AnyConnection, id: &str) -> Result<TokenInfo, AppError> {
    let row: Option<TokenRow> = api_tokens::table
        .find(id)
        .select(TOKEN_COLUMNS)
        .first(conn)
        .optional()?;
    row.map(token_info)
        .transpose()?
        .ok_or_else(|| AppError::not_found("token", id))
}

/// Revokes a token; from then on it answers 401. Revoking a revoked token
/// changes nothing and is not an error.
pub fn revoke(conn: &mut AnyConnection, revoked_by: &str, id: &str) -> Result<TokenInfo, AppError> {
    db::write(conn, |c| {
        let token = get(c, id)?;
        if token.revoked_at.is_some() {
            return Ok(token);
        }
        if token.role == Role::Admin {
            // Lock the active admin tokens (PostgreSQL row locks; SQLite writers
            // are serial) so two admins revoking each other cannot both succeed.
            let active_admins = diesel::update(
                api_tokens::table
                    .filter(api_tokens::role.eq(Role::Admin.as_str()))
                    .filter(api_tokens::revoked_at.is_null()),
            )
            .set(api_tokens::id.eq(api_tokens::id))
            .execute(c)?;
            if active_admins <= 1 {
                return Err(AppError::InvalidState(
                    "this is the last active admin token; issue another admin token before                      revoking it (or use `depot admin token --role admin`)"
                        .into(),
                ));
            }
        }
        diesel::update(api_tokens::table.find(id))
            .set((
                api_tokens::revoked_at.eq(time::now()),
                api_tokens::revoked_by.eq(revoked_by),
            ))
            .execute(c)?;
        get(c, id)
    })
}
