//! The checks that refuse a plan whole, before any request: wrong endpoint or format,
//! a plan that is not applicable, billable actions without `--accept-charges`, and
//! secrets that cannot be resolved.

use thiserror::Error;

use super::secrets::{SecretSource, misplaced_refs, missing_vars, short_vars};
use crate::plan::{ActionKind, AnnotationKind, FORMAT_VERSION, Plan};

/// Why a plan was refused before anything was written.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum Refusal {
    #[error(
        "the plan was made against {plan}, but this run talks to {api}: re-run plan against this endpoint"
    )]
    Endpoint { plan: String, api: String },

    #[error(
        "the plan has format version {found}; this dimctl applies version {supported} only: re-run plan"
    )]
    FormatVersion { found: u32, supported: u32 },

    #[error("the plan cannot be applied:\n{}", .0.iter().map(|r| format!("  - {r}")).collect::<Vec<_>>().join("\n"))]
    NotApplicable(Vec<String>),

    #[error(
        "the plan includes actions that may incur charges; re-run with --accept-charges to make them:\n{}",
        .0.iter().map(|r| format!("  - {r}")).collect::<Vec<_>>().join("\n")
    )]
    ChargesNotAccepted(Vec<String>),

    #[error("the plan needs secrets that are not set (nothing was written): {}", .0.join(", "))]
    MissingSecrets(Vec<String>),

    #[error(
        "the plan needs secrets whose values are shorter than {} characters, too short to be kept out of output safely (nothing was written): use longer secrets in {}",
        crate::redact::MIN_LEN,
        .0.join(", ")
    )]
    ShortSecrets(Vec<String>),

    #[error(
        "the plan has secret references apply will not resolve (nothing was written; re-run plan from the manifests):\n{}",
        .0.iter().map(|r| format!("  - {r}")).collect::<Vec<_>>().join("\n")
    )]
    MisplacedSecrets(Vec<String>),
}

/// The plan's billable actions, one line each: every create, and every write carrying a
/// billable annotation.
pub fn billable_actions(plan: &Plan) -> Vec<String> {
    let mut out = Vec::new();
    for c in plan.changes.iter().filter(|c| c.action.is_write()) {
        let mut reasons: Vec<String> = c
            .annotations
            .iter()
            .filter(|a| a.kind == AnnotationKind::Billable)
            .map(|a| match &a.field {
                Some(f) => format!("{f}: {}", a.message),
                None => a.message.clone(),
            })
            .collect();
        if c.action == ActionKind::Create && reasons.is_empty() {
            reasons.push("a new customer tenant may be billed".into());
        }
        if !reasons.is_empty() {
            let verb = match c.action {
                ActionKind::Create => "create",
                ActionKind::Update => "update",
                _ => "delete",
            };
            let what = match c.kind {
                crate::model::Kind::Customer => c.key.to_string(),
                crate::model::Kind::User => c.address.clone(),
            };
            out.push(format!("{verb} {what}: {}", reasons.join("; ")));
        }
    }
    out
}

/// Every check that refuses the plan whole. `endpoint` is [`crate::api::Api::endpoint`].
pub fn preflight(
    plan: &Plan,
    endpoint: &str,
    accept_charges: bool,
    env: &dyn SecretSource,
) -> Result<(), Refusal> {
    if plan.format_version != FORMAT_VERSION {
        return Err(Refusal::FormatVersion {
            found: plan.format_version,
            supported: FORMAT_VERSION,
        });
    }
    if plan.endpoint != endpoint {
        return Err(Refusal::Endpoint {
            plan: if plan.endpoint.is_empty() {
                "(no endpoint recorded)".into()
            } else {
                plan.endpoint.clone()
            },
            api: endpoint.to_string(),
        });
    }
    if !plan.is_applicable() {
        let mut reasons: Vec<String> = plan
            .errors
            .iter()
            .map(|e| format!("{}: {}", e.key, e.message))
            .collect();
        reasons.extend(plan.unsafe_reasons.iter().map(|r| format!("unsafe: {r}")));
        for c in plan
            .changes
            .iter()
            .filter(|c| c.action == ActionKind::Refused)
        {
            let why: Vec<&str> = c.refusals.iter().map(|r| r.reason.as_str()).collect();
            reasons.push(format!("{}: refused: {}", c.key, why.join("; ")));
        }
        return Err(Refusal::NotApplicable(reasons));
    }
    let billable = billable_actions(plan);
    if !billable.is_empty() && !accept_charges {
        return Err(Refusal::ChargesNotAccepted(billable));
    }
    let misplaced = misplaced_refs(plan);
    if !misplaced.is_empty() {
        return Err(Refusal::MisplacedSecrets(misplaced));
    }
    let missing = missing_vars(plan, env);
    if !missing.is_empty() {
        return Err(Refusal::MissingSecrets(missing));
    }
    let short = short_vars(plan, env);
    if !short.is_empty() {
        return Err(Refusal::ShortSecrets(short));
    }
    Ok(())
}
