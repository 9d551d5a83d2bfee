//! Fault injection for `sandbox serve` (and, where it makes sense, the in-process
//! sandbox): latency, a rate limit, error answers, dropped connections, commit-then-drop,
//! short-lived tokens. Every random choice comes from one RNG seeded by `seed`, so a
//! failing run replays.

use std::path::Path;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde::Deserialize;

/// The fault settings, from flags or a YAML file (same names in camelCase).
#[derive(Debug, Clone, Default, PartialEq, Deserialize, clap::Args)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct FaultConfig {
    /// Added latency per API request, in milliseconds (default 0).
    #[arg(long, value_name = "N")]
    pub latency_ms: Option<u64>,
    /// Answer 429 with Retry-After beyond RPS requests per second (default: no limit).
    #[arg(long, value_name = "RPS")]
    pub rate_limit: Option<f64>,
    /// Fraction (0..1) of API requests answered 500 or 503 without acting (default 0).
    #[arg(long, value_name = "F")]
    pub error_rate: Option<f64>,
    /// Fraction (0..1) of API requests whose connection is dropped without an answer and
    /// without acting (default 0).
    #[arg(long, value_name = "F")]
    pub drop_rate: Option<f64>,
    /// Fraction (0..1) of POSTs committed to the store whose answer is then lost (default 0).
    #[arg(long, value_name = "F")]
    pub commit_then_drop_post: Option<f64>,
    /// Fraction (0..1) of PATCHes committed to the store whose answer is then lost (default 0).
    #[arg(long, value_name = "F")]
    pub commit_then_drop_patch: Option<f64>,
    /// Refuse an access token with 401 once it has been used for N requests (default: never).
    #[arg(long, value_name = "N")]
    pub token_lifetime_requests: Option<u64>,
    /// The RNG seed for every fault, so a failure replays (default 0).
    #[arg(long, value_name = "S")]
    pub seed: Option<u64>,
    /// Accept only this bearer token and those issued by the sandbox's /connect/token
    /// (default: any non-empty token).
    #[arg(long, value_name = "T")]
    pub token: Option<String>,
    /// Refuse creates with trialDuration > 0 with 400 (default: trials permitted).
    #[arg(long)]
    #[serde(default)]
    pub no_trial_permission: bool,
    /// Comma-separated fields Get and Get All do not return (default: none).
    #[arg(long, value_name = "a,b", value_delimiter = ',')]
    #[serde(default)]
    pub omit_fields: Vec<String>,
}

/// Why a fault file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum FaultFileError {
    #[error("cannot read {}: {source}", path.display())]
    Read {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    #[error("{}: {reason}", path.display())]
    Parse {
        path: std::path::PathBuf,
        reason: String,
    },
}

impl FaultConfig {
    /// Read a YAML fault file.
    pub fn from_yaml_file(path: &Path) -> Result<FaultConfig, FaultFileError> {
        let text = std::fs::read_to_string(path).map_err(|source| FaultFileError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        serde_saphyr::from_str(&text).map_err(|e| FaultFileError::Parse {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })
    }

    /// Flags win over the file: fill what the flags left unset from `file`.
    pub fn or(mut self, file: FaultConfig) -> FaultConfig {
        macro_rules! fill {
            ($($f:ident),*) => { $( if self.$f.is_none() { self.$f = file.$f; } )* };
        }
        fill!(
            latency_ms,
            rate_limit,
            error_rate,
            drop_rate,
            commit_then_drop_post,
            commit_then_drop_patch,
            token_lifetime_requests,
            seed,
            token
        );
        self.no_trial_permission |= file.no_trial_permission;
        if self.omit_fields.is_empty() {
            self.omit_fields = file.omit_fields;
        }
        self
    }
}

/// What to do with one request before it reaches the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Proceed,
    /// Drop the connection without an answer.
    Drop,
    /// Answer with this 5xx status without acting.
    Error(u16),
    /// Answer 429 with `Retry-After` in whole seconds.
    RateLimited(u64),
}

/// The running fault injector: the config, a seeded RNG and the rate-limit window.
#[derive(Debug)]
pub struct Faults {
    pub config: FaultConfig,
    rng: Mutex<fastrand::Rng>,
    window: Mutex<(Instant, u64)>,
}

impl Faults {
    pub fn new(config: FaultConfig) -> Faults {
        let seed = config.seed.unwrap_or(0);
        Faults {
            config,
            rng: Mutex::new(fastrand::Rng::with_seed(seed)),
            window: Mutex::new((Instant::now(), 0)),
        }
    }

    /// The added latency.
    pub fn latency(&self) -> Option<Duration> {
        self.config
            .latency_ms
            .filter(|ms| *ms > 0)
            .map(Duration::from_millis)
    }

    /// A draw with probability `p`.
    fn chance(&self, p: Option<f64>) -> bool {
        let p = p.unwrap_or(0.0);
        if p <= 0.0 {
            return false;
        }
        let x = match self.rng.lock() {
            Ok(mut rng) => rng.f64(),
            Err(poisoned) => poisoned.into_inner().f64(),
        };
        x < p
    }

    /// Decide the fate of one API request (drop, 5xx, 429 or proceed).
    pub fn verdict(&self) -> Verdict {
        if self.chance(self.config.drop_rate) {
            return Verdict::Drop;
        }
        if let Some(rps) = self.config.rate_limit.filter(|r| *r > 0.0) {
            let mut w = match self.window.lock() {
                Ok(w) => w,
                Err(p) => p.into_inner(),
            };
            let now = Instant::now();
            if now.duration_since(w.0) >= Duration::from_secs(1) {
                *w = (now, 0);
            }
            if (w.1 as f64) >= rps {
                return Verdict::RateLimited(1);
            }
            w.1 += 1;
        }
        if self.chance(self.config.error_rate) {
            let status = if self.chance(Some(0.5)) { 500 } else { 503 };
            return Verdict::Error(status);
        }
        Verdict::Proceed
    }

    /// Whether a committed POST's answer is lost.
    pub fn drop_after_post(&self) -> bool {
        self.chance(self.config.commit_then_drop_post)
    }

    /// Whether a committed PATCH's answer is lost.
    pub fn drop_after_patch(&self) -> bool {
        self.chance(self.config.commit_then_drop_patch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaml_file_uses_camel_case_and_flags_win() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("faults.yaml");
        std::fs::write(
            &path,
            "latencyMs: 50\nrateLimit: 10\ncommitThenDropPost: 1.0\nomitFields: [timezone]\nseed: 7\n",
        )
        .unwrap();
        let file = FaultConfig::from_yaml_file(&path).unwrap();
        assert_eq!(file.latency_ms, Some(50));
        assert_eq!(file.omit_fields, vec!["timezone".to_string()]);
        let flags = FaultConfig {
            latency_ms: Some(5),
            ..Default::default()
        };
        let merged = flags.or(file);
        assert_eq!(merged.latency_ms, Some(5));
        assert_eq!(merged.rate_limit, Some(10.0));
        assert_eq!(merged.seed, Some(7));
    }

    #[test]
    fn unknown_yaml_key_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("faults.yaml");
        std::fs::write(&path, "latncyMs: 50\n").unwrap();
        assert!(matches!(
            FaultConfig::from_yaml_file(&path),
            Err(FaultFileError::Parse { .. })
        ));
    }

    #[test]
    fn same_seed_same_faults() {
        let cfg = FaultConfig {
            error_rate: Some(0.5),
            seed: Some(42),
            ..Default::default()
        };
        let a: Vec<_> = {
            let f = Faults::new(cfg.clone());
            (0..50).map(|_| f.verdict()).collect()
        };
        let f = Faults::new(cfg);
        let b: Vec<_> = (0..50).map(|_| f.verdict()).collect();
        assert_eq!(a, b);
        assert!(a.contains(&Verdict::Proceed));
        assert!(a.iter().any(|v| matches!(v, Verdict::Error(_))));
    }

    #[test]
    fn rate_limit_answers_429_past_the_budget() {
        let f = Faults::new(FaultConfig {
            rate_limit: Some(3.0),
            ..Default::default()
        });
        let v: Vec<_> = (0..4).map(|_| f.verdict()).collect();
        assert_eq!(v[..3], [Verdict::Proceed; 3]);
        assert_eq!(v[3], Verdict::RateLimited(1));
    }
}
