//! Filesystem steps of a restore that must never follow a symlink out of the target.

use crate::repo::tree::{Node, NodeKind};
use std::fs;
use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

/// Creates `target/rel` directory by directory. An existing component that is not a
/// real directory (a symlink planted in the target, say) is refused, not followed.
pub fn create_dir_within(target: &Path, rel: &Path) -> io::Result<PathBuf> {
    let mut path = target.to_path_buf();
    for component in rel.components() {
        path.push(component);
        match fs::symlink_metadata(&path) {
            Ok(meta) if meta.is_dir() => {}
            Ok(meta) if meta.file_type().is_symlink() => {
                return Err(io::Error::other(format!(
                    "{} is a symlink in the restore target; refusing to restore through it",
                    path.display()
                )));
            }
            Ok(_) => {
                return Err(io::Error::new(
                    io::ErrorKind::AlreadyExists,
                    format!("{} exists and is not a directory", path.display()),
                ));
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => match fs::create_dir(&path) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(e),
            },
            Err(e) => return Err(e),
        }
    }
    Ok(path)
}

/// A temporary name beside the final one: the final name appears only when complete.
pub fn temp_path_for(final_path: &Path) -> PathBuf {
    let mut nonce = [0u8; 6];
    let _ = getrandom::fill(&mut nonce);
    let name = final_path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let short: String = name.chars().take(40).collect();
    final_path.with_file_name(format!(".firedrill-{}-{short}", hex::encode(nonce)))
}

pub fn system_time(secs: i64, nsec: u32) -> SystemTime {
    let nanos = Duration::from_nanos(u64::from(nsec.min(999_999_999)));
    if secs >= 0 {
        SystemTime::UNIX_EPOCH + Duration::from_secs(secs as u64) + nanos
    } else {
        SystemTime::UNIX_EPOCH - Duration::from_secs(secs.unsigned_abs()) + nanos
    }
}

/// Mode and mtime (and owner, when running as root) from the snapshot.
pub fn apply_metadata(path: &Path, node: &Node, is_root: bool) -> io::Result<()> {
    if is_root {
        std::os::unix::fs::lchown(path, Some(node.uid), Some(node.gid))?;
    }
    fs::set_permissions(path, fs::Permissions::from_mode(node.mode & 0o7777))?;
    set_mtime(path, node.mtime, node.mtime_nsec)
}

/// By path, without opening the file (a read-only file or directory needs no open).
fn set_mtime(path: &Path, secs: i64, nsec: u32) -> io::Result<()> {
    use std::os::unix::ffi::OsStrExt;
    let c_path = std::ffi::CString::new(path.as_os_str().as_bytes()).map_err(io::Error::other)?;
    let times = [
        libc::timespec {
            tv_sec: 0,
            tv_nsec: libc::UTIME_OMIT,
        },
        libc::timespec {
            tv_sec: secs,
            tv_nsec: i64::from(nsec.min(999_999_999)),
        },
    ];
    // SAFETY: c_path is NUL-terminated and times points to two timespecs.
    let rc = unsafe { libc::utimensat(libc::AT_FDCWD, c_path.as_ptr(), times.as_ptr(), 0) };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// The last steps of a restore: symlinks (last, so nothing written before can pass
/// through one), then directory metadata deepest first (writing inside a directory
/// changes its mtime). Returns how many symlinks were made and what could not be.
pub fn finish_tree(
    target: &Path,
    symlinks: &[(PathBuf, Node)],
    dirs: &[(PathBuf, Node)],
    is_root: bool,
) -> (u64, Vec<(String, String)>) {
    let mut made = 0;
    let mut problems = Vec::new();
    for (rel, node) in symlinks {
        let NodeKind::Symlink { target: link } = &node.kind else {
            continue;
        };
        let final_path = target.join(rel);
        let temp = temp_path_for(&final_path);
        let result = std::os::unix::fs::symlink(link.to_os(), &temp).and_then(|()| {
            if is_root {
                std::os::unix::fs::lchown(&temp, Some(node.uid), Some(node.gid))?;
            }
            fs::rename(&temp, &final_path)
        });
        match result {
            Ok(()) => made += 1,
            Err(e) => {
                let _ = fs::remove_file(&temp);
                problems.push((
                    Path::new("/").join(rel).display().to_string(),
                    format!("cannot create symlink: {e}"),
                ));
            }
        }
    }
    for (rel, node) in dirs.iter().rev() {
        let _ = apply_metadata(&target.join(rel), node, is_root);
    }
    (made, problems)
}

pub fn running_as_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_to_create_through_a_planted_symlink() {
        let dir = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        let target = dir.path().join("target");
        fs::create_dir(&target).unwrap();
        std::os::unix::fs::symlink(outside.path(), target.join("etc")).unwrap();
        let err = create_dir_within(&target, Path::new("etc/cron.d")).unwrap_err();
        assert!(err.to_string().contains("symlink"), "{err}");
        assert!(!outside.path().join("cron.d").exists());
        assert!(
            create_dir_within(&target, Path::new("a/b/c"))
                .unwrap()
                .is_dir()
        );
    }
}
