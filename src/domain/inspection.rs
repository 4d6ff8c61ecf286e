//! Inspection rules: defect classes, the lot state machine, and the verdict
//! computed from each class's acceptance and rejection numbers.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use super::sampling::{self, Aql, InspectionLevel, SamplingError, Severity};

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
    /// An inspection of units a later delivery added to an accepted lot
    /// begins; the lot's inspected units stay accepted meanwhile.
    StartAddedUnitsInspection,
    /// The verdict on those added units: accepted, the lot stays accepted;
    /// rejected, the whole lot (one production batch) goes to quarantine.
    AddedUnitsVerdict(Verdict),
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
        (Accepted, LotEvent::StartAddedUnitsInspection) => Accepted,
        (Accepted, LotEvent::AddedUnitsVerdict(Verdict::Accepted)) => Accepted,
        (Accepted, LotEvent::AddedUnitsVerdict(Verdict::Rejected)) => Quarantined,
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
        LotEvent::StartAddedUnitsInspection | LotEvent::AddedUnitsVerdict(_) => {
            "an inspection of added units (only an accepted lot can)"
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
    /// The letter of the plan used, after following an arrow of Table 2-A/2-B/2-C.
    pub plan_letter: String,
    pub sample_size: u32,
    /// Ac: the lot is accepted for this class with at most this many defects.
    pub accept: u32,
    /// Re: the lot is rejected for this class with this many defects or more.
    pub reject: u32,
    /// The whole lot is inspected: the plan's sample is as large as the lot.
    #[serde(default)]
    pub hundred_percent: bool,
}

/// The AQL a template writes for "any defect of this class rejects the lot".
pub const ZERO_ACCEPTANCE: &str = "0";

/// Parses a template's AQL: [`ZERO_ACCEPTANCE`] or one of ISO 2859-1's
/// preferred AQLs; answers the normalised text.
pub fn parse_template_aql(raw: &str) -> Result<String, String> {
    let raw = raw.trim();
    if raw == ZERO_ACCEPTANCE {
        return Ok(ZERO_ACCEPTANCE.to_string());
    }
    Aql::parse(raw)
        .map(|aql| aql.as_str().to_string())
        .map_err(|e| format!("{e}, or 0 for zero acceptance"))
}

/// The plan one class is judged by, for a lot of `lot_size` units.
///
/// A preferred AQL takes ISO 2859-1 clause 10's single sampling plan (Table 1,
/// then Table 2-A or 2-B, arrows followed). AQL `0` is not an AQL of the
/// standard but the customary zero-acceptance rule for critical defects
/// (clause 3.1.8 leaves critical classes to the responsible authority): the
/// code letter's sample size in the severity's table (Table 2-C's smaller
/// sample on reduced inspection) with Ac 0, Re 1; the whole lot when that
/// sample is as large as the lot.
pub fn class_plan(
    lot_size: u32,
    level: InspectionLevel,
    aql: &str,
    severity: Severity,
) -> Result<ClassPlan, String> {
    if lot_size == 0 {
        return Err(SamplingError::ZeroLotSize.to_string());
    }
    if aql == ZERO_ACCEPTANCE {
        let letter = sampling::code_letter(lot_size, level);
        let sample = letter
            .sample_size_in(severity)
            .unwrap_or_else(|| letter.sample_size());
        let hundred_percent = sample >= lot_size;
        return Ok(ClassPlan {
            aql: ZERO_ACCEPTANCE.to_string(),
            code_letter: letter.as_str().to_string(),
            plan_letter: letter.as_str().to_string(),
            sample_size: sample.min(lot_size),
            accept: 0,
            reject: 1,
            hundred_percent,
        });
    }
    let parsed = Aql::parse(aql).map_err(|e| e.to_string())?;
    let plan = sampling::plan(lot_size, level, parsed, severity).map_err(|e| e.to_string())?;
    Ok(ClassPlan {
        aql: parsed.as_str().to_string(),
        code_letter: plan.code_letter.as_str().to_string(),
        plan_letter: plan.plan_letter.as_str().to_string(),
        sample_size: plan.sample_size,
        accept: plan.accept,
        reject: plan.reject,
        hundred_percent: plan.hundred_percent,
    })
}

/// The plans of the classes a template checks for (a class without checks
/// can find no defects, so it gets no plan).
pub fn class_plans(
    lot_size: u32,
    level: InspectionLevel,
    severity: Severity,
    aqls: &[(DefectClass, &str)],
) -> Result<BTreeMap<DefectClass, ClassPlan>, String> {
    aqls.iter()
        .map(|(class, aql)| {
            class_plan(lot_size, level, aql, severity)
                .map(|plan| (*class, plan))
                .map_err(|e| format!("{}: {e}", class.as_str()))
        })
        .collect()
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
/// Each class's defects are those found in that class's own sample (the
/// inspector records them so; see the API's `findings[].defects`), which is
/// why they are compared with that class's plan alone.
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

/// Checks the units an inspector says were inspected: no more than the lot
/// holds, and no fewer than the plan's sample (ISO 2859-1 clause 11.1.1 judges
/// a lot on the whole sample). Each failure says which bound it broke.
pub fn check_inspected_qty(inspected: i64, required: i64, lot_size: i64) -> Result<(), String> {
    if inspected > lot_size {
        return Err(format!(
            "must be at most {lot_size}: the lot has only {lot_size} unit(s)"
        ));
    }
    if inspected < required {
        return Err(format!(
            "the plan requires at least {required} unit(s) inspected"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inspected_qty_over_the_lot_size_says_the_lot_size() {
        let error = check_inspected_qty(60, 50, 40).unwrap_err();
        assert_eq!(error, "must be at most 40: the lot has only 40 unit(s)");
        assert!(!error.contains("requires"), "{error}");
    }

    #[test]
    fn inspected_qty_under_the_sample_says_the_sample() {
        assert_eq!(
            check_inspected_qty(49, 50, 500).unwrap_err(),
            "the plan requires at least 50 unit(s) inspected"
        );
        assert!(check_inspected_qty(-1, 50, 500).is_err());
    }

    #[test]
    fn inspected_qty_from_the_sample_to_the_lot_size_is_accepted() {
        assert_eq!(check_inspected_qty(50, 50, 500), Ok(()));
        assert_eq!(check_inspected_qty(500, 50, 500), Ok(()));
    }

    fn plan(accept: u32, sample_size: u32) -> ClassPlan {
        ClassPlan {
            aql: "x".into(),
            code_letter: "J".into(),
            plan_letter: "J".into(),
            sample_size,
            accept,
            reject: accept + 1,
            hundred_percent: false,
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
    fn zero_acceptance_uses_the_code_letters_sample() {
        // 1,000 units at level II: code letter J, n = 80 (Table 1, Table 2-A).
        let p = class_plan(1000, InspectionLevel::II, "0", Severity::Normal).unwrap();
        assert_eq!((p.code_letter.as_str(), p.sample_size), ("J", 80));
        assert_eq!((p.accept, p.reject, p.hundred_percent), (0, 1, false));
        // 10 units: letter B, n = 3.
        let small = class_plan(10, InspectionLevel::II, "0", Severity::Tightened).unwrap();
        assert_eq!((small.code_letter.as_str(), small.sample_size), ("B", 3));
        // 2 units at level III: letter B (n = 3) exceeds the lot: inspect all.
        let all = class_plan(2, InspectionLevel::III, "0", Severity::Normal).unwrap();
        assert_eq!((all.sample_size, all.hundred_percent), (2, true));
        // Reduced: J's Table 2-C sample, 32.
        let reduced = class_plan(1000, InspectionLevel::II, "0", Severity::Reduced).unwrap();
        assert_eq!((reduced.sample_size, reduced.accept), (32, 0));
    }

    #[test]
    fn a_preferred_aql_takes_the_standards_plan() {
        // 1,000 units, level II, AQL 2.5: J, n = 80, Ac 5 Re 6 normal; Ac 3 Re 4 tightened.
        let normal = class_plan(1000, InspectionLevel::II, "2.5", Severity::Normal).unwrap();
        assert_eq!(
            (normal.sample_size, normal.accept, normal.reject),
            (80, 5, 6)
        );
        let tight = class_plan(1000, InspectionLevel::II, "2.5", Severity::Tightened).unwrap();
        assert_eq!((tight.sample_size, tight.accept, tight.reject), (80, 3, 4));
        assert!(class_plan(1000, InspectionLevel::II, "3.0", Severity::Normal).is_err());
        assert!(class_plan(0, InspectionLevel::II, "0", Severity::Normal).is_err());
    }

    #[test]
    fn template_aqls_are_zero_or_preferred() {
        assert_eq!(parse_template_aql(" 0 ").unwrap(), "0");
        assert_eq!(parse_template_aql("2.5").unwrap(), "2.5");
        assert!(parse_template_aql("0.0").is_err());
        assert!(parse_template_aql("3").is_err());
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

    #[test]
    fn added_units_of_an_accepted_lot_are_inspected_without_unaccepting_the_rest() {
        use LotStatus::*;
        assert_eq!(
            transition(Accepted, LotEvent::StartAddedUnitsInspection),
            Ok(Accepted)
        );
        assert_eq!(
            transition(Accepted, LotEvent::AddedUnitsVerdict(Verdict::Accepted)),
            Ok(Accepted)
        );
        assert_eq!(
            transition(Accepted, LotEvent::AddedUnitsVerdict(Verdict::Rejected)),
            Ok(Quarantined)
        );
        for from in [Received, Inspecting, Quarantined, Returned, Scrapped] {
            assert!(transition(from, LotEvent::StartAddedUnitsInspection).is_err());
        }
    }
}
