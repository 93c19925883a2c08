//! SQL for agreements' tables (PostgreSQL and SQLite alike, `$n` placeholders). Reads return
//! typed rows; a stored value that cannot be read back is a [`DbErr::Custom`] naming the column.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, NaiveDate, Utc};
use restance_bus::sql::{
    date, get_date, get_money, get_opt_date, is_postgres, placeholder_list, rows_per_statement,
    stmt, value_rows,
};
use restance_kernel::{BusinessDate, Currency, Language, Money};
use sea_orm::{ConnectionTrait, DbErr, QueryResult, Value};
use serde::{Deserialize, Serialize};

use crate::domain::{DeferralReason, Frequency, Instalment, MeetingResult, ReminderState};

/// `(municipality, debtor_id)`: a debtor is per municipality.
pub type DebtorKey = (String, String);

fn opt_date(d: Option<BusinessDate>) -> Value {
    d.map(NaiveDate::from).into()
}

fn get_u32(row: &QueryResult, i: usize) -> Result<u32, DbErr> {
    let v: i64 = row.try_get_by_index(i)?;
    u32::try_from(v).map_err(|_| DbErr::Custom(format!("stored number {v} out of range")))
}

fn get_bool(row: &QueryResult, i: usize) -> Result<bool, DbErr> {
    row.try_get_by_index::<bool>(i)
}

fn parse<T>(what: &str, text: &str, f: impl FnOnce(&str) -> Option<T>) -> Result<T, DbErr> {
    f(text).ok_or_else(|| DbErr::Custom(format!("stored {what} {text:?} unreadable")))
}

fn get_currency(row: &QueryResult, i: usize) -> Result<Currency, DbErr> {
    let text: String = row.try_get_by_index(i)?;
    parse("currency", &text, |s| s.parse().ok())
}

fn json<T: Serialize>(value: &T) -> Result<String, DbErr> {
    serde_json::to_string(value).map_err(|e| DbErr::Custom(format!("cannot serialise: {e}")))
}

/// Where a claim stands in invoicing's books.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClaimState {
    /// Something to pay.
    Open,
    /// Paid in full (or credited).
    Settled,
    /// Written off.
    WrittenOff,
    /// Transferred to state collection: it left the municipality.
    Transferred,
}

impl ClaimState {
    /// The stored name.
    pub const fn as_str(self) -> &'static str {
        match self {
            ClaimState::Open => "open",
            ClaimState::Settled => "settled",
            ClaimState::WrittenOff => "written_off",
            ClaimState::Transferred => "transferred",
        }
    }

    fn parse(s: &str) -> Option<ClaimState> {
        Some(match s {
            "open" => ClaimState::Open,
            "settled" => ClaimState::Settled,
            "written_off" => ClaimState::WrittenOff,
            "transferred" => ClaimState::Transferred,
            _ => return None,
        })
    }
}

/// A claim as the projection holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimRow {
    /// Invoicing's claim id.
    pub claim_id: String,
    /// Municipality code.
    pub municipality: String,
    /// The debtor.
    pub debtor_id: String,
    /// The upstream system.
    pub source: String,
    /// Its invoice.
    pub invoice_id: String,
    /// Arrears category.
    pub category: String,
    /// The collection office.
    pub office: String,
    /// Currency.
    pub currency: Currency,
    /// The invoice amount.
    pub amount: Money,
    /// Open principal.
    pub principal: Money,
    /// Open fees.
    pub fees: Money,
    /// Open interest.
    pub interest: Money,
    /// Invoice date.
    pub issue_date: BusinessDate,
    /// Payment deadline.
    pub due_date: BusinessDate,
    /// Open, settled, written off, transferred.
    pub state: ClaimState,
    /// When it stopped being open.
    pub closed_date: Option<BusinessDate>,
    /// Invoicing's version of the claim the balance and state came from (0: only events
    /// without a version); an older claim event is ignored (`handlers::claims`).
    pub invoicing_version: u64,
}

impl ClaimRow {
    /// principal + fees + interest.
    pub fn balance(&self) -> Money {
        Money::checked_sum([self.principal, self.fees, self.interest]).unwrap_or(self.principal)
    }

    /// Still to be paid to the municipality.
    pub fn is_open(&self) -> bool {
        self.state == ClaimState::Open
    }
}

const CLAIM_COLUMNS: &str = "claim_id, municipality, debtor_id, source, invoice_id, category, office, \
    currency, amount_minor, principal_minor, fees_minor, interest_minor, issue_date, due_date, state, closed_date, \
    invoicing_version";

fn version_value(version: u64) -> Result<Value, DbErr> {
    i64::try_from(version)
        .map(Value::from)
        .map_err(|_| DbErr::Custom(format!("claim invoicing_version {version} too large")))
}

fn claim_from(r: &QueryResult) -> Result<ClaimRow, DbErr> {
    let state: String = r.try_get_by_index(14)?;
    Ok(ClaimRow {
        claim_id: r.try_get_by_index(0)?,
        municipality: r.try_get_by_index(1)?,
        debtor_id: r.try_get_by_index(2)?,
        source: r.try_get_by_index(3)?,
        invoice_id: r.try_get_by_index(4)?,
        category: r.try_get_by_index(5)?,
        office: r.try_get_by_index(6)?,
        currency: get_currency(r, 7)?,
        amount: get_money(r, 8)?,
        principal: get_money(r, 9)?,
        fees: get_money(r, 10)?,
        interest: get_money(r, 11)?,
        issue_date: get_date(r, 12)?,
        due_date: get_date(r, 13)?,
        state: parse("claim state", &state, ClaimState::parse)?,
        closed_date: get_opt_date(r, 15)?,
        invoicing_version: {
            let v: i64 = r.try_get_by_index(16)?;
            u64::try_from(v)
                .map_err(|_| DbErr::Custom(format!("negative claim invoicing_version {v}")))?
        },
    })
}

/// Stores a claim announced by invoicing; `false` if it was already there.
pub async fn insert_claim_if_new(db: &impl ConnectionTrait, c: &ClaimRow) -> Result<bool, DbErr> {
    let sql = format!(
        "INSERT INTO claims ({CLAIM_COLUMNS}) VALUES {} ON CONFLICT (claim_id) DO NOTHING",
        value_rows(1, 17)
    );
    let values: Vec<Value> = vec![
        c.claim_id.clone().into(),
        c.municipality.clone().into(),
        c.debtor_id.clone().into(),
        c.source.clone().into(),
        c.invoice_id.clone().into(),
        c.category.clone().into(),
        c.office.clone().into(),
        c.currency.code().into(),
        c.amount.to_minor().into(),
        c.principal.to_minor().into(),
        c.fees.to_minor().into(),
        c.interest.to_minor().into(),
        date(c.issue_date),
        date(c.due_date),
        c.state.as_str().into(),
        opt_date(c.closed_date),
        version_value(c.invoicing_version)?,
    ];
    Ok(db.execute_raw(stmt(db, sql, values)).await?.rows_affected() == 1)
}

/// One claim.
pub async fn claim(db: &impl ConnectionTrait, claim_id: &str) -> Result<Option<ClaimRow>, DbErr> {
    let sql = format!("SELECT {CLAIM_COLUMNS} FROM claims WHERE claim_id = $1");
    db.query_one_raw(stmt(db, sql, vec![claim_id.into()]))
        .await?
        .as_ref()
        .map(claim_from)
        .transpose()
}

/// Claims by id (any debtor), in the order stored.
pub async fn claims_by_id(
    db: &impl ConnectionTrait,
    ids: &[String],
) -> Result<Vec<ClaimRow>, DbErr> {
    let mut out = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(rows_per_statement(1)) {
        let sql = format!(
            "SELECT {CLAIM_COLUMNS} FROM claims WHERE claim_id IN ({}) ORDER BY due_date, claim_id",
            placeholder_list(1, chunk.len())
        );
        let values = chunk.iter().map(|s| Value::from(s.clone())).collect();
        for row in db.query_all_raw(stmt(db, sql, values)).await? {
            out.push(claim_from(&row)?);
        }
    }
    Ok(out)
}

/// Every claim of a debtor, oldest due date first.
pub async fn claims_of_debtor(
    db: &impl ConnectionTrait,
    municipality: &str,
    debtor_id: &str,
) -> Result<Vec<ClaimRow>, DbErr> {
    let sql = format!(
        "SELECT {CLAIM_COLUMNS} FROM claims WHERE municipality = $1 AND debtor_id = $2 ORDER BY due_date, claim_id"
    );
    db.query_all_raw(stmt(db, sql, vec![municipality.into(), debtor_id.into()]))
        .await?
        .iter()
        .map(claim_from)
        .collect()
}

/// The open amounts as invoicing has them.
pub async fn set_balance(
    db: &impl ConnectionTrait,
    claim_id: &str,
    principal: Money,
    fees: Money,
    interest: Money,
    invoicing_version: u64,
) -> Result<(), DbErr> {
    db.execute_raw(stmt(
        db,
        "UPDATE claims SET principal_minor = $2, fees_minor = $3, interest_minor = $4, \
         invoicing_version = $5 WHERE claim_id = $1",
        vec![
            claim_id.into(),
            principal.to_minor().into(),
            fees.to_minor().into(),
            interest.to_minor().into(),
            version_value(invoicing_version)?,
        ],
    ))
    .await?;
    Ok(())
}

/// The claim left the books (settled, written off, transferred) on `on`, as of invoicing's
/// `invoicing_version` of it; with `nothing_open` (a write-off, a versioned settlement) nothing
/// is open any more.
pub async fn close_claim(
    db: &impl ConnectionTrait,
    claim_id: &str,
    state: ClaimState,
    on: BusinessDate,
    nothing_open: bool,
    invoicing_version: u64,
) -> Result<(), DbErr> {
    let zero = if nothing_open {
        ", principal_minor = 0, fees_minor = 0, interest_minor = 0"
    } else {
        ""
    };
    db.execute_raw(stmt(
        db,
        format!(
            "UPDATE claims SET state = $2, closed_date = $3, invoicing_version = $4{zero} \
             WHERE claim_id = $1"
        ),
        vec![
            claim_id.into(),
            state.as_str().into(),
            date(on),
            version_value(invoicing_version)?,
        ],
    ))
    .await?;
    Ok(())
}

/// Takes SQLite's write lock at the start of an API transaction (a no-op on PostgreSQL, where the
/// row locks of [`lock_debtors`] serialise writers). A SQLite transaction that reads first and
/// writes later fails at once with "database is locked" when another connection wrote meanwhile;
/// one that writes first waits for the lock (the busy timeout) instead.
pub async fn begin_write(db: &impl ConnectionTrait) -> Result<(), DbErr> {
    if !is_postgres(db) {
        db.execute_raw(stmt(
            db,
            "UPDATE debtors SET debtor_id = debtor_id WHERE 1 = 0",
            vec![],
        ))
        .await?;
    }
    Ok(())
}

/// Creates the debtor rows that do not exist yet.
pub async fn ensure_debtors(db: &impl ConnectionTrait, keys: &[DebtorKey]) -> Result<(), DbErr> {
    for chunk in keys.chunks(rows_per_statement(2)) {
        let sql = format!(
            "INSERT INTO debtors (municipality, debtor_id) VALUES {} ON CONFLICT DO NOTHING",
            value_rows(chunk.len(), 2)
        );
        let mut values = Vec::with_capacity(chunk.len() * 2);
        for (m, d) in chunk {
            values.push(m.clone().into());
            values.push(d.clone().into());
        }
        db.execute_raw(stmt(db, sql, values)).await?;
    }
    Ok(())
}

/// Locks (PostgreSQL, key order) the debtor rows that exist; returns which exist. Every writer —
/// the consumer and the API — takes these locks first, in the same order, so that neither
/// changes an agreement the other is changing, and they cannot deadlock on each other.
pub async fn lock_debtors(
    db: &impl ConnectionTrait,
    keys: &[DebtorKey],
) -> Result<BTreeSet<DebtorKey>, DbErr> {
    let mut sorted: Vec<&DebtorKey> = keys.iter().collect();
    sorted.sort();
    sorted.dedup();
    let lock = if is_postgres(db) {
        " ORDER BY municipality, debtor_id FOR UPDATE"
    } else {
        ""
    };
    let mut by_municipality: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (m, d) in sorted {
        by_municipality.entry(m).or_default().push(d);
    }
    let mut out = BTreeSet::new();
    for (m, ids) in by_municipality {
        for chunk in ids.chunks(rows_per_statement(1) - 1) {
            let sql = format!(
                "SELECT municipality, debtor_id FROM debtors WHERE municipality = $1 AND debtor_id IN ({}){lock}",
                placeholder_list(2, chunk.len())
            );
            let mut values: Vec<Value> = vec![m.into()];
            values.extend(chunk.iter().map(|d| Value::from(*d)));
            for row in db.query_all_raw(stmt(db, sql, values)).await? {
                out.insert((row.try_get_by_index(0)?, row.try_get_by_index(1)?));
            }
        }
    }
    Ok(out)
}

/// The debtors with an agreement in force (an active plan or deferral, a scheduled meeting):
/// the daily work looks at them.
pub async fn debtors_with_agreements(db: &impl ConnectionTrait) -> Result<Vec<DebtorKey>, DbErr> {
    let rows = db
        .query_all_raw(stmt(
            db,
            "SELECT municipality, debtor_id FROM plans WHERE state = 'active' \
             UNION SELECT municipality, debtor_id FROM deferrals WHERE state = 'active' \
             UNION SELECT municipality, debtor_id FROM meetings WHERE state = 'scheduled'",
            vec![],
        ))
        .await?;
    rows.iter()
        .map(|r| Ok((r.try_get_by_index(0)?, r.try_get_by_index(1)?)))
        .collect()
}

/// The latest business date recorded (the shared query on this service's `business_days`).
pub use restance_bus::sql::last_business_date;

/// Records a business day.
pub async fn insert_business_day(
    db: &impl ConnectionTrait,
    day: BusinessDate,
) -> Result<bool, DbErr> {
    let r = db
        .execute_raw(stmt(
            db,
            "INSERT INTO business_days (business_date, opened_at) VALUES ($1, $2) ON CONFLICT DO NOTHING",
            vec![date(day), Utc::now().into()],
        ))
        .await?;
    Ok(r.rows_affected() == 1)
}

/// The next plan reference number of a municipality (1, 2, 3 …).
pub async fn next_reference_seq(
    db: &impl ConnectionTrait,
    municipality: &str,
) -> Result<u64, DbErr> {
    let row = db
        .query_one_raw(stmt(
            db,
            "INSERT INTO reference_sequences (municipality, last_seq) VALUES ($1, 1) \
             ON CONFLICT (municipality) DO UPDATE SET last_seq = reference_sequences.last_seq + 1 \
             RETURNING last_seq",
            vec![municipality.into()],
        ))
        .await?
        .ok_or_else(|| DbErr::Custom("the reference sequence returned nothing".into()))?;
    let seq: i64 = row.try_get_by_index(0)?;
    u64::try_from(seq).map_err(|_| DbErr::Custom(format!("reference sequence {seq} negative")))
}

/// A plan's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PlanStatus {
    /// In force.
    Active,
    /// Broken: instalments missed.
    Defaulted,
    /// Every covered claim left the books.
    Completed,
    /// Ended by agreement.
    Cancelled,
}

impl PlanStatus {
    /// The stored name.
    pub const fn as_str(self) -> &'static str {
        match self {
            PlanStatus::Active => "active",
            PlanStatus::Defaulted => "defaulted",
            PlanStatus::Completed => "completed",
            PlanStatus::Cancelled => "cancelled",
        }
    }

    fn parse(s: &str) -> Option<PlanStatus> {
        Some(match s {
            "active" => PlanStatus::Active,
            "defaulted" => PlanStatus::Defaulted,
            "completed" => PlanStatus::Completed,
            "cancelled" => PlanStatus::Cancelled,
            _ => return None,
        })
    }
}

/// A plan (its current revision).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanRow {
    /// The plan's id.
    pub plan_id: String,
    /// Municipality.
    pub municipality: String,
    /// Debtor.
    pub debtor_id: String,
    /// Whose letterhead its letters carry (the office of its oldest claim).
    pub office: String,
    /// Where it stands.
    pub state: PlanStatus,
    /// 1, then one more per revision.
    pub revision: u32,
    /// When it was first agreed.
    pub created_date: BusinessDate,
    /// When the current revision was agreed.
    pub revised_date: BusinessDate,
    /// Currency.
    pub currency: Currency,
    /// The current schedule's total.
    pub total: Money,
    /// How often instalments fall due.
    pub frequency: Frequency,
    /// The agreed terms as JSON (instalment, number of instalments or budget; first due date).
    pub terms: serde_json::Value,
    /// The plan's own payment reference (FIK payment id or KID).
    pub payment_reference: String,
    /// As printed: `+71<…+…<` or the KID.
    pub ocr_line: String,
    /// The caseworker's note (never on the bus or in logs).
    pub note: Option<String>,
    /// The revision for which the "balance left after the last instalment" task was raised.
    pub remaining_task_revision: Option<u32>,
    /// When it ended.
    pub ended_date: Option<BusinessDate>,
    /// Why it ended (`paid`, `cancelled: …`, the default reason).
    pub end_reason: Option<String>,
    /// Who agreed it (token name).
    pub created_by: String,
}

const PLAN_COLUMNS: &str = "plan_id, municipality, debtor_id, office, state, revision, created_date, revised_date, \
    currency, total_minor, frequency, terms, payment_reference, ocr_line, note, remaining_task_revision, \
    ended_date, end_reason, created_by";

fn plan_from(r: &QueryResult) -> Result<PlanRow, DbErr> {
    let state: String = r.try_get_by_index(4)?;
    let frequency: String = r.try_get_by_index(10)?;
    let terms: String = r.try_get_by_index(11)?;
    Ok(PlanRow {
        plan_id: r.try_get_by_index(0)?,
        municipality: r.try_get_by_index(1)?,
        debtor_id: r.try_get_by_index(2)?,
        office: r.try_get_by_index(3)?,
        state: parse("plan state", &state, PlanStatus::parse)?,
        revision: get_u32(r, 5)?,
        created_date: get_date(r, 6)?,
        revised_date: get_date(r, 7)?,
        currency: get_currency(r, 8)?,
        total: get_money(r, 9)?,
        frequency: parse("frequency", &frequency, |s| {
            serde_json::from_value(serde_json::Value::String(s.to_owned())).ok()
        })?,
        terms: serde_json::from_str(&terms)
            .map_err(|e| DbErr::Custom(format!("stored plan terms unreadable: {e}")))?,
        payment_reference: r.try_get_by_index(12)?,
        ocr_line: r.try_get_by_index(13)?,
        note: r.try_get_by_index(14)?,
        remaining_task_revision: r
            .try_get_by_index::<Option<i64>>(15)?
            .and_then(|v| u32::try_from(v).ok()),
        ended_date: get_opt_date(r, 16)?,
        end_reason: r.try_get_by_index(17)?,
        created_by: r.try_get_by_index(18)?,
    })
}

fn plan_values(p: &PlanRow) -> Result<Vec<Value>, DbErr> {
    Ok(vec![
        p.plan_id.clone().into(),
        p.municipality.clone().into(),
        p.debtor_id.clone().into(),
        p.office.clone().into(),
        p.state.as_str().into(),
        i64::from(p.revision).into(),
        date(p.created_date),
        date(p.revised_date),
        p.currency.code().into(),
        p.total.to_minor().into(),
        p.frequency.as_str().into(),
        json(&p.terms)?.into(),
        p.payment_reference.clone().into(),
        p.ocr_line.clone().into(),
        p.note.clone().into(),
        p.remaining_task_revision.map(i64::from).into(),
        opt_date(p.ended_date),
        p.end_reason.clone().into(),
        p.created_by.clone().into(),
    ])
}

/// Stores a new plan, or writes back a changed one (every column but the id).
pub async fn save_plan(db: &impl ConnectionTrait, p: &PlanRow) -> Result<(), DbErr> {
    let sql = format!(
        "INSERT INTO plans ({PLAN_COLUMNS}) VALUES {} ON CONFLICT (plan_id) DO UPDATE SET \
         state = excluded.state, revision = excluded.revision, revised_date = excluded.revised_date, \
         total_minor = excluded.total_minor, frequency = excluded.frequency, terms = excluded.terms, \
         note = excluded.note, remaining_task_revision = excluded.remaining_task_revision, \
         ended_date = excluded.ended_date, end_reason = excluded.end_reason",
        value_rows(1, 19)
    );
    db.execute_raw(stmt(db, sql, plan_values(p)?)).await?;
    Ok(())
}

/// One plan.
pub async fn plan(db: &impl ConnectionTrait, plan_id: &str) -> Result<Option<PlanRow>, DbErr> {
    let sql = format!("SELECT {PLAN_COLUMNS} FROM plans WHERE plan_id = $1");
    db.query_one_raw(stmt(db, sql, vec![plan_id.into()]))
        .await?
        .as_ref()
        .map(plan_from)
        .transpose()
}

/// A debtor's plans, newest first.
pub async fn plans_of_debtor(
    db: &impl ConnectionTrait,
    municipality: &str,
    debtor_id: &str,
) -> Result<Vec<PlanRow>, DbErr> {
    let sql = format!(
        "SELECT {PLAN_COLUMNS} FROM plans WHERE municipality = $1 AND debtor_id = $2 ORDER BY created_date DESC, plan_id"
    );
    db.query_all_raw(stmt(db, sql, vec![municipality.into(), debtor_id.into()]))
        .await?
        .iter()
        .map(plan_from)
        .collect()
}

/// Every active plan.
pub async fn active_plans(db: &impl ConnectionTrait) -> Result<Vec<PlanRow>, DbErr> {
    let sql = format!("SELECT {PLAN_COLUMNS} FROM plans WHERE state = 'active' ORDER BY plan_id");
    db.query_all_raw(stmt(db, sql, vec![]))
        .await?
        .iter()
        .map(plan_from)
        .collect()
}

/// A claim's place in a plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanClaim {
    /// The claim.
    pub claim_id: String,
    /// When it left the plan's coverage (transferred), if it did.
    pub left_date: Option<BusinessDate>,
    /// Why.
    pub left_reason: Option<String>,
}

/// Records the claims a plan covers.
pub async fn insert_plan_claims(
    db: &impl ConnectionTrait,
    plan_id: &str,
    claim_ids: &[String],
) -> Result<(), DbErr> {
    for chunk in claim_ids.chunks(rows_per_statement(2)) {
        let sql = format!(
            "INSERT INTO plan_claims (plan_id, claim_id) VALUES {} ON CONFLICT DO NOTHING",
            value_rows(chunk.len(), 2)
        );
        let mut values = Vec::with_capacity(chunk.len() * 2);
        for id in chunk {
            values.push(plan_id.into());
            values.push(id.clone().into());
        }
        db.execute_raw(stmt(db, sql, values)).await?;
    }
    Ok(())
}

/// The claims a plan covers (or covered).
pub async fn plan_claims(
    db: &impl ConnectionTrait,
    plan_id: &str,
) -> Result<Vec<PlanClaim>, DbErr> {
    db.query_all_raw(stmt(
        db,
        "SELECT claim_id, left_date, left_reason FROM plan_claims WHERE plan_id = $1 ORDER BY claim_id",
        vec![plan_id.into()],
    ))
    .await?
    .iter()
    .map(|r| {
        Ok(PlanClaim {
            claim_id: r.try_get_by_index(0)?,
            left_date: get_opt_date(r, 1)?,
            left_reason: r.try_get_by_index(2)?,
        })
    })
    .collect()
}

/// A claim leaves a plan's coverage.
pub async fn leave_plan(
    db: &impl ConnectionTrait,
    plan_id: &str,
    claim_id: &str,
    on: BusinessDate,
    reason: &str,
) -> Result<(), DbErr> {
    db.execute_raw(stmt(
        db,
        "UPDATE plan_claims SET left_date = $3, left_reason = $4 WHERE plan_id = $1 AND claim_id = $2 AND left_date IS NULL",
        vec![plan_id.into(), claim_id.into(), date(on), reason.into()],
    ))
    .await?;
    Ok(())
}

/// Stores a revision's schedule.
pub async fn insert_instalments(
    db: &impl ConnectionTrait,
    plan_id: &str,
    revision: u32,
    instalments: &[Instalment],
) -> Result<(), DbErr> {
    for (c, chunk) in instalments.chunks(rows_per_statement(5)).enumerate() {
        let sql = format!(
            "INSERT INTO instalments (plan_id, revision, seq, due_date, amount_minor) VALUES {} ON CONFLICT DO NOTHING",
            value_rows(chunk.len(), 5)
        );
        let mut values = Vec::with_capacity(chunk.len() * 5);
        for (i, inst) in chunk.iter().enumerate() {
            let seq = c * rows_per_statement(5) + i + 1;
            values.push(plan_id.into());
            values.push(i64::from(revision).into());
            values.push(i64::try_from(seq).unwrap_or(i64::MAX).into());
            values.push(date(inst.due_date));
            values.push(inst.amount.to_minor().into());
        }
        db.execute_raw(stmt(db, sql, values)).await?;
    }
    Ok(())
}

/// A revision's schedule, in order.
pub async fn instalments(
    db: &impl ConnectionTrait,
    plan_id: &str,
    revision: u32,
) -> Result<Vec<Instalment>, DbErr> {
    db.query_all_raw(stmt(
        db,
        "SELECT due_date, amount_minor FROM instalments WHERE plan_id = $1 AND revision = $2 ORDER BY seq",
        vec![plan_id.into(), i64::from(revision).into()],
    ))
    .await?
    .iter()
    .map(|r| {
        Ok(Instalment {
            due_date: get_date(r, 0)?,
            amount: get_money(r, 1)?,
        })
    })
    .collect()
}

/// Records what a payment paid on a covered claim (once per plan, payment and claim).
#[allow(clippy::too_many_arguments)]
pub async fn insert_plan_payment(
    db: &impl ConnectionTrait,
    plan_id: &str,
    payment_id: &str,
    claim_id: &str,
    revision: u32,
    booking_date: BusinessDate,
    amount: Money,
) -> Result<(), DbErr> {
    db.execute_raw(stmt(
        db,
        "INSERT INTO plan_payments (plan_id, payment_id, claim_id, revision, booking_date, amount_minor) \
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
        vec![
            plan_id.into(),
            payment_id.into(),
            claim_id.into(),
            i64::from(revision).into(),
            date(booking_date),
            amount.to_minor().into(),
        ],
    ))
    .await?;
    Ok(())
}

/// Paid towards a revision.
pub async fn plan_paid(
    db: &impl ConnectionTrait,
    plan_id: &str,
    revision: u32,
) -> Result<Money, DbErr> {
    // SUM(bigint) is numeric on PostgreSQL: cast back to BIGINT so both backends read an i64.
    let row = db
        .query_one_raw(stmt(
            db,
            "SELECT CAST(COALESCE(SUM(amount_minor), 0) AS BIGINT) FROM plan_payments \
             WHERE plan_id = $1 AND revision = $2",
            vec![plan_id.into(), i64::from(revision).into()],
        ))
        .await?;
    match row {
        Some(r) => Ok(Money::from_minor(r.try_get_by_index::<i64>(0)?)),
        None => Ok(Money::ZERO),
    }
}

/// Records a missed instalment and its reminder (once per revision and instalment).
pub async fn insert_miss(
    db: &impl ConnectionTrait,
    plan_id: &str,
    revision: u32,
    seq: u32,
    on: BusinessDate,
    notification_id: &str,
) -> Result<(), DbErr> {
    db.execute_raw(stmt(
        db,
        "INSERT INTO plan_misses (plan_id, revision, seq, missed_date, notification_id) VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT DO NOTHING",
        vec![
            plan_id.into(),
            i64::from(revision).into(),
            i64::from(seq).into(),
            date(on),
            notification_id.into(),
        ],
    ))
    .await?;
    Ok(())
}

/// The instalments of a revision that had their reminder.
pub async fn reminded(
    db: &impl ConnectionTrait,
    plan_id: &str,
    revision: u32,
) -> Result<BTreeSet<u32>, DbErr> {
    db.query_all_raw(stmt(
        db,
        "SELECT seq FROM plan_misses WHERE plan_id = $1 AND revision = $2",
        vec![plan_id.into(), i64::from(revision).into()],
    ))
    .await?
    .iter()
    .map(|r| get_u32(r, 0))
    .collect()
}

/// What an agreement covers: `plan` or `deferral`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CoverageKind {
    /// A payment plan.
    Plan,
    /// A deferral.
    Deferral,
}

impl CoverageKind {
    /// The stored name.
    pub const fn as_str(self) -> &'static str {
        match self {
            CoverageKind::Plan => "plan",
            CoverageKind::Deferral => "deferral",
        }
    }
}

/// Claims covered now, by kind: `(claim_id, agreement_id)`.
pub async fn coverage_of(
    db: &impl ConnectionTrait,
    kind: CoverageKind,
    claim_ids: &[String],
) -> Result<BTreeMap<String, String>, DbErr> {
    let mut out = BTreeMap::new();
    for chunk in claim_ids.chunks(rows_per_statement(1) - 1) {
        let sql = format!(
            "SELECT claim_id, agreement_id FROM coverage WHERE kind = $1 AND claim_id IN ({})",
            placeholder_list(2, chunk.len())
        );
        let mut values: Vec<Value> = vec![kind.as_str().into()];
        values.extend(chunk.iter().map(|c| Value::from(c.clone())));
        for r in db.query_all_raw(stmt(db, sql, values)).await? {
            out.insert(r.try_get_by_index(0)?, r.try_get_by_index(1)?);
        }
    }
    Ok(out)
}

/// Puts claims under an agreement. `false` (and nothing written that counts: the caller rolls
/// back) when one of them is already covered by another agreement of the kind.
pub async fn cover(
    db: &impl ConnectionTrait,
    kind: CoverageKind,
    agreement_id: &str,
    claim_ids: &[String],
) -> Result<bool, DbErr> {
    let mut inserted = 0u64;
    for chunk in claim_ids.chunks(rows_per_statement(3)) {
        let sql = format!(
            "INSERT INTO coverage (claim_id, kind, agreement_id) VALUES {} ON CONFLICT DO NOTHING",
            value_rows(chunk.len(), 3)
        );
        let mut values = Vec::with_capacity(chunk.len() * 3);
        for id in chunk {
            values.push(id.clone().into());
            values.push(kind.as_str().into());
            values.push(agreement_id.into());
        }
        inserted += db.execute_raw(stmt(db, sql, values)).await?.rows_affected();
    }
    Ok(inserted == claim_ids.len() as u64)
}

/// Ends an agreement's coverage (all its claims, or one).
pub async fn uncover(
    db: &impl ConnectionTrait,
    kind: CoverageKind,
    agreement_id: &str,
    claim_id: Option<&str>,
) -> Result<(), DbErr> {
    match claim_id {
        None => {
            db.execute_raw(stmt(
                db,
                "DELETE FROM coverage WHERE kind = $1 AND agreement_id = $2",
                vec![kind.as_str().into(), agreement_id.into()],
            ))
            .await?
        }
        Some(c) => {
            db.execute_raw(stmt(
                db,
                "DELETE FROM coverage WHERE kind = $1 AND agreement_id = $2 AND claim_id = $3",
                vec![kind.as_str().into(), agreement_id.into(), c.into()],
            ))
            .await?
        }
    };
    Ok(())
}

/// Where a deferral stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeferralStatus {
    /// In force.
    Active,
    /// Over (expired, revoked, replaced by a plan).
    Ended,
}

/// A deferral.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeferralRow {
    /// Its id.
    pub deferral_id: String,
    /// Municipality.
    pub municipality: String,
    /// Debtor.
    pub debtor_id: String,
    /// Whose letterhead.
    pub office: String,
    /// Active or ended.
    pub state: DeferralStatus,
    /// Why it was granted.
    pub reason: DeferralReason,
    /// First day.
    pub from: BusinessDate,
    /// Last day.
    pub until: BusinessDate,
    /// When the caseworker reviews it.
    pub review_date: Option<BusinessDate>,
    /// The review task was raised.
    pub review_raised: bool,
    /// The caseworker's note.
    pub note: Option<String>,
    /// When it ended.
    pub ended_date: Option<BusinessDate>,
    /// `expired`, `revoked` or `replaced_by_plan`.
    pub end_reason: Option<String>,
    /// Who granted it.
    pub created_by: String,
}

const DEFERRAL_COLUMNS: &str = "deferral_id, municipality, debtor_id, office, state, reason, from_date, until_date, \
    review_date, review_raised, note, ended_date, end_reason, created_by";

fn deferral_from(r: &QueryResult) -> Result<DeferralRow, DbErr> {
    let state: String = r.try_get_by_index(4)?;
    let reason: String = r.try_get_by_index(5)?;
    Ok(DeferralRow {
        deferral_id: r.try_get_by_index(0)?,
        municipality: r.try_get_by_index(1)?,
        debtor_id: r.try_get_by_index(2)?,
        office: r.try_get_by_index(3)?,
        state: parse("deferral state", &state, |s| match s {
            "active" => Some(DeferralStatus::Active),
            "ended" => Some(DeferralStatus::Ended),
            _ => None,
        })?,
        reason: parse("deferral reason", &reason, DeferralReason::parse)?,
        from: get_date(r, 6)?,
        until: get_date(r, 7)?,
        review_date: get_opt_date(r, 8)?,
        review_raised: get_bool(r, 9)?,
        note: r.try_get_by_index(10)?,
        ended_date: get_opt_date(r, 11)?,
        end_reason: r.try_get_by_index(12)?,
        created_by: r.try_get_by_index(13)?,
    })
}

/// Stores a new deferral or writes back a changed one.
pub async fn save_deferral(db: &impl ConnectionTrait, d: &DeferralRow) -> Result<(), DbErr> {
    let sql = format!(
        "INSERT INTO deferrals ({DEFERRAL_COLUMNS}) VALUES {} ON CONFLICT (deferral_id) DO UPDATE SET \
         state = excluded.state, review_raised = excluded.review_raised, ended_date = excluded.ended_date, \
         end_reason = excluded.end_reason",
        value_rows(1, 14)
    );
    let values: Vec<Value> = vec![
        d.deferral_id.clone().into(),
        d.municipality.clone().into(),
        d.debtor_id.clone().into(),
        d.office.clone().into(),
        match d.state {
            DeferralStatus::Active => "active",
            DeferralStatus::Ended => "ended",
        }
        .into(),
        d.reason.as_str().into(),
        date(d.from),
        date(d.until),
        opt_date(d.review_date),
        d.review_raised.into(),
        d.note.clone().into(),
        opt_date(d.ended_date),
        d.end_reason.clone().into(),
        d.created_by.clone().into(),
    ];
    db.execute_raw(stmt(db, sql, values)).await?;
    Ok(())
}

/// One deferral.
pub async fn deferral(db: &impl ConnectionTrait, id: &str) -> Result<Option<DeferralRow>, DbErr> {
    let sql = format!("SELECT {DEFERRAL_COLUMNS} FROM deferrals WHERE deferral_id = $1");
    db.query_one_raw(stmt(db, sql, vec![id.into()]))
        .await?
        .as_ref()
        .map(deferral_from)
        .transpose()
}

/// A debtor's deferrals, newest first.
pub async fn deferrals_of_debtor(
    db: &impl ConnectionTrait,
    municipality: &str,
    debtor_id: &str,
) -> Result<Vec<DeferralRow>, DbErr> {
    let sql = format!(
        "SELECT {DEFERRAL_COLUMNS} FROM deferrals WHERE municipality = $1 AND debtor_id = $2 ORDER BY from_date DESC, deferral_id"
    );
    db.query_all_raw(stmt(db, sql, vec![municipality.into(), debtor_id.into()]))
        .await?
        .iter()
        .map(deferral_from)
        .collect()
}

/// Every active deferral.
pub async fn active_deferrals(db: &impl ConnectionTrait) -> Result<Vec<DeferralRow>, DbErr> {
    let sql = format!(
        "SELECT {DEFERRAL_COLUMNS} FROM deferrals WHERE state = 'active' ORDER BY deferral_id"
    );
    db.query_all_raw(stmt(db, sql, vec![]))
        .await?
        .iter()
        .map(deferral_from)
        .collect()
}

/// Records the claims a deferral covers.
pub async fn insert_deferral_claims(
    db: &impl ConnectionTrait,
    deferral_id: &str,
    claim_ids: &[String],
) -> Result<(), DbErr> {
    for chunk in claim_ids.chunks(rows_per_statement(2)) {
        let sql = format!(
            "INSERT INTO deferral_claims (deferral_id, claim_id) VALUES {} ON CONFLICT DO NOTHING",
            value_rows(chunk.len(), 2)
        );
        let mut values = Vec::with_capacity(chunk.len() * 2);
        for id in chunk {
            values.push(deferral_id.into());
            values.push(id.clone().into());
        }
        db.execute_raw(stmt(db, sql, values)).await?;
    }
    Ok(())
}

/// The claims a deferral covers.
pub async fn deferral_claims(
    db: &impl ConnectionTrait,
    deferral_id: &str,
) -> Result<Vec<String>, DbErr> {
    db.query_all_raw(stmt(
        db,
        "SELECT claim_id FROM deferral_claims WHERE deferral_id = $1 ORDER BY claim_id",
        vec![deferral_id.into()],
    ))
    .await?
    .iter()
    .map(|r| r.try_get_by_index(0))
    .collect()
}

/// Where a meeting stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MeetingStatus {
    /// Booked.
    Scheduled,
    /// It took place.
    Held,
    /// The debtor did not come.
    Missed,
}

impl MeetingStatus {
    /// The stored name.
    pub const fn as_str(self) -> &'static str {
        match self {
            MeetingStatus::Scheduled => "scheduled",
            MeetingStatus::Held => "held",
            MeetingStatus::Missed => "missed",
        }
    }

    fn parse(s: &str) -> Option<MeetingStatus> {
        Some(match s {
            "scheduled" => MeetingStatus::Scheduled,
            "held" => MeetingStatus::Held,
            "missed" => MeetingStatus::Missed,
            _ => return None,
        })
    }
}

/// A meeting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MeetingRow {
    /// Its id.
    pub meeting_id: String,
    /// Municipality.
    pub municipality: String,
    /// Debtor.
    pub debtor_id: String,
    /// The office holding it.
    pub office: String,
    /// When it starts.
    pub starts_at: DateTime<Utc>,
    /// Its local date.
    pub date: BusinessDate,
    /// Local wall time, `2026-12-15T09:30`.
    pub local_time: String,
    /// Where.
    pub place: String,
    /// The social caseworker takes part.
    pub with_social_caseworker: bool,
    /// An interpreter for this language.
    pub interpreter: Option<Language>,
    /// The claims it is about (empty: the debtor's situation as a whole).
    pub claim_ids: Vec<String>,
    /// Scheduled, held, missed.
    pub state: MeetingStatus,
    /// The business day the SMS reminder goes out.
    pub reminder_date: BusinessDate,
    /// Whether it went out.
    pub reminder: ReminderState,
    /// The "record the outcome" task was raised.
    pub overdue_raised: bool,
    /// When the outcome was recorded for.
    pub outcome_date: Option<BusinessDate>,
    /// How it went.
    pub result: Option<MeetingResult>,
    /// The caseworker's note.
    pub note: Option<String>,
    /// Who booked it.
    pub created_by: String,
}

const MEETING_COLUMNS: &str = "meeting_id, municipality, debtor_id, office, starts_at, meeting_date, local_time, place, \
    with_social_caseworker, interpreter, claim_ids, state, reminder_date, reminder, overdue_raised, outcome_date, \
    result, note, created_by";

fn meeting_from(r: &QueryResult) -> Result<MeetingRow, DbErr> {
    let starts: String = r.try_get_by_index(4)?;
    let interpreter: Option<String> = r.try_get_by_index(9)?;
    let claims: String = r.try_get_by_index(10)?;
    let state: String = r.try_get_by_index(11)?;
    let reminder: String = r.try_get_by_index(13)?;
    let result: Option<String> = r.try_get_by_index(16)?;
    Ok(MeetingRow {
        meeting_id: r.try_get_by_index(0)?,
        municipality: r.try_get_by_index(1)?,
        debtor_id: r.try_get_by_index(2)?,
        office: r.try_get_by_index(3)?,
        starts_at: parse("meeting start", &starts, |s| {
            DateTime::parse_from_rfc3339(s)
                .ok()
                .map(|t| t.with_timezone(&Utc))
        })?,
        date: get_date(r, 5)?,
        local_time: r.try_get_by_index(6)?,
        place: r.try_get_by_index(7)?,
        with_social_caseworker: get_bool(r, 8)?,
        interpreter: interpreter
            .map(|l| parse("interpreter language", &l, |s| s.parse().ok()))
            .transpose()?,
        claim_ids: serde_json::from_str(&claims)
            .map_err(|e| DbErr::Custom(format!("stored meeting claims unreadable: {e}")))?,
        state: parse("meeting state", &state, MeetingStatus::parse)?,
        reminder_date: get_date(r, 12)?,
        reminder: parse("reminder state", &reminder, ReminderState::parse)?,
        overdue_raised: get_bool(r, 14)?,
        outcome_date: get_opt_date(r, 15)?,
        result: result
            .map(|s| parse("meeting result", &s, MeetingResult::parse))
            .transpose()?,
        note: r.try_get_by_index(17)?,
        created_by: r.try_get_by_index(18)?,
    })
}

/// Stores a new meeting or writes back a changed one.
pub async fn save_meeting(db: &impl ConnectionTrait, m: &MeetingRow) -> Result<(), DbErr> {
    let sql = format!(
        "INSERT INTO meetings ({MEETING_COLUMNS}) VALUES {} ON CONFLICT (meeting_id) DO UPDATE SET \
         state = excluded.state, reminder = excluded.reminder, overdue_raised = excluded.overdue_raised, \
         outcome_date = excluded.outcome_date, result = excluded.result, note = excluded.note",
        value_rows(1, 19)
    );
    let values: Vec<Value> = vec![
        m.meeting_id.clone().into(),
        m.municipality.clone().into(),
        m.debtor_id.clone().into(),
        m.office.clone().into(),
        m.starts_at
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
            .into(),
        date(m.date),
        m.local_time.clone().into(),
        m.place.clone().into(),
        m.with_social_caseworker.into(),
        m.interpreter.map(|l| l.code().to_owned()).into(),
        json(&m.claim_ids)?.into(),
        m.state.as_str().into(),
        date(m.reminder_date),
        m.reminder.as_str().into(),
        m.overdue_raised.into(),
        opt_date(m.outcome_date),
        m.result.map(|r| r.as_str().to_owned()).into(),
        m.note.clone().into(),
        m.created_by.clone().into(),
    ];
    db.execute_raw(stmt(db, sql, values)).await?;
    Ok(())
}

/// One meeting.
pub async fn meeting(db: &impl ConnectionTrait, id: &str) -> Result<Option<MeetingRow>, DbErr> {
    let sql = format!("SELECT {MEETING_COLUMNS} FROM meetings WHERE meeting_id = $1");
    db.query_one_raw(stmt(db, sql, vec![id.into()]))
        .await?
        .as_ref()
        .map(meeting_from)
        .transpose()
}

/// A debtor's meetings, newest first.
pub async fn meetings_of_debtor(
    db: &impl ConnectionTrait,
    municipality: &str,
    debtor_id: &str,
) -> Result<Vec<MeetingRow>, DbErr> {
    let sql = format!(
        "SELECT {MEETING_COLUMNS} FROM meetings WHERE municipality = $1 AND debtor_id = $2 ORDER BY meeting_date DESC, meeting_id"
    );
    db.query_all_raw(stmt(db, sql, vec![municipality.into(), debtor_id.into()]))
        .await?
        .iter()
        .map(meeting_from)
        .collect()
}

/// Every scheduled meeting.
pub async fn scheduled_meetings(db: &impl ConnectionTrait) -> Result<Vec<MeetingRow>, DbErr> {
    let sql = format!(
        "SELECT {MEETING_COLUMNS} FROM meetings WHERE state = 'scheduled' ORDER BY meeting_id"
    );
    db.query_all_raw(stmt(db, sql, vec![]))
        .await?
        .iter()
        .map(meeting_from)
        .collect()
}

/// A task for a caseworker.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskRow {
    /// Deterministic per kind and subject.
    pub task_id: String,
    /// `review_deferral`, `meeting_missed`, `meeting_outcome`, `plan_defaulted`,
    /// `plan_balance_remaining`, `plan_coverage_changed`.
    pub kind: String,
    /// Municipality.
    pub municipality: String,
    /// The office whose caseworkers see it.
    pub office: String,
    /// The debtor.
    pub debtor_id: String,
    /// The plan, deferral or meeting it is about.
    pub subject: String,
    /// When it should be done.
    pub due_date: BusinessDate,
    /// What to do (no personal data).
    pub text: String,
    /// `open` or `done`.
    pub state: String,
    /// The business date it was raised.
    pub created_date: BusinessDate,
    /// Who marked it done.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub done_by: Option<String>,
    /// When (wall clock, for the audit trail).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub done_at: Option<DateTime<Utc>>,
}

const TASK_COLUMNS: &str = "task_id, kind, municipality, office, debtor_id, subject, due_date, text, state, \
    created_date, done_by, done_at";

fn task_from(r: &QueryResult) -> Result<TaskRow, DbErr> {
    Ok(TaskRow {
        task_id: r.try_get_by_index(0)?,
        kind: r.try_get_by_index(1)?,
        municipality: r.try_get_by_index(2)?,
        office: r.try_get_by_index(3)?,
        debtor_id: r.try_get_by_index(4)?,
        subject: r.try_get_by_index(5)?,
        due_date: get_date(r, 6)?,
        text: r.try_get_by_index(7)?,
        state: r.try_get_by_index(8)?,
        created_date: get_date(r, 9)?,
        done_by: r.try_get_by_index(10)?,
        done_at: r.try_get_by_index(11)?,
    })
}

/// Raises a task unless it exists; `true` when it is new.
pub async fn insert_task_if_new(db: &impl ConnectionTrait, t: &TaskRow) -> Result<bool, DbErr> {
    let sql = format!(
        "INSERT INTO tasks ({TASK_COLUMNS}) VALUES {} ON CONFLICT (task_id) DO NOTHING",
        value_rows(1, 12)
    );
    let values: Vec<Value> = vec![
        t.task_id.clone().into(),
        t.kind.clone().into(),
        t.municipality.clone().into(),
        t.office.clone().into(),
        t.debtor_id.clone().into(),
        t.subject.clone().into(),
        date(t.due_date),
        t.text.clone().into(),
        t.state.clone().into(),
        date(t.created_date),
        t.done_by.clone().into(),
        t.done_at.into(),
    ];
    Ok(db.execute_raw(stmt(db, sql, values)).await?.rows_affected() == 1)
}

/// One task, locked on PostgreSQL for the rest of the transaction.
pub async fn lock_task(db: &impl ConnectionTrait, id: &str) -> Result<Option<TaskRow>, DbErr> {
    let lock = if is_postgres(db) { " FOR UPDATE" } else { "" };
    let sql = format!("SELECT {TASK_COLUMNS} FROM tasks WHERE task_id = $1{lock}");
    db.query_one_raw(stmt(db, sql, vec![id.into()]))
        .await?
        .as_ref()
        .map(task_from)
        .transpose()
}

/// Marks a task done.
pub async fn complete_task(db: &impl ConnectionTrait, id: &str, by: &str) -> Result<(), DbErr> {
    db.execute_raw(stmt(
        db,
        "UPDATE tasks SET state = 'done', done_by = $2, done_at = $3 WHERE task_id = $1",
        vec![id.into(), by.into(), Utc::now().into()],
    ))
    .await?;
    Ok(())
}

/// Which tasks to list.
#[derive(Debug, Clone, Default)]
pub struct TaskFilter {
    /// Only this municipality.
    pub municipality: Option<String>,
    /// Only this office.
    pub office: Option<String>,
    /// Only this debtor id (with `municipality`: that municipality's debtor).
    pub debtor_id: Option<String>,
    /// `open` or `done`.
    pub state: Option<String>,
    /// At most this many.
    pub limit: i64,
}

/// Tasks, by due date.
pub async fn tasks(db: &impl ConnectionTrait, f: &TaskFilter) -> Result<Vec<TaskRow>, DbErr> {
    let mut clauses = Vec::new();
    let mut values: Vec<Value> = Vec::new();
    let mut add = |clause: &str, value: String| {
        values.push(value.into());
        clauses.push(format!("{clause} = ${}", values.len()));
    };
    if let Some(m) = &f.municipality {
        add("municipality", m.clone());
    }
    if let Some(o) = &f.office {
        add("office", o.clone());
    }
    if let Some(d) = &f.debtor_id {
        add("debtor_id", d.clone());
    }
    if let Some(s) = &f.state {
        add("state", s.clone());
    }
    let filter = if clauses.is_empty() {
        String::new()
    } else {
        format!(" WHERE {}", clauses.join(" AND "))
    };
    values.push(f.limit.into());
    let sql = format!(
        "SELECT {TASK_COLUMNS} FROM tasks{filter} ORDER BY due_date, task_id LIMIT ${}",
        values.len()
    );
    db.query_all_raw(stmt(db, sql, values))
        .await?
        .iter()
        .map(task_from)
        .collect()
}

/// Open tasks (for the gauge).
pub async fn open_task_count(db: &impl ConnectionTrait) -> Result<i64, DbErr> {
    let row = db
        .query_one_raw(stmt(
            db,
            "SELECT COUNT(*) FROM tasks WHERE state = 'open'",
            vec![],
        ))
        .await?;
    match row {
        Some(r) => r.try_get_by_index::<i64>(0),
        None => Ok(0),
    }
}

/// One audit entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditRow {
    /// Order of writing.
    pub seq: i64,
    /// When (wall clock).
    pub at: DateTime<Utc>,
    /// Who: the token's name (`caseworker#1`) or `system` for what the service did by itself.
    pub caller: String,
    /// The caller's role.
    pub role: String,
    /// What: `create_plan`, `revise_plan`, `plan_defaulted` …
    pub action: String,
    /// Which: `plan:<id>`, `deferral:<id>`, `meeting:<id>`, `task:<id>`.
    pub entity: String,
    /// `done` or `refused`.
    pub outcome: String,
    /// The entity before (absent for a new one).
    pub before: Option<serde_json::Value>,
    /// The entity after (absent for a refusal).
    pub after: Option<serde_json::Value>,
    /// A line: the reason of a refusal, the date of an automatic change.
    pub detail: String,
}

/// What an audit entry records.
#[derive(Debug, Clone, Copy)]
pub struct AuditEntry<'a> {
    /// Who.
    pub caller: &'a str,
    /// Their role.
    pub role: &'a str,
    /// What.
    pub action: &'a str,
    /// Which entity.
    pub entity: &'a str,
    /// `done` or `refused`.
    pub outcome: &'a str,
    /// Before.
    pub before: Option<&'a serde_json::Value>,
    /// After.
    pub after: Option<&'a serde_json::Value>,
    /// A line of detail (no personal data).
    pub detail: &'a str,
}

/// Appends to the audit trail.
pub async fn audit(db: &impl ConnectionTrait, e: AuditEntry<'_>) -> Result<(), DbErr> {
    let before = e.before.map(json).transpose()?;
    let after = e.after.map(json).transpose()?;
    db.execute_raw(stmt(
        db,
        "INSERT INTO audit (at, caller, role, action, entity, outcome, before_json, after_json, detail) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        vec![
            Utc::now().into(),
            e.caller.into(),
            e.role.into(),
            e.action.into(),
            e.entity.into(),
            e.outcome.into(),
            before.into(),
            after.into(),
            e.detail.into(),
        ],
    ))
    .await?;
    Ok(())
}

/// Audit entries, newest first: optionally of one entity, before a sequence number.
pub async fn audit_entries(
    db: &impl ConnectionTrait,
    entity: Option<&str>,
    before_seq: Option<i64>,
    limit: i64,
) -> Result<Vec<AuditRow>, DbErr> {
    let mut clauses = Vec::new();
    let mut values: Vec<Value> = Vec::new();
    if let Some(e) = entity {
        values.push(e.into());
        clauses.push(format!("entity = ${}", values.len()));
    }
    if let Some(s) = before_seq {
        values.push(s.into());
        clauses.push(format!("seq < ${}", values.len()));
    }
    let filter = if clauses.is_empty() {
        String::new()
    } else {
        format!(" WHERE {}", clauses.join(" AND "))
    };
    values.push(limit.into());
    let sql = format!(
        "SELECT seq, at, caller, role, action, entity, outcome, before_json, after_json, detail FROM audit{filter} \
         ORDER BY seq DESC LIMIT ${}",
        values.len()
    );
    db.query_all_raw(stmt(db, sql, values))
        .await?
        .iter()
        .map(|r| {
            let before: Option<String> = r.try_get_by_index(7)?;
            let after: Option<String> = r.try_get_by_index(8)?;
            let read = |t: Option<String>| -> Result<Option<serde_json::Value>, DbErr> {
                t.map(|t| {
                    serde_json::from_str(&t)
                        .map_err(|e| DbErr::Custom(format!("stored audit JSON unreadable: {e}")))
                })
                .transpose()
            };
            Ok(AuditRow {
                seq: r.try_get_by_index(0)?,
                at: r.try_get_by_index(1)?,
                caller: r.try_get_by_index(2)?,
                role: r.try_get_by_index(3)?,
                action: r.try_get_by_index(4)?,
                entity: r.try_get_by_index(5)?,
                outcome: r.try_get_by_index(6)?,
                before: read(before)?,
                after: read(after)?,
                detail: r.try_get_by_index(9)?,
            })
        })
        .collect()
}
