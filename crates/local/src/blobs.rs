//! [`BlobStore`] on the local filesystem; the server itself serves the signed URLs.
//!
//! A key's `/`-separated segments map to directories under `root`. `BlobKey` parsing already
//! rules out `..` and absolute paths; on top of that no path component under `root` may be a
//! symlink, so a link planted inside the store cannot lead reads or writes outside it.

use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use chrono::Utc;
use futures::StreamExt;
use imgtag_core::signing::Signer;
use imgtag_core::{BlobKey, BlobStore, ByteStream, Error, Result, UploadForm, UploadPolicy};
use tokio::io::AsyncWriteExt;

/// Files on disk under one root directory.
#[derive(Debug, Clone)]
pub struct FsBlobStore {
    root: PathBuf,
    signer: Arc<Signer>,
    base_url: String,
}

fn io_err(what: &str, path: &Path, e: std::io::Error) -> Error {
    Error::Internal(format!("{what} {}: {e}", path.display()))
}

fn escaped(path: &Path) -> Error {
    Error::Forbidden(format!("{} is a symlink", path.display()))
}

/// Removes a temporary file unless the write that owns it committed: covers stream errors,
/// I/O errors and a `put` future dropped half-way (client gone).
struct TempGuard(Option<PathBuf>);

impl Drop for TempGuard {
    fn drop(&mut self) {
        if let Some(p) = self.0.take() {
            let _ = std::fs::remove_file(p);
        }
    }
}

impl FsBlobStore {
    /// A store under `root` (created on first write). `base_url` is the server's public base
    /// (scheme, host and base path) that signed URLs point at.
    pub fn new(root: PathBuf, signer: Arc<Signer>, base_url: String) -> Self {
        FsBlobStore {
            root,
            signer,
            base_url: base_url.trim_end_matches('/').to_string(),
        }
    }

    /// The root directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The path of `key`, refusing any symlink between root and the object. With `create`,
    /// missing directories are made on the way.
    async fn path_of(&self, key: &BlobKey, create: bool) -> Result<PathBuf> {
        let segs: Vec<&str> = key.as_str().split('/').collect();
        let (file, dirs) = segs.split_last().expect("a key has at least one segment");
        let mut path = self.root.clone();
        if create {
            tokio::fs::create_dir_all(&path)
                .await
                .map_err(|e| io_err("cannot create", &path, e))?;
        }
        for seg in dirs {
            path.push(seg);
            match tokio::fs::symlink_metadata(&path).await {
                Ok(m) if m.file_type().is_symlink() => return Err(escaped(&path)),
                Ok(m) if m.is_dir() => {}
                Ok(_) => {
                    return Err(Error::Conflict(format!(
                        "{} is a file, not a directory",
                        path.display()
                    )))
                }
                Err(e) if e.kind() == ErrorKind::NotFound && create => {
                    match tokio::fs::create_dir(&path).await {
                        Ok(()) => {}
                        // Another writer made it between our check and create.
                        Err(e) if e.kind() == ErrorKind::AlreadyExists => {}
                        Err(e) => return Err(io_err("cannot create", &path, e)),
                    }
                    // Re-check what is there now (a concurrent symlink swap).
                    let m = tokio::fs::symlink_metadata(&path)
                        .await
                        .map_err(|e| io_err("cannot stat", &path, e))?;
                    if !m.is_dir() {
                        return Err(escaped(&path));
                    }
                }
                Err(e) if e.kind() == ErrorKind::NotFound => return Err(Error::NotFound("object")),
                Err(e) => return Err(io_err("cannot stat", &path, e)),
            }
        }
        path.push(file);
        if let Ok(m) = tokio::fs::symlink_metadata(&path).await {
            if m.file_type().is_symlink() {
                return Err(escaped(&path));
            }
        }
        Ok(path)
    }

    /// Opens `key` for streaming (the server's download route); returns the file and its length.
    #[tracing::instrument(skip_all, fields(key = %key), err)]
    pub async fn open_file(&self, key: &BlobKey) -> Result<(tokio::fs::File, u64)> {
        let path = self.path_of(key, false).await?;
        let file = match tokio::fs::File::open(&path).await {
            Ok(f) => f,
            Err(e) if e.kind() == ErrorKind::NotFound => return Err(Error::NotFound("object")),
            Err(e) => return Err(io_err("cannot open", &path, e)),
        };
        let meta = file
            .metadata()
            .await
            .map_err(|e| io_err("cannot stat", &path, e))?;
        if !meta.is_file() {
            return Err(Error::NotFound("object"));
        }
        Ok((file, meta.len()))
    }

    async fn write_temp(&self, tmp: &Path, mut body: ByteStream) -> Result<u64> {
        let mut file = tokio::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(tmp)
            .await
            .map_err(|e| io_err("cannot create", tmp, e))?;
        let mut size = 0u64;
        // Chunks are written as they arrive: memory stays at one chunk whatever the size.
        while let Some(chunk) = body.next().await {
            let chunk = chunk.map_err(stream_err)?;
            size += chunk.len() as u64;
            file.write_all(&chunk)
                .await
                .map_err(|e| io_err("cannot write", tmp, e))?;
        }
        file.flush()
            .await
            .map_err(|e| io_err("cannot write", tmp, e))?;
        file.sync_all()
            .await
            .map_err(|e| io_err("cannot sync", tmp, e))?;
        Ok(size)
    }
}

/// A failed body stream. A producer can carry a domain error through the `io::Error` (e.g. the
/// HTTP layer's size limit as `Error::TooLarge`); it is passed on as is.
fn stream_err(e: std::io::Error) -> Error {
    if e.get_ref().is_some_and(|inner| inner.is::<Error>()) {
        if let Some(inner) = e.into_inner() {
            if let Ok(domain) = inner.downcast::<Error>() {
                return *domain;
            }
        }
        return Error::Internal("upload stream failed".into());
    }
    Error::invalid("upload-interrupted", format!("upload stream failed: {e}"))
}

/// Makes a rename durable: the directory entry must reach the disk too.
async fn sync_dir(dir: &Path) -> Result<()> {
    let d = dir.to_path_buf();
    tokio::task::spawn_blocking(move || std::fs::File::open(&d).and_then(|f| f.sync_all()))
        .await
        .map_err(Error::internal)?
        .map_err(|e| io_err("cannot sync", dir, e))
}

#[async_trait]
impl BlobStore for FsBlobStore {
    async fn get_stream(&self, key: &BlobKey) -> Result<(ByteStream, u64)> {
        let (file, len) = self.open_file(key).await?;
        Ok((Box::pin(tokio_util::io::ReaderStream::new(file)), len))
    }

    #[tracing::instrument(skip_all, fields(key = %key), err)]
    async fn put(&self, key: &BlobKey, body: ByteStream) -> Result<u64> {
        let path = self.path_of(key, true).await?;
        let dir = path
            .parent()
            .expect("object path has a parent")
            .to_path_buf();
        let name = path
            .file_name()
            .expect("object path has a name")
            .to_string_lossy();
        // Same directory as the target, so the rename is atomic (same filesystem).
        let tmp = dir.join(format!(".{name}.tmp-{}", uuid::Uuid::new_v4().simple()));
        let mut guard = TempGuard(Some(tmp.clone()));
        let size = self.write_temp(&tmp, body).await?;
        tokio::fs::rename(&tmp, &path)
            .await
            .map_err(|e| io_err("cannot rename into", &path, e))?;
        guard.0 = None;
        sync_dir(&dir).await?;
        Ok(size)
    }

    #[tracing::instrument(skip_all, fields(key = %key), err)]
    async fn get(&self, key: &BlobKey) -> Result<Bytes> {
        let path = self.path_of(key, false).await?;
        match tokio::fs::read(&path).await {
            Ok(b) => Ok(Bytes::from(b)),
            Err(e) if e.kind() == ErrorKind::NotFound => Err(Error::NotFound("object")),
            // A directory at the key (a prefix of other keys) is not an object.
            Err(e) if e.kind() == ErrorKind::IsADirectory => Err(Error::NotFound("object")),
            Err(e) => Err(io_err("cannot read", &path, e)),
        }
    }

    #[tracing::instrument(skip_all, fields(key = %key), err)]
    async fn delete(&self, key: &BlobKey) -> Result<()> {
        let path = match self.path_of(key, false).await {
            Ok(p) => p,
            Err(Error::NotFound(_)) => return Ok(()),
            Err(e) => return Err(e),
        };
        match tokio::fs::remove_file(&path).await {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(()),
            Err(e) => Err(io_err("cannot delete", &path, e)),
        }
    }

    #[tracing::instrument(skip_all, fields(key = %key), err)]
    async fn exists(&self, key: &BlobKey) -> Result<bool> {
        let path = match self.path_of(key, false).await {
            Ok(p) => p,
            Err(Error::NotFound(_)) => return Ok(false),
            Err(e) => return Err(e),
        };
        match tokio::fs::symlink_metadata(&path).await {
            Ok(m) => Ok(m.is_file()),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(false),
            Err(e) => Err(io_err("cannot stat", &path, e)),
        }
    }

    async fn presign_get(
        &self,
        key: &BlobKey,
        content_type: &str,
        expires_in: Duration,
    ) -> Result<String> {
        Ok(self
            .signer
            .file_url(&self.base_url, key, content_type, expires_in, Utc::now()))
    }

    async fn presign_upload(&self, policy: &UploadPolicy) -> Result<UploadForm> {
        Ok(self.signer.upload_form(&self.base_url, policy, Utc::now()))
    }
}
