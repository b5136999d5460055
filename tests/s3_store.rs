//! The S3 store against a real S3 server (SeaweedFS on loopback, static credentials).

mod servers;

use bytes::Bytes;
use firedrill::store::s3::{ObjectLockMode, ObjectLockRetention, S3Config, S3Credentials, S3Store};
use firedrill::store::{PutMode, Store, StoreError, list_all};
use futures::StreamExt;
use servers::seaweed::Seaweed;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

const MIB: usize = 1 << 20;

fn config(server: &Seaweed, bucket: &str, prefix: &str) -> S3Config {
    config_at(
        &server.endpoint,
        &server.access_key,
        &server.secret_key,
        bucket,
        prefix,
    )
}

fn config_at(
    endpoint: &str,
    access_key: &str,
    secret_key: &str,
    bucket: &str,
    prefix: &str,
) -> S3Config {
    S3Config {
        endpoint: Some(endpoint.to_string()),
        bucket: bucket.to_string(),
        prefix: prefix.to_string(),
        region: None,
        credentials: S3Credentials::Static {
            access_key_id: access_key.to_string(),
            secret_access_key: secret_key.to_string(),
            session_token: None,
        },
        storage_class: None,
        sse_kms_key_id: None,
        object_lock: None,
    }
}

async fn store(server: &Seaweed, bucket: &str, prefix: &str) -> S3Store {
    S3Store::connect(config(server, bucket, prefix))
        .await
        .unwrap()
}

fn random(len: usize) -> Vec<u8> {
    let mut data = vec![0u8; len];
    getrandom::fill(&mut data).unwrap();
    data
}

/// Multipart uploads the server still holds for `bucket`: aborted ones must be gone.
async fn pending_uploads(server: &Seaweed, bucket: &str) -> usize {
    let out = server
        .client()
        .list_multipart_uploads()
        .bucket(bucket)
        .send()
        .await
        .unwrap();
    out.uploads().len()
}

async fn etag(server: &Seaweed, bucket: &str, key: &str) -> String {
    let out = server
        .client()
        .head_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .unwrap();
    out.e_tag()
        .unwrap_or_default()
        .trim_matches('"')
        .to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn put_get_range_head_delete_round_trip() {
    let server = Seaweed::shared(0);
    let bucket = server.unique_bucket("round-trip");
    let s = store(server, &bucket, "repo").await;
    s.put(
        "data/ab/abcd",
        Bytes::from_static(b"hello world"),
        PutMode::Overwrite,
    )
    .await
    .unwrap();
    assert_eq!(s.get("data/ab/abcd").await.unwrap(), b"hello world");
    assert_eq!(s.get_range("data/ab/abcd", 6, 5).await.unwrap(), b"world");
    assert_eq!(s.get_range("data/ab/abcd", 11, 0).await.unwrap(), b"");
    let meta = s.head("data/ab/abcd").await.unwrap();
    assert_eq!((meta.key.as_str(), meta.size), ("data/ab/abcd", 11));

    let past_end = s.get_range("data/ab/abcd", 8, 10).await.unwrap_err();
    assert!(
        matches!(past_end, StoreError::Other { .. }),
        "a range past the end is no transient failure: {past_end}"
    );

    s.put(
        "data/ab/abcd",
        Bytes::from_static(b"replaced"),
        PutMode::Overwrite,
    )
    .await
    .unwrap();
    assert_eq!(s.get("data/ab/abcd").await.unwrap(), b"replaced");

    s.delete("data/ab/abcd").await.unwrap();
    assert!(s.get("data/ab/abcd").await.unwrap_err().is_not_found());
    // Deleting what is gone succeeds, as S3 does.
    s.delete("data/ab/abcd").await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn missing_objects_are_not_found() {
    let server = Seaweed::shared(0);
    let bucket = server.unique_bucket("not-found");
    let s = store(server, &bucket, "repo").await;
    for err in [
        s.get("snapshots/00ff").await.unwrap_err(),
        s.head("snapshots/00ff").await.map(|_| ()).unwrap_err(),
        s.get_range("snapshots/00ff", 0, 4).await.unwrap_err(),
        s.get_range("snapshots/00ff", 0, 0).await.unwrap_err(),
    ] {
        assert!(err.is_not_found(), "{err}");
        let text = err.to_string();
        assert!(
            text.contains("snapshots/00ff") && text.contains(&s.describe()),
            "{text}"
        );
    }

    let no_bucket = store(server, "no-such-bucket-here", "repo").await;
    let err = no_bucket.get("config").await.unwrap_err();
    assert!(
        matches!(&err, StoreError::Other { detail, .. } if detail.contains("does not exist")),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn create_only_refuses_a_taken_key() {
    let server = Seaweed::shared(0);
    let bucket = server.unique_bucket("create-only");
    let s = store(server, &bucket, "repo").await;
    s.put(
        "locks/01",
        Bytes::from_static(b"first"),
        PutMode::CreateOnly,
    )
    .await
    .unwrap();
    let err = s
        .put(
            "locks/01",
            Bytes::from_static(b"second"),
            PutMode::CreateOnly,
        )
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::AlreadyExists { .. }), "{err}");
    assert_eq!(s.get("locks/01").await.unwrap(), b"first");
}

#[tokio::test(flavor = "multi_thread")]
async fn listing_pages_and_prefixes_are_isolated() {
    let server = Seaweed::shared(0);
    let bucket = server.unique_bucket("listing");
    let a = store(server, &bucket, "team/a").await;
    // A prefix that extends the other one must still not see its keys.
    let b = store(server, &bucket, "team/ab").await;
    let keys: Vec<String> = (0..1100).map(|i| format!("index/{i:05x}")).collect();
    futures::stream::iter(&keys)
        .map(|key| a.put(key, Bytes::from_static(b"x"), PutMode::Overwrite))
        .buffer_unordered(32)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect::<Result<Vec<_>, _>>()
        .unwrap();
    a.put("config", Bytes::from_static(b"cfg"), PutMode::Overwrite)
        .await
        .unwrap();
    b.put("index/zz", Bytes::from_static(b"b"), PutMode::Overwrite)
        .await
        .unwrap();

    let first = a.list_page("index/", None).await.unwrap();
    assert_eq!(first.objects.len(), 1000, "ListObjectsV2's default page");
    assert!(first.next.is_some());
    let second = a.list_page("index/", first.next.clone()).await.unwrap();
    assert_eq!(second.objects.len(), 100);
    assert!(second.next.is_none());

    let listed: Vec<String> = list_all(&a, "index/")
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.key)
        .collect();
    assert_eq!(listed, keys, "every key, in lexical order, prefix stripped");

    let everything = list_all(&a, "").await.unwrap();
    assert_eq!(everything.len(), 1101);
    assert_eq!(everything[0].key, "config");
    assert_eq!(everything[0].size, 3);

    let of_b: Vec<String> = list_all(&b, "")
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.key)
        .collect();
    assert_eq!(of_b, ["index/zz"]);
    assert!(b.get("config").await.unwrap_err().is_not_found());

    // A store at the bucket's root sees both, under their full names.
    let root = store(server, &bucket, "").await;
    let under_team = list_all(&root, "team/").await.unwrap();
    assert_eq!(under_team.len(), 1102);
    assert_eq!(root.get("team/ab/index/zz").await.unwrap(), b"b");
}

#[tokio::test(flavor = "multi_thread")]
async fn multipart_put_round_trip() {
    let server = Seaweed::shared(0);
    let bucket = server.unique_bucket("multipart");
    let s = store(server, &bucket, "repo").await;
    let data = random(40 * MIB + 123);
    s.put(
        "data/12/big",
        Bytes::from(data.clone()),
        PutMode::CreateOnly,
    )
    .await
    .unwrap();
    assert!(
        etag(server, &bucket, "repo/data/12/big")
            .await
            .ends_with("-3"),
        "three parts of 16 MiB"
    );
    assert_eq!(s.head("data/12/big").await.unwrap().size, data.len() as u64);
    assert!(s.get("data/12/big").await.unwrap() == data);
    let across = s
        .get_range("data/12/big", 16 * MIB as u64 - 5, 10)
        .await
        .unwrap();
    assert_eq!(across, &data[16 * MIB - 5..16 * MIB + 5]);

    // Create-only holds for multipart too, and the refused upload is aborted.
    let err = s
        .put(
            "data/12/big",
            Bytes::from(random(33 * MIB)),
            PutMode::CreateOnly,
        )
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::AlreadyExists { .. }), "{err}");
    assert!(s.get("data/12/big").await.unwrap() == data);
    assert_eq!(pending_uploads(server, &bucket).await, 0);
}

/// `data` in pieces of an awkward size, so parts are built from several pieces.
fn pieces(data: &[u8], size: usize) -> Vec<Bytes> {
    data.chunks(size).map(Bytes::copy_from_slice).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn put_stream_round_trip() {
    let server = Seaweed::shared(0);
    let bucket = server.unique_bucket("stream");
    let s = store(server, &bucket, "repo").await;
    let data = random(40 * MIB + 7);
    let body = futures::stream::iter(pieces(&data, MIB + 3).into_iter().map(Ok)).boxed();
    s.put_stream(
        "data/34/streamed",
        data.len() as u64,
        body,
        PutMode::Overwrite,
    )
    .await
    .unwrap();
    assert!(
        etag(server, &bucket, "repo/data/34/streamed")
            .await
            .ends_with("-3")
    );
    assert!(s.get("data/34/streamed").await.unwrap() == data);

    let small = random(100_000);
    let body = futures::stream::iter(pieces(&small, 4096).into_iter().map(Ok)).boxed();
    s.put_stream(
        "data/34/small",
        small.len() as u64,
        body,
        PutMode::CreateOnly,
    )
    .await
    .unwrap();
    assert_eq!(s.get("data/34/small").await.unwrap(), small);
}

#[tokio::test(flavor = "multi_thread")]
async fn failed_stream_leaves_nothing() {
    let server = Seaweed::shared(0);
    let bucket = server.unique_bucket("failed-stream");
    let s = store(server, &bucket, "repo").await;
    let good = pieces(&random(36 * MIB), MIB).into_iter().map(Ok);
    let failure = StoreError::Other {
        store: "source".into(),
        key: "file".into(),
        detail: "the disk went away".into(),
    };
    let body = futures::stream::iter(good.chain([Err(failure)])).boxed();
    let err = s
        .put_stream("data/56/broken", 64 * MIB as u64, body, PutMode::Overwrite)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("the disk went away"), "{err}");
    assert!(s.head("data/56/broken").await.unwrap_err().is_not_found());
    assert!(list_all(&s, "").await.unwrap().is_empty());
    assert_eq!(pending_uploads(server, &bucket).await, 0, "upload aborted");

    // A stream shorter than announced is refused too.
    let body = futures::stream::iter(pieces(&random(33 * MIB), MIB).into_iter().map(Ok)).boxed();
    let err = s
        .put_stream("data/56/short", 40 * MIB as u64, body, PutMode::Overwrite)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("not 41943040"), "{err}");
    assert!(s.head("data/56/short").await.unwrap_err().is_not_found());
    assert_eq!(pending_uploads(server, &bucket).await, 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn wrong_secret_is_permission_denied() {
    let server = Seaweed::shared(0);
    let bucket = server.unique_bucket("wrong-secret");
    let mut cfg = config(server, &bucket, "repo");
    cfg.credentials = S3Credentials::Static {
        access_key_id: server.access_key.clone(),
        secret_access_key: "not-the-secret".into(),
        session_token: None,
    };
    let s = S3Store::connect(cfg).await.unwrap();
    for err in [
        s.put("config", Bytes::from_static(b"x"), PutMode::Overwrite)
            .await
            .unwrap_err(),
        s.get("config").await.unwrap_err(),
        // HEAD answers carry no error code: the status alone must do.
        s.head("config").await.map(|_| ()).unwrap_err(),
        s.list_page("", None).await.map(|_| ()).unwrap_err(),
    ] {
        match &err {
            StoreError::PermissionDenied { detail, .. } => {
                assert!(detail.contains("credentials were refused"), "{detail}");
                assert!(detail.contains(&server.endpoint), "{detail}");
            }
            other => panic!("expected PermissionDenied, got {other:?}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn stopped_server_is_transient_and_recovers() {
    let server = Seaweed::start();
    let bucket = server.unique_bucket("outage");
    let s = store(&server, &bucket, "repo").await;
    s.put("index/01", Bytes::from_static(b"kept"), PutMode::Overwrite)
        .await
        .unwrap();
    server.stop();
    for err in [
        s.get("index/01").await.unwrap_err(),
        s.put("index/02", Bytes::from_static(b"x"), PutMode::CreateOnly)
            .await
            .unwrap_err(),
        s.list_page("", None).await.map(|_| ()).unwrap_err(),
    ] {
        assert!(err.is_transient(), "{err:?}");
    }
    server.restart();
    assert_eq!(s.get("index/01").await.unwrap(), b"kept");
}

#[tokio::test(flavor = "multi_thread")]
async fn object_lock_retention_and_storage_class_are_set() {
    let server = Seaweed::shared(0);
    let bucket = server.unique_locked_bucket("object-lock");
    let mut cfg = config(server, &bucket, "repo");
    cfg.object_lock = Some(ObjectLockRetention {
        mode: ObjectLockMode::Governance,
        days: 3,
    });
    cfg.storage_class = Some("STANDARD_IA".into());
    let s = S3Store::connect(cfg).await.unwrap();
    s.put(
        "snapshots/aa",
        Bytes::from_static(b"keep me"),
        PutMode::CreateOnly,
    )
    .await
    .unwrap();
    s.put(
        "data/bb/big",
        Bytes::from(random(33 * MIB)),
        PutMode::CreateOnly,
    )
    .await
    .unwrap();
    let client = server.client();
    let three_days = SystemTime::now() + Duration::from_secs(3 * 86_400);
    for key in ["repo/snapshots/aa", "repo/data/bb/big"] {
        let out = client
            .get_object_retention()
            .bucket(&bucket)
            .key(key)
            .send()
            .await
            .unwrap();
        let retention = out.retention().expect("a retention");
        assert_eq!(
            retention.mode(),
            Some(&aws_sdk_s3::types::ObjectLockRetentionMode::Governance),
            "{key}"
        );
        let until = SystemTime::try_from(*retention.retain_until_date().unwrap()).unwrap();
        let off = until
            .duration_since(three_days)
            .unwrap_or_else(|e| e.duration());
        assert!(
            off < Duration::from_secs(600),
            "{key}: retained until {until:?}"
        );
        let head = client
            .head_object()
            .bucket(&bucket)
            .key(key)
            .send()
            .await
            .unwrap();
        assert_eq!(
            head.storage_class(),
            Some(&aws_sdk_s3::types::StorageClass::StandardIa),
            "{key}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn aws_cli_reads_what_the_store_wrote() {
    let server = Seaweed::shared(0);
    let bucket = server.unique_bucket("aws-cli");
    let s = store(server, &bucket, "backups/host1").await;
    s.put(
        "config",
        Bytes::from_static(b"{\"version\":1}"),
        PutMode::CreateOnly,
    )
    .await
    .unwrap();
    s.put(
        "data/ab/abcdef",
        Bytes::from(random(1000)),
        PutMode::Overwrite,
    )
    .await
    .unwrap();
    s.put(
        "snapshots/0123",
        Bytes::from_static(b"snap"),
        PutMode::Overwrite,
    )
    .await
    .unwrap();
    let aws = |args: Vec<String>| {
        let output = std::process::Command::new(servers::program("aws"))
            .arg("--endpoint-url")
            .arg(&server.endpoint)
            .args(&args)
            .env("AWS_ACCESS_KEY_ID", &server.access_key)
            .env("AWS_SECRET_ACCESS_KEY", &server.secret_key)
            .env("AWS_DEFAULT_REGION", "us-east-1")
            .env_remove("AWS_PROFILE")
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "aws {args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).unwrap()
    };
    let prefix = format!("s3://{bucket}/backups/host1/");
    let (listing, config) = tokio::task::spawn_blocking(move || {
        let listing = aws(vec![
            "s3".into(),
            "ls".into(),
            "--recursive".into(),
            prefix.clone(),
        ]);
        let config = aws(vec![
            "s3".into(),
            "cp".into(),
            format!("{prefix}config"),
            "-".into(),
        ]);
        (listing, config)
    })
    .await
    .unwrap();
    let mut names: Vec<&str> = listing
        .lines()
        .filter_map(|line| line.split_whitespace().last())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "backups/host1/config",
            "backups/host1/data/ab/abcdef",
            "backups/host1/snapshots/0123"
        ],
        "{listing}"
    );
    assert!(
        listing.contains(" 1000 backups/host1/data/ab/abcdef"),
        "{listing}"
    );
    assert_eq!(config, "{\"version\":1}");
}

#[tokio::test]
async fn describe_names_the_place_and_debug_hides_the_secret() {
    let cfg = S3Config {
        endpoint: Some("http://127.0.0.1:9/".into()),
        bucket: "bkt".into(),
        prefix: "a/b".into(),
        region: None,
        credentials: S3Credentials::Static {
            access_key_id: "AKIDEXAMPLE".into(),
            secret_access_key: "wJalrXUtnFEMI".into(),
            session_token: Some("token-value".into()),
        },
        storage_class: None,
        sse_kms_key_id: None,
        object_lock: None,
    };
    let printed = format!("{cfg:?}");
    assert!(printed.contains("AKIDEXAMPLE"), "{printed}");
    assert!(
        !printed.contains("wJalrXUtnFEMI") && !printed.contains("token-value"),
        "{printed}"
    );
    let s = S3Store::connect(cfg.clone()).await.unwrap();
    assert_eq!(s.describe(), "s3:http://127.0.0.1:9/bkt/a/b");
    assert!(!format!("{s:?}").contains("wJalrXUtnFEMI"));

    let aws = S3Config {
        endpoint: None,
        region: Some("eu-west-1".into()),
        prefix: String::new(),
        ..cfg
    };
    // Unless the environment names an endpoint, this is AWS itself.
    if std::env::var_os("AWS_ENDPOINT_URL").is_none()
        && std::env::var_os("AWS_ENDPOINT_URL_S3").is_none()
    {
        assert_eq!(S3Store::connect(aws).await.unwrap().describe(), "s3://bkt");
    }
}

/// A server without conditional writes, as some S3-compatible stores are: it answers 501
/// to `If-None-Match` and keeps object sizes in memory. Records each request it sees.
async fn server_without_conditional_writes() -> (String, Arc<Mutex<Vec<String>>>) {
    use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let objects = Arc::new(Mutex::new(HashMap::<String, usize>::new()));
    let log = seen.clone();
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            let (seen, objects) = (log.clone(), objects.clone());
            tokio::spawn(async move {
                let mut socket = BufReader::new(socket);
                let mut line = String::new();
                while socket.read_line(&mut line).await.unwrap_or(0) > 0 {
                    let mut words = line.split_whitespace();
                    let method = words.next().unwrap_or_default().to_string();
                    let path = words.next().unwrap_or_default();
                    let path = path.split('?').next().unwrap_or_default().to_string();
                    let (mut length, mut conditional) = (0, false);
                    loop {
                        line.clear();
                        socket.read_line(&mut line).await.unwrap();
                        let Some((name, value)) = line.trim_end().split_once(':') else {
                            break;
                        };
                        match name.to_ascii_lowercase().as_str() {
                            "content-length" => length = value.trim().parse().unwrap(),
                            "if-none-match" => conditional = true,
                            _ => {}
                        }
                    }
                    let mut body = vec![0; length];
                    socket.read_exact(&mut body).await.unwrap();
                    let flag = if conditional { " if-none-match" } else { "" };
                    seen.lock().unwrap().push(format!("{method} {path}{flag}"));
                    let refusal = "<Error><Code>NotImplemented</Code>\
                                   <Message>A header you provided implies functionality \
                                   that is not implemented</Message></Error>";
                    let size = objects.lock().unwrap().get(&path).copied();
                    let (status, length, payload) = match (method.as_str(), size) {
                        ("PUT", _) if conditional => {
                            ("501 Not Implemented", refusal.len(), refusal)
                        }
                        ("PUT", _) => {
                            objects.lock().unwrap().insert(path, body.len());
                            ("200 OK", 0, "")
                        }
                        ("HEAD", Some(size)) => ("200 OK", size, ""),
                        _ => ("404 Not Found", 0, ""),
                    };
                    let answer =
                        format!("HTTP/1.1 {status}\r\ncontent-length: {length}\r\n\r\n{payload}");
                    if socket.get_mut().write_all(answer.as_bytes()).await.is_err() {
                        return;
                    }
                    line.clear();
                }
            });
        }
    });
    (endpoint, seen)
}

#[tokio::test(flavor = "multi_thread")]
async fn create_only_falls_back_to_head_without_conditional_writes() {
    let (endpoint, seen) = server_without_conditional_writes().await;
    let s = S3Store::connect(config_at(&endpoint, "key", "secret", "bkt", "repo"))
        .await
        .unwrap();
    s.put("locks/01", Bytes::from_static(b"one"), PutMode::CreateOnly)
        .await
        .unwrap();
    let err = s
        .put("locks/01", Bytes::from_static(b"two"), PutMode::CreateOnly)
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::AlreadyExists { .. }), "{err}");
    s.put(
        "locks/02",
        Bytes::from_static(b"three"),
        PutMode::CreateOnly,
    )
    .await
    .unwrap();
    assert_eq!(
        *seen.lock().unwrap(),
        [
            "PUT /bkt/repo/locks/01 if-none-match",
            "HEAD /bkt/repo/locks/01",
            "PUT /bkt/repo/locks/01",
            // The 501 is remembered: no more conditional attempts.
            "HEAD /bkt/repo/locks/01",
            "HEAD /bkt/repo/locks/02",
            "PUT /bkt/repo/locks/02",
        ]
    );
}

/// HTTPS needs the test CA trusted from the start of the process (`SSL_CERT_FILE` is read
/// once), so this runs the test below in a child process of this binary.
#[tokio::test(flavor = "multi_thread")]
async fn https_endpoint_with_a_private_ca() {
    let server = Seaweed::shared(0);
    let bucket = server.unique_bucket("https");
    let mut child = std::process::Command::new(std::env::current_exe().unwrap());
    child
        .args(["https_child", "--exact", "--ignored", "--nocapture"])
        .env("SSL_CERT_FILE", &servers::tls::test_ca().ca_cert)
        .env("FIREDRILL_TEST_HTTPS_ENDPOINT", &server.https_endpoint)
        .env("FIREDRILL_TEST_BUCKET", &bucket)
        .env(
            "FIREDRILL_TEST_KEYS",
            format!("{}:{}", server.access_key, server.secret_key),
        );
    let output = tokio::task::spawn_blocking(move || child.output().unwrap())
        .await
        .unwrap();
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success() && text.contains("1 passed"),
        "{text}"
    );
    let plain = store(server, &bucket, "repo").await;
    assert_eq!(plain.get("config").await.unwrap(), b"over tls");
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "run by https_endpoint_with_a_private_ca"]
async fn https_child() {
    let (Ok(endpoint), Ok(bucket), Ok(keys)) = (
        std::env::var("FIREDRILL_TEST_HTTPS_ENDPOINT"),
        std::env::var("FIREDRILL_TEST_BUCKET"),
        std::env::var("FIREDRILL_TEST_KEYS"),
    ) else {
        return;
    };
    let (access, secret) = keys.split_once(':').unwrap();
    let s = S3Store::connect(config_at(&endpoint, access, secret, &bucket, "repo"))
        .await
        .unwrap();
    s.put(
        "config",
        Bytes::from_static(b"over tls"),
        PutMode::CreateOnly,
    )
    .await
    .unwrap();
    assert_eq!(s.get("config").await.unwrap(), b"over tls");
}
