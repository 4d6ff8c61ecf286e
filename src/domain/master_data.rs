//! Rules for correcting and retiring master data (SKUs, locations, merchants,
//! carriers): what a change is, and what a location's default mark allows.

use serde::Serialize;
use serde_json::Value;

/// Master data that PATCH can change; the `entity` of a recorded change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Entity {
    Sku,
    Location,
    Merchant,
    Carrier,
}

impl Entity {
    pub const ALL: [Entity; 4] = [
        Entity::Sku,
        Entity::Location,
        Entity::Merchant,
        Entity::Carrier,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Entity::Sku => "sku",
            Entity::Location => "location",
            Entity::Merchant => "merchant",
            Entity::Carrier => "carrier",
        }
    }

    pub fn parse(raw: &str) -> Option<Entity> {
        Entity::ALL.into_iter().find(|e| e.as_str() == raw)
    }
}

/// One field that a change set from `old` to `new` (JSON values, so that a
/// cleared field is `null`).
#[derive(Debug, Clone, PartialEq)]
pub struct FieldChange {
    pub field: &'static str,
    pub old: Value,
    pub new: Value,
}

/// Collects the fields whose value a PATCH really changes: a field given with
/// the value it already has is no change and is not recorded.
#[derive(Debug, Default)]
pub struct ChangeSet {
    pub changes: Vec<FieldChange>,
}

impl ChangeSet {
    /// Compares one field's value before and after.
    pub fn field<T: Serialize + PartialEq>(&mut self, field: &'static str, old: &T, new: &T) {
        if old != new {
            self.changes.push(FieldChange {
                field,
                old: serde_json::to_value(old).unwrap_or(Value::Null),
                new: serde_json::to_value(new).unwrap_or(Value::Null),
            });
        }
    }

    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }

    pub fn touches(&self, field: &str) -> bool {
        self.changes.iter().any(|c| c.field == field)
    }
}

/// Whether a location may end up `active` and/or the default of its kind
/// after a change. The default is where depot sends goods when a request
/// names no location, so it must take stock: an inactive location is never
/// the default, and the default is retired only after another location of
/// its kind has taken the mark. Storage is the exception: depot never sends
/// goods to a default bin (putaway names or suggests one), so a bin that
/// happens to hold the mark can be retired like any other.
pub fn check_location_state(active: bool, is_default: bool, kind: &str) -> Result<(), String> {
    if is_default && !active && kind != "storage" {
        return Err(format!(
            "the default {kind} location cannot be inactive; mark another {kind} location \
             default first (PATCH it with default: true)"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_value_given_again_is_no_change() {
        let mut set = ChangeSet::default();
        set.field("name", &"蜂蜜".to_string(), &"蜂蜜".to_string());
        set.field("walk_seq", &3, &3);
        assert!(set.is_empty());
    }

    #[test]
    fn a_change_records_old_and_new_and_a_cleared_field_is_null() {
        let mut set = ChangeSet::default();
        set.field("name", &"Tea".to_string(), &"绿茶".to_string());
        set.field("zone", &Some("A".to_string()), &None);
        assert_eq!(
            set.changes,
            [
                FieldChange {
                    field: "name",
                    old: json!("Tea"),
                    new: json!("绿茶")
                },
                FieldChange {
                    field: "zone",
                    old: json!("A"),
                    new: Value::Null
                }
            ]
        );
        assert!(set.touches("zone"));
        assert!(!set.touches("gtin"));
    }

    #[test]
    fn the_default_location_must_take_stock() {
        assert!(check_location_state(false, true, "quarantine")
            .unwrap_err()
            .contains("mark another quarantine location default first"));
        assert_eq!(check_location_state(false, false, "receiving"), Ok(()));
        assert_eq!(check_location_state(false, true, "storage"), Ok(()));
        assert_eq!(check_location_state(true, true, "storage"), Ok(()));
    }

    #[test]
    fn entities_read_back_as_written() {
        for entity in Entity::ALL {
            assert_eq!(Entity::parse(entity.as_str()), Some(entity));
        }
        assert_eq!(Entity::parse("lot"), None);
    }
}
