//! ISO 2859-1:1999 clause 9: the switching rules between normal and
//! tightened inspection, and the discontinuation of inspection, for one
//! merchant × SKU.
//!
//! The state is a pure function of the ordered history: fold [`next`] over
//! the events from the start ([`current_state`]). The history holds one
//! outcome per lot **on original inspection** (clause 9.3): a lot resubmitted
//! after screening is not a new outcome, and a corrected inspection replaces
//! the verdict it corrects rather than adding one.
//!
//! Reduced inspection (clause 9.3.3 and 9.3.4, Table 2-C) is not implemented:
//! normal inspection stays in effect however good the history is.

use std::fmt;

use thiserror::Error;

use super::sampling::Severity;

/// Where a merchant × SKU stands in the scheme.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SwitchState {
    /// Normal inspection (Table 2-A): where every scheme starts (clause 9.1).
    Normal,
    /// Tightened inspection (Table 2-B).
    Tightened,
    /// Clause 9.4: no lots are to be inspected under the scheme until the
    /// supplier has improved the product and inspection is resumed.
    Discontinued,
}

impl SwitchState {
    pub const ALL: [SwitchState; 3] = [
        SwitchState::Normal,
        SwitchState::Tightened,
        SwitchState::Discontinued,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            SwitchState::Normal => "normal",
            SwitchState::Tightened => "tightened",
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

/// One entry of a merchant × SKU's inspection history.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HistoryEvent {
    /// A lot was accepted or not accepted on original inspection.
    Lot(LotOutcome),
    /// Clause 9.4: after the supplier's corrective action, the responsible
    /// authority resumes inspection — on tightened inspection.
    Resumed,
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
    use HistoryEvent::{Lot, Resumed};
    use LotOutcome::{Accepted, NotAccepted};
    match (status.state, event) {
        (SwitchState::Normal, Lot(outcome)) => {
            let mut recent = status.recent_on_normal;
            recent.push(outcome);
            if recent.len() > NORMAL_WINDOW {
                recent.remove(0);
            }
            let not_accepted = recent.iter().filter(|o| **o == NotAccepted).count();
            // Clause 9.3.2: 2 out of 5 or fewer consecutive lots not accepted.
            // Counting at every lot, the earlier of any such two is still
            // among the last five when the later one arrives.
            if not_accepted >= 2 {
                SwitchStatus::entering(SwitchState::Tightened)
            } else {
                SwitchStatus {
                    recent_on_normal: recent,
                    ..status
                }
            }
        }
        (SwitchState::Tightened, Lot(Accepted)) => {
            let consecutive = status.consecutive_accepted_on_tightened + 1;
            // Clause 9.3.3: 5 consecutive lots accepted.
            if consecutive >= ACCEPTED_TO_RELAX {
                SwitchStatus::entering(SwitchState::Normal)
            } else {
                SwitchStatus {
                    consecutive_accepted_on_tightened: consecutive,
                    ..status
                }
            }
        }
        (SwitchState::Tightened, Lot(NotAccepted)) => {
            let not_accepted = status.not_accepted_on_tightened + 1;
            SwitchStatus {
                // Clause 9.4: the cumulative count reaches 5, consecutive or not.
                state: if not_accepted >= NOT_ACCEPTED_TO_DISCONTINUE {
                    SwitchState::Discontinued
                } else {
                    SwitchState::Tightened
                },
                recent_on_normal: Vec::new(),
                consecutive_accepted_on_tightened: 0,
                not_accepted_on_tightened: not_accepted,
            }
        }
        // Clause 9.4: resumed "as if 9.3.2 had been invoked" — tightened, from
        // fresh counts.
        (SwitchState::Discontinued, Resumed) => SwitchStatus::entering(SwitchState::Tightened),
        (SwitchState::Discontinued, Lot(_))
        | (SwitchState::Normal | SwitchState::Tightened, Resumed) => status,
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
        (state @ (SwitchState::Normal | SwitchState::Tightened), HistoryEvent::Resumed) => {
            Err(SwitchingError::NotDiscontinued(state))
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: HistoryEvent = HistoryEvent::Lot(LotOutcome::Accepted);
    const N: HistoryEvent = HistoryEvent::Lot(LotOutcome::NotAccepted);
    const RESUME: HistoryEvent = HistoryEvent::Resumed;

    /// A history written as `A` (accepted), `N` (not accepted), `R` (resumed).
    fn history(text: &str) -> Vec<HistoryEvent> {
        text.chars()
            .filter(|c| !c.is_whitespace())
            .map(|c| match c {
                'A' => A,
                'N' => N,
                'R' => RESUME,
                other => panic!("unknown event {other}"),
            })
            .collect()
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
        assert_eq!(SwitchState::parse("reduced"), None);
        assert_eq!(SwitchState::Normal.severity(), Some(Severity::Normal));
    }
}
