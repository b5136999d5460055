//! SeaweedFS instances (S3), one per "region": `weed server` with every port on
//! 127.0.0.1, an identities file with one static key, and an HTTPS listener whose
//! certificate comes from the test CA.

use super::{free_port_range, kill_at_exit, kill_now, program, remove_at_exit, tls};
use aws_sdk_s3::Client;
use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

const ACCESS_KEY: &str = "firedrill-test";
const SECRET_KEY: &str = "firedrill-test-secret";
/// Where readiness is proved with a real write.
const READY_BUCKET: &str = "firedrill-ready";

pub struct Seaweed {
    /// `http://127.0.0.1:PORT`
    pub endpoint: String,
    /// `https://127.0.0.1:PORT`, with a certificate from [`tls::test_ca`].
    pub https_endpoint: String,
    pub access_key: String,
    pub secret_key: String,
    dir: PathBuf,
    base: u16,
    process: Mutex<Option<Child>>,
}

impl Seaweed {
    /// Instance `n` of this test process, started on first use; 0 and 1 stand for two regions.
    pub fn shared(n: usize) -> &'static Seaweed {
        static SHARED: [OnceLock<Seaweed>; 4] = [const { OnceLock::new() }; 4];
        SHARED
            .get(n)
            .expect("at most 4 shared SeaweedFS instances")
            .get_or_init(Seaweed::start)
    }

    /// A private instance, killed when dropped (and at exit, should the test panic).
    pub fn start() -> Seaweed {
        let base = free_port_range(16);
        let dir =
            std::env::temp_dir().join(format!("firedrill-seaweed-{}-{base}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        remove_at_exit(dir.clone());
        for port in grpc_ports(base) {
            for role in ["master", "volume", "filer", "s3"] {
                remove_at_exit(grpc_socket(role, port));
            }
        }
        std::fs::write(
            dir.join("identities.json"),
            serde_json::json!({"identities": [{
                "name": "test",
                "credentials": [{"accessKey": ACCESS_KEY, "secretKey": SECRET_KEY}],
                "actions": ["Admin", "Read", "List", "Tagging", "Write"],
            }]})
            .to_string(),
        )
        .unwrap();
        let server = Seaweed {
            endpoint: format!("http://127.0.0.1:{}", base + 4),
            https_endpoint: format!("https://127.0.0.1:{}", base + 5),
            access_key: ACCESS_KEY.into(),
            secret_key: SECRET_KEY.into(),
            dir,
            base,
            process: Mutex::new(None),
        };
        server.launch();
        server
    }

    /// Kills the server (SIGKILL) and waits for it; its data stays for [`Seaweed::restart`].
    pub fn stop(&self) {
        if let Some(child) = self.process.lock().unwrap().take() {
            kill_now(child.id());
        }
    }

    /// Starts the server again on the same ports and data, and waits until it is ready.
    pub fn restart(&self) {
        self.stop();
        self.launch();
    }

    /// A client with the static test key (a new one per call: a client's connections
    /// belong to the runtime that made them).
    pub fn client(&self) -> Client {
        firedrill::tls::install_crypto_provider();
        let http = aws_smithy_http_client::Builder::new()
            .tls_provider(aws_smithy_http_client::tls::Provider::rustls(
                aws_smithy_http_client::tls::rustls_provider::CryptoMode::Ring,
            ))
            .build_https();
        let config = aws_sdk_s3::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .http_client(http)
            .region(Region::from_static("us-east-1"))
            .endpoint_url(&self.endpoint)
            .force_path_style(true)
            .credentials_provider(Credentials::new(
                &self.access_key,
                &self.secret_key,
                None,
                None,
                "seaweed-test",
            ))
            .timeout_config(
                aws_sdk_s3::config::timeout::TimeoutConfig::builder()
                    .operation_timeout(Duration::from_secs(10))
                    .build(),
            )
            .build();
        Client::from_conf(config)
    }

    pub fn create_bucket(&self, name: &str) {
        self.make_bucket(name, false);
    }

    /// A fresh bucket named after `hint`.
    pub fn unique_bucket(&self, hint: &str) -> String {
        let name = unique_name(hint);
        self.create_bucket(&name);
        name
    }

    /// A fresh bucket with Object Lock enabled (and so versioning).
    pub fn unique_locked_bucket(&self, hint: &str) -> String {
        let name = unique_name(hint);
        self.make_bucket(&name, true);
        name
    }

    pub fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(self.dir.join("weed.log")).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    }

    fn make_bucket(&self, name: &str, object_lock: bool) {
        let client = self.client();
        block_on(async {
            client
                .create_bucket()
                .bucket(name)
                .object_lock_enabled_for_bucket(object_lock)
                .send()
                .await
                .map(|_| ())
        })
        .unwrap_or_else(|e| {
            panic!(
                "creating bucket {name} at {}: {}",
                self.endpoint,
                aws_sdk_s3::error::DisplayErrorContext(e)
            )
        });
    }

    fn launch(&self) {
        let b = self.base;
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join("weed.log"))
            .unwrap();
        let ca = tls::test_ca();
        let dir = self.dir.display();
        let args = [
            format!("-dir={dir}"),
            "-ip=127.0.0.1".into(),
            "-ip.bind=127.0.0.1".into(),
            format!("-master.port={}", b + 1),
            format!("-master.port.grpc={}", b + 11),
            "-master.volumeSizeLimitMB=64".into(),
            "-master.telemetry=false".into(),
            "-master.resumeState=false".into(),
            format!("-volume.port={}", b + 2),
            format!("-volume.port.grpc={}", b + 12),
            "-volume.max=200".into(),
            "-volume.preStopSeconds=0".into(),
            "-filer".into(),
            format!("-filer.port={}", b + 3),
            format!("-filer.port.grpc={}", b + 13),
            format!("-filer.localSocket={dir}/filer.sock"),
            "-s3".into(),
            format!("-s3.port={}", b + 4),
            format!("-s3.port.grpc={}", b + 14),
            format!("-s3.port.https={}", b + 5),
            format!("-s3.cert.file={}", ca.server_cert.display()),
            format!("-s3.key.file={}", ca.server_key.display()),
            format!("-s3.localSocket={dir}/s3.sock"),
            "-s3.port.iceberg=0".into(),
            "-s3.port.lance=0".into(),
            "-s3.allowDeleteBucketNotEmpty=false".into(),
            format!("-s3.config={dir}/identities.json"),
        ];
        let child = Command::new(program("weed"))
            .arg("server")
            .args(&args)
            // Otherwise writes to the third bucket fail: "No writable volumes".
            .env("WEED_MASTER_VOLUME_GROWTH_COPY_1", "1")
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("starting weed server");
        kill_at_exit(child.id());
        *self.process.lock().unwrap() = Some(child);
        // The port answers well before writes work: wait for a real PUT.
        let last = block_on(async {
            let client = self.client();
            let deadline = Instant::now() + Duration::from_secs(30);
            loop {
                match probe(&client).await {
                    Ok(()) => return None,
                    Err(e) if Instant::now() > deadline => return Some(e),
                    Err(_) => tokio::time::sleep(Duration::from_millis(250)).await,
                }
            }
        });
        let Some(last) = last else { return };
        panic!(
            "SeaweedFS at {} was not ready after 30 s (last error: {last}); log {}:\n{}",
            self.endpoint,
            self.dir.join("weed.log").display(),
            self.log_tail()
        );
    }
}

impl Drop for Seaweed {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
        for port in grpc_ports(self.base) {
            for role in ["master", "volume", "filer", "s3"] {
                let _ = std::fs::remove_file(grpc_socket(role, port));
            }
        }
    }
}

fn grpc_ports(base: u16) -> [u16; 4] {
    [base + 11, base + 12, base + 13, base + 14]
}

fn grpc_socket(role: &str, port: u16) -> PathBuf {
    PathBuf::from(format!("/tmp/seaweedfs-{role}-grpc-{port}.sock"))
}

async fn probe(client: &Client) -> Result<(), String> {
    let text = |e| aws_sdk_s3::error::DisplayErrorContext(e).to_string();
    match client.create_bucket().bucket(READY_BUCKET).send().await {
        Ok(_) => {}
        // A restart finds the bucket from the first start.
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_bucket_already_owned_by_you()) => {}
        Err(e) => return Err(text(e)),
    }
    client
        .put_object()
        .bucket(READY_BUCKET)
        .key("probe")
        .body(b"ready".to_vec().into())
        .send()
        .await
        .map(|_| ())
        .map_err(|e| aws_sdk_s3::error::DisplayErrorContext(e).to_string())
}

/// Lowercase letters, digits and dashes, unique in this process, at most 63 characters.
fn unique_name(hint: &str) -> String {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let clean: String = hint
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .take(40)
        .collect();
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    format!("{}-{}-{n}", clean.trim_matches('-'), std::process::id())
}

/// Runs a future to completion on a runtime of its own, in a thread of its own, so
/// it also works when called from inside a test's runtime.
fn block_on<T: Send>(future: impl std::future::Future<Output = T> + Send) -> T {
    std::thread::scope(|scope| {
        scope
            .spawn(|| {
                tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap()
                    .block_on(future)
            })
            .join()
            .unwrap()
    })
}
