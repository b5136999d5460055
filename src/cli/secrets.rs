//! Where secrets come from: environment, a file, or a prompt on the terminal —
//! never the command line, where other users can read them in the process list.

use firedrill::crypto::{SlotSecret, read_key_file};
use firedrill::{Error, Result};
use std::io::IsTerminal;
use std::path::Path;

pub struct SecretSources<'a> {
    pub key_file: Option<&'a Path>,
    pub password_env: &'a str,
    pub password_file_env: &'a str,
    /// From a config file: a file holding the passphrase.
    pub password_file: Option<&'a Path>,
}

fn read_password_file(path: &Path) -> Result<String> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        Error::Usage(format!(
            "cannot read the passphrase file {}: {e}",
            path.display()
        ))
    })?;
    let pass = text.strip_suffix('\n').unwrap_or(&text);
    let pass = pass.strip_suffix('\r').unwrap_or(pass);
    if pass.is_empty() {
        return Err(Error::Usage(format!(
            "the passphrase file {} is empty",
            path.display()
        )));
    }
    Ok(pass.to_string())
}

pub fn key_file_secret(path: &Path) -> Result<SlotSecret> {
    read_key_file(path)
        .map(SlotSecret::KeyFile)
        .map_err(|e| Error::Usage(format!("cannot use key file {}: {e}", path.display())))
}

/// The secret that opens (or will create) the repository.
pub fn existing_secret(sources: &SecretSources) -> Result<SlotSecret> {
    if let Some(path) = sources.key_file {
        return key_file_secret(path);
    }
    passphrase(sources, "Repository passphrase: ", false).map(SlotSecret::Passphrase)
}

pub fn passphrase(sources: &SecretSources, prompt: &str, confirm: bool) -> Result<String> {
    if let Ok(pass) = std::env::var(sources.password_env) {
        if pass.is_empty() {
            return Err(Error::Usage(format!(
                "{} is set but empty",
                sources.password_env
            )));
        }
        return Ok(pass);
    }
    if let Ok(file) = std::env::var(sources.password_file_env) {
        return read_password_file(Path::new(&file));
    }
    if let Some(file) = sources.password_file {
        return read_password_file(file);
    }
    if !std::io::stdin().is_terminal() {
        return Err(Error::Usage(format!(
            "no passphrase: set {} or {} (or give a key file), or run on a terminal to be asked",
            sources.password_env, sources.password_file_env
        )));
    }
    let first = rpassword::prompt_password(prompt)
        .map_err(|e| Error::Usage(format!("reading the passphrase: {e}")))?;
    if first.is_empty() {
        return Err(Error::Usage("empty passphrase".into()));
    }
    if confirm {
        let again = rpassword::prompt_password("Repeat it: ")
            .map_err(|e| Error::Usage(format!("reading the passphrase: {e}")))?;
        if again != first {
            return Err(Error::Usage("the passphrases do not match".into()));
        }
    }
    Ok(first)
}
