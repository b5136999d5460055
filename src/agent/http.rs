//! The agent's small HTTP/1 server: GET /healthz, /status and /metrics, and, when a
//! token is configured, POST /trigger/JOB.
//!
//! It is meant for loopback or a trusted network, but still assumes hostile clients:
//! request bodies are never read, headers must arrive within a timeout, connections
//! are capped, and nothing a request does can panic the server.

use super::metrics;
use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{self, HeaderMap, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use std::convert::Infallible;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};
use tokio::task::{JoinError, JoinSet};

/// What asking for a run of a job did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TriggerResult {
    Started,
    UnknownJob,
    AlreadyRunning,
}

/// What the server serves; implemented by the agent over its live state.
pub trait Endpoints: Send + Sync + 'static {
    /// /healthz: Ok -> 200 "ok\n", Err(reason) -> 503 with the reason.
    fn health(&self) -> Result<(), String>;
    /// /status: JSON body.
    fn status(&self) -> serde_json::Value;
    /// /metrics body (served with metrics::CONTENT_TYPE).
    fn metrics(&self) -> String;
    /// The token POST /trigger/JOB requires; None = the trigger is off (404, as if it did
    /// not exist).
    fn trigger_token(&self) -> Option<String>;
    fn trigger(&self, job: &str) -> TriggerResult;
}

/// The server's bounds; fixed for `serve`, shorter in the tests.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Limits {
    /// A client must send a request's headers within this (also while idle between
    /// keep-alive requests), so it cannot hold a connection slot forever.
    pub header_read_timeout: Duration,
    /// Connections served at once; more wait in the listen backlog.
    pub max_connections: usize,
    /// After shutdown, how long in-flight requests may still take.
    pub shutdown_grace: Duration,
}

const LIMITS: Limits = Limits {
    header_read_timeout: Duration::from_secs(10),
    max_connections: 64,
    shutdown_grace: Duration::from_secs(5),
};

/// Request line plus headers, in bytes; beyond it hyper answers 431.
const MAX_HEADER_SIZE: usize = 16 * 1024;

/// Serves until `shutdown` resolves; then stops accepting and lets in-flight requests
/// finish (for at most 5 s). Accept errors are logged, never fatal.
pub async fn serve(
    listener: TcpListener,
    endpoints: Arc<dyn Endpoints>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_with(listener, endpoints, shutdown, LIMITS).await
}

pub(crate) async fn serve_with(
    listener: TcpListener,
    endpoints: Arc<dyn Endpoints>,
    shutdown: impl Future<Output = ()> + Send + 'static,
    limits: Limits,
) -> std::io::Result<()> {
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    // Tells every open connection to finish its request and close.
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut connections = JoinSet::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        while let Some(done) = connections.try_join_next() {
            log_join(done);
        }
        // Take a slot before accepting: beyond the cap, clients wait in the kernel's
        // backlog rather than costing a task here.
        let slot = tokio::select! {
            () = &mut shutdown => break,
            slot = slots.clone().acquire_owned() => match slot {
                Ok(slot) => slot,
                Err(_) => break, // closed: cannot happen, the semaphore is ours
            },
        };
        let accepted = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => accepted,
        };
        match accepted {
            Ok((stream, _)) => {
                let endpoints = endpoints.clone();
                connections.spawn(connection(stream, endpoints, stop_rx.clone(), limits, slot));
            }
            Err(e) => {
                eprintln!("firedrill: HTTP server: cannot accept a connection: {e}");
                // Errors like EMFILE repeat at once: pause rather than spin.
                tokio::select! {
                    () = &mut shutdown => break,
                    () = tokio::time::sleep(Duration::from_millis(100)) => {}
                }
            }
        }
    }
    drop(listener);
    let _ = stop_tx.send(true);
    let drain = async {
        while let Some(done) = connections.join_next().await {
            log_join(done);
        }
    };
    if tokio::time::timeout(limits.shutdown_grace, drain)
        .await
        .is_err()
    {
        eprintln!(
            "firedrill: HTTP server: {} connection(s) still busy after {:?}, closing them",
            connections.len(),
            limits.shutdown_grace
        );
        connections.abort_all();
    }
    Ok(())
}

fn log_join(done: Result<(), JoinError>) {
    // A connection task only ends in error by panicking (or by our abort at shutdown).
    if let Err(e) = done
        && e.is_panic()
    {
        eprintln!("firedrill: HTTP server: a connection task panicked");
    }
}

async fn connection(
    stream: TcpStream,
    endpoints: Arc<dyn Endpoints>,
    mut stop: watch::Receiver<bool>,
    limits: Limits,
    _slot: OwnedSemaphorePermit,
) {
    let service = service_fn(move |request: Request<hyper::body::Incoming>| {
        // The handlers are quick and synchronous; a panicking one costs its request a
        // 500, not the connection.
        let response = std::panic::catch_unwind(AssertUnwindSafe(|| {
            respond(
                &*endpoints,
                request.method(),
                request.uri().path(),
                request.headers(),
            )
        }))
        .unwrap_or_else(|_| text(StatusCode::INTERNAL_SERVER_ERROR, "internal error\n"));
        // No route takes a body: it is dropped unread, and hyper then drains at most
        // what has already arrived, else closes the connection after the response.
        drop(request);
        std::future::ready(Ok::<_, Infallible>(response))
    });
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        // Our requests are a line and a few headers; hyper's default allows ~400 KiB.
        .max_header_size(MAX_HEADER_SIZE);
    let mut conn = std::pin::pin!(builder.serve_connection(TokioIo::new(stream), service));
    // (The watch guard must not live across an await: it would make the task !Send.)
    let stopped = async move {
        let _ = stop.wait_for(|stop| *stop).await;
    };
    // Clients going away, header timeouts, malformed requests end a connection with an
    // error: routine, not worth a line in the agent's log.
    let _ = tokio::select! {
        result = conn.as_mut() => result,
        () = stopped => {
            // Finish the request in flight, if any, and take no other.
            conn.as_mut().graceful_shutdown();
            conn.await
        }
    };
}

fn respond(
    endpoints: &dyn Endpoints,
    method: &Method,
    path: &str,
    headers: &HeaderMap,
) -> Response<Full<Bytes>> {
    if let Some(job) = path.strip_prefix("/trigger/") {
        return trigger(endpoints, method, headers, job);
    }
    let readable = matches!(path, "/healthz" | "/status" | "/metrics");
    if !readable {
        return text(StatusCode::NOT_FOUND, "not found\n");
    }
    if method != Method::GET && method != Method::HEAD {
        return method_not_allowed("GET, HEAD");
    }
    match path {
        "/healthz" => match endpoints.health() {
            Ok(()) => text(StatusCode::OK, "ok\n"),
            Err(reason) => text(StatusCode::SERVICE_UNAVAILABLE, format!("{reason}\n")),
        },
        "/status" => {
            let mut body = serde_json::to_string_pretty(&endpoints.status())
                .unwrap_or_else(|e| serde_json::json!({ "error": e.to_string() }).to_string());
            body.push('\n');
            with_type(StatusCode::OK, "application/json", body)
        }
        _ => with_type(StatusCode::OK, metrics::CONTENT_TYPE, endpoints.metrics()),
    }
}

fn trigger(
    endpoints: &dyn Endpoints,
    method: &Method,
    headers: &HeaderMap,
    job: &str,
) -> Response<Full<Bytes>> {
    // An empty token would let anyone in with an empty bearer: treat it as off too.
    let Some(token) = endpoints.trigger_token().filter(|t| !t.is_empty()) else {
        return text(StatusCode::NOT_FOUND, "not found\n");
    };
    if method != Method::POST {
        return method_not_allowed("POST");
    }
    if !bearer(headers).is_some_and(|given| same_token(given, token.as_bytes())) {
        let mut response = text(StatusCode::UNAUTHORIZED, "unauthorized\n");
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        return response;
    }
    // Job names are [A-Za-z0-9_-], so the raw path segment needs no decoding; anything
    // else (a slash, percent escapes) is simply not a job.
    match endpoints.trigger(job) {
        TriggerResult::Started => text(StatusCode::ACCEPTED, "started\n"),
        TriggerResult::UnknownJob => text(StatusCode::NOT_FOUND, "unknown job\n"),
        TriggerResult::AlreadyRunning => text(StatusCode::CONFLICT, "already running\n"),
    }
}

/// The token of an `Authorization: Bearer TOKEN` header (the scheme is case-insensitive).
fn bearer(headers: &HeaderMap) -> Option<&[u8]> {
    let value = headers.get(header::AUTHORIZATION)?.as_bytes();
    let (scheme, token) = value.split_at_checked(7)?;
    scheme
        .eq_ignore_ascii_case(b"Bearer ")
        .then(|| token.trim_ascii())
}

/// Compares in time independent of where the two differ, so the token cannot be guessed
/// byte by byte from response times: both sides are hashed (which also evens out a
/// length difference) and blake3's `Hash` compares in constant time.
fn same_token(given: &[u8], expected: &[u8]) -> bool {
    blake3::hash(given) == blake3::hash(expected)
}

fn method_not_allowed(allow: &'static str) -> Response<Full<Bytes>> {
    let mut response = text(StatusCode::METHOD_NOT_ALLOWED, "method not allowed\n");
    response
        .headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static(allow));
    response
}

fn text(status: StatusCode, body: impl Into<String>) -> Response<Full<Bytes>> {
    with_type(status, "text/plain; charset=utf-8", body)
}

fn with_type(
    status: StatusCode,
    content_type: &'static str,
    body: impl Into<String>,
) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body.into())));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    // Health, status and metrics are live: no cache may answer for us.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

#[cfg(test)]
#[path = "http_tests.rs"]
mod tests;
