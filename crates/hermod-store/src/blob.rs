//! The blob store: immutable, content-addressed message bodies.

use std::future::Future;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::pin::Pin;

use sha2::{Digest, Sha256};

use crate::{Result, StoreError};

/// A blob's id: the lower-case hex SHA-256 of its bytes.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BlobId(String);

impl BlobId {
    pub fn of(data: &[u8]) -> BlobId {
        BlobId(hex::encode(Sha256::digest(data)))
    }

    /// From a finished hasher (for bodies hashed while they streamed in).
    pub fn from_hasher(h: Sha256) -> BlobId {
        BlobId(hex::encode(h.finalize()))
    }

    pub fn parse(s: &str) -> Option<BlobId> {
        (s.len() == 64
            && s.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)))
        .then(|| BlobId(s.into()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for BlobId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Where message bodies live. A `put` returns only once the blob is durable.
pub trait BlobStore: Send + Sync {
    /// Stores bytes; returns their id. Storing the same bytes twice keeps one copy.
    fn put<'a>(&'a self, data: &'a [u8]) -> BoxFuture<'a, Result<BlobId>>;
    /// Moves a spooled file whose id is already known into the store.
    fn put_file<'a>(&'a self, path: &'a Path, id: &'a BlobId) -> BoxFuture<'a, Result<()>>;
    fn get<'a>(&'a self, id: &'a BlobId) -> BoxFuture<'a, Result<Vec<u8>>>;
    fn exists<'a>(&'a self, id: &'a BlobId) -> BoxFuture<'a, Result<bool>>;
    fn delete<'a>(&'a self, id: &'a BlobId) -> BoxFuture<'a, Result<()>>;
}

/// Blobs as files under a directory, two levels of fan-out (`ab/cd/abcd...`).
#[derive(Debug, Clone)]
pub struct FsBlobStore {
    root: PathBuf,
}

fn io_err(what: &str, path: &Path, e: std::io::Error) -> StoreError {
    StoreError::Blob(format!("{what} {}: {e}", path.display()))
}

fn fsync_dir(dir: &Path) -> Result<()> {
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| io_err("cannot fsync directory", dir, e))
}

impl FsBlobStore {
    /// Opens (creating) the store; also creates its spool directory for incoming bodies.
    pub fn open(root: impl Into<PathBuf>) -> Result<FsBlobStore> {
        let root = root.into();
        for dir in [root.clone(), root.join("tmp")] {
            std::fs::create_dir_all(&dir).map_err(|e| io_err("cannot create", &dir, e))?;
        }
        Ok(FsBlobStore { root })
    }

    /// Removes spool files left by a crash (bodies that were never acknowledged). Call only
    /// before any session starts; returns how many were removed.
    pub fn sweep_spool(&self) -> Result<usize> {
        let dir = self.spool_dir();
        let entries = std::fs::read_dir(&dir).map_err(|e| io_err("cannot read", &dir, e))?;
        let mut removed = 0;
        for entry in entries.flatten() {
            if entry.file_type().is_ok_and(|t| t.is_file())
                && std::fs::remove_file(entry.path()).is_ok()
            {
                removed += 1;
            }
        }
        Ok(removed)
    }

    /// A directory on the same filesystem for spooling bodies before they are stored.
    pub fn spool_dir(&self) -> PathBuf {
        self.root.join("tmp")
    }

    pub fn path_of(&self, id: &BlobId) -> PathBuf {
        let s = id.as_str();
        self.root.join(&s[0..2]).join(&s[2..4]).join(s)
    }

    /// Renames `tmp` to the blob's place and makes both the file and the directory entry durable.
    fn install(&self, tmp: &Path, id: &BlobId) -> Result<()> {
        let dest = self.path_of(id);
        let dir = dest.parent().expect("blob paths have two parent levels");
        if dest.exists() {
            // Same content already durable: drop the copy.
            let _ = std::fs::remove_file(tmp);
            return Ok(());
        }
        let created = !dir.exists();
        std::fs::create_dir_all(dir).map_err(|e| io_err("cannot create", dir, e))?;
        std::fs::File::open(tmp)
            .and_then(|f| f.sync_all())
            .map_err(|e| io_err("cannot fsync", tmp, e))?;
        std::fs::rename(tmp, &dest).map_err(|e| io_err("cannot move blob to", &dest, e))?;
        fsync_dir(dir)?;
        if created {
            // New fan-out directories must be durable in their parents too.
            if let Some(parent) = dir.parent() {
                fsync_dir(parent)?;
                fsync_dir(&self.root)?;
            }
        }
        Ok(())
    }

    fn put_sync(&self, data: &[u8]) -> Result<BlobId> {
        let id = BlobId::of(data);
        if self.path_of(&id).exists() {
            return Ok(id);
        }
        let mut tmp = tempfile_in(&self.spool_dir())?;
        tmp.1
            .write_all(data)
            .map_err(|e| io_err("cannot write", &tmp.0, e))?;
        drop(tmp.1);
        self.install(&tmp.0, &id)?;
        Ok(id)
    }
}

/// A new uniquely named file in `dir`.
pub(crate) fn tempfile_in(dir: &Path) -> Result<(PathBuf, std::fs::File)> {
    for _ in 0..16 {
        let path = dir.join(format!("{:016x}", rand::random::<u64>()));
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
        {
            Ok(f) => return Ok((path, f)),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(io_err("cannot create", &path, e)),
        }
    }
    Err(StoreError::Blob(format!(
        "cannot create a temporary file in {}",
        dir.display()
    )))
}

fn blocking<'a, T: Send + 'static>(
    f: impl FnOnce() -> Result<T> + Send + 'static,
) -> BoxFuture<'a, Result<T>> {
    Box::pin(async move {
        tokio::task::spawn_blocking(f)
            .await
            .map_err(|e| StoreError::Blob(format!("blob task failed: {e}")))?
    })
}

impl BlobStore for FsBlobStore {
    fn put<'a>(&'a self, data: &'a [u8]) -> BoxFuture<'a, Result<BlobId>> {
        let this = self.clone();
        let data = data.to_vec();
        blocking(move || this.put_sync(&data))
    }

    fn put_file<'a>(&'a self, path: &'a Path, id: &'a BlobId) -> BoxFuture<'a, Result<()>> {
        let this = self.clone();
        let (path, id) = (path.to_path_buf(), id.clone());
        blocking(move || this.install(&path, &id))
    }

    fn get<'a>(&'a self, id: &'a BlobId) -> BoxFuture<'a, Result<Vec<u8>>> {
        let path = self.path_of(id);
        let id = id.clone();
        blocking(move || {
            std::fs::read(&path).map_err(|e| match e.kind() {
                std::io::ErrorKind::NotFound => StoreError::NotFound("blob", id.to_string()),
                _ => io_err("cannot read", &path, e),
            })
        })
    }

    fn exists<'a>(&'a self, id: &'a BlobId) -> BoxFuture<'a, Result<bool>> {
        let path = self.path_of(id);
        blocking(move || Ok(path.exists()))
    }

    fn delete<'a>(&'a self, id: &'a BlobId) -> BoxFuture<'a, Result<()>> {
        let path = self.path_of(id);
        blocking(move || match std::fs::remove_file(&path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(io_err("cannot delete", &path, e)),
        })
    }
}
