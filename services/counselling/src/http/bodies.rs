//! The steps' bodies, checked field by field, and the step they make.

use super::*;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct CallBody {
    outcome: CallOutcome,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ContactBody {
    how: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct MeetingBody {
    at: NaiveDateTime,
    place: String,
    #[serde(default)]
    interpreter: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(super) enum DecisionWord {
    Suitable,
    NotSuitable,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ReviewBody {
    decision: DecisionWord,
    #[serde(default)]
    meeting: Option<MeetingBody>,
    #[serde(default)]
    note: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct DocumentsBody {
    #[serde(default)]
    received: Vec<String>,
    #[serde(default)]
    missing: Vec<String>,
    #[serde(default)]
    power_of_attorney: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct OutcomeBody {
    outcome: MeetingOutcome,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct CreditorBody {
    name: String,
    #[serde(default)]
    reference: Option<String>,
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    address: Option<Address>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ItemBody {
    kind: String,
    #[serde(default)]
    reference: Option<String>,
    balance: Money,
    #[serde(default)]
    interest: Option<Money>,
    #[serde(default)]
    monthly_cost: Option<Money>,
    /// The creditor (register items only; a creditor's answer names its own).
    #[serde(default)]
    creditor: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ItemsBody {
    pub(super) items: Vec<ItemBody>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct BudgetBody {
    monthly_income: Money,
    monthly_expenses: Money,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct NoteBody {
    text: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct CloseBody {
    reason: String,
    note: String,
}

/// The longest free text a step takes (a place, a document's name, a creditor's name).
pub(super) const MAX_TEXT: usize = 300;

/// The most entries a list in a step's body may have (documents, debt items).
pub(super) const MAX_ENTRIES: usize = 100;

pub(super) fn bounded<T>(field: &str, v: &[T]) -> Result<(), ApiError> {
    if v.len() > MAX_ENTRIES {
        return Err(
            ApiError::unprocessable(format!("{field}: at most {MAX_ENTRIES} entries"))
                .with_problems([FieldProblem::new(
                    field,
                    format!("at most {MAX_ENTRIES} entries"),
                )]),
        );
    }
    Ok(())
}

pub(super) fn text(field: &str, s: &str) -> Result<String, ApiError> {
    let t = s.trim();
    if t.is_empty() || t.chars().count() > MAX_TEXT {
        return Err(
            ApiError::unprocessable(format!("{field}: must be 1–{MAX_TEXT} characters"))
                .with_problems([FieldProblem::new(
                    field,
                    format!("must be 1–{MAX_TEXT} characters"),
                )]),
        );
    }
    Ok(t.to_owned())
}

pub(super) fn texts(field: &str, v: &[String]) -> Result<Vec<String>, ApiError> {
    bounded(field, v)?;
    v.iter()
        .enumerate()
        .map(|(i, s)| text(&format!("{field}[{i}]"), s))
        .collect()
}

pub(super) fn meeting_of(m: MeetingBody) -> Result<NewMeeting, ApiError> {
    Ok(NewMeeting {
        at: m.at,
        place: text("place", &m.place)?,
        interpreter: m
            .interpreter
            .as_deref()
            .map(|i| text("interpreter", i))
            .transpose()?,
    })
}

pub(super) fn items_of(
    body: ItemsBody,
    creditor: Option<&str>,
    source: Source,
) -> Result<Vec<DebtItem>, ApiError> {
    bounded("items", &body.items)?;
    let mut out = Vec::with_capacity(body.items.len());
    for (i, it) in body.items.into_iter().enumerate() {
        let name = match (creditor, it.creditor.as_deref()) {
            (Some(c), _) => c.to_owned(),
            (None, Some(c)) => c.to_owned(),
            (None, None) => {
                return Err(
                    ApiError::unprocessable(format!("items[{i}].creditor: is required"))
                        .with_problems([FieldProblem::new(
                            format!("items[{i}].creditor"),
                            "is required",
                        )]),
                );
            }
        };
        let zero = Money::from_minor(0);
        let item = DebtItem {
            source,
            creditor: name,
            reference: it.reference,
            kind: it.kind,
            balance: it.balance,
            interest: it.interest.unwrap_or(zero),
            monthly_cost: it.monthly_cost.unwrap_or(zero),
        };
        let problems = item.problems();
        if !problems.is_empty() {
            return Err(
                ApiError::unprocessable(format!("items[{i}]: {}", problems.join("; ")))
                    .with_problems(
                        problems
                            .into_iter()
                            .map(|p| FieldProblem::new(format!("items[{i}]"), p)),
                    ),
            );
        }
        out.push(item);
    }
    Ok(out)
}

/// What one step does to the case: parsed from its body before the transaction.
pub(super) enum Step {
    Call(CallOutcome),
    Contact(String),
    /// Suitable, with the meeting a drop-in applicant's invitation offers.
    Suitable(Option<NewMeeting>),
    /// Not suitable, with the closing note (where to turn is the municipality's `refer_to`).
    NotSuitable(String),
    Documents {
        received: Vec<String>,
        missing: Vec<String>,
        poa: bool,
    },
    Meeting(NewMeeting),
    MeetingOutcome(MeetingOutcome),
    Creditor(NewCreditor),
    Answer(usize, ItemsBody),
    Register(Vec<DebtItem>),
    Budget(Budget),
    Schedule,
    Note(String),
    Close(CloseReason, String),
}

pub(super) fn parse_step(step: &str, body: &Bytes) -> Result<(&'static str, Step), ApiError> {
    Ok(match step {
        "calls" => ("log_call", Step::Call(body_of::<CallBody>(body)?.outcome)),
        "contact" => (
            "record_contact",
            Step::Contact(text("how", &body_of::<ContactBody>(body)?.how)?),
        ),
        "review" => {
            let b: ReviewBody = body_of(body)?;
            let step = match b.decision {
                DecisionWord::Suitable => Step::Suitable(b.meeting.map(meeting_of).transpose()?),
                DecisionWord::NotSuitable => Step::NotSuitable(b.note.unwrap_or_default()),
            };
            ("review", step)
        }
        "documents" => {
            let b: DocumentsBody = body_of(body)?;
            (
                "documents",
                Step::Documents {
                    received: texts("received", &b.received)?,
                    missing: texts("missing", &b.missing)?,
                    poa: b.power_of_attorney,
                },
            )
        }
        "meetings" => (
            "schedule_meeting",
            Step::Meeting(meeting_of(body_of(body)?)?),
        ),
        "meeting-outcome" => (
            "meeting_outcome",
            Step::MeetingOutcome(body_of::<OutcomeBody>(body)?.outcome),
        ),
        "creditors" => {
            let b: CreditorBody = body_of(body)?;
            let name = text("name", &b.name)?;
            let reference = b
                .reference
                .as_deref()
                .map(|r| text("reference", r))
                .transpose()?;
            let email = b.email.as_deref().map(|e| text("email", e)).transpose()?;
            if let Some(e) = &email
                && (!e.contains('@') || e.contains(char::is_whitespace))
            {
                return Err(ApiError::unprocessable("email: is not an e-mail address")
                    .with_problems([FieldProblem::new("email", "is not an e-mail address")]));
            }
            if email.is_none() && b.address.is_none() {
                return Err(ApiError::unprocessable(
                    "a creditor needs an address or an e-mail address",
                )
                .with_problems([FieldProblem::new(
                    "address",
                    "an address or an e-mail address is required",
                )]));
            }
            (
                "add_creditor",
                Step::Creditor(NewCreditor {
                    name,
                    reference,
                    address: b.address,
                    email,
                }),
            )
        }
        "register" => (
            "register_fetched",
            Step::Register(items_of(body_of(body)?, None, Source::Register)?),
        ),
        "budget" => {
            let b: BudgetBody = body_of(body)?;
            (
                "set_budget",
                Step::Budget(Budget {
                    monthly_income: b.monthly_income,
                    monthly_expenses: b.monthly_expenses,
                }),
            )
        }
        "schedule" => ("send_schedule", Step::Schedule),
        "notes" => ("note", Step::Note(body_of::<NoteBody>(body)?.text)),
        "close" => {
            let b: CloseBody = body_of(body)?;
            let reason = CloseReason::parse(&b.reason).ok_or_else(|| {
                ApiError::unprocessable("reason: must be one of advice_given, completed, unclarified, not_suitable, withdrawn")
                    .with_problems([FieldProblem::new("reason", "must be one of advice_given, completed, unclarified, not_suitable, withdrawn")])
            })?;
            ("close", Step::Close(reason, b.note))
        }
        _ => {
            return Err(ApiError::not_found(
                "no such step: calls, contact, review, documents, meetings, meeting-outcome, creditors, register, budget, schedule, notes, close",
            ));
        }
    })
}
