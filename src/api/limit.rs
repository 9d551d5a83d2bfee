//! Client-wide limits shared by every task: requests in flight (a semaphore) and an
//! optional requests-per-second ceiling (a token bucket).

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{Mutex, OwnedSemaphorePermit, Semaphore};

/// The in-flight and rate limits of one client.
#[derive(Debug)]
pub struct Limiter {
    in_flight: Arc<Semaphore>,
    bucket: Option<Mutex<Bucket>>,
}

#[derive(Debug)]
struct Bucket {
    rate: f64,
    tokens: f64,
    last: Instant,
}

impl Limiter {
    /// `max_in_flight` at least 1; `max_rps` none or positive, held within
    /// [`crate::config::limits::MAX_RPS`] (the CLI refuses values outside it; this only
    /// keeps a library caller from a panic or an endless wait).
    pub fn new(max_in_flight: usize, max_rps: Option<f64>) -> Limiter {
        let range = crate::config::limits::MAX_RPS;
        Limiter {
            in_flight: Arc::new(Semaphore::new(max_in_flight.max(1))),
            bucket: max_rps.filter(|r| *r > 0.0).map(|rate| {
                let rate = rate.clamp(range.min, range.max);
                Mutex::new(Bucket {
                    rate,
                    tokens: rate.min(1.0),
                    last: Instant::now(),
                })
            }),
        }
    }

    /// Wait for a rate token, then for a slot; the slot is freed when the permit drops.
    pub async fn acquire(&self) -> Option<OwnedSemaphorePermit> {
        if let Some(bucket) = &self.bucket {
            loop {
                let wait = {
                    let mut b = bucket.lock().await;
                    let now = Instant::now();
                    let burst = b.rate.max(1.0);
                    b.tokens =
                        (b.tokens + now.duration_since(b.last).as_secs_f64() * b.rate).min(burst);
                    b.last = now;
                    if b.tokens >= 1.0 {
                        b.tokens -= 1.0;
                        None
                    } else {
                        Some(Duration::from_secs_f64((1.0 - b.tokens) / b.rate))
                    }
                };
                match wait {
                    None => break,
                    Some(d) => tokio::time::sleep(d).await,
                }
            }
        }
        self.in_flight.clone().acquire_owned().await.ok()
    }
}
