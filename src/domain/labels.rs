//! Parcel labels for a 4 × 6 in thermal label at 203 dpi (812 × 1218
//! dots): the GS1-128 barcode of AI (00) + SSCC, its grouped human-readable
//! line, ship-to, carrier, tracking number, order reference and a SKU
//! summary. [`layout`] places them as a list of [`Element`]s; [`zpl_label`]
//! writes that list as ZPL II, and `domain::label_pdf` draws the same list
//! as a PDF page.
//!
//! Chinese text is sent as UTF-8 under `^CI28` and printed with a printer
//! font named in [`LabelOptions::font`] (configuration `DEPOT_LABEL_ZPL_FONT`,
//! by default `E:SIMSUN.FNT`, a font the printer holds), rather than as a
//! bitmap rendered here: the label stays a few hundred bytes and the printer
//! draws its own glyphs. (The PDF label embeds a CJK font instead.)
//!
//! User text cannot inject ZPL: every text field is sent with `^FH_`, and
//! the characters ZPL reads as syntax inside field data — `^` (format
//! prefix), `~` (control prefix), `_` (the hex indicator itself) and control
//! characters — are written as `_XX` hex escapes (ZPL II Programming Guide,
//! `^FH`). Everything else, Chinese included, passes as its UTF-8 bytes.

use super::gs1::Sscc;

/// Label width and length, in dots at 203 dpi (4 × 6 in).
pub const LABEL_WIDTH_DOTS: u32 = 812;
pub const LABEL_LENGTH_DOTS: u32 = 1218;
/// X-dimension of the barcode, in dots: 4 dots at 203 dpi is 0.50 mm, above
/// the 0.495 mm minimum GS1 sets for SSCC symbols on logistic labels.
const BARCODE_MODULE_DOTS: u32 = 4;
/// Bar height, in dots: 260 dots is 32.5 mm, above GS1's 31.75 mm minimum
/// for logistic labels.
const BARCODE_HEIGHT_DOTS: u32 = 260;
/// Modules of an AI (00) + SSCC symbol: Start, FNC1, 10 digit pairs and the
/// check symbol of 11 modules each, and the 13-module Stop.
const SSCC_SYMBOL_MODULES: u32 = 13 * 11 + 13;
/// Widest address line, in columns (a CJK character takes two).
const ADDRESS_COLUMNS: usize = 40;
const ADDRESS_LINES: usize = 3;
/// Right margin of text fields, in dots.
const MARGIN_DOTS: u32 = 30;
/// Widest receiver name, in columns: it ends before the phone at x = 500.
const NAME_COLUMNS: usize = 20;
/// SKU lines printed; more are summed up in one last line.
const SKU_LINES: usize = 4;

/// Printer settings that come from configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabelOptions {
    /// The printer font that holds CJK glyphs, as `^A@` names it
    /// (drive:name.ext, e.g. `E:SIMSUN.FNT`).
    pub font: String,
}

/// The receiver, as printed on the label.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShipTo {
    pub name: String,
    pub address: String,
    pub city: String,
    pub province: String,
    pub postcode: String,
    /// Printed masked (see [`mask_phone`]).
    pub phone: String,
}

/// One SKU of the parcel and its quantity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkuLine {
    pub sku: String,
    pub quantity: u32,
}

/// What one parcel's label shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParcelLabel {
    pub sscc: Sscc,
    pub ship_to: ShipTo,
    pub carrier: String,
    pub tracking_number: String,
    pub order_reference: String,
    pub skus: Vec<SkuLine>,
}

/// One element of the label's layout, in dots at 203 dpi from the top-left
/// corner. [`layout`] places them once; [`zpl_label`] and the PDF renderer
/// (`domain::label_pdf`) draw the same list, so both labels look alike.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Element {
    /// A line of text already fitted to its width, `size` dots high, in the
    /// CJK-capable font (`^A@` with [`LabelOptions::font`] in ZPL).
    Text {
        x: u32,
        y: u32,
        size: u32,
        value: String,
    },
    /// A filled black rectangle (`^GB`).
    Rule {
        x: u32,
        y: u32,
        width: u32,
        height: u32,
    },
    /// The GS1-128 symbol of AI (00) + SSCC, `module` dots per X, bars
    /// `height` dots high, starting at its first bar (quiet zones outside).
    Barcode {
        x: u32,
        y: u32,
        module: u32,
        height: u32,
    },
    /// The human-readable line under the barcode (`^A0`, the printer's
    /// scalable Latin font), `height` dots high and `width` dots wide a glyph.
    Interpretation {
        x: u32,
        y: u32,
        height: u32,
        width: u32,
        value: String,
    },
}

/// Top of the barcode's bars, in dots.
const BARCODE_TOP_DOTS: u32 = 830;

/// The elements of one label, in drawing order.
pub fn layout(label: &ParcelLabel) -> Vec<Element> {
    let mut elements = Vec::with_capacity(24);
    // Every text field is cut to the columns left before the right margin
    // (a half-width glyph is about half the font height wide), so that a
    // long value ends in `…` instead of running off the label.
    let mut text = |x: u32, y: u32, size: u32, value: &str| {
        let columns = (LABEL_WIDTH_DOTS - MARGIN_DOTS - x) as usize * 2 / size as usize;
        elements.push(Element::Text {
            x,
            y,
            size,
            value: fit_columns(value, columns),
        });
    };

    text(30, 30, 40, &format!("承运商 Carrier: {}", label.carrier));
    text(
        30,
        80,
        40,
        &format!("运单号 Tracking: {}", label.tracking_number),
    );
    let ship_to = &label.ship_to;
    text(30, 160, 30, "收件人 Ship to");
    // The name stops before the phone number beside it.
    text(30, 200, 44, &fit_columns(&ship_to.name, NAME_COLUMNS));
    text(500, 206, 36, &mask_phone(&ship_to.phone));
    let mut y = 260;
    for line in wrap_columns(&ship_to.address, ADDRESS_COLUMNS, ADDRESS_LINES) {
        text(30, y, 36, &line);
        y += 44;
    }
    text(
        30,
        400,
        36,
        &format!("{} {} {}", ship_to.city, ship_to.province, ship_to.postcode),
    );
    text(
        30,
        480,
        34,
        &format!("订单 Order: {}", label.order_reference),
    );
    let mut y = 530;
    for sku in label.skus.iter().take(SKU_LINES) {
        text(30, y, 32, &format!("{} × {}", sku.sku, sku.quantity));
        y += 40;
    }
    if label.skus.len() > SKU_LINES {
        let rest = &label.skus[SKU_LINES..];
        let units: u64 = rest.iter().map(|s| u64::from(s.quantity)).sum();
        text(
            30,
            y,
            32,
            &format!(
                "+{} SKU, {units} units / 另 {} 个 SKU",
                rest.len(),
                rest.len()
            ),
        );
    }
    text(30, 790, 30, "SSCC");

    // Rules between the blocks: carrier, ship-to, order, barcode.
    for y in [140, 465, 770] {
        elements.push(Element::Rule {
            x: 20,
            y,
            width: 772,
            height: 3,
        });
    }

    // The barcode, centred, which leaves far more than the 10-module quiet
    // zone each side (GS1 General Specifications §5.4.4.2).
    let x = (LABEL_WIDTH_DOTS - SSCC_SYMBOL_MODULES * BARCODE_MODULE_DOTS) / 2;
    elements.push(Element::Barcode {
        x,
        y: BARCODE_TOP_DOTS,
        module: BARCODE_MODULE_DOTS,
        height: BARCODE_HEIGHT_DOTS,
    });
    elements.push(Element::Interpretation {
        x,
        y: 1110,
        height: 44,
        width: 36,
        value: label.sscc.human_readable(),
    });
    elements
}

/// The ZPL of one label, from `^XA` to `^XZ`.
pub fn zpl_label(label: &ParcelLabel, options: &LabelOptions) -> String {
    let font = escape_font(&options.font);
    let mut zpl = String::with_capacity(2048);
    zpl.push_str("^XA\n^CI28\n");
    zpl.push_str(&format!(
        "^PW{LABEL_WIDTH_DOTS}\n^LL{LABEL_LENGTH_DOTS}\n^LH0,0\n"
    ));
    for element in layout(label) {
        match element {
            Element::Text { x, y, size, value } => zpl.push_str(&format!(
                "^FO{x},{y}^A@N,{size},{size},{font}^FH_^FD{}^FS\n",
                escape_field(&value)
            )),
            Element::Rule {
                x,
                y,
                width,
                height,
            } => zpl.push_str(&format!("^FO{x},{y}^GB{width},{height},{height}^FS\n")),
            // ^BC: normal orientation, no interpretation line (the grouped
            // one is printed below), no UCC check digit (the SSCC carries
            // its own). In the field data `>;` is Start C and `>8` is FNC1,
            // then the 20 digits of AI (00) + SSCC in pairs (ZPL II, ^BC
            // invocation codes).
            Element::Barcode {
                x,
                y,
                module,
                height,
            } => zpl.push_str(&format!(
                "^FO{x},{y}^BY{module}^BCN,{height},N,N,N^FD{}^FS\n",
                barcode_field_data(&label.sscc)
            )),
            Element::Interpretation {
                x,
                y,
                height,
                width,
                value,
            } => zpl.push_str(&format!("^FO{x},{y}^A0N,{height},{width}^FD{value}^FS\n")),
        }
    }
    zpl.push_str("^XZ\n");
    zpl
}

/// The labels of a stack, one after another in the order given (pick order).
pub fn zpl_labels(labels: &[ParcelLabel], options: &LabelOptions) -> String {
    labels.iter().map(|l| zpl_label(l, options)).collect()
}

/// `^BC` field data of the GS1-128 barcode: Start C, FNC1, AI (00) + SSCC.
pub fn barcode_field_data(sscc: &Sscc) -> String {
    format!(">;>8{}", sscc.element_string())
}

/// A phone number for print: the first 3 and last 4 characters stay, the
/// ones between become `*` (`13900000001` → `139****0001`), so that the
/// carrier can match the receiver while a label in a bin shows no number.
/// A short number keeps only its last 4; four or fewer are all masked.
pub fn mask_phone(phone: &str) -> String {
    let chars: Vec<char> = phone.trim().chars().collect();
    let n = chars.len();
    let (head, tail) = match n {
        0..=4 => (0, 0),
        5..=7 => (0, 4),
        _ => (3, 4),
    };
    chars
        .iter()
        .enumerate()
        .map(|(i, c)| if i < head || i >= n - tail { *c } else { '*' })
        .collect()
}

/// Field data with ZPL's syntax characters as `^FH_` hex escapes.
fn escape_field(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '^' | '~' | '_' => out.push_str(&format!("_{:02X}", c as u32)),
            c if c.is_ascii_control() => out.push_str(&format!("_{:02X}", c as u32)),
            // Other control characters (C1, line separators) would not print.
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// The font name comes from configuration, not from users, but a stray `^`,
/// `~` or `,` in it would still break the command: they are dropped.
fn escape_font(font: &str) -> String {
    font.chars()
        .filter(|c| !matches!(c, '^' | '~' | ',') && !c.is_control())
        .collect()
}

/// `text` cut to one line of `columns` columns (a wide character counting
/// two), ending in `…` when it was cut. Unlike [`wrap_columns`] it cuts
/// anywhere: a reference after a label text is cut, not dropped.
fn fit_columns(text: &str, columns: usize) -> String {
    let width = |c: char| if is_wide(c) { 2 } else { 1 };
    let text = text.trim();
    if text.chars().map(width).sum::<usize>() <= columns {
        return text.to_string();
    }
    let mut out = String::new();
    let mut used = 0;
    for c in text.chars() {
        // Keep one column for the ellipsis.
        if used + width(c) + 1 > columns {
            break;
        }
        used += width(c);
        out.push(c);
    }
    out.push('…');
    out
}

/// Greedy wrapping into at most `lines` lines of `columns` columns, a CJK
/// (wide) character counting two; the last line ends in `…` when text is
/// left over. Breaks at a space when the line has one, else anywhere (CJK
/// text has no spaces and breaks between any two characters).
fn wrap_columns(text: &str, columns: usize, lines: usize) -> Vec<String> {
    let width = |c: char| if is_wide(c) { 2 } else { 1 };
    let mut out: Vec<String> = Vec::new();
    let mut rest: Vec<char> = text.trim().chars().collect();
    while !rest.is_empty() && out.len() < lines {
        let mut used = 0;
        let mut end = 0;
        while end < rest.len() && used + width(rest[end]) <= columns {
            used += width(rest[end]);
            end += 1;
        }
        if end < rest.len() {
            if let Some(space) = rest[..end].iter().rposition(|c| *c == ' ') {
                if space > 0 {
                    end = space;
                }
            }
        }
        let line: String = rest[..end].iter().collect();
        rest.drain(..end);
        while rest.first() == Some(&' ') {
            rest.remove(0);
        }
        if out.len() + 1 == lines && !rest.is_empty() {
            let mut cut: Vec<char> = line.chars().collect();
            let mut used: usize = cut.iter().map(|c| width(*c)).sum();
            while used + 1 > columns {
                match cut.pop() {
                    Some(c) => used -= width(c),
                    None => break,
                }
            }
            cut.push('…');
            out.push(cut.into_iter().collect());
        } else {
            out.push(line.trim_end().to_string());
        }
    }
    out
}

/// East Asian wide characters (the CJK blocks a Chinese address uses:
/// ideographs, CJK punctuation, full-width forms, Hangul, kana).
pub fn is_wide(c: char) -> bool {
    matches!(c as u32,
        0x1100..=0x115F | 0x2E80..=0x303E | 0x3041..=0x33FF | 0x3400..=0x4DBF
        | 0x4E00..=0x9FFF | 0xA000..=0xA4CF | 0xAC00..=0xD7A3 | 0xF900..=0xFAFF
        | 0xFE30..=0xFE4F | 0xFF00..=0xFF60 | 0xFFE0..=0xFFE6 | 0x20000..=0x3FFFD)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::gs1::CompanyPrefix;

    fn options() -> LabelOptions {
        LabelOptions {
            font: "E:SIMSUN.FNT".into(),
        }
    }

    fn label(serial: u64, address: &str) -> ParcelLabel {
        let prefix = CompanyPrefix::parse("0614141").unwrap();
        ParcelLabel {
            sscc: Sscc::new(0, &prefix, serial).unwrap(),
            ship_to: ShipTo {
                name: "张三".into(),
                address: address.into(),
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
    fn a_label_is_one_format_in_utf8_on_a_4x6_label() {
        let zpl = zpl_label(&label(123_456_789, "西湖区文三路 1 号"), &options());

        assert!(zpl.starts_with("^XA\n^CI28\n"));
        assert!(zpl.ends_with("^XZ\n"));
        assert_eq!(zpl.matches("^XA").count(), 1);
        assert_eq!(zpl.matches("^XZ").count(), 1);
        assert!(zpl.contains("^PW812\n^LL1218\n"));
    }

    #[test]
    fn the_barcode_is_gs1_128_of_ai_00_and_the_sscc() {
        let zpl = zpl_label(&label(123_456_789, "西湖区文三路 1 号"), &options());

        assert!(
            zpl.contains("^BCN,260,N,N,N^FD>;>800006141411234567890^FS"),
            "{zpl}"
        );
        assert!(zpl.contains("^FD(00) 0 0614141 123456789 0^FS"));
        // 156 modules × 4 dots = 624 dots, centred on 812: x = 94, i.e. a
        // quiet zone of 23 modules each side, more than the 10 required.
        assert!(zpl.contains("^FO94,830^BY4^BC"));
    }

    #[test]
    fn caret_and_tilde_in_an_address_cannot_inject_commands() {
        let zpl = zpl_label(&label(1, "文三路^XZ~JA_1号\r\n"), &options());

        assert_eq!(zpl.matches("^XZ").count(), 1);
        assert!(!zpl.contains("~JA"));
        assert!(zpl.contains("^FH_^FD文三路_5EXZ_7EJA_5F1号^FS"), "{zpl}");
    }

    #[test]
    fn control_characters_are_escaped_and_every_text_field_is_hex_aware() {
        let mut odd = label(1, "文三路");
        odd.carrier = "SF\u{1}\u{7f}".into();

        let zpl = zpl_label(&odd, &options());

        assert!(zpl.contains("^FD承运商 Carrier: SF_01_7F^FS"), "{zpl}");
        for line in zpl.lines().filter(|l| l.contains("^A@")) {
            assert!(line.contains("^FH_^FD"), "{line}");
        }
    }

    #[test]
    fn the_barcode_is_centred_on_the_symbols_real_width() {
        let sscc = label(1, "文三路").sscc;
        let symbol = crate::domain::code128::Gs1_128::numeric(&sscc.element_string()).unwrap();

        assert_eq!(symbol.modules().len() as u32, SSCC_SYMBOL_MODULES);
    }

    #[test]
    fn chinese_text_is_kept_as_utf8_in_the_configured_font() {
        let zpl = zpl_label(&label(1, "西湖区文三路 1 号"), &options());

        assert!(zpl.contains("^A@N,44,44,E:SIMSUN.FNT^FH_^FD张三^FS"));
        assert!(zpl.contains("^FD西湖区文三路 1 号^FS"));
        assert!(zpl.contains("^FD杭州市 浙江省 310000^FS"));
        assert!(zpl.contains("^FD承运商 Carrier: 顺丰速运 SF^FS"));
        assert!(zpl.contains("^FD订单 Order: 直播-20261202-0001^FS"));
        assert!(zpl.contains("^FD口红-01 × 2^FS"));
    }

    #[test]
    fn the_phone_is_printed_masked() {
        let zpl = zpl_label(&label(1, "文三路"), &options());

        assert!(zpl.contains("^FD139****0001^FS"));
        assert!(!zpl.contains("13900000001"));
        assert_eq!(mask_phone("13900000001"), "139****0001");
        assert_eq!(mask_phone("0571-8888"), "057**8888");
        assert_eq!(mask_phone("88881"), "*8881");
        assert_eq!(mask_phone("110"), "***");
    }

    #[test]
    fn a_stack_keeps_the_order_given() {
        let labels = [label(2, "文三路"), label(1, "文三路")];

        let zpl = zpl_labels(&labels, &options());

        assert_eq!(zpl.matches("^XA").count(), 2);
        assert_eq!(zpl.matches("^XZ").count(), 2);
        let second = zpl.find(labels[0].sscc.as_str()).unwrap();
        let first = zpl.find(labels[1].sscc.as_str()).unwrap();
        assert!(second < first);
    }

    #[test]
    fn a_long_address_wraps_in_columns_and_ends_in_an_ellipsis() {
        let address = "浙江省杭州市西湖区文三路一百号华星科技大厦二十三层二三零一室，\
                       前台代收，请工作日送达，周末请电话联系后再送，无人接听请放门卫室";
        // 63 wide characters: 20 to a 40-column line, more than 3 lines hold.

        let lines = wrap_columns(address, 40, 3);

        assert_eq!(lines.len(), 3);
        assert!(lines[0].starts_with("浙江省杭州市"));
        assert_eq!(lines[0].chars().count(), 20);
        assert!(lines[2].ends_with('…'));
        assert_eq!(
            wrap_columns("Building 7 Wensan Road", 12, 3),
            ["Building 7", "Wensan Road"]
        );
    }

    #[test]
    fn a_long_name_or_reference_is_cut_with_an_ellipsis() {
        let mut long = label(1, "文三路");
        long.ship_to.name = "欧阳".repeat(15);
        long.order_reference = "R".repeat(64);

        let zpl = zpl_label(&long, &options());

        // 20 columns: 10 wide characters, the last replaced by the ellipsis.
        assert!(
            zpl.contains(&format!("^FD{}欧…^FS", "欧阳".repeat(4))),
            "{zpl}"
        );
        // "订单 Order: " + R… within (812 − 30 − 30) · 2 / 34 = 44 columns.
        let line = zpl.lines().find(|l| l.contains("Order:")).unwrap();
        assert!(line.ends_with("R…^FS"));
        assert!(!line.contains(&"R".repeat(64)));
    }

    #[test]
    fn many_skus_end_in_a_summary_line() {
        let mut many = label(1, "文三路");
        many.skus = (1..=6)
            .map(|i| SkuLine {
                sku: format!("SKU-{i}"),
                quantity: i,
            })
            .collect();

        let zpl = zpl_label(&many, &options());

        assert!(zpl.contains("^FDSKU-4 × 4^FS"));
        assert!(!zpl.contains("SKU-5 ×"));
        assert!(zpl.contains("^FD+2 SKU, 11 units / 另 2 个 SKU^FS"));
    }
}
