//! Where each merchant × SKU stands in ISO 2859-1's switching scheme
//! (clause 9), worked out from its inspection history every time it is
//! needed; the admin's decision that resumes discontinued inspection; and
//! staff's approval (or withdrawal) of reduced inspection.
//!
//! Nothing stores the state: it is [`switching::current_state`] over the
//! history, so a corrected verdict changes it the way the standard's record
//! would. A SKU belongs to one merchant, so the SKU is the merchant × SKU.

use std::collections::{BTreeMap, HashMap};

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;
use utoipa::ToSchema;

use crate::db::schema::{
    inspection_findings, inspection_resumptions, inspections, lots, reduced_inspection_approvals,
    skus,
};
use crate::db::{self, AnyConnection};
use crate::domain::access::Principal;
use crate::domain::ids::new_id;
use crate::domain::inspection::{ClassPlan, DefectClass, Verdict};
use crate::domain::sampling::Severity;
use crate::domain::switching::{
    self, check_event, HistoryEvent, LotOutcome, LotResult, ScoreStep, SwitchState, SwitchStatus,
};
use crate::domain::time;
use crate::error::AppError;

/// One entry of the history, with the state it led to.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct HistoryItem {
    #[serde(serialize_with = "time::serialize")]
    #[schema(value_type = String, format = DateTime)]
    pub at: NaiveDateTime,
    /// lot_accepted, lot_not_accepted, resumed, reduced_approved or
    /// reduced_approval_withdrawn.
    pub event: String,
    pub lot_id: Option<String>,
    pub lot_code: Option<String>,
    /// The inspection whose verdict counts (the newest correction, if any).
    pub inspection_id: Option<String>,
    /// Why inspection was resumed, or reduced inspection approved or withdrawn.
    pub reason: Option<String>,
    /// The token that resumed inspection, or approved or withdrew reduced inspection.
    pub by: Option<String>,
    /// normal, tightened, reduced or discontinued, after this entry.
    pub state_after: String,
    /// The switching score (clause 9.3.3.2) after this entry.
    pub switching_score_after: u32,
}

/// Staff's latest decision on reduced inspection for the SKU.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ReducedApproval {
    /// Approved (production steady, reduced inspection desirable) or withdrawn.
    pub enabled: bool,
    pub reason: String,
    /// The token that set or cleared it.
    pub by: Option<String>,
    #[serde(serialize_with = "time::serialize")]
    #[schema(value_type = String, format = DateTime)]
    pub at: NaiveDateTime,
}

/// A SKU's place in the switching scheme and the history behind it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SwitchingView {
    pub sku_id: String,
    pub sku_code: String,
    pub merchant_id: String,
    /// normal, tightened, reduced or discontinued.
    pub state: String,
    /// The table new lots are sampled by (normal: 2-A, tightened: 2-B,
    /// reduced: 2-C); null while inspection is discontinued.
    pub severity: Option<String>,
    /// Normal: the switching score of clause 9.3.3.2; at 30 or more, with
    /// `reduced_approved`, inspection switches to reduced. Reduced: the score
    /// that switched it. 0 in the other states.
    pub switching_score: u32,
    /// Staff have approved reduced inspection (clause 9.3.3.1 b, c).
    pub reduced_approved: bool,
    /// Who approved or withdrew reduced inspection last, when and why.
    pub reduced_approval: Option<ReducedApproval>,
    /// Normal: outcomes of the latest lots (at most 5, oldest first);
    /// 2 not accepted among them switch to tightened (clause 9.3.2).
    pub recent_on_normal: Vec<String>,
    /// Tightened: accepted in a row; 5 switch back to normal (clause 9.3.3).
    pub consecutive_accepted_on_tightened: u32,
    /// Tightened: not accepted since tightening; 5 discontinue (clause 9.4).
    pub not_accepted_on_tightened: u32,
    /// Oldest first.
    pub history: Vec<HistoryItem>,
}

/// Takes the SKU's row lock (PostgreSQL) for the rest of the transaction, so
/// that verdicts and resumptions of one SKU are decided one at a time and
/// each sees the history the previous one left. SQLite writers are serial
/// already.
pub fn lock_sku(conn: &mut AnyConnection, sku_id: &str) -> Result<(), AppError> {
    diesel::update(skus::table.find(sku_id))
        .set(skus::id.eq(skus::id))
        .execute(conn)?;
    Ok(())
}

/// The switching status of a SKU now.
pub fn status(conn: &mut AnyConnection, sku_id: &str) -> Result<SwitchStatus, AppError> {
    let events: Vec<HistoryEvent> = history(conn, sku_id)?.into_iter().map(|h| h.0).collect();
    Ok(switching::current_state(&events))
}

/// The SKU's place in the scheme; another merchant's SKU is a 404.
pub fn view(
    conn: &mut AnyConnection,
    who: &Principal,
    sku_id: &str,
) -> Result<SwitchingView, AppError> {
    let found: Option<(String, String, String)> = skus::table
        .find(sku_id)
        .select((skus::id, skus::code, skus::merchant_id))
        .first(conn)
        .optional()?;
    let Some((sku_id, sku_code, merchant_id)) = found.filter(|s| who.sees_merchant(&s.2)) else {
        return Err(AppError::not_found("SKU", sku_id));
    };
    let mut status = SwitchStatus::start();
    let mut items = Vec::new();
    let mut reduced_approval = None;
    for (event, mut item) in history(conn, &sku_id)? {
        status = switching::next(status, event);
        item.state_after = status.state.as_str().to_string();
        item.switching_score_after = status.switching_score;
        if let HistoryEvent::ReducedApproval(enabled) = event {
            reduced_approval = Some(ReducedApproval {
                enabled,
                reason: item.reason.clone().unwrap_or_default(),
                by: item.by.clone(),
                at: item.at,
            });
        }
        items.push(item);
    }
    Ok(SwitchingView {
        sku_id,
        sku_code,
        merchant_id,
        state: status.state.as_str().to_string(),
        severity: status.state.severity().map(|s| s.as_str().to_string()),
        switching_score: status.switching_score,
        reduced_approved: status.reduced_approved,
        reduced_approval,
        recent_on_normal: status
            .recent_on_normal
            .iter()
            .map(|o| outcome_name(*o).to_string())
            .collect(),
        consecutive_accepted_on_tightened: status.consecutive_accepted_on_tightened,
        not_accepted_on_tightened: status.not_accepted_on_tightened,
        history: items,
    })
}

/// Clause 9.4: the responsible authority resumes discontinued inspection
/// (on tightened inspection). Only while discontinued; otherwise a 409.
pub fn resume(
    conn: &mut AnyConnection,
    who: &Principal,
    sku_id: &str,
    reason: &str,
) -> Result<SwitchingView, AppError> {
    db::write(conn, |c| {
        // Visibility and existence first: an unknown SKU is a 404.
        view(c, who, sku_id)?;
        lock_sku(c, sku_id)?;
        let now = status(c, sku_id)?;
        check_event(&now, HistoryEvent::Resumed)
            .map_err(|e| AppError::InvalidState(e.to_string()))?;
        diesel::insert_into(inspection_resumptions::table)
            .values((
                inspection_resumptions::id.eq(new_id("res")),
                inspection_resumptions::sku_id.eq(sku_id),
                inspection_resumptions::reason.eq(reason),
                inspection_resumptions::created_at.eq(time::now()),
                inspection_resumptions::created_by.eq(&who.token_id),
            ))
            .execute(c)?;
        view(c, who, sku_id)
    })
}

/// Staff approve (`enabled`) or withdraw reduced inspection for a SKU, with
/// the reason (clause 9.3.3.1 b, c: production steady and reduced inspection
/// desirable; clause 9.3.4 b, c: production irregular or delayed, or other
/// conditions). Recorded with who and when; approving with a switching score
/// of 30 or more switches to reduced at once, withdrawing while reduced
/// reinstates normal. Asking for what already stands changes nothing.
pub fn set_reduced_approval(
    conn: &mut AnyConnection,
    who: &Principal,
    sku_id: &str,
    enabled: bool,
    reason: &str,
) -> Result<SwitchingView, AppError> {
    db::write(conn, |c| {
        // Visibility and existence first: an unknown SKU is a 404.
        view(c, who, sku_id)?;
        lock_sku(c, sku_id)?;
        if status(c, sku_id)?.reduced_approved == enabled {
            return view(c, who, sku_id);
        }
        diesel::insert_into(reduced_inspection_approvals::table)
            .values((
                reduced_inspection_approvals::id.eq(new_id("rap")),
                reduced_inspection_approvals::sku_id.eq(sku_id),
                reduced_inspection_approvals::enabled.eq(enabled),
                reduced_inspection_approvals::reason.eq(reason),
                reduced_inspection_approvals::created_at.eq(time::now()),
                reduced_inspection_approvals::created_by.eq(&who.token_id),
            ))
            .execute(c)?;
        view(c, who, sku_id)
    })
}

/// The 409 for a lot of a SKU whose inspection is discontinued.
pub fn discontinued(sku_id: &str) -> AppError {
    AppError::InvalidState(format!(
        "inspection of SKU {sku_id} is discontinued after 5 lots not accepted on tightened \
         inspection (ISO 2859-1 clause 9.4); an admin must resume it \
         (POST /api/v1/skus/{sku_id}/inspection-switching/resume) before its lots can be inspected"
    ))
}

fn outcome_name(outcome: LotOutcome) -> &'static str {
    match outcome {
        LotOutcome::Accepted => "accepted",
        LotOutcome::NotAccepted => "not_accepted",
    }
}

type FinishedRow = (
    String,
    String,
    String,
    Option<String>,
    Option<String>,
    Option<NaiveDateTime>,
    String,
    String,
);

/// The switching-score step of a lot (clause 9.3.3.2) from the inspection
/// that judges it. Only a lot judged by Table 2-A plans is "on normal
/// inspection"; one judged on tightened or reduced plans (started before the
/// state changed) earns nothing and resets, which never raises the score.
fn score_of(
    row: &FinishedRow,
    defects: &BTreeMap<DefectClass, u64>,
    accepted: bool,
) -> Result<ScoreStep, AppError> {
    if !accepted || row.7 != Severity::Normal.as_str() {
        return Ok(ScoreStep::Reset);
    }
    let plans: BTreeMap<DefectClass, ClassPlan> = serde_json::from_str(&row.6).map_err(|e| {
        AppError::Internal(format!("inspection {} has unreadable plans: {e}", row.0))
    })?;
    Ok(switching::score_step(&switching::score_inputs(
        &plans, defects,
    )))
}

/// The SKU's history, oldest first: one outcome per lot on original
/// inspection (clause 9.3), dated when that inspection finished and judged by
/// the newest finished correction of it; the resumptions; and staff's
/// approvals and withdrawals of reduced inspection.
fn history(
    conn: &mut AnyConnection,
    sku_id: &str,
) -> Result<Vec<(HistoryEvent, HistoryItem)>, AppError> {
    let finished: Vec<FinishedRow> = inspections::table
        .inner_join(lots::table)
        .filter(lots::sku_id.eq(sku_id))
        .filter(inspections::status.eq("finished"))
        .select((
            inspections::id,
            inspections::lot_id,
            lots::lot_code,
            inspections::supersedes_id,
            inspections::verdict,
            inspections::finished_at,
            inspections::plans,
            inspections::severity,
        ))
        .load(conn)?;
    let mut defects_of: HashMap<String, BTreeMap<DefectClass, u64>> = HashMap::new();
    let found: Vec<(String, String, i64)> = inspection_findings::table
        .inner_join(inspections::table.inner_join(lots::table))
        .filter(lots::sku_id.eq(sku_id))
        .filter(inspections::status.eq("finished"))
        .select((
            inspection_findings::inspection_id,
            inspection_findings::defect_class,
            inspection_findings::defects,
        ))
        .load(conn)?;
    for (inspection_id, class, defects) in found {
        let class = DefectClass::parse(&class)
            .ok_or_else(|| AppError::Internal(format!("finding of class {class}")))?;
        *defects_of
            .entry(inspection_id)
            .or_default()
            .entry(class)
            .or_insert(0) += defects.max(0) as u64;
    }
    let correction_of: HashMap<&str, &FinishedRow> = finished
        .iter()
        .filter_map(|row| row.3.as_deref().map(|old| (old, row)))
        .collect();
    let mut entries: Vec<(HistoryEvent, HistoryItem)> = Vec::new();
    for original in finished.iter().filter(|row| row.3.is_none()) {
        let mut newest = original;
        while let Some(next) = correction_of.get(newest.0.as_str()) {
            newest = next;
        }
        let accepted = newest.4.as_deref() == Some(Verdict::Accepted.as_str());
        let outcome = if accepted {
            LotOutcome::Accepted
        } else {
            LotOutcome::NotAccepted
        };
        let no_defects = BTreeMap::new();
        let defects = defects_of.get(&newest.0).unwrap_or(&no_defects);
        let score = score_of(newest, defects, accepted)?;
        let at = original.5.ok_or_else(|| {
            AppError::Internal(format!("finished inspection {} has no time", original.0))
        })?;
        entries.push((
            HistoryEvent::Lot(LotResult { outcome, score }),
            HistoryItem {
                at,
                event: format!("lot_{}", outcome_name(outcome)),
                lot_id: Some(original.1.clone()),
                lot_code: Some(original.2.clone()),
                inspection_id: Some(newest.0.clone()),
                reason: None,
                by: None,
                state_after: String::new(),
                switching_score_after: 0,
            },
        ));
    }
    let resumptions: Vec<(String, String, NaiveDateTime, Option<String>)> =
        inspection_resumptions::table
            .filter(inspection_resumptions::sku_id.eq(sku_id))
            .select((
                inspection_resumptions::id,
                inspection_resumptions::reason,
                inspection_resumptions::created_at,
                inspection_resumptions::created_by,
            ))
            .load(conn)?;
    for (_, reason, at, by) in resumptions {
        entries.push((
            HistoryEvent::Resumed,
            HistoryItem {
                at,
                event: "resumed".into(),
                lot_id: None,
                lot_code: None,
                inspection_id: None,
                reason: Some(reason),
                by,
                state_after: String::new(),
                switching_score_after: 0,
            },
        ));
    }
    let approvals: Vec<(String, bool, String, NaiveDateTime, Option<String>)> =
        reduced_inspection_approvals::table
            .filter(reduced_inspection_approvals::sku_id.eq(sku_id))
            .select((
                reduced_inspection_approvals::id,
                reduced_inspection_approvals::enabled,
                reduced_inspection_approvals::reason,
                reduced_inspection_approvals::created_at,
                reduced_inspection_approvals::created_by,
            ))
            .load(conn)?;
    for (_, enabled, reason, at, by) in approvals {
        entries.push((
            HistoryEvent::ReducedApproval(enabled),
            HistoryItem {
                at,
                event: if enabled {
                    "reduced_approved".into()
                } else {
                    "reduced_approval_withdrawn".into()
                },
                lot_id: None,
                lot_code: None,
                inspection_id: None,
                reason: Some(reason),
                by,
                state_after: String::new(),
                switching_score_after: 0,
            },
        ));
    }
    // Ids sort by creation time too, so they settle ties of the same microsecond.
    entries.sort_by(|a, b| {
        (a.1.at, a.1.inspection_id.as_deref()).cmp(&(b.1.at, b.1.inspection_id.as_deref()))
    });
    Ok(entries)
}

/// Whether new lots of the SKU may be inspected.
pub fn severity_now(
    conn: &mut AnyConnection,
    sku_id: &str,
) -> Result<crate::domain::sampling::Severity, AppError> {
    let now = status(conn, sku_id)?;
    match now.state {
        SwitchState::Discontinued => Err(discontinued(sku_id)),
        state => state
            .severity()
            .ok_or_else(|| AppError::Internal(format!("state {state} has no severity"))),
    }
}
