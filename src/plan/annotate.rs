//! The warnings a reviewer must see, built from the catalogue's side effects: billing,
//! PBX starts and collector restarts, values fixed for good, terminations.

use jiff::ToSpan;

use crate::model::catalogue::{self, SideEffect};

use super::{Annotation, AnnotationKind};

fn from_effect(kind: AnnotationKind, field: &str, effect: SideEffect, prefix: &str) -> Annotation {
    Annotation {
        kind,
        field: Some(field.to_string()),
        message: format!("{prefix}{}", effect.message()),
        code: Some(effect.code().to_string()),
    }
}

/// Every create adds a billable tenant.
pub(crate) fn create_billable() -> Annotation {
    Annotation {
        kind: AnnotationKind::Billable,
        field: None,
        message: "creating a customer adds a billable tenant".to_string(),
        code: None,
    }
}

/// `enabled` becomes true: the PBX connection starts and invitations are emailed.
pub(crate) fn enabling() -> Annotation {
    from_effect(
        AnnotationKind::SideEffect,
        "/enabled",
        SideEffect::StartsPbxAndEmailsUsers,
        "",
    )
}

/// A licensed feature is raised (or set above 0 on create, or written unverified).
pub(crate) fn feature_raised(path: &str) -> Annotation {
    from_effect(
        AnnotationKind::Billable,
        path,
        SideEffect::MayIncurCharges,
        &format!("{path}: "),
    )
}

/// A trial: when it ends it rolls into billing, on a date when today is known.
pub(crate) fn trial(days: u32, today: Option<jiff::civil::Date>) -> Annotation {
    let end = today.and_then(|t| t.checked_add(i64::from(days).days()).ok());
    let message = match end {
        Some(date) => format!(
            "a {days}-day trial rolls into billing on {date} unless the customer is terminated first"
        ),
        None => format!(
            "a {days}-day trial rolls into billing when it ends unless the customer is terminated first"
        ),
    };
    Annotation {
        kind: AnnotationKind::Billable,
        field: Some("/trialDuration".to_string()),
        message,
        code: Some(SideEffect::TrialRollsIntoBilling.code().to_string()),
    }
}

/// A create-only value that will be fixed for good once the customer exists.
pub(crate) fn fixed_for_good(field: &catalogue::Field, value: &serde_json::Value) -> Annotation {
    let why = field
        .create_only_reason
        .unwrap_or("it can only be set on create");
    Annotation {
        kind: AnnotationKind::CreateOnly,
        field: Some(format!("/{}", field.name)),
        message: format!(
            "{} = {value} is fixed for good once the customer is created ({why})",
            field.name
        ),
        code: field.side_effect.map(|e| e.code().to_string()),
    }
}

/// The tenant profile sets licensing fees.
pub(crate) fn product_type() -> Annotation {
    from_effect(
        AnnotationKind::Billable,
        "/tenantProfileType",
        SideEffect::ProductTypeFixedAndPriced,
        "",
    )
}

/// A PBX profile is added or changed: its collector (re)starts.
pub(crate) fn pbx_collector(path: &str, profile: &str, added: bool) -> Annotation {
    let what = if added { " (new)" } else { "" };
    from_effect(
        AnnotationKind::SideEffect,
        path,
        SideEffect::RestartsPbxCollector,
        &format!("PBX profile {profile:?}{what}: "),
    )
}

/// The host a PBX secret is sent to changes: the stored secret goes to the new host.
pub(crate) fn secret_host(
    path: &str,
    profile: &str,
    key: &str,
    old: &str,
    new: &str,
) -> Annotation {
    Annotation {
        kind: AnnotationKind::SideEffect,
        field: Some(path.to_string()),
        message: format!(
            "PBX profile {profile:?}: `{key}` changes from {old} to {new}: the profile's secret (API key or password) will be sent to the new host; make sure it is yours"
        ),
        code: Some("secret-host-changes".into()),
    }
}

/// A termination cannot be undone.
pub(crate) fn destructive() -> Annotation {
    Annotation {
        kind: AnnotationKind::Destructive,
        field: None,
        message: "terminating a customer deactivates it and flags it for deletion; \
                  it cannot be reinstated and its data is lost"
            .to_string(),
        code: None,
    }
}
