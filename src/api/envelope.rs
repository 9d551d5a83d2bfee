//! Parsing the API's bodies into typed results: the success envelope (`data`, `status`,
//! `timestamp`), the list envelope (`page_size`, `page_index`, `data: [...]`) and the
//! error body (`error`, `message`, `status: "error"`). Liberal in what it accepts; an
//! HTML page or an empty body becomes [`ApiError::Decode`], never a panic.

use serde_json::Value;

use super::ApiError;

/// Where a body came from, for error messages.
#[derive(Debug, Clone, Copy)]
pub struct Origin<'a> {
    pub method: &'a str,
    pub path: &'a str,
    pub status: u16,
}

impl Origin<'_> {
    fn decode(&self, reason: impl Into<String>) -> ApiError {
        ApiError::Decode {
            method: self.method.into(),
            path: self.path.into(),
            status: self.status,
            reason: reason.into(),
        }
    }
}

/// Parse a body as JSON, or say what it was instead.
pub fn json(origin: Origin<'_>, body: &[u8]) -> Result<Value, ApiError> {
    let text = String::from_utf8_lossy(body);
    let trimmed = text.trim_start();
    if trimmed.is_empty() {
        return Err(origin.decode("empty body where JSON was expected"));
    }
    serde_json::from_slice(body).map_err(|e| {
        if trimmed.starts_with('<') {
            origin.decode("an HTML page, not the API's JSON (a proxy or gateway answered?)")
        } else {
            origin.decode(format!("not the API's JSON: {e}"))
        }
    })
}

/// The `data` of a success envelope (`Value::Null` when the envelope has none, as PATCH
/// and DELETE answers do). An empty body is accepted as "no data" for those.
pub fn data(origin: Origin<'_>, body: &[u8]) -> Result<Value, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Value::Null);
    }
    match json(origin, body)? {
        Value::Object(mut m) => {
            if m.get("status").and_then(Value::as_str) == Some("error") {
                let msg = message_of(&Value::Object(m.clone()));
                return Err(origin.decode(format!("error body with a success status: {msg}")));
            }
            Ok(m.remove("data").unwrap_or(Value::Null))
        }
        other => Ok(other),
    }
}

/// The items of a Get All page: `data` as an array (a bare array is tolerated).
pub fn list(origin: Origin<'_>, body: &[u8]) -> Result<Vec<Value>, ApiError> {
    match json(origin, body)? {
        Value::Array(items) => Ok(items),
        Value::Object(mut m) => match m.remove("data") {
            Some(Value::Array(items)) => Ok(items),
            Some(Value::Null) | None => Ok(Vec::new()),
            Some(_) => Err(origin.decode("`data` of a list is not an array")),
        },
        _ => Err(origin.decode("a list answer is neither an object nor an array")),
    }
}

/// The server's message in an error body, made fit to show ([`crate::redact::untrusted`]:
/// masked and cut; a 400 quotes the value it rejects, which may be a secret).
fn message_of(v: &Value) -> String {
    for key in ["message", "error_description", "title", "detail"] {
        if let Some(s) = v.get(key).and_then(Value::as_str) {
            return crate::redact::untrusted(s);
        }
    }
    match v.get("error") {
        Some(Value::String(s)) => crate::redact::untrusted(s),
        _ => String::new(),
    }
}

/// The error an unsuccessful status means, with the server's message when its body is
/// the API's error body.
pub fn error(origin: Origin<'_>, body: &[u8]) -> ApiError {
    let (method, path) = (origin.method.to_string(), origin.path.to_string());
    let parsed = serde_json::from_slice::<Value>(body).ok();
    let message = parsed.as_ref().map(message_of).unwrap_or_default();
    match origin.status {
        404 => ApiError::NotFound { method, path },
        402 => ApiError::ChargesRequired { method, path },
        401 => ApiError::Unauthorized {
            method,
            path,
            message: if message.is_empty() {
                "the token was missing, invalid or expired".into()
            } else {
                message
            },
        },
        status => {
            if parsed.is_none() && !body.iter().all(u8::is_ascii_whitespace) {
                // A proxy's HTML page or plain text: say so rather than quote it.
                let text = String::from_utf8_lossy(body);
                let reason = if text.trim_start().starts_with('<') {
                    "an HTML page, not the API's JSON (a proxy or gateway answered?)"
                } else {
                    "a body that is not the API's JSON"
                };
                return origin.decode(reason);
            }
            ApiError::Status {
                method,
                path,
                status,
                message: if message.is_empty() {
                    "(no message)".into()
                } else {
                    message
                },
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const O: Origin<'static> = Origin {
        method: "GET",
        path: "/customers",
        status: 200,
    };

    #[test]
    fn html_and_empty_bodies_are_decode_errors() {
        for body in [
            &b""[..],
            b"  ",
            b"<html><body>502 Bad Gateway</body></html>",
        ] {
            assert!(
                matches!(list(O, body), Err(ApiError::Decode { .. })),
                "{body:?}"
            );
        }
        let e = error(
            Origin { status: 502, ..O },
            b"<html><body>Bad Gateway</body></html>",
        );
        assert!(matches!(e, ApiError::Decode { status: 502, .. }));
        assert!(e.to_string().contains("GET /customers: 502"));
    }

    #[test]
    fn error_bodies_keep_the_server_message() {
        let e = error(
            Origin {
                status: 400,
                method: "PATCH",
                path: "/customers/1",
            },
            br#"{"error": 400, "message": "The value 'x' is not valid.", "status": "error"}"#,
        );
        assert_eq!(
            e.to_string(),
            "PATCH /customers/1: 400: The value 'x' is not valid."
        );
        assert!(matches!(
            error(Origin { status: 404, ..O }, b""),
            ApiError::NotFound { .. }
        ));
        assert!(matches!(
            error(Origin { status: 402, ..O }, br#"{"name":"echo"}"#),
            ApiError::ChargesRequired { .. }
        ));
    }

    #[test]
    fn bare_envelope_has_no_data() {
        assert_eq!(
            data(O, br#"{"status":"success","timestamp":"t"}"#).unwrap(),
            Value::Null
        );
        assert_eq!(data(O, b"").unwrap(), Value::Null);
    }
}
