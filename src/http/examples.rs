//! An example for every request body of the OpenAPI document, in one table
//! keyed by operation, so that a new endpoint adds one row here (or puts an
//! example on its body's type: `#[schema(example = json!(…))]`, which
//! [`attach`] copies to the media type too). The API test
//! `every_request_body_has_an_example_that_fits_its_schema` fails for an
//! operation without one, and for an example its schema would refuse; CI's
//! schemathesis run sends them.
//!
//! Values are realistic: a honey shop's live session on Douyin, with the
//! Chinese names and addresses depot stores every day.

use serde_json::{json, Value};
use utoipa::openapi::path::Operation;
use utoipa::openapi::{OpenApi as OpenApiDoc, RefOr, Schema};

const LOT: &str = "lot_01JF6Z2N5X8R3Q7W9Y4T1V0M2K";
const MERCHANT: &str = "mer_01JF6YQ3D4E5F6G7H8J9K0M1N2";
const LINE: &str = "rcl_01JF6Z0A1B2C3D4E5F6G7H8J9K";
const SHA256: &str = "9f2c1a7d3b8e4f6a0c5d2e9b7a1f3c8d4e6b0a2c9d5f7e1b3a8c4d6e0f2a9b7c";

/// A minimal PDF (one empty page): a file the upload accepts as it is.
const PDF: &str = "%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n\
2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n\
3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]>>endobj\n\
trailer<</Root 1 0 R>>\n%%EOF\n";

fn order(external_id: &str, name: &str, phone: &str, qty: i64) -> Value {
    json!({
        "channel": "douyin",
        "external_id": external_id,
        "live_session": "蜂蜜专场-1202",
        "ship_to": {
            "name": name,
            "phone": phone,
            "address": "西湖区文三路 90 号东部软件园 3 号楼 501",
            "city": "杭州市",
            "province": "浙江省",
            "postcode": "310012"
        },
        "lines": [{"sku_code": "HONEY-500G", "qty": qty}]
    })
}

/// `(method, path, media type, example)` of every request body.
pub fn table() -> Vec<(&'static str, &'static str, &'static str, Value)> {
    const JSON: &str = "application/json";
    vec![
        (
            "POST",
            "/api/v1/tokens",
            JSON,
            json!({
                "role": "merchant", "merchant_id": MERCHANT, "label": "蜂蜜小铺 订单系统"
            }),
        ),
        (
            "POST",
            "/api/v1/webhooks",
            JSON,
            json!({
                "url": "https://shop.example.com/depot/webhooks",
                "secret": "whsec_蜂蜜小铺_9f2c1a7d3b8e4f6a",
                "merchant_id": MERCHANT
            }),
        ),
        (
            "POST",
            "/api/v1/merchants",
            JSON,
            json!({"code": "HONEY-SHOP", "name": "蜂蜜小铺旗舰店"}),
        ),
        (
            "POST",
            "/api/v1/carriers",
            JSON,
            json!({"code": "SF", "name": "顺丰速运"}),
        ),
        (
            "POST",
            "/api/v1/skus",
            JSON,
            json!({
                "code": "HONEY-500G", "name": "椴树蜂蜜 500g", "category": "food",
                "gtin": "6901234567892", "shelf_life_days": 730, "storage_zone": "A"
            }),
        ),
        (
            "POST",
            "/api/v1/locations",
            JSON,
            json!({
                "code": "A-01-03", "kind": "storage", "zone": "A", "walk_seq": 130, "capacity": 500
            }),
        ),
        (
            "POST",
            "/api/v1/receipts",
            JSON,
            json!({
                "reference": "ASN-20261202-01",
                "lines": [{"sku_code": "HONEY-500G", "lot_code": "L20261115", "expected_qty": 200,
                           "production_date": "2026-11-15", "expiry_date": "2028-11-14"}]
            }),
        ),
        (
            "POST",
            "/api/v1/receipts/{id}/arrival",
            JSON,
            json!({
                "location_code": "RCV-01", "lines": [{"line_id": LINE, "received_qty": 198}]
            }),
        ),
        (
            "POST",
            "/api/v1/inspection-templates",
            JSON,
            json!({
                "category": "food", "level": "II",
                "aql": {"critical": "0", "major": "2.5", "minor": "4.0"},
                "checks": [
                    {"code": "FOREIGN", "description": "瓶内无异物", "defect_class": "critical"},
                    {"code": "SEAL", "description": "封口完好，无渗漏", "defect_class": "major"},
                    {"code": "LABEL", "description": "中文标签齐全：品名、生产日期、保质期", "defect_class": "minor"}
                ]
            }),
        ),
        (
            "POST",
            "/api/v1/lots/{id}/inspections",
            JSON,
            json!({"level": "II"}),
        ),
        (
            "POST",
            "/api/v1/inspections/{id}/results",
            JSON,
            json!({
                "inspected_qty": 32,
                "findings": [{"check_code": "SEAL", "defects": 1}, {"check_code": "LABEL", "defects": 0}],
                "evidence": [{"uri": format!("/api/v1/evidence/{SHA256}"), "sha256": SHA256}],
                "notes": "一瓶封口膜破损，已拍照"
            }),
        ),
        (
            "POST",
            "/api/v1/inspections/{id}/correction",
            JSON,
            json!({"level": "III"}),
        ),
        (
            "POST",
            "/api/v1/lots/{id}/disposition",
            JSON,
            json!({
                "action": "screen", "good_qty": 180, "notes": "全检：20 瓶封口破损，报废"
            }),
        ),
        (
            "POST",
            "/api/v1/skus/{id}/inspection-switching/resume",
            JSON,
            json!({
                "reason": "供应商已更换封口设备，并提交了纠正措施报告"
            }),
        ),
        ("POST", "/api/v1/evidence", "application/pdf", json!(PDF)),
        // The image types take a file's raw bytes, which JSON cannot spell;
        // the PDF above is the example to send, these describe the upload.
        (
            "POST",
            "/api/v1/evidence",
            "image/jpeg",
            json!("<the bytes of a JPEG photo, e.g. 封口破损.jpg>"),
        ),
        (
            "POST",
            "/api/v1/evidence",
            "image/png",
            json!("<the bytes of a PNG image>"),
        ),
        (
            "POST",
            "/api/v1/evidence",
            "image/webp",
            json!("<the bytes of a WebP image>"),
        ),
        (
            "POST",
            "/api/v1/lots/{id}/putaway",
            JSON,
            json!({"location_code": "A-01-03", "qty": 100}),
        ),
        (
            "POST",
            "/api/v1/stock/moves",
            JSON,
            json!({
                "lot_id": LOT, "from_location_code": "A-01-03", "to_location_code": "Q-01",
                "qty": 2, "reason": "外箱压损，待检"
            }),
        ),
        (
            "POST",
            "/api/v1/stock/scrap",
            JSON,
            json!({
                "lot_id": LOT, "location_code": "Q-01", "qty": 2, "reason": "瓶身破裂"
            }),
        ),
        (
            "POST",
            "/api/v1/stock/adjustments",
            JSON,
            json!({
                "lot_id": LOT, "location_code": "A-01-03", "counted_qty": 98, "reason": "月度盘点：少 2 瓶"
            }),
        ),
        (
            "POST",
            "/api/v1/holds",
            JSON,
            json!({
                "lot_id": LOT, "reason": "客户投诉结晶异常，待复检"
            }),
        ),
        (
            "POST",
            "/api/v1/orders",
            JSON,
            order("DY-4920001234", "李雷", "+86 138 0013 8000", 2),
        ),
        (
            "POST",
            "/api/v1/orders/bulk",
            JSON,
            json!({"orders": [
                order("DY-4920001235", "韩梅梅", "13900000001", 1),
                order("DY-4920001236", "王芳", "0571-87654321", 3)
            ]}),
        ),
        (
            "POST",
            "/api/v1/batches",
            JSON,
            json!({"max_orders": 30, "max_units": 300, "carrier_code": "SF", "dry_run": true}),
        ),
        (
            "POST",
            "/api/v1/batches/{id}/picks",
            JSON,
            json!({"lines": [
                {"line_id": "bln_01JDZ4", "picked_qty": 3},
                {"line_id": "bln_01JDZ5", "picked_qty": 1, "reason": "货位只剩 1 瓶"}
            ]}),
        ),
        (
            "POST",
            "/api/v1/orders/{id}/parcels",
            JSON,
            json!({"weight_g": 1200, "tracking_no": "SF1234567890", "lines": [{"sku_code": "蜂蜜-500G", "qty": 2}]}),
        ),
        (
            "POST",
            "/api/v1/batches/{id}/parcels",
            JSON,
            json!({"weight_g": 520}),
        ),
        (
            "POST",
            "/api/v1/manifests/{id}/handover",
            JSON,
            json!({"sscc": ["006141410000000012", "006141410000000029"]}),
        ),
        (
            "POST",
            "/api/v1/manifests/{id}/parcels/{sscc}/remove",
            JSON,
            json!({"reason": "纸箱破损，重新打包"}),
        ),
        (
            "POST",
            "/api/v1/parcels/{sscc}/status",
            JSON,
            json!({"status": "delivered", "at": "2026-12-03T09:30:00Z"}),
        ),
        (
            "POST",
            "/api/v1/returns",
            JSON,
            json!({"sscc": "006141410000000012", "reason": "收件人拒收，快递退回"}),
        ),
        (
            "POST",
            "/api/v1/returns/{id}/inspection",
            JSON,
            json!({
                "lines": [{"line_id": "rtl_01JF7A2B3C4D5E6F7G8H9J0K1M", "restock_qty": 1, "scrap_qty": 1}],
                "findings": [{"check_code": "SEAL", "defects": 1}],
                "evidence": [{"uri": format!("/api/v1/evidence/{SHA256}"), "sha256": SHA256}],
                "notes": "一瓶封口破损，报废；另一瓶完好，重新上架"
            }),
        ),
        (
            "PATCH",
            "/api/v1/skus/{id}",
            JSON,
            json!({"name": "洋槐蜂蜜 500 克（新包装）", "shelf_life_days": 730, "storage_zone": "常温"}),
        ),
        (
            "PATCH",
            "/api/v1/locations/{id}",
            JSON,
            json!({"walk_seq": 120, "zone": "冷藏"}),
        ),
        (
            "PATCH",
            "/api/v1/merchants/{id}",
            JSON,
            json!({"name": "蜂蜜小铺官方旗舰店"}),
        ),
        (
            "PATCH",
            "/api/v1/carriers/{id}",
            JSON,
            json!({"name": "顺丰速运", "active": true}),
        ),
        (
            "POST",
            "/api/v1/lots/{id}/recall",
            JSON,
            json!({"reason": "供应商通知：该批次蜂蜜抽检淀粉酶值不合格", "open_orders": "backorder"}),
        ),
    ]
}

/// Puts each operation's example on its request body's media types: the
/// table's, else the example of the body's schema (a component with one).
pub fn attach(doc: &mut OpenApiDoc) {
    let schema_examples: Vec<(String, Value)> = doc
        .components
        .iter()
        .flat_map(|c| c.schemas.iter())
        .filter_map(|(name, schema)| match schema {
            RefOr::T(Schema::Object(object)) => object
                .examples
                .first()
                .or(object.example.as_ref())
                .cloned()
                .map(|example| (format!("#/components/schemas/{name}"), example)),
            _ => None,
        })
        .collect();
    let table = table();
    for (path, item) in doc.paths.paths.iter_mut() {
        let operations = [
            ("GET", item.get.as_mut()),
            ("POST", item.post.as_mut()),
            ("PUT", item.put.as_mut()),
            ("PATCH", item.patch.as_mut()),
            ("DELETE", item.delete.as_mut()),
        ];
        for (method, op) in operations {
            if let Some(op) = op {
                attach_to(op, method, path, &table, &schema_examples);
            }
        }
    }
}

fn attach_to(
    op: &mut Operation,
    method: &str,
    path: &str,
    table: &[(&str, &str, &str, Value)],
    schema_examples: &[(String, Value)],
) {
    let Some(body) = op.request_body.as_mut() else {
        return;
    };
    for (media_type, content) in body.content.iter_mut() {
        if content.example.is_some() || !content.examples.is_empty() {
            continue;
        }
        let from_table = table
            .iter()
            .find(|(m, p, t, _)| *m == method && *p == path && t == media_type)
            .map(|(_, _, _, example)| example.clone());
        let from_schema = || match &content.schema {
            Some(RefOr::Ref(reference)) => schema_examples
                .iter()
                .find(|(name, _)| *name == reference.ref_location)
                .map(|(_, example)| example.clone()),
            _ => None,
        };
        content.example = from_table.or_else(from_schema);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(schema_example: Value, path: &str) -> OpenApiDoc {
        serde_json::from_value(json!({
            "openapi": "3.1.0",
            "info": {"title": "t", "version": "1"},
            "paths": {path: {"post": {
                "requestBody": {"content": {"application/json": {
                    "schema": {"$ref": "#/components/schemas/NewThing"}
                }}},
                "responses": {}
            }}},
            "components": {"schemas": {"NewThing": {
                "type": "object", "examples": [schema_example]
            }}}
        }))
        .unwrap()
    }

    fn example_of(doc: &OpenApiDoc, path: &str) -> Option<Value> {
        let op = doc.paths.paths[path].post.as_ref().unwrap();
        op.request_body.as_ref().unwrap().content["application/json"]
            .example
            .clone()
    }

    #[test]
    fn a_body_type_with_an_example_needs_no_row() {
        let mut doc = doc(json!({"code": "茶-01"}), "/api/v1/things");
        attach(&mut doc);
        assert_eq!(
            example_of(&doc, "/api/v1/things"),
            Some(json!({"code": "茶-01"}))
        );
    }

    #[test]
    fn the_table_wins_over_the_body_type() {
        let mut doc = doc(json!({"code": "X"}), "/api/v1/merchants");
        attach(&mut doc);
        assert_eq!(
            example_of(&doc, "/api/v1/merchants"),
            Some(json!({"code": "HONEY-SHOP", "name": "蜂蜜小铺旗舰店"}))
        );
    }
}
