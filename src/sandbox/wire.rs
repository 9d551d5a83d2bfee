//! The API's JSON bodies as the sandbox writes them: the success envelope, the list
//! envelope with `page_size`/`page_index`, and the error body.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::{Value, json};

use super::rules::SandboxError;

/// The current UTC time as the API writes it in `timestamp`.
pub fn timestamp() -> String {
    jiff::Timestamp::now().to_string()
}

/// `{"data": ..., "status": "success", "timestamp": ...}` (no `data` when `None`).
pub fn envelope(status: StatusCode, data: Option<Value>) -> Response {
    let body = match data {
        Some(d) => json!({"data": d, "status": "success", "timestamp": timestamp()}),
        None => json!({"status": "success", "timestamp": timestamp()}),
    };
    (status, axum::Json(body)).into_response()
}

/// The Get All answer, serialised straight from `data` (borrowed resources, such as the
/// store's [`super::store::Shown`]) into one buffer.
pub fn list<T: Serialize>(page_size: usize, page_index: usize, data: &[T]) -> Response {
    #[derive(Serialize)]
    struct Page<'a, T> {
        page_size: usize,
        page_index: usize,
        data: &'a [T],
        status: &'static str,
        timestamp: String,
    }
    let page = Page {
        page_size,
        page_index,
        data,
        status: "success",
        timestamp: timestamp(),
    };
    // About half a kilobyte per customer: one allocation for a typical page.
    let mut body = Vec::with_capacity(128 + 512 * data.len());
    match serde_json::to_writer(&mut body, &page) {
        Ok(()) => (
            StatusCode::OK,
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            )],
            body,
        )
            .into_response(),
        Err(_) => error(500, "The page could not be written."),
    }
}

/// `{"error": <status>, "message": ..., "status": "error", "timestamp": ...}`.
pub fn error(status: u16, message: &str) -> Response {
    let code = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let body = json!({
        "error": status,
        "message": message,
        "status": "error",
        "timestamp": timestamp(),
    });
    (code, axum::Json(body)).into_response()
}

/// A store refusal; a 402 echoes the request, as the real API does.
pub fn refusal(e: &SandboxError) -> Response {
    match e {
        SandboxError::ChargesRequired(echo) => {
            (StatusCode::PAYMENT_REQUIRED, axum::Json(echo.clone())).into_response()
        }
        other => match other.error_code() {
            None => error(other.status(), &other.message()),
            Some(code) => {
                let status = StatusCode::from_u16(other.status())
                    .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
                let body = json!({
                    "error": other.status(),
                    "errorCode": code,
                    "message": other.message(),
                    "status": "error",
                    "timestamp": timestamp(),
                });
                (status, axum::Json(body)).into_response()
            }
        },
    }
}
