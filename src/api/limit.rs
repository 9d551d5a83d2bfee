//! Client-wide limits shared by every task: requests in flight (a semaphore) and the
//! request rate, adapted to the server's 429s (additive increase, multiplicative
//! decrease) under the optional `--max-rps` ceiling.
//!
//! The rate is one value for the whole client, so one task's 429 slows every task. The
//! controller ([`Aimd`]) is a plain state machine over explicit instants: no clock, no
//! I/O, tested on values.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// The rate after a 429 is this share of what the server admitted in the second before
/// (and at least this share of half the rate in force).
pub const DECREASE: f64 = 0.9;
/// The rate grows by this share of itself per second without a 429 (at least
/// [`MIN_INCREASE`] requests per second per second).
pub const INCREASE: f64 = 0.025;
/// The smallest additive increase, in requests per second per second.
pub const MIN_INCREASE: f64 = 0.5;
/// The rate never goes below this (requests per second).
pub const MIN_RATE: f64 = 0.5;
const WINDOW: Duration = Duration::from_secs(1);

/// The client-wide rate: a token bucket whose rate adapts to 429s.
#[derive(Debug, Clone)]
pub struct Aimd {
    /// `--max-rps`, the rate never exceeded.
    ceiling: Option<f64>,
    /// The learned rate; `None` until the first 429 (then only the ceiling holds).
    learned: Option<f64>,
    tokens: f64,
    last: Instant,
    /// Answers other than 429 within the last second: what the server admits.
    admitted: VecDeque<Instant>,
    /// When the rate was last cut: a 429 to a request sent before it is the same
    /// congestion, already answered.
    cut_at: Option<Instant>,
    /// No request is sent before this (a 429 despite a cut, with `Retry-After`).
    paused_until: Option<Instant>,
}

impl Aimd {
    /// A controller with the optional ceiling (requests per second, positive).
    pub fn new(ceiling: Option<f64>, now: Instant) -> Aimd {
        Aimd {
            ceiling,
            learned: None,
            tokens: 1.0,
            last: now,
            admitted: VecDeque::new(),
            cut_at: None,
            paused_until: None,
        }
    }

    /// The rate in force (requests per second); `None` when nothing limits it.
    pub fn rate(&self) -> Option<f64> {
        match (self.learned, self.ceiling) {
            (Some(l), Some(c)) => Some(l.min(c)),
            (l, c) => l.or(c),
        }
    }

    /// Ask to send one request at `now`: `None` to send it now (a token is taken),
    /// or how long to wait before asking again.
    pub fn ask(&mut self, now: Instant) -> Option<Duration> {
        if let Some(until) = self.paused_until {
            if now < until {
                return Some(until - now);
            }
            self.paused_until = None;
        }
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.last = now;
        // Additive increase while no 429 comes.
        if let Some(l) = self.learned.as_mut() {
            *l += (*l * INCREASE).max(MIN_INCREASE) * elapsed;
            if let Some(c) = self.ceiling
                && *l >= c
            {
                // Back at the ceiling: only the ceiling holds again.
                self.learned = None;
            }
        }
        // Nothing limits the rate: send now.
        let rate = self.rate()?;
        // A learned rate is paced evenly (no burst); the ceiling alone allows a second's.
        let burst = if self.learned.is_some() {
            1.0
        } else {
            rate.max(1.0)
        };
        self.tokens = (self.tokens + elapsed * rate).min(burst);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            None
        } else {
            Some(Duration::from_secs_f64((1.0 - self.tokens) / rate))
        }
    }

    /// Record the answer at `now` to a request sent at `sent`: `throttled` when it was a
    /// 429, with the server's `Retry-After`.
    pub fn answered(
        &mut self,
        sent: Instant,
        now: Instant,
        throttled: bool,
        retry_after: Option<Duration>,
    ) {
        while self
            .admitted
            .front()
            .is_some_and(|t| now.saturating_duration_since(*t) > WINDOW)
        {
            self.admitted.pop_front();
        }
        if !throttled {
            self.admitted.push_back(now);
            return;
        }
        if self.cut_at.is_some_and(|cut| sent < cut) {
            // Sent before the last cut: that congestion is already answered.
            return;
        }
        let recent_cut = self
            .cut_at
            .is_some_and(|cut| now.saturating_duration_since(cut) < WINDOW);
        if recent_cut && let Some(d) = retry_after {
            // A 429 again right after a cut (a server counting per fixed window refuses
            // everything until the window ends): the whole client waits as the server
            // asks, and keeps the rate it just chose.
            let until = now + d;
            self.paused_until = Some(self.paused_until.map_or(until, |p| p.max(until)));
            return;
        }
        let admitted = self.admitted.len() as f64;
        // What the server admitted lately, but never less than half the rate in force at
        // once (after a quiet spell, "admitted" says little).
        let basis = match self.rate() {
            Some(current) => admitted.min(current).max(current / 2.0),
            None => admitted,
        };
        self.learned = Some((basis * DECREASE).max(MIN_RATE));
        self.tokens = self.tokens.min(0.0);
        self.cut_at = Some(now);
    }
}

/// The in-flight and rate limits of one client.
#[derive(Debug)]
pub struct Limiter {
    in_flight: Arc<Semaphore>,
    rate: Mutex<Aimd>,
}

impl Limiter {
    /// `max_in_flight` at least 1; `max_rps` none or positive, held within
    /// [`crate::config::limits::MAX_RPS`] (the CLI refuses values outside it; this only
    /// keeps a library caller from a panic or an endless wait).
    pub fn new(max_in_flight: usize, max_rps: Option<f64>) -> Limiter {
        let range = crate::config::limits::MAX_RPS;
        let ceiling = max_rps
            .filter(|r| *r > 0.0)
            .map(|r| r.clamp(range.min, range.max));
        Limiter {
            in_flight: Arc::new(Semaphore::new(max_in_flight.max(1))),
            rate: Mutex::new(Aimd::new(ceiling, Instant::now())),
        }
    }

    fn aimd(&self) -> std::sync::MutexGuard<'_, Aimd> {
        match self.rate.lock() {
            Ok(a) => a,
            Err(p) => p.into_inner(),
        }
    }

    /// Wait for the rate, then for a slot; the slot is freed when the permit drops.
    pub async fn acquire(&self) -> Option<OwnedSemaphorePermit> {
        loop {
            let wait = self.aimd().ask(Instant::now());
            match wait {
                None => break,
                Some(d) => tokio::time::sleep(d).await,
            }
        }
        self.in_flight.clone().acquire_owned().await.ok()
    }

    /// Record an answer (its status) to a request sent at `sent`.
    pub fn answered(&self, sent: Instant, status: u16, retry_after: Option<Duration>) {
        let mut a = self.aimd();
        let before = a.rate();
        a.answered(sent, Instant::now(), status == 429, retry_after);
        let after = a.rate();
        if after != before
            && let Some(r) = after
        {
            tracing::info!("429: the client's request rate is now {r:.1}/s");
        }
    }

    /// The rate in force, for logs and tests.
    pub fn rate(&self) -> Option<f64> {
        self.aimd().rate()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn without_429_or_ceiling_nothing_waits() {
        let t = Instant::now();
        let mut a = Aimd::new(None, t);
        for i in 0..1000 {
            assert_eq!(a.ask(t + ms(i)), None);
        }
        assert_eq!(a.rate(), None);
    }

    #[test]
    fn a_429_cuts_the_rate_to_a_share_of_what_was_admitted_once_per_congestion() {
        let t = Instant::now();
        let mut a = Aimd::new(None, t);
        // 20 admitted in the last second, then a 429 and seven more to requests sent
        // before the cut.
        for i in 0..20 {
            a.answered(t + ms(i * 40), t + ms(i * 40 + 5), false, None);
        }
        let now = t + ms(900);
        a.answered(now - ms(5), now, true, Some(Duration::from_secs(1)));
        let cut = a.rate().unwrap();
        assert!((cut - 20.0 * DECREASE).abs() < 1e-9, "{cut}");
        for _ in 0..7 {
            a.answered(now - ms(3), now + ms(1), true, Some(Duration::from_secs(1)));
        }
        assert_eq!(a.rate(), Some(cut), "in-flight 429s do not cut again");
        // Paced evenly at the new rate: one request, then a wait of about 1/18 s.
        let at = now + ms(100);
        let first = a.ask(at);
        let second = a.ask(at);
        assert!(first.is_some() || second.is_some());
        let wait = second.or(first).unwrap();
        assert!(
            wait <= Duration::from_secs_f64(1.0 / 18.0) + ms(1),
            "{wait:?}"
        );
    }

    #[test]
    fn the_rate_grows_additively_and_returns_to_the_ceiling() {
        let t = Instant::now();
        let mut a = Aimd::new(Some(30.0), t);
        for i in 0..20 {
            a.answered(t + ms(i * 10), t + ms(i * 10 + 1), false, None);
        }
        a.answered(t + ms(300), t + ms(301), true, None);
        assert!((a.rate().unwrap() - 18.0).abs() < 1e-9);
        // Ten seconds later: 18 + about 10 x 0.5 (the minimum increase; 2.5 % of the rate
        // once that is more).
        let _ = a.ask(t + ms(10_301));
        let r = a.rate().unwrap();
        assert!((23.0..23.5).contains(&r), "{r}");
        // Long enough: back to the ceiling, not beyond.
        let _ = a.ask(t + Duration::from_secs(100));
        assert_eq!(a.rate(), Some(30.0));
    }

    #[test]
    fn a_429_right_after_a_cut_pauses_the_client_for_retry_after() {
        let t = Instant::now();
        let mut a = Aimd::new(None, t);
        for i in 0..10 {
            a.answered(t + ms(i), t + ms(i + 1), false, None);
        }
        a.answered(t + ms(20), t + ms(21), true, Some(Duration::from_secs(2)));
        assert_eq!(
            a.ask(t + ms(22)).filter(|d| *d > Duration::from_secs(1)),
            None
        );
        // A request sent after the cut is answered 429 too: pause for Retry-After.
        a.answered(t + ms(30), t + ms(31), true, Some(Duration::from_secs(2)));
        let wait = a.ask(t + ms(40)).unwrap();
        assert!(wait > Duration::from_secs(1) && wait <= Duration::from_secs(2));
        // The pause answers it: the rate just chosen is kept.
        assert!((a.rate().unwrap() - 10.0 * DECREASE).abs() < 0.1);
        // A 429 after the pause and the window is a new congestion: cut again, by at most
        // half although nothing was admitted in the quiet second before.
        let later = t + Duration::from_secs(3);
        a.answered(later, later + ms(1), true, Some(Duration::from_secs(2)));
        let r = a.rate().unwrap();
        assert!(
            (10.0 * DECREASE / 2.0 * DECREASE..10.0 * DECREASE).contains(&r),
            "{r}"
        );
    }

    #[test]
    fn the_rate_never_falls_below_the_floor() {
        let t = Instant::now();
        let mut a = Aimd::new(None, t);
        for i in 0..50 {
            let at = t + Duration::from_secs(i * 3);
            a.answered(at, at + ms(1), true, None);
        }
        assert!(a.rate().unwrap() >= MIN_RATE);
    }
}
