//! Writing a resource below a customer (a PBX connection profile, `/customers/{C}/pbxs`):
//! create, PATCH and delete in the collection under the change's `parent_id`, with the
//! same care as a customer's writes: a create whose answer was lost is looked up by its
//! identity before it is sent again; a PATCH of write-only settings (`add` of object
//! members only, so idempotent) is re-sent after a lost answer; a delete whose answer was lost is read back.
//! Write-only settings cannot be read back: what is verified is the profile's identity.

use serde_json::Value;

use super::executor::{Ctx, charges_message, outcome, possibly_committed, read_with_retry};
use super::outcome::{Outcome, Status};
use super::secrets::{resolve_map, resolve_ops};
use crate::api::{ApiError, Collection};
use crate::model::LiveObject;
use crate::plan::{ActionKind, Change};

/// Run one write of a change whose kind lives under a customer.
pub(super) async fn run(ctx: &Ctx, c: &Change) -> Outcome {
    let Some(parent) = c.parent_id.as_deref() else {
        return outcome(
            c,
            Status::Failed,
            c.live_id.clone(),
            Some(format!(
                "{}: the plan has no parent id for this change",
                c.address
            )),
        );
    };
    let coll = Collection::new(c.kind, Some(parent));
    let mut o = match c.action {
        ActionKind::Create => create(ctx, c, coll).await,
        ActionKind::Update => update(ctx, c, coll).await,
        ActionKind::Delete => delete(ctx, c, coll).await,
        ActionKind::NoOp | ActionKind::Refused => {
            outcome(c, Status::Unchanged, c.live_id.clone(), None)
        }
    };
    // The report is keyed by customer: say which of its resources this was.
    o.message = Some(match o.message.take() {
        Some(m) => format!("{}: {m}", c.address),
        None => c.address.clone(),
    });
    o
}

/// The live resource with the change's identity (`name`), if the collection holds one.
async fn find(ctx: &Ctx, c: &Change, coll: Collection<'_>) -> Result<Option<LiveObject>, ApiError> {
    let name = c.name.as_deref().unwrap_or_default().trim().to_string();
    let all = read_with_retry(ctx.write_attempts, ctx.retry_pause, || {
        ctx.api.list(coll, None)
    })
    .await?;
    Ok(all.into_iter().find(|o| {
        o.fields.get("name").and_then(Value::as_str).map(str::trim) == Some(name.as_str())
    }))
}

async fn create(ctx: &Ctx, c: &Change, coll: Collection<'_>) -> Outcome {
    let fail = |id: Option<String>, m: String| outcome(c, Status::Failed, id, Some(m));
    let Some(body) = &c.create else {
        return fail(None, "the plan has no body for this create".into());
    };
    let body = match resolve_map(body, ctx.env.as_ref()) {
        Ok(b) => b,
        Err(e) => return fail(None, e.to_string()),
    };
    // Idempotent: a profile of this name may exist already (an earlier, interrupted run).
    match find(ctx, c, coll).await {
        Ok(Some(o)) => {
            return outcome(
                c,
                Status::Created,
                Some(o.id),
                Some("already there (an earlier run created it); not sent again".into()),
            );
        }
        Ok(None) => {}
        Err(e) => return fail(None, format!("could not list before creating: {e}")),
    }
    for attempt in 1..=ctx.write_attempts {
        match ctx.api.create(coll, &body, ctx.write).await {
            Ok(answer) => return outcome(c, Status::Created, Some(answer.id().to_string()), None),
            Err(ApiError::ChargesRequired { .. }) => return fail(None, charges_message(c)),
            Err(e) if possibly_committed(&e) => match find(ctx, c, coll).await {
                Ok(Some(o)) => {
                    return outcome(
                        c,
                        Status::Created,
                        Some(o.id),
                        Some("the answer was lost; found by its name".into()),
                    );
                }
                Ok(None) if attempt < ctx.write_attempts && !ctx.interrupt.is_set() => {
                    tokio::time::sleep(ctx.retry_pause * attempt).await;
                }
                Ok(None) => return fail(None, format!("{e}; not found by its name afterwards")),
                Err(l) => {
                    ctx.unknown_after(&e);
                    return outcome(
                        c,
                        Status::Unknown,
                        None,
                        Some(format!(
                            "outcome unknown: {e}; the look-up by name failed too ({l}). Re-run: the next plan shows whether it exists"
                        )),
                    );
                }
            },
            Err(e) => return fail(None, e.to_string()),
        }
    }
    fail(None, "not created".into())
}

async fn update(ctx: &Ctx, c: &Change, coll: Collection<'_>) -> Outcome {
    let Some(id) = c.live_id.as_deref() else {
        return outcome(
            c,
            Status::Failed,
            None,
            Some("the plan has no live id".into()),
        );
    };
    let fail = |m: String| outcome(c, Status::Failed, Some(id.into()), Some(m));
    // The stale check: the profile must still be what the plan saw.
    match read_with_retry(ctx.write_attempts, ctx.retry_pause, || {
        ctx.api.get(coll, id)
    })
    .await
    {
        Ok(live) => {
            let now = crate::model::LiveCustomer::from(live).fingerprint();
            if c.fingerprint.as_ref().is_some_and(|f| f != &now) {
                return outcome(
                    c,
                    Status::Stale,
                    Some(id.into()),
                    Some("changed since the plan was made; not touched: re-run plan".into()),
                );
            }
        }
        Err(ApiError::NotFound { .. }) => {
            return outcome(
                c,
                Status::Stale,
                Some(id.into()),
                Some("gone since the plan was made; not touched: re-run plan".into()),
            );
        }
        Err(e) => return fail(format!("could not re-read it before writing: {e}")),
    }
    let ops = match resolve_ops(&c.operations, ctx.env.as_ref()) {
        Ok(ops) => ops,
        Err(e) => return fail(e.to_string()),
    };
    for attempt in 1..=ctx.write_attempts {
        match ctx.api.patch(coll, id, &ops, ctx.write).await {
            Ok(()) => {
                return outcome(
                    c,
                    Status::Updated,
                    Some(id.into()),
                    Some("write-only settings sent; the API cannot return them to verify".into()),
                );
            }
            Err(ApiError::ChargesRequired { .. }) => return fail(charges_message(c)),
            // `add` of write-only settings (an object member) is idempotent: send it again.
            Err(e) if possibly_committed(&e) && attempt < ctx.write_attempts => {
                if ctx.interrupt.is_set() {
                    return outcome(
                        c,
                        Status::Unknown,
                        Some(id.into()),
                        Some(format!(
                            "outcome unknown ({e}); interrupted before sending it again"
                        )),
                    );
                }
                tokio::time::sleep(ctx.retry_pause * attempt).await;
            }
            Err(e) => return fail(e.to_string()),
        }
    }
    fail("not updated".into())
}

async fn delete(ctx: &Ctx, c: &Change, coll: Collection<'_>) -> Outcome {
    let Some(id) = c.live_id.as_deref() else {
        return outcome(
            c,
            Status::Failed,
            None,
            Some("the plan has no live id".into()),
        );
    };
    let done = |m: Option<&str>| outcome(c, Status::Deleted, Some(id.into()), m.map(String::from));
    for attempt in 1..=ctx.write_attempts {
        match ctx.api.delete(coll, id).await {
            Ok(()) => return done(None),
            Err(ApiError::NotFound { .. }) => return done(Some("already gone")),
            Err(e) if possibly_committed(&e) => {
                match read_with_retry(ctx.write_attempts, ctx.retry_pause, || {
                    ctx.api.get(coll, id)
                })
                .await
                {
                    Err(ApiError::NotFound { .. }) => {
                        return done(Some("the answer was lost; verified gone"));
                    }
                    _ if attempt < ctx.write_attempts && !ctx.interrupt.is_set() => {
                        tokio::time::sleep(ctx.retry_pause * attempt).await;
                    }
                    _ => {
                        return outcome(c, Status::Failed, Some(id.into()), Some(e.to_string()));
                    }
                }
            }
            Err(e) => return outcome(c, Status::Failed, Some(id.into()), Some(e.to_string())),
        }
    }
    outcome(
        c,
        Status::Failed,
        Some(id.into()),
        Some("not deleted".into()),
    )
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use serde_json::{Map, Value, json};

    use crate::api::scripted::{Fault, Method, Scripted};
    use crate::api::{Api, Collection, WriteOptions};
    use crate::apply::executor::{ApplyOptions, Interrupt, apply};
    use crate::apply::outcome::Status;
    use crate::apply::progress::Silent;
    use crate::model::{CustomerKey, Kind};
    use crate::plan::{ActionKind, Change, Plan};
    use crate::sandbox::InProcess;
    use crate::sandbox::faults::FaultConfig;

    const CHARGES: WriteOptions = WriteOptions {
        accept_charges: true,
    };

    struct World {
        _dir: tempfile::TempDir,
        sandbox: Arc<InProcess>,
        api: Arc<Scripted>,
        customer: String,
    }

    fn obj(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => panic!("object"),
        }
    }

    async fn world() -> World {
        let dir = tempfile::tempdir().unwrap();
        let sandbox = Arc::new(
            InProcess::with_faults(&dir.path().join("s.json"), FaultConfig::default()).unwrap(),
        );
        let customer = sandbox
            .create_customer(&obj(json!({"name": "A", "reference": "A-1"})), CHARGES)
            .await
            .unwrap()
            .id;
        let api = Arc::new(Scripted::new(sandbox.clone()));
        World {
            _dir: dir,
            sandbox,
            api,
            customer,
        }
    }

    impl World {
        fn pbxs(&self) -> Collection<'_> {
            Collection::new(Kind::PbxConnection, Some(&self.customer))
        }

        async fn profiles(&self) -> Vec<crate::model::LiveObject> {
            self.sandbox.list(self.pbxs(), None).await.unwrap()
        }

        /// A profile made directly in the sandbox (not through the executor); its id.
        async fn existing_profile(&self) -> String {
            self.sandbox
                .create(self.pbxs(), &body_resolved(), CHARGES)
                .await
                .unwrap()
                .id()
                .to_string()
        }

        fn change(&self, action: ActionKind) -> Change {
            let mut c = Change::new(CustomerKey::Reference("A-1".into()), action);
            c.kind = Kind::PbxConnection;
            c.address = "customer[A-1].pbx[main]".into();
            c.name = Some("main".into());
            c.parent_id = Some(self.customer.clone());
            c
        }

        async fn run(&self, changes: Vec<Change>) -> Vec<(Status, Option<String>)> {
            let plan = Plan::of_changes(self.api.endpoint(), changes);
            let opts = ApplyOptions {
                accept_charges: true,
                retry_pause: Duration::ZERO,
                lookup_backoff: vec![Duration::ZERO; 2],
                ..ApplyOptions::default()
            };
            let env = |v: &str| (v == "PBX_KEY").then(|| "pbx-s3cret".to_string());
            let report = apply(
                &plan,
                self.api.clone(),
                &opts,
                Arc::new(env),
                Arc::new(Silent),
                Interrupt::default(),
            )
            .await
            .unwrap();
            report
                .results
                .iter()
                .map(|o| (o.status, o.message.clone()))
                .collect()
        }
    }

    fn body() -> Map<String, Value> {
        obj(json!({"_type": "KazooPbxConnectionProfile", "name": "main",
            "accountId": "acct", "apiKey": {"fromEnv": "PBX_KEY"}}))
    }

    #[tokio::test]
    async fn a_create_whose_answer_is_lost_is_found_by_name_not_sent_twice() {
        let w = world().await;
        w.api
            .script(Method::Create, "main", [Fault::CommitThenLose]);
        let mut c = w.change(ActionKind::Create);
        c.create = Some(body());
        let out = w.run(vec![c]).await;
        assert_eq!(out[0].0, Status::Created, "{out:?}");
        assert!(
            out[0]
                .1
                .as_deref()
                .unwrap_or("")
                .contains("found by its name")
        );
        assert_eq!(w.api.count("POST main"), 1);
        assert_eq!(w.profiles().await.len(), 1);
        // The secret was resolved where it was sent, and only there.
        assert!(
            w.api
                .record()
                .bodies
                .iter()
                .any(|b| b.contains("pbx-s3cret"))
        );
        assert!(!format!("{out:?}").contains("pbx-s3cret"));
    }

    #[tokio::test]
    async fn a_create_lost_before_it_commits_is_sent_again_once() {
        let w = world().await;
        w.api
            .script(Method::Create, "main", [Fault::LoseWithoutCommit]);
        let mut c = w.change(ActionKind::Create);
        c.create = Some(body());
        let out = w.run(vec![c]).await;
        assert_eq!(out[0].0, Status::Created, "{out:?}");
        assert_eq!(w.api.count("POST main"), 2);
        assert_eq!(w.profiles().await.len(), 1);
    }

    #[tokio::test]
    async fn a_patch_is_refused_when_the_profile_changed_and_resent_after_a_lost_answer() {
        let w = world().await;
        let id = w.existing_profile().await;
        let live = w.sandbox.get(w.pbxs(), &id).await.unwrap();
        let mut c = w.change(ActionKind::Update);
        c.live_id = Some(id.clone());
        c.fingerprint = Some(crate::model::LiveCustomer::from(live).fingerprint());
        c.operations = serde_json::from_value(
            json!([{"op": "add", "path": "/hostRest", "value": "https://h2"}]),
        )
        .unwrap();
        w.api.script(Method::Patch, &id, [Fault::CommitThenTimeout]);
        let out = w.run(vec![c.clone()]).await;
        assert_eq!(out[0].0, Status::Updated, "{out:?}");
        assert_eq!(
            w.api.count(&format!("PATCH {id}")),
            2,
            "an add of a member is idempotent"
        );

        // Renamed behind the plan's back: stale, not touched.
        let rename: Vec<crate::api::PatchOperation> =
            serde_json::from_value(json!([{"op": "replace", "path": "/name", "value": "other"}]))
                .unwrap();
        w.sandbox
            .patch(w.pbxs(), &id, &rename, CHARGES)
            .await
            .unwrap();
        let out = w.run(vec![c]).await;
        assert_eq!(out[0].0, Status::Stale, "{out:?}");
    }

    fn body_resolved() -> Map<String, Value> {
        obj(json!({"_type": "KazooPbxConnectionProfile", "name": "main", "accountId": "acct"}))
    }

    #[tokio::test]
    async fn a_delete_whose_answer_is_lost_is_read_back_gone() {
        let w = world().await;
        let id = w.existing_profile().await;
        w.api.script(Method::Delete, &id, [Fault::CommitThenLose]);
        let mut c = w.change(ActionKind::Delete);
        c.live_id = Some(id);
        let out = w.run(vec![c]).await;
        assert_eq!(out[0].0, Status::Deleted, "{out:?}");
        assert!(out[0].1.as_deref().unwrap_or("").contains("verified gone"));
        assert!(w.profiles().await.is_empty());
    }
}
