//! The error policy, in one place.
//!
//! Every failure a caller can see is an [`AppError`]. Each variant has one row
//! in [`AppError::kind`]: a stable machine code (the last segment of the
//! problem `type`), an HTTP status and a title. The response body is an
//! RFC 9457 problem details object (`application/problem+json`):
//!
//! * `type` — RFC 9457 §3.1.1, a URI reference naming the kind of problem. We
//!   use the relative reference `/problems/<code>`; depot serves a short page
//!   at that path explaining the problem, so the reference dereferences.
//! * `title` — §3.1.3, the same for every occurrence of the type.
//! * `status` — §3.1.2, the HTTP status code, repeated for convenience.
//! * `detail` — §3.1.4, a human explanation of this occurrence.
//! * `errors` — an extension member (§3.2): `[{field, message}]` for each
//!   field that failed validation.
//!
//! The caller's mistakes are 4xx and change nothing: validation runs before a
//! transaction writes, and a failed transaction rolls back. Database
//! constraint violations that slip past validation become 409 (uniqueness) or
//! 422 (references, checks). Anything unexpected is logged with its cause and
//! answered with a 500 problem that reveals no internals.

use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use serde::Serialize;
use utoipa::ToSchema;

pub const PROBLEM_JSON: &str = "application/problem+json";

/// One field that failed validation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct FieldError {
    /// The offending field, as a JSON path into the request (`lines[2].qty`).
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        FieldError {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// An RFC 9457 problem details object, as depot sends it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Problem {
    /// A URI reference that names the kind of problem (`/problems/<code>`).
    #[serde(rename = "type")]
    pub problem_type: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// Present for validation problems: one entry per offending field.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
}

#[derive(Debug, Clone, thiserror::Error)]
pub enum AppError {
    /// The request could not be read: malformed JSON, a wrong type, a bad query string.
    #[error("{0}")]
    BadRequest(String),
    /// A bad request whose offending fields are known (a wrong type, a missing field).
    #[error("{0}")]
    BadRequestFields(String, Vec<FieldError>),
    /// The request was read but its content is invalid.
    #[error("the request has {} invalid field(s)", .0.len())]
    Validation(Vec<FieldError>),
    #[error("{0}")]
    Unauthenticated(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{method} is not allowed here; allowed: {allowed}")]
    MethodNotAllowed { method: String, allowed: String },
    /// The request clashes with what exists (a taken code, a changed retry).
    #[error("{0}")]
    Conflict(String),
    /// A conflict over the value of known fields (a GTIN the merchant uses).
    #[error("{0}")]
    ConflictFields(String, Vec<FieldError>),
    /// The object is in a state that does not allow the operation.
    #[error("{0}")]
    InvalidState(String),
    #[error("{0}")]
    PayloadTooLarge(String),
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// The database is busy or unreachable; the request may be retried.
    #[error("{0}")]
    Unavailable(String),
    /// Anything unexpected. The cause is logged, never sent.
    #[error("internal error: {0}")]
    Internal(String),
}

/// The table: stable code, status and title of each kind of problem.
pub struct ProblemKind {
    pub code: &'static str,
    pub status: StatusCode,
    pub title: &'static str,
}

pub const PROBLEM_KINDS: &[ProblemKind] = &[
    ProblemKind {
        code: "bad-request",
        status: StatusCode::BAD_REQUEST,
        title: "The request could not be read",
    },
    ProblemKind {
        code: "validation",
        status: StatusCode::UNPROCESSABLE_ENTITY,
        title: "The request has invalid fields",
    },
    ProblemKind {
        code: "unauthenticated",
        status: StatusCode::UNAUTHORIZED,
        title: "A valid bearer token is required",
    },
    ProblemKind {
        code: "forbidden",
        status: StatusCode::FORBIDDEN,
        title: "This token's role may not do this",
    },
    ProblemKind {
        code: "not-found",
        status: StatusCode::NOT_FOUND,
        title: "No such resource",
    },
    ProblemKind {
        code: "method-not-allowed",
        status: StatusCode::METHOD_NOT_ALLOWED,
        title: "Method not allowed on this resource",
    },
    ProblemKind {
        code: "conflict",
        status: StatusCode::CONFLICT,
        title: "The request conflicts with existing data",
    },
    ProblemKind {
        code: "invalid-state",
        status: StatusCode::CONFLICT,
        title: "The object's state does not allow this",
    },
    ProblemKind {
        code: "payload-too-large",
        status: StatusCode::PAYLOAD_TOO_LARGE,
        title: "The request body is too large",
    },
    ProblemKind {
        code: "unsupported-media-type",
        status: StatusCode::UNSUPPORTED_MEDIA_TYPE,
        title: "Unsupported content type",
    },
    ProblemKind {
        code: "unavailable",
        status: StatusCode::SERVICE_UNAVAILABLE,
        title: "The service is temporarily unavailable",
    },
    ProblemKind {
        code: "internal",
        status: StatusCode::INTERNAL_SERVER_ERROR,
        title: "Internal server error",
    },
];

impl AppError {
    pub fn kind(&self) -> &'static ProblemKind {
        let code = match self {
            AppError::BadRequest(_) | AppError::BadRequestFields(..) => "bad-request",
            AppError::Validation(_) => "validation",
            AppError::Unauthenticated(_) => "unauthenticated",
            AppError::Forbidden(_) => "forbidden",
            AppError::NotFound(_) => "not-found",
            AppError::MethodNotAllowed { .. } => "method-not-allowed",
            AppError::Conflict(_) | AppError::ConflictFields(..) => "conflict",
            AppError::InvalidState(_) => "invalid-state",
            AppError::PayloadTooLarge(_) => "payload-too-large",
            AppError::UnsupportedMediaType(_) => "unsupported-media-type",
            AppError::Unavailable(_) => "unavailable",
            AppError::Internal(_) => "internal",
        };
        problem_kind(code).expect("every AppError variant has a row in PROBLEM_KINDS")
    }

    /// A validation problem about one field.
    pub fn field(field: impl Into<String>, message: impl Into<String>) -> Self {
        AppError::Validation(vec![FieldError::new(field, message)])
    }

    pub fn not_found(what: &str, id: &str) -> Self {
        AppError::NotFound(format!("no {what} with id {id}"))
    }

    pub fn to_problem(&self) -> Problem {
        let kind = self.kind();
        let (detail, errors) = match self {
            AppError::Validation(errors) => (
                errors
                    .iter()
                    .map(|e| format!("{}: {}", e.field, e.message))
                    .collect::<Vec<_>>()
                    .join("; "),
                errors.clone(),
            ),
            AppError::BadRequestFields(detail, errors) => (detail.clone(), errors.clone()),
            AppError::ConflictFields(detail, errors) => (detail.clone(), errors.clone()),
            // Never leak internals to the caller; the cause is in the log.
            AppError::Internal(_) => (
                "an unexpected error occurred; it has been logged".to_string(),
                Vec::new(),
            ),
            other => (other.to_string(), Vec::new()),
        };
        Problem {
            problem_type: format!("/problems/{}", kind.code),
            title: kind.title.to_string(),
            status: kind.status.as_u16(),
            detail,
            errors,
        }
    }
}

pub fn problem_kind(code: &str) -> Option<&'static ProblemKind> {
    PROBLEM_KINDS.iter().find(|k| k.code == code)
}

impl ResponseError for AppError {
    fn status_code(&self) -> StatusCode {
        self.kind().status
    }

    fn error_response(&self) -> HttpResponse {
        if let AppError::Internal(cause) = self {
            log::error!("internal error: {cause}");
        }
        let mut response = HttpResponse::build(self.status_code());
        response.insert_header((header::CONTENT_TYPE, PROBLEM_JSON));
        match self {
            // RFC 6750 §3: a 401 names the scheme the resource expects.
            AppError::Unauthenticated(_) => {
                response.insert_header((header::WWW_AUTHENTICATE, "Bearer realm=\"depot\""));
            }
            AppError::MethodNotAllowed { allowed, .. } => {
                response.insert_header((header::ALLOW, allowed.as_str()));
            }
            AppError::Unavailable(_) => {
                response.insert_header((header::RETRY_AFTER, "1"));
            }
            _ => {}
        }
        let body = serde_json::to_vec(&self.to_problem()).unwrap_or_default();
        response.body(body)
    }
}

impl From<DieselError> for AppError {
    fn from(error: DieselError) -> Self {
        match &error {
            DieselError::NotFound => AppError::NotFound("no such record".into()),
            DieselError::DatabaseError(kind, info) => match kind {
                DatabaseErrorKind::UniqueViolation => AppError::Conflict(format!(
                    "a record with the same unique value already exists ({})",
                    info.constraint_name().unwrap_or(info.message())
                )),
                DatabaseErrorKind::ForeignKeyViolation => {
                    AppError::Validation(vec![FieldError::new(
                        info.column_name().unwrap_or("reference"),
                        "refers to a record that does not exist",
                    )])
                }
                DatabaseErrorKind::CheckViolation | DatabaseErrorKind::NotNullViolation => {
                    AppError::Validation(vec![FieldError::new(
                        info.column_name().unwrap_or("body"),
                        format!("violates a database rule ({})", info.message()),
                    )])
                }
                DatabaseErrorKind::SerializationFailure => AppError::Unavailable(
                    "a concurrent update got in the way; retry the request".into(),
                ),
                DatabaseErrorKind::ClosedConnection => {
                    AppError::Unavailable("the database connection was lost; retry".into())
                }
                // PostgreSQL refuses U+0000 in text (SQLSTATE 22021) wherever it
                // comes from: a path, a query or a JSON string.
                _ if info.message().contains("invalid byte sequence") => {
                    AppError::BadRequest("text must not contain the NUL character (U+0000)".into())
                }
                _ if is_sqlite_busy(info.message()) => {
                    AppError::Unavailable("the database is busy; retry the request".into())
                }
                // PostgreSQL 40P01 and 55P03: two transactions waited on each
                // other (one is cancelled), or a lock was not granted within
                // lock_timeout. diesel reports neither by kind, only by text.
                _ if is_pg_lock_failure(info.message()) => AppError::Unavailable(
                    "a concurrent request held what this one needed; retry the request".into(),
                ),
                _ => AppError::Internal(format!("database error: {error}")),
            },
            _ => AppError::Internal(format!("database error: {error}")),
        }
    }
}

fn is_pg_lock_failure(message: &str) -> bool {
    message.contains("deadlock detected") || message.contains("lock timeout")
}

fn is_sqlite_busy(message: &str) -> bool {
    message.contains("database is locked") || message.contains("database is busy")
}

impl From<r2d2::Error> for AppError {
    fn from(error: r2d2::Error) -> Self {
        log::warn!("database pool: {error}");
        AppError::Unavailable("no database connection is available; retry".into())
    }
}

impl From<actix_web::error::BlockingError> for AppError {
    fn from(error: actix_web::error::BlockingError) -> Self {
        AppError::Internal(format!("blocking task failed: {error}"))
    }
}

/// The parsed value, or None after recording why `field` failed to parse.
pub fn check_field<T>(
    errors: &mut Vec<FieldError>,
    field: &str,
    parsed: Result<T, String>,
) -> Option<T> {
    match parsed {
        Ok(value) => Some(value),
        Err(message) => {
            errors.push(FieldError::new(field, message));
            None
        }
    }
}

/// `Ok(())` when no field failed, else a 422 listing them all.
pub fn validated(errors: Vec<FieldError>) -> Result<(), AppError> {
    if errors.is_empty() {
        Ok(())
    } else {
        Err(AppError::Validation(errors))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_variant_has_a_distinct_code() {
        let mut codes: Vec<_> = PROBLEM_KINDS.iter().map(|k| k.code).collect();
        codes.sort();
        codes.dedup();
        assert_eq!(codes.len(), PROBLEM_KINDS.len());
    }

    #[test]
    fn internal_errors_do_not_leak_their_cause() {
        let problem = AppError::Internal("password=hunter2".into()).to_problem();
        assert_eq!(problem.status, 500);
        assert!(!problem.detail.contains("hunter2"));
    }

    #[test]
    fn validation_lists_every_field() {
        let problem = AppError::Validation(vec![
            FieldError::new("code", "is required"),
            FieldError::new("name", "is too long"),
        ])
        .to_problem();
        assert_eq!(problem.problem_type, "/problems/validation");
        assert_eq!(problem.status, 422);
        assert_eq!(problem.errors.len(), 2);
        assert!(problem.detail.contains("code: is required"));
    }
}
