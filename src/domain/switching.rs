//! ISO 2859-1:1999 clause 9: the switching rules between normal, tightened
//! and reduced inspection, and the discontinuation of inspection, for one
//! merchant × SKU.
//!
//! The state is a pure function of the ordered history: fold [`next`] over
//! the events from the start ([`current_state`]). The history holds one
//! outcome per lot **on original inspection** (clause 9.3): a lot resubmitted
//! after screening is not a new outcome, and a corrected inspection replaces
//! the verdict it corrects rather than adding one.
//!
//! Reduced inspection (clauses 9.3.3 and 9.3.4, Table 2-C): on normal
//! inspection every lot updates the switching score ([`score_step`]); normal
//! switches to reduced when the score is at least 30 **and** staff have
//! approved reduced inspection for the SKU — the approval stands for the
//! clause's other two conditions, production at a steady rate and the
//! responsible authority finding reduced inspection desirable. Reduced goes
//! back to normal on a lot not accepted, or when staff withdraw the approval
//! (clause 9.3.4 b) and c): production irregular or delayed, or other
//! conditions that warrant normal inspection).
//!
//! Clause 9.2 applies the rules to each class of nonconformity separately;
//! depot keeps one state per merchant × SKU, judged by the lot's verdict (a
//! lot is not accepted when any class rejects it). For the score, a lot's step
//! is the smallest of its classes' steps, and a reset in any class resets it,
//! so the SKU's score is never above the score any of its classes would have
//! on its own.

use std::collections::BTreeMap;
use std::fmt;

use thiserror::Error;

use super::inspection::{ClassPlan, DefectClass};
use super::sampling::{self, Aql, CodeLetter, Severity};

/// Where a merchant × SKU stands in the scheme.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SwitchState {
    /// Normal inspection (Table 2-A): where every scheme starts (clause 9.1).
    Normal,
    /// Tightened inspection (Table 2-B).
    Tightened,
    /// Reduced inspection (Table 2-C).
    Reduced,
    /// Clause 9.4: no lots are to be inspected under the scheme until the
    /// supplier has improved the product and inspection is resumed.
    Discontinued,
}

impl SwitchState {
    pub const ALL: [SwitchState; 4] = [
        SwitchState::Normal,
        SwitchState::Tightened,
        SwitchState::Reduced,
        SwitchState::Discontinued,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            SwitchState::Normal => "normal",
            SwitchState::Tightened => "tightened",
            SwitchState::Reduced => "reduced",
            SwitchState::Discontinued => "discontinued",
        }
    }

    pub fn parse(raw: &str) -> Option<SwitchState> {
        SwitchState::ALL.into_iter().find(|s| s.as_str() == raw)
    }

    /// The master table to sample by, or `None` while inspection is
    /// discontinued.
    pub fn severity(self) -> Option<Severity> {
        match self {
            SwitchState::Normal => Some(Severity::Normal),
            SwitchState::Tightened => Some(Severity::Tightened),
            SwitchState::Reduced => Some(Severity::Reduced),
            SwitchState::Discontinued => None,
        }
    }
}

impl fmt::Display for SwitchState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The outcome of one lot on original inspection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LotOutcome {
    Accepted,
    NotAccepted,
}

/// Clause 9.3.3.2: what one lot on normal inspection does to the switching
/// score.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ScoreStep {
    /// Add this many points (3 or 2).
    Add(u32),
    /// Reset the score to zero.
    Reset,
}

/// One lot on original inspection: its outcome and its score step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LotResult {
    pub outcome: LotOutcome,
    /// Used only while normal inspection is in effect.
    pub score: ScoreStep,
}

impl LotResult {
    /// An accepted lot with its score step.
    pub fn accepted(score: ScoreStep) -> LotResult {
        LotResult {
            outcome: LotOutcome::Accepted,
            score,
        }
    }

    /// A lot not accepted (its score step is always a reset).
    pub fn not_accepted() -> LotResult {
        LotResult {
            outcome: LotOutcome::NotAccepted,
            score: ScoreStep::Reset,
        }
    }
}

/// One entry of a merchant × SKU's inspection history.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HistoryEvent {
    /// A lot was accepted or not accepted on original inspection.
    Lot(LotResult),
    /// Clause 9.4: after the supplier's corrective action, the responsible
    /// authority resumes inspection — on tightened inspection.
    Resumed,
    /// Staff approved (`true`) or withdrew (`false`) reduced inspection:
    /// clause 9.3.3.1 b) and c) (production steady, reduced inspection
    /// desirable) and 9.3.4 b) and c) (production irregular, other conditions).
    ReducedApproval(bool),
}

/// Clause 9.3.3.1 a): the switching score that, with the approval, switches
/// normal inspection to reduced.
pub const SCORE_TO_REDUCE: u32 = 30;

/// One class's plan and findings, as the switching score reads them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClassScoreInput {
    /// Ac of the plan the lot was judged by.
    pub accept: u32,
    /// Nonconforming items (or nonconformities) found in its sample.
    pub defects: u64,
    /// Ac of the same sample at the AQL one step tighter
    /// ([`sampling::accept_one_step_tighter`]); `None` when there is no such
    /// plan.
    pub accept_one_step_tighter: Option<u32>,
}

/// Clause 9.3.3.2 a), single sampling, for one class: with Ac ≥ 2, add 3 if
/// the lot would also have been accepted at the AQL one step tighter, else
/// reset; with Ac 0 or 1, add 2 if the lot is accepted, else reset.
pub fn class_score_step(class: ClassScoreInput) -> ScoreStep {
    if class.accept >= 2 {
        match class.accept_one_step_tighter {
            Some(tighter) if class.defects <= u64::from(tighter) => ScoreStep::Add(3),
            _ => ScoreStep::Reset,
        }
    } else if class.defects <= u64::from(class.accept) {
        ScoreStep::Add(2)
    } else {
        ScoreStep::Reset
    }
}

/// A lot's score step from its classes (see the module documentation): a
/// reset in any class resets; otherwise the smallest addition. A lot with no
/// class has no evidence of quality and resets.
pub fn score_step(classes: &[ClassScoreInput]) -> ScoreStep {
    let mut smallest: Option<u32> = None;
    for class in classes {
        match class_score_step(*class) {
            ScoreStep::Reset => return ScoreStep::Reset,
            ScoreStep::Add(points) => {
                smallest = Some(smallest.map_or(points, |s| s.min(points)));
            }
        }
    }
    smallest.map_or(ScoreStep::Reset, ScoreStep::Add)
}

/// The score inputs of a lot judged on normal inspection by `plans` with
/// `defects` per class. A class whose AQL is not one of the table's (the
/// zero-acceptance rule `0`) has Ac 0 and needs no tighter plan.
pub fn score_inputs(
    plans: &BTreeMap<DefectClass, ClassPlan>,
    defects: &BTreeMap<DefectClass, u64>,
) -> Vec<ClassScoreInput> {
    plans
        .iter()
        .map(|(class, plan)| {
            let tighter = match (Aql::parse(&plan.aql), CodeLetter::parse(&plan.plan_letter)) {
                (Ok(aql), Ok(letter)) => sampling::accept_one_step_tighter(letter, aql),
                _ => None,
            };
            ClassScoreInput {
                accept: plan.accept,
                defects: defects.get(class).copied().unwrap_or(0),
                accept_one_step_tighter: tighter,
            }
        })
        .collect()
}

/// Clause 9.3.2: two lots not accepted out of this many consecutive lots (or
/// fewer) switch normal inspection to tightened.
pub const NORMAL_WINDOW: usize = 5;
/// Clause 9.3.3: this many consecutive lots accepted on tightened inspection
/// reinstate normal inspection.
pub const ACCEPTED_TO_RELAX: u32 = 5;
/// Clause 9.4: this many lots not accepted, cumulatively, on tightened
/// inspection discontinue inspection.
pub const NOT_ACCEPTED_TO_DISCONTINUE: u32 = 5;

/// The state and the counters that explain it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SwitchStatus {
    /// Normal: the switching score of clause 9.3.3.2, from 0 at the start of
    /// normal inspection. Reduced: the score that switched to it. 0 in the
    /// other states.
    pub switching_score: u32,
    /// Staff's approval of reduced inspection stands (it outlives the states).
    pub reduced_approved: bool,
    pub state: SwitchState,
    /// Normal: the outcomes of the most recent lots on normal inspection
    /// (at most [`NORMAL_WINDOW`], oldest first) since normal inspection
    /// began. Empty in the other states.
    pub recent_on_normal: Vec<LotOutcome>,
    /// Tightened: the lots accepted in a row since the last lot not accepted
    /// (or since tightened inspection began).
    pub consecutive_accepted_on_tightened: u32,
    /// Tightened, and Discontinued (where it explains why): the lots not
    /// accepted since tightened inspection began.
    pub not_accepted_on_tightened: u32,
}

impl SwitchStatus {
    /// Clause 9.1: inspection starts normal.
    pub fn start() -> SwitchStatus {
        SwitchStatus::entering(SwitchState::Normal)
    }

    fn entering(state: SwitchState) -> SwitchStatus {
        SwitchStatus {
            switching_score: 0,
            reduced_approved: false,
            state,
            recent_on_normal: Vec::new(),
            consecutive_accepted_on_tightened: 0,
            not_accepted_on_tightened: 0,
        }
    }

    /// Lots not accepted among [`SwitchStatus::recent_on_normal`].
    pub fn not_accepted_in_recent_normal(&self) -> usize {
        self.recent_on_normal
            .iter()
            .filter(|o| **o == LotOutcome::NotAccepted)
            .count()
    }

    /// Enters `state` with fresh counters, keeping the approval.
    fn switch_to(&self, state: SwitchState) -> SwitchStatus {
        SwitchStatus {
            reduced_approved: self.reduced_approved,
            ..SwitchStatus::entering(state)
        }
    }

    /// Clause 9.3.3.1: on normal inspection with a score of at least 30 and
    /// the approval, reduced inspection is instituted.
    fn reduce_if_due(self) -> SwitchStatus {
        if self.state == SwitchState::Normal
            && self.reduced_approved
            && self.switching_score >= SCORE_TO_REDUCE
        {
            // The score that switched stays on view; it is counted afresh
            // from 0 when normal inspection is next instituted.
            SwitchStatus {
                switching_score: self.switching_score,
                ..self.switch_to(SwitchState::Reduced)
            }
        } else {
            self
        }
    }
}

impl Default for SwitchStatus {
    fn default() -> Self {
        SwitchStatus::start()
    }
}

/// The status after one more event.
///
/// An event that cannot happen in the current state changes nothing: a lot
/// while inspection is discontinued (clause 9.4 says no lot is inspected under
/// the scheme then), or a resume while inspection is not discontinued. Use
/// [`check_event`] to refuse such an event before recording it.
pub fn next(status: SwitchStatus, event: HistoryEvent) -> SwitchStatus {
    use HistoryEvent::{Lot, ReducedApproval, Resumed};
    use LotOutcome::{Accepted, NotAccepted};
    match (status.state, event) {
        (_, ReducedApproval(approved)) => match status.state {
            // Clause 9.3.4 b), c): withdrawn while reduced → normal, score from 0.
            SwitchState::Reduced if !approved => SwitchStatus {
                reduced_approved: false,
                ..SwitchStatus::entering(SwitchState::Normal)
            },
            _ => SwitchStatus {
                reduced_approved: approved,
                ..status
            }
            .reduce_if_due(),
        },
        // Clause 9.3.4 a): a lot not accepted on reduced inspection.
        (SwitchState::Reduced, Lot(lot)) => match lot.outcome {
            Accepted => status,
            NotAccepted => status.switch_to(SwitchState::Normal),
        },
        (SwitchState::Normal, Lot(lot)) => {
            let outcome = lot.outcome;
            let mut recent = status.recent_on_normal.clone();
            recent.push(outcome);
            if recent.len() > NORMAL_WINDOW {
                recent.remove(0);
            }
            let not_accepted = recent.iter().filter(|o| **o == NotAccepted).count();
            // Clause 9.3.2: 2 out of 5 or fewer consecutive lots not accepted.
            // Counting at every lot, the earlier of any such two is still
            // among the last five when the later one arrives.
            if not_accepted >= 2 {
                status.switch_to(SwitchState::Tightened)
            } else {
                // Clause 9.3.3.2: the score is updated after each lot on
                // original normal inspection.
                let switching_score = match lot.score {
                    ScoreStep::Add(points) => status.switching_score.saturating_add(points),
                    ScoreStep::Reset => 0,
                };
                SwitchStatus {
                    recent_on_normal: recent,
                    switching_score,
                    ..status
                }
                .reduce_if_due()
            }
        }
        (
            SwitchState::Tightened,
            Lot(LotResult {
                outcome: Accepted, ..
            }),
        ) => {
            let consecutive = status.consecutive_accepted_on_tightened + 1;
            // Clause 9.3.3: 5 consecutive lots accepted.
            if consecutive >= ACCEPTED_TO_RELAX {
                status.switch_to(SwitchState::Normal)
            } else {
                SwitchStatus {
                    consecutive_accepted_on_tightened: consecutive,
                    ..status
                }
            }
        }
        (
            SwitchState::Tightened,
            Lot(LotResult {
                outcome: NotAccepted,
                ..
            }),
        ) => {
            let not_accepted = status.not_accepted_on_tightened + 1;
            SwitchStatus {
                // Clause 9.4: the cumulative count reaches 5, consecutive or not.
                state: if not_accepted >= NOT_ACCEPTED_TO_DISCONTINUE {
                    SwitchState::Discontinued
                } else {
                    SwitchState::Tightened
                },
                not_accepted_on_tightened: not_accepted,
                ..status.switch_to(SwitchState::Tightened)
            }
        }
        // Clause 9.4: resumed "as if 9.3.2 had been invoked" — tightened, from
        // fresh counts.
        (SwitchState::Discontinued, Resumed) => status.switch_to(SwitchState::Tightened),
        (SwitchState::Discontinued, Lot(_))
        | (SwitchState::Normal | SwitchState::Tightened | SwitchState::Reduced, Resumed) => status,
    }
}

/// The status after the whole history, oldest event first.
pub fn current_state(history: &[HistoryEvent]) -> SwitchStatus {
    history.iter().copied().fold(SwitchStatus::start(), next)
}

/// Why an event cannot be recorded now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum SwitchingError {
    #[error(
        "inspection is discontinued (ISO 2859-1 clause 9.4); it must be resumed \
         before another lot is inspected"
    )]
    Discontinued,
    #[error("inspection is {0}, not discontinued, so there is nothing to resume")]
    NotDiscontinued(SwitchState),
}

/// Whether `event` can happen in `status`'s state (see [`next`]).
pub fn check_event(status: &SwitchStatus, event: HistoryEvent) -> Result<(), SwitchingError> {
    match (status.state, event) {
        (SwitchState::Discontinued, HistoryEvent::Lot(_)) => Err(SwitchingError::Discontinued),
        (
            state @ (SwitchState::Normal | SwitchState::Tightened | SwitchState::Reduced),
            HistoryEvent::Resumed,
        ) => Err(SwitchingError::NotDiscontinued(state)),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Accepted by a plan with Ac 0 or 1: +2.
    const A: HistoryEvent = HistoryEvent::Lot(LotResult {
        outcome: LotOutcome::Accepted,
        score: ScoreStep::Add(2),
    });
    /// Accepted, and also at the AQL one step tighter (Ac ≥ 2): +3.
    const A3: HistoryEvent = HistoryEvent::Lot(LotResult {
        outcome: LotOutcome::Accepted,
        score: ScoreStep::Add(3),
    });
    /// Accepted, but not at the AQL one step tighter (Ac ≥ 2): reset.
    const A0: HistoryEvent = HistoryEvent::Lot(LotResult {
        outcome: LotOutcome::Accepted,
        score: ScoreStep::Reset,
    });
    const N: HistoryEvent = HistoryEvent::Lot(LotResult {
        outcome: LotOutcome::NotAccepted,
        score: ScoreStep::Reset,
    });
    const RESUME: HistoryEvent = HistoryEvent::Resumed;
    const APPROVE: HistoryEvent = HistoryEvent::ReducedApproval(true);
    const WITHDRAW: HistoryEvent = HistoryEvent::ReducedApproval(false);

    /// A history written as `A` (accepted, +2), `3` (accepted, +3), `a`
    /// (accepted, reset), `N` (not accepted), `R` (resumed), `+` (reduced
    /// inspection approved), `-` (approval withdrawn).
    fn history(text: &str) -> Vec<HistoryEvent> {
        text.chars()
            .filter(|c| !c.is_whitespace())
            .map(|c| match c {
                'A' => A,
                '3' => A3,
                'a' => A0,
                'N' => N,
                'R' => RESUME,
                '+' => APPROVE,
                '-' => WITHDRAW,
                other => panic!("unknown event {other}"),
            })
            .collect()
    }

    fn score(text: &str) -> u32 {
        current_state(&history(text)).switching_score
    }

    fn input(accept: u32, defects: u64, tighter: Option<u32>) -> ClassScoreInput {
        ClassScoreInput {
            accept,
            defects,
            accept_one_step_tighter: tighter,
        }
    }

    #[test]
    fn ac_two_or_more_adds_three_only_if_accepted_one_aql_step_tighter() {
        // J at 2.5 (n = 80, Ac 5); one step tighter, 1.5, is Ac 3.
        assert_eq!(class_score_step(input(5, 3, Some(3))), ScoreStep::Add(3));
        assert_eq!(class_score_step(input(5, 0, Some(3))), ScoreStep::Add(3));
        // Accepted (4 ≤ 5), but not at the tighter AQL (4 > 3): reset.
        assert_eq!(class_score_step(input(5, 4, Some(3))), ScoreStep::Reset);
        assert_eq!(class_score_step(input(5, 6, Some(3))), ScoreStep::Reset);
        // Ac 2 whose tighter plan is 1/2.
        assert_eq!(class_score_step(input(2, 1, Some(1))), ScoreStep::Add(3));
        assert_eq!(class_score_step(input(2, 2, Some(1))), ScoreStep::Reset);
        // No comparable plan: no points.
        assert_eq!(class_score_step(input(2, 0, None)), ScoreStep::Reset);
    }

    #[test]
    fn ac_zero_or_one_adds_two_when_the_lot_is_accepted() {
        assert_eq!(class_score_step(input(0, 0, None)), ScoreStep::Add(2));
        assert_eq!(class_score_step(input(0, 1, None)), ScoreStep::Reset);
        assert_eq!(class_score_step(input(1, 1, Some(0))), ScoreStep::Add(2));
        assert_eq!(class_score_step(input(1, 2, Some(0))), ScoreStep::Reset);
    }

    #[test]
    fn a_lot_takes_the_smallest_class_step_and_any_reset() {
        let critical = input(0, 0, None);
        let major = input(5, 2, Some(3));
        let minor = input(7, 6, Some(5));
        assert_eq!(score_step(&[major]), ScoreStep::Add(3));
        assert_eq!(score_step(&[critical, major]), ScoreStep::Add(2));
        assert_eq!(score_step(&[critical, major, minor]), ScoreStep::Reset);
        assert_eq!(score_step(&[]), ScoreStep::Reset);
    }

    #[test]
    fn score_inputs_read_the_stored_plans() {
        use crate::domain::inspection::class_plan;
        use crate::domain::sampling::InspectionLevel;
        // 1,000 units at level II: J. Major 2.5 → 80, 5/6 (tighter 1.5: 3/4);
        // critical 0 → zero acceptance.
        let plans = BTreeMap::from([
            (
                DefectClass::Critical,
                class_plan(1000, InspectionLevel::II, "0", Severity::Normal).unwrap(),
            ),
            (
                DefectClass::Major,
                class_plan(1000, InspectionLevel::II, "2.5", Severity::Normal).unwrap(),
            ),
        ]);
        let defects = BTreeMap::from([(DefectClass::Major, 3)]);
        assert_eq!(
            score_inputs(&plans, &defects),
            [input(0, 0, None), input(5, 3, Some(3))]
        );
        assert_eq!(
            score_step(&score_inputs(&plans, &defects)),
            ScoreStep::Add(2)
        );
    }

    #[test]
    fn the_score_grows_on_normal_and_resets_otherwise() {
        assert_eq!(score(""), 0);
        assert_eq!(score("AAA"), 6);
        assert_eq!(score("333"), 9);
        assert_eq!(score("333 a"), 0);
        assert_eq!(score("AAA N 33"), 6);
        // Two lots not accepted tighten; back on normal the score starts at 0.
        assert_eq!(score("333 NN"), 0);
        assert_eq!(score("333 NN AAAAA"), 0);
        assert_eq!(score("333 NN AAAAA 3"), 3);
    }

    #[test]
    fn score_thirty_with_approval_switches_to_reduced() {
        // Ten +3 lots reach 30; without the approval normal stays in effect.
        let ten = current_state(&history("3333333333"));
        assert_eq!((ten.state, ten.switching_score), (SwitchState::Normal, 30));
        assert_eq!(state("3333333333 333"), SwitchState::Normal);
        // With the approval given first, the tenth lot switches.
        assert_eq!(state("+ 333333333"), SwitchState::Normal);
        let reduced = current_state(&history("+ 3333333333"));
        assert_eq!(reduced.state, SwitchState::Reduced);
        assert_eq!(reduced.state.severity(), Some(Severity::Reduced));
        assert!(reduced.reduced_approved);
        // Fifteen +2 lots reach 30 as well.
        assert_eq!(state("+ AAAAAAAAAAAAAA"), SwitchState::Normal);
        assert_eq!(state("+ AAAAAAAAAAAAAAA"), SwitchState::Reduced);
        // An approval given when the score is already 30 switches at once.
        assert_eq!(state("3333333333 +"), SwitchState::Reduced);
        // A reset on the way starts the count again.
        assert_eq!(state("+ 33333 a 33333"), SwitchState::Normal);
    }

    #[test]
    fn a_lot_not_accepted_on_reduced_reinstates_normal() {
        let back = current_state(&history("+ 3333333333 AAA N"));
        assert_eq!(back.state, SwitchState::Normal);
        assert_eq!(back.switching_score, 0);
        assert!(back.recent_on_normal.is_empty());
        // The approval stands: 30 more points and reduced inspection returns.
        assert!(back.reduced_approved);
        assert_eq!(state("+ 3333333333 N 3333333333"), SwitchState::Reduced);
        // Lots accepted on reduced inspection keep it.
        assert_eq!(state("+ 3333333333 A a 3 A"), SwitchState::Reduced);
    }

    #[test]
    fn withdrawing_the_approval_reinstates_normal() {
        let back = current_state(&history("+ 3333333333 AA -"));
        assert_eq!(back.state, SwitchState::Normal);
        assert_eq!((back.switching_score, back.reduced_approved), (0, false));
        // On normal inspection a withdrawal only clears the flag.
        let normal = current_state(&history("+ 333 -"));
        assert_eq!(
            (normal.state, normal.switching_score),
            (SwitchState::Normal, 9)
        );
        assert!(!normal.reduced_approved);
        assert_eq!(state("+ 333 - 3333333"), SwitchState::Normal);
    }

    #[test]
    fn the_approval_does_not_move_tightened_or_discontinued_inspection() {
        assert_eq!(state("NN +"), SwitchState::Tightened);
        assert_eq!(state("NN NNNNN +"), SwitchState::Discontinued);
        // Back to normal after five accepted: the approval stands, score from 0.
        let normal = current_state(&history("NN + AAAAA"));
        assert_eq!(normal.state, SwitchState::Normal);
        assert_eq!((normal.switching_score, normal.reduced_approved), (0, true));
        assert_eq!(state("NN + AAAAA 3333333333"), SwitchState::Reduced);
        // Resuming is refused while reduced, like in every undiscontinued state.
        let reduced = current_state(&history("+ 3333333333"));
        assert_eq!(
            check_event(&reduced, RESUME),
            Err(SwitchingError::NotDiscontinued(SwitchState::Reduced))
        );
        assert_eq!(next(reduced.clone(), RESUME), reduced);
        assert_eq!(check_event(&reduced, WITHDRAW), Ok(()));
    }

    fn state(text: &str) -> SwitchState {
        current_state(&history(text)).state
    }

    #[test]
    fn inspection_starts_normal() {
        assert_eq!(current_state(&[]), SwitchStatus::start());
        assert_eq!(state(""), SwitchState::Normal);
        assert_eq!(state("AAAAAAAAAA"), SwitchState::Normal);
    }

    #[test]
    fn two_not_accepted_within_five_lots_switch_to_tightened() {
        assert_eq!(state("NN"), SwitchState::Tightened);
        assert_eq!(state("NAAAN"), SwitchState::Tightened);
        assert_eq!(state("AAAANAAAN"), SwitchState::Tightened);
        // Entering tightened starts its counters afresh.
        let status = current_state(&history("NAAAN"));
        assert_eq!(status, SwitchStatus::entering(SwitchState::Tightened));
    }

    #[test]
    fn two_not_accepted_six_lots_apart_stay_normal() {
        let status = current_state(&history("NAAAAN"));
        assert_eq!(status.state, SwitchState::Normal);
        assert_eq!(status.not_accepted_in_recent_normal(), 1);
        assert_eq!(status.recent_on_normal.len(), NORMAL_WINDOW);
        assert_eq!(state("NAAAAN AAAAN AAAAN"), SwitchState::Normal);
    }

    #[test]
    fn five_consecutive_accepted_on_tightened_reinstate_normal() {
        assert_eq!(state("NN AAAAA"), SwitchState::Normal);
        let four = current_state(&history("NN AAAA"));
        assert_eq!(four.state, SwitchState::Tightened);
        assert_eq!(four.consecutive_accepted_on_tightened, 4);
    }

    #[test]
    fn a_lot_not_accepted_on_tightened_restarts_the_run() {
        let status = current_state(&history("NN AAAA N AAAA"));
        assert_eq!(status.state, SwitchState::Tightened);
        assert_eq!(status.consecutive_accepted_on_tightened, 4);
        assert_eq!(status.not_accepted_on_tightened, 1);
        assert_eq!(state("NN AAAA N AAAAA"), SwitchState::Normal);
    }

    #[test]
    fn five_not_accepted_on_tightened_discontinue_even_if_not_consecutive() {
        let four = current_state(&history("NN N A N AA N AAA N"));
        assert_eq!(four.state, SwitchState::Tightened);
        assert_eq!(four.not_accepted_on_tightened, 4);
        assert_eq!(four.consecutive_accepted_on_tightened, 0);

        let status = current_state(&history("NN N A N AA N AAA N A N"));
        assert_eq!(status.state, SwitchState::Discontinued);
        assert_eq!(status.not_accepted_on_tightened, 5);
        assert_eq!(status.state.severity(), None);
    }

    #[test]
    fn lots_not_accepted_on_normal_do_not_count_towards_discontinuation() {
        // Two on normal switch; four more on tightened make four, not six.
        let status = current_state(&history("NN NNNN"));
        assert_eq!(status.state, SwitchState::Tightened);
        assert_eq!(status.not_accepted_on_tightened, 4);
    }

    #[test]
    fn resuming_puts_inspection_back_on_tightened_with_counters_reset() {
        let discontinued = current_state(&history("NN NNNNN"));
        assert_eq!(discontinued.state, SwitchState::Discontinued);

        let resumed = next(discontinued, RESUME);
        assert_eq!(resumed, SwitchStatus::entering(SwitchState::Tightened));
        assert_eq!(resumed.state.severity(), Some(Severity::Tightened));

        // Five more not accepted discontinue again; five accepted relax.
        assert_eq!(state("NN NNNNN R NNNNN"), SwitchState::Discontinued);
        assert_eq!(state("NN NNNNN R AAAAA"), SwitchState::Normal);
    }

    #[test]
    fn events_that_cannot_happen_change_nothing_and_are_refused_by_check() {
        let discontinued = current_state(&history("NN NNNNN"));
        assert_eq!(next(discontinued.clone(), A), discontinued);
        assert_eq!(next(discontinued.clone(), N), discontinued);
        assert_eq!(
            check_event(&discontinued, A),
            Err(SwitchingError::Discontinued)
        );
        assert_eq!(check_event(&discontinued, RESUME), Ok(()));

        let normal = SwitchStatus::start();
        assert_eq!(next(normal.clone(), RESUME), normal);
        assert_eq!(
            check_event(&normal, RESUME),
            Err(SwitchingError::NotDiscontinued(SwitchState::Normal))
        );
        assert_eq!(check_event(&normal, N), Ok(()));
    }

    #[test]
    fn normal_tightened_normal_tightened() {
        let events = history("AN AN N AAAAA NAAA N");
        let states: Vec<SwitchState> = events
            .iter()
            .scan(SwitchStatus::start(), |status, event| {
                *status = next(status.clone(), *event);
                Some(status.state)
            })
            .collect();
        use SwitchState::{Normal as No, Tightened as Ti};
        assert_eq!(
            states,
            [
                No, No, No, // A N A
                Ti, // N: second within five
                Ti, Ti, Ti, Ti, Ti, // N, then four accepted
                No, // fifth accepted
                No, No, No, No, // N A A A: the lots before tightened no longer count
                Ti, // N: second within five since normal was reinstated
            ]
        );
    }

    #[test]
    fn states_parse_and_print() {
        for s in SwitchState::ALL {
            assert_eq!(SwitchState::parse(s.as_str()), Some(s));
            assert_eq!(s.to_string(), s.as_str());
        }
        assert_eq!(SwitchState::parse("reduced"), Some(SwitchState::Reduced));
        assert_eq!(SwitchState::Normal.severity(), Some(Severity::Normal));
    }
}
