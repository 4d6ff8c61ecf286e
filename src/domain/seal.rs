//! Tamper evidence for the trace log: the canonical content of an event and
//! its hash, RFC 6962 Merkle trees over those hashes, sealed blocks chained
//! by hash, and signed checkpoints of the chain. Pure: no diesel, no I/O.
//!
//! - An event's hash is its RFC 6962 leaf hash, SHA-256(0x00 ‖ content),
//!   where content is [`EventContent::encode`]: a version tag, then every
//!   column of the row in a fixed order, each length-prefixed (its sequence
//!   number included, so moving a row to another place breaks its hash).
//! - A block's Merkle root is the RFC 6962 Merkle Tree Hash of its events'
//!   hashes in sequence order; its own hash covers its header (number,
//!   sequence range, count, gaps, root) and the previous block's hash.
//! - A checkpoint's root is the Merkle Tree Hash over the blocks' hashes,
//!   signed with Ed25519 (RFC 8032).

use chrono::NaiveDateTime;
use ed25519_dalek::{Signer, SigningKey, Verifier, VerifyingKey};
use sha2::{Digest, Sha256};

/// A SHA-256 value.
pub type Hash = [u8; 32];

/// The previous-block hash of block 1.
pub const GENESIS: Hash = [0; 32];

/// Lowercase hex of a hash (or any bytes).
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Parses exactly `N` bytes of hex (either case).
pub fn parse_hex<const N: usize>(raw: &str) -> Option<[u8; N]> {
    let raw = raw.trim().as_bytes();
    if raw.len() != 2 * N {
        return None;
    }
    let mut out = [0u8; N];
    for (i, pair) in raw.chunks(2).enumerate() {
        let s = std::str::from_utf8(pair).ok()?;
        out[i] = u8::from_str_radix(s, 16).ok()?;
    }
    Some(out)
}

/// RFC 6962 §2.1: the hash of a leaf, SHA-256(0x00 ‖ data).
pub fn leaf_hash(data: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update([0x00]);
    h.update(data);
    h.finalize().into()
}

/// RFC 6962 §2.1: the hash of an interior node, SHA-256(0x01 ‖ left ‖ right).
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update([0x01]);
    h.update(left);
    h.update(right);
    h.finalize().into()
}

/// RFC 6962 §2.1 Merkle Tree Hash over leaves already hashed with
/// [`leaf_hash`]: MTH({}) = SHA-256(""), MTH({d}) = the leaf's hash, and
/// for n > 1, SHA-256(0x01 ‖ MTH(D[0:k]) ‖ MTH(D[k:n])) where k is the
/// largest power of two less than n.
pub fn merkle_root(leaves: &[Hash]) -> Hash {
    match leaves.len() {
        0 => Sha256::digest([]).into(),
        1 => leaves[0],
        n => {
            let k = largest_power_of_two_below(n);
            node_hash(&merkle_root(&leaves[..k]), &merkle_root(&leaves[k..]))
        }
    }
}

fn largest_power_of_two_below(n: usize) -> usize {
    debug_assert!(n > 1);
    let mut k = 1;
    while k * 2 < n {
        k *= 2;
    }
    k
}

/// The fixed text form of a stored time in hashed content: microseconds,
/// no zone (depot keeps UTC), e.g. `2026-12-03T15:10:00.123456`.
fn time_text(t: &NaiveDateTime) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.6f").to_string()
}

/// A length-prefixed encoder: a field is absent (0x00), or present (0x01)
/// followed by its length as a big-endian u32 and its bytes.
struct Encoder(Vec<u8>);

impl Encoder {
    fn bytes(&mut self, v: &[u8]) {
        self.0.push(0x01);
        self.0.extend_from_slice(&(v.len() as u32).to_be_bytes());
        self.0.extend_from_slice(v);
    }
    fn text(&mut self, v: &str) {
        self.bytes(v.as_bytes());
    }
    fn opt_text(&mut self, v: Option<&str>) {
        match v {
            Some(v) => self.text(v),
            None => self.0.push(0x00),
        }
    }
    fn int(&mut self, v: i64) {
        self.bytes(&v.to_be_bytes());
    }
    fn opt_int(&mut self, v: Option<i64>) {
        match v {
            Some(v) => self.int(v),
            None => self.0.push(0x00),
        }
    }
    fn time(&mut self, v: &NaiveDateTime) {
        self.text(&time_text(v));
    }
}

/// Tags that keep an event's content and a block's header from ever being
/// read as each other (or as a later version of themselves).
const EVENT_TAG: &[u8] = b"depot.trace_event.v1";
const BLOCK_TAG: &[u8] = b"depot.trace_block.v1";

/// Every column of a `trace_events` row, as written and as read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventContent<'a> {
    pub seq: i64,
    pub id: &'a str,
    pub event_type: &'a str,
    pub action: &'a str,
    pub event_time: NaiveDateTime,
    pub event_tz_offset: &'a str,
    pub biz_step: &'a str,
    pub disposition: &'a str,
    pub lot_id: Option<&'a str>,
    pub what_class: &'a str,
    pub quantity: Option<i64>,
    pub location_id: Option<&'a str>,
    pub biz_tx_type: Option<&'a str>,
    pub biz_tx_id: Option<&'a str>,
    pub actor: Option<&'a str>,
    pub recorded_at: NaiveDateTime,
    pub details: Option<&'a str>,
    pub parent_id: Option<&'a str>,
}

impl EventContent<'_> {
    /// The canonical bytes: the tag, then each column in the order of the
    /// struct, length-prefixed; an absent (NULL) column differs from an
    /// empty one.
    pub fn encode(&self) -> Vec<u8> {
        let mut e = Encoder(Vec::with_capacity(512));
        e.bytes(EVENT_TAG);
        e.int(self.seq);
        e.text(self.id);
        e.text(self.event_type);
        e.text(self.action);
        e.time(&self.event_time);
        e.text(self.event_tz_offset);
        e.text(self.biz_step);
        e.text(self.disposition);
        e.opt_text(self.lot_id);
        e.text(self.what_class);
        e.opt_int(self.quantity);
        e.opt_text(self.location_id);
        e.opt_text(self.biz_tx_type);
        e.opt_text(self.biz_tx_id);
        e.opt_text(self.actor);
        e.time(&self.recorded_at);
        e.opt_text(self.details);
        e.opt_text(self.parent_id);
        e.0
    }

    /// The event's hash: its RFC 6962 leaf hash.
    pub fn hash(&self) -> Hash {
        leaf_hash(&self.encode())
    }
}

/// Sequence numbers inside a block's range that held no event when it was
/// sealed (PostgreSQL sequence values of transactions that rolled back), as
/// inclusive ranges in ascending order. Text form: `3-3,17-20`, empty for none.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Gaps(pub Vec<(i64, i64)>);

impl Gaps {
    /// The gaps of a block covering `first..=last` that holds `seqs` (ascending).
    pub fn between(first: i64, last: i64, seqs: &[i64]) -> Gaps {
        let mut gaps = Vec::new();
        let mut next = first;
        for &s in seqs {
            if s > next {
                gaps.push((next, s - 1));
            }
            next = s + 1;
        }
        if next <= last {
            gaps.push((next, last));
        }
        Gaps(gaps)
    }

    pub fn contains(&self, seq: i64) -> bool {
        self.0.iter().any(|&(a, b)| a <= seq && seq <= b)
    }

    /// The first number of `from..=to` that is not in a gap: an event the
    /// block was sealed with, if none is found there.
    pub fn first_held_in(&self, from: i64, to: i64) -> Option<i64> {
        let mut s = from;
        for &(a, b) in &self.0 {
            if s > to || s < a {
                break;
            }
            if s <= b {
                s = b + 1;
            }
        }
        (s <= to).then_some(s)
    }

    /// How many sequence numbers the gaps hold.
    pub fn len(&self) -> i64 {
        self.0.iter().map(|&(a, b)| b - a + 1).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn parse(raw: &str) -> Option<Gaps> {
        if raw.is_empty() {
            return Some(Gaps::default());
        }
        raw.split(',')
            .map(|r| {
                let (a, b) = r.split_once('-')?;
                let (a, b) = (a.parse().ok()?, b.parse().ok()?);
                (a <= b).then_some((a, b))
            })
            .collect::<Option<Vec<_>>>()
            .map(Gaps)
    }
}

impl std::fmt::Display for Gaps {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, (a, b)) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{a}-{b}")?;
        }
        Ok(())
    }
}

/// A sealed block's header: what its hash covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockHeader {
    pub number: i64,
    pub first_seq: i64,
    pub last_seq: i64,
    pub event_count: i64,
    pub gaps: Gaps,
    pub merkle_root: Hash,
    pub prev_hash: Hash,
    pub sealed_at: NaiveDateTime,
}

impl BlockHeader {
    /// SHA-256 of the tag and every field, length-prefixed: a block's hash,
    /// which the next block repeats as its `prev_hash`.
    pub fn hash(&self) -> Hash {
        let mut e = Encoder(Vec::with_capacity(256));
        e.bytes(BLOCK_TAG);
        e.int(self.number);
        e.int(self.first_seq);
        e.int(self.last_seq);
        e.int(self.event_count);
        e.text(&self.gaps.to_string());
        e.bytes(&self.merkle_root);
        e.bytes(&self.prev_hash);
        e.time(&self.sealed_at);
        Sha256::digest(&e.0).into()
    }
}

/// The Merkle Tree Hash over blocks' hashes (each a leaf's data), in block
/// order: what a checkpoint signs.
pub fn chain_root(block_hashes: &[Hash]) -> Hash {
    let leaves: Vec<Hash> = block_hashes.iter().map(|h| leaf_hash(h)).collect();
    merkle_root(&leaves)
}

/// The version line of a checkpoint, first in its signed message.
pub const CHECKPOINT_FORMAT: &str = "depot-trace-checkpoint/1";

/// What a checkpoint states: the chain had `blocks` blocks, the last ending
/// at `last_seq`, and their hashes had this [`chain_root`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    pub blocks: i64,
    pub last_seq: i64,
    pub root: Hash,
    /// RFC 3339, as it was signed.
    pub issued_at: String,
}

impl Checkpoint {
    /// The signed bytes: one `name value` line each, in this order.
    pub fn message(&self) -> Vec<u8> {
        format!(
            "{CHECKPOINT_FORMAT}\nblocks {}\nlast_seq {}\nroot {}\nissued_at {}\n",
            self.blocks,
            self.last_seq,
            hex(&self.root),
            self.issued_at
        )
        .into_bytes()
    }
}

/// An Ed25519 signing key from its 32-byte seed given as 64 hex digits
/// (`DEPOT_TRACE_SIGNING_KEY`; e.g. `openssl rand -hex 32`).
pub fn signing_key(seed_hex: &str) -> Option<SigningKey> {
    parse_hex::<32>(seed_hex).map(|seed| SigningKey::from_bytes(&seed))
}

/// The public key (hex) and the signature (hex) of a checkpoint.
pub fn sign(key: &SigningKey, checkpoint: &Checkpoint) -> (String, String) {
    let signature = key.sign(&checkpoint.message());
    (
        hex(key.verifying_key().as_bytes()),
        hex(&signature.to_bytes()),
    )
}

/// Whether `signature_hex` is `public_key_hex`'s signature of `checkpoint`.
pub fn signature_holds(checkpoint: &Checkpoint, public_key_hex: &str, signature_hex: &str) -> bool {
    let (Some(key), Some(sig)) = (
        parse_hex::<32>(public_key_hex),
        parse_hex::<64>(signature_hex),
    ) else {
        return false;
    };
    let Ok(key) = VerifyingKey::from_bytes(&key) else {
        return false;
    };
    key.verify(
        &checkpoint.message(),
        &ed25519_dalek::Signature::from_bytes(&sig),
    )
    .is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The leaf inputs of Certificate Transparency's Merkle tree test data
    /// (certificate-transparency-go, merkle/testonly: `LeafInputs`), and the
    /// roots of their first n (RFC 6962 §2.1), `RootHashes` there.
    const LEAVES: [&str; 8] = [
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    ];
    const ROOTS: [&str; 8] = [
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
        "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
        "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
    ];

    fn unhex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    #[test]
    fn merkle_roots_match_the_certificate_transparency_test_vectors() {
        let leaves: Vec<Hash> = LEAVES.iter().map(|l| leaf_hash(&unhex(l))).collect();
        for n in 1..=8 {
            assert_eq!(hex(&merkle_root(&leaves[..n])), ROOTS[n - 1], "n = {n}");
        }
    }

    #[test]
    fn the_empty_tree_is_the_hash_of_nothing() {
        assert_eq!(
            hex(&merkle_root(&[])),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn small_trees_split_at_the_largest_power_of_two_below_n() {
        // By hand, RFC 6962 §2.1: n = 3 is node(node(a, b), c), not node(a, node(b, c)).
        let [a, b, c] = [b"a", b"b", b"c"].map(|d| leaf_hash(d));
        assert_eq!(merkle_root(&[a]), a);
        assert_eq!(merkle_root(&[a, b]), node_hash(&a, &b));
        assert_eq!(merkle_root(&[a, b, c]), node_hash(&node_hash(&a, &b), &c));
        assert_ne!(merkle_root(&[a, b, c]), node_hash(&a, &node_hash(&b, &c)));
        assert_eq!(largest_power_of_two_below(5), 4);
        assert_eq!(largest_power_of_two_below(8), 4);
        assert_eq!(largest_power_of_two_below(9), 8);
    }

    fn t(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S%.f").unwrap()
    }

    fn event() -> EventContent<'static> {
        EventContent {
            seq: 7,
            id: "evt_1",
            event_type: "ObjectEvent",
            action: "OBSERVE",
            event_time: t("2026-12-03 15:10:00.123456"),
            event_tz_offset: "+00:00",
            biz_step: "inspecting",
            disposition: "conformant",
            lot_id: Some("lot_1"),
            what_class: "urn:depot:lot:lot_1",
            quantity: Some(100),
            location_id: None,
            biz_tx_type: None,
            biz_tx_id: None,
            actor: Some("tok_1"),
            recorded_at: t("2026-12-03 15:10:00.123456"),
            details: Some(r#"{"template":"tpl_default"}"#),
            parent_id: None,
        }
    }

    #[test]
    fn every_column_and_the_place_of_an_event_change_its_hash() {
        let base = event().hash();
        let edits: Vec<EventContent> = vec![
            EventContent { seq: 8, ..event() },
            EventContent {
                id: "evt_2",
                ..event()
            },
            EventContent {
                action: "ADD",
                ..event()
            },
            EventContent {
                event_time: t("2026-12-03 15:10:00.123457"),
                ..event()
            },
            EventContent {
                disposition: "",
                ..event()
            },
            EventContent {
                lot_id: None,
                ..event()
            },
            EventContent {
                quantity: Some(101),
                ..event()
            },
            EventContent {
                quantity: None,
                ..event()
            },
            EventContent {
                location_id: Some(""),
                ..event()
            },
            EventContent {
                actor: None,
                ..event()
            },
            EventContent {
                details: None,
                ..event()
            },
            EventContent {
                parent_id: Some("urn:epc:id:sscc:1"),
                ..event()
            },
        ];
        for e in edits {
            assert_ne!(e.hash(), base, "{e:?}");
        }
        assert_eq!(event().hash(), base);
    }

    #[test]
    fn length_prefixes_keep_fields_from_running_into_each_other() {
        let a = EventContent {
            biz_step: "ab",
            disposition: "c",
            ..event()
        };
        let b = EventContent {
            biz_step: "a",
            disposition: "bc",
            ..event()
        };
        assert_ne!(a.hash(), b.hash());
    }

    #[test]
    fn gaps_are_the_missing_sequence_numbers_of_a_range() {
        let g = Gaps::between(1, 10, &[1, 2, 5, 9]);
        assert_eq!(g.to_string(), "3-4,6-8,10-10");
        assert_eq!(g.len(), 6);
        assert!(g.contains(7) && !g.contains(5));
        assert_eq!(g.first_held_in(3, 4), None);
        assert_eq!(g.first_held_in(3, 5), Some(5));
        assert_eq!(g.first_held_in(6, 10), Some(9));
        assert_eq!(g.first_held_in(10, 10), None);
        assert_eq!(g.first_held_in(2, 1), None);
        assert_eq!(Gaps::default().first_held_in(4, 9), Some(4));
        assert_eq!(Gaps::parse(&g.to_string()), Some(g));
        assert_eq!(Gaps::between(1, 3, &[1, 2, 3]), Gaps::default());
        assert_eq!(Gaps::parse(""), Some(Gaps::default()));
        assert_eq!(Gaps::parse("5-3"), None);
    }

    #[test]
    fn a_block_hash_covers_its_header_and_the_previous_block() {
        let header = BlockHeader {
            number: 1,
            first_seq: 1,
            last_seq: 3,
            event_count: 3,
            gaps: Gaps::default(),
            merkle_root: leaf_hash(b"x"),
            prev_hash: GENESIS,
            sealed_at: t("2026-12-03 15:10:00"),
        };
        let h = header.hash();
        assert_ne!(
            BlockHeader {
                prev_hash: [1; 32],
                ..header.clone()
            }
            .hash(),
            h
        );
        assert_ne!(
            BlockHeader {
                event_count: 2,
                ..header.clone()
            }
            .hash(),
            h
        );
        assert_ne!(
            BlockHeader {
                gaps: Gaps(vec![(2, 2)]),
                ..header.clone()
            }
            .hash(),
            h
        );
    }

    #[test]
    fn a_checkpoint_signature_holds_only_for_its_own_content_and_key() {
        // RFC 8032 §7.1 TEST 1's secret key as the seed.
        let key = signing_key("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
            .unwrap();
        assert_eq!(
            hex(key.verifying_key().as_bytes()),
            "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"
        );
        let cp = Checkpoint {
            blocks: 3,
            last_seq: 42,
            root: chain_root(&[[1; 32], [2; 32], [3; 32]]),
            issued_at: "2026-12-03T15:10:00Z".into(),
        };
        let (public, signature) = sign(&key, &cp);
        assert!(signature_holds(&cp, &public, &signature));
        let fewer = Checkpoint {
            blocks: 2,
            ..cp.clone()
        };
        assert!(!signature_holds(&fewer, &public, &signature));
        let other = signing_key(&"11".repeat(32)).unwrap();
        assert!(!signature_holds(
            &cp,
            &hex(other.verifying_key().as_bytes()),
            &signature
        ));
        assert!(signing_key("abc").is_none());
    }

    #[test]
    fn rfc8032_test_1_signature_of_the_empty_message() {
        let key = signing_key("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
            .unwrap();
        assert_eq!(
            hex(&key.sign(b"").to_bytes()),
            "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"
        );
    }
}
