//! `benefits` and `benefit_links`: each benefit paid with its classification, and every
//! guarantee it was found linked to (as spouse or resident) with what that link means.

use restance_kernel::{BusinessDate, Money, Redacted};
use restance_store::date;
use sea_orm::sea_query::{Expr, ExprTrait, JoinType, OnConflict, Order, Query};
use sea_orm::{ConnectionTrait, DbErr};

use super::{from_word, get, get_date, get_money, word};
use crate::domain::{BenefitLaw, Classification, NotRecoverableReason, Role};

/// A benefit paid, as stored.
#[derive(Debug, Clone)]
pub struct NewBenefit {
    /// The envelope source (with `benefit_id`, the natural key).
    pub source: String,
    /// The benefits system's id for the payment.
    pub benefit_id: String,
    /// The paying municipality.
    pub municipality: String,
    /// The recipient (never logged).
    pub recipient_national_id: Redacted<String>,
    /// The act.
    pub law: BenefitLaw,
    /// The amount paid.
    pub amount: Money,
    /// The day it was paid.
    pub paid_date: BusinessDate,
    /// SHA-256 of the message's data: the same benefit again must carry the same.
    pub content_hash: String,
}

/// One word for what a benefit paid means, for the `classification` column and the metric:
/// `recoverable` (it may also be reported: see the `reported` column), `reported` (reported,
/// not recoverable), `no_guarantee` (the recipient is in no guarantee), `not_recoverable`.
pub fn outcome(c: &Classification) -> &'static str {
    if c.recoverable_from.is_some() {
        "recoverable"
    } else if c.is_reported() {
        "reported"
    } else if c.is_no_guarantee() {
        "no_guarantee"
    } else {
        "not_recoverable"
    }
}

/// The content hash of the benefit stored under `(source, benefit_id)`, if any.
pub async fn content_hash(
    db: &impl ConnectionTrait,
    source: &str,
    benefit_id: &str,
) -> Result<Option<String>, DbErr> {
    let select = Query::select()
        .column("content_hash")
        .from("benefits")
        .and_where(Expr::col("source").eq(source))
        .and_where(Expr::col("benefit_id").eq(benefit_id))
        .to_owned();
    match db.query_one(&select).await? {
        Some(row) => Ok(Some(get(&row, "content_hash")?)),
        None => Ok(None),
    }
}

/// Stores the benefit with its classification and its links; `false` when a replica stored
/// it first (nothing written then).
pub async fn insert(
    db: &impl ConnectionTrait,
    b: &NewBenefit,
    c: &Classification,
    message_id: &str,
) -> Result<bool, DbErr> {
    let insert = Query::insert()
        .into_table("benefits")
        .columns([
            "source",
            "benefit_id",
            "municipality",
            "recipient_national_id",
            "law",
            "amount_minor",
            "paid_date",
            "classification",
            "recoverable_from",
            "reported",
            "content_hash",
            "message_id",
        ])
        .values_panic([
            b.source.clone().into(),
            b.benefit_id.clone().into(),
            b.municipality.clone().into(),
            b.recipient_national_id.expose().clone().into(),
            word(&b.law).into(),
            b.amount.to_minor().into(),
            date(b.paid_date).into(),
            outcome(c).into(),
            c.recoverable_from.clone().into(),
            c.is_reported().into(),
            b.content_hash.clone().into(),
            message_id.into(),
        ])
        .on_conflict(
            OnConflict::columns(["source", "benefit_id"])
                .do_nothing()
                .to_owned(),
        )
        .to_owned();
    let done = db.execute(&insert).await?;
    if done.rows_affected() != 1 {
        return Ok(false);
    }
    insert_links(db, &b.source, &b.benefit_id, c).await?;
    Ok(true)
}

struct LinkRow {
    guarantee_id: String,
    role: Role,
    recoverable: bool,
    reported: bool,
    reason: Option<NotRecoverableReason>,
}

/// One row per guarantee and role the classification names.
fn links(c: &Classification) -> Vec<LinkRow> {
    let mut out: Vec<LinkRow> = c
        .not_recoverable
        .iter()
        .map(|n| LinkRow {
            guarantee_id: n.guarantee_id.clone(),
            role: n.role,
            recoverable: false,
            reported: false,
            reason: Some(n.reason),
        })
        .collect();
    if let Some(g) = &c.recoverable_from {
        // Only a spouse's benefit is recoverable (domain::benefit).
        out.push(LinkRow {
            guarantee_id: g.clone(),
            role: Role::Spouse,
            recoverable: true,
            reported: false,
            reason: None,
        });
    }
    for report in &c.reports {
        if let Some(row) = out
            .iter_mut()
            .find(|l| l.guarantee_id == report.guarantee_id && l.role == report.role)
        {
            row.reported = true;
        }
    }
    out
}

/// A benefit paid as one guarantee sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkedBenefit {
    /// The envelope source.
    pub source: String,
    /// The benefits system's id.
    pub benefit_id: String,
    /// The act.
    pub law: BenefitLaw,
    /// The amount paid.
    pub amount: Money,
    /// The day it was paid.
    pub paid_date: BusinessDate,
    /// The recipient's role in this guarantee.
    pub role: Role,
    /// Recovered from this guarantee.
    pub recoverable: bool,
    /// Reported to the immigration service under this guarantee.
    pub reported: bool,
    /// Why it is not recovered from this guarantee.
    pub not_recoverable_reason: Option<NotRecoverableReason>,
}

/// Every benefit linked to `guarantee_id`, oldest paid first.
pub async fn of_guarantee(
    db: &impl ConnectionTrait,
    guarantee_id: &str,
) -> Result<Vec<LinkedBenefit>, DbErr> {
    let select = Query::select()
        .columns([
            ("b", "source"),
            ("b", "benefit_id"),
            ("b", "law"),
            ("b", "amount_minor"),
            ("b", "paid_date"),
            ("l", "role"),
            ("l", "recoverable"),
            ("l", "reported"),
            ("l", "not_recoverable_reason"),
        ])
        .from_as("benefit_links", "l")
        .join_as(
            JoinType::InnerJoin,
            "benefits",
            "b",
            Expr::col(("b", "source"))
                .equals(("l", "source"))
                .and(Expr::col(("b", "benefit_id")).equals(("l", "benefit_id"))),
        )
        .and_where(Expr::col(("l", "guarantee_id")).eq(guarantee_id))
        .order_by(("b", "paid_date"), Order::Asc)
        .order_by(("b", "source"), Order::Asc)
        .order_by(("b", "benefit_id"), Order::Asc)
        .order_by(("l", "role"), Order::Asc)
        .to_owned();
    let rows = db.query_all(&select).await?;
    rows.iter()
        .map(|row| {
            let law: String = get(row, "law")?;
            let role: String = get(row, "role")?;
            let reason: Option<String> = get(row, "not_recoverable_reason")?;
            Ok(LinkedBenefit {
                source: get(row, "source")?,
                benefit_id: get(row, "benefit_id")?,
                law: from_word("benefits.law", &law)?,
                amount: get_money(row, "amount_minor")?,
                paid_date: get_date(row, "paid_date")?,
                role: from_word("benefit_links.role", &role)?,
                recoverable: get(row, "recoverable")?,
                reported: get(row, "reported")?,
                not_recoverable_reason: reason
                    .map(|r| from_word("benefit_links.not_recoverable_reason", &r))
                    .transpose()?,
            })
        })
        .collect()
}

/// A stored benefit, as a new classification needs it.
#[derive(Debug, Clone)]
pub struct StoredBenefit {
    /// The envelope source.
    pub source: String,
    /// The benefits system's id.
    pub benefit_id: String,
    /// The recipient (never logged).
    pub recipient_national_id: Redacted<String>,
    /// The act.
    pub law: BenefitLaw,
    /// The amount paid.
    pub amount: Money,
    /// The day it was paid.
    pub paid_date: BusinessDate,
    /// The stored classification word ([`outcome`]).
    pub classification: String,
    /// The guarantee it is recovered from.
    pub recoverable_from: Option<String>,
    /// Reported.
    pub reported: bool,
}

/// The municipality's benefits paid to any of `national_ids`.
pub async fn of_recipients(
    db: &impl ConnectionTrait,
    municipality: &str,
    national_ids: &[&str],
) -> Result<Vec<StoredBenefit>, DbErr> {
    let mut out = Vec::new();
    for id in national_ids {
        let select = Query::select()
            .columns([
                "source",
                "benefit_id",
                "recipient_national_id",
                "law",
                "paid_date",
                "classification",
                "recoverable_from",
                "reported",
                "amount_minor",
            ])
            .from("benefits")
            .and_where(Expr::col("municipality").eq(municipality))
            .and_where(Expr::col("recipient_national_id").eq(*id))
            .order_by("paid_date", Order::Asc)
            .order_by("source", Order::Asc)
            .order_by("benefit_id", Order::Asc)
            .to_owned();
        let rows = db.query_all(&select).await?;
        for row in &rows {
            let law: String = get(row, "law")?;
            out.push(StoredBenefit {
                source: get(row, "source")?,
                benefit_id: get(row, "benefit_id")?,
                recipient_national_id: Redacted(get(row, "recipient_national_id")?),
                law: from_word("benefits.law", &law)?,
                amount: get_money(row, "amount_minor")?,
                paid_date: get_date(row, "paid_date")?,
                classification: get(row, "classification")?,
                recoverable_from: get(row, "recoverable_from")?,
                reported: get(row, "reported")?,
            });
        }
    }
    Ok(out)
}

/// Replaces a stored benefit's classification and links.
pub async fn reclassify(
    db: &impl ConnectionTrait,
    source: &str,
    benefit_id: &str,
    c: &Classification,
) -> Result<(), DbErr> {
    let update = Query::update()
        .table("benefits")
        .value("classification", outcome(c))
        .value("recoverable_from", c.recoverable_from.clone())
        .value("reported", c.is_reported())
        .and_where(Expr::col("source").eq(source))
        .and_where(Expr::col("benefit_id").eq(benefit_id))
        .to_owned();
    db.execute(&update).await?;
    let delete = Query::delete()
        .from_table("benefit_links")
        .and_where(Expr::col("source").eq(source))
        .and_where(Expr::col("benefit_id").eq(benefit_id))
        .to_owned();
    db.execute(&delete).await?;
    insert_links(db, source, benefit_id, c).await
}

async fn insert_links(
    db: &impl ConnectionTrait,
    source: &str,
    benefit_id: &str,
    c: &Classification,
) -> Result<(), DbErr> {
    for link in links(c) {
        let insert = Query::insert()
            .into_table("benefit_links")
            .columns([
                "source",
                "benefit_id",
                "guarantee_id",
                "role",
                "recoverable",
                "reported",
                "not_recoverable_reason",
            ])
            .values_panic([
                source.into(),
                benefit_id.into(),
                link.guarantee_id.into(),
                word(&link.role).into(),
                link.recoverable.into(),
                link.reported.into(),
                link.reason.map(|r| word(&r)).into(),
            ])
            .on_conflict(
                OnConflict::columns(["source", "benefit_id", "guarantee_id", "role"])
                    .do_nothing()
                    .to_owned(),
            )
            .to_owned();
        db.execute(&insert).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{NotRecoverable, Report};

    fn not_recoverable(g: &str, role: Role, reason: NotRecoverableReason) -> NotRecoverable {
        NotRecoverable {
            guarantee_id: g.into(),
            role,
            reason,
        }
    }

    #[test]
    fn one_word_says_what_a_benefit_means() {
        let none = Classification::default();
        assert_eq!(outcome(&none), "no_guarantee");
        let recoverable = Classification {
            recoverable_from: Some("G-1".into()),
            reports: vec![Report {
                guarantee_id: "G-1".into(),
                role: Role::Spouse,
            }],
            not_recoverable: vec![],
        };
        assert_eq!(outcome(&recoverable), "recoverable");
        let reported = Classification {
            recoverable_from: None,
            reports: vec![Report {
                guarantee_id: "G-1".into(),
                role: Role::Resident,
            }],
            not_recoverable: vec![not_recoverable(
                "G-1",
                Role::Resident,
                NotRecoverableReason::PaidToResident,
            )],
        };
        assert_eq!(outcome(&reported), "reported");
        let neither = Classification {
            reports: vec![],
            ..reported.clone()
        };
        assert_eq!(outcome(&neither), "not_recoverable");
    }

    #[test]
    fn every_linked_guarantee_gets_one_row_with_its_report() {
        let c = Classification {
            recoverable_from: Some("G-1".into()),
            reports: vec![Report {
                guarantee_id: "G-1".into(),
                role: Role::Spouse,
            }],
            not_recoverable: vec![not_recoverable(
                "G-2",
                Role::Spouse,
                NotRecoverableReason::CoveredByAnotherGuarantee,
            )],
        };
        let rows = links(&c);
        assert_eq!(rows.len(), 2);
        let g1 = rows.iter().find(|r| r.guarantee_id == "G-1").expect("G-1");
        assert!(g1.recoverable && g1.reported && g1.reason.is_none());
        let g2 = rows.iter().find(|r| r.guarantee_id == "G-2").expect("G-2");
        assert!(!g2.recoverable && !g2.reported);
        assert_eq!(
            g2.reason,
            Some(NotRecoverableReason::CoveredByAnotherGuarantee)
        );
    }
}
