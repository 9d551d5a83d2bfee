//! Client-wide limits shared by every task: requests in flight (a semaphore) and the
//! request rate, adapted to the server's 429s under the optional `--max-rps` ceiling.
//!
//! The rate is one value for the whole client, so one task's 429 slows every task. The
//! controller ([`Aimd`]) is a plain state machine over explicit instants: no clock, no
//! I/O, tested on values. On a 429 it learns what the server admits (the answers admitted
//! in the second before, counting those to requests already in flight that come back
//! admitted after it), cuts the rate to [`DECREASE`] of that, climbs back within about
//! half a second to [`GOOD_SHARE`] of it (the rate known to pass), holds there for a
//! plateau and then probes above it ever faster (a cubic, as TCP CUBIC does): a limit
//! that stays put costs a 429 every plateau, and the plateau doubles (up to
//! [`MAX_PLATEAU`]) each time a 429 confirms the same limit; a limit that was misjudged
//! or raised is found within a few plateaus.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// The rate after a 429 is this share of what the server admitted in the second before
/// (and at least this share of half the rate in force).
pub const DECREASE: f64 = 0.9;
/// After a cut, the rate climbs back quickly to this share of what the server admitted:
/// the rate known to pass (a little under the limit, so pacing jitter does not tip one
/// window over it).
pub const GOOD_SHARE: f64 = 0.97;
/// How fast the rate climbs back to the known-good rate after a cut: this share of that
/// rate per second (from [`DECREASE`] to [`GOOD_SHARE`] in about half a second).
pub const RECOVERY: f64 = 0.15;
/// Above the known-good rate the rate grows as `good × (1 + PROBE × (t / plateau)³)`,
/// `t` the seconds spent there: [`PROBE`] above it after one plateau, eight times that
/// after two.
pub const PROBE: f64 = 0.03;
/// The first plateau, in seconds; doubled by each 429 that confirms the limit (what the
/// server admitted within [`SAME_LIMIT`] of the last estimate), up to [`MAX_PLATEAU`];
/// back to this when the limit moved.
pub const PLATEAU: f64 = 2.0;
/// The longest plateau, in seconds.
pub const MAX_PLATEAU: f64 = 16.0;
/// Two estimates of what the server admits within this share of each other are the
/// same limit.
pub const SAME_LIMIT: f64 = 0.05;
/// The rate never goes below this (requests per second).
pub const MIN_RATE: f64 = 0.5;
/// Tokens a learned rate may hold: one request, plus a quarter to make up for a waiter
/// woken late (without it, every late wake-up is lost for good and the rate paced is
/// below the rate set); never enough to put two requests more into one second.
const PACED_BURST: f64 = 1.25;
const WINDOW: Duration = Duration::from_secs(1);

/// The congestion the last cut answered.
#[derive(Debug, Clone, Copy)]
struct Congestion {
    /// When the rate was cut.
    at: Instant,
    /// When the first request after the cut was let through: a request sent before it
    /// had its turn before the cut (the caller stamps a request as it goes on the wire,
    /// a little after its turn), so its 429 is the same congestion, already answered,
    /// and its admitted answer is part of what the server admitted at the cut.
    resumed: Option<Instant>,
    /// What the server admitted in the second before the cut, raised by answers to
    /// requests sent before the cut that come back admitted within a second after it.
    admitted: f64,
    /// The rate in force at the cut, if any: the estimate never exceeds it.
    cap: Option<f64>,
    /// What the server admitted per second as judged before this cut (at the one
    /// before), if any.
    budget: Option<f64>,
}

impl Congestion {
    /// Whether a request sent (stamped) at `sent` had its turn before the cut.
    fn had_turn_before(&self, sent: Instant) -> bool {
        self.resumed.is_none_or(|r| sent < r)
    }
}

/// The client-wide rate: a token bucket whose rate adapts to 429s.
#[derive(Debug, Clone)]
pub struct Aimd {
    /// `--max-rps`, the rate never exceeded.
    ceiling: Option<f64>,
    /// The learned rate; `None` until the first 429 (then only the ceiling holds).
    learned: Option<f64>,
    /// The rate known to pass: [`GOOD_SHARE`] of what the server admitted at the last
    /// congestion. The learned rate climbs back to it quickly, and above it slowly.
    good: Option<f64>,
    /// Seconds spent at or above the known-good rate since the last cut.
    probing: f64,
    /// The current plateau (seconds), see [`PLATEAU`].
    plateau: f64,
    tokens: f64,
    last: Instant,
    /// Answers other than 429 within the last second: what the server admits.
    admitted: VecDeque<Instant>,
    congestion: Option<Congestion>,
    /// No request is sent before this (a 429 despite a cut, with `Retry-After`).
    paused_until: Option<Instant>,
}

/// The share of what the server admitted that a cut keeps: what was admitted, but never
/// more than the rate in force (`cap`) nor less than half of it (after a quiet spell,
/// "admitted" says little).
fn basis(admitted: f64, cap: Option<f64>) -> f64 {
    match cap {
        Some(current) => admitted.min(current).max(current / 2.0),
        None => admitted,
    }
}

impl Aimd {
    /// A controller with the optional ceiling (requests per second, positive).
    pub fn new(ceiling: Option<f64>, now: Instant) -> Aimd {
        Aimd {
            ceiling,
            learned: None,
            good: None,
            probing: 0.0,
            plateau: PLATEAU,
            tokens: 1.0,
            last: now,
            admitted: VecDeque::new(),
            congestion: None,
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

    /// The rate known to pass (see [`GOOD_SHARE`]); `None` before the first 429.
    pub fn good(&self) -> Option<f64> {
        self.good
    }

    /// When the rate was last cut (a 429 that was not already answered).
    pub fn last_cut(&self) -> Option<Instant> {
        self.congestion.map(|c| c.at)
    }

    /// Grow the learned rate `l` by `secs` seconds without a 429: quickly back up to the
    /// known-good rate, then a plateau, then ever faster above it.
    fn grow(&mut self, mut l: f64, mut secs: f64) -> f64 {
        let Some(good) = self.good else {
            // Nothing admitted was ever seen: grow as plain additive increase.
            return l + (l * 0.025).max(0.5) * secs;
        };
        if l < good {
            let step = good * RECOVERY;
            let to_good = (good - l) / step;
            if secs <= to_good {
                return l + step * secs;
            }
            l = good;
            secs -= to_good;
        }
        self.probing += secs;
        let probed = good * (1.0 + PROBE * (self.probing / self.plateau).powi(3));
        // Never more than twice what the server was seen to admit lately: a client that
        // sent little for a while has learned nothing above it.
        let seen = (self.admitted.len() as f64).max(good);
        l.max(probed).min(2.0 * seen)
    }

    /// Ask to send one request at `now`: `None` to send it now (a token is taken),
    /// or how long to wait before asking again.
    pub fn ask(&mut self, now: Instant) -> Option<Duration> {
        if let Some(until) = self.paused_until {
            if now < until {
                return Some(until - now);
            }
            // The pause is over: send at once, at the known-good rate (what the pause
            // held back is neither a probe nor a burst).
            self.paused_until = None;
            self.last = until;
            self.tokens = 1.0;
            if let (Some(l), Some(good)) = (self.learned.as_mut(), self.good) {
                *l = l.max(good);
            }
        }
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.last = now;
        self.forget(now);
        if let Some(l) = self.learned {
            let grown = self.grow(l, elapsed);
            self.learned = match self.ceiling {
                // Back at the ceiling: only the ceiling holds again.
                Some(c) if grown >= c => None,
                _ => Some(grown),
            };
        }
        // Nothing limits the rate: send now.
        let rate = self.rate()?;
        // A learned rate is paced evenly (no burst); the ceiling alone allows a second's.
        let burst = if self.learned.is_some() {
            PACED_BURST
        } else {
            rate.max(1.0)
        };
        self.tokens = (self.tokens + elapsed * rate).min(burst);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            if let Some(c) = self.congestion.as_mut() {
                c.resumed.get_or_insert(now);
            }
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
        self.forget(now);
        if !throttled {
            self.admitted.push_back(now);
            self.admitted_late(sent, now);
            return;
        }
        if self.congestion.is_some_and(|c| c.had_turn_before(sent)) {
            // Its turn came before the last cut: that congestion is already answered.
            return;
        }
        let recent_cut = self
            .congestion
            .is_some_and(|c| now.saturating_duration_since(c.at) < WINDOW);
        if recent_cut && let Some(d) = retry_after {
            // A 429 again right after a cut (a server counting per fixed window refuses
            // everything until the window ends): the whole client waits, and keeps the
            // rate it just chose. It waits until the server's window has room again: a
            // second after the oldest of the requests it admitted at its limit (the last
            // `budget` admitted; every one of them), or for the `Retry-After` when that
            // comes sooner (the request refused waits for it in any case).
            let asked = now + d;
            let budget = self
                .congestion
                .and_then(|c| c.budget)
                .map_or(self.admitted.len(), |b| b.round() as usize);
            let room = self
                .admitted
                .len()
                .checked_sub(budget.max(1))
                .and_then(|i| self.admitted.get(i))
                .map(|oldest| *oldest + WINDOW)
                .or_else(|| self.admitted.front().map(|oldest| *oldest + WINDOW))
                .filter(|r| *r > now)
                .map_or(asked, |r| r.min(asked));
            self.paused_until = Some(self.paused_until.map_or(room, |p| p.max(room)));
            return;
        }
        let admitted = self.admitted.len() as f64;
        let cap = self.rate();
        let b = basis(admitted, cap);
        self.learned = Some((b * DECREASE).max(MIN_RATE));
        let good = (b > 0.0).then(|| (b * GOOD_SHARE).max(MIN_RATE));
        let budget = self.good.map(|g| g / GOOD_SHARE);
        self.plateau = match (self.good, good) {
            (Some(before), Some(now)) if (now - before).abs() <= before * SAME_LIMIT => {
                (self.plateau * 2.0).min(MAX_PLATEAU)
            }
            _ => PLATEAU,
        };
        self.good = good;
        self.probing = 0.0;
        self.tokens = self.tokens.min(0.0);
        self.last = self.last.max(now);
        self.congestion = Some(Congestion {
            at: now,
            resumed: None,
            admitted,
            cap,
            budget,
        });
    }

    /// Drop the admitted answers older than the window.
    fn forget(&mut self, now: Instant) {
        while self
            .admitted
            .front()
            .is_some_and(|t| now.saturating_duration_since(*t) > WINDOW)
        {
            self.admitted.pop_front();
        }
    }

    /// An admitted answer to a request whose turn came before the last cut, within a
    /// second of it: the server admitted more in that second than had come back when the
    /// cut was made (answers to requests in flight arrive in any order), so the estimate
    /// is raised.
    fn admitted_late(&mut self, sent: Instant, now: Instant) {
        let Some(c) = self.congestion.as_mut() else {
            return;
        };
        if !c.had_turn_before(sent) || now.saturating_duration_since(c.at) >= WINDOW {
            return;
        }
        c.admitted += 1.0;
        let b = basis(c.admitted, c.cap);
        self.good = Some((b * GOOD_SHARE).max(MIN_RATE));
        if let Some(l) = self.learned.as_mut() {
            *l = l.max(b * DECREASE);
        }
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
        let before = a.last_cut();
        a.answered(sent, Instant::now(), status == 429, retry_after);
        if a.last_cut() != before
            && let Some(r) = a.rate()
        {
            match a.good() {
                Some(good) => tracing::info!(
                    "429: the client's request rate is now {r:.1}/s, back to {good:.1}/s (what the server admits) within a second"
                ),
                None => tracing::info!("429: the client's request rate is now {r:.1}/s"),
            }
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

    /// Ask from `from` until a turn is given; returns when.
    fn turn(a: &mut Aimd, from: Instant) -> Instant {
        let mut at = from;
        while let Some(wait) = a.ask(at) {
            at += wait;
        }
        at
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
    fn the_rate_climbs_back_quickly_to_the_known_good_rate_then_probes_ever_faster_to_the_ceiling()
    {
        let t = Instant::now();
        let mut a = Aimd::new(Some(30.0), t);
        for i in 0..20 {
            a.answered(t + ms(i * 10), t + ms(i * 10 + 1), false, None);
        }
        a.answered(t + ms(300), t + ms(301), true, None);
        assert!((a.rate().unwrap() - 18.0).abs() < 1e-9);
        let good = 20.0 * GOOD_SHARE;
        assert!((a.good().unwrap() - good).abs() < 1e-9);
        // Within a second: back at the known-good rate (not above it yet).
        let back = t + ms(301) + Duration::from_secs_f64((good - 18.0) / (good * RECOVERY));
        let _ = a.ask(back - ms(50));
        assert!(a.rate().unwrap() < good);
        let _ = a.ask(back);
        let r = a.rate().unwrap();
        assert!((r - good).abs() < 1e-6 && back < t + ms(1_000), "{r}");
        // A plateau later, 3 % above it; two plateaus later, 24 %.
        let _ = a.ask(back + Duration::from_secs_f64(PLATEAU));
        let r = a.rate().unwrap();
        assert!((r - good * (1.0 + PROBE)).abs() < 1e-6, "{r}");
        let _ = a.ask(back + Duration::from_secs_f64(2.0 * PLATEAU));
        let r = a.rate().unwrap();
        assert!((r - good * (1.0 + 8.0 * PROBE)).abs() < 1e-6, "{r}");
        // Long enough: back to the ceiling, not beyond.
        let _ = a.ask(t + Duration::from_secs(100));
        assert_eq!(a.rate(), Some(30.0));
    }

    #[test]
    fn a_429_that_confirms_the_limit_doubles_the_plateau_and_one_that_moves_it_resets_it() {
        let t = Instant::now();
        let mut a = Aimd::new(None, t);
        // A congestion at `at` with `n` answers admitted in the second before.
        let congest = |a: &mut Aimd, at: Instant, n: u64| {
            for i in 0..n {
                let when = at - ms(999) + ms(i * 999 / n);
                a.answered(when, when, false, None);
            }
            let _ = turn(a, at);
            a.answered(at, at + ms(1), true, None);
        };
        let mut at = t + Duration::from_secs(2);
        congest(&mut a, at, 20);
        assert_eq!(a.plateau, PLATEAU);
        for expected in [2.0 * PLATEAU, 4.0 * PLATEAU, MAX_PLATEAU, MAX_PLATEAU] {
            at += Duration::from_secs(30);
            congest(&mut a, at, 20);
            assert_eq!(a.plateau, expected);
        }
        // The server admits less now: a new limit, probed from the first plateau again;
        // the next 429 at that limit confirms it.
        at += Duration::from_secs(30);
        congest(&mut a, at, 12);
        assert_eq!(a.plateau, PLATEAU);
        assert!((a.good().unwrap() - 12.0 * GOOD_SHARE).abs() < 1e-9);
        at += Duration::from_secs(5);
        congest(&mut a, at, 12);
        assert_eq!(a.plateau, 2.0 * PLATEAU);
    }

    #[test]
    fn admitted_answers_to_requests_in_flight_at_the_cut_raise_the_estimate() {
        let t = Instant::now();
        let mut a = Aimd::new(None, t);
        // A burst: 13 answers back when the first 429 comes, 7 more of the same burst
        // come back admitted just after it.
        for i in 0..13 {
            a.answered(t + ms(i), t + ms(i + 2), false, None);
        }
        let cut = t + ms(20);
        a.answered(t + ms(15), cut, true, Some(Duration::from_secs(1)));
        assert!((a.rate().unwrap() - 13.0 * DECREASE).abs() < 1e-9);
        for i in 0..7 {
            a.answered(t + ms(13 + i), cut + ms(1 + i), false, None);
        }
        assert!((a.rate().unwrap() - 20.0 * DECREASE).abs() < 1e-9);
        assert!((a.good().unwrap() - 20.0 * GOOD_SHARE).abs() < 1e-9);
        // A request stamped after the cut but whose turn came before it (stamped as it
        // goes on the wire) is of the same burst.
        a.answered(cut + ms(2), cut + ms(3), false, None);
        assert!((a.good().unwrap() - 21.0 * GOOD_SHARE).abs() < 1e-9);
        // Answers to requests whose turn came after the cut, or a second after it, are
        // not the server's budget at the cut: they do not raise it.
        let resumed = turn(&mut a, cut + ms(4));
        a.answered(resumed, resumed + ms(30), false, None);
        a.answered(t + ms(19), cut + ms(1_001), false, None);
        assert!((a.good().unwrap() - 21.0 * GOOD_SHARE).abs() < 1e-9);
    }

    /// The controller against a server admitting `limit` requests per fixed one-second
    /// window (opened by the first request after the last one ended, as `sandbox serve`
    /// does; `Retry-After: 1` beyond), sending as fast as it allows for `secs` seconds,
    /// each waiter woken `late` after the time asked. Returns (sent, answered 429).
    fn against_fixed_window(limit: u32, secs: u64, late: Duration) -> (u32, u32) {
        let t = Instant::now();
        let mut a = Aimd::new(None, t);
        let (mut now, end) = (t, t + Duration::from_secs(secs));
        let (mut window, mut used) = (t, 0u32);
        let (mut sent, mut throttled) = (0u32, 0u32);
        let mut in_flight: VecDeque<(Instant, Instant, bool)> = VecDeque::new();
        while now < end {
            // Answers come back 2 ms after they were sent.
            while in_flight.front().is_some_and(|(_, at, _)| *at <= now) {
                if let Some((s, at, refused)) = in_flight.pop_front() {
                    a.answered(s, at, refused, Some(Duration::from_secs(1)));
                }
            }
            match a.ask(now) {
                Some(wait) => now += wait + late,
                None => {
                    if now.duration_since(window) >= Duration::from_secs(1) {
                        (window, used) = (now, 0);
                    }
                    let refused = used >= limit;
                    if refused {
                        throttled += 1;
                    } else {
                        used += 1;
                    }
                    sent += 1;
                    in_flight.push_back((now, now + ms(2), refused));
                    // Eight tasks at most between answers: the ninth waits for one.
                    if in_flight.len() >= 8 {
                        now = in_flight.front().map_or(now, |(_, at, _)| *at);
                    }
                }
            }
        }
        (sent, throttled)
    }

    #[test]
    fn against_a_fixed_window_limit_the_rate_uses_most_of_it_with_few_429s() {
        for (limit, late) in [(20, ms(0)), (20, ms(2)), (50, ms(1)), (50, ms(3))] {
            let secs = 30;
            let (sent, throttled) = against_fixed_window(limit, secs, late);
            let served = f64::from(sent - throttled) / secs as f64;
            let share = f64::from(throttled) / f64::from(sent);
            assert!(
                served >= 0.93 * f64::from(limit),
                "{limit}/s, woken {late:?} late: {served:.1} served/s"
            );
            assert!(
                share < 0.03,
                "{limit}/s, woken {late:?} late: {throttled} of {sent} answered 429"
            );
        }
    }

    #[test]
    fn a_429_right_after_a_cut_pauses_the_client_until_the_server_has_room() {
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
        // A 429 to a request whose turn came before the cut (stamped after it) is the
        // same congestion: no pause.
        a.answered(t + ms(25), t + ms(26), true, Some(Duration::from_secs(2)));
        let resumed = turn(&mut a, t + ms(27));
        assert!(resumed < t + ms(200), "{:?}", resumed - t);
        // A request whose turn came after the cut is answered 429 too: every request
        // waits until a second after the oldest answer the server admitted (its window
        // has room again), here sooner than the Retry-After of 2 s.
        a.answered(resumed, resumed + ms(1), true, Some(Duration::from_secs(2)));
        let wait = a.ask(resumed + ms(10)).unwrap();
        assert_eq!(resumed + ms(10) + wait, t + ms(1) + Duration::from_secs(1));
        // The pause answers it: the rate just chosen is kept.
        let r = a.rate().unwrap();
        assert!((10.0 * DECREASE..10.0 * GOOD_SHARE).contains(&r), "{r}");
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
    fn a_pause_after_a_cut_never_outlasts_retry_after_nor_counts_an_older_limit() {
        let t = Instant::now();
        // The server admitted 20 a second at the last congestion; now 30 answers are in
        // the last second (a sliding second spans two of its windows): the room comes a
        // second after the oldest of the last 20, not of all 30.
        let mut a = Aimd::new(None, t);
        for i in 0..20 {
            a.answered(t + ms(i * 10), t + ms(i * 10 + 1), false, None);
        }
        let first = t + ms(300);
        a.answered(first, first, true, None);
        let second = t + ms(10_000);
        let _ = turn(&mut a, second - ms(1_000));
        for i in 0..30u64 {
            let at = second - ms(990) + ms(i * 33);
            a.answered(at, at + ms(1), false, None);
        }
        a.answered(second, second, true, Some(Duration::from_secs(1)));
        let resumed = turn(&mut a, second + ms(1));
        a.answered(resumed, resumed + ms(1), true, Some(Duration::from_secs(1)));
        let wait = a.ask(resumed + ms(1)).unwrap();
        // The 20th newest admitted answer came at second - 990 + 10 x 33 + 1 ms.
        let room = second - ms(990) + ms(10 * 33 + 1) + Duration::from_secs(1);
        assert_eq!(resumed + ms(1) + wait, room);
        // A Retry-After sooner than the room is what the pause lasts.
        let mut b = Aimd::new(None, t);
        for i in 0..10 {
            b.answered(t + ms(900 + i), t + ms(901 + i), false, None);
        }
        let cut = t + ms(920);
        b.answered(cut, cut, true, Some(ms(100)));
        let resumed = turn(&mut b, cut);
        b.answered(resumed, resumed + ms(1), true, Some(ms(100)));
        let wait = b.ask(resumed + ms(1)).unwrap();
        assert_eq!(wait, ms(100));
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
