//! Tests of the HTTP server, spoken to over raw TCP so that what goes over the wire is
//! exactly what the test wrote.

use super::*;
use std::net::SocketAddr;
use std::sync::Mutex;
use std::time::Instant;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

const TOKEN: &str = "s3cret-token";

struct Fake {
    health: Result<(), String>,
    token: Option<String>,
    /// How long /status takes, to have a request in flight.
    status_delay: Duration,
    /// Signalled when /status is being answered.
    status_begun: tokio::sync::Notify,
    triggered: Mutex<Vec<String>>,
}

impl Default for Fake {
    fn default() -> Fake {
        Fake {
            health: Ok(()),
            token: Some(TOKEN.to_string()),
            status_delay: Duration::ZERO,
            status_begun: tokio::sync::Notify::new(),
            triggered: Mutex::default(),
        }
    }
}

impl Endpoints for Fake {
    fn health(&self) -> Result<(), String> {
        self.health.clone()
    }

    fn status(&self) -> serde_json::Value {
        self.status_begun.notify_one();
        std::thread::sleep(self.status_delay);
        serde_json::json!({"jobs": [{"name": "nightly"}]})
    }

    fn metrics(&self) -> String {
        "# HELP x y.\n# TYPE x gauge\nx 1.0\n# EOF\n".to_string()
    }

    fn trigger_token(&self) -> Option<String> {
        self.token.clone()
    }

    fn trigger(&self, job: &str) -> TriggerResult {
        match job {
            "nightly" => {
                self.triggered.lock().unwrap().push(job.to_string());
                TriggerResult::Started
            }
            "busy" => TriggerResult::AlreadyRunning,
            "explode" => panic!("the handler panics"),
            _ => TriggerResult::UnknownJob,
        }
    }
}

struct Server {
    addr: SocketAddr,
    fake: Arc<Fake>,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<std::io::Result<()>>,
}

impl Server {
    async fn start(fake: Fake) -> Server {
        Server::start_with(fake, LIMITS).await
    }

    async fn start_with(fake: Fake, limits: Limits) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let fake = Arc::new(fake);
        let (stop, stopped) = oneshot::channel::<()>();
        let shutdown = async move {
            let _ = stopped.await;
        };
        let task = tokio::spawn(serve_with(listener, fake.clone(), shutdown, limits));
        Server {
            addr,
            fake,
            stop: Some(stop),
            task,
        }
    }

    /// Sends `head` (request line and headers, without the blank line) plus `body`.
    async fn send(&self, head: &str, body: &str) -> Reply {
        send(self.addr, head, body).await
    }

    async fn get(&self, path: &str) -> Reply {
        self.send(&format!("GET {path} HTTP/1.1"), "").await
    }

    async fn post(&self, path: &str, auth: Option<&str>) -> Reply {
        let auth = auth
            .map(|a| format!("\r\nAuthorization: {a}"))
            .unwrap_or_default();
        self.send(&format!("POST {path} HTTP/1.1{auth}"), "").await
    }

    /// Signals shutdown and waits for `serve` to return.
    async fn stop(mut self) -> Duration {
        let begun = Instant::now();
        self.stop.take().unwrap().send(()).unwrap();
        let result = tokio::time::timeout(Duration::from_secs(10), &mut self.task).await;
        result.expect("serve returns").unwrap().unwrap();
        begun.elapsed()
    }
}

#[derive(Debug)]
struct Reply {
    status: u16,
    /// Names lowercased.
    headers: Vec<(String, String)>,
    body: String,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        let mut found = self.headers.iter().filter(|(n, _)| n == name);
        found.next().map(|(_, v)| v.as_str())
    }
}

async fn send(addr: SocketAddr, head: &str, body: &str) -> Reply {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let request = format!("{head}\r\nHost: localhost\r\nConnection: close\r\n\r\n{body}");
    stream.write_all(request.as_bytes()).await.unwrap();
    read_reply(&mut stream).await
}

async fn read_reply(stream: &mut TcpStream) -> Reply {
    let mut raw = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut raw))
        .await
        .expect("a reply in time")
        .unwrap();
    let raw = String::from_utf8(raw).unwrap();
    let (head, body) = raw.split_once("\r\n\r\n").expect("a complete head");
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers = lines
        .map(|l| {
            let (n, v) = l.split_once(':').unwrap();
            (n.to_ascii_lowercase(), v.trim().to_string())
        })
        .collect();
    Reply {
        status,
        headers,
        body: body.to_string(),
    }
}

#[tokio::test]
async fn healthz() {
    let server = Server::start(Fake::default()).await;
    let reply = server.get("/healthz").await;
    assert_eq!((reply.status, reply.body.as_str()), (200, "ok\n"));
    assert_eq!(
        reply.header("content-type"),
        Some("text/plain; charset=utf-8")
    );
    server.stop().await;

    let sick = Fake {
        health: Err("the scheduler is stuck".to_string()),
        ..Fake::default()
    };
    let server = Server::start(sick).await;
    let reply = server.get("/healthz").await;
    assert_eq!(reply.status, 503);
    assert_eq!(reply.body, "the scheduler is stuck\n");
    server.stop().await;
}

#[tokio::test]
async fn status_is_json() {
    let server = Server::start(Fake::default()).await;
    let reply = server.get("/status").await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.header("content-type"), Some("application/json"));
    assert_eq!(reply.header("cache-control"), Some("no-store"));
    let value: serde_json::Value = serde_json::from_str(&reply.body).unwrap();
    assert_eq!(value["jobs"][0]["name"], "nightly");
    server.stop().await;
}

#[tokio::test]
async fn metrics_are_openmetrics() {
    let server = Server::start(Fake::default()).await;
    let reply = server.get("/metrics?name=ignored").await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.header("content-type"), Some(metrics::CONTENT_TYPE));
    assert!(reply.body.ends_with("# EOF\n"));
    server.stop().await;
}

#[tokio::test]
async fn head_has_headers_but_no_body() {
    let server = Server::start(Fake::default()).await;
    let reply = server.send("HEAD /metrics HTTP/1.1", "").await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.header("content-type"), Some(metrics::CONTENT_TYPE));
    assert_eq!(reply.body, "");
    server.stop().await;
}

#[tokio::test]
async fn other_paths_are_404() {
    let server = Server::start(Fake::default()).await;
    for path in [
        "/",
        "/health",
        "/healthz/x",
        "/trigger",
        "/metrics/",
        "/../status",
    ] {
        assert_eq!(server.get(path).await.status, 404, "{path}");
    }
    server.stop().await;
}

#[tokio::test]
async fn wrong_method_is_405_with_allow() {
    let server = Server::start(Fake::default()).await;
    for path in ["/healthz", "/status", "/metrics"] {
        let reply = server.post(path, None).await;
        assert_eq!(reply.status, 405, "{path}");
        assert_eq!(reply.header("allow"), Some("GET, HEAD"));
    }
    let reply = server.get("/trigger/nightly").await;
    assert_eq!(reply.status, 405);
    assert_eq!(reply.header("allow"), Some("POST"));
    server.stop().await;
}

#[tokio::test]
async fn trigger_off_is_404() {
    for token in [None, Some(String::new())] {
        let fake = Fake {
            token,
            ..Fake::default()
        };
        let server = Server::start(fake).await;
        let reply = server.post("/trigger/nightly", Some("Bearer ")).await;
        assert_eq!(reply.status, 404);
        assert_eq!(server.get("/trigger/nightly").await.status, 404);
        assert!(server.fake.triggered.lock().unwrap().is_empty());
        server.stop().await;
    }
}

#[tokio::test]
async fn trigger_without_the_right_token_is_401() {
    let server = Server::start(Fake::default()).await;
    let wrong = [
        None,
        Some("Bearer"),
        Some("Bearer "),
        Some("Bearer s3cret-toke"),
        Some("Bearer s3cret-token2"),
        Some("Bearer S3CRET-TOKEN"),
        Some("Basic czNjcmV0LXRva2Vu"),
        Some("s3cret-token"),
    ];
    for auth in wrong {
        // An unknown job does not tell the unauthenticated anything either.
        for job in ["nightly", "nosuchjob"] {
            let reply = server.post(&format!("/trigger/{job}"), auth).await;
            assert_eq!(reply.status, 401, "{auth:?}");
            assert_eq!(reply.header("www-authenticate"), Some("Bearer"));
        }
    }
    assert!(server.fake.triggered.lock().unwrap().is_empty());
    server.stop().await;
}

#[tokio::test]
async fn trigger_with_the_token() {
    let server = Server::start(Fake::default()).await;
    let auth = Some("Bearer s3cret-token");
    assert_eq!(server.post("/trigger/nightly", auth).await.status, 202);
    // The scheme is case-insensitive.
    let reply = server
        .post("/trigger/nightly", Some("bearer s3cret-token"))
        .await;
    assert_eq!(reply.status, 202);
    assert_eq!(server.post("/trigger/nosuchjob", auth).await.status, 404);
    assert_eq!(server.post("/trigger/", auth).await.status, 404);
    assert_eq!(server.post("/trigger/nightly/x", auth).await.status, 404);
    assert_eq!(server.post("/trigger/busy", auth).await.status, 409);
    assert_eq!(
        *server.fake.triggered.lock().unwrap(),
        ["nightly", "nightly"]
    );
    server.stop().await;
}

#[tokio::test]
async fn a_request_body_is_not_waited_for() {
    let server = Server::start(Fake::default()).await;
    // Announces 10 MB, sends a few bytes: answered at once all the same.
    let head = "POST /trigger/nightly HTTP/1.1\r\nAuthorization: Bearer s3cret-token\r\nContent-Length: 10000000";
    let reply = server.send(head, "abc").await;
    assert_eq!(reply.status, 202);
    server.stop().await;
}

#[tokio::test]
async fn a_panicking_handler_costs_its_request_only() {
    let server = Server::start(Fake::default()).await;
    let reply = server
        .post("/trigger/explode", Some("Bearer s3cret-token"))
        .await;
    assert_eq!(reply.status, 500);
    assert_eq!(server.get("/healthz").await.status, 200);
    server.stop().await;
}

#[tokio::test]
async fn garbage_gets_400_and_the_server_goes_on() {
    let server = Server::start(Fake::default()).await;
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    stream
        .write_all(b"\x00\xff NOT HTTP\r\n\r\n")
        .await
        .unwrap();
    let mut raw = Vec::new();
    let read = stream.read_to_end(&mut raw);
    tokio::time::timeout(Duration::from_secs(5), read)
        .await
        .unwrap()
        .unwrap();
    assert!(
        raw.is_empty() || raw.starts_with(b"HTTP/1.1 400"),
        "{raw:?}"
    );
    assert_eq!(server.get("/healthz").await.status, 200);
    server.stop().await;
}

#[tokio::test]
async fn oversized_headers_get_431() {
    let server = Server::start(Fake::default()).await;
    let big = "x".repeat(MAX_HEADER_SIZE);
    let reply = server
        .send(&format!("GET /healthz HTTP/1.1\r\nX-Big: {big}"), "")
        .await;
    assert_eq!(reply.status, 431);
    server.stop().await;
}

fn short(max_connections: usize) -> Limits {
    Limits {
        header_read_timeout: Duration::from_millis(300),
        max_connections,
        shutdown_grace: Duration::from_secs(5),
    }
}

#[tokio::test]
async fn an_idle_client_is_dropped() {
    let server = Server::start_with(Fake::default(), short(64)).await;
    let mut idle = TcpStream::connect(server.addr).await.unwrap();
    idle.write_all(b"GET /healthz HTTP/1.1\r\n").await.unwrap();
    let mut raw = Vec::new();
    let read = idle.read_to_end(&mut raw);
    // Closed (hyper may answer 408 first) rather than kept forever.
    let result = tokio::time::timeout(Duration::from_secs(5), read).await;
    assert!(result.is_ok(), "still open");
    assert!(
        raw.is_empty() || raw.starts_with(b"HTTP/1.1 408"),
        "{raw:?}"
    );
    server.stop().await;
}

#[tokio::test]
async fn connections_beyond_the_cap_wait() {
    let server = Server::start_with(Fake::default(), short(1)).await;
    let begun = Instant::now();
    let _idle = TcpStream::connect(server.addr).await.unwrap();
    // Served only once the idle one is dropped for its header timeout.
    let reply = server.get("/healthz").await;
    assert_eq!(reply.status, 200);
    assert!(
        begun.elapsed() >= Duration::from_millis(250),
        "{:?}",
        begun.elapsed()
    );
    server.stop().await;
}

#[tokio::test]
async fn shutdown_stops_the_server() {
    let server = Server::start(Fake::default()).await;
    let addr = server.addr;
    assert_eq!(server.get("/healthz").await.status, 200);
    let took = server.stop().await;
    assert!(took < Duration::from_secs(3), "{took:?}");
    assert!(TcpStream::connect(addr).await.is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_lets_a_request_in_flight_finish() {
    let fake = Fake {
        status_delay: Duration::from_millis(400),
        ..Fake::default()
    };
    let server = Server::start(fake).await;
    let addr = server.addr;
    let in_flight = tokio::spawn(async move { send(addr, "GET /status HTTP/1.1", "").await });
    server.fake.status_begun.notified().await;
    server.stop().await;
    let reply = in_flight.await.unwrap();
    assert_eq!(reply.status, 200);
    assert!(reply.body.contains("nightly"));
}

#[tokio::test]
async fn shutdown_waits_for_stragglers_only_so_long() {
    let limits = Limits {
        header_read_timeout: Duration::from_secs(60),
        max_connections: 64,
        shutdown_grace: Duration::from_millis(200),
    };
    let server = Server::start_with(Fake::default(), limits).await;
    // Half a request: the connection is busy reading its head.
    let mut slow = TcpStream::connect(server.addr).await.unwrap();
    slow.write_all(b"GET /status HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    let took = server.stop().await;
    assert!(took < Duration::from_secs(3), "{took:?}");
}

#[test]
fn bearer_parsing() {
    let parse = |value: &str| {
        let mut headers = HeaderMap::new();
        headers.insert(header::AUTHORIZATION, HeaderValue::from_str(value).unwrap());
        bearer(&headers).map(|t| String::from_utf8(t.to_vec()).unwrap())
    };
    assert_eq!(parse("Bearer abc").as_deref(), Some("abc"));
    assert_eq!(parse("BEARER  abc ").as_deref(), Some("abc"));
    assert_eq!(parse("Bearer").as_deref(), None);
    assert_eq!(parse("Bearerabc").as_deref(), None);
    assert_eq!(parse("Basic abc").as_deref(), None);
    assert_eq!(bearer(&HeaderMap::new()), None);
}

#[test]
fn token_comparison() {
    assert!(same_token(b"abc", b"abc"));
    assert!(!same_token(b"abd", b"abc"));
    assert!(!same_token(b"ab", b"abc"));
    assert!(!same_token(b"abcd", b"abc"));
    assert!(!same_token(b"", b"abc"));
}
