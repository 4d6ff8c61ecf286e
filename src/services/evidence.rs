//! Evidence files of inspections: kept content-addressed under
//! `<data dir>/evidence/<first 2 hex>/<sha256>`, one `evidence_files` row each.
//!
//! Storing is two steps, in this order: the file ([`store_file`]), then the
//! row ([`record`]). A crash between them leaves a file without a row, which a
//! new upload of the same bytes adopts; the other order could leave a row
//! pointing at nothing.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use diesel::prelude::*;
use serde::Serialize;
use utoipa::ToSchema;

use crate::db::schema::{evidence_files, inspection_evidence, inspections, lots};
use crate::db::{self, AnyConnection};
use crate::domain::access::{Principal, Role};
use crate::domain::evidence::{evidence_uri, is_sha256_hex, EvidenceType};
use crate::domain::time;
use crate::error::AppError;

/// For the inspection service: the SHA-256 of a URI of depot's own evidence.
pub use crate::domain::evidence::is_evidence_uri_ours;

/// An evidence file as depot answers it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct EvidenceFile {
    /// Where depot serves the file; an inspection's evidence refers to it.
    pub uri: String,
    /// SHA-256 of the bytes, lowercase hex: the file's name.
    pub sha256: String,
    /// image/jpeg, image/png, image/webp or application/pdf.
    pub content_type: String,
    pub size_bytes: i64,
}

/// What an upload did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recorded {
    pub file: EvidenceFile,
    /// False when the same bytes were already recorded.
    pub created: bool,
}

/// A checked upload: its kind agrees with its bytes, which are not empty.
pub struct NewEvidence {
    pub sha256: String,
    pub kind: EvidenceType,
    pub size_bytes: i64,
}

/// Where the file with this SHA-256 is kept.
pub fn file_path(data_dir: &Path, sha256: &str) -> PathBuf {
    data_dir
        .join("evidence")
        .join(&sha256[..2.min(sha256.len())])
        .join(sha256)
}

/// Writes the file unless it is already there. It is written to a temporary
/// file in the same directory, flushed to disk, then renamed into place, so
/// that the final name only ever holds the whole file. A file already there
/// is left as it is (same name, same bytes), unless its size shows it is not
/// this file, in which case it is replaced the same way.
pub fn store_file(data_dir: &Path, sha256: &str, bytes: &[u8]) -> Result<(), AppError> {
    let path = file_path(data_dir, sha256);
    let io_error = |what: &str, e: std::io::Error| {
        AppError::Internal(format!("{what} {}: {e}", path.display()))
    };
    if let Ok(meta) = fs::metadata(&path) {
        if meta.is_file() && meta.len() == bytes.len() as u64 {
            return Ok(());
        }
    }
    let dir = path
        .parent()
        .ok_or_else(|| AppError::Internal(format!("no directory for {}", path.display())))?;
    fs::create_dir_all(dir).map_err(|e| io_error("cannot create the directory of", e))?;
    let temp = dir.join(format!(".{sha256}.{:016x}.tmp", rand::random::<u64>()));
    let written = (|| {
        let mut file = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&temp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        fs::rename(&temp, &path)?;
        sync_directory(dir)
    })();
    if let Err(e) = written {
        let _ = fs::remove_file(&temp);
        return Err(io_error("cannot write the evidence file", e));
    }
    Ok(())
}

/// Makes a rename durable: the directory entry is flushed too (POSIX).
#[cfg(unix)]
fn sync_directory(dir: &Path) -> std::io::Result<()> {
    fs::File::open(dir)?.sync_all()
}

#[cfg(not(unix))]
fn sync_directory(_dir: &Path) -> std::io::Result<()> {
    Ok(())
}

/// Reads a stored file's bytes.
pub fn read_file(data_dir: &Path, sha256: &str) -> Result<Vec<u8>, AppError> {
    let path = file_path(data_dir, sha256);
    fs::read(&path).map_err(|e| {
        AppError::Internal(format!(
            "evidence {sha256} is recorded but cannot be read from {}: {e}",
            path.display()
        ))
    })
}

/// Records an upload whose file is stored. The same bytes uploaded again (or
/// by two requests at once) are one row: the second answers the first's.
pub fn record(
    conn: &mut AnyConnection,
    who: &Principal,
    new: NewEvidence,
) -> Result<Recorded, AppError> {
    let outcome = db::write(conn, |c| {
        if let Some(file) = find(c, &new.sha256)? {
            return Ok(Recorded {
                file,
                created: false,
            });
        }
        diesel::insert_into(evidence_files::table)
            .values((
                evidence_files::sha256.eq(&new.sha256),
                evidence_files::content_type.eq(new.kind.media_type()),
                evidence_files::size_bytes.eq(new.size_bytes),
                evidence_files::created_at.eq(time::now()),
                evidence_files::created_by.eq(&who.token_id),
            ))
            .execute(c)?;
        Ok(Recorded {
            file: EvidenceFile {
                uri: evidence_uri(&new.sha256),
                sha256: new.sha256.clone(),
                content_type: new.kind.media_type().to_string(),
                size_bytes: new.size_bytes,
            },
            created: true,
        })
    });
    match outcome {
        // A concurrent upload of the same bytes inserted the row first
        // (PostgreSQL; SQLite's write lock serialises the two).
        Err(AppError::Conflict(_)) => match find(conn, &new.sha256)? {
            Some(file) => Ok(Recorded {
                file,
                created: false,
            }),
            None => Err(AppError::Unavailable(
                "a concurrent upload got in the way; retry".into(),
            )),
        },
        other => other,
    }
}

/// Whether a file with this SHA-256 is recorded. For the inspection service,
/// to accept only evidence that depot holds.
pub fn exists(conn: &mut AnyConnection, sha256: &str) -> Result<bool, AppError> {
    let n: i64 = evidence_files::table
        .filter(evidence_files::sha256.eq(sha256))
        .count()
        .get_result(conn)?;
    Ok(n > 0)
}

fn find(conn: &mut AnyConnection, sha256: &str) -> Result<Option<EvidenceFile>, AppError> {
    let row: Option<(String, String, i64)> = evidence_files::table
        .find(sha256)
        .select((
            evidence_files::sha256,
            evidence_files::content_type,
            evidence_files::size_bytes,
        ))
        .first(conn)
        .optional()?;
    Ok(row.map(|(sha256, content_type, size_bytes)| EvidenceFile {
        uri: evidence_uri(&sha256),
        sha256,
        content_type,
        size_bytes,
    }))
}

/// A file the caller may see: staff and admin any; a merchant only one that
/// an inspection of one of its own lots refers to. Anything else, like a
/// malformed name, is a 404 indistinguishable from a missing file.
pub fn get(
    conn: &mut AnyConnection,
    who: &Principal,
    sha256: &str,
) -> Result<EvidenceFile, AppError> {
    let not_found = || AppError::NotFound(format!("no evidence file {sha256}"));
    if !is_sha256_hex(sha256) {
        return Err(not_found());
    }
    let visible = match (who.role, &who.merchant_id) {
        (Role::Admin | Role::Staff, _) => true,
        (Role::Merchant, Some(own)) => {
            let references: i64 = inspection_evidence::table
                .inner_join(inspections::table.inner_join(lots::table))
                .filter(inspection_evidence::sha256.eq(sha256))
                .filter(lots::merchant_id.eq(own))
                .count()
                .get_result(conn)?;
            references > 0
        }
        _ => false,
    };
    if !visible {
        return Err(not_found());
    }
    find(conn, sha256)?.ok_or_else(not_found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_live_under_their_first_two_hex_digits() {
        let sha = format!("ab{}", "0".repeat(62));
        assert_eq!(
            file_path(Path::new("/data"), &sha),
            PathBuf::from(format!("/data/evidence/ab/{sha}"))
        );
    }

    #[test]
    fn storing_writes_once_and_leaves_no_temporary_file() {
        let dir =
            std::env::temp_dir().join(format!("depot-evidence-{:016x}", rand::random::<u64>()));
        let sha = crate::domain::evidence::sha256_hex(b"%PDF-1.4 test");
        store_file(&dir, &sha, b"%PDF-1.4 test").unwrap();
        store_file(&dir, &sha, b"%PDF-1.4 test").unwrap();
        let path = file_path(&dir, &sha);
        assert_eq!(fs::read(&path).unwrap(), b"%PDF-1.4 test");
        let entries: Vec<_> = fs::read_dir(path.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(entries, vec![std::ffi::OsString::from(&sha)]);
        fs::remove_dir_all(&dir).unwrap();
    }
}
