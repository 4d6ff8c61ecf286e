//! Evidence files (photos and reports of an inspection): which kinds depot
//! accepts, how a file proves its kind, and how files are named.
//!
//! A file is named by the SHA-256 of its bytes, so the same photo uploaded
//! twice is one file, and a reference `{uri, sha256}` in an inspection cannot
//! silently come to mean different bytes.

use std::fmt;

/// The largest evidence file depot accepts: 10 MiB, room for a full-resolution
/// phone photo or a scanned report of a few pages.
pub const MAX_EVIDENCE_BYTES: usize = 10 * 1024 * 1024;

/// The path under which evidence is served; a file's URI is this plus its SHA-256.
pub const EVIDENCE_URI_PREFIX: &str = "/api/v1/evidence/";

/// The kinds of file depot keeps as evidence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EvidenceType {
    Jpeg,
    Png,
    Webp,
    Pdf,
}

impl EvidenceType {
    pub const ALL: [EvidenceType; 4] = [
        EvidenceType::Jpeg,
        EvidenceType::Png,
        EvidenceType::Webp,
        EvidenceType::Pdf,
    ];

    /// The media type (RFC 6838 name) sent and stored for this kind.
    pub fn media_type(self) -> &'static str {
        match self {
            EvidenceType::Jpeg => "image/jpeg",
            EvidenceType::Png => "image/png",
            EvidenceType::Webp => "image/webp",
            EvidenceType::Pdf => "application/pdf",
        }
    }

    /// The kind a `Content-Type` header names: its essence (before any `;`
    /// parameter), compared without regard to case (RFC 9110 §8.3.1).
    pub fn from_content_type(header: &str) -> Option<EvidenceType> {
        let essence = header.split(';').next().unwrap_or("").trim();
        EvidenceType::ALL
            .into_iter()
            .find(|t| t.media_type().eq_ignore_ascii_case(essence))
    }

    /// The kind the file's first bytes ("magic numbers") show:
    /// JPEG starts with an SOI marker followed by another marker (FF D8 FF,
    /// ITU-T T.81 B.1.1.3); PNG with its 8-byte signature (ISO/IEC 15948 §5.2);
    /// WebP with a RIFF header whose form type is `WEBP` (RFC 9649 §2.5);
    /// PDF with `%PDF-` (ISO 32000-1 §7.5.2).
    pub fn sniff(bytes: &[u8]) -> Option<EvidenceType> {
        const PNG: &[u8] = &[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A];
        if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
            Some(EvidenceType::Jpeg)
        } else if bytes.starts_with(PNG) {
            Some(EvidenceType::Png)
        } else if bytes.len() >= 12 && bytes.starts_with(b"RIFF") && &bytes[8..12] == b"WEBP" {
            Some(EvidenceType::Webp)
        } else if bytes.starts_with(b"%PDF-") {
            Some(EvidenceType::Pdf)
        } else {
            None
        }
    }

    /// The accepted media types, for messages: `image/jpeg, image/png, …`.
    pub fn accepted() -> String {
        EvidenceType::ALL
            .iter()
            .map(|t| t.media_type())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

impl fmt::Display for EvidenceType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.media_type())
    }
}

/// Why a body is not acceptable evidence.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EvidenceError {
    #[error("the Content-Type must be one of {accepted}, not {given}", accepted = EvidenceType::accepted())]
    UnsupportedType {
        /// The header as sent, quoted, or `no Content-Type`.
        given: String,
    },
    #[error(
        "the Content-Type says {declared}, but the file's bytes look like {found}; \
         send one of {accepted} with its own Content-Type",
        found = .found.map(|t| t.media_type()).unwrap_or("none of the accepted types"),
        accepted = EvidenceType::accepted()
    )]
    ContentMismatch {
        declared: EvidenceType,
        found: Option<EvidenceType>,
    },
    #[error("the file is empty")]
    Empty,
}

/// The kind a request's `Content-Type` declares, which must be an accepted
/// one. Checked before the body is read.
pub fn declared_type(content_type: Option<&str>) -> Result<EvidenceType, EvidenceError> {
    let given = content_type.unwrap_or("");
    EvidenceType::from_content_type(given).ok_or_else(|| EvidenceError::UnsupportedType {
        given: content_type.map_or("no Content-Type".to_string(), |t| format!("{t:?}")),
    })
}

/// The bytes must be a file of the declared kind. Trusting the header alone
/// would let a script labelled `image/png` into the record; trusting the bytes
/// alone would store a file under a type its sender did not mean.
pub fn check_content(declared: EvidenceType, bytes: &[u8]) -> Result<(), EvidenceError> {
    if bytes.is_empty() {
        return Err(EvidenceError::Empty);
    }
    match EvidenceType::sniff(bytes) {
        Some(found) if found == declared => Ok(()),
        found => Err(EvidenceError::ContentMismatch { declared, found }),
    }
}

/// The SHA-256 of a file, in lowercase hex: its name in depot.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Whether `raw` is a SHA-256 as depot writes it: 64 lowercase hex digits.
pub fn is_sha256_hex(raw: &str) -> bool {
    raw.len() == 64
        && raw
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// The URI at which depot serves the file with this SHA-256.
pub fn evidence_uri(sha256: &str) -> String {
    format!("{EVIDENCE_URI_PREFIX}{sha256}")
}

/// The SHA-256 of `uri` when it is an evidence URI of depot's own
/// (`/api/v1/evidence/<64 lowercase hex>`); None for anything else.
pub fn is_evidence_uri_ours(uri: &str) -> Option<&str> {
    uri.strip_prefix(EVIDENCE_URI_PREFIX)
        .filter(|sha| is_sha256_hex(sha))
}

/// A piece of evidence an inspector cites: a depot upload or a file
/// elsewhere, with the hash of its content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EvidenceRef {
    pub uri: String,
    pub sha256: String,
    /// The evidence is a depot upload (its file must exist).
    pub ours: bool,
}

/// Checks one evidence reference: an `http(s)://` URI or a depot evidence
/// path of at most 2,000 characters, and a SHA-256 (case-insensitive; kept
/// lowercase) that matches the path of a depot upload.
pub fn check_evidence(uri: &str, sha256: &str) -> Result<EvidenceRef, (&'static str, String)> {
    let uri = uri.trim();
    let sha = sha256.trim().to_ascii_lowercase();
    if !is_sha256_hex(&sha) {
        return Err(("sha256", "must be a SHA-256: 64 hexadecimal digits".into()));
    }
    if uri.is_empty() || uri.len() > 2000 || uri.chars().any(|c| c.is_control() || c == ' ') {
        return Err((
            "uri",
            "must be a URI of 1 to 2000 characters without spaces".into(),
        ));
    }
    if let Some(named) = is_evidence_uri_ours(uri) {
        if named != sha {
            return Err((
                "sha256",
                "does not match the SHA-256 in the evidence URI".into(),
            ));
        }
        return Ok(EvidenceRef {
            uri: uri.to_string(),
            sha256: sha,
            ours: true,
        });
    }
    let lower = uri.to_ascii_lowercase();
    let remote = ["https://", "http://"]
        .iter()
        .any(|scheme| lower.starts_with(scheme) && lower.len() > scheme.len());
    if !remote {
        return Err((
            "uri",
            format!("must be an http(s) URI or a depot upload ({EVIDENCE_URI_PREFIX}<sha256>)"),
        ));
    }
    Ok(EvidenceRef {
        uri: uri.to_string(),
        sha256: sha,
        ours: false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const JPEG: &[u8] = &[0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, b'J', b'F', b'I', b'F'];
    const PNG: &[u8] = &[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13];
    const WEBP: &[u8] = b"RIFF\x24\x00\x00\x00WEBPVP8 ";
    const PDF: &[u8] = b"%PDF-1.7\n%\xE2\xE3\xCF\xD3\n";

    #[test]
    fn each_kind_is_known_by_its_magic_bytes() {
        assert_eq!(EvidenceType::sniff(JPEG), Some(EvidenceType::Jpeg));
        assert_eq!(EvidenceType::sniff(PNG), Some(EvidenceType::Png));
        assert_eq!(EvidenceType::sniff(WEBP), Some(EvidenceType::Webp));
        assert_eq!(EvidenceType::sniff(PDF), Some(EvidenceType::Pdf));
    }

    #[test]
    fn near_misses_are_no_kind() {
        for bytes in [
            &b""[..],
            &[0xFF, 0xD8][..], // SOI without a following marker
            &PNG[..7],         // signature cut short
            &[0x89, b'P', b'N', b'G', 0x0A, 0x0D][..], // line endings swapped
            b"RIFF\x24\x00\x00\x00WAVEfmt ", // RIFF, but audio
            b"RIFF\x24\x00\x00\x00WEB", // RIFF cut before the form type
            b"%PDF",           // no dash
            b"%!PS-Adobe-3.0", // PostScript, not PDF
            b"GIF89a",
            b"<svg xmlns=\"http://www.w3.org/2000/svg\"/>",
        ] {
            assert_eq!(EvidenceType::sniff(bytes), None, "{bytes:?}");
        }
    }

    #[test]
    fn content_type_is_read_by_its_essence_in_any_case() {
        assert_eq!(
            EvidenceType::from_content_type("image/png"),
            Some(EvidenceType::Png)
        );
        assert_eq!(
            EvidenceType::from_content_type(" Image/JPEG ; q=1"),
            Some(EvidenceType::Jpeg)
        );
        assert_eq!(
            EvidenceType::from_content_type("application/pdf;charset=binary"),
            Some(EvidenceType::Pdf)
        );
        for other in [
            "",
            "image/jpg",
            "image/gif",
            "text/plain",
            "application/octet-stream",
        ] {
            assert_eq!(EvidenceType::from_content_type(other), None, "{other}");
        }
    }

    fn check_upload(content_type: &str, bytes: &[u8]) -> Result<EvidenceType, EvidenceError> {
        let declared = declared_type(Some(content_type))?;
        check_content(declared, bytes).map(|()| declared)
    }

    #[test]
    fn an_upload_needs_declared_and_actual_kind_to_agree() {
        assert_eq!(check_upload("image/png", PNG), Ok(EvidenceType::Png));
        assert_eq!(check_upload("application/pdf", PDF), Ok(EvidenceType::Pdf));
        assert_eq!(check_upload("image/webp", WEBP), Ok(EvidenceType::Webp));
        assert_eq!(check_upload("image/jpeg", JPEG), Ok(EvidenceType::Jpeg));
        assert_eq!(
            check_upload("image/jpeg", PNG),
            Err(EvidenceError::ContentMismatch {
                declared: EvidenceType::Jpeg,
                found: Some(EvidenceType::Png)
            })
        );
        assert_eq!(
            check_upload("image/webp", b"plain text"),
            Err(EvidenceError::ContentMismatch {
                declared: EvidenceType::Webp,
                found: None
            })
        );
        assert!(matches!(
            check_upload("text/plain", b"hello"),
            Err(EvidenceError::UnsupportedType { .. })
        ));
        assert!(matches!(
            declared_type(None),
            Err(EvidenceError::UnsupportedType { .. })
        ));
        assert_eq!(check_upload("image/png", b""), Err(EvidenceError::Empty));
    }

    #[test]
    fn files_are_named_by_their_sha256() {
        // FIPS 180-2 appendix B.1 test vector.
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert!(is_sha256_hex(&sha256_hex(b"")));
    }

    #[test]
    fn only_depot_evidence_uris_are_ours() {
        let sha = "a".repeat(64);
        assert_eq!(
            is_evidence_uri_ours(&format!("/api/v1/evidence/{sha}")),
            Some(sha.as_str())
        );
        assert_eq!(evidence_uri(&sha), format!("/api/v1/evidence/{sha}"));
        for bad in [
            format!("/api/v1/evidence/{}", "A".repeat(64)),
            format!("/api/v1/evidence/{}", "a".repeat(63)),
            format!("/api/v1/evidence/{}", "g".repeat(64)),
            format!("/api/v1/evidence/{sha}/"),
            format!("https://depot.example/api/v1/evidence/{sha}"),
            format!("/api/v1/lots/{sha}"),
        ] {
            assert_eq!(is_evidence_uri_ours(&bad), None, "{bad}");
        }
    }

    #[test]
    fn evidence_is_an_upload_or_a_web_uri_with_its_hash() {
        let sha = "ab".repeat(32);
        let ours = check_evidence(&format!("/api/v1/evidence/{sha}"), &sha.to_uppercase()).unwrap();
        assert!(ours.ours);
        assert_eq!(ours.sha256, sha);
        let theirs = check_evidence("https://photos.example/1.jpg", &sha).unwrap();
        assert!(!theirs.ours);
        let other = "cd".repeat(32);
        assert_eq!(
            check_evidence(&format!("/api/v1/evidence/{sha}"), &other)
                .unwrap_err()
                .0,
            "sha256"
        );
        assert_eq!(check_evidence("ftp://x/1", &sha).unwrap_err().0, "uri");
        assert_eq!(check_evidence("https://", &sha).unwrap_err().0, "uri");
        assert_eq!(
            check_evidence("https://x/1", "abc").unwrap_err().0,
            "sha256"
        );
    }
}
