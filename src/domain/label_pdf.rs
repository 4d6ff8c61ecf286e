//! Parcel labels as PDF: one 4 × 6 in page (288 × 432 pt) per label, the
//! same [`layout`] as the ZPL label, drawn with krilla.
//!
//! - The GS1-128 barcode is vector rectangles, one per bar of the module
//!   pattern from [`code128`](super::code128), 4 dots (0.50 mm) per module
//!   as in the ZPL label, with the page's white around it as quiet zones of
//!   more than 10 X each side (GS1 General Specifications §5.4.4.2).
//! - Text is shaped by krilla (rustybuzz) in the one font given, which krilla
//!   embeds as a subset of the glyphs used (a CID font with a ToUnicode map,
//!   so that the text can be searched and copied). A CJK font prints the
//!   Chinese address; a font without CJK glyphs ([`PdfFont::cjk`] false)
//!   prints the Latin text, with East Asian characters left out rather than
//!   drawn as empty boxes; with no font at all the page holds the barcode
//!   and rules only. Finding the font is not done here (it reads files): see
//!   `labels::fonts`.
//!
//! Pure: bytes in, bytes out.

use std::sync::Arc;

use krilla::geom::{PathBuilder, Point, Rect};
use krilla::page::PageSettings;
use krilla::surface::Surface;
use krilla::text::{Font, TextDirection};
use krilla::Document;

use super::code128::Gs1_128;
use super::labels::{is_wide, layout, Element, ParcelLabel, LABEL_LENGTH_DOTS, LABEL_WIDTH_DOTS};

/// Points per dot: the layout is in dots at 203 dpi, a PDF point is 1/72 in,
/// so 812 × 1218 dots are exactly 288 × 432 pt.
const POINTS_PER_DOT: f32 = 72.0 / 203.0;
/// Baseline of a text line below its top, as a share of its height: the
/// ZPL field origin is the top of the character cell, a PDF glyph is placed
/// by its baseline.
const BASELINE: f32 = 0.82;

/// A font for the PDF labels: the file's bytes (shared, read once at
/// start-up) and its face index in a collection (TTC).
#[derive(Clone)]
pub struct PdfFont {
    /// Where it came from, for logs.
    pub name: String,
    pub data: Arc<Vec<u8>>,
    pub index: u32,
    /// Whether the font holds CJK glyphs; when not, wide characters are
    /// left out of the text.
    pub cjk: bool,
}

impl std::fmt::Debug for PdfFont {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PdfFont")
            .field("name", &self.name)
            .field("bytes", &self.data.len())
            .field("index", &self.index)
            .field("cjk", &self.cjk)
            .finish()
    }
}

impl PdfFont {
    /// Checks that krilla can read the face, so that a bad file is found at
    /// start-up, not on the first label.
    pub fn new(name: String, data: Vec<u8>, index: u32, cjk: bool) -> Result<PdfFont, String> {
        let data = Arc::new(data);
        if Font::new(krilla::Data::from(data.clone()), index).is_none() {
            return Err(format!(
                "{name}: not a readable TrueType/OpenType face at index {index}"
            ));
        }
        Ok(PdfFont {
            name,
            data,
            index,
            cjk,
        })
    }

    fn krilla_font(&self) -> Option<Font> {
        Font::new(krilla::Data::from(self.data.clone()), self.index)
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum LabelError {
    #[error("no labels to render")]
    NoLabels,
    #[error("the label font {0} cannot be read")]
    Font(String),
    #[error("the PDF could not be written: {0}")]
    Pdf(String),
}

/// The PDF of a stack of labels, one page per label in the order given
/// (pick order).
pub fn pdf_labels(labels: &[ParcelLabel], font: Option<&PdfFont>) -> Result<Vec<u8>, LabelError> {
    if labels.is_empty() {
        return Err(LabelError::NoLabels);
    }
    let krilla_font = match font {
        Some(f) => Some((
            f.krilla_font()
                .ok_or_else(|| LabelError::Font(f.name.clone()))?,
            f.cjk,
        )),
        None => None,
    };
    let mut document = Document::new();
    for label in labels {
        let settings = PageSettings::from_wh(
            LABEL_WIDTH_DOTS as f32 * POINTS_PER_DOT,
            LABEL_LENGTH_DOTS as f32 * POINTS_PER_DOT,
        )
        .expect("a 4 × 6 in page");
        let mut page = document.start_page_with(settings);
        let mut surface = page.surface();
        draw_label(&mut surface, label, krilla_font.as_ref());
        surface.finish();
        page.finish();
    }
    document
        .finish()
        .map_err(|e| LabelError::Pdf(format!("{e:?}")))
}

fn draw_label(surface: &mut Surface<'_>, label: &ParcelLabel, font: Option<&(Font, bool)>) {
    let pt = |dots: u32| dots as f32 * POINTS_PER_DOT;
    let text = |surface: &mut Surface<'_>, x: u32, y: u32, size: u32, value: &str| {
        let Some((font, cjk)) = font else { return };
        let value = if *cjk {
            value.to_string()
        } else {
            without_wide(value)
        };
        if value.is_empty() {
            return;
        }
        surface.draw_text(
            Point::from_xy(pt(x), pt(y) + pt(size) * BASELINE),
            font.clone(),
            pt(size),
            &value,
            false,
            TextDirection::LeftToRight,
        );
    };
    for element in layout(label) {
        match element {
            Element::Text { x, y, size, value } => text(surface, x, y, size, &value),
            Element::Rule {
                x,
                y,
                width,
                height,
            } => fill_rects(surface, &[(pt(x), pt(y), pt(width), pt(height))]),
            Element::Barcode {
                x,
                y,
                module,
                height,
            } => {
                let bars = bars(&label.sscc.element_string())
                    .into_iter()
                    .map(|(start, width)| {
                        (
                            pt(x + start * module),
                            pt(y),
                            pt(width * module),
                            pt(height),
                        )
                    })
                    .collect::<Vec<_>>();
                fill_rects(surface, &bars);
            }
            // The printer's `^A0` is a condensed font: the same height in
            // the label font is a little wider, so it is drawn at the glyph
            // width instead, which keeps the line within the barcode's width.
            Element::Interpretation {
                x, y, width, value, ..
            } => text(surface, x, y, width, &value),
        }
    }
}

/// The bars of the GS1-128 symbol of `element_string`: (first module,
/// width in modules) of each dark run, from the first bar of Start.
pub fn bars(element_string: &str) -> Vec<(u32, u32)> {
    let Ok(symbol) = Gs1_128::numeric(element_string) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let mut at = 0u32;
    for (i, width) in symbol.module_widths().into_iter().enumerate() {
        if i % 2 == 0 {
            out.push((at, u32::from(width)));
        }
        at += u32::from(width);
    }
    out
}

fn fill_rects(surface: &mut Surface<'_>, rects: &[(f32, f32, f32, f32)]) {
    let mut path = PathBuilder::new();
    for &(x, y, w, h) in rects {
        if let Some(rect) = Rect::from_xywh(x, y, w, h) {
            path.push_rect(rect);
        }
    }
    if let Some(path) = path.finish() {
        // The default fill is opaque black, non-zero rule.
        surface.set_fill(Some(krilla::paint::Fill::default()));
        surface.draw_path(&path);
    }
}

/// `text` without its East Asian wide characters (and the spaces this
/// doubles up), for a font that has no glyphs for them.
fn without_wide(text: &str) -> String {
    let kept: String = text.chars().filter(|c| !is_wide(*c)).collect();
    kept.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::code128::QUIET_ZONE_MODULES;
    use crate::domain::gs1::{CompanyPrefix, Sscc};
    use crate::domain::labels::{ShipTo, SkuLine};

    fn label(serial: u64) -> ParcelLabel {
        let prefix = CompanyPrefix::parse("0614141").unwrap();
        ParcelLabel {
            sscc: Sscc::new(0, &prefix, serial).unwrap(),
            ship_to: ShipTo {
                name: "张三".into(),
                address: "西湖区文三路 1 号".into(),
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

    #[test]
    fn a_page_is_exactly_4_by_6_inches() {
        assert_eq!(LABEL_WIDTH_DOTS as f32 * POINTS_PER_DOT, 288.0);
        assert_eq!(LABEL_LENGTH_DOTS as f32 * POINTS_PER_DOT, 432.0);
    }

    #[test]
    fn the_bars_are_the_dark_runs_of_the_code128_modules() {
        let digits = "00006141411234567890";
        let modules = Gs1_128::numeric(digits).unwrap().modules();
        let bars = bars(digits);

        // Start C begins 2 1 1 2 3 2: bars of 2, 1 and 3 modules.
        assert_eq!(&bars[..3], &[(0, 2), (3, 1), (6, 3)]);
        let mut drawn = vec![false; modules.len()];
        for (start, width) in &bars {
            for m in *start..start + width {
                drawn[m as usize] = true;
            }
        }
        assert_eq!(drawn, modules);
        // Stop ends in its 2-module bar at the last module.
        assert_eq!(bars.last(), Some(&(modules.len() as u32 - 2, 2)));
    }

    #[test]
    fn the_quiet_zones_are_clear_of_every_other_element() {
        let elements = layout(&label(123_456_789));
        let Some(Element::Barcode {
            x,
            y,
            module,
            height,
        }) = elements
            .iter()
            .find(|e| matches!(e, Element::Barcode { .. }))
            .cloned()
        else {
            panic!("no barcode")
        };
        let width = Gs1_128::numeric(&label(1).sscc.element_string())
            .unwrap()
            .modules()
            .len() as u32
            * module;
        let quiet = QUIET_ZONE_MODULES as u32 * module;
        assert!(x >= quiet);
        assert!(x + width + quiet <= LABEL_WIDTH_DOTS);
        // Nothing else overlaps the symbol and its quiet zones.
        let zone = (x - quiet, y, x + width + quiet, y + height);
        for e in &elements {
            let (top, bottom) = match e {
                Element::Text { y, size, .. } => (*y, y + size),
                Element::Rule { y, height, .. } => (*y, y + height),
                Element::Interpretation { y, height, .. } => (*y, y + height),
                Element::Barcode { .. } => continue,
            };
            assert!(
                bottom <= zone.1 || top >= zone.3,
                "{e:?} in the barcode zone"
            );
        }
    }

    #[test]
    fn a_stack_without_a_font_still_makes_one_page_per_label() {
        let pdf = pdf_labels(&[label(1), label(2), label(3)], None).unwrap();

        assert!(pdf.starts_with(b"%PDF-"));
        let text = String::from_utf8_lossy(&pdf);
        assert!(text.contains("/Type/Pages/Count 3/"), "{text}");
        assert_eq!(text.matches("/MediaBox[0 0 288 432]").count(), 3);
    }

    #[test]
    fn no_labels_is_an_error_not_an_empty_pdf() {
        assert_eq!(pdf_labels(&[], None), Err(LabelError::NoLabels));
    }

    #[test]
    fn a_latin_font_leaves_out_the_chinese_characters() {
        assert_eq!(without_wide("承运商 Carrier: 顺丰速运 SF"), "Carrier: SF");
        assert_eq!(without_wide("西湖区文三路 1 号"), "1");
        assert_eq!(without_wide("口红-01 × 2"), "-01 × 2");
    }

    #[test]
    fn a_file_that_is_no_font_is_refused() {
        let err = PdfFont::new("x.ttf".into(), b"not a font".to_vec(), 0, true).unwrap_err();
        assert!(err.contains("x.ttf"));
    }
}
