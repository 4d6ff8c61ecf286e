//! The trace log as GS1 EPCIS 2.0 JSON-LD: one stored event becomes one
//! event of an `EPCISDocument` (EPCIS 2.0 §9 JSON/JSON-LD binding), with
//! CBV 2.0 vocabulary written as bare words.
//!
//! What depot writes, and why:
//! - lots are classes (quantities, never serial numbers): `quantityList` /
//!   `childQuantityList` elements of the lot's class (a GS1 Digital Link URI
//!   where the SKU has a GTIN) and a JSON number; no `uom`, since depot
//!   counts units and EPCIS 2.0 §7.3.3.3 reads a quantity without one as a
//!   count of instances;
//! - a parcel is its SSCC as an EPC pure identity URI: the `parentID` of its
//!   packing AggregationEvents (ADD and DELETE: the schema leaves it
//!   optional, depot always writes it) and in `epcList` of the ObjectEvents
//!   that follow it (shipping, carrier statuses);
//! - locations are both the read point and, where the goods stay there, the
//!   business location (EPCIS 2.0 §7.3.4); goods that left (shipping,
//!   carrier steps, destroying) have no business location;
//! - ASNs (`desadv`), orders (`po`), manifests (`bol`) and returns (`rma`)
//!   are CBV 2.0 §8.5 business transactions;
//! - depot's own fields (a correction's reason, an inspection's template
//!   and version) are extension fields under the `depot:` prefix that the
//!   document's `@context` defines (EPCIS 2.0 §9.3: user extensions are
//!   namespaced).

use chrono::NaiveDateTime;
use serde_json::{json, Map, Value};

/// The EPCIS 2.0 JSON-LD context every document names first.
pub const EPCIS_CONTEXT: &str = "https://ref.gs1.org/standards/epcis/epcis-context.jsonld";

/// The stored prefix of depot's own identifiers (lots without a GTIN,
/// locations, orders, manifests, events).
const STORED_BASE: &str = "urn:depot:";

/// CBV 2.0 §7.1: every business step. depot writes only some of them; a
/// `biz_step` filter must be one of these.
pub const CBV_BIZ_STEPS: &[&str] = &[
    "accepting",
    "arriving",
    "assembling",
    "collecting",
    "commissioning",
    "consigning",
    "creating_class_instance",
    "cycle_counting",
    "decommissioning",
    "departing",
    "destroying",
    "disassembling",
    "dispensing",
    "encoding",
    "entering_exiting",
    "holding",
    "inspecting",
    "installing",
    "killing",
    "loading",
    "other",
    "packing",
    "picking",
    "receiving",
    "removing",
    "repackaging",
    "repairing",
    "replacing",
    "reserving",
    "retail_selling",
    "sampling",
    "sensor_reporting",
    "shipping",
    "staging_outbound",
    "stock_taking",
    "stocking",
    "storing",
    "transporting",
    "unloading",
    "unpacking",
    "void_shipping",
];

/// CBV 2.0 §7.2: every disposition.
pub const CBV_DISPOSITIONS: &[&str] = &[
    "active",
    "available",
    "completeness_inferred",
    "completeness_verified",
    "conformant",
    "container_closed",
    "container_open",
    "damaged",
    "destroyed",
    "dispensed",
    "disposed",
    "encoded",
    "expired",
    "in_progress",
    "in_transit",
    "inactive",
    "mismatch_class",
    "mismatch_instance",
    "mismatch_quantity",
    "needs_replacement",
    "no_pedigree_match",
    "non_conformant",
    "non_sellable_other",
    "partially_dispensed",
    "recalled",
    "reserved",
    "retail_sold",
    "returned",
    "sellable_accessible",
    "sellable_not_accessible",
    "stolen",
    "unavailable",
    "unknown",
];

/// Steps after which the goods are no longer at the event's location.
const LEAVING_STEPS: &[&str] = &["shipping", "transporting", "arriving", "destroying"];

/// Where depot's identifiers live in an export: `urn:depot:` as stored, or a
/// base the warehouse owns (`DEPOT_EPCIS_BASE_URI`, e.g.
/// `https://wms.example.com/id/`, under which `urn:depot:lot:L1` is written
/// `https://wms.example.com/id/lot/L1`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdBase(String);

impl Default for IdBase {
    fn default() -> IdBase {
        IdBase(STORED_BASE.to_string())
    }
}

impl IdBase {
    /// A base is an `https://` or `http://` URI ending in `/`, or a URN
    /// ending in `:`; nothing else names identifiers unambiguously.
    pub fn parse(raw: &str) -> Result<IdBase, String> {
        let raw = raw.trim();
        let web = (raw.starts_with("https://") || raw.starts_with("http://"))
            && raw.ends_with('/')
            && raw.len() > "https://x/".len() - 1;
        let urn = raw.starts_with("urn:") && raw.ends_with(':') && raw.len() > "urn:x:".len() - 1;
        let clean = raw
            .bytes()
            .all(|b| b.is_ascii_graphic() && !b"\"<>\\^`{|}".contains(&b));
        if (web || urn) && clean {
            Ok(IdBase(raw.to_string()))
        } else {
            Err("must be an http(s) URI ending in / or a URN ending in :".into())
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// A stored identifier as exported: depot's own ones under this base,
    /// any other (GS1 Digital Link, SSCC EPC URIs) as it is.
    pub fn rebase(&self, stored: &str) -> String {
        match stored.strip_prefix(STORED_BASE) {
            Some(rest) if self.0 != STORED_BASE => {
                if self.0.ends_with('/') {
                    format!("{}{}", self.0, rest.replacen(':', "/", 1))
                } else {
                    format!("{}{rest}", self.0)
                }
            }
            _ => stored.to_string(),
        }
    }

    /// The IRI the `depot:` prefix of extension fields expands to.
    pub fn vocabulary(&self) -> String {
        if self.0.ends_with('/') {
            format!("{}ns#", self.0)
        } else {
            format!("{}ns:", self.0)
        }
    }
}

/// One event of the trace log as the export maps it: the stored row, with
/// its location as a URI.
#[derive(Debug, Clone)]
pub struct SourceEvent {
    pub id: String,
    pub event_type: String,
    pub action: String,
    pub event_time: NaiveDateTime,
    pub tz_offset: String,
    pub biz_step: String,
    pub disposition: String,
    pub what_class: String,
    pub quantity: Option<i64>,
    /// The location's URI (`urn:depot:loc:<code>`).
    pub location: Option<String>,
    pub biz_tx_type: Option<String>,
    pub biz_tx_id: Option<String>,
    pub actor: Option<String>,
    pub recorded_at: NaiveDateTime,
    pub details: Option<String>,
    pub parent_id: Option<String>,
}

/// EPCIS 2.0 §7.4.1 / JSON schema `time`: RFC 3339 with an explicit offset
/// `±hh:mm`. depot stores UTC, so its own events are written at `+00:00`.
pub fn format_time(at: NaiveDateTime) -> String {
    at.format("%Y-%m-%dT%H:%M:%S%.3f+00:00").to_string()
}

/// The document around the events: everything up to the event list, open.
/// `next` (a cursor) is written as the `depot:nextCursor` extension field.
pub fn document_head(base: &IdBase, created: NaiveDateTime, next: Option<&str>) -> String {
    let mut head = json!({
        "@context": [EPCIS_CONTEXT, {"depot": base.vocabulary()}],
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": format_time(created),
    });
    if let Some(next) = next {
        head["depot:nextCursor"] = next.into();
    }
    let mut text = head.to_string();
    text.pop();
    text.push_str(",\"epcisBody\":{\"eventList\":[");
    text
}

/// What closes a document that [`document_head`] opened.
pub const DOCUMENT_TAIL: &str = "]}}";

/// One stored event as an EPCIS 2.0 event.
pub fn event(e: &SourceEvent, base: &IdBase) -> Value {
    let mut out = Map::new();
    out.insert("type".into(), e.event_type.clone().into());
    out.insert("eventTime".into(), format_time(e.event_time).into());
    out.insert("recordTime".into(), format_time(e.recorded_at).into());
    out.insert("eventTimeZoneOffset".into(), e.tz_offset.clone().into());
    out.insert(
        "eventID".into(),
        base.rebase(&format!("{STORED_BASE}event:{}", e.id)).into(),
    );
    out.insert("action".into(), e.action.clone().into());
    let quantity = || {
        let mut q = Map::new();
        q.insert("epcClass".into(), base.rebase(&e.what_class).into());
        if let Some(n) = e.quantity {
            q.insert("quantity".into(), n.into());
        }
        Value::Array(vec![Value::Object(q)])
    };
    let parent = e.parent_id.as_deref().map(|p| base.rebase(p));
    match e.event_type.as_str() {
        "AggregationEvent" => {
            if let Some(parent) = parent {
                out.insert("parentID".into(), parent.into());
            }
            out.insert("childQuantityList".into(), quantity());
        }
        _ => {
            // ObjectEvent (about a parcel: its SSCC is the object) and
            // TransactionEvent alike.
            if let Some(parent) = parent {
                out.insert("epcList".into(), json!([parent]));
            }
            out.insert("quantityList".into(), quantity());
        }
    }
    if !e.biz_step.is_empty() {
        out.insert("bizStep".into(), e.biz_step.clone().into());
    }
    if let Some(disposition) = disposition(e) {
        out.insert("disposition".into(), disposition.into());
    }
    if let Some(location) = &e.location {
        let location = base.rebase(location);
        out.insert("readPoint".into(), json!({ "id": location }));
        if !LEAVING_STEPS.contains(&e.biz_step.as_str()) {
            out.insert("bizLocation".into(), json!({ "id": location }));
        }
    }
    if let Some(tx) = &e.biz_tx_id {
        let mut entry = Map::new();
        if let Some(kind) = &e.biz_tx_type {
            entry.insert("type".into(), kind.clone().into());
        }
        entry.insert("bizTransaction".into(), base.rebase(tx).into());
        out.insert("bizTransactionList".into(), json!([entry]));
    }
    let details = e
        .details
        .as_deref()
        .and_then(|d| serde_json::from_str::<Value>(d).ok());
    if let Some(Value::Object(details)) = details {
        for (key, value) in details {
            if key == "source" {
                if let Some(source) = source(&value, base) {
                    out.insert("sourceList".into(), json!([source]));
                }
                continue;
            }
            out.insert(format!("depot:{}", extension_name(&key)), value);
        }
    }
    if let Some(actor) = &e.actor {
        out.insert("depot:recordedBy".into(), actor.clone().into());
    }
    Value::Object(out)
}

/// The stored disposition as exported. CBV 2.0 §7.2's `reserved` is about
/// identifiers set aside for later commissioning, not stock promised to an
/// order, so a reservation (a TransactionEvent tying a lot quantity to an
/// order) states no disposition: its business transaction says it all.
/// Rows written before depot stopped storing `reserved` read the same way.
fn disposition(e: &SourceEvent) -> Option<String> {
    match e.disposition.as_str() {
        "" | "reserved" => None,
        other => Some(other.to_string()),
    }
}

/// EPCIS 2.0 §7.3.5.9: a source of `type` (CBV 2.0 §8.4) and identifier.
fn source(value: &Value, base: &IdBase) -> Option<Value> {
    let kind = value.get("type")?.as_str()?;
    let id = value.get("id")?.as_str()?;
    Some(json!({"type": kind, "source": base.rebase(id)}))
}

/// A details key as the local part of a compact IRI: unreserved characters
/// only (RFC 3986 §2.3), anything else as `_`.
fn extension_name(key: &str) -> String {
    key.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-._~".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::trace::{BizStep, Disposition};

    fn at(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S%.f").unwrap()
    }

    fn stored(event_type: &str, step: &str, disposition: &str) -> SourceEvent {
        SourceEvent {
            id: "evt_01".into(),
            event_type: event_type.into(),
            action: "ADD".into(),
            event_time: at("2026-12-03 08:00:01.5"),
            tz_offset: "+00:00".into(),
            biz_step: step.into(),
            disposition: disposition.into(),
            what_class: "https://id.gs1.org/01/06901234567892/10/L%E8%9C%82".into(),
            quantity: Some(4),
            location: Some("urn:depot:loc:%E6%89%93".into()),
            biz_tx_type: Some("po".into()),
            biz_tx_id: Some("urn:depot:order:ord_1".into()),
            actor: Some("tok_1".into()),
            recorded_at: at("2026-12-03 08:00:02"),
            details: None,
            parent_id: None,
        }
    }

    #[test]
    fn every_step_and_disposition_depot_writes_is_cbv_2_0() {
        for step in BizStep::ALL {
            assert!(CBV_BIZ_STEPS.contains(&step.as_str()), "{}", step.as_str());
        }
        for d in Disposition::ALL {
            assert!(CBV_DISPOSITIONS.contains(&d.as_str()), "{}", d.as_str());
        }
    }

    #[test]
    fn times_carry_an_explicit_offset() {
        assert_eq!(
            format_time(at("2026-12-03 08:00:01.5")),
            "2026-12-03T08:00:01.500+00:00"
        );
    }

    #[test]
    fn an_aggregation_has_its_parcel_as_parent_and_the_lot_as_child_quantity() {
        let mut e = stored("AggregationEvent", "packing", "in_progress");
        e.parent_id = Some("urn:epc:id:sscc:0614141.1000000017".into());
        e.biz_tx_type = Some("bol".into());
        e.biz_tx_id = Some("urn:depot:manifest:man_1".into());
        let out = event(&e, &IdBase::default());
        assert_eq!(out["parentID"], "urn:epc:id:sscc:0614141.1000000017");
        assert_eq!(
            out["childQuantityList"],
            json!([{"epcClass": e.what_class, "quantity": 4}])
        );
        assert_eq!(out["bizLocation"], json!({"id": "urn:depot:loc:%E6%89%93"}));
        assert_eq!(
            out["bizTransactionList"],
            json!([{"type": "bol", "bizTransaction": "urn:depot:manifest:man_1"}])
        );
        assert!(out.get("quantityList").is_none());
    }

    #[test]
    fn a_shipped_parcel_is_the_object_and_has_no_business_location() {
        let mut e = stored("ObjectEvent", "shipping", "in_transit");
        e.action = "OBSERVE".into();
        e.parent_id = Some("urn:epc:id:sscc:0614141.1000000017".into());
        e.details = Some(
            r#"{"source":{"type":"possessing_party","id":"urn:depot:carrier:SF"},"order":"urn:depot:order:o"}"#
                .into(),
        );
        let out = event(&e, &IdBase::default());
        assert_eq!(
            out["epcList"],
            json!(["urn:epc:id:sscc:0614141.1000000017"])
        );
        assert!(out.get("bizLocation").is_none());
        assert_eq!(out["readPoint"]["id"], "urn:depot:loc:%E6%89%93");
        assert_eq!(
            out["sourceList"],
            json!([{"type": "possessing_party", "source": "urn:depot:carrier:SF"}])
        );
        assert_eq!(out["depot:order"], "urn:depot:order:o");
        assert_eq!(out["eventTimeZoneOffset"], "+00:00");
    }

    #[test]
    fn a_reservation_states_no_disposition() {
        let out = event(
            &stored("TransactionEvent", "other", "reserved"),
            &IdBase::default(),
        );
        assert!(out.get("disposition").is_none(), "{out}");
        assert_eq!(out["bizTransactionList"][0]["type"], "po");
        let out = event(&stored("ObjectEvent", "receiving", ""), &IdBase::default());
        assert!(out.get("disposition").is_none(), "{out}");
    }

    #[test]
    fn depot_identifiers_move_under_a_configured_base() {
        let base = IdBase::parse("https://wms.example.com/id/").unwrap();
        assert_eq!(
            base.rebase("urn:depot:lot:lot_1"),
            "https://wms.example.com/id/lot/lot_1"
        );
        assert_eq!(
            base.rebase("urn:depot:loc:A:01"),
            "https://wms.example.com/id/loc/A:01"
        );
        assert_eq!(
            base.rebase("urn:epc:id:sscc:0614141.1000000017"),
            "urn:epc:id:sscc:0614141.1000000017"
        );
        assert_eq!(base.vocabulary(), "https://wms.example.com/id/ns#");
        let urn = IdBase::parse("urn:acme:wh1:").unwrap();
        assert_eq!(urn.rebase("urn:depot:lot:l"), "urn:acme:wh1:lot:l");
        assert_eq!(
            IdBase::default().rebase("urn:depot:lot:l"),
            "urn:depot:lot:l"
        );
        for bad in [
            "",
            "wms.example.com/",
            "https://wms.example.com",
            "urn:x",
            "https://a b/",
        ] {
            assert!(IdBase::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_head_and_tail_make_one_document() {
        let head = document_head(&IdBase::default(), at("2026-12-03 08:00:00"), Some("c.1"));
        let text = format!(
            "{head}{}{DOCUMENT_TAIL}",
            event(
                &stored("ObjectEvent", "receiving", "active"),
                &IdBase::default()
            )
        );
        let doc: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(doc["type"], "EPCISDocument");
        assert_eq!(doc["schemaVersion"], "2.0");
        assert_eq!(doc["@context"][0], EPCIS_CONTEXT);
        assert_eq!(doc["depot:nextCursor"], "c.1");
        assert_eq!(doc["epcisBody"]["eventList"].as_array().unwrap().len(), 1);
    }
}
