//! The warnings a reviewer must see, built from the registry: each kind's create and
//! delete effects and each field's side effects (billing, PBX starts and collector
//! restarts, values fixed for good, terminations).

use jiff::ToSpan;

use crate::model::catalogue::{self, EffectClass, SideEffect};
use crate::model::{Kind, KindEffect};

use super::{Annotation, AnnotationKind};

fn from_effect(kind: AnnotationKind, field: &str, effect: SideEffect, prefix: &str) -> Annotation {
    Annotation {
        kind,
        field: Some(field.to_string()),
        message: format!("{prefix}{}", effect.message()),
        code: Some(effect.code().to_string()),
    }
}

impl From<EffectClass> for AnnotationKind {
    fn from(c: EffectClass) -> AnnotationKind {
        match c {
            EffectClass::Billable => AnnotationKind::Billable,
            EffectClass::SideEffect => AnnotationKind::SideEffect,
            EffectClass::Destructive => AnnotationKind::Destructive,
        }
    }
}

fn from_kind_effect(e: &KindEffect) -> Annotation {
    Annotation {
        kind: e.class.into(),
        field: None,
        message: e.message.to_string(),
        code: e.code.map(str::to_string),
    }
}

/// What creating a resource of this kind does (a customer: a billable tenant).
pub(crate) fn on_create(kind: Kind) -> Vec<Annotation> {
    kind.def().on_create.iter().map(from_kind_effect).collect()
}

/// What deleting a resource of this kind does (a customer: termination for good).
pub(crate) fn on_delete(kind: Kind) -> Vec<Annotation> {
    kind.def().on_delete.iter().map(from_kind_effect).collect()
}

/// The annotation for writing `value` to a scalar field whose effect applies (see
/// [`catalogue::Field::effect_applies`]). Effects on counts inside an object or on array
/// items are annotated where those are compared (per key, per profile): none here.
pub(crate) fn field_effect(
    field: &catalogue::Field,
    effect: SideEffect,
    value: &serde_json::Value,
    today: Option<jiff::civil::Date>,
) -> Option<Annotation> {
    let path = format!("/{}", field.name);
    match effect {
        SideEffect::StartsPbxAndEmailsUsers
        | SideEffect::ProductTypeFixedAndPriced
        | SideEffect::ConnectsPbxAndImportsUsers => {
            Some(from_effect(effect.class().into(), &path, effect, ""))
        }
        SideEffect::TrialRollsIntoBilling => {
            let days = crate::model::live::normalise_integer(value).as_i64()?;
            Some(trial(&path, u32::try_from(days).ok()?, today))
        }
        SideEffect::MayIncurCharges | SideEffect::RestartsPbxCollector => None,
    }
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
fn trial(path: &str, days: u32, today: Option<jiff::civil::Date>) -> Annotation {
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
        field: Some(path.to_string()),
        message,
        code: Some(SideEffect::TrialRollsIntoBilling.code().to_string()),
    }
}

/// A create-only value that will be fixed for good once the customer exists.
pub(crate) fn fixed_for_good(field: &catalogue::Field, value: &serde_json::Value) -> Annotation {
    let why = field
        .mutability
        .create_only_reason()
        .unwrap_or("it can only be set on create");
    Annotation {
        kind: AnnotationKind::CreateOnly,
        field: Some(format!("/{}", field.name)),
        message: format!(
            "{} = {value} is fixed for good once the customer is created ({why})",
            field.name
        ),
        code: field.effect.map(|e| e.side_effect.code().to_string()),
    }
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
