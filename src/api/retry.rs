//! When and how long to wait before retrying: exponential backoff with full jitter,
//! `Retry-After` (seconds or an HTTP date), and a cap on attempts and on total time.

use std::time::Duration;

/// The retry budget of one request.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Attempts in all, the first included (default 5).
    pub max_attempts: u32,
    /// No retry starts later than this after the first attempt (default 60 s).
    pub max_total: Duration,
    /// The first backoff step (default 250 ms), doubled per attempt.
    pub base: Duration,
    /// The longest single backoff (default 8 s).
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 5,
            max_total: Duration::from_secs(60),
            base: Duration::from_millis(250),
            max_delay: Duration::from_secs(8),
        }
    }
}

impl RetryPolicy {
    /// The wait before attempt `attempt + 1` (attempt counts from 1): the server's
    /// `Retry-After` when given, else backoff with full jitter. `None` when the budget
    /// (attempts or total time, given `elapsed`) does not allow another attempt.
    pub fn next_delay(
        &self,
        attempt: u32,
        elapsed: Duration,
        retry_after: Option<Duration>,
    ) -> Option<Duration> {
        if attempt >= self.max_attempts {
            return None;
        }
        let delay = match retry_after {
            Some(d) => d,
            None => {
                let exp = self
                    .base
                    .saturating_mul(1u32 << attempt.saturating_sub(1).min(16))
                    .min(self.max_delay);
                // full jitter in [exp/2, exp]
                let half = exp / 2;
                half + half.mul_f64(fastrand::f64())
            }
        };
        (elapsed + delay <= self.max_total).then_some(delay)
    }
}

/// Whether a status is worth retrying (the server did not act, or may be back soon).
pub fn is_transient(status: u16) -> bool {
    matches!(status, 429 | 502 | 503 | 504)
}

/// Parse `Retry-After`: delay-seconds or an HTTP date (RFC 9110), relative to `now`.
pub fn parse_retry_after(value: &str, now: jiff::Timestamp) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs.min(3600)));
    }
    let when = jiff::fmt::rfc2822::DateTimeParser::new()
        .parse_timestamp(value)
        .ok()?;
    let span = when.duration_since(now);
    Some(
        Duration::try_from(span)
            .unwrap_or(Duration::ZERO)
            .min(Duration::from_secs(3600)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_seconds_and_http_date() {
        let now: jiff::Timestamp = "2026-11-06T08:49:30Z".parse().unwrap();
        assert_eq!(parse_retry_after("3", now), Some(Duration::from_secs(3)));
        assert_eq!(
            parse_retry_after("Fri, 06 Nov 2026 08:49:37 GMT", now),
            Some(Duration::from_secs(7))
        );
        assert_eq!(
            parse_retry_after("Fri, 06 Nov 2026 08:49:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon", now), None);
    }

    #[test]
    fn backoff_grows_and_respects_the_budget() {
        let p = RetryPolicy::default();
        let d1 = p.next_delay(1, Duration::ZERO, None).unwrap();
        let d3 = p.next_delay(3, Duration::ZERO, None).unwrap();
        assert!(d1 <= Duration::from_millis(250) && d1 >= Duration::from_millis(125));
        assert!(d3 >= Duration::from_millis(500) && d3 <= Duration::from_secs(1));
        assert_eq!(p.next_delay(5, Duration::ZERO, None), None);
        assert_eq!(
            p.next_delay(1, Duration::from_secs(59), Some(Duration::from_secs(2))),
            None
        );
        assert_eq!(
            p.next_delay(1, Duration::ZERO, Some(Duration::from_secs(2))),
            Some(Duration::from_secs(2))
        );
    }
}
