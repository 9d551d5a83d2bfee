//! The accepted range of every numeric setting, a flag and its dimctl.yaml twin alike:
//! one table, checked once flags and file are merged ([`check`], called by the CLI's
//! settings resolution before anything else is done), and quoted in `--help`, the README and
//! the dimctl.yaml schema. A value outside its range (NaN and infinities included) is an
//! error naming the flag or the file key and the range; nothing downstream has to guard
//! against a rate of 1e-300 or a timeout of zero.
//!
//! Pure: values and their origins in, a message out.

use super::{Effective, Origin};

/// A setting's name on the command line and in dimctl.yaml, and its inclusive range.
#[derive(Debug, Clone, Copy)]
pub struct Range {
    /// The flag, e.g. `--max-rps`.
    pub flag: &'static str,
    /// The dimctl.yaml key, e.g. `maxRps`, when there is one.
    pub key: Option<&'static str>,
    pub min: f64,
    pub max: f64,
    /// The unit, for messages (`requests per second`).
    pub unit: &'static str,
}

pub const MAX_RPS: Range = Range {
    flag: "--max-rps",
    key: Some("maxRps"),
    min: 0.1,
    max: 10_000.0,
    unit: "requests per second",
};
pub const PARALLELISM: Range = Range {
    flag: "--parallelism",
    key: Some("parallelism"),
    min: 1.0,
    max: 256.0,
    unit: "customers at once",
};
pub const MAX_IN_FLIGHT: Range = Range {
    flag: "--max-in-flight",
    key: Some("maxInFlight"),
    min: 1.0,
    max: 1024.0,
    unit: "requests",
};
pub const TIMEOUT: Range = Range {
    flag: "--timeout",
    key: None,
    min: 1.0,
    max: 3600.0,
    unit: "seconds",
};
pub const MAX_UPDATE_SHARE: Range = Range {
    flag: "--max-update-share",
    key: Some("safety.maxUpdateShare"),
    min: 0.0,
    max: 1.0,
    unit: "(a share: 0.3 is 30 %)",
};
pub const MAX_DELETE_SHARE: Range = Range {
    flag: "--max-delete-share",
    key: Some("safety.maxDeleteShare"),
    min: 0.0,
    max: 1.0,
    unit: "(a share: 0.3 is 30 %)",
};
pub const MAX_CREATE_SHARE: Range = Range {
    flag: "--max-create-share",
    key: Some("safety.maxCreateShare"),
    min: 0.0,
    max: 1.0,
    unit: "(a share: 0.3 is 30 %)",
};
pub const MIN_EXISTING: Range = Range {
    flag: "(no flag)",
    key: Some("safety.minExisting"),
    min: 0.0,
    max: 1_000_000.0,
    unit: "customers",
};
pub const TRIAL_WARNING_DAYS: Range = Range {
    flag: "--trial-warning-days",
    key: Some("trialWarningDays"),
    min: 0.0,
    max: 365.0,
    unit: "days",
};
pub const LOGIN_WAIT: Range = Range {
    flag: "--wait",
    key: None,
    min: 1.0,
    max: 3600.0,
    unit: "seconds",
};

/// A number as a person writes it: `0.1`, `256`, `1e-300` (never 300 zeros).
fn shown(v: f64) -> String {
    if v != 0.0 && v.is_finite() && (v.abs() < 1e-4 || v.abs() >= 1e15) {
        format!("{v:e}")
    } else {
        format!("{v}")
    }
}

/// A value outside its range: where it came from (the flag, the variable, or the key and
/// file) and the range to use.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{whose} is out of range: use {range}")]
pub struct OutOfRange {
    pub whose: String,
    pub range: String,
}

/// Every value of a configuration that is out of range, one per line.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{}", lines(.0))]
pub struct OutOfRanges(pub Vec<OutOfRange>);

fn lines(problems: &[OutOfRange]) -> String {
    let all: Vec<String> = problems.iter().map(ToString::to_string).collect();
    all.join("\n")
}

impl Range {
    /// `0.1 to 10000 requests per second`.
    pub fn describe(&self) -> String {
        format!("{} to {} {}", shown(self.min), shown(self.max), self.unit)
    }

    /// `value` if it lies within the range (NaN never does); else a message naming where
    /// it came from (the flag, or the key and file) and the range.
    pub fn check(&self, value: f64, origin: &Origin) -> Result<f64, OutOfRange> {
        if self.min <= value && value <= self.max {
            return Ok(value);
        }
        let whose = match (origin, self.key) {
            (Origin::File(path), Some(key)) => format!("`{key}: {}` in {path}", shown(value)),
            (Origin::Env(var), _) => format!("{var}={}", shown(value)),
            _ => format!("{} {}", self.flag, shown(value)),
        };
        Err(OutOfRange {
            whose,
            range: self.describe(),
        })
    }
}

/// Check every ranged value of the effective configuration, and the request timeout
/// (a flag only). Every problem is reported, one per line.
pub fn check(effective: &Effective, timeout_secs: u64) -> Result<(), OutOfRanges> {
    let mut problems = Vec::new();
    let mut one = |range: &Range, value: f64, origin: &Origin| {
        if let Err(e) = range.check(value, origin) {
            problems.push(e);
        }
    };
    if let Some(rps) = &effective.max_rps {
        one(&MAX_RPS, rps.value, &rps.origin);
    }
    let e = effective;
    one(
        &PARALLELISM,
        e.parallelism.value as f64,
        &e.parallelism.origin,
    );
    one(
        &MAX_IN_FLIGHT,
        e.max_in_flight.value as f64,
        &e.max_in_flight.origin,
    );
    one(
        &MAX_UPDATE_SHARE,
        e.max_update_share.value,
        &e.max_update_share.origin,
    );
    one(
        &MAX_DELETE_SHARE,
        e.max_delete_share.value,
        &e.max_delete_share.origin,
    );
    one(
        &MAX_CREATE_SHARE,
        e.max_create_share.value,
        &e.max_create_share.origin,
    );
    one(
        &MIN_EXISTING,
        e.min_existing.value as f64,
        &e.min_existing.origin,
    );
    one(
        &TRIAL_WARNING_DAYS,
        e.trial_warning_days.value as f64,
        &e.trial_warning_days.origin,
    );
    one(&TIMEOUT, timeout_secs as f64, &Origin::Flag);
    if problems.is_empty() {
        Ok(())
    } else {
        Err(OutOfRanges(problems))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Flags, resolve};

    #[test]
    fn values_outside_their_range_name_the_flag_and_the_range() {
        let cases: &[(Range, f64, &str)] = &[
            (
                MAX_RPS,
                1e-300,
                "--max-rps 1e-300 is out of range: use 0.1 to 10000 requests per second",
            ),
            (MAX_RPS, 0.0000001, "--max-rps 1e-7 is out of range"),
            (MAX_RPS, f64::NAN, "--max-rps NaN is out of range"),
            (MAX_RPS, f64::INFINITY, "--max-rps inf is out of range"),
            (
                PARALLELISM,
                0.0,
                "--parallelism 0 is out of range: use 1 to 256",
            ),
            (
                TIMEOUT,
                0.0,
                "--timeout 0 is out of range: use 1 to 3600 seconds",
            ),
            (
                MAX_DELETE_SHARE,
                1.5,
                "--max-delete-share 1.5 is out of range: use 0 to 1",
            ),
        ];
        for (range, value, want) in cases {
            let err = range.check(*value, &Origin::Flag).unwrap_err().to_string();
            assert!(err.starts_with(want), "{err}");
        }
        assert_eq!(MAX_RPS.check(0.1, &Origin::Flag), Ok(0.1));
        assert_eq!(MAX_RPS.check(10_000.0, &Origin::Flag), Ok(10_000.0));
        assert_eq!(PARALLELISM.check(256.0, &Origin::Flag), Ok(256.0));
    }

    #[test]
    fn a_file_value_is_named_by_its_key_and_file() {
        let err = PARALLELISM
            .check(999.0, &Origin::File("/repo/dimctl.yaml".into()))
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "`parallelism: 999` in /repo/dimctl.yaml is out of range: use 1 to 256 customers at once"
        );
    }

    #[test]
    fn every_problem_is_reported_and_defaults_pass() {
        let (ok, _) = resolve(&Flags::default(), &|_| None, None);
        assert_eq!(check(&ok, 30), Ok(()));
        let flags = Flags {
            max_rps: Some(0.0),
            parallelism: Some(0),
            ..Flags::default()
        };
        let (bad, _) = resolve(&flags, &|_| None, None);
        let err = check(&bad, 0).unwrap_err();
        assert_eq!(err.0.len(), 3, "{err}");
        let err = err.to_string();
        assert_eq!(err.lines().count(), 3, "{err}");
        assert!(err.contains("--max-rps 0 "), "{err}");
        assert!(err.contains("--parallelism 0 "), "{err}");
        assert!(err.contains("--timeout 0 "), "{err}");
    }
}
