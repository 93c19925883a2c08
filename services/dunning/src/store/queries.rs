//! SQL for dunning's tables (PostgreSQL and SQLite alike, `$n` placeholders). Lookups go per
//! municipality with `debtor_id IN (…)` so that the `(municipality, debtor_id)` keys serve them;
//! writes of many rows are multi-row statements.

use std::collections::BTreeMap;

use chrono::{NaiveDate, Utc};
use restance_bus::sql::{
    date, get_date, get_opt_date, is_postgres, placeholder_list, rows_per_statement, stmt,
    value_rows,
};
use restance_contracts::messages::Debtor;
use restance_kernel::{BusinessDate, Currency, Money, PartyKind};
use sea_orm::{ConnectionTrait, DbErr, QueryResult, Value};
use serde::{Deserialize, Serialize};

use crate::domain::{
    BrokenAgreement, CategoryFlags, ClaimBalance, ClaimHistory, ClaimState, ClaimStatus, Hold,
    HoldKind, Scope,
};

/// `(municipality, debtor_id)`: a debtor is per municipality.
pub type DebtorKey = (String, String);

/// A claim row: what the decision reads, and what letters and transfers print.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimRow {
    /// Invoicing's claim id.
    pub claim_id: String,
    /// Municipality code.
    pub municipality: String,
    /// The debtor (per municipality).
    pub debtor_id: String,
    /// The upstream system.
    pub source: String,
    /// Its invoice id (printed in letters).
    pub invoice_id: String,
    /// The arrears category key.
    pub category: String,
    /// The collection office.
    pub office: String,
    /// The currency.
    pub currency: Currency,
    /// The invoice amount.
    pub amount: Money,
    /// What is open.
    pub balance: ClaimBalance,
    /// Issue date.
    pub issue_date: BusinessDate,
    /// Payment deadline.
    pub due_date: BusinessDate,
    /// The reference digits (FIK payment id or KID).
    pub payment_reference: String,
    /// The FIK +71 line as printed, when invoicing gave one.
    pub ocr_line: Option<String>,
    /// Open, settled, written off, transferred.
    pub status: ClaimStatus,
    /// The last acknowledgement (a part payment).
    pub last_acknowledged: Option<BusinessDate>,
    /// What dunning did.
    pub history: ClaimHistory,
    /// The supply suspension request in force, if supply was closed for it.
    pub suspension_id: Option<String>,
    /// When the claim needs looking at again (informational; the debtor row drives the run).
    pub next_action_date: Option<BusinessDate>,
    /// Invoicing's version of the claim the balance and status came from (0: only events
    /// without a version): an older claim event arriving later is ignored
    /// (`handlers::claims`, `ClaimCopy`).
    pub invoicing_version: u64,
}

impl ClaimRow {
    /// The claim as the decision reads it.
    pub fn state(&self, flags: CategoryFlags) -> ClaimState {
        ClaimState {
            claim_id: self.claim_id.clone(),
            category: self.category.clone(),
            flags,
            office: self.office.clone(),
            currency: self.currency,
            due_date: self.due_date,
            balance: self.balance,
            payment_reference: Some(self.payment_reference.clone()),
            status: self.status,
            last_acknowledged: self.last_acknowledged,
            history: self.history.clone(),
        }
    }

    /// Takes over what the decision changed (history, balance, status).
    pub fn update_from(&mut self, state: &ClaimState) {
        self.history = state.history.clone();
        self.balance = state.balance;
        self.status = state.status;
    }
}

/// The wire name of a claim status.
pub fn status_name(status: ClaimStatus) -> &'static str {
    match status {
        ClaimStatus::Open => "open",
        ClaimStatus::Settled => "settled",
        ClaimStatus::WrittenOff => "written_off",
        ClaimStatus::Transferred => "transferred",
    }
}

fn parse_status(s: &str) -> Result<ClaimStatus, DbErr> {
    Ok(match s {
        "open" => ClaimStatus::Open,
        "settled" => ClaimStatus::Settled,
        "written_off" => ClaimStatus::WrittenOff,
        "transferred" => ClaimStatus::Transferred,
        other => return Err(DbErr::Custom(format!("unknown claim status {other:?}"))),
    })
}

/// The wire name of a hold kind.
pub fn hold_kind_name(kind: HoldKind) -> &'static str {
    match kind {
        HoldKind::Plan => "plan",
        HoldKind::Deferral => "deferral",
        HoldKind::Meeting => "meeting",
        HoldKind::Dispute => "dispute",
    }
}

fn parse_hold_kind(s: &str) -> Result<HoldKind, DbErr> {
    Ok(match s {
        "plan" => HoldKind::Plan,
        "deferral" => HoldKind::Deferral,
        "meeting" => HoldKind::Meeting,
        "dispute" => HoldKind::Dispute,
        other => return Err(DbErr::Custom(format!("unknown hold kind {other:?}"))),
    })
}

fn opt_date(d: Option<BusinessDate>) -> Value {
    d.map(NaiveDate::from).into()
}

fn json<T: Serialize>(value: &T) -> Result<String, DbErr> {
    serde_json::to_string(value).map_err(|e| DbErr::Custom(format!("cannot serialise: {e}")))
}

fn scope_json(scope: &Scope) -> Result<Option<String>, DbErr> {
    match scope {
        Scope::Debtor => Ok(None),
        Scope::Claims(ids) => json(ids).map(Some),
    }
}

fn scope_from(text: Option<String>) -> Result<Scope, DbErr> {
    match text {
        None => Ok(Scope::Debtor),
        Some(t) => serde_json::from_str(&t)
            .map(Scope::Claims)
            .map_err(|e| DbErr::Custom(format!("stored claim ids unreadable: {e}"))),
    }
}

const CLAIM_COLUMNS: &str = "claim_id, municipality, debtor_id, source, invoice_id, category, office, \
    currency, amount_minor, principal_minor, fees_minor, interest_minor, issue_date, due_date, \
    payment_reference, ocr_line, status, last_acknowledged, history, suspension_id, next_action_date, \
    invoicing_version";
const CLAIM_COLS: usize = 22;

fn claim_from(row: &QueryResult) -> Result<ClaimRow, DbErr> {
    let currency: String = row.try_get_by_index(7)?;
    let status: String = row.try_get_by_index(16)?;
    let history: String = row.try_get_by_index(18)?;
    Ok(ClaimRow {
        claim_id: row.try_get_by_index(0)?,
        municipality: row.try_get_by_index(1)?,
        debtor_id: row.try_get_by_index(2)?,
        source: row.try_get_by_index(3)?,
        invoice_id: row.try_get_by_index(4)?,
        category: row.try_get_by_index(5)?,
        office: row.try_get_by_index(6)?,
        currency: currency
            .parse()
            .map_err(|_| DbErr::Custom(format!("stored currency {currency:?} unreadable")))?,
        amount: Money::from_minor(row.try_get_by_index(8)?),
        balance: ClaimBalance {
            principal: Money::from_minor(row.try_get_by_index(9)?),
            fees: Money::from_minor(row.try_get_by_index(10)?),
            interest: Money::from_minor(row.try_get_by_index(11)?),
        },
        issue_date: get_date(row, 12)?,
        due_date: get_date(row, 13)?,
        payment_reference: row.try_get_by_index(14)?,
        ocr_line: row.try_get_by_index(15)?,
        status: parse_status(&status)?,
        last_acknowledged: get_opt_date(row, 17)?,
        history: serde_json::from_str(&history)
            .map_err(|e| DbErr::Custom(format!("stored claim history unreadable: {e}")))?,
        suspension_id: row.try_get_by_index(19)?,
        next_action_date: get_opt_date(row, 20)?,
        invoicing_version: {
            let v: i64 = row.try_get_by_index(21)?;
            u64::try_from(v)
                .map_err(|_| DbErr::Custom(format!("negative claim invoicing_version {v}")))?
        },
    })
}

fn claim_values(c: &ClaimRow, out: &mut Vec<Value>) -> Result<(), DbErr> {
    out.push(c.claim_id.clone().into());
    out.push(c.municipality.clone().into());
    out.push(c.debtor_id.clone().into());
    out.push(c.source.clone().into());
    out.push(c.invoice_id.clone().into());
    out.push(c.category.clone().into());
    out.push(c.office.clone().into());
    out.push(c.currency.code().into());
    out.push(c.amount.to_minor().into());
    out.push(c.balance.principal.to_minor().into());
    out.push(c.balance.fees.to_minor().into());
    out.push(c.balance.interest.to_minor().into());
    out.push(date(c.issue_date));
    out.push(date(c.due_date));
    out.push(c.payment_reference.clone().into());
    out.push(c.ocr_line.clone().into());
    out.push(status_name(c.status).into());
    out.push(opt_date(c.last_acknowledged));
    out.push(json(&c.history)?.into());
    out.push(c.suspension_id.clone().into());
    out.push(opt_date(c.next_action_date));
    out.push(
        i64::try_from(c.invoicing_version)
            .map_err(|_| {
                DbErr::Custom(format!(
                    "claim invoicing_version {} too large",
                    c.invoicing_version
                ))
            })?
            .into(),
    );
    Ok(())
}

/// Stores a claim announced by invoicing; `false` if it was already there (a re-sent event).
pub async fn insert_claim_if_new(db: &impl ConnectionTrait, c: &ClaimRow) -> Result<bool, DbErr> {
    let sql = format!(
        "INSERT INTO claims ({CLAIM_COLUMNS}) VALUES {} ON CONFLICT (claim_id) DO NOTHING",
        value_rows(1, CLAIM_COLS)
    );
    let mut values = Vec::with_capacity(CLAIM_COLS);
    claim_values(c, &mut values)?;
    Ok(db.execute_raw(stmt(db, sql, values)).await?.rows_affected() == 1)
}

/// Writes claims back (balance, status, history, acknowledgement, suspension, next date);
/// multi-row. The identity columns of an existing claim are never changed.
pub async fn upsert_claims(db: &impl ConnectionTrait, claims: &[ClaimRow]) -> Result<(), DbErr> {
    for chunk in claims.chunks(rows_per_statement(CLAIM_COLS)) {
        let sql = format!(
            "INSERT INTO claims ({CLAIM_COLUMNS}) VALUES {} ON CONFLICT (claim_id) DO UPDATE SET \
             principal_minor = excluded.principal_minor, fees_minor = excluded.fees_minor, \
             interest_minor = excluded.interest_minor, status = excluded.status, \
             last_acknowledged = excluded.last_acknowledged, history = excluded.history, \
             suspension_id = excluded.suspension_id, next_action_date = excluded.next_action_date, \
             invoicing_version = excluded.invoicing_version",
            value_rows(chunk.len(), CLAIM_COLS)
        );
        let mut values = Vec::with_capacity(chunk.len() * CLAIM_COLS);
        for c in chunk {
            claim_values(c, &mut values)?;
        }
        db.execute_raw(stmt(db, sql, values)).await?;
    }
    Ok(())
}

/// One claim by id.
pub async fn claim(db: &impl ConnectionTrait, claim_id: &str) -> Result<Option<ClaimRow>, DbErr> {
    let sql = format!("SELECT {CLAIM_COLUMNS} FROM claims WHERE claim_id = $1");
    db.query_one_raw(stmt(db, sql, vec![claim_id.into()]))
        .await?
        .as_ref()
        .map(claim_from)
        .transpose()
}

/// Claims by id (any debtor).
pub async fn claims_by_id(
    db: &impl ConnectionTrait,
    ids: &[String],
) -> Result<Vec<ClaimRow>, DbErr> {
    let mut out = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(rows_per_statement(1)) {
        let sql = format!(
            "SELECT {CLAIM_COLUMNS} FROM claims WHERE claim_id IN ({})",
            placeholder_list(1, chunk.len())
        );
        let values = chunk.iter().map(|s| Value::from(s.clone())).collect();
        for row in db.query_all_raw(stmt(db, sql, values)).await? {
            out.push(claim_from(&row)?);
        }
    }
    Ok(out)
}

/// Groups debtor keys by municipality (for index-friendly `IN` lists).
fn by_municipality(keys: &[DebtorKey]) -> BTreeMap<&str, Vec<&str>> {
    let mut map: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (m, d) in keys {
        map.entry(m.as_str()).or_default().push(d.as_str());
    }
    for ids in map.values_mut() {
        ids.sort_unstable();
        ids.dedup();
    }
    map
}

/// Runs `select` (ending in `debtor_id IN (`) per municipality and chunk of debtor ids.
async fn per_debtor_chunk(
    db: &impl ConnectionTrait,
    keys: &[DebtorKey],
    select: &str,
    suffix: &str,
) -> Result<Vec<QueryResult>, DbErr> {
    let mut out = Vec::new();
    for (m, ids) in by_municipality(keys) {
        for chunk in ids.chunks(rows_per_statement(1) - 1) {
            let sql = format!(
                "{select} WHERE municipality = $1 AND debtor_id IN ({}){suffix}",
                placeholder_list(2, chunk.len())
            );
            let mut values: Vec<Value> = vec![m.into()];
            values.extend(chunk.iter().map(|d| Value::from(*d)));
            out.extend(db.query_all_raw(stmt(db, sql, values)).await?);
        }
    }
    Ok(out)
}

/// The claims the decision needs of these debtors: the open ones, and those whose supply was
/// closed (they may need a restoration request). Settled, written-off and transferred claims
/// have left dunning.
pub async fn live_claims_of(
    db: &impl ConnectionTrait,
    keys: &[DebtorKey],
) -> Result<Vec<ClaimRow>, DbErr> {
    let rows = per_debtor_chunk(
        db,
        keys,
        &format!("SELECT {CLAIM_COLUMNS} FROM claims"),
        " AND (status = 'open' OR suspension_id IS NOT NULL)",
    )
    .await?;
    rows.iter().map(claim_from).collect()
}

/// A debtor row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DebtorRow {
    /// Person or company.
    pub kind: PartyKind,
    /// The earliest next action date of its claims.
    pub next_action_date: Option<BusinessDate>,
}

fn party_kind(s: &str) -> PartyKind {
    if s == "company" {
        PartyKind::Company
    } else {
        PartyKind::Person
    }
}

/// Creates the debtor rows that do not exist yet (a person until invoicing says otherwise).
pub async fn ensure_debtors(db: &impl ConnectionTrait, keys: &[DebtorKey]) -> Result<(), DbErr> {
    for chunk in keys.chunks(rows_per_statement(3)) {
        let sql = format!(
            "INSERT INTO debtors (municipality, debtor_id, kind) VALUES {} ON CONFLICT DO NOTHING",
            value_rows(chunk.len(), 3)
        );
        let mut values = Vec::with_capacity(chunk.len() * 3);
        for (m, d) in chunk {
            values.push(m.clone().into());
            values.push(d.clone().into());
            values.push("person".into());
        }
        db.execute_raw(stmt(db, sql, values)).await?;
    }
    Ok(())
}

/// Reads (and on PostgreSQL locks, in key order) the debtor rows. The daily run and the event
/// handlers both take these locks first, in the same order, before touching a debtor's claims:
/// neither can overwrite what the other just wrote, and they cannot deadlock on each other.
pub async fn lock_debtors(
    db: &impl ConnectionTrait,
    keys: &[DebtorKey],
) -> Result<BTreeMap<DebtorKey, DebtorRow>, DbErr> {
    let lock = if is_postgres(db) {
        " ORDER BY municipality, debtor_id FOR UPDATE"
    } else {
        ""
    };
    let rows = per_debtor_chunk(
        db,
        keys,
        "SELECT municipality, debtor_id, kind, next_action_date FROM debtors",
        lock,
    )
    .await?;
    let mut out = BTreeMap::new();
    for row in rows {
        let kind: String = row.try_get_by_index(2)?;
        out.insert(
            (row.try_get_by_index(0)?, row.try_get_by_index(1)?),
            DebtorRow {
                kind: party_kind(&kind),
                next_action_date: get_opt_date(&row, 3)?,
            },
        );
    }
    Ok(out)
}

/// Sets the debtors' next action dates.
pub async fn set_next_action_dates(
    db: &impl ConnectionTrait,
    dates: &[(DebtorKey, Option<BusinessDate>)],
) -> Result<(), DbErr> {
    for chunk in dates.chunks(rows_per_statement(4)) {
        let sql = format!(
            "INSERT INTO debtors (municipality, debtor_id, kind, next_action_date) VALUES {} \
             ON CONFLICT (municipality, debtor_id) DO UPDATE SET next_action_date = excluded.next_action_date",
            value_rows(chunk.len(), 4)
        );
        let mut values = Vec::with_capacity(chunk.len() * 4);
        for ((m, d), next) in chunk {
            values.push(m.clone().into());
            values.push(d.clone().into());
            values.push("person".into());
            values.push(opt_date(*next));
        }
        db.execute_raw(stmt(db, sql, values)).await?;
    }
    Ok(())
}

/// Stores the debtor's details from `invoicing.debtor.updated.v1` (personal data) with the
/// version of the copy they came from (0: a copy without a version). The caller decided with
/// [`stored_debtor_copy`], read under the debtor's lock ([`lock_debtors`]).
pub async fn set_debtor_details(
    db: &impl ConnectionTrait,
    municipality: &str,
    debtor: &Debtor,
    version: i64,
) -> Result<(), DbErr> {
    db.execute_raw(stmt(
        db,
        "INSERT INTO debtors (municipality, debtor_id, kind, details, details_version) VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (municipality, debtor_id) DO UPDATE SET kind = excluded.kind, details = excluded.details, \
         details_version = excluded.details_version",
        vec![
            municipality.into(),
            debtor.id.clone().into(),
            debtor.kind.as_str().into(),
            json(debtor)?.into(),
            version.into(),
        ],
    ))
    .await?;
    Ok(())
}

/// A debtor's stored details and the version they came from, if invoicing announced them.
pub async fn stored_debtor_copy(
    db: &impl ConnectionTrait,
    municipality: &str,
    debtor_id: &str,
) -> Result<Option<(Debtor, i64)>, DbErr> {
    let Some(row) = db
        .query_one_raw(stmt(
            db,
            "SELECT details, details_version FROM debtors \
             WHERE municipality = $1 AND debtor_id = $2 AND details IS NOT NULL",
            vec![municipality.into(), debtor_id.into()],
        ))
        .await?
    else {
        return Ok(None);
    };
    let text: String = row.try_get_by_index(0)?;
    let debtor: Debtor = serde_json::from_str(&text)
        .map_err(|e| DbErr::Custom(format!("stored debtor details unreadable: {e}")))?;
    Ok(Some((debtor, row.try_get_by_index(1)?)))
}

/// The stored details of these debtors (only those invoicing announced).
pub async fn debtor_details(
    db: &impl ConnectionTrait,
    keys: &[DebtorKey],
) -> Result<BTreeMap<DebtorKey, Debtor>, DbErr> {
    let rows = per_debtor_chunk(
        db,
        keys,
        "SELECT municipality, debtor_id, details FROM debtors",
        " AND details IS NOT NULL",
    )
    .await?;
    let mut out = BTreeMap::new();
    for row in rows {
        let text: String = row.try_get_by_index(2)?;
        let debtor: Debtor = serde_json::from_str(&text)
            .map_err(|e| DbErr::Custom(format!("stored debtor details unreadable: {e}")))?;
        out.insert((row.try_get_by_index(0)?, row.try_get_by_index(1)?), debtor);
    }
    Ok(out)
}

/// Debtors due on `date`, in index order after `cursor` (`next_action_date, municipality,
/// debtor_id`), at most `limit`.
pub async fn due_debtors(
    db: &impl ConnectionTrait,
    day: BusinessDate,
    cursor: Option<&RunCursor>,
    limit: usize,
) -> Result<Vec<RunCursor>, DbErr> {
    let limit = i64::try_from(limit).unwrap_or(500);
    let (sql, values) = match cursor {
        None => (
            "SELECT next_action_date, municipality, debtor_id FROM debtors \
             WHERE next_action_date <= $1 \
             ORDER BY next_action_date, municipality, debtor_id LIMIT $2",
            vec![date(day), limit.into()],
        ),
        Some(c) => (
            "SELECT next_action_date, municipality, debtor_id FROM debtors \
             WHERE next_action_date <= $1 AND (next_action_date, municipality, debtor_id) > ($2, $3, $4) \
             ORDER BY next_action_date, municipality, debtor_id LIMIT $5",
            vec![
                date(day),
                date(c.next_action_date),
                c.municipality.clone().into(),
                c.debtor_id.clone().into(),
                limit.into(),
            ],
        ),
    };
    db.query_all_raw(stmt(db, sql, values))
        .await?
        .iter()
        .map(|r| {
            Ok(RunCursor {
                next_action_date: get_date(r, 0)?,
                municipality: r.try_get_by_index(1)?,
                debtor_id: r.try_get_by_index(2)?,
            })
        })
        .collect()
}

/// A stored hold with its reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HoldRow {
    /// The debtor.
    pub key: DebtorKey,
    /// The hold.
    pub hold: Hold,
    /// Why (a dispute's reason; the caseworker's words for a deferral).
    pub reason: Option<String>,
}

/// Every hold (current and ended) of these debtors.
pub async fn holds_of(
    db: &impl ConnectionTrait,
    keys: &[DebtorKey],
) -> Result<Vec<HoldRow>, DbErr> {
    let rows = per_debtor_chunk(
        db,
        keys,
        "SELECT municipality, debtor_id, kind, hold_id, claim_ids, from_date, until_date, reason FROM holds",
        "",
    )
    .await?;
    rows.iter()
        .map(|r| {
            let kind: String = r.try_get_by_index(2)?;
            Ok(HoldRow {
                key: (r.try_get_by_index(0)?, r.try_get_by_index(1)?),
                hold: Hold {
                    hold_id: r.try_get_by_index(3)?,
                    kind: parse_hold_kind(&kind)?,
                    scope: scope_from(r.try_get_by_index(4)?)?,
                    from: get_date(r, 5)?,
                    until: get_opt_date(r, 6)?,
                },
                reason: r.try_get_by_index(7)?,
            })
        })
        .collect()
}

/// Records a hold; a repeat of the same hold (same kind and id) updates its dates and scope.
pub async fn upsert_hold(
    db: &impl ConnectionTrait,
    key: &DebtorKey,
    hold: &Hold,
    reason: Option<&str>,
) -> Result<(), DbErr> {
    db.execute_raw(stmt(
        db,
        "INSERT INTO holds (municipality, debtor_id, kind, hold_id, claim_ids, from_date, until_date, reason) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (municipality, debtor_id, kind, hold_id) DO UPDATE \
         SET claim_ids = excluded.claim_ids, from_date = excluded.from_date, until_date = excluded.until_date, \
         reason = COALESCE(excluded.reason, holds.reason)",
        vec![
            key.0.clone().into(),
            key.1.clone().into(),
            hold_kind_name(hold.kind).into(),
            hold.hold_id.clone().into(),
            scope_json(&hold.scope)?.into(),
            date(hold.from),
            opt_date(hold.until),
            reason.map(str::to_owned).into(),
        ],
    ))
    .await?;
    Ok(())
}

/// Ends a hold: its last held day becomes `until` (never later than an end it already has).
/// Returns `false` if there is no such hold.
pub async fn end_hold(
    db: &impl ConnectionTrait,
    key: &DebtorKey,
    kind: HoldKind,
    hold_id: &str,
    until: BusinessDate,
) -> Result<bool, DbErr> {
    let result = db
        .execute_raw(stmt(
            db,
            "UPDATE holds SET until_date = CASE WHEN until_date IS NOT NULL AND until_date < $5 THEN until_date ELSE $5 END \
             WHERE municipality = $1 AND debtor_id = $2 AND kind = $3 AND hold_id = $4",
            vec![
                key.0.clone().into(),
                key.1.clone().into(),
                hold_kind_name(kind).into(),
                hold_id.into(),
                date(until),
            ],
        ))
        .await?;
    Ok(result.rows_affected() > 0)
}

/// Records a broken agreement (once per agreement).
pub async fn insert_broken_agreement(
    db: &impl ConnectionTrait,
    key: &DebtorKey,
    broken: &BrokenAgreement,
) -> Result<(), DbErr> {
    db.execute_raw(stmt(
        db,
        "INSERT INTO broken_agreements (municipality, debtor_id, agreement_id, claim_ids, broken_on) \
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
        vec![
            key.0.clone().into(),
            key.1.clone().into(),
            broken.agreement_id.clone().into(),
            scope_json(&broken.scope)?.into(),
            date(broken.date),
        ],
    ))
    .await?;
    Ok(())
}

/// The broken agreements of these debtors.
pub async fn broken_agreements_of(
    db: &impl ConnectionTrait,
    keys: &[DebtorKey],
) -> Result<Vec<(DebtorKey, BrokenAgreement)>, DbErr> {
    let rows = per_debtor_chunk(
        db,
        keys,
        "SELECT municipality, debtor_id, agreement_id, claim_ids, broken_on FROM broken_agreements",
        "",
    )
    .await?;
    rows.iter()
        .map(|r| {
            Ok((
                (r.try_get_by_index(0)?, r.try_get_by_index(1)?),
                BrokenAgreement {
                    agreement_id: r.try_get_by_index(2)?,
                    scope: scope_from(r.try_get_by_index(3)?)?,
                    date: get_date(r, 4)?,
                },
            ))
        })
        .collect()
}

/// One entry of a claim's dunning history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HistoryRow {
    /// The claim.
    pub claim_id: String,
    /// The natural key within the claim (`step:2`, `fee:<id>`, `interest:<id>` …).
    pub entry_key: String,
    /// The business date.
    pub business_date: BusinessDate,
    /// Order within the day.
    pub position: i64,
    /// The action's name (`reminder`, `fee`, `hold_started` …).
    pub action: String,
    /// The policy step, if any.
    pub step: Option<u32>,
    /// `policy@version`, or `-` for events that are not a policy decision.
    pub policy: String,
    /// Why.
    pub reason: String,
    /// The action as JSON (amounts, ids, letter).
    pub detail: String,
}

const HISTORY_COLS: usize = 9;

/// Appends history entries; an entry whose natural key exists is left as it is.
pub async fn insert_history(db: &impl ConnectionTrait, rows: &[HistoryRow]) -> Result<(), DbErr> {
    for chunk in rows.chunks(rows_per_statement(HISTORY_COLS)) {
        let sql = format!(
            "INSERT INTO history (claim_id, entry_key, business_date, position, action, step, policy, reason, detail) \
             VALUES {} ON CONFLICT (claim_id, entry_key) DO NOTHING",
            value_rows(chunk.len(), HISTORY_COLS)
        );
        let mut values = Vec::with_capacity(chunk.len() * HISTORY_COLS);
        for h in chunk {
            values.push(h.claim_id.clone().into());
            values.push(h.entry_key.clone().into());
            values.push(date(h.business_date));
            values.push(h.position.into());
            values.push(h.action.clone().into());
            values.push(h.step.map(i64::from).into());
            values.push(h.policy.clone().into());
            values.push(h.reason.clone().into());
            values.push(h.detail.clone().into());
        }
        db.execute_raw(stmt(db, sql, values)).await?;
    }
    Ok(())
}

/// A claim's history, oldest first.
pub async fn history_of(
    db: &impl ConnectionTrait,
    claim_id: &str,
) -> Result<Vec<HistoryRow>, DbErr> {
    let rows = db
        .query_all_raw(stmt(
            db,
            "SELECT claim_id, entry_key, business_date, position, action, step, policy, reason, detail \
             FROM history WHERE claim_id = $1 ORDER BY business_date, position, entry_key",
            vec![claim_id.into()],
        ))
        .await?;
    rows.iter()
        .map(|r| {
            Ok(HistoryRow {
                claim_id: r.try_get_by_index(0)?,
                entry_key: r.try_get_by_index(1)?,
                business_date: get_date(r, 2)?,
                position: r.try_get_by_index(3)?,
                action: r.try_get_by_index(4)?,
                step: r
                    .try_get_by_index::<Option<i64>>(5)?
                    .and_then(|s| u32::try_from(s).ok()),
                policy: r.try_get_by_index(6)?,
                reason: r.try_get_by_index(7)?,
                detail: r.try_get_by_index(8)?,
            })
        })
        .collect()
}

/// Where the daily run is: the last debtor key it committed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunCursor {
    /// The debtor's next action date when it was selected.
    pub next_action_date: BusinessDate,
    /// Municipality.
    pub municipality: String,
    /// Debtor.
    pub debtor_id: String,
}

/// A business day and its run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BusinessDay {
    /// The date.
    pub date: BusinessDate,
    /// `pending`, `running` or `done`.
    pub state: String,
    /// Where the run is.
    pub cursor: Option<RunCursor>,
    /// Debtors evaluated so far.
    pub debtors: i64,
    /// Decisions taken so far.
    pub decisions: i64,
}

/// The latest business date recorded (the shared query on this service's `business_days`).
pub use restance_bus::sql::last_business_date;

/// Records a business day to run.
pub async fn insert_business_day(
    db: &impl ConnectionTrait,
    day: BusinessDate,
) -> Result<bool, DbErr> {
    let r = db
        .execute_raw(stmt(
            db,
            "INSERT INTO business_days (business_date, state, opened_at) VALUES ($1, 'pending', $2) ON CONFLICT DO NOTHING",
            vec![date(day), Utc::now().into()],
        ))
        .await?;
    Ok(r.rows_affected() == 1)
}

fn day_from(r: &QueryResult) -> Result<BusinessDay, DbErr> {
    let cursor = match (
        get_opt_date(r, 2)?,
        r.try_get_by_index::<Option<String>>(3)?,
        r.try_get_by_index::<Option<String>>(4)?,
    ) {
        (Some(next_action_date), Some(municipality), Some(debtor_id)) => Some(RunCursor {
            next_action_date,
            municipality,
            debtor_id,
        }),
        _ => None,
    };
    Ok(BusinessDay {
        date: get_date(r, 0)?,
        state: r.try_get_by_index(1)?,
        cursor,
        debtors: r.try_get_by_index(5)?,
        decisions: r.try_get_by_index(6)?,
    })
}

const DAY_COLUMNS: &str =
    "business_date, state, cursor_date, cursor_municipality, cursor_debtor, debtors, decisions";

/// The earliest business day whose run has not finished.
pub async fn next_unfinished_day(db: &impl ConnectionTrait) -> Result<Option<BusinessDay>, DbErr> {
    let sql = format!(
        "SELECT {DAY_COLUMNS} FROM business_days WHERE state <> 'done' ORDER BY business_date LIMIT 1"
    );
    db.query_one_raw(stmt(db, sql, vec![]))
        .await?
        .as_ref()
        .map(day_from)
        .transpose()
}

/// Reads the day's run state, locked on PostgreSQL for the rest of the transaction (one chunk
/// of one run at a time, even with several replicas).
pub async fn lock_day(
    db: &impl ConnectionTrait,
    day: BusinessDate,
) -> Result<Option<BusinessDay>, DbErr> {
    let lock = if is_postgres(db) { " FOR UPDATE" } else { "" };
    let sql = format!("SELECT {DAY_COLUMNS} FROM business_days WHERE business_date = $1{lock}");
    db.query_one_raw(stmt(db, sql, vec![date(day)]))
        .await?
        .as_ref()
        .map(day_from)
        .transpose()
}

/// Advances the day's run after a chunk.
pub async fn advance_day(
    db: &impl ConnectionTrait,
    day: BusinessDate,
    cursor: &RunCursor,
    debtors: i64,
    decisions: i64,
) -> Result<(), DbErr> {
    db.execute_raw(stmt(
        db,
        "UPDATE business_days SET state = 'running', cursor_date = $2, cursor_municipality = $3, \
         cursor_debtor = $4, debtors = debtors + $5, decisions = decisions + $6 WHERE business_date = $1",
        vec![
            date(day),
            date(cursor.next_action_date),
            cursor.municipality.clone().into(),
            cursor.debtor_id.clone().into(),
            debtors.into(),
            decisions.into(),
        ],
    ))
    .await?;
    Ok(())
}

/// Marks the day's run finished.
pub async fn finish_day(db: &impl ConnectionTrait, day: BusinessDate) -> Result<(), DbErr> {
    db.execute_raw(stmt(
        db,
        "UPDATE business_days SET state = 'done', finished_at = $2 WHERE business_date = $1",
        vec![date(day), Utc::now().into()],
    ))
    .await?;
    Ok(())
}

/// A write-off proposal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WriteOffRow {
    /// The proposal id.
    pub write_off_id: String,
    /// The claim.
    pub claim_id: String,
    /// Municipality.
    pub municipality: String,
    /// Debtor.
    pub debtor_id: String,
    /// The limitation date reached.
    pub limitation_date: BusinessDate,
    /// What would be written off.
    pub balance: Money,
    /// Currency.
    pub currency: Currency,
    /// When proposed.
    pub proposed_date: BusinessDate,
    /// `proposed`, `approved`, `written_off` or `withdrawn`.
    pub state: String,
    /// Who approved it (token name).
    pub approved_by: Option<String>,
    /// When (wall clock, for the audit trail).
    pub approved_at: Option<chrono::DateTime<Utc>>,
    /// The business date of the approval.
    pub approved_date: Option<BusinessDate>,
}

const WRITE_OFF_COLUMNS: &str = "write_off_id, claim_id, municipality, debtor_id, limitation_date, balance_minor, \
    currency, proposed_date, state, approved_by, approved_at, approved_date";

fn write_off_from(r: &QueryResult) -> Result<WriteOffRow, DbErr> {
    let currency: String = r.try_get_by_index(6)?;
    Ok(WriteOffRow {
        write_off_id: r.try_get_by_index(0)?,
        claim_id: r.try_get_by_index(1)?,
        municipality: r.try_get_by_index(2)?,
        debtor_id: r.try_get_by_index(3)?,
        limitation_date: get_date(r, 4)?,
        balance: Money::from_minor(r.try_get_by_index(5)?),
        currency: currency
            .parse()
            .map_err(|_| DbErr::Custom(format!("stored currency {currency:?} unreadable")))?,
        proposed_date: get_date(r, 7)?,
        state: r.try_get_by_index(8)?,
        approved_by: r.try_get_by_index(9)?,
        approved_at: r.try_get_by_index(10)?,
        approved_date: get_opt_date(r, 11)?,
    })
}

/// Records a proposal (once per proposal id).
pub async fn insert_write_offs(
    db: &impl ConnectionTrait,
    rows: &[WriteOffRow],
) -> Result<(), DbErr> {
    for w in rows {
        db.execute_raw(stmt(
            db,
            "INSERT INTO write_offs (write_off_id, claim_id, municipality, debtor_id, limitation_date, \
             balance_minor, currency, proposed_date, state) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'proposed') \
             ON CONFLICT DO NOTHING",
            vec![
                w.write_off_id.clone().into(),
                w.claim_id.clone().into(),
                w.municipality.clone().into(),
                w.debtor_id.clone().into(),
                date(w.limitation_date),
                w.balance.to_minor().into(),
                w.currency.code().into(),
                date(w.proposed_date),
            ],
        ))
        .await?;
    }
    Ok(())
}

/// Proposals in a state, oldest first.
pub async fn write_offs_in_state(
    db: &impl ConnectionTrait,
    state: &str,
    limit: i64,
) -> Result<Vec<WriteOffRow>, DbErr> {
    let sql = format!(
        "SELECT {WRITE_OFF_COLUMNS} FROM write_offs WHERE state = $1 ORDER BY proposed_date, write_off_id LIMIT $2"
    );
    db.query_all_raw(stmt(db, sql, vec![state.into(), limit.into()]))
        .await?
        .iter()
        .map(write_off_from)
        .collect()
}

/// Every proposal for a claim.
pub async fn write_offs_of_claim(
    db: &impl ConnectionTrait,
    claim_id: &str,
) -> Result<Vec<WriteOffRow>, DbErr> {
    let sql = format!(
        "SELECT {WRITE_OFF_COLUMNS} FROM write_offs WHERE claim_id = $1 ORDER BY proposed_date, write_off_id"
    );
    db.query_all_raw(stmt(db, sql, vec![claim_id.into()]))
        .await?
        .iter()
        .map(write_off_from)
        .collect()
}

/// One proposal, locked on PostgreSQL for the rest of the transaction.
pub async fn lock_write_off(
    db: &impl ConnectionTrait,
    id: &str,
) -> Result<Option<WriteOffRow>, DbErr> {
    let lock = if is_postgres(db) { " FOR UPDATE" } else { "" };
    let sql = format!("SELECT {WRITE_OFF_COLUMNS} FROM write_offs WHERE write_off_id = $1{lock}");
    db.query_one_raw(stmt(db, sql, vec![id.into()]))
        .await?
        .as_ref()
        .map(write_off_from)
        .transpose()
}

/// Marks a proposal approved.
pub async fn approve_write_off(
    db: &impl ConnectionTrait,
    id: &str,
    by: &str,
    on: BusinessDate,
) -> Result<(), DbErr> {
    db.execute_raw(stmt(
        db,
        "UPDATE write_offs SET state = 'approved', approved_by = $2, approved_at = $3, approved_date = $4 \
         WHERE write_off_id = $1",
        vec![id.into(), by.into(), Utc::now().into(), date(on)],
    ))
    .await?;
    Ok(())
}

/// A claim left dunning: its open proposals become `written_off` (it was written off) or
/// `withdrawn` (paid or transferred).
pub async fn close_write_offs(
    db: &impl ConnectionTrait,
    claim_id: &str,
    state: &str,
) -> Result<(), DbErr> {
    db.execute_raw(stmt(
        db,
        "UPDATE write_offs SET state = $2 WHERE claim_id = $1 AND state IN ('proposed', 'approved')",
        vec![claim_id.into(), state.into()],
    ))
    .await?;
    Ok(())
}

/// Appends to the API audit trail (who, what, when, outcome). `detail` must not hold personal
/// data.
pub async fn audit(
    db: &impl ConnectionTrait,
    caller: &str,
    role: &str,
    action: &str,
    target: &str,
    outcome: &str,
    detail: &str,
) -> Result<(), DbErr> {
    db.execute_raw(stmt(
        db,
        "INSERT INTO api_audit (at, caller, role, action, target, outcome, detail) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        vec![
            Utc::now().into(),
            caller.into(),
            role.into(),
            action.into(),
            target.into(),
            outcome.into(),
            detail.into(),
        ],
    ))
    .await?;
    Ok(())
}

/// Records one more failed attempt at `debtor` in `day`'s run, with the error; returns how many
/// there have been.
pub async fn record_run_failure(
    db: &impl ConnectionTrait,
    day: BusinessDate,
    debtor: &RunCursor,
    error: &str,
) -> Result<i64, DbErr> {
    let error: String = error.chars().take(1000).collect();
    let row = db
        .query_one_raw(stmt(
            db,
            "INSERT INTO run_failures (business_date, municipality, debtor_id, failures, last_error, updated_at) \
             VALUES ($1, $2, $3, 1, $4, $5) \
             ON CONFLICT (business_date, municipality, debtor_id) DO UPDATE \
             SET failures = run_failures.failures + 1, last_error = excluded.last_error, updated_at = excluded.updated_at \
             RETURNING failures",
            vec![
                date(day),
                debtor.municipality.clone().into(),
                debtor.debtor_id.clone().into(),
                error.into(),
                Utc::now().into(),
            ],
        ))
        .await?
        .ok_or_else(|| DbErr::Custom("recording a run failure returned no row".into()))?;
    row.try_get_by_index(0)
}

/// Marks `debtor` as parked for `day`.
pub async fn park_debtor(
    db: &impl ConnectionTrait,
    day: BusinessDate,
    debtor: &RunCursor,
) -> Result<(), DbErr> {
    db.execute_raw(stmt(
        db,
        "UPDATE run_failures SET parked = 1 WHERE business_date = $1 AND municipality = $2 AND debtor_id = $3",
        vec![
            date(day),
            debtor.municipality.clone().into(),
            debtor.debtor_id.clone().into(),
        ],
    ))
    .await?;
    Ok(())
}

/// A debtor the daily run parked, with why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ParkedDebtor {
    /// The business day it was parked for.
    pub business_date: BusinessDate,
    /// Municipality.
    pub municipality: String,
    /// Debtor.
    pub debtor_id: String,
    /// Failed attempts.
    pub failures: i64,
    /// The last error.
    pub last_error: String,
}

/// The debtors parked on `day`, in key order.
pub async fn parked_debtors(
    db: &impl ConnectionTrait,
    day: BusinessDate,
) -> Result<Vec<ParkedDebtor>, DbErr> {
    let rows = db
        .query_all_raw(stmt(
            db,
            "SELECT municipality, debtor_id, failures, last_error FROM run_failures \
             WHERE business_date = $1 AND parked = 1 ORDER BY municipality, debtor_id",
            vec![date(day)],
        ))
        .await?;
    rows.iter()
        .map(|r| {
            Ok(ParkedDebtor {
                business_date: day,
                municipality: r.try_get_by_index(0)?,
                debtor_id: r.try_get_by_index(1)?,
                failures: r.try_get_by_index(2)?,
                last_error: r.try_get_by_index(3)?,
            })
        })
        .collect()
}

/// A debtor's claims with their categories (plain columns only, so that it answers even when a
/// claim's stored state cannot be read).
pub async fn claim_refs(
    db: &impl ConnectionTrait,
    key: &DebtorKey,
) -> Result<Vec<(String, String)>, DbErr> {
    let rows = db
        .query_all_raw(stmt(
            db,
            "SELECT claim_id, category FROM claims WHERE municipality = $1 AND debtor_id = $2 \
             ORDER BY claim_id LIMIT 500",
            vec![key.0.clone().into(), key.1.clone().into()],
        ))
        .await?;
    rows.iter()
        .map(|r| Ok((r.try_get_by_index(0)?, r.try_get_by_index(1)?)))
        .collect()
}
