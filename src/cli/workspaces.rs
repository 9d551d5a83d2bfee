//! Running a command over several workspaces of one `dimctl.yaml`: each workspace in its
//! own task slot (at most [`CONCURRENT`] at once), results in name order, and the exit code
//! of the run as the worst of them. Resolution of each workspace's settings lives in
//! [`super::settings::resolve`].

use std::future::Future;

use futures_util::stream::{self, StreamExt};

use super::settings::Workspace;
use super::{CliError, exit};

/// How many workspaces are worked on at once (each with its own rate and in-flight limits).
pub const CONCURRENT: usize = 4;

/// Run `work` for every named item (a workspace, or a workspace with its plan), at most
/// [`CONCURRENT`] at once; results sorted by name.
pub async fn each<I, T, F, Fut>(
    items: Vec<(String, I)>,
    work: F,
) -> Vec<(String, Result<T, CliError>)>
where
    F: Fn(I) -> Fut,
    Fut: Future<Output = Result<T, CliError>>,
{
    let mut out: Vec<(String, Result<T, CliError>)> =
        stream::iter(items.into_iter().map(|(name, item)| {
            let fut = work(item);
            async move { (name, fut.await) }
        }))
        .buffer_unordered(CONCURRENT)
        .collect()
        .await;
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

/// Name each workspace for [`each`].
pub fn named(workspaces: Vec<Workspace>) -> Vec<(String, Workspace)> {
    workspaces
        .into_iter()
        .map(|w| (w.name.clone(), w))
        .collect()
}

/// Split results into successes and print every failure as `error: workspace NAME: ...`.
/// Returns the successes and whether any workspace failed.
pub fn report_failures<T>(results: Vec<(String, Result<T, CliError>)>) -> (Vec<(String, T)>, bool) {
    let mut ok = Vec::new();
    let mut failed = false;
    for (name, r) in results {
        match r {
            Ok(v) => ok.push((name, v)),
            Err(e) => {
                failed = true;
                crate::errln!("error: workspace {name}: {}", e.message);
            }
        }
    }
    (ok, failed)
}

/// Apply progress of one workspace among several: one line per event on stderr, labelled
/// with the workspace (`apply[uk]: created customer[UK-1] (id 42)`), since workspaces are
/// applied at the same time.
#[derive(Debug)]
pub struct Lines {
    pub workspace: String,
}

impl crate::apply::Progress for Lines {
    fn start(&self, total: usize) {
        crate::errln!("apply[{}]: {total} change(s) to make", self.workspace);
    }
    fn finish(&self, o: &crate::apply::Outcome) {
        let mut s = format!("{} {}", o.status.label(), o.key);
        if let Some(id) = &o.id {
            s.push_str(&format!(" (id {id})"));
        }
        if let Some(m) = &o.message {
            s.push_str(&format!(": {m}"));
        }
        crate::errln!("apply[{}]: {s}", self.workspace);
    }
    fn note(&self, message: &str) {
        crate::errln!("apply[{}]: {message}", self.workspace);
    }
}

/// The exit code of several: interrupted (130) over an error (1) over changes (2) over 0.
pub fn worst(codes: impl IntoIterator<Item = i32>) -> i32 {
    fn rank(code: i32) -> u8 {
        match code {
            exit::OK => 0,
            exit::CHANGES => 1,
            super::exit::INTERRUPTED => 3,
            _ => 2,
        }
    }
    codes
        .into_iter()
        .max_by_key(|c| rank(*c))
        .unwrap_or(exit::OK)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_worst_code_wins() {
        assert_eq!(worst([]), 0);
        assert_eq!(worst([0, 2, 0]), 2);
        assert_eq!(worst([2, 1, 0]), 1);
        assert_eq!(worst([1, 130, 2]), 130);
    }
}
