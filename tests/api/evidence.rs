//! Evidence files: uploaded once by their SHA-256, served with their type,
//! seen by a merchant only through its own inspections — and every refused
//! upload leaves neither a row nor a file.

use std::path::{Path, PathBuf};

use serde_json::json;

use crate::helpers::TestApp;
use crate::on_both_backends;

on_both_backends!(
    a_png_and_a_pdf_are_stored_once_by_their_sha256,
    stored_evidence_is_served_with_its_type_and_cache_headers,
    bytes_that_are_not_the_declared_type_are_415_and_nothing_is_stored,
    an_unaccepted_content_type_is_415_naming_the_accepted_ones,
    an_empty_body_is_422,
    a_body_over_10_mib_is_413_and_nothing_is_stored,
    a_file_of_exactly_10_mib_is_accepted,
    a_merchant_sees_only_evidence_of_its_own_inspections,
    only_staff_may_upload,
    a_name_that_is_not_a_sha256_is_404,
);

const MAX: usize = depot::domain::evidence::MAX_EVIDENCE_BYTES;

// ---------------------------------------------------------------- fixtures

/// CRC-32 of ISO 3309, as PNG chunks carry it (ISO/IEC 15948 annex D).
fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

fn png_chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    let start = out.len();
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    let crc = crc32(&out[start..]);
    out.extend_from_slice(&crc.to_be_bytes());
}

/// A valid 1×1 greyscale PNG whose one pixel has value `grey`.
fn tiny_png(grey: u8) -> Vec<u8> {
    let mut png = vec![0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A];
    // IHDR: width 1, height 1, bit depth 8, colour type 0 (grey), default methods.
    png_chunk(&mut png, b"IHDR", &[0, 0, 0, 1, 0, 0, 0, 1, 8, 0, 0, 0, 0]);
    // IDAT: a zlib stream with one stored block holding the scanline
    // (filter 0, the pixel), then its Adler-32.
    let raw = [0u8, grey];
    let (a, b) = raw.iter().fold((1u32, 0u32), |(a, b), &x| {
        let a = (a + u32::from(x)) % 65_521;
        (a, (b + a) % 65_521)
    });
    let mut zlib = vec![0x78, 0x01, 0x01, 0x02, 0x00, 0xFD, 0xFF];
    zlib.extend_from_slice(&raw);
    zlib.extend_from_slice(&((b << 16) | a).to_be_bytes());
    png_chunk(&mut png, b"IDAT", &zlib);
    png_chunk(&mut png, b"IEND", &[]);
    png
}

/// A valid one-page PDF, with its cross-reference table.
fn tiny_pdf() -> Vec<u8> {
    let objects = [
        "<< /Type /Catalog /Pages 2 0 R >>",
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 72 72] >>",
    ];
    let mut pdf = b"%PDF-1.4\n".to_vec();
    let mut offsets = Vec::new();
    for (i, object) in objects.iter().enumerate() {
        offsets.push(pdf.len());
        pdf.extend_from_slice(format!("{} 0 obj\n{object}\nendobj\n", i + 1).as_bytes());
    }
    let xref = pdf.len();
    pdf.extend_from_slice(
        format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes(),
    );
    for offset in offsets {
        pdf.extend_from_slice(format!("{offset:010} 00000 n \n").as_bytes());
    }
    pdf.extend_from_slice(
        format!(
            "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
            objects.len() + 1
        )
        .as_bytes(),
    );
    pdf
}

fn sha256_hex(bytes: &[u8]) -> String {
    depot::domain::evidence::sha256_hex(bytes)
}

fn evidence_rows(app: &TestApp) -> i64 {
    app.count("SELECT COUNT(*) AS n FROM evidence_files")
}

/// Every file under the data directory's `evidence`, temporary ones included.
fn stored_files(app: &TestApp) -> Vec<PathBuf> {
    fn walk(dir: &Path, found: &mut Vec<PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries {
            let path = entry.expect("a directory entry").path();
            if path.is_dir() {
                walk(&path, found);
            } else {
                found.push(path);
            }
        }
    }
    let mut found = Vec::new();
    walk(&app.data_dir.join("evidence"), &mut found);
    found
}

async fn upload(
    app: &TestApp,
    token: &str,
    content_type: &str,
    bytes: Vec<u8>,
) -> crate::helpers::Reply {
    app.call_raw(
        "POST",
        "/api/v1/evidence",
        Some(token),
        Some(content_type),
        bytes,
    )
    .await
}

/// A merchant with a token and one received lot: (merchant id, token, lot id).
async fn merchant_with_a_lot(app: &TestApp, code: &str) -> (String, String, String) {
    let (merchant, token) = app.merchant_token(code).await;
    app.post(
        "/api/v1/skus",
        &token,
        json!({"code": "SERUM", "name": "Serum 30 ml", "category": "cosmetics"}),
    )
    .await
    .ok(201);
    let lot = app
        .receive_lot(
            &token,
            &app.admin_token,
            "ASN-1",
            json!({"sku_code": "SERUM", "lot_code": "L1", "expected_qty": 20}),
        )
        .await;
    (merchant, token, lot)
}

// ---------------------------------------------------------------- tests

async fn a_png_and_a_pdf_are_stored_once_by_their_sha256(app: TestApp) {
    let (_, staff) = app.token("staff", None, None).await;
    for (content_type, bytes) in [
        ("image/png", tiny_png(0x80)),
        ("application/pdf", tiny_pdf()),
    ] {
        let sha = sha256_hex(&bytes);

        let first = upload(&app, &staff, content_type, bytes.clone())
            .await
            .ok(201);
        assert_eq!(
            first,
            json!({"uri": format!("/api/v1/evidence/{sha}"), "sha256": sha,
                   "content_type": content_type, "size_bytes": bytes.len()})
        );
        let again = upload(&app, &app.admin_token, content_type, bytes.clone())
            .await
            .ok(200);
        assert_eq!(again, first, "the same bytes answer the same body");

        let path = app.data_dir.join("evidence").join(&sha[..2]).join(&sha);
        assert_eq!(std::fs::read(&path).expect("the file is on disk"), bytes);
        assert_eq!(
            app.count(&format!(
                "SELECT COUNT(*) AS n FROM evidence_files WHERE sha256 = '{sha}' AND content_type = '{content_type}' AND size_bytes = {}",
                bytes.len()
            )),
            1
        );
    }
    assert_eq!(evidence_rows(&app), 2);
    assert_eq!(
        stored_files(&app).len(),
        2,
        "no temporary file is left behind"
    );
}

async fn stored_evidence_is_served_with_its_type_and_cache_headers(app: TestApp) {
    let png = tiny_png(0x10);
    let sha = sha256_hex(&png);
    upload(&app, &app.admin_token, "image/png", png.clone())
        .await
        .ok(201);
    let (_, staff) = app.token("staff", None, None).await;

    let reply = app.get(&format!("/api/v1/evidence/{sha}"), &staff).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(reply.bytes, png);
    assert_eq!(reply.content_type, "image/png");
    let header = |name: &str| {
        reply
            .headers
            .get(name)
            .map(|v| v.to_str().unwrap().to_string())
    };
    assert_eq!(header("etag"), Some(format!("\"{sha}\"")));
    assert_eq!(
        header("cache-control").as_deref(),
        Some("private, max-age=31536000, immutable")
    );
    assert_eq!(header("x-content-type-options").as_deref(), Some("nosniff"));

    // A client that has it already is told so, without the bytes.
    let cached = app
        .get_with(
            &format!("/api/v1/evidence/{sha}"),
            &staff,
            ("If-None-Match", &format!("\"{sha}\"")),
        )
        .await;
    assert_eq!(cached.status, 304);
    assert!(cached.bytes.is_empty());

    // A file that was never uploaded is 404.
    let missing = sha256_hex(b"never uploaded");
    let problem = app
        .get(&format!("/api/v1/evidence/{missing}"), &staff)
        .await
        .problem(404);
    assert_eq!(problem["type"], "/problems/not-found");
}

async fn bytes_that_are_not_the_declared_type_are_415_and_nothing_is_stored(app: TestApp) {
    for (declared, bytes) in [
        ("image/jpeg", tiny_png(1)),
        ("image/png", tiny_pdf()),
        (
            "application/pdf",
            b"<html><script>alert(1)</script></html>".to_vec(),
        ),
        ("image/webp", b"RIFF\x04\x00\x00\x00WAVE".to_vec()),
    ] {
        let problem = upload(&app, &app.admin_token, declared, bytes)
            .await
            .problem(415);
        assert_eq!(problem["type"], "/problems/unsupported-media-type");
        let detail = problem["detail"].as_str().unwrap();
        assert!(detail.contains(declared), "{detail}");
    }
    assert_eq!(evidence_rows(&app), 0);
    assert!(stored_files(&app).is_empty());
}

async fn an_unaccepted_content_type_is_415_naming_the_accepted_ones(app: TestApp) {
    for content_type in [
        Some("text/plain"),
        Some("image/gif"),
        Some("application/octet-stream"),
        None,
    ] {
        let reply = app
            .call_raw(
                "POST",
                "/api/v1/evidence",
                Some(&app.admin_token),
                content_type,
                b"%PDF-1.4 but labelled otherwise".to_vec(),
            )
            .await;
        let problem = reply.problem(415);
        let detail = problem["detail"].as_str().unwrap();
        for accepted in ["image/jpeg", "image/png", "image/webp", "application/pdf"] {
            assert!(detail.contains(accepted), "{content_type:?}: {detail}");
        }
    }
    assert_eq!(evidence_rows(&app), 0);
    assert!(stored_files(&app).is_empty());
}

async fn an_empty_body_is_422(app: TestApp) {
    let problem = upload(&app, &app.admin_token, "image/png", Vec::new())
        .await
        .problem(422);
    assert_eq!(problem["errors"][0]["field"], "body");
    assert_eq!(evidence_rows(&app), 0);
    assert!(stored_files(&app).is_empty());
}

/// PNG magic, padded to `len` bytes.
fn png_of_len(len: usize) -> Vec<u8> {
    let mut bytes = tiny_png(0);
    bytes.resize(len, 0);
    bytes
}

async fn a_body_over_10_mib_is_413_and_nothing_is_stored(app: TestApp) {
    // Declared by Content-Length: refused before it is read.
    let problem = upload(&app, &app.admin_token, "image/png", png_of_len(MAX + 1))
        .await
        .problem(413);
    assert_eq!(problem["type"], "/problems/payload-too-large");

    // Chunked, with no length: refused once the running count passes the cap.
    let mut chunks: Vec<Vec<u8>> = png_of_len(MAX + 1)
        .chunks(1024 * 1024)
        .map(<[u8]>::to_vec)
        .collect();
    chunks.push(vec![0; 1024 * 1024]);
    app.call_chunked(
        "POST",
        "/api/v1/evidence",
        Some(&app.admin_token),
        "image/png",
        chunks,
    )
    .await
    .problem(413);

    assert_eq!(evidence_rows(&app), 0);
    assert!(stored_files(&app).is_empty());
}

async fn a_file_of_exactly_10_mib_is_accepted(app: TestApp) {
    let bytes = png_of_len(MAX);
    let body = upload(&app, &app.admin_token, "image/png", bytes.clone())
        .await
        .ok(201);
    assert_eq!(body["size_bytes"], MAX);
    assert_eq!(body["sha256"], sha256_hex(&bytes));

    // The same size streamed without a length is accepted too.
    let streamed = png_of_len(MAX - 1);
    app.call_chunked(
        "POST",
        "/api/v1/evidence",
        Some(&app.admin_token),
        "image/png",
        streamed.chunks(1024 * 1024).map(<[u8]>::to_vec).collect(),
    )
    .await
    .ok(201);
    assert_eq!(evidence_rows(&app), 2);
}

async fn a_merchant_sees_only_evidence_of_its_own_inspections(app: TestApp) {
    let (_, mine, my_lot) = merchant_with_a_lot(&app, "GLOW").await;
    let (_, theirs, _) = merchant_with_a_lot(&app, "SHINE").await;
    let referenced = tiny_png(0xAA);
    let unreferenced = tiny_png(0xBB);
    let referenced_sha = sha256_hex(&referenced);
    let unreferenced_sha = sha256_hex(&unreferenced);
    upload(&app, &app.admin_token, "image/png", referenced.clone())
        .await
        .ok(201);
    upload(&app, &app.admin_token, "image/png", unreferenced)
        .await
        .ok(201);
    app.attach_evidence(&my_lot, &referenced_sha).await;

    let reply = app
        .get(&format!("/api/v1/evidence/{referenced_sha}"), &mine)
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(reply.bytes, referenced);

    // Not referenced by any inspection, or only by another merchant's: 404,
    // worded exactly as for a file that does not exist.
    let missing_sha = sha256_hex(b"nothing");
    let missing = app
        .get(&format!("/api/v1/evidence/{missing_sha}"), &mine)
        .await
        .problem(404);
    for (sha, token) in [(&unreferenced_sha, &mine), (&referenced_sha, &theirs)] {
        let problem = app
            .get(&format!("/api/v1/evidence/{sha}"), token)
            .await
            .problem(404);
        assert_eq!(problem["title"], missing["title"]);
        assert_eq!(
            problem["detail"],
            missing["detail"]
                .as_str()
                .unwrap()
                .replace(&missing_sha, sha)
        );
    }

    // A carrier has no business with evidence at all.
    let carrier = app.carrier("FAST").await;
    let (_, carrier_token) = app.token("carrier", None, Some(&carrier)).await;
    app.get(
        &format!("/api/v1/evidence/{referenced_sha}"),
        &carrier_token,
    )
    .await
    .problem(403);
}

async fn only_staff_may_upload(app: TestApp) {
    let (_, token) = app.merchant_token("GLOW").await;
    let problem = upload(&app, &token, "image/png", tiny_png(7))
        .await
        .problem(403);
    assert_eq!(problem["type"], "/problems/forbidden");
    app.call_raw(
        "POST",
        "/api/v1/evidence",
        None,
        Some("image/png"),
        tiny_png(7),
    )
    .await
    .problem(401);
    assert_eq!(evidence_rows(&app), 0);
    assert!(stored_files(&app).is_empty());
}

async fn a_name_that_is_not_a_sha256_is_404(app: TestApp) {
    let png = tiny_png(3);
    let sha = sha256_hex(&png);
    upload(&app, &app.admin_token, "image/png", png)
        .await
        .ok(201);
    for name in [
        sha.to_uppercase(),
        sha[..63].to_string(),
        format!("{sha}0"),
        "..%2F..%2Fdepot.db".to_string(),
        "not-a-sha".to_string(),
    ] {
        app.get(&format!("/api/v1/evidence/{name}"), &app.admin_token)
            .await
            .problem(404);
    }
}
