//! Writing one user change: create or adopt, patch display name and roles, delete (or
//! unlink). Role indices are never taken from the plan: every role write starts from a
//! fresh Get User, and the plan's role diffs (`/roles/-`, old = remove, new = add) say
//! which roles to add and remove. A create is sent at most once per run: a create the
//! API refuses because the user exists becomes an adoption (look up by e-mail, patch); a
//! create whose answer is lost is looked up by e-mail, never sent again.

use serde_json::Value;

use super::executor::{Ctx, charges_message, outcome, possibly_committed, read_with_retry};
use super::outcome::{Outcome, Status};
use crate::api::{ApiError, Collection};
use crate::model::user::{live_email, live_roles};
use crate::model::{Kind, LiveObject, PatchOperation, email_key};
use crate::plan::users::{ROLE_DIFF_PATH, role_operations};
use crate::plan::{ActionKind, Change};

/// Run one user change. Its outcome carries the user's address (its key is the
/// customer's).
pub(super) async fn run(ctx: &Ctx, c: &Change) -> Outcome {
    let Some(parent) = c.parent_id.clone() else {
        return outcome(
            c,
            Status::Failed,
            None,
            Some(
                "the customer's id is not known (it was not created in this run); re-run once it exists"
                    .into(),
            ),
        );
    };
    let coll = Collection::new(Kind::User, Some(&parent));
    match c.action {
        ActionKind::Create => create(ctx, c, coll).await,
        ActionKind::Update => match &c.live_id {
            Some(id) => update(ctx, c, coll, id, "updated").await,
            None => outcome(
                c,
                Status::Failed,
                None,
                Some("no user id in the plan".into()),
            ),
        },
        ActionKind::Delete => delete(ctx, c, coll).await,
        ActionKind::NoOp | ActionKind::Refused => {
            outcome(c, Status::Unchanged, c.live_id.clone(), None)
        }
    }
}

/// Whether an error says the user already exists (409, or a 400 saying so: the
/// vendor's status and body for it are not documented).
fn already_exists(e: &ApiError) -> bool {
    match e {
        ApiError::Status {
            status, message, ..
        } => *status == 409 || (*status == 400 && message.to_lowercase().contains("exist")),
        _ => false,
    }
}

fn failed(c: &Change, id: Option<String>, e: &ApiError) -> Outcome {
    let message = match e {
        ApiError::ChargesRequired { .. } => charges_message(c),
        other => other.to_string(),
    };
    outcome(c, Status::Failed, id, Some(message))
}

/// The user with this e-mail in the collection, if the listing shows one.
async fn find_by_email(
    ctx: &Ctx,
    coll: Collection<'_>,
    email: &str,
) -> Result<Option<LiveObject>, ApiError> {
    let users = read_with_retry(ctx.write_attempts, ctx.retry_pause, || {
        ctx.api.list(coll, None)
    })
    .await?;
    Ok(users
        .into_iter()
        .find(|u| live_email(u).is_some_and(|e| email_key(e) == email_key(email))))
}

async fn create(ctx: &Ctx, c: &Change, coll: Collection<'_>) -> Outcome {
    let Some(body) = &c.create else {
        return outcome(
            c,
            Status::Failed,
            None,
            Some("no create body in the plan".into()),
        );
    };
    let email = body
        .get("email")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    match ctx.api.create(coll, body, ctx.write).await {
        Ok(answer) => outcome(c, Status::Created, Some(answer.id().to_string()), None),
        Err(e) if already_exists(&e) => match find_by_email(ctx, coll, &email).await {
            // The vendor's advice: expect it, and patch the existing user instead.
            Ok(Some(u)) => update(ctx, c, coll, &u.id, "already existed: adopted").await,
            Ok(None) => failed(c, None, &e),
            Err(look) => failed(c, None, &look),
        },
        Err(e) if possibly_committed(&e) => {
            ctx.unknown_after(&e);
            // The answer was lost: look for the user; never send the create again.
            let mut delays = ctx.lookup_backoff.iter();
            loop {
                if let Ok(Some(u)) = find_by_email(ctx, coll, &email).await {
                    return outcome(
                        c,
                        Status::Created,
                        Some(u.id),
                        Some("the create's answer was lost; found the user by e-mail".into()),
                    );
                }
                match delays.next() {
                    Some(d) => tokio::time::sleep(*d).await,
                    None => {
                        return outcome(
                            c,
                            Status::Unknown,
                            None,
                            Some(format!(
                                "the create's answer was lost ({e}) and no user with this e-mail is listed yet; it was not sent again: re-run plan to see whether it was made"
                            )),
                        );
                    }
                }
            }
        }
        Err(e) => failed(c, None, &e),
    }
}

/// The roles the plan adds and removes (from its `/roles/-` diffs), and the display name
/// it writes.
fn intent(c: &Change) -> (Vec<String>, Vec<String>, Option<Value>) {
    let mut adds = Vec::new();
    let mut removes = Vec::new();
    for d in c.diffs.iter().filter(|d| d.path == ROLE_DIFF_PATH) {
        if let Some(Value::String(r)) = &d.new {
            adds.push(r.clone());
        }
        if let Some(Value::String(r)) = &d.old {
            removes.push(r.clone());
        }
    }
    let name = c
        .create
        .as_ref()
        .and_then(|b| b.get("displayName"))
        .cloned()
        .or_else(|| {
            c.operations.iter().find_map(|o| match o {
                PatchOperation::Replace(r) if r.path.as_str() == "/displayName" => {
                    Some(r.value.clone())
                }
                _ => None,
            })
        });
    (adds, removes, name)
}

/// Patch a user to the plan's intent, from a fresh Get: roles added that it lacks, roles
/// removed that it holds (indices from this read), the display name if it differs.
async fn update(ctx: &Ctx, c: &Change, coll: Collection<'_>, id: &str, done: &str) -> Outcome {
    let fresh = match read_with_retry(ctx.write_attempts, ctx.retry_pause, || {
        ctx.api.get(coll, id)
    })
    .await
    {
        Ok(u) => u,
        Err(ApiError::NotFound { .. }) => {
            return outcome(
                c,
                Status::Stale,
                Some(id.to_string()),
                Some("the user no longer exists; re-run plan".into()),
            );
        }
        Err(e) => return failed(c, Some(id.to_string()), &e),
    };
    let (adds, removes, name) = intent(c);
    let roles = live_roles(&fresh).unwrap_or_default();
    let adds: Vec<String> = adds.into_iter().filter(|r| !roles.contains(r)).collect();
    let removes: Vec<(usize, String)> = roles
        .iter()
        .enumerate()
        .filter(|(_, r)| removes.contains(r))
        .map(|(i, r)| (i, r.clone()))
        .collect();
    let mut ops: Vec<PatchOperation> = Vec::new();
    if let Some(name) = name
        && fresh.fields.get("displayName") != Some(&name)
        && let Ok(op) = serde_json::from_value(
            serde_json::json!({"op": "replace", "path": "/displayName", "value": name}),
        )
    {
        ops.push(op);
    }
    ops.extend(role_operations(&adds, &removes));
    let id = Some(id.to_string());
    if ops.is_empty() {
        let status = if c.action == ActionKind::Create {
            Status::Created
        } else {
            Status::Updated
        };
        return outcome(c, status, id, Some(format!("{done}; already as declared")));
    }
    let uid = id.clone().unwrap_or_default();
    if let Err(e) = ctx.api.patch(coll, &uid, &ops, ctx.write).await {
        return failed(c, id, &e);
    }
    // Read back: the API answers a patch with no data.
    match ctx.api.get(coll, &uid).await {
        Ok(after) => {
            let now = live_roles(&after).unwrap_or_default();
            let missing: Vec<&String> = adds.iter().filter(|r| !now.contains(r)).collect();
            let kept: Vec<&String> = removes
                .iter()
                .map(|(_, r)| r)
                .filter(|r| now.contains(r))
                .collect();
            if missing.is_empty() && kept.is_empty() {
                let status = if c.action == ActionKind::Create {
                    Status::Created
                } else {
                    Status::Updated
                };
                let note = (done != "updated").then(|| done.to_string());
                outcome(c, status, id, note)
            } else {
                outcome(
                    c,
                    Status::Failed,
                    id,
                    Some(format!(
                        "after the patch the user still lacks {missing:?} and still holds {kept:?}"
                    )),
                )
            }
        }
        Err(e) => failed(c, id, &e),
    }
}

async fn delete(ctx: &Ctx, c: &Change, coll: Collection<'_>) -> Outcome {
    let Some(id) = &c.live_id else {
        return outcome(
            c,
            Status::Failed,
            None,
            Some("no user id in the plan".into()),
        );
    };
    match ctx.api.delete(coll, id).await {
        Ok(()) | Err(ApiError::NotFound { .. }) => {
            outcome(c, Status::Deleted, Some(id.clone()), None)
        }
        Err(e) => failed(c, Some(id.clone()), &e),
    }
}
