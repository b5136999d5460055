use crate::cli::Context;
use crate::cli::args::{InitArgs, KeyCommand};
use crate::cli::output;
use firedrill::crypto::{Id, KdfParams, SlotSecret, write_new_key_file};
use firedrill::error::exit;
use firedrill::repo::config::ChunkerParams;
use firedrill::repo::{InitOptions, Repository};
use firedrill::{Error, Result};
use serde_json::json;
use std::path::Path;

fn kdf(memory_mib: u32, iterations: u32) -> KdfParams {
    KdfParams {
        memory_kib: memory_mib.saturating_mul(1024),
        iterations,
        parallelism: 1,
    }
}

fn new_key_file(path: &Path) -> Result<SlotSecret> {
    write_new_key_file(path)
        .map(SlotSecret::KeyFile)
        .map_err(|e| Error::Usage(format!("cannot create key file {}: {e}", path.display())))
}

pub async fn init(ctx: &Context, args: &InitArgs) -> Result<i32> {
    let store = ctx.store().await?;
    let avg = args.chunk_avg_kib.saturating_mul(1024);
    let options = InitOptions {
        chunker: ChunkerParams {
            min_size: avg / 4,
            avg_size: avg,
            max_size: avg.saturating_mul(4),
        },
        pack_size: args.pack_size_mib.saturating_mul(1 << 20),
        compression_level: args.compression,
        kdf: kdf(args.kdf_memory_mib, args.kdf_iterations),
    };
    options.chunker.validate()?;
    if store
        .head(firedrill::repo::config::CONFIG_KEY)
        .await
        .is_ok()
    {
        return Err(Error::Usage(format!(
            "{} already holds a repository",
            store.describe()
        )));
    }
    let secret = match &args.new_key_file {
        Some(path) => new_key_file(path)?,
        None => match ctx.key_file() {
            Some(path) => super::super::secrets::key_file_secret(&path)?,
            None => SlotSecret::Passphrase(ctx.new_or_existing_passphrase()?),
        },
    };
    let repo = match Repository::init(store, &secret, &options).await {
        Ok(repo) => repo,
        Err(e) => {
            // A key file that opens nothing next to a real repository only misleads.
            if let Some(path) = &args.new_key_file {
                let _ = std::fs::remove_file(path);
            }
            return Err(e);
        }
    };
    if ctx.cli.json {
        output::json(
            &json!({ "repository": repo.describe(), "id": repo.config().id, "config": repo.config() }),
        );
    } else {
        println!(
            "created repository {} at {}",
            repo.config().id.short(),
            repo.describe()
        );
        if let Some(path) = &args.new_key_file {
            println!(
                "key file {} opens it: keep a copy somewhere safe, without it the data is lost",
                path.display()
            );
        }
    }
    Ok(exit::SUCCESS)
}

impl Context {
    /// At init, FIREDRILL_PASSWORD (or the usual sources) is the new passphrase.
    fn new_or_existing_passphrase(&self) -> Result<String> {
        match self.secret()? {
            SlotSecret::Passphrase(p) => Ok(p),
            SlotSecret::KeyFile(_) => Err(Error::Usage("expected a passphrase".into())),
        }
    }
}

async fn resolve_slot(repo: &Repository, prefix: &str) -> Result<Id> {
    let matches: Vec<Id> = repo
        .key_slots()
        .await?
        .into_iter()
        .map(|(id, _)| id)
        .filter(|id| id.to_hex().starts_with(&prefix.to_ascii_lowercase()))
        .collect();
    match matches.as_slice() {
        [id] if !prefix.is_empty() => Ok(*id),
        [] => Err(Error::Usage(format!(
            "no key slot matches {prefix:?}; see `firedrill key list`"
        ))),
        _ => Err(Error::Usage(format!(
            "{prefix:?} matches {} key slots; give more digits",
            matches.len()
        ))),
    }
}

pub async fn key(ctx: &Context, cmd: &KeyCommand) -> Result<i32> {
    let repo = ctx.open().await?;
    match cmd {
        KeyCommand::Add {
            new_key_file: path,
            kdf_memory_mib,
            kdf_iterations,
        } => {
            let secret = match path {
                Some(path) => new_key_file(path)?,
                None => SlotSecret::Passphrase(ctx.new_passphrase()?),
            };
            let id = repo
                .add_key_slot(&secret, kdf(*kdf_memory_mib, *kdf_iterations))
                .await?;
            if ctx.cli.json {
                output::json(&json!({ "added": id, "kind": secret.kind().to_string() }));
            } else {
                println!("added {} key slot {}", secret.kind(), id.short());
            }
        }
        KeyCommand::List => {
            let slots = repo.key_slots().await?;
            if ctx.cli.json {
                let list: Vec<_> = slots
                    .iter()
                    .map(|(id, s)| json!({ "id": id, "kind": s.kind.to_string(), "created": s.created, "host": s.host, "user": s.user, "current": *id == repo.slot_id() }))
                    .collect();
                output::json(&list);
            } else {
                println!("  {:<10} {:<11} {:<20} BY", "ID", "KIND", "CREATED");
                for (id, s) in &slots {
                    let mark = if *id == repo.slot_id() { "*" } else { "" };
                    println!(
                        "{:<2}{:<10} {:<11} {:<20} {}@{}",
                        mark,
                        id.short(),
                        s.kind.to_string(),
                        output::local_time(s.created),
                        s.user,
                        s.host
                    );
                }
            }
        }
        KeyCommand::Remove { id } => {
            let id = resolve_slot(&repo, id).await?;
            repo.remove_key_slot(&id).await?;
            if ctx.cli.json {
                output::json(&json!({ "removed": id }));
            } else {
                println!("removed key slot {}", id.short());
            }
        }
    }
    Ok(exit::SUCCESS)
}

pub async fn unlock(ctx: &Context, all: bool) -> Result<i32> {
    let repo = ctx.open().await?;
    let removed = repo.unlock(all).await?;
    if ctx.cli.json {
        output::json(&json!({ "removed": removed }));
    } else if removed.is_empty() {
        println!("no stale locks");
    } else {
        for lock in &removed {
            println!("removed {lock}");
        }
    }
    Ok(exit::SUCCESS)
}
