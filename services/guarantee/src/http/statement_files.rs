//! The quarterly statements: the list and one statement as XLSX.

use super::*;

// ------------------------------------------------------------------ statements

/// The statements listed.
#[derive(Debug, Serialize, Deserialize)]
pub struct StatementList {
    /// Newest quarter first.
    pub statements: Vec<StatementRow>,
}

/// `GET /api/v1/statements`.
pub(super) async fn list_statements(
    State(state): State<ApiState>,
    reader: Reader,
) -> Result<Json<StatementList>, ApiError> {
    let list = statements::list(&state.db, reader.municipalities()).await?;
    let (caller, role) = caller_of(&reader);
    audit::record(
        &state.db,
        caller,
        role,
        "list_statements",
        "statements",
        "done",
        &format!("{} statements", list.len()),
    )
    .await?;
    Ok(Json(StatementList { statements: list }))
}

/// `GET /api/v1/statements/{id}`: the XLSX.
pub(super) async fn statement_file(
    State(state): State<ApiState>,
    reader: Reader,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    if !valid_id(&id) {
        return Err(ApiError::bad_request(
            "statement id must be 1–100 characters",
        ));
    }
    let (row, content) = statements::find(&state.db, &id)
        .await?
        .filter(|(r, _)| reader.sees(&r.municipality))
        .ok_or_else(|| ApiError::not_found(NO_STATEMENT))?;
    if content.is_empty() {
        return Err(ApiError::new(
            StatusCode::GONE,
            "the statement's file was emptied by retention ([retention], category guarantee): \
             its summary is still in GET /api/v1/statements",
        ));
    }
    let bytes = Attachment {
        name: row.file_name.clone(),
        media_type: crate::handlers::quarterly::XLSX.to_owned(),
        content_base64: content,
    }
    .content()
    .ok_or_else(|| ApiError::internal("the stored statement does not decode"))?;
    let (caller, role) = caller_of(&reader);
    audit::record(
        &state.db,
        caller,
        role,
        "read_statement",
        &format!("statement:{id}"),
        "done",
        "",
    )
    .await?;
    Ok((
        [
            (
                header::CONTENT_TYPE,
                crate::handlers::quarterly::XLSX.to_owned(),
            ),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{}\"", row.file_name),
            ),
        ],
        bytes,
    )
        .into_response())
}
