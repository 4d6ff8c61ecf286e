//! Inspection rules: defect classes, the lot state machine, and the verdict
//! computed from each class's acceptance and rejection numbers.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

/// ISO 2859-1 clause 3.1.7 classifies nonconformities by seriousness; depot
/// uses the three customary classes, each with its own AQL and plan.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum DefectClass {
    Critical,
    Major,
    Minor,
}

impl DefectClass {
    pub const ALL: [DefectClass; 3] = [
        DefectClass::Critical,
        DefectClass::Major,
        DefectClass::Minor,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            DefectClass::Critical => "critical",
            DefectClass::Major => "major",
            DefectClass::Minor => "minor",
        }
    }

    pub fn parse(raw: &str) -> Option<DefectClass> {
        DefectClass::ALL.into_iter().find(|c| c.as_str() == raw)
    }
}

/// Where a lot is in receiving and inspection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum LotStatus {
    /// Counted in at arrival, waiting in a receiving location.
    Received,
    /// An inspection has started.
    Inspecting,
    /// Passed inspection (or the good part of a screening): may be put away.
    Accepted,
    /// Failed inspection; held in a quarantine location until a disposition.
    Quarantined,
    /// Sent back to the merchant.
    Returned,
    /// Destroyed.
    Scrapped,
}

impl LotStatus {
    pub const ALL: [LotStatus; 6] = [
        LotStatus::Received,
        LotStatus::Inspecting,
        LotStatus::Accepted,
        LotStatus::Quarantined,
        LotStatus::Returned,
        LotStatus::Scrapped,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            LotStatus::Received => "received",
            LotStatus::Inspecting => "inspecting",
            LotStatus::Accepted => "accepted",
            LotStatus::Quarantined => "quarantined",
            LotStatus::Returned => "returned",
            LotStatus::Scrapped => "scrapped",
        }
    }

    pub fn parse(raw: &str) -> Option<LotStatus> {
        LotStatus::ALL.into_iter().find(|s| s.as_str() == raw)
    }
}

impl fmt::Display for LotStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What can happen to a lot in receiving and inspection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LotEvent {
    StartInspection,
    /// A new inspection that supersedes a finished one (a correction).
    StartCorrection,
    Verdict(Verdict),
    /// Disposition `return`: the whole lot goes back to the merchant.
    Return,
    /// Disposition `scrap`: the whole lot is destroyed.
    Scrap,
    /// Disposition `screen`: 100% sorting; the good units are accepted.
    Screen {
        good_qty_positive: bool,
    },
}

/// The state machine: `received → inspecting → accepted | quarantined`, and
/// a quarantined lot's disposition. An illegal transition names the current
/// state, for the 409 the caller gets.
pub fn transition(from: LotStatus, event: LotEvent) -> Result<LotStatus, String> {
    use LotStatus::*;
    let to = match (from, event) {
        (Received, LotEvent::StartInspection) => Inspecting,
        (Accepted | Quarantined, LotEvent::StartCorrection) => Inspecting,
        (Inspecting, LotEvent::Verdict(Verdict::Accepted)) => Accepted,
        (Inspecting, LotEvent::Verdict(Verdict::Rejected)) => Quarantined,
        (Quarantined, LotEvent::Return) => Returned,
        (Quarantined, LotEvent::Scrap) => Scrapped,
        (
            Quarantined,
            LotEvent::Screen {
                good_qty_positive: true,
            },
        ) => Accepted,
        (
            Quarantined,
            LotEvent::Screen {
                good_qty_positive: false,
            },
        ) => Scrapped,
        (from, event) => {
            return Err(format!(
                "the lot is {from}, so it cannot take {}",
                describe(event)
            ));
        }
    };
    Ok(to)
}

fn describe(event: LotEvent) -> &'static str {
    match event {
        LotEvent::StartInspection => "a new inspection (only a received lot can)",
        LotEvent::StartCorrection => {
            "a correcting inspection (only an accepted or quarantined lot can)"
        }
        LotEvent::Verdict(_) => "a verdict (only a lot being inspected can)",
        LotEvent::Return | LotEvent::Scrap | LotEvent::Screen { .. } => {
            "a disposition (only a quarantined lot can)"
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Accepted,
    Rejected,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Accepted => "accepted",
            Verdict::Rejected => "rejected",
        }
    }

    pub fn parse(raw: &str) -> Option<Verdict> {
        [Verdict::Accepted, Verdict::Rejected]
            .into_iter()
            .find(|v| v.as_str() == raw)
    }
}

/// The plan one defect class is judged by.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ClassPlan {
    /// The AQL as written in the template (`0` means any defect rejects).
    pub aql: String,
    /// ISO 2859-1 Table 1's sample size code letter for the lot size and level.
    pub code_letter: String,
    /// The letter of the plan used, after following an arrow of Table 2-A/2-B.
    pub plan_letter: String,
    pub sample_size: u32,
    /// Ac: the lot is accepted for this class with at most this many defects.
    pub accept: u32,
    /// Re: the lot is rejected for this class with this many defects or more.
    pub reject: u32,
}

/// The verdict of one class and of the lot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ClassResult {
    pub class: DefectClass,
    pub defects: u64,
    pub accept: u32,
    pub reject: u32,
    pub verdict: Verdict,
}

/// ISO 2859-1 clause 11.1.1 (single sampling): a class accepts when its
/// defects are at most Ac and rejects when they reach Re; the lot is rejected
/// when any class rejects. A class with no findings counts zero defects.
pub fn verdict(
    plans: &BTreeMap<DefectClass, ClassPlan>,
    defects: &BTreeMap<DefectClass, u64>,
) -> (Verdict, Vec<ClassResult>) {
    let results: Vec<ClassResult> = plans
        .iter()
        .map(|(class, plan)| {
            let found = defects.get(class).copied().unwrap_or(0);
            let verdict = if found <= u64::from(plan.accept) {
                Verdict::Accepted
            } else {
                // Single sampling plans have Re = Ac + 1, so anything above Ac reaches Re.
                Verdict::Rejected
            };
            ClassResult {
                class: *class,
                defects: found,
                accept: plan.accept,
                reject: plan.reject,
                verdict,
            }
        })
        .collect();
    let lot = if results.iter().any(|r| r.verdict == Verdict::Rejected) {
        Verdict::Rejected
    } else {
        Verdict::Accepted
    };
    (lot, results)
}

/// Units that must be inspected: the largest sample of any class's plan,
/// since one sample serves every class.
pub fn required_units(plans: &BTreeMap<DefectClass, ClassPlan>) -> u32 {
    plans.values().map(|p| p.sample_size).max().unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(accept: u32, sample_size: u32) -> ClassPlan {
        ClassPlan {
            aql: "x".into(),
            code_letter: "J".into(),
            plan_letter: "J".into(),
            sample_size,
            accept,
            reject: accept + 1,
        }
    }

    fn plans() -> BTreeMap<DefectClass, ClassPlan> {
        BTreeMap::from([
            (DefectClass::Critical, plan(0, 80)),
            (DefectClass::Major, plan(5, 80)),
            (DefectClass::Minor, plan(7, 80)),
        ])
    }

    #[test]
    fn defects_up_to_ac_accept_and_at_re_reject() {
        let at_ac = BTreeMap::from([(DefectClass::Major, 5), (DefectClass::Minor, 7)]);
        assert_eq!(verdict(&plans(), &at_ac).0, Verdict::Accepted);
        let at_re = BTreeMap::from([(DefectClass::Major, 6)]);
        let (lot, classes) = verdict(&plans(), &at_re);
        assert_eq!(lot, Verdict::Rejected);
        assert_eq!(classes[1].class, DefectClass::Major);
        assert_eq!(classes[1].verdict, Verdict::Rejected);
    }

    #[test]
    fn any_critical_defect_rejects_the_lot() {
        let one_critical = BTreeMap::from([(DefectClass::Critical, 1)]);
        assert_eq!(verdict(&plans(), &one_critical).0, Verdict::Rejected);
    }

    #[test]
    fn the_largest_sample_is_required() {
        let mut p = plans();
        p.insert(DefectClass::Minor, plan(3, 125));
        assert_eq!(required_units(&p), 125);
    }

    #[test]
    fn a_lot_moves_through_inspection() {
        let inspecting = transition(LotStatus::Received, LotEvent::StartInspection).unwrap();
        assert_eq!(inspecting, LotStatus::Inspecting);
        assert_eq!(
            transition(inspecting, LotEvent::Verdict(Verdict::Rejected)),
            Ok(LotStatus::Quarantined)
        );
        assert_eq!(
            transition(
                LotStatus::Quarantined,
                LotEvent::Screen {
                    good_qty_positive: true
                }
            ),
            Ok(LotStatus::Accepted)
        );
        assert_eq!(
            transition(LotStatus::Quarantined, LotEvent::Return),
            Ok(LotStatus::Returned)
        );
    }

    #[test]
    fn illegal_transitions_name_the_current_state() {
        let err = transition(LotStatus::Accepted, LotEvent::Scrap).unwrap_err();
        assert!(err.contains("accepted"), "{err}");
        assert!(transition(LotStatus::Received, LotEvent::Verdict(Verdict::Accepted)).is_err());
        assert!(transition(LotStatus::Inspecting, LotEvent::StartInspection).is_err());
        assert!(transition(LotStatus::Scrapped, LotEvent::StartCorrection).is_err());
    }
}
