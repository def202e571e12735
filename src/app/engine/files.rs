//! Where uploaded files' bytes are kept: one interface, [`FileStore`], with two backends: the
//! data folder (`<data_dir>/files/<key>`, the default, which needs nothing set up) and a
//! bucket of an S3-compatible store ([`S3Store`], through `object_store`), for instances that
//! share their files or keep no disk of their own.

use std::future::Future;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::pin::Pin;

use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, PutPayload};
use secrecy::{ExposeSecret, SecretString};

pub type StoreResult<T> = Result<T, anyhow::Error>;
type Boxed<'a, T> = Pin<Box<dyn Future<Output = StoreResult<T>> + Send + 'a>>;

/// Keeps bytes by key. Keys are `/`-separated paths of `[A-Za-z0-9._-]` segments.
pub trait FileStore: Send + Sync + std::fmt::Debug {
    fn put<'a>(&'a self, key: &'a str, bytes: Vec<u8>) -> Boxed<'a, ()>;
    /// The bytes, or None when nothing is kept under the key.
    fn get<'a>(&'a self, key: &'a str) -> Boxed<'a, Option<Vec<u8>>>;
    /// Forgets the key; forgetting one that is not there is fine.
    fn delete<'a>(&'a self, key: &'a str) -> Boxed<'a, ()>;
    /// Fails unless the store can be used; run at start, so a mistake shows at once.
    fn check(&self) -> Boxed<'_, ()>;
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

    fn check(&self) -> Boxed<'_, ()> {
        Box::pin(async move {
            tokio::fs::create_dir_all(&self.root)
                .await
                .map_err(|e| anyhow::anyhow!("cannot keep files in {}: {e}", self.root.display()))
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

/// Where an S3-compatible store is and how to sign in to it.
#[derive(Debug, Clone)]
pub struct S3Config {
    pub bucket: String,
    /// `http://minio:9000`; AWS's own endpoint when absent.
    pub endpoint: Option<String>,
    pub region: Option<String>,
    pub access_key_id: Option<SecretString>,
    pub secret_access_key: Option<SecretString>,
}

/// Files in a bucket of an S3-compatible store, one object per key.
#[derive(Debug)]
pub struct S3Store {
    store: AmazonS3,
    bucket: String,
}

impl S3Store {
    pub fn new(config: S3Config) -> StoreResult<S3Store> {
        let mut builder = AmazonS3Builder::new()
            .with_bucket_name(&config.bucket)
            .with_region(config.region.as_deref().unwrap_or("us-east-1"));
        if let Some(endpoint) = &config.endpoint {
            builder = builder
                .with_endpoint(endpoint)
                // MinIO and most self-hosted stores name the bucket in the path, and a store
                // on a private network may well speak plain HTTP.
                .with_virtual_hosted_style_request(false)
                .with_allow_http(endpoint.starts_with("http://"));
        }
        if let Some(key) = &config.access_key_id {
            builder = builder.with_access_key_id(key.expose_secret());
        }
        if let Some(secret) = &config.secret_access_key {
            builder = builder.with_secret_access_key(secret.expose_secret());
        }
        Ok(S3Store {
            store: builder.build()?,
            bucket: config.bucket,
        })
    }
}

fn object_path(key: &str) -> StoreResult<ObjectPath> {
    ObjectPath::parse(key).map_err(|e| anyhow::anyhow!("not a file key: {key:?}: {e}"))
}

impl FileStore for S3Store {
    fn put<'a>(&'a self, key: &'a str, bytes: Vec<u8>) -> Boxed<'a, ()> {
        Box::pin(async move {
            self.store
                .put(&object_path(key)?, PutPayload::from(bytes))
                .await?;
            Ok(())
        })
    }

    fn get<'a>(&'a self, key: &'a str) -> Boxed<'a, Option<Vec<u8>>> {
        Box::pin(async move {
            match self.store.get(&object_path(key)?).await {
                Ok(found) => Ok(Some(found.bytes().await?.to_vec())),
                Err(object_store::Error::NotFound { .. }) => Ok(None),
                Err(error) => Err(error.into()),
            }
        })
    }

    fn delete<'a>(&'a self, key: &'a str) -> Boxed<'a, ()> {
        Box::pin(async move {
            match self.store.delete(&object_path(key)?).await {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
                Err(error) => Err(error.into()),
            }
        })
    }

    /// Lists a prefix: a missing bucket, a wrong key or an unreachable store fails.
    fn check(&self) -> Boxed<'_, ()> {
        Box::pin(async move {
            self.store
                .list_with_delimiter(Some(&ObjectPath::from("passports")))
                .await
                .map(|_| ())
                .map_err(|error| {
                    anyhow::anyhow!("the S3 bucket {:?} does not answer: {error}", self.bucket)
                })
        })
    }
}
