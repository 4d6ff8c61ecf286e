//! Who may act: roles, the principal behind a request, and bearer token secrets.

use std::fmt;

use rand::Rng;
use sha2::{Digest, Sha256};

use crate::error::FieldError;

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Sets up the warehouse: partners, tokens, locations.
    Admin,
    /// Works the floor: receiving, inspection, picking, packing, dispatch.
    Staff,
    /// Bound to one merchant: its own goods, orders and parcels only.
    Merchant,
    /// Bound to one carrier: its own manifests only.
    Carrier,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Admin, Role::Staff, Role::Merchant, Role::Carrier];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Staff => "staff",
            Role::Merchant => "merchant",
            Role::Carrier => "carrier",
        }
    }

    pub fn parse(raw: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == raw)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The caller of a request, as its token says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub token_id: String,
    pub role: Role,
    /// Set exactly when the role is `merchant`.
    pub merchant_id: Option<String>,
    /// Set exactly when the role is `carrier`.
    pub carrier_id: Option<String>,
}

impl Principal {
    /// Whether the caller's role is one of `roles`.
    pub fn is(&self, roles: &[Role]) -> bool {
        roles.contains(&self.role)
    }

    /// Whether an object owned by `merchant_id` is visible to the caller:
    /// admin and staff see every merchant's, a merchant only its own. A caller
    /// who may not see it must be told it does not exist (404), never 403.
    pub fn sees_merchant(&self, merchant_id: &str) -> bool {
        match self.role {
            Role::Admin | Role::Staff => true,
            Role::Merchant => self.merchant_id.as_deref() == Some(merchant_id),
            Role::Carrier => false,
        }
    }

    /// Whether an object of carrier `carrier_id` is visible to the caller.
    pub fn sees_carrier(&self, carrier_id: &str) -> bool {
        match self.role {
            Role::Admin | Role::Staff | Role::Merchant => true,
            Role::Carrier => self.carrier_id.as_deref() == Some(carrier_id),
        }
    }
}

/// What a new token is for, checked before anything is written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenSpec {
    pub role: Role,
    pub merchant_id: Option<String>,
    pub carrier_id: Option<String>,
    pub label: Option<String>,
}

impl TokenSpec {
    /// A merchant token names its merchant, a carrier token its carrier, and
    /// admin and staff tokens name neither.
    pub fn parse(
        role: Role,
        merchant_id: Option<String>,
        carrier_id: Option<String>,
        label: Option<String>,
    ) -> Result<TokenSpec, Vec<FieldError>> {
        let mut errors = Vec::new();
        let merchant_id = merchant_id.filter(|s| !s.trim().is_empty());
        let carrier_id = carrier_id.filter(|s| !s.trim().is_empty());
        match (role, &merchant_id) {
            (Role::Merchant, None) => errors.push(FieldError::new(
                "merchant_id",
                "is required for a merchant token",
            )),
            (Role::Merchant, Some(_)) => {}
            (_, Some(_)) => errors.push(FieldError::new(
                "merchant_id",
                "is only for a merchant token",
            )),
            _ => {}
        }
        match (role, &carrier_id) {
            (Role::Carrier, None) => errors.push(FieldError::new(
                "carrier_id",
                "is required for a carrier token",
            )),
            (Role::Carrier, Some(_)) => {}
            (_, Some(_)) => {
                errors.push(FieldError::new("carrier_id", "is only for a carrier token"))
            }
            _ => {}
        }
        let label = match label.map(|l| super::text::parse_text(&l, 100)) {
            None => None,
            Some(Ok(l)) => Some(l),
            Some(Err(message)) => {
                errors.push(FieldError::new("label", message));
                None
            }
        };
        if errors.is_empty() {
            Ok(TokenSpec {
                role,
                merchant_id,
                carrier_id,
                label,
            })
        } else {
            Err(errors)
        }
    }
}

/// Every token starts with this, so a leaked one is easy to recognise.
pub const TOKEN_PREFIX: &str = "dpt_";

/// A new bearer token secret: the prefix and 256 random bits in hex.
pub fn new_token_secret() -> String {
    let bytes: [u8; 32] = rand::rng().random();
    let mut secret = String::with_capacity(TOKEN_PREFIX.len() + 64);
    secret.push_str(TOKEN_PREFIX);
    for b in bytes {
        secret.push_str(&format!("{b:02x}"));
    }
    secret
}

/// The SHA-256 of a token secret, in lowercase hex: the only form stored.
/// A fast hash is enough because the secret has 256 random bits; there is no
/// password to guess.
pub fn hash_token(secret: &str) -> String {
    Sha256::digest(secret.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_round_trip_through_their_names() {
        for role in Role::ALL {
            assert_eq!(Role::parse(role.as_str()), Some(role));
        }
        assert_eq!(Role::parse("root"), None);
    }

    #[test]
    fn token_hash_is_sha256_hex() {
        // FIPS 180-4 test vector for "abc".
        assert_eq!(
            hash_token("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn secrets_are_prefixed_random_and_not_their_hash() {
        let a = new_token_secret();
        assert!(a.starts_with(TOKEN_PREFIX));
        assert_eq!(a.len(), TOKEN_PREFIX.len() + 64);
        assert_ne!(a, new_token_secret());
        assert!(!hash_token(&a).contains(&a[TOKEN_PREFIX.len()..]));
    }

    #[test]
    fn merchant_tokens_need_a_merchant_and_others_must_not_have_one() {
        assert!(TokenSpec::parse(Role::Merchant, None, None, None).is_err());
        assert!(TokenSpec::parse(Role::Merchant, Some("mer_1".into()), None, None).is_ok());
        let errors = TokenSpec::parse(
            Role::Staff,
            Some("mer_1".into()),
            Some("car_1".into()),
            None,
        )
        .unwrap_err();
        let fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["merchant_id", "carrier_id"]);
        assert!(TokenSpec::parse(Role::Carrier, None, Some("car_1".into()), None).is_ok());
    }

    #[test]
    fn a_merchant_sees_only_its_own_objects() {
        let merchant = Principal {
            token_id: "tok_1".into(),
            role: Role::Merchant,
            merchant_id: Some("mer_a".into()),
            carrier_id: None,
        };
        assert!(merchant.sees_merchant("mer_a"));
        assert!(!merchant.sees_merchant("mer_b"));
        let carrier = Principal {
            role: Role::Carrier,
            merchant_id: None,
            carrier_id: Some("car_a".into()),
            ..merchant.clone()
        };
        assert!(!carrier.sees_merchant("mer_a"));
        assert!(carrier.sees_carrier("car_a"));
        assert!(!carrier.sees_carrier("car_b"));
    }
}
