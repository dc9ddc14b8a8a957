//! Blob store adapters for FaceVault's `BlobStore` port, over the `object_store` crate.
//!
//! For most cases: [`ObjectBlobStore::local`] on the vault's blob directory. Blobs are named
//! `blobs/<first two hex digits>/<object id>` and hold only ciphertext: this crate never sees a
//! key or a plaintext byte. The same adapter will take S3 later (any `ObjectStore`).
#![forbid(unsafe_code)]
#![warn(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::fmt;
use std::path::Path as FsPath;
use std::sync::Arc;

use facevault_crypto::Id;
use facevault_vault::{BlobStore, StoreError};
use futures_util::TryStreamExt;
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};

const PREFIX: &str = "blobs";

/// A `BlobStore` over any `object_store` backend.
#[derive(Clone)]
pub struct ObjectBlobStore {
    store: Arc<dyn ObjectStore>,
}

impl fmt::Debug for ObjectBlobStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ObjectBlobStore({})", self.store)
    }
}

fn unavailable(op: &'static str) -> impl Fn(object_store::Error) -> StoreError {
    move |e| StoreError::Unavailable { op, message: e.to_string() }
}

fn location(object: Id) -> Path {
    let hex = object.to_string();
    Path::from_iter([PREFIX, &hex[..2], &hex])
}

impl ObjectBlobStore {
    /// Blobs under `dir` on the local file system (created if missing). Every put is fsynced,
    /// file and directories, before it returns: the vault acknowledges nothing that is not
    /// durable.
    pub fn local(dir: &FsPath) -> Result<ObjectBlobStore, StoreError> {
        std::fs::create_dir_all(dir)
            .map_err(|e| StoreError::Unavailable { op: "open blob directory", message: e.to_string() })?;
        let fs = LocalFileSystem::new_with_prefix(dir)
            .map_err(unavailable("open blob directory"))?
            .with_fsync(true)
            .with_automatic_cleanup(true);
        Ok(ObjectBlobStore { store: Arc::new(fs) })
    }

    /// Blobs in any object store (for backends configured elsewhere).
    pub fn new(store: Arc<dyn ObjectStore>) -> ObjectBlobStore {
        ObjectBlobStore { store }
    }
}

impl BlobStore for ObjectBlobStore {
    async fn put(&self, object: Id, sealed: Vec<u8>) -> Result<(), StoreError> {
        self.store.put(&location(object), PutPayload::from(sealed)).await.map_err(unavailable("put blob"))?;
        Ok(())
    }

    async fn get(&self, object: Id) -> Result<Option<Vec<u8>>, StoreError> {
        match self.store.get(&location(object)).await {
            Ok(r) => Ok(Some(r.bytes().await.map_err(unavailable("read blob"))?.to_vec())),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(unavailable("get blob")(e)),
        }
    }

    async fn delete(&self, object: Id) -> Result<(), StoreError> {
        match self.store.delete(&location(object)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(unavailable("delete blob")(e)),
        }
    }

    async fn list(&self) -> Result<Vec<Id>, StoreError> {
        let metas: Vec<_> = self
            .store
            .list(Some(&Path::from(PREFIX)))
            .try_collect()
            .await
            .map_err(unavailable("list blobs"))?;
        // Anything not named by an object id (a staging file, a stray copy) is not a blob.
        Ok(metas.iter().filter_map(|m| m.location.filename()?.parse::<Id>().ok()).collect())
    }
}
