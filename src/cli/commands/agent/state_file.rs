//! The job state on disk and the local locks around it. A lock file per job keeps two
//! schedulers (an agent and a run-due, or two overlapping run-dues) from running the same
//! job at once; the state file is read, changed and replaced under its own lock. These
//! are advisory file locks: the kernel drops them when the holder dies.

use firedrill::agent::state::AgentState;
use firedrill::{Error, Result};
use std::fs::{File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};

#[derive(Clone, Debug)]
pub struct StateFile {
    dir: PathBuf,
    path: PathBuf,
}

fn open_lock_file(path: &Path) -> Result<File> {
    OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .map_err(|e| {
            Error::Other(format!(
                "cannot open the lock file {}: {e}; check that the state directory is writable",
                path.display()
            ))
        })
}

/// A lock taken with `try_lock`; `None` when another process holds it.
fn try_lock(path: &Path) -> Result<Option<File>> {
    let file = open_lock_file(path)?;
    match file.try_lock() {
        Ok(()) => Ok(Some(file)),
        Err(TryLockError::WouldBlock) => Ok(None),
        Err(TryLockError::Error(e)) => {
            Err(Error::Other(format!("cannot lock {}: {e}", path.display())))
        }
    }
}

impl StateFile {
    pub fn new(dir: &Path, path: PathBuf) -> Result<StateFile> {
        std::fs::create_dir_all(dir.join("locks")).map_err(|e| {
            Error::Other(format!(
                "cannot create the state directory {}: {e}",
                dir.display()
            ))
        })?;
        Ok(StateFile {
            dir: dir.to_path_buf(),
            path,
        })
    }

    pub fn read(&self) -> Result<AgentState> {
        AgentState::load(&self.path)
    }

    /// Reads, changes and writes the state while holding its lock; returns the new state.
    /// Blocking: call it off the async workers.
    pub fn update(&self, change: impl FnOnce(&mut AgentState)) -> Result<AgentState> {
        let lock_path = self.dir.join("locks").join("state.lock");
        let lock = open_lock_file(&lock_path)?;
        lock.lock()
            .map_err(|e| Error::Other(format!("cannot lock {}: {e}", lock_path.display())))?;
        let mut state = AgentState::load(&self.path)?;
        change(&mut state);
        state.save(&self.path)?;
        Ok(state)
    }

    /// [`StateFile::update`] on a blocking thread.
    pub async fn update_async(
        &self,
        change: impl FnOnce(&mut AgentState) + Send + 'static,
    ) -> Result<AgentState> {
        let this = self.clone();
        tokio::task::spawn_blocking(move || this.update(change))
            .await
            .map_err(|e| Error::Other(format!("the state update stopped: {e}")))?
    }

    /// [`StateFile::read`] on a blocking thread.
    pub async fn read_async(&self) -> Result<AgentState> {
        let this = self.clone();
        tokio::task::spawn_blocking(move || this.read())
            .await
            .map_err(|e| Error::Other(format!("the state read stopped: {e}")))?
    }

    /// The right to run job `name`, held until dropped; `None` if another scheduler is
    /// running it now.
    pub fn try_job_lock(&self, name: &str) -> Result<Option<File>> {
        try_lock(&self.dir.join("locks").join(format!("job-{name}.lock")))
    }

    /// Held by a running agent for its whole life: one agent per state directory, and
    /// run-due refuses to run beside it.
    pub fn try_agent_lock(&self) -> Result<Option<File>> {
        try_lock(&self.dir.join("locks").join("agent.lock"))
    }
}
