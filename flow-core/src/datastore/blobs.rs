//! A task's state as artifacts: each field encoded on its own and stored by the hash of its
//! bytes (inline in the task record when small, else a blob shared by every task that left
//! the same bytes), and verified against that hash whenever it is read.

use super::{ArtifactRef, CorruptedBlob, DatastoreError, RunStore, TaskRecord};
use crate::artifacts::{
    content_hash, decode_fields, encode_changed_fields, encode_fields, ArtifactError,
};
use crate::flow::Flow;
use crate::ids::{RunId, TaskId};
use crate::inherited::Inherited;
use crate::inputs::{BlobCache, StoredState};
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::Arc;

/// Values up to this many encoded bytes live in the task record itself instead of a blob
/// file: a blob per small value would cost more to write than the value is worth.
pub const INLINE_LIMIT: usize = 128;

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[(b >> 4) as usize] as char);
        s.push(DIGITS[(b & 15) as usize] as char);
    }
    s
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if s.len() % 2 != 0 {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

impl RunStore {
    /// Encodes a state's fields and writes the blobs that are not stored yet.
    pub async fn save_state<F: Serialize>(
        &self,
        run: &RunId,
        task: &TaskId,
        state: &F,
    ) -> Result<BTreeMap<String, ArtifactRef>, DatastoreError> {
        let fields = encode_fields(state).map_err(|source| DatastoreError::Artifact {
            run: run.to_string(),
            task: task.to_string(),
            source,
        })?;
        let mut refs = BTreeMap::new();
        for (name, bytes) in fields {
            refs.insert(name, self.store_field(bytes).await?);
        }
        Ok(refs)
    }

    /// Like [`RunStore::save_state`], for a task of `step` that started from the state its
    /// parent left and stored as `parent`: a field the step's body does not name
    /// ([`Flow::step_field_spans`]) is neither encoded, hashed nor stored again; the task
    /// refers to the parent's artifact. Without spans (the body may reach any field), every
    /// field is encoded as `save_state` does.
    pub async fn save_state_from<F: Flow>(
        &self,
        run: &RunId,
        task: &TaskId,
        state: &F,
        step: &str,
        parent: &BTreeMap<String, ArtifactRef>,
    ) -> Result<BTreeMap<String, ArtifactRef>, DatastoreError> {
        let Some(spans) = state.step_field_spans(step) else {
            return self.save_state(run, task, state).await;
        };
        let reusable = |name: &str| parent.contains_key(name);
        let fields = encode_changed_fields(state, &spans, &reusable).map_err(|source| {
            DatastoreError::Artifact {
                run: run.to_string(),
                task: task.to_string(),
                source,
            }
        })?;
        let mut refs = BTreeMap::new();
        for (name, bytes) in fields {
            let artifact = match bytes {
                Some(bytes) => self.store_field(bytes).await?,
                None => parent[&name].clone(),
            };
            refs.insert(name, artifact);
        }
        Ok(refs)
    }

    /// Stores one encoded field: inline when small, else as a blob unless it exists.
    async fn store_field(&self, bytes: Vec<u8>) -> Result<ArtifactRef, DatastoreError> {
        let hash = content_hash(&bytes);
        let size = bytes.len() as u64;
        let inline = if bytes.len() <= INLINE_LIMIT {
            Some(hex(&bytes))
        } else {
            let known = self.known_blobs.lock().expect("blob cache").contains(&hash);
            if !known {
                let key = self.layout.blob(&hash);
                // put_if_absent: a blob with this name already has these bytes.
                self.store.put_if_absent(&key, bytes).await?;
                self.known_blobs
                    .lock()
                    .expect("blob cache")
                    .insert(hash.clone());
            }
            None
        };
        Ok(ArtifactRef { hash, size, inline })
    }

    /// The encoded bytes of one artifact, verified against its content hash.
    pub async fn artifact_bytes(
        &self,
        run: &RunId,
        record: &TaskRecord,
        name: &str,
    ) -> Result<Vec<u8>, DatastoreError> {
        let artifact = record
            .artifacts
            .get(name)
            .ok_or_else(|| DatastoreError::Artifact {
                run: run.to_string(),
                task: record.task.to_string(),
                source: ArtifactError::Field {
                    field: name.to_string(),
                    message: format!(
                        "no such artifact; the task has {}",
                        record
                            .artifacts
                            .keys()
                            .map(|k| format!("`{k}`"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                },
            })?;
        let blob = self.layout.blob(&artifact.hash);
        let corrupted = |why: String| {
            DatastoreError::Corrupted(Box::new(CorruptedBlob {
                run: run.to_string(),
                task: record.task.to_string(),
                artifact: name.to_string(),
                blob: blob.clone(),
                root: self.root(),
                why,
            }))
        };
        let bytes = match &artifact.inline {
            Some(h) => unhex(h).ok_or_else(|| corrupted("inline value is not hex".into()))?,
            None => self
                .store
                .get(&blob)
                .await?
                .ok_or_else(|| corrupted("the blob is missing".into()))?,
        };
        let actual = content_hash(&bytes);
        if actual != artifact.hash {
            return Err(corrupted(format!("its bytes hash to {actual}")));
        }
        Ok(bytes)
    }

    /// Rebuilds the state a task left, verifying every blob.
    pub async fn load_state<F: DeserializeOwned>(
        &self,
        run: &RunId,
        record: &TaskRecord,
    ) -> Result<F, DatastoreError> {
        self.load_state_except(run, record, None).await
    }

    /// [`RunStore::load_state`] for a foreach item whose `inherited` fields are held once
    /// for all the items: those are not read, and the state holds their default.
    pub async fn load_state_except<F: DeserializeOwned>(
        &self,
        run: &RunId,
        record: &TaskRecord,
        inherited: Option<&Inherited<F>>,
    ) -> Result<F, DatastoreError> {
        let fields = self.read_fields(run, record, inherited, None).await?;
        decode_fields(&fields).map_err(|source| DatastoreError::Artifact {
            run: run.to_string(),
            task: record.task.to_string(),
            source,
        })
    }

    /// The state a task left, encoded as stored, for a join input that is decoded when read.
    /// Blobs already in `cache` are not read again, so inputs with equal fields share one
    /// buffer; every blob read is verified.
    pub async fn load_stored(
        &self,
        run: &RunId,
        record: &TaskRecord,
        cache: &mut BlobCache,
    ) -> Result<StoredState, DatastoreError> {
        self.load_stored_except::<()>(run, record, cache, None)
            .await
    }

    /// [`RunStore::load_stored`] for a foreach item's input whose `inherited` fields are
    /// held once for all the items: those are not read, and the state holds their default.
    pub async fn load_stored_except<F>(
        &self,
        run: &RunId,
        record: &TaskRecord,
        cache: &mut BlobCache,
        inherited: Option<&Inherited<F>>,
    ) -> Result<StoredState, DatastoreError> {
        let fields = self
            .read_fields(run, record, inherited, Some(cache))
            .await?;
        Ok(StoredState::new(
            fields
                .into_iter()
                .map(|(name, bytes)| (name, bytes.into_shared()))
                .collect(),
        ))
    }

    /// The encoded bytes of each of a task's artifacts, verified, for
    /// [`RunStore::load_state_except`] and [`RunStore::load_stored_except`]: an `inherited`
    /// field is its default, shared; with a `cache`, a blob is read once and shared by
    /// every state that holds it; without, it is owned by the one state decoded from it (so
    /// a large blob is never copied into a shared buffer only to be dropped).
    async fn read_fields<F>(
        &self,
        run: &RunId,
        record: &TaskRecord,
        inherited: Option<&Inherited<F>>,
        mut cache: Option<&mut BlobCache>,
    ) -> Result<Vec<(String, FieldBytes)>, DatastoreError> {
        let mut fields = Vec::with_capacity(record.artifacts.len());
        for (name, artifact) in &record.artifacts {
            let bytes = if let Some(default) = inherited.and_then(|i| i.default_field(name)) {
                FieldBytes::Shared(default.clone())
            } else if let Some(cache) = cache.as_deref_mut() {
                match cache.get(&artifact.hash) {
                    Some(bytes) => FieldBytes::Shared(bytes.clone()),
                    None => {
                        let bytes: Arc<[u8]> = self.artifact_bytes(run, record, name).await?.into();
                        cache.insert(artifact.hash.clone(), bytes.clone());
                        FieldBytes::Shared(bytes)
                    }
                }
            } else {
                FieldBytes::Owned(self.artifact_bytes(run, record, name).await?)
            };
            fields.push((name.clone(), bytes));
        }
        Ok(fields)
    }
}

/// One field's encoded bytes as read: shared (an inherited default, or a blob in a join's
/// cache) or owned (read for one state, decoded and dropped).
enum FieldBytes {
    Shared(Arc<[u8]>),
    Owned(Vec<u8>),
}

impl FieldBytes {
    /// The bytes in a shared buffer (a copy only if they were owned).
    fn into_shared(self) -> Arc<[u8]> {
        match self {
            FieldBytes::Shared(bytes) => bytes,
            FieldBytes::Owned(bytes) => bytes.into(),
        }
    }
}

impl AsRef<[u8]> for FieldBytes {
    fn as_ref(&self) -> &[u8] {
        match self {
            FieldBytes::Shared(bytes) => bytes,
            FieldBytes::Owned(bytes) => bytes,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trips() {
        let bytes = vec![0u8, 1, 127, 128, 255];
        assert_eq!(unhex(&hex(&bytes)).unwrap(), bytes);
        assert!(unhex("abc").is_none());
        assert!(unhex("zz").is_none());
    }
}
