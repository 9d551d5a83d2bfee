//! The header of a saved plan as `dimctl show` and `apply --plan` print it: its age,
//! the dimctl that made it, its commit and target. Pure: the plan and the current time
//! in, a line out; must not read the clock itself.

use crate::plan::Plan;

/// `Plan made 2 hours ago (2026-11-23T11:00:00Z) by dimctl 0.2.0 from commit abc123,
/// against https://…`.
pub fn header(plan: &Plan, now: jiff::Timestamp) -> String {
    let when = match plan.generated_at.parse::<jiff::Timestamp>() {
        Ok(t) => format!(
            "{} ({})",
            age(now.as_second() - t.as_second()),
            plan.generated_at
        ),
        Err(_) => "at an unknown time".to_string(),
    };
    let revision = plan
        .revision
        .as_deref()
        .map(|r| format!(" from commit {r}"))
        .unwrap_or_else(|| " (no commit recorded)".to_string());
    let target = if plan.endpoint.is_empty() {
        "no target recorded".to_string()
    } else {
        format!("against {}", plan.endpoint)
    };
    format!(
        "Plan made {when} by dimctl {}{revision}, {target}.",
        plan.dimctl_version
    )
}

/// `just now`, `5 minutes ago`, `3 hours ago`, `2 days ago`.
fn age(seconds: i64) -> String {
    let plural = |n: i64, unit: &str| format!("{n} {unit}{} ago", if n == 1 { "" } else { "s" });
    match seconds {
        s if s < 60 => "just now".to_string(),
        s if s < 3_600 => plural(s / 60, "minute"),
        s if s < 86_400 => plural(s / 3_600, "hour"),
        s => plural(s / 86_400, "day"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages() {
        assert_eq!(age(5), "just now");
        assert_eq!(age(60), "1 minute ago");
        assert_eq!(age(7_300), "2 hours ago");
        assert_eq!(age(86_400 * 3 + 5), "3 days ago");
    }

    #[test]
    fn the_header_names_age_commit_and_target() {
        let mut plan = crate::plan::plan(&[], &[], &crate::plan::Policy::default());
        plan.generated_at = "2026-11-23T10:00:00Z".into();
        plan.revision = Some("abc123".into());
        plan.endpoint = "https://api.uk.myreports.cloud/api/v1.0".into();
        let now: jiff::Timestamp = "2026-11-23T12:30:00Z".parse().unwrap();
        let h = header(&plan, now);
        assert!(h.contains("2 hours ago (2026-11-23T10:00:00Z)"), "{h}");
        assert!(h.contains("from commit abc123"), "{h}");
        assert!(
            h.contains("against https://api.uk.myreports.cloud/api/v1.0"),
            "{h}"
        );
    }
}
