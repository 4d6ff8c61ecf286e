//! The vocabulary of the trace log: GS1 EPCIS 2.0 event parts with CBV 2.0
//! business steps and dispositions.

use serde::Serialize;

/// EPCIS 2.0 §7.3.2: the action of an ObjectEvent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Action {
    /// The objects were observed, neither created nor destroyed.
    #[serde(rename = "OBSERVE")]
    Observe,
    /// The objects were added to the scope of the system (first seen).
    #[serde(rename = "ADD")]
    Add,
    /// The objects ceased to exist (e.g. destroyed).
    #[serde(rename = "DELETE")]
    Delete,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Observe => "OBSERVE",
            Action::Add => "ADD",
            Action::Delete => "DELETE",
        }
    }
}

/// CBV 2.0 §7.1 business steps used by depot (the bare names; in EPCIS JSON-LD
/// they are written as is, or as `https://ref.gs1.org/cbv/BizStep-<name>`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BizStep {
    Receiving,
    Inspecting,
    Accepting,
    Holding,
    Storing,
    Picking,
    Packing,
    Shipping,
    /// A carrier moving a parcel between its hubs.
    Transporting,
    /// A parcel reaching its consignee (the carrier's delivery).
    Arriving,
    /// A parcel opened again at the warehouse (taken off its manifest).
    Unpacking,
    Destroying,
    CycleCounting,
    /// CBV 2.0 has no step for allocating stock to an order (its `reserving`
    /// is about serial numbers), so a reservation is a TransactionEvent with
    /// step `other`; its business transaction (the order) and disposition
    /// (`reserved`) say what happened.
    Other,
}

impl BizStep {
    pub fn as_str(self) -> &'static str {
        match self {
            BizStep::Receiving => "receiving",
            BizStep::Inspecting => "inspecting",
            BizStep::Accepting => "accepting",
            BizStep::Holding => "holding",
            BizStep::Storing => "storing",
            BizStep::Picking => "picking",
            BizStep::Packing => "packing",
            BizStep::Shipping => "shipping",
            BizStep::Transporting => "transporting",
            BizStep::Arriving => "arriving",
            BizStep::Unpacking => "unpacking",
            BizStep::Destroying => "destroying",
            BizStep::CycleCounting => "cycle_counting",
            BizStep::Other => "other",
        }
    }
}

/// CBV 2.0 §7.2 dispositions used by depot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Disposition {
    Active,
    InProgress,
    Conformant,
    NonConformant,
    InTransit,
    Destroyed,
    Returned,
    SellableAccessible,
    /// Sellable, but not where it can be picked for a customer yet (accepted
    /// and still in receiving, waiting for putaway).
    SellableNotAccessible,
    NonSellableOther,
    Damaged,
    Expired,
    /// A recalled lot's stock, held for the recall.
    Recalled,
}

impl Disposition {
    pub fn as_str(self) -> &'static str {
        match self {
            Disposition::Active => "active",
            Disposition::InProgress => "in_progress",
            Disposition::Conformant => "conformant",
            Disposition::NonConformant => "non_conformant",
            Disposition::InTransit => "in_transit",
            Disposition::Destroyed => "destroyed",
            Disposition::Returned => "returned",
            Disposition::SellableAccessible => "sellable_accessible",
            Disposition::SellableNotAccessible => "sellable_not_accessible",
            Disposition::NonSellableOther => "non_sellable_other",
            Disposition::Damaged => "damaged",
            Disposition::Expired => "expired",
            Disposition::Recalled => "recalled",
        }
    }
}

/// CBV 2.0 §7.3 business transaction types depot refers to.
pub mod biz_tx {
    /// Despatch advice: the merchant's advance shipping notice (a receipt).
    pub const DESPATCH_ADVICE: &str = "desadv";
    /// Purchase order: a customer's order.
    pub const PURCHASE_ORDER: &str = "po";
    /// Bill of lading: a carrier's manifest.
    pub const BILL_OF_LADING: &str = "bol";
    /// Return merchandise authorisation: a return received back.
    pub const RETURN_AUTHORIZATION: &str = "rma";
}

/// The EPC class of a lot. With a GTIN it is the GS1 Digital Link URI of the
/// GTIN and batch/lot (AI 01 + AI 10), which EPCIS 2.0 accepts wherever an EPC
/// class is expected; without one, a depot URN naming the lot.
pub fn lot_class(gtin14: Option<&str>, lot_code: &str, lot_id: &str) -> String {
    match gtin14 {
        Some(gtin) => format!(
            "https://id.gs1.org/01/{gtin}/10/{}",
            percent_encode(lot_code)
        ),
        None => format!("urn:depot:lot:{lot_id}"),
    }
}

/// A depot location as an EPCIS location identifier.
pub fn location_uri(code: &str) -> String {
    format!("urn:depot:loc:{}", percent_encode(code))
}

/// Percent-encodes everything but unreserved URI characters (RFC 3986 §2.3),
/// as GS1 Digital Link requires for AI values.
fn percent_encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lot_with_a_gtin_is_a_digital_link_class() {
        assert_eq!(
            lot_class(Some("06291041500213"), "L 24/7", "lot_1"),
            "https://id.gs1.org/01/06291041500213/10/L%2024%2F7"
        );
        assert_eq!(lot_class(None, "L1", "lot_1"), "urn:depot:lot:lot_1");
    }
}
