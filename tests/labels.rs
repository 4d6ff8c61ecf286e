//! Parcel labels read as a scanner reads them: the PDF rendered to pixels
//! (poppler's `pdftoppm`) and the ZPL rendered to pixels (labelize), then the
//! barcode decoded from the image (`zbarimg`, from zbar-tools) and compared
//! with AI (00) + the SSCC; the PDF's text read back with `pdftotext`.
//!
//! A test whose tool (or CJK font) is missing prints `skipped: … not found`
//! and passes, unless `DEPOT_REQUIRE_LABEL_TOOLS=1` (set by .ci/run, which
//! installs poppler-utils, zbar-tools and fonts-wqy-zenhei), where it fails.

use std::path::Path;
use std::process::Command;

use depot::domain::gs1::{CompanyPrefix, Sscc};
use depot::domain::label_pdf::{pdf_labels, PdfFont};
use depot::domain::labels::{zpl_label, LabelOptions, ParcelLabel, ShipTo, SkuLine};
use depot::labels::fonts::{discover, KNOWN_FONTS};

const ADDRESS: &str = "西湖区文三路 478 号华星时代广场 A 座";

fn label(serial: u64) -> ParcelLabel {
    let prefix = CompanyPrefix::parse("0614141").unwrap();
    ParcelLabel {
        sscc: Sscc::new(0, &prefix, serial).unwrap(),
        ship_to: ShipTo {
            name: "张三".into(),
            address: ADDRESS.into(),
            city: "杭州市".into(),
            province: "浙江省".into(),
            postcode: "310000".into(),
            phone: "13900000001".into(),
        },
        carrier: "顺丰速运 SF".into(),
        tracking_number: "SF1234567890".into(),
        order_reference: "直播-20261202-0001".into(),
        skus: vec![SkuLine {
            sku: "口红-01".into(),
            quantity: 2,
        }],
    }
}

/// Whether `tool` runs; when not, says the test skipped (or fails it when
/// CI asks for the tools).
fn have(tool: &str) -> bool {
    let found = Command::new(tool)
        .arg("-h")
        .output()
        .map(|_| true)
        .unwrap_or(false);
    if !found {
        skip(&format!("{tool} not found"));
    }
    found
}

fn skip(what: &str) {
    if std::env::var("DEPOT_REQUIRE_LABEL_TOOLS").as_deref() == Ok("1") {
        panic!("{what}, and DEPOT_REQUIRE_LABEL_TOOLS=1 requires it");
    }
    eprintln!("skipped: {what}");
}

/// The CJK font the server would pick, or `None` (said skipped).
fn cjk_font() -> Option<PdfFont> {
    match discover(None, KNOWN_FONTS).unwrap().font {
        Some(font) if font.cjk => Some(font),
        _ => {
            skip("CJK font (fonts-wqy-zenhei) not found");
            None
        }
    }
}

/// What `zbarimg --raw` reads in `image`, one line per symbol.
fn scan(image: &Path) -> Vec<String> {
    let out = Command::new("zbarimg")
        .args(["--quiet", "--raw"])
        .arg(image)
        .output()
        .expect("zbarimg runs");
    assert!(
        out.status.success(),
        "zbarimg found no barcode in {}: {}",
        image.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

/// Pages of `pdf` as 300 dpi PNGs, in page order.
fn rasterize(pdf: &[u8], dir: &Path) -> Vec<std::path::PathBuf> {
    let file = dir.join("labels.pdf");
    std::fs::write(&file, pdf).unwrap();
    let status = Command::new("pdftoppm")
        .args(["-r", "300", "-png"])
        .arg(&file)
        .arg(dir.join("page"))
        .status()
        .expect("pdftoppm runs");
    assert!(status.success());
    let mut pages: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "png"))
        .collect();
    // page-1.png, page-2.png … (zero-padded to the same width by pdftoppm).
    pages.sort();
    pages
}

fn pdf_text(pdf: &[u8], dir: &Path) -> String {
    let file = dir.join("text.pdf");
    std::fs::write(&file, pdf).unwrap();
    let out = Command::new("pdftotext")
        .arg(&file)
        .arg("-")
        .output()
        .expect("pdftotext runs");
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap()
}

/// zbar reads a GS1-128 symbol (Code 128 with FNC1 first) as its element
/// string: the leading FNC1 is not sent, only the digits of AI (00) and the
/// 18-digit SSCC. Asserted strictly.
fn expected_scan(label: &ParcelLabel) -> String {
    format!("00{}", label.sscc.as_str())
}

#[test]
fn the_pdf_barcode_scans_as_ai_00_and_the_sscc() {
    if !have("pdftoppm") || !have("zbarimg") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let font = discover(None, KNOWN_FONTS).unwrap().font;
    let one = label(123_456_789);
    assert_eq!(expected_scan(&one), "00006141411234567890");

    let pdf = pdf_labels(std::slice::from_ref(&one), font.as_ref()).unwrap();

    let pages = rasterize(&pdf, dir.path());
    assert_eq!(pages.len(), 1);
    assert_eq!(scan(&pages[0]), [expected_scan(&one)]);
}

#[test]
fn the_pdf_barcode_scans_without_any_font() {
    if !have("pdftoppm") || !have("zbarimg") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let one = label(42);

    let pdf = pdf_labels(std::slice::from_ref(&one), None).unwrap();

    assert_eq!(scan(&rasterize(&pdf, dir.path())[0]), [expected_scan(&one)]);
}

#[test]
fn a_pdf_stack_has_one_page_per_label_in_pick_order() {
    if !have("pdftoppm") || !have("zbarimg") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let font = discover(None, KNOWN_FONTS).unwrap().font;
    let stack = [label(3), label(1), label(2)];

    let pdf = pdf_labels(&stack, font.as_ref()).unwrap();

    let pages = rasterize(&pdf, dir.path());
    let scanned: Vec<String> = pages.iter().flat_map(|p| scan(p)).collect();
    let expected: Vec<String> = stack.iter().map(expected_scan).collect();
    assert_eq!(scanned, expected);
}

#[test]
fn the_pdf_prints_the_chinese_address_from_an_embedded_subset() {
    if !have("pdftotext") {
        return;
    }
    let Some(font) = cjk_font() else { return };
    let dir = tempfile::tempdir().unwrap();

    let pdf = pdf_labels(&[label(123_456_789)], Some(&font)).unwrap();

    // The font is embedded, but only the glyphs used: the whole collection
    // (wqy-zenhei.ttc is about 17 MB) would be hundreds of times larger.
    let raw = String::from_utf8_lossy(&pdf);
    assert!(raw.contains("/FontFile"), "no embedded font program");
    assert!(
        pdf.len() * 50 < font.data.len(),
        "PDF of {} bytes for a font of {} bytes: not a subset",
        pdf.len(),
        font.data.len()
    );
    let text = pdf_text(&pdf, dir.path());
    for expected in [
        "西湖区文三路 478 号华星时代广场 A 座",
        "张三",
        "杭州市 浙江省 310000",
        "承运商 Carrier: 顺丰速运 SF",
        "运单号 Tracking: SF1234567890",
        "订单 Order: 直播-20261202-0001",
        "139****0001",
        "(00) 0 0614141 123456789 0",
    ] {
        assert!(text.contains(expected), "{expected:?} not in:\n{text}");
    }
    assert!(!text.contains("13900000001"));
}

#[test]
fn the_zpl_barcode_scans_as_ai_00_and_the_sscc() {
    if !have("zbarimg") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let options = LabelOptions {
        font: depot::config::DEFAULT_LABEL_ZPL_FONT.into(),
    };
    for serial in [123_456_789, 7] {
        let one = label(serial);
        let zpl = zpl_label(&one, &options);

        // 8 dots per mm is the 203 dpi the label is laid out for; 4 × 6 in.
        let rendered = labelize::render_png(
            zpl.as_bytes(),
            labelize::RenderOptions {
                width_mm: Some(101.6),
                height_mm: Some(152.4),
                dpmm: 8,
                ..Default::default()
            },
        )
        .expect("labelize renders the ZPL");

        let png = dir.path().join(format!("zpl-{serial}.png"));
        std::fs::write(&png, &rendered.bytes).unwrap();
        assert_eq!(scan(&png), [expected_scan(&one)]);
    }
}

#[test]
fn without_a_cjk_font_the_latin_text_and_the_barcode_still_print() {
    if !have("pdftoppm") || !have("zbarimg") || !have("pdftotext") {
        return;
    }
    let latin: Vec<_> = KNOWN_FONTS.iter().copied().filter(|k| !k.cjk).collect();
    let found = discover(None, &latin).unwrap();
    let Some(font) = found.font else {
        // Not one CI installs on purpose: said, not failed.
        eprintln!("skipped: no Latin font (fonts-dejavu-core) found");
        return;
    };
    assert!(!font.cjk);
    assert!(
        found.log.iter().any(
            |n| matches!(n, depot::labels::fonts::Note::Warn(w) if w.contains("no CJK font found"))
        ),
        "{:?}",
        found.log
    );
    let dir = tempfile::tempdir().unwrap();
    let one = label(123_456_789);

    let pdf = pdf_labels(std::slice::from_ref(&one), Some(&font)).unwrap();

    assert_eq!(scan(&rasterize(&pdf, dir.path())[0]), [expected_scan(&one)]);
    let text = pdf_text(&pdf, dir.path());
    for expected in [
        "Carrier: SF",
        "Tracking: SF1234567890",
        "310000",
        "(00) 0 0614141 123456789 0",
    ] {
        assert!(text.contains(expected), "{expected:?} not in:\n{text}");
    }
    assert!(!text.contains("杭州"), "{text}");
}
