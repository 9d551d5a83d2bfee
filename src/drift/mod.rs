//! Drift: what a scheduled job needs to know about the gap between git and the account.
//!
//! A drift report is computed from a [`Plan`] (made with the same manifests, live state
//! and policy) and the live customers, and says: what drifted (live differs from git),
//! what is unmanaged (live but in no manifest), what is missing (in git but not live),
//! and which trials end soon — an unterminated trial becomes a paying customer.
//!
//! Pure: the date is an argument, nothing is read or printed here. Owns the findings,
//! not their renderings (those are [`crate::render::drift`]'s).

use jiff::civil::Date;
use schemars::JsonSchema;
use serde::Serialize;

use crate::model::{CustomerKey, LiveCustomer};
use crate::plan::{ActionKind, FieldDiff, Plan, PlanError};

/// The version of the JSON drift report. Version 2 added `dimctl_version`,
/// `generated_at` and `revision`.
pub const FORMAT_VERSION: u32 = 2;

/// Everything a drift job reports.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct DriftReport {
    pub format_version: u32,
    /// The dimctl that made the report.
    pub dimctl_version: String,
    /// When the live state was read (RFC 3339, UTC): the plan's `generated_at`.
    pub generated_at: String,
    /// The commit the manifests came from, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revision: Option<String>,
    pub endpoint: String,
    /// The date the report was made for (trial windows are counted from it).
    pub today: String,
    pub trial_warning_days: u32,
    pub summary: DriftSummary,
    /// Managed customers whose live state differs from their manifest.
    pub drifted: Vec<Drifted>,
    /// Customers declared in git that do not exist live.
    pub missing: Vec<Missing>,
    /// Live customers that no manifest declares.
    pub unmanaged: Vec<Unmanaged>,
    /// Trials that end within the warning window (or have ended, still unterminated).
    pub trials_ending: Vec<TrialEnding>,
    /// Customers that could not be compared at all.
    pub errors: Vec<PlanError>,
}

impl DriftReport {
    /// Whether a scheduled job should fail: anything drifted, missing, unmanaged, a
    /// trial ending in the window, or an error.
    pub fn has_findings(&self) -> bool {
        !(self.drifted.is_empty()
            && self.missing.is_empty()
            && self.unmanaged.is_empty()
            && self.trials_ending.is_empty()
            && self.errors.is_empty())
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, JsonSchema)]
pub struct DriftSummary {
    pub drifted: usize,
    pub missing: usize,
    pub unmanaged: usize,
    pub trials_ending: usize,
    pub errors: usize,
    pub in_sync: usize,
}

/// A managed customer whose live state differs from git.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct Drifted {
    pub key: CustomerKey,
    /// For a resource below a customer (a PBX profile, a user): its address
    /// (`customer[REF].pbx[NAME]`, `customer[REF].user[EMAIL]`); none for a customer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,

    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub live_id: Option<String>,
    /// `update` (apply would fix it), `delete` (git says absent), or `refused` (it can
    /// only be fixed outside dimctl: a create-only field differs).
    pub action: ActionKind,
    pub fields: Vec<FieldDiff>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unfixable: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct Missing {
    pub key: CustomerKey,
    /// For a resource below a customer (a PBX profile, a user): its address
    /// (`customer[REF].pbx[NAME]`, `customer[REF].user[EMAIL]`); none for a customer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,

    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct Unmanaged {
    pub id: String,
    /// For a resource below a customer (a PBX profile, a user): its address
    /// (`customer[REF].pbx[NAME]`, `customer[REF].user[EMAIL]`); none for a customer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,

    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// A trial and when it rolls into billing.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct TrialEnding {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The last day of the trial: `dateCreated` + `trialDuration` days.
    pub ends: String,
    /// Days from today to the end (negative: ended that many days ago).
    pub days_left: i64,
}

/// Build the report.
pub fn report(
    plan: &Plan,
    live: &[LiveCustomer],
    today: Date,
    trial_warning_days: u32,
) -> DriftReport {
    let mut drifted = Vec::new();
    let mut missing = Vec::new();
    let mut in_sync = 0;
    for change in &plan.changes {
        let source = change.source.as_ref().map(|s| s.to_string());
        let address = (change.kind != crate::model::Kind::Customer).then(|| change.address.clone());
        match change.action {
            ActionKind::NoOp if change.pending().is_empty() => in_sync += 1,
            ActionKind::NoOp => drifted.push(Drifted {
                key: change.key.clone(),
                address: address.clone(),
                name: change.name.clone(),
                live_id: change.live_id.clone(),
                action: change.action,
                fields: Vec::new(),
                unfixable: change
                    .pending()
                    .iter()
                    .map(|p| {
                        format!(
                            "{p}: declared in git, but the API does not show this customer's PBX profiles, so whether it exists cannot be confirmed"
                        )
                    })
                    .collect(),
                source,
            }),
            ActionKind::Create => missing.push(Missing {
                key: change.key.clone(),
                address,
                name: change.name.clone(),
                source,
            }),
            ActionKind::Update | ActionKind::Delete | ActionKind::Refused => {
                drifted.push(Drifted {
                    key: change.key.clone(),
                    address,
                    name: change.name.clone(),
                    live_id: change.live_id.clone(),
                    action: change.action,
                    fields: change.diffs.clone(),
                    unfixable: change
                        .refusals
                        .iter()
                        .map(|r| format!("{}: {}", r.field, r.reason))
                        .collect(),
                    source,
                })
            }
        }
    }
    let unmanaged: Vec<Unmanaged> = plan
        .unmanaged
        .iter()
        .map(|u| Unmanaged {
            id: u.id.clone(),
            address: None,
            reference: u.reference.clone(),
            name: u.name.clone(),
        })
        .chain(plan.unmanaged_resources.iter().map(|u| Unmanaged {
            id: u.id.clone(),
            address: Some(u.address.clone()),
            reference: None,
            name: u.name.clone(),
        }))
        .chain(plan.users.unmanaged.iter().map(|u| Unmanaged {
            id: u.id.clone(),
            address: Some(u.address.clone()),
            reference: None,
            name: u.display_name.clone(),
        }))
        .collect();
    let trials_ending = trials_ending(live, today, trial_warning_days);
    DriftReport {
        format_version: FORMAT_VERSION,
        dimctl_version: crate::document::VERSION.to_string(),
        generated_at: plan.generated_at.clone(),
        revision: plan.revision.clone(),
        endpoint: plan.endpoint.clone(),
        today: today.to_string(),
        trial_warning_days,
        summary: DriftSummary {
            drifted: drifted.len(),
            missing: missing.len(),
            unmanaged: unmanaged.len(),
            trials_ending: trials_ending.len(),
            errors: plan.errors.len(),
            in_sync,
        },
        drifted,
        missing,
        unmanaged,
        trials_ending,
        errors: plan.errors.clone(),
    }
}

/// Live trials whose end falls on or before `today + window` days, soonest first. A trial
/// that has already ended is listed too (negative days): the customer is now billed.
pub fn trials_ending(live: &[LiveCustomer], today: Date, window: u32) -> Vec<TrialEnding> {
    let mut out: Vec<TrialEnding> = live
        .iter()
        .filter_map(|c| {
            let days = crate::model::live::normalise_integer(&c.get("trialDuration")?).as_i64()?;
            if days <= 0 {
                return None;
            }
            let created = created_date(c.get_str("dateCreated")?)?;
            let ends = created.checked_add(jiff::Span::new().days(days)).ok()?;
            let days_left = (ends - today).get_days() as i64;
            (days_left <= i64::from(window)).then(|| TrialEnding {
                id: c.id.clone(),
                reference: c.reference().map(str::to_string),
                name: c.name().map(str::to_string),
                ends: ends.to_string(),
                days_left,
            })
        })
        .collect();
    out.sort_by(|a, b| a.days_left.cmp(&b.days_left).then_with(|| a.id.cmp(&b.id)));
    out
}

/// The civil (UTC) date of an API timestamp: RFC 3339 with or without an offset, or a
/// bare date.
fn created_date(text: &str) -> Option<Date> {
    if let Ok(ts) = text.parse::<jiff::Timestamp>() {
        return Some(ts.to_zoned(jiff::tz::TimeZone::UTC).date());
    }
    if let Ok(dt) = text.parse::<jiff::civil::DateTime>() {
        return Some(dt.date());
    }
    text.get(..10)?.parse::<Date>().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn live(v: serde_json::Value) -> LiveCustomer {
        LiveCustomer::from_json(v).expect("live")
    }

    #[test]
    fn trials_in_the_window_soonest_first() {
        let today = jiff::civil::date(2026, 11, 22);
        let customers = [
            // created 27 days ago with a 30-day trial: ends in 3 days
            live(
                json!({"id": "a", "reference": "A", "trialDuration": 30, "dateCreated": "2026-10-26T09:30:00Z"}),
            ),
            // ends in 20 days: outside a 14-day window
            live(json!({"id": "b", "trialDuration": "30", "dateCreated": "2026-11-12T00:00:00Z"})),
            // no trial
            live(json!({"id": "c", "trialDuration": 0, "dateCreated": "2026-11-01T00:00:00Z"})),
            // ended 2 days ago, still not terminated
            live(json!({"id": "d", "trialDuration": 14, "dateCreated": "2026-11-06"})),
            // no creation date: cannot tell, not listed
            live(json!({"id": "e", "trialDuration": 14})),
        ];
        let got = trials_ending(&customers, today, 14);
        let ids: Vec<(&str, i64, &str)> = got
            .iter()
            .map(|t| (t.id.as_str(), t.days_left, t.ends.as_str()))
            .collect();
        assert_eq!(ids, [("d", -2, "2026-11-20"), ("a", 3, "2026-11-25")]);
    }

    #[test]
    fn created_dates_in_the_api_spellings() {
        let d = jiff::civil::date(2026, 1, 2);
        for text in [
            "2026-01-02T23:59:59Z",
            "2026-01-02T10:00:00.1234567",
            "2026-01-02",
            "2026-01-02T10:00:00+00:00",
        ] {
            assert_eq!(created_date(text), Some(d), "{text}");
        }
        assert_eq!(created_date("yesterday"), None);
    }
}
