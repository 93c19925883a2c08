use super::*;

fn body(decision: &str, track: Option<&str>, review_on: Option<&str>) -> DecisionBody {
    DecisionBody {
        decision: decision.into(),
        reason: "because".into(),
        track: track.map(Into::into),
        review_on: review_on.map(|d| d.parse().expect("date")),
    }
}

#[test]
fn a_decision_is_transfer_or_keep_with_a_track() {
    assert!(matches!(
        parse_decision(&body("transfer", None, None)),
        Ok((TransferChoice::Transfer, None, _))
    ));
    assert!(matches!(
        parse_decision(&body("keep", Some("plan_offer"), None)),
        Ok((TransferChoice::Keep, Some(KeepTrack::PlanOffer), _))
    ));
    assert!(matches!(
        parse_decision(&body("keep", Some("review"), Some("2027-03-01"))),
        Ok((TransferChoice::Keep, Some(KeepTrack::Review { .. }), _))
    ));
    for bad in [
        body("keep", None, None),
        body("keep", Some("review"), None),
        body("transfer", Some("plan_offer"), None),
        body("maybe", None, None),
        DecisionBody {
            reason: " ".into(),
            ..body("transfer", None, None)
        },
    ] {
        assert!(parse_decision(&bad).is_err(), "{bad:?}");
    }
}

#[test]
fn csv_cells_are_quoted_and_formulas_neutralised() {
    assert_eq!(cell("plain"), "plain");
    assert_eq!(cell("a,b"), "\"a,b\"");
    assert_eq!(cell("=SUM(A1)"), "'=SUM(A1)");
    assert_eq!(cell("-12.50"), "-12.50");
}
