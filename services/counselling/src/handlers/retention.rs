//! Retention on the business day: a closed case whose period has run out (`[retention]`,
//! category key `counselling`, the pure rule in `restance_kernel::retention`: the end of the
//! year the case closed plus the period, default 5 years) has its personal data erased — the
//! applicant's national id, name, address, phone and e-mail, the creditors' names, references
//! and addresses, the meetings' places, the notes, the timeline's texts and the closing note.
//! The case id, municipality, dates, phase, amounts, debt items' kinds and figures, and who did
//! what when (the timeline's kinds, dates and authors, the audit trail) stay. Each erasure is
//! recorded (`erasures`: when, legal source). The preview (`GET /api/v1/retention/preview`)
//! runs the same selection.

use chrono::NaiveDate;
use restance_bus::HandlerError;
use restance_contracts::messages::Address;
use restance_kernel::BusinessDate;
use restance_kernel::retention::{ClaimEnd, RetentionPolicy};
use sea_orm::{ConnectionTrait, DbErr};

use crate::store::queries::cases::StoredCase;
use crate::store::queries::retention as queries;

/// The retention category key of a counselling case.
pub const CATEGORY: &str = "counselling";

/// What erased personal data reads as.
pub const ERASED: &str = "[erased]";

/// A closed case whose personal data is due to go.
#[derive(Debug, Clone)]
pub struct DueCase {
    /// The case as stored.
    pub stored: StoredCase,
    /// When it closed.
    pub closed_on: NaiveDate,
}

/// When a closed case closed (its close date, else the day its work ended).
fn closed_on(stored: &StoredCase) -> Option<NaiveDate> {
    stored
        .case
        .close_on
        .or(stored.case.work_ended_on)
        .map(NaiveDate::from)
}

/// The closed cases whose personal data is due to go on `today`, in `(municipality, case_id)`
/// order.
pub async fn due_cases(
    db: &impl ConnectionTrait,
    policy: &RetentionPolicy,
    today: NaiveDate,
) -> Result<Vec<DueCase>, DbErr> {
    Ok(queries::closed_cases(db)
        .await?
        .into_iter()
        .filter_map(|stored| {
            let ended = closed_on(&stored)?;
            let end = ClaimEnd {
                category: CATEGORY,
                ended: Some(ended),
            };
            policy.is_due([end], today).then_some(DueCase {
                stored,
                closed_on: ended,
            })
        })
        .collect())
}

/// The case with its personal data erased; ids, dates, phase, amounts and who/when stay.
pub fn erased(stored: &StoredCase) -> StoredCase {
    let mut s = stored.clone();
    let a = &mut s.applicant;
    a.national_id = None;
    a.name = ERASED.to_owned().into();
    a.address = Address {
        lines: vec![ERASED.to_owned()],
        postcode: String::new(),
        city: String::new(),
        country: a.address.country,
    };
    a.email = None;
    a.phone = None;
    let c = &mut s.case;
    c.unclarified.clear();
    for m in &mut c.meetings {
        m.place = ERASED.to_owned();
        m.interpreter = None;
    }
    for cr in &mut c.creditors {
        cr.name = ERASED.to_owned();
        cr.reference = None;
        cr.address = None;
        cr.email = None;
    }
    for item in &mut c.items {
        item.creditor = ERASED.to_owned();
        item.reference = None;
    }
    c.closing_note = c.closing_note.as_ref().map(|_| ERASED.to_owned());
    for e in c.notes.iter_mut().chain(c.timeline.iter_mut()) {
        e.text = ERASED.to_owned();
    }
    s
}

/// Erases every closed case due on `today` (nothing when `[retention] enabled = false`);
/// returns how many.
pub async fn erase_due(
    tx: &sea_orm::DatabaseTransaction,
    policy: &RetentionPolicy,
    today: BusinessDate,
) -> Result<usize, HandlerError> {
    if !policy.enabled {
        return Ok(0);
    }
    let legal_source = policy.legal_source_for(CATEGORY).to_owned();
    let mut erased_cases = 0;
    for due in due_cases(tx, policy, today.into()).await? {
        let gone = erased(&due.stored);
        if queries::erase_case(tx, &gone, due.closed_on.into(), today, &legal_source).await? {
            erased_cases += 1;
        }
    }
    Ok(erased_cases)
}
