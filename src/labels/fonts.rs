//! Finding the PDF label font, once at start-up.
//!
//! `DEPOT_LABEL_FONT` names a TrueType/OpenType file or collection (a face
//! other than the first as `path#index`) and is taken as holding CJK glyphs.
//! Without it the Debian locations in [`KNOWN_FONTS`] are tried in order: the
//! CJK fonts first (the one CI installs is `fonts-wqy-zenhei`), then Latin
//! ones, so that a machine without a CJK font still prints the Latin fields
//! (its Chinese characters left out, a warning naming the package to
//! install). With no font at all the labels hold the barcode and rules only,
//! and a warning says so.

use std::path::{Path, PathBuf};

use crate::config::FontSpec;
use crate::domain::label_pdf::PdfFont;

/// A font file where a Debian package puts it.
#[derive(Debug, Clone, Copy)]
pub struct KnownFont {
    pub path: &'static str,
    /// Face in a collection.
    pub index: u32,
    pub package: &'static str,
    pub cjk: bool,
}

/// The fonts looked for when `DEPOT_LABEL_FONT` is not set, best first.
pub const KNOWN_FONTS: &[KnownFont] = &[
    KnownFont {
        path: "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
        index: 0,
        package: "fonts-wqy-zenhei",
        cjk: true,
    },
    // Noto Sans CJK's collection: JP, KR, SC, TC, HK; face 2 has the
    // simplified Chinese glyph forms.
    KnownFont {
        path: "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
        index: 2,
        package: "fonts-noto-cjk",
        cjk: true,
    },
    KnownFont {
        path: "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
        index: 0,
        package: "fonts-wqy-microhei",
        cjk: true,
    },
    KnownFont {
        path: "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
        index: 0,
        package: "fonts-dejavu-core",
        cjk: false,
    },
    KnownFont {
        path: "/usr/share/fonts/truetype/liberation2/LiberationSans-Regular.ttf",
        index: 0,
        package: "fonts-liberation2",
        cjk: false,
    },
    KnownFont {
        path: "/usr/share/fonts/opentype/urw-base35/NimbusSans-Regular.otf",
        index: 0,
        package: "fonts-urw-base35",
        cjk: false,
    },
];

/// A line for the start-up log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Note {
    Info(String),
    Warn(String),
}

/// The font found, and what to log about it.
#[derive(Debug)]
pub struct Found {
    pub font: Option<PdfFont>,
    pub log: Vec<Note>,
}

/// The configured font (which must load), else the first of `known` that
/// exists and loads.
pub fn discover(configured: Option<&FontSpec>, known: &[KnownFont]) -> Result<Found, String> {
    if let Some(spec) = configured {
        let font = load(&spec.path, spec.index, true).map_err(|reason| {
            format!(
                "configuration: DEPOT_LABEL_FONT={:?} is not valid: {reason}",
                spec.to_string()
            )
        })?;
        let log = vec![Note::Info(format!(
            "PDF labels: font {} (DEPOT_LABEL_FONT), embedded as a subset",
            font.name
        ))];
        return Ok(Found {
            font: Some(font),
            log,
        });
    }
    let mut log = Vec::new();
    let mut latin = None;
    for candidate in known {
        let path = Path::new(candidate.path);
        if !path.exists() {
            continue;
        }
        match load(path, candidate.index, candidate.cjk) {
            Ok(font) if candidate.cjk => {
                log.push(Note::Info(format!(
                    "PDF labels: CJK font {} ({}), embedded as a subset",
                    font.name, candidate.package
                )));
                return Ok(Found {
                    font: Some(font),
                    log,
                });
            }
            Ok(font) => {
                if latin.is_none() {
                    latin = Some((font, candidate.package));
                }
            }
            Err(reason) => log.push(Note::Warn(format!("PDF labels: {reason}; skipped"))),
        }
    }
    let wanted = known
        .iter()
        .filter(|k| k.cjk)
        .map(|k| format!("{} ({})", k.path, k.package))
        .collect::<Vec<_>>()
        .join(", ");
    match latin {
        Some((font, package)) => {
            log.push(Note::Warn(format!(
                "PDF labels: no CJK font found (looked for {wanted}; set DEPOT_LABEL_FONT or \
                 install fonts-wqy-zenhei): Chinese characters are left out of PDF labels, \
                 Latin text uses {} ({package})",
                font.name
            )));
            Ok(Found {
                font: Some(font),
                log,
            })
        }
        None => {
            log.push(Note::Warn(format!(
                "PDF labels: no font found (looked for {wanted} and Latin fonts; set \
                 DEPOT_LABEL_FONT or install fonts-wqy-zenhei): PDF labels hold the \
                 barcode and rules only, no text"
            )));
            Ok(Found { font: None, log })
        }
    }
}

fn load(path: &Path, index: u32, cjk: bool) -> Result<PdfFont, String> {
    let name = display(path, index);
    let data = std::fs::read(path).map_err(|e| format!("cannot read {name}: {e}"))?;
    PdfFont::new(name, data, index, cjk)
}

fn display(path: &Path, index: u32) -> String {
    let path = PathBuf::from(path).display().to_string();
    if index == 0 {
        path
    } else {
        format!("{path}#{index}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn known(dir: &Path, name: &'static str, cjk: bool) -> KnownFont {
        let path: &'static str = Box::leak(dir.join(name).display().to_string().into_boxed_str());
        KnownFont {
            path,
            index: 0,
            package: "fonts-test",
            cjk,
        }
    }

    #[test]
    fn with_no_font_the_warning_names_what_is_missing() {
        let dir = tempfile::tempdir().unwrap();

        let found = discover(None, &[known(dir.path(), "cjk.ttc", true)]).unwrap();

        assert!(found.font.is_none());
        let [Note::Warn(warning)] = found.log.as_slice() else {
            panic!("{:?}", found.log)
        };
        assert!(warning.contains("cjk.ttc (fonts-test)"), "{warning}");
        assert!(warning.contains("fonts-wqy-zenhei"), "{warning}");
        assert!(warning.contains("barcode"), "{warning}");
    }

    #[test]
    fn a_file_that_is_no_font_is_skipped_with_a_warning() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("broken.ttc"), b"not a font").unwrap();

        let found = discover(None, &[known(dir.path(), "broken.ttc", true)]).unwrap();

        assert!(found.font.is_none());
        assert!(
            matches!(&found.log[0], Note::Warn(w) if w.contains("broken.ttc") && w.contains("skipped")),
            "{:?}",
            found.log
        );
    }

    #[test]
    fn a_configured_font_that_cannot_be_read_names_the_variable() {
        let spec = FontSpec {
            path: "/nonexistent/font.ttc".into(),
            index: 1,
        };

        let err = discover(Some(&spec), KNOWN_FONTS).unwrap_err();

        assert!(
            err.contains("DEPOT_LABEL_FONT=\"/nonexistent/font.ttc#1\""),
            "{err}"
        );
    }
}
