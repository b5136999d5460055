//! The GCS store against a real emulator (fake-gcs-server, anonymous credentials), and
//! its error classification against canned answers.

mod servers;

use bytes::Bytes;
use firedrill::store::gcs::{GcsConfig, GcsCredentials, GcsStore};
use firedrill::store::{PartStream, PutMode, Store, StoreError, StoreResult, list_all};
use futures::StreamExt;
use servers::gcs::FakeGcs;
use std::process::Command;
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const MIB: usize = 1 << 20;
/// Above the client's 16 MiB threshold, so uploads are resumable and chunked.
const LARGE: usize = 20 * MIB + 12_345;

async fn connect(endpoint: &str, bucket: &str, prefix: &str) -> GcsStore {
    GcsStore::connect(GcsConfig {
        bucket: bucket.to_string(),
        prefix: prefix.to_string(),
        endpoint: Some(endpoint.to_string()),
        credentials: GcsCredentials::Anonymous,
    })
    .await
    .unwrap()
}

/// A store in a bucket of its own on the shared emulator.
async fn fresh(hint: &str) -> GcsStore {
    let gcs = FakeGcs::shared();
    let bucket = gcs.unique_bucket(hint);
    connect(&gcs.endpoint, &bucket, "repo").await
}

/// Deterministic bytes that do not compress or repeat.
fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        out.extend_from_slice(&state.to_le_bytes());
    }
    out.truncate(len);
    out
}

/// `data` in pieces of `piece` bytes, optionally failing after `fail_after` pieces.
fn pieces(data: &[u8], piece: usize, fail_after: Option<usize>) -> PartStream<'static> {
    let mut items: Vec<StoreResult<Bytes>> = data
        .chunks(piece)
        .map(|c| Ok(Bytes::copy_from_slice(c)))
        .collect();
    if let Some(n) = fail_after {
        items.truncate(n);
        items.push(Err(StoreError::Transient {
            store: "source".into(),
            key: "k".into(),
            detail: "the disk went away".into(),
        }));
    }
    futures::stream::iter(items).boxed()
}

#[tokio::test(flavor = "multi_thread")]
async fn every_operation_round_trips() {
    let store = fresh("ops").await;
    let key = "data/ab/abcdef0123";
    let data = noise(100_000, 1);
    store
        .put(key, data.clone().into(), PutMode::Overwrite)
        .await
        .unwrap();
    assert_eq!(store.get(key).await.unwrap(), data);
    assert_eq!(
        store.get_range(key, 10, 1000).await.unwrap(),
        &data[10..1010]
    );
    assert_eq!(
        store.get_range(key, 99_990, 10).await.unwrap(),
        &data[99_990..]
    );
    assert_eq!(store.get_range(key, 100_000, 0).await.unwrap(), b"");
    let meta = store.head(key).await.unwrap();
    assert_eq!((meta.key.as_str(), meta.size), (key, 100_000));

    // An empty object, and an overwrite.
    store
        .put("config", Bytes::new(), PutMode::Overwrite)
        .await
        .unwrap();
    assert_eq!(store.get("config").await.unwrap(), b"");
    assert_eq!(store.head("config").await.unwrap().size, 0);
    store
        .put("config", b"v2".to_vec().into(), PutMode::Overwrite)
        .await
        .unwrap();
    assert_eq!(store.get("config").await.unwrap(), b"v2");

    store.delete(key).await.unwrap();
    assert!(store.get(key).await.unwrap_err().is_not_found());
    let keys: Vec<_> = list_all(&store, "").await.unwrap();
    assert_eq!(keys.len(), 1, "{keys:?}");
    assert_eq!((keys[0].key.as_str(), keys[0].size), ("config", 2));
}

#[tokio::test(flavor = "multi_thread")]
async fn ranges_past_the_end_are_errors_not_short_data() {
    let gcs = FakeGcs::shared();
    let bucket = gcs.unique_bucket("ranges");
    let store = connect(&gcs.endpoint, &bucket, "repo").await;
    store
        .put("index/aa", noise(1000, 2).into(), PutMode::Overwrite)
        .await
        .unwrap();
    for (offset, len) in [(990, 20), (1000, 1), (5000, 10), (1001, 0)] {
        // The emulator drops the connection after a 416; a pooled connection could then
        // fail the next request with a reset (transient, and retried in production).
        let store = connect(&gcs.endpoint, &bucket, "repo").await;
        let err = store.get_range("index/aa", offset, len).await.unwrap_err();
        assert!(
            matches!(err, StoreError::Other { .. }),
            "{offset}+{len}: {err:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn missing_objects_are_not_found() {
    let store = fresh("missing").await;
    let key = "snapshots/0123";
    assert!(store.get(key).await.unwrap_err().is_not_found());
    assert!(
        store
            .get_range(key, 0, 10)
            .await
            .unwrap_err()
            .is_not_found()
    );
    assert!(store.get_range(key, 0, 0).await.unwrap_err().is_not_found());
    assert!(store.head(key).await.unwrap_err().is_not_found());
    // As FsStore: deleting what is not there is NotFound too.
    assert!(store.delete(key).await.unwrap_err().is_not_found());
    let page = store.list_page("snapshots/", None).await.unwrap();
    assert!(page.objects.is_empty() && page.next.is_none(), "{page:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn create_only_refuses_a_taken_key() {
    let store = fresh("create-only").await;
    let key = "locks/00ff";
    store
        .put(key, b"first".to_vec().into(), PutMode::CreateOnly)
        .await
        .unwrap();
    let err = store
        .put(key, b"second".to_vec().into(), PutMode::CreateOnly)
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::AlreadyExists { .. }), "{err:?}");
    let err = store
        .put_stream(key, 5, pieces(b"third", 2, None), PutMode::CreateOnly)
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::AlreadyExists { .. }), "{err:?}");
    assert_eq!(store.get(key).await.unwrap(), b"first");
    store
        .put(key, b"forced".to_vec().into(), PutMode::Overwrite)
        .await
        .unwrap();
    assert_eq!(store.get(key).await.unwrap(), b"forced");
}

#[tokio::test(flavor = "multi_thread")]
async fn listing_pages_and_prefixes_stay_apart() {
    let gcs = FakeGcs::shared();
    let bucket = gcs.unique_bucket("listing");
    // "repo" is a string prefix of "repo2": only the slash keeps them apart.
    let a = connect(&gcs.endpoint, &bucket, "repo").await;
    let b = connect(&gcs.endpoint, &bucket, "repo2").await;
    let whole = connect(&gcs.endpoint, &bucket, "").await;

    // More than two pages of 1000.
    let count = 2_050;
    let names: Vec<String> = (0..count).map(|i| format!("index/{i:05x}")).collect();
    futures::stream::iter(&names)
        .for_each_concurrent(16, |key| {
            let a = &a;
            async move {
                a.put(key, vec![1; 3].into(), PutMode::Overwrite)
                    .await
                    .unwrap()
            }
        })
        .await;
    b.put("index/00000", vec![2; 7].into(), PutMode::Overwrite)
        .await
        .unwrap();
    b.put("snapshots/01", vec![2].into(), PutMode::Overwrite)
        .await
        .unwrap();

    let first = a.list_page("index/", None).await.unwrap();
    assert_eq!(first.objects.len(), 1000);
    assert!(first.next.is_some());
    let all = list_all(&a, "index/").await.unwrap();
    let keys: Vec<String> = all.iter().map(|m| m.key.clone()).collect();
    assert_eq!(keys, names, "every key once, in order, without the prefix");
    assert!(all.iter().all(|m| m.size == 3));
    assert!(list_all(&a, "snapshots/").await.unwrap().is_empty());

    let in_b = list_all(&b, "").await.unwrap();
    let keys_b: Vec<&str> = in_b.iter().map(|m| m.key.as_str()).collect();
    assert_eq!(keys_b, ["index/00000", "snapshots/01"]);
    assert_eq!(in_b[0].size, 7);
    assert_eq!(b.get("index/00000").await.unwrap(), vec![2; 7]);

    let everything = list_all(&whole, "repo2/").await.unwrap();
    assert_eq!(everything.len(), 2);
    assert_eq!(list_all(&whole, "").await.unwrap().len(), count + 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn odd_characters_in_keys_survive_every_path() {
    let store = fresh("odd-keys").await;
    let key = "data/a b/x+y%41?z#w&v=ü";
    store
        .put(key, b"odd".to_vec().into(), PutMode::Overwrite)
        .await
        .unwrap();
    assert_eq!(store.get(key).await.unwrap(), b"odd");
    assert_eq!(store.head(key).await.unwrap().size, 3);
    let listed = list_all(&store, "data/a b/").await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].key, key);
    store.delete(key).await.unwrap();
    assert!(store.head(key).await.unwrap_err().is_not_found());
    for bad in ["", "/abs", "a//b", "a/../b", "trailing/"] {
        let err = store.put(bad, Bytes::new(), PutMode::Overwrite).await;
        assert!(matches!(err, Err(StoreError::Other { .. })), "{bad:?}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn large_objects_round_trip_through_put_and_put_stream() {
    let store = fresh("large").await;
    let data = noise(LARGE, 3);
    store
        .put("data/11/put", data.clone().into(), PutMode::CreateOnly)
        .await
        .unwrap();
    store
        .put_stream(
            "data/22/stream",
            LARGE as u64,
            pieces(&data, MIB + 7, None),
            PutMode::CreateOnly,
        )
        .await
        .unwrap();
    for key in ["data/11/put", "data/22/stream"] {
        assert_eq!(store.head(key).await.unwrap().size, LARGE as u64);
        assert!(store.get(key).await.unwrap() == data, "{key} differs");
        // Across the boundary of the client's 8 MiB upload chunks.
        let at = 8 * MIB - 100;
        assert_eq!(
            store.get_range(key, at as u64, 300).await.unwrap(),
            &data[at..at + 300]
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failing_or_wrongly_sized_stream_leaves_nothing() {
    let store = fresh("failing").await;
    let data = noise(LARGE, 4);

    // After 12 MiB: one 8 MiB chunk of the resumable upload is already with the server.
    let err = store
        .put_stream(
            "data/33/big",
            LARGE as u64,
            pieces(&data, MIB, Some(12)),
            PutMode::Overwrite,
        )
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("the disk went away"),
        "the stream's own error: {err}"
    );
    // Below the resumable threshold.
    let err = store
        .put_stream(
            "data/33/small",
            3 * MIB as u64,
            pieces(&data[..3 * MIB], MIB, Some(2)),
            PutMode::Overwrite,
        )
        .await
        .unwrap_err();
    assert!(err.is_transient(), "{err:?}");

    // Fewer, then more bytes than announced.
    for (key, announced) in [
        ("data/33/short", LARGE as u64 + 1),
        ("data/33/long", LARGE as u64 - 1),
        ("data/33/long-small", 1000),
    ] {
        let err = store
            .put_stream(key, announced, pieces(&data, MIB, None), PutMode::Overwrite)
            .await
            .unwrap_err();
        assert!(matches!(err, StoreError::Other { .. }), "{key}: {err:?}");
    }
    for key in ["big", "small", "short", "long", "long-small"] {
        let key = format!("data/33/{key}");
        assert!(store.head(&key).await.unwrap_err().is_not_found(), "{key}");
    }
    assert!(list_all(&store, "").await.unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stopped_server_is_transient_and_data_survives_a_restart() {
    let gcs = FakeGcs::start();
    let bucket = gcs.unique_bucket("outage");
    let store = connect(&gcs.endpoint, &bucket, "repo").await;
    store
        .put("config", b"kept".to_vec().into(), PutMode::Overwrite)
        .await
        .unwrap();
    gcs.stop();
    let results = [
        store.get("config").await.map(drop),
        store.get_range("config", 0, 2).await.map(drop),
        store.head("config").await.map(drop),
        store.list_page("", None).await.map(drop),
        store.delete("config").await,
        store
            .put("keys/01", b"x".to_vec().into(), PutMode::CreateOnly)
            .await,
        store
            .put_stream("keys/02", 1, pieces(b"x", 1, None), PutMode::Overwrite)
            .await,
    ];
    for (i, result) in results.into_iter().enumerate() {
        let err = result.unwrap_err();
        assert!(err.is_transient(), "call {i}: {err:?}");
        assert!(err.to_string().contains("at http://127.0.0."), "{err}");
    }
    gcs.restart();
    assert_eq!(store.get("config").await.unwrap(), b"kept");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_missing_bucket_is_named_in_the_error() {
    let gcs = FakeGcs::shared();
    let store = connect(&gcs.endpoint, "no-such-bucket-here", "repo").await;
    let err = store.list_page("", None).await.unwrap_err();
    assert!(matches!(err, StoreError::Other { .. }), "{err:?}");
    assert!(
        err.to_string()
            .contains("no-such-bucket-here does not exist"),
        "{err}"
    );
    let err = store
        .put("config", b"x".to_vec().into(), PutMode::Overwrite)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("does not exist"), "{err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn describe_names_bucket_prefix_and_endpoint() {
    let gcs = FakeGcs::shared();
    let store = connect(&gcs.endpoint, "b", "team/repo").await;
    assert_eq!(
        store.describe(),
        format!("gs://b/team/repo at {}", gcs.endpoint)
    );
    let store = connect(&gcs.endpoint, "b", "").await;
    assert_eq!(store.describe(), format!("gs://b at {}", gcs.endpoint));
}

/// A server that answers every request with `status` and a JSON API error body, and
/// keeps the head of each request it saw.
async fn canned(status: u16) -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let heads = Arc::new(Mutex::new(Vec::new()));
    let seen_heads = heads.clone();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let heads = seen_heads.clone();
            tokio::spawn(async move {
                // Read the whole request first: closing on unread data resets the
                // connection, and the client would see that instead of the answer.
                let mut seen = Vec::new();
                let mut buf = [0u8; 8192];
                let header_end = loop {
                    let Ok(n) = socket.read(&mut buf).await else {
                        return;
                    };
                    if n == 0 {
                        return;
                    }
                    seen.extend_from_slice(&buf[..n]);
                    if let Some(at) = seen.windows(4).position(|w| w == b"\r\n\r\n") {
                        break at + 4;
                    }
                };
                let head = String::from_utf8_lossy(&seen[..header_end]).to_ascii_lowercase();
                let length: usize = head
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length:"))
                    .and_then(|v| v.trim().parse().ok())
                    .unwrap_or(0);
                heads.lock().unwrap().push(head);
                while seen.len() < header_end + length {
                    match socket.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => seen.extend_from_slice(&buf[..n]),
                    }
                }
                let body =
                    format!(r#"{{"error":{{"code":{status},"message":"canned {status}"}}}}"#);
                let reply = format!(
                    "HTTP/1.1 {status} Canned\r\nContent-Type: application/json\r\n\
                     Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = socket.write_all(reply.as_bytes()).await;
                let _ = socket.shutdown().await;
            });
        }
    });
    (format!("http://{addr}"), heads)
}

#[tokio::test(flavor = "multi_thread")]
async fn refusals_and_overload_are_classified() {
    for status in [401, 403, 429, 500, 503] {
        let (endpoint, _) = canned(status).await;
        let store = connect(&endpoint, "bucket", "repo").await;
        let results = [
            store
                .put("config", b"x".to_vec().into(), PutMode::CreateOnly)
                .await,
            store.get("config").await.map(drop),
            store.get_range("config", 0, 1).await.map(drop),
            store.head("config").await.map(drop),
            store.list_page("", None).await.map(drop),
            store.delete("config").await,
        ];
        for (i, result) in results.into_iter().enumerate() {
            let err = result.unwrap_err();
            match status {
                401 | 403 => {
                    assert!(
                        matches!(err, StoreError::PermissionDenied { .. }),
                        "{status}, call {i}: {err:?}"
                    );
                    assert!(err.to_string().contains("refused the credentials"), "{err}");
                    assert!(err.to_string().contains(&endpoint), "{err}");
                }
                _ => assert!(err.is_transient(), "{status}, call {i}: {err:?}"),
            }
        }
    }
}

/// A throwaway service-account key file: its tokens are self-signed JWTs, made locally.
fn service_account_key(dir: &std::path::Path) -> std::path::PathBuf {
    let out = Command::new("openssl")
        .args([
            "genpkey",
            "-algorithm",
            "RSA",
            "-pkeyopt",
            "rsa_keygen_bits:2048",
        ])
        .output()
        .expect("openssl must be installed");
    assert!(out.status.success());
    let key = serde_json::json!({
        "type": "service_account",
        "project_id": "test",
        "private_key_id": "k1",
        "private_key": String::from_utf8(out.stdout).unwrap(),
        "client_email": "backup@test.iam.gserviceaccount.com",
        "token_uri": "https://oauth2.googleapis.com/token",
    });
    let path = dir.join("key.json");
    std::fs::write(&path, key.to_string()).unwrap();
    path
}

#[tokio::test(flavor = "multi_thread")]
async fn a_key_file_authorises_object_and_json_api_calls_alike() {
    let dir = tempfile::tempdir().unwrap();
    let key_file = service_account_key(dir.path());
    let with_key = |endpoint: &str, bucket: &str| GcsConfig {
        bucket: bucket.to_string(),
        prefix: "repo".to_string(),
        endpoint: Some(endpoint.to_string()),
        credentials: GcsCredentials::KeyFile(key_file.clone()),
    };

    let (endpoint, heads) = canned(403).await;
    let store = GcsStore::connect(with_key(&endpoint, "b")).await.unwrap();
    let put = store.put("config", b"x".to_vec().into(), PutMode::Overwrite);
    assert!(matches!(
        put.await,
        Err(StoreError::PermissionDenied { .. })
    ));
    let list = store.list_page("", None).await;
    assert!(matches!(list, Err(StoreError::PermissionDenied { .. })));
    let heads = heads.lock().unwrap().clone();
    assert_eq!(heads.len(), 2, "{heads:?}");
    let tokens: Vec<&str> = heads
        .iter()
        .map(|h| {
            h.lines()
                .find_map(|l| l.strip_prefix("authorization: bearer "))
                .unwrap_or_else(|| panic!("no bearer token in {h}"))
        })
        .collect();
    assert_eq!(tokens[0], tokens[1], "one credentials object, one token");

    // The emulator ignores tokens; the calls go through with one.
    let gcs = FakeGcs::shared();
    let bucket = gcs.unique_bucket("key-file");
    let store = GcsStore::connect(with_key(&gcs.endpoint, &bucket))
        .await
        .unwrap();
    store
        .put("config", b"signed".to_vec().into(), PutMode::CreateOnly)
        .await
        .unwrap();
    assert_eq!(store.get("config").await.unwrap(), b"signed");
    assert_eq!(list_all(&store, "").await.unwrap().len(), 1);

    let missing = GcsConfig {
        credentials: GcsCredentials::KeyFile(dir.path().join("absent.json")),
        ..with_key(&gcs.endpoint, &bucket)
    };
    let err = GcsStore::connect(missing).await.unwrap_err();
    assert!(err.to_string().contains("absent.json"), "{err}");
}

const HTTPS_ENDPOINT_VAR: &str = "FIREDRILL_TEST_GCS_HTTPS_ENDPOINT";
const HTTPS_BUCKET_VAR: &str = "FIREDRILL_TEST_GCS_HTTPS_BUCKET";

/// `SSL_CERT_FILE` is read by every TLS stack at its own time; setting it inside this
/// multi-threaded process is unsound, so the check runs in a child of this binary.
#[tokio::test(flavor = "multi_thread")]
async fn https_endpoint_works_when_its_ca_is_trusted() {
    let gcs = FakeGcs::shared();
    let bucket = gcs.unique_bucket("https");
    let out = Command::new(std::env::current_exe().unwrap())
        .args(["https_child", "--exact", "--ignored", "--nocapture"])
        .env("SSL_CERT_FILE", &gcs.ca_cert)
        .env(HTTPS_ENDPOINT_VAR, &gcs.https_endpoint)
        .env(HTTPS_BUCKET_VAR, &bucket)
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("1 passed"), "the child ran no test:\n{text}");
    // What the child wrote over https is visible over http.
    let plain = connect(&gcs.endpoint, &bucket, "repo").await;
    assert_eq!(plain.get("config").await.unwrap(), b"over tls");
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "run by https_endpoint_works_when_its_ca_is_trusted, with SSL_CERT_FILE set"]
async fn https_child() {
    let (Ok(endpoint), Ok(bucket)) = (
        std::env::var(HTTPS_ENDPOINT_VAR),
        std::env::var(HTTPS_BUCKET_VAR),
    ) else {
        eprintln!("nothing to do: the https test runs this with the emulator's address");
        return;
    };
    let store = connect(&endpoint, &bucket, "repo").await;
    store
        .put("config", b"over tls".to_vec().into(), PutMode::CreateOnly)
        .await
        .unwrap();
    // Resumable too: the upload URL the emulator hands out must keep the scheme.
    let data = noise(17 * MIB, 5);
    store
        .put_stream(
            "data/44/big",
            data.len() as u64,
            pieces(&data, MIB, None),
            PutMode::Overwrite,
        )
        .await
        .unwrap();
    assert!(store.get("data/44/big").await.unwrap() == data);
    assert_eq!(store.get_range("config", 5, 3).await.unwrap(), b"tls");
    assert_eq!(list_all(&store, "").await.unwrap().len(), 2);
    store.delete("data/44/big").await.unwrap();
    assert!(store.head("data/44/big").await.unwrap_err().is_not_found());
}
