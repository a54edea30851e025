use super::*;
use crate::datastore::StoreError;
use async_trait::async_trait;
use std::collections::BTreeMap;

/// Objects in memory; counts flushes.
#[derive(Debug, Default)]
struct MemoryStore {
    objects: Mutex<BTreeMap<String, Vec<u8>>>,
    flushes: Mutex<usize>,
}

#[async_trait]
impl ObjectStore for MemoryStore {
    fn root(&self) -> String {
        "memory".into()
    }
    async fn put(&self, key: &str, bytes: Vec<u8>) -> Result<(), StoreError> {
        self.objects.lock().unwrap().insert(key.into(), bytes);
        Ok(())
    }
    async fn put_if_absent(&self, key: &str, bytes: Vec<u8>) -> Result<bool, StoreError> {
        let mut objects = self.objects.lock().unwrap();
        if objects.contains_key(key) {
            return Ok(false);
        }
        objects.insert(key.into(), bytes);
        Ok(true)
    }
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.objects.lock().unwrap().get(key).cloned())
    }
    async fn exists(&self, key: &str) -> Result<bool, StoreError> {
        Ok(self.objects.lock().unwrap().contains_key(key))
    }
    async fn list(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        let objects = self.objects.lock().unwrap();
        let mut names: Vec<String> = objects
            .keys()
            .filter_map(|k| k.strip_prefix(prefix))
            .map(|rest| rest.split('/').next().unwrap_or(rest).to_string())
            .collect();
        names.dedup();
        Ok(names)
    }
    async fn flush(&self) -> Result<(), StoreError> {
        *self.flushes.lock().unwrap() += 1;
        Ok(())
    }
}

fn store() -> (Arc<MemoryStore>, RunStore) {
    let memory = Arc::new(MemoryStore::default());
    (memory.clone(), RunStore::new(memory, "TestFlow"))
}

fn record(store: &RunStore, id: &str, params: Value) -> RunRecord {
    store.new_run_record(RunId::new(id).unwrap(), params, "local")
}

#[tokio::test]
async fn a_taken_id_is_replaced_by_a_fresh_one() {
    let (_, store) = store();
    let first = store
        .claim_run(record(&store, "r1", 1.into()), RunIdTaken::TryAnother)
        .await
        .unwrap();
    let second = store
        .claim_run(record(&store, "r1", 2.into()), RunIdTaken::TryAnother)
        .await
        .unwrap();
    assert_eq!(first.run_id.as_str(), "r1");
    assert_ne!(second.run_id, first.run_id);
    assert_eq!(store.run(&first.run_id).await.unwrap().params, 1);
    assert_eq!(store.run(&second.run_id).await.unwrap(), second);
}

#[tokio::test]
async fn a_given_id_keeps_the_record_already_there() {
    let (_, store) = store();
    let first = store
        .claim_run(record(&store, "r1", 1.into()), RunIdTaken::KeepExisting)
        .await
        .unwrap();
    let again = store
        .claim_run(record(&store, "r1", 2.into()), RunIdTaken::KeepExisting)
        .await
        .unwrap();
    assert_eq!(again, first);
    assert_eq!(store.run_ids().await.unwrap().len(), 1);
}

#[tokio::test]
async fn finishing_a_run_records_the_error_with_its_causes_and_flushes() {
    let (memory, store) = store();
    let mut run = store
        .claim_run(record(&store, "r1", Value::Null), RunIdTaken::TryAnother)
        .await
        .unwrap();
    let cause = serde_json::from_slice::<u32>(b"[").unwrap_err();
    let error = crate::datastore::DatastoreError::BadRecord {
        key: "k".into(),
        root: "memory".into(),
        message: cause,
    };
    store.finish_run(&mut run, Some(&error)).await.unwrap();
    let stored = store.run(&run.run_id).await.unwrap();
    assert_eq!(stored.status, RunStatus::Failed);
    assert!(stored.finished_at_ms.is_some());
    let text = stored.error.unwrap();
    assert!(
        text.starts_with("record `k` in memory is unreadable: ") && text.contains("line 1"),
        "{text}"
    );
    assert_eq!(*memory.flushes.lock().unwrap(), 1);

    let mut ok = store
        .claim_run(record(&store, "r2", Value::Null), RunIdTaken::TryAnother)
        .await
        .unwrap();
    store.finish_run(&mut ok, None).await.unwrap();
    let stored = store.run(&ok.run_id).await.unwrap();
    assert_eq!((stored.status, stored.error), (RunStatus::Succeeded, None));
    assert_eq!(*memory.flushes.lock().unwrap(), 2);
}
