//! Label settings for the HTTP layer: the ZPL printer font and the PDF font,
//! built once at start-up from [`Config`](crate::config::Config).
//!
//! The rendering itself is pure and lives in the domain:
//! [`zpl_labels`](crate::domain::labels::zpl_labels) and
//! [`pdf_labels`](crate::domain::label_pdf::pdf_labels). What reads files —
//! finding and loading the font — is here, in [`fonts`].

pub mod fonts;

use crate::config::Config;
use crate::domain::label_pdf::{pdf_labels, LabelError, PdfFont};
use crate::domain::labels::{zpl_labels, LabelOptions, ParcelLabel};

/// What a label endpoint needs, cheap to clone (the font bytes are shared).
#[derive(Debug, Clone)]
pub struct LabelSettings {
    /// `DEPOT_LABEL_ZPL_FONT`: the printer font of the ZPL text fields.
    pub zpl: LabelOptions,
    /// The font the PDF labels embed (a subset of): `DEPOT_LABEL_FONT`, else
    /// the first of [`fonts::KNOWN_FONTS`] found; `None` when there is none.
    pub pdf_font: Option<PdfFont>,
}

impl LabelSettings {
    /// Reads the configured font, or looks for one in the known Debian
    /// locations, and logs which is used (or warns which is missing). A
    /// configured font that cannot be read is an error, naming the variable.
    pub fn from_config(config: &Config) -> Result<LabelSettings, String> {
        let found = fonts::discover(config.label_font.as_ref(), fonts::KNOWN_FONTS)?;
        for line in &found.log {
            match line {
                fonts::Note::Info(text) => log::info!("{text}"),
                fonts::Note::Warn(text) => log::warn!("{text}"),
            }
        }
        Ok(LabelSettings {
            zpl: LabelOptions {
                font: config.label_zpl_font.clone(),
            },
            pdf_font: found.font,
        })
    }

    /// The ZPL of a stack of labels (one `^XA`…`^XZ` format each, in order).
    pub fn zpl(&self, labels: &[ParcelLabel]) -> String {
        zpl_labels(labels, &self.zpl)
    }

    /// The PDF of a stack of labels (one page each, in order).
    pub fn pdf(&self, labels: &[ParcelLabel]) -> Result<Vec<u8>, LabelError> {
        pdf_labels(labels, self.pdf_font.as_ref())
    }
}
