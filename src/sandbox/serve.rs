//! Running the HTTP face: accept connections with hyper around the axum router (so a
//! response marked [`DropConnection`] really closes the connection unanswered), and keep
//! the state file durable: a write is answered only after a save that holds it has been
//! flushed to disk and renamed into place (group commit: writes arriving during a save
//! share the next one), so a `kill -9` loses no write that was answered. Saved again on
//! shutdown (SIGINT/SIGTERM); temporary files a killed save left are removed at start.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::Ordering;

use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpListener;
use tower_service::Service;

use super::faults::Faults;
use super::persist;
use super::server::{DropConnection, Shared, router};
use super::store::Store;

/// The error a service returns to make hyper close a connection without answering.
#[derive(Debug, thiserror::Error)]
#[error("connection dropped by a sandbox fault")]
struct Dropped;

/// Serve until SIGINT/SIGTERM; `on_listening` receives the bound address first.
pub async fn serve(
    listener: TcpListener,
    state_path: &Path,
    store: Store,
    faults: Faults,
) -> std::io::Result<()> {
    persist::remove_stale_temps(state_path);
    let shared = Shared::new(store, faults);
    shared.persisting.store(true, Ordering::Release);
    let app = router(shared.clone());
    let saver = tokio::spawn(save_loop(shared.clone(), state_path.to_path_buf()));
    let shutdown = shutdown_signal();
    tokio::pin!(shutdown);
    loop {
        let (stream, _peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(conn) => conn,
                Err(e) => {
                    tracing::warn!("accept failed: {e}");
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let app = app.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req| {
                let mut app = app.clone();
                async move {
                    let resp = match app.call(req).await {
                        Ok(r) => r,
                        Err(never) => match never {},
                    };
                    if resp.extensions().get::<DropConnection>().is_some() {
                        return Err(Dropped);
                    }
                    Ok(resp)
                }
            });
            let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
    saver.abort();
    save_now(&shared, state_path).await
}

async fn save_now(shared: &Arc<Shared>, path: &Path) -> std::io::Result<()> {
    shared.dirty.store(false, Ordering::Release);
    let bytes = persist::to_bytes(&shared.store());
    let path = path.to_path_buf();
    tokio::task::spawn_blocking(move || persist::write_atomic(&path, &bytes, None))
        .await
        .map_err(std::io::Error::other)?
        .map_err(std::io::Error::other)
}

async fn save_loop(shared: Arc<Shared>, path: PathBuf) {
    loop {
        shared.save_wanted.notified().await;
        // The version is read before the snapshot is taken, so the snapshot holds at
        // least every write up to it.
        let version = shared.version.load(Ordering::Acquire);
        let ok = match save_now(&shared, &path).await {
            Ok(()) => true,
            Err(e) => {
                tracing::warn!("{e}");
                false
            }
        };
        shared.saved.send_replace((version, ok));
    }
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {},
                    _ = term.recv() => {},
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// The line `sandbox serve` prints first.
pub fn listening_line(addr: SocketAddr) -> String {
    format!("listening on http://{addr}/api/v1.0")
}
