//! The public trace page of one parcel, for the consumer who received it:
//! the product, its lot, where it came from, how it was inspected and how
//! it travelled. It is built only from a [`SharePage`], which has no field
//! for a person (no names, phones or addresses) and no other parcel.

/// One lot in the parcel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SharedLot {
    pub product: String,
    pub sku_code: String,
    pub lot_code: String,
    pub qty: i64,
    pub expiry_date: Option<String>,
    /// The merchant's trading name (a business, not a person).
    pub merchant: String,
    /// When the lot arrived at the warehouse (RFC 3339).
    pub received_at: Option<String>,
    pub inspection: Option<SharedInspection>,
}

/// The lot's inspection verdict, plan and date.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SharedInspection {
    /// accepted or rejected.
    pub verdict: String,
    /// ISO 2859-1 inspection level and severity (normal, tightened, reduced).
    pub level: String,
    pub severity: String,
    /// Per defect class: (class, AQL, code letter, sample size, Ac, Re).
    pub plans: Vec<(String, String, String, u32, u32, u32)>,
    pub finished_at: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SharePage {
    /// The parcel's SSCC as printed: `(00) 0 0614141 000000001 2`.
    pub sscc: String,
    pub carrier: String,
    pub lots: Vec<SharedLot>,
    /// (status, RFC 3339 time), oldest first.
    pub timeline: Vec<(String, String)>,
}

/// Escapes text for HTML content and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A status as a consumer reads it.
fn status_words(status: &str) -> &str {
    match status {
        "packed" => "Packed at the warehouse · 已打包",
        "handed_over" => "Handed to the carrier · 已交付承运商",
        "in_transit" => "In transit · 运输中",
        "failed_delivery" => "Delivery attempt failed · 投递未成功",
        "delivered" => "Delivered · 已签收",
        "returned_to_sender" => "Returned to sender · 退回",
        "returned" => "Back at the warehouse · 已退回仓库",
        "removed" => "Re-packed · 重新打包",
        other => other,
    }
}

/// The HTML page: one column, readable on a phone.
pub fn render(page: &SharePage) -> String {
    let mut html = String::with_capacity(4096);
    html.push_str(
        "<!doctype html><html lang=\"zh\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <meta name=\"robots\" content=\"noindex\">\
         <title>Product trace · 产品溯源</title><style>\
         body{font-family:system-ui,sans-serif;margin:0 auto;max-width:36rem;padding:1rem;line-height:1.5;color:#222}\
         h1{font-size:1.3rem}h2{font-size:1.1rem;margin-top:1.5rem}\
         section{border:1px solid #ddd;border-radius:.5rem;padding:.75rem;margin:.75rem 0}\
         dt{color:#666;font-size:.85rem}dd{margin:0 0 .5rem 0}\
         .ok{color:#0a6b2d;font-weight:600}.bad{color:#a11;font-weight:600}\
         ol{padding-left:1.2rem}small{color:#666}\
         </style></head><body>",
    );
    html.push_str("<h1>Product trace · 产品溯源</h1>");
    html.push_str(&format!(
        "<p><small>Parcel {} · {}</small></p>",
        escape(&page.sscc),
        escape(&page.carrier)
    ));
    for lot in &page.lots {
        html.push_str("<section>");
        html.push_str(&format!(
            "<h2>{}</h2><dl><dt>Product code · 商品编码</dt><dd>{}</dd>\
             <dt>Lot · 批次</dt><dd>{} ({} in this parcel)</dd>",
            escape(&lot.product),
            escape(&lot.sku_code),
            escape(&lot.lot_code),
            lot.qty
        ));
        if let Some(expiry) = &lot.expiry_date {
            html.push_str(&format!(
                "<dt>Best before · 保质期至</dt><dd>{}</dd>",
                escape(expiry)
            ));
        }
        html.push_str(&format!(
            "<dt>From · 来源</dt><dd>{}</dd>",
            escape(&lot.merchant)
        ));
        if let Some(received) = &lot.received_at {
            html.push_str(&format!(
                "<dt>Received at the warehouse · 入库</dt><dd>{}</dd>",
                escape(received)
            ));
        }
        match &lot.inspection {
            Some(i) => {
                let class = if i.verdict == "accepted" { "ok" } else { "bad" };
                html.push_str(&format!(
                    "<dt>Inspection · 质检</dt><dd><span class=\"{class}\">{}</span>",
                    escape(&i.verdict)
                ));
                if let Some(at) = &i.finished_at {
                    html.push_str(&format!(" on {}", escape(at)));
                }
                html.push_str(&format!(
                    "<br><small>ISO 2859-1 sampling, level {}, {} inspection",
                    escape(&i.level),
                    escape(&i.severity)
                ));
                for (class, aql, letter, n, ac, re) in &i.plans {
                    html.push_str(&format!(
                        "<br>{}: AQL {}, code letter {}, sample of {}, Ac {} Re {}",
                        escape(class),
                        escape(aql),
                        escape(letter),
                        n,
                        ac,
                        re
                    ));
                }
                html.push_str("</small></dd>");
            }
            None => html.push_str("<dt>Inspection · 质检</dt><dd>not recorded</dd>"),
        }
        html.push_str("</dl></section>");
    }
    html.push_str("<h2>On its way · 物流</h2><ol>");
    for (status, at) in &page.timeline {
        html.push_str(&format!(
            "<li>{}<br><small>{}</small></li>",
            escape(status_words(status)),
            escape(at)
        ));
    }
    html.push_str("</ol></body></html>");
    html
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page() -> SharePage {
        SharePage {
            sscc: "(00) 0 0614141 000000001 2".into(),
            carrier: "SF Express".into(),
            lots: vec![SharedLot {
                product: "洋槐蜂蜜 <500 克>".into(),
                sku_code: "HONEY-500".into(),
                lot_code: "L2026".into(),
                qty: 2,
                expiry_date: Some("2027-09-01".into()),
                merchant: "Acme & Sons".into(),
                received_at: Some("2026-12-01T08:00:00Z".into()),
                inspection: Some(SharedInspection {
                    verdict: "accepted".into(),
                    level: "II".into(),
                    severity: "normal".into(),
                    plans: vec![("major".into(), "1.0".into(), "H".into(), 50, 1, 2)],
                    finished_at: Some("2026-12-01T09:00:00Z".into()),
                }),
            }],
            timeline: vec![
                ("packed".into(), "2026-12-02T10:00:00Z".into()),
                ("delivered".into(), "2026-12-03T10:00:00Z".into()),
            ],
        }
    }

    #[test]
    fn the_page_shows_origin_verdict_and_timeline_escaped() {
        let html = render(&page());
        assert!(html.contains("洋槐蜂蜜 &lt;500 克&gt;"));
        assert!(html.contains("Acme &amp; Sons"));
        assert!(html.contains("sample of 50, Ac 1 Re 2"));
        assert!(html.contains("Delivered · 已签收"));
        assert!(html.contains("name=\"viewport\""));
        assert!(!html.contains("<500"));
    }

    #[test]
    fn escaping_covers_the_five_characters() {
        assert_eq!(
            escape("<a href='x'>&\""),
            "&lt;a href=&#39;x&#39;&gt;&amp;&quot;"
        );
    }
}
