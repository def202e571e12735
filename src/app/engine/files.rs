//! Where uploaded files' bytes are kept: one interface, [`FileStore`], and its backend in the
//! data folder (`<data_dir>/files/<key>`), which needs nothing set up.

use std::future::Future;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::pin::Pin;

pub type StoreResult<T> = Result<T, anyhow::Error>;
type Boxed<'a, T> = Pin<Box<dyn Future<Output = StoreResult<T>> + Send + 'a>>;

/// Keeps bytes by key. Keys are `/`-separated paths of `[A-Za-z0-9._-]` segments.
pub trait FileStore: Send + Sync + std::fmt::Debug {
    fn put<'a>(&'a self, key: &'a str, bytes: Vec<u8>) -> Boxed<'a, ()>;
    /// The bytes, or None when nothing is kept under the key.
    fn get<'a>(&'a self, key: &'a str) -> Boxed<'a, Option<Vec<u8>>>;
    /// Forgets the key; forgetting one that is not there is fine.
    fn delete<'a>(&'a self, key: &'a str) -> Boxed<'a, ()>;
}

/// Files in a folder, written to a temporary name and renamed, so a reader never sees half.
#[derive(Debug, Clone)]
pub struct DiskStore {
    root: PathBuf,
}

impl DiskStore {
    pub fn new(root: impl Into<PathBuf>) -> DiskStore {
        DiskStore { root: root.into() }
    }

    fn path(&self, key: &str) -> StoreResult<PathBuf> {
        let safe = !key.is_empty()
            && key.split('/').all(|segment| {
                !segment.is_empty()
                    && segment != "."
                    && segment != ".."
                    && segment
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
            });
        anyhow::ensure!(safe, "not a file key: {key:?}");
        Ok(self.root.join(Path::new(key)))
    }
}

impl FileStore for DiskStore {
    fn put<'a>(&'a self, key: &'a str, bytes: Vec<u8>) -> Boxed<'a, ()> {
        Box::pin(async move {
            let path = self.path(key)?;
            if let Some(parent) = path.parent() {
                tokio::fs::create_dir_all(parent).await?;
            }
            let partial = path.with_extension(format!("partial-{}", uuid::Uuid::new_v4()));
            tokio::fs::write(&partial, bytes).await?;
            tokio::fs::rename(&partial, &path).await?;
            Ok(())
        })
    }

    fn get<'a>(&'a self, key: &'a str) -> Boxed<'a, Option<Vec<u8>>> {
        Box::pin(async move {
            match tokio::fs::read(self.path(key)?).await {
                Ok(bytes) => Ok(Some(bytes)),
                Err(error) if error.kind() == ErrorKind::NotFound => Ok(None),
                Err(error) => Err(error.into()),
            }
        })
    }

    fn delete<'a>(&'a self, key: &'a str) -> Boxed<'a, ()> {
        Box::pin(async move {
            match tokio::fs::remove_file(self.path(key)?).await {
                Err(error) if error.kind() != ErrorKind::NotFound => Err(error.into()),
                _ => Ok(()),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn keeps_reads_and_forgets() {
        let dir = tempfile::tempdir().unwrap();
        let store = DiskStore::new(dir.path());
        store.put("a/b.jpg", b"bytes".to_vec()).await.unwrap();
        assert_eq!(store.get("a/b.jpg").await.unwrap().unwrap(), b"bytes");
        store.delete("a/b.jpg").await.unwrap();
        store.delete("a/b.jpg").await.unwrap();
        assert!(store.get("a/b.jpg").await.unwrap().is_none());
        assert!(store.get("../etc/passwd").await.is_err());
        assert!(store.put("/abs", vec![]).await.is_err());
    }
}
