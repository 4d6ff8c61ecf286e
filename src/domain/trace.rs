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

/// An enum of CBV words, its `as_str` and `ALL`, every variant in order,
/// from one list: a variant cannot be left out of `ALL`.
macro_rules! cbv_words {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident => $word:literal,)* }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum $name {
            $($(#[$vmeta])* $variant,)*
        }

        impl $name {
            /// Every value depot writes.
            pub const ALL: &'static [$name] = &[$($name::$variant,)*];

            /// The CBV bare word.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $word,)*
                }
            }
        }
    };
}

cbv_words! {
    /// CBV 2.0 §7.1 business steps used by depot (the bare names; in EPCIS
    /// JSON-LD they are written as is, or as
    /// `https://ref.gs1.org/cbv/BizStep-<name>`).
    BizStep {
        Receiving => "receiving",
        Inspecting => "inspecting",
        Accepting => "accepting",
        Holding => "holding",
        Storing => "storing",
        Picking => "picking",
        Packing => "packing",
        Shipping => "shipping",
        /// A carrier moving a parcel between its hubs.
        Transporting => "transporting",
        /// A parcel reaching its consignee (the carrier's delivery).
        Arriving => "arriving",
        /// A parcel opened again at the warehouse (taken off its manifest).
        Unpacking => "unpacking",
        Destroying => "destroying",
        CycleCounting => "cycle_counting",
        /// CBV 2.0 has no step for allocating stock to an order (its
        /// `reserving` is about serial numbers), so a reservation is a
        /// TransactionEvent with step `other`; its business transaction (the
        /// order) says what happened, and it states no disposition (CBV's
        /// `reserved` is about identifiers, not stock promised to an order).
        Other => "other",
    }
}

cbv_words! {
    /// CBV 2.0 §7.2 dispositions used by depot.
    Disposition {
        Active => "active",
        InProgress => "in_progress",
        Conformant => "conformant",
        NonConformant => "non_conformant",
        InTransit => "in_transit",
        Destroyed => "destroyed",
        Returned => "returned",
        SellableAccessible => "sellable_accessible",
        /// Sellable, but not where it can be picked for a customer yet
        /// (accepted and still in receiving, waiting for putaway).
        SellableNotAccessible => "sellable_not_accessible",
        NonSellableOther => "non_sellable_other",
        Damaged => "damaged",
        Expired => "expired",
        /// A recalled lot's stock, held for the recall.
        Recalled => "recalled",
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
