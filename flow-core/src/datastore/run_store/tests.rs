use super::*;
use crate::datastore::StoreError;
use crate::inputs::BlobCache;
use async_trait::async_trait;
use std::collections::BTreeMap;

/// Objects in memory; counts flushes and reads; appends when told to.
#[derive(Default)]
struct MemoryStore {
    objects: Mutex<BTreeMap<String, Vec<u8>>>,
    flushes: Mutex<usize>,
    appends: bool,
    reads: Mutex<usize>,
    /// Each partial read: the key and where it started.
    reads_from: Mutex<Vec<(String, u64)>>,
    /// Called once by the next partial read that does not start at 0, before it returns.
    on_read_from: Mutex<Option<Box<dyn FnOnce() + Send>>>,
}

impl std::fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MemoryStore")
    }
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
        *self.reads.lock().unwrap() += 1;
        Ok(self.objects.lock().unwrap().get(key).cloned())
    }
    async fn get_from(&self, key: &str, offset: u64) -> Result<Option<Vec<u8>>, StoreError> {
        self.reads_from.lock().unwrap().push((key.into(), offset));
        *self.reads.lock().unwrap() += 1;
        if offset > 0 {
            let hook = self.on_read_from.lock().unwrap().take();
            if let Some(hook) = hook {
                hook();
            }
        }
        let objects = self.objects.lock().unwrap();
        Ok(objects
            .get(key)
            .map(|bytes| bytes[offset as usize..].to_vec()))
    }
    fn can_append(&self) -> bool {
        self.appends
    }
    async fn append(&self, key: &str, bytes: Vec<u8>) -> Result<(), StoreError> {
        assert!(self.appends, "append on a store that cannot");
        let mut objects = self.objects.lock().unwrap();
        objects.entry(key.into()).or_default().extend(bytes);
        Ok(())
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

fn appending_store() -> (Arc<MemoryStore>, RunStore) {
    let memory = Arc::new(MemoryStore {
        appends: true,
        ..MemoryStore::default()
    });
    (memory.clone(), RunStore::new(memory, "TestFlow"))
}

fn task_record(step: &str, index: Vec<usize>) -> TaskRecord {
    TaskRecord {
        task: TaskId::new(step, IndexPath(index)),
        status: crate::datastore::TaskStatus::Succeeded,
        attempts: Vec::new(),
        artifacts: Default::default(),
        foreach_count: (step == "start").then_some(3),
        switch_next: None,
        error: None,
        cloned_from: None,
    }
}

fn keys(memory: &MemoryStore) -> Vec<String> {
    memory.objects.lock().unwrap().keys().cloned().collect()
}

#[tokio::test]
async fn a_store_that_appends_gets_one_segment_per_step_and_no_task_files() {
    let (memory, store) = appending_store();
    let run = RunId::new("r1").unwrap();
    store
        .commit_task(&run, &task_record("start", vec![]))
        .await
        .unwrap();
    for i in [2, 0, 1] {
        store
            .commit_task(&run, &task_record("work", vec![i]))
            .await
            .unwrap();
    }
    assert_eq!(
        keys(&memory),
        [
            "TestFlow/runs/r1/steps/start/tasks.seg",
            "TestFlow/runs/r1/steps/work/tasks.seg"
        ]
    );
    let start = store
        .task(&run, &TaskId::new("start", IndexPath::root()))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(start.foreach_count, Some(3));
    // A fresh reader reads a segment once for many tasks.
    let reader = RunStore::new(memory.clone(), "TestFlow");
    let before = *memory.reads.lock().unwrap();
    for i in 0..3 {
        let id = TaskId::new("work", IndexPath(vec![i]));
        assert_eq!(reader.task(&run, &id).await.unwrap().unwrap().task, id);
    }
    assert_eq!(*memory.reads.lock().unwrap() - before, 1);
    let indexes: Vec<Vec<usize>> = reader
        .tasks(&run, "work")
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.task.index.0)
        .collect();
    assert_eq!(indexes, [vec![0], vec![1], vec![2]]);
    // A task committed after the first read is found by the next one.
    store
        .commit_task(&run, &task_record("work", vec![3]))
        .await
        .unwrap();
    let late = TaskId::new("work", IndexPath(vec![3]));
    assert!(reader.task(&run, &late).await.unwrap().is_some());
    assert_eq!(reader.tasks(&run, "work").await.unwrap().len(), 4);
    // A task never committed is looked for in the segment, then in its own file.
    let missing = TaskId::new("work", IndexPath(vec![9]));
    assert!(reader.task(&run, &missing).await.unwrap().is_none());
    let error = reader.require_task(&run, &missing).await.unwrap_err();
    assert!(
        error.to_string().contains("has task(s) 0, 1, 2, 3"),
        "{error}"
    );
}

#[tokio::test]
async fn one_file_per_task_writes_the_old_layout_which_every_reader_reads() {
    let (memory, _) = appending_store();
    let writer = RunStore::new(memory.clone(), "TestFlow").one_file_per_task();
    let run = RunId::new("r1").unwrap();
    writer
        .commit_task(&run, &task_record("start", vec![]))
        .await
        .unwrap();
    for i in 0..2 {
        writer
            .commit_task(&run, &task_record("work", vec![i]))
            .await
            .unwrap();
    }
    assert_eq!(
        keys(&memory),
        [
            "TestFlow/runs/r1/steps/start/0/foreach.json",
            "TestFlow/runs/r1/steps/start/0/task.json",
            "TestFlow/runs/r1/steps/work/0/task.json",
            "TestFlow/runs/r1/steps/work/1/task.json",
        ]
    );
    // A reader that would write segments reads the files, and a step with tasks in both
    // (a segment appended after the files) lists each task once.
    let reader = RunStore::new(memory.clone(), "TestFlow");
    let root = TaskId::new("start", IndexPath::root());
    assert_eq!(reader.task(&run, &root).await.unwrap().unwrap().task, root);
    let mut moved = task_record("work", vec![1]);
    moved.cloned_from = Some(RunId::new("r0").unwrap());
    reader.commit_task(&run, &moved).await.unwrap();
    reader
        .commit_task(&run, &task_record("work", vec![2]))
        .await
        .unwrap();
    let tasks = reader.tasks(&run, "work").await.unwrap();
    let indexes: Vec<Vec<usize>> = tasks.iter().map(|r| r.task.index.0.clone()).collect();
    assert_eq!(indexes, [vec![0], vec![1], vec![2]]);
    assert!(tasks[1].cloned_from.is_some(), "the segment's record wins");
}

#[tokio::test]
async fn a_torn_frame_is_not_committed_and_a_foreign_file_is_an_error() {
    let (memory, store) = appending_store();
    let run = RunId::new("r1").unwrap();
    for i in 0..2 {
        store
            .commit_task(&run, &task_record("work", vec![i]))
            .await
            .unwrap();
    }
    let key = store.layout().step_segment(&run, "work");
    let frame = crate::datastore::encode_frame(&task_record("work", vec![2]));
    memory
        .append(&key, frame[..frame.len() - 1].to_vec())
        .await
        .unwrap();
    let reader = RunStore::new(memory.clone(), "TestFlow");
    assert_eq!(reader.tasks(&run, "work").await.unwrap().len(), 2);
    let torn = TaskId::new("work", IndexPath(vec![2]));
    assert!(reader.task(&run, &torn).await.unwrap().is_none());

    memory
        .put(&key, b"not a segment at all".to_vec())
        .await
        .unwrap();
    let error = RunStore::new(memory.clone(), "TestFlow")
        .tasks(&run, "work")
        .await
        .unwrap_err();
    let text = crate::datastore::error_chain(&error);
    assert!(
        text.contains(&key) && text.contains("not a task segment"),
        "{text}"
    );
}

#[tokio::test]
async fn a_store_that_cannot_append_keeps_one_file_per_task() {
    let (memory, store) = store();
    let run = RunId::new("r1").unwrap();
    store
        .commit_task(&run, &task_record("work", vec![0]))
        .await
        .unwrap();
    assert_eq!(keys(&memory), ["TestFlow/runs/r1/steps/work/0/task.json"]);
    assert_eq!(store.tasks(&run, "work").await.unwrap().len(), 1);
}

/// The steps whose segments `store` holds what it read of.
fn cached_steps(store: &RunStore) -> BTreeSet<String> {
    let cache = store.segments.lock().unwrap();
    cache
        .segments
        .keys()
        .map(|key| key.split('/').nth_back(1).unwrap().to_string())
        .collect()
}

/// Where the reads of `step`'s segment since `since` started.
fn read_offsets(memory: &MemoryStore, run: &RunId, step: &str, since: usize) -> Vec<u64> {
    let key = Layout::new("TestFlow").step_segment(run, step);
    memory.reads_from.lock().unwrap()[since..]
        .iter()
        .filter(|(k, _)| *k == key)
        .map(|(_, offset)| *offset)
        .collect()
}

#[tokio::test]
async fn the_segments_read_are_cached_up_to_a_bound_and_read_again_once_dropped() {
    let (memory, writer) = appending_store();
    let run = RunId::new("r1").unwrap();
    let steps: Vec<String> = (0..CACHED_SEGMENTS + 8).map(|s| format!("s{s}")).collect();
    for step in &steps {
        for i in 0..3 {
            writer
                .commit_task(&run, &task_record(step, vec![i]))
                .await
                .unwrap();
        }
    }
    let reader = RunStore::new(memory.clone(), "TestFlow");
    let check = |records: Vec<TaskRecord>, step: &str, count: usize| {
        let ids: Vec<TaskId> = records.into_iter().map(|r| r.task).collect();
        let want: Vec<TaskId> = (0..count)
            .map(|i| TaskId::new(step, IndexPath(vec![i])))
            .collect();
        assert_eq!(ids, want, "step {step}");
    };
    // Step s0 is read (3 records cached), then grows while cached: the next read starts
    // where the cache stopped and finds the new record.
    check(reader.tasks(&run, "s0").await.unwrap(), "s0", 3);
    writer
        .commit_task(&run, &task_record("s0", vec![3]))
        .await
        .unwrap();
    let since = memory.reads_from.lock().unwrap().len();
    check(reader.tasks(&run, "s0").await.unwrap(), "s0", 4);
    let offsets = read_offsets(&memory, &run, "s0", since);
    assert!(offsets.len() == 1 && offsets[0] > 0, "{offsets:?}");
    // Every other step is read, one task at a time, s1 used again after each: the cache
    // never holds more than the bound, drops s0 (used least recently), and keeps s1, read
    // once.
    let since = memory.reads_from.lock().unwrap().len();
    for step in &steps[1..] {
        for i in 0..3 {
            let id = TaskId::new(step.as_str(), IndexPath(vec![i]));
            assert_eq!(reader.task(&run, &id).await.unwrap().unwrap().task, id);
        }
        let id = TaskId::new("s1", IndexPath(vec![0]));
        assert_eq!(reader.task(&run, &id).await.unwrap().unwrap().task, id);
        assert!(cached_steps(&reader).len() <= CACHED_SEGMENTS);
    }
    let cached = cached_steps(&reader);
    assert_eq!(cached.len(), CACHED_SEGMENTS);
    assert!(
        !cached.contains("s0") && cached.contains("s1"),
        "{cached:?}"
    );
    assert_eq!(read_offsets(&memory, &run, "s1", since), [0]);
    // s0 grows after it was dropped; read again, from its start, it has every record.
    writer
        .commit_task(&run, &task_record("s0", vec![4]))
        .await
        .unwrap();
    let since = memory.reads_from.lock().unwrap().len();
    let id = TaskId::new("s0", IndexPath(vec![4]));
    assert_eq!(reader.task(&run, &id).await.unwrap().unwrap().task, id);
    assert_eq!(read_offsets(&memory, &run, "s0", since), [0]);
    check(reader.tasks(&run, "s0").await.unwrap(), "s0", 5);
    // And every step read again gives all its records, the cache still bounded.
    for step in &steps[1..] {
        check(reader.tasks(&run, step).await.unwrap(), step, 3);
        assert!(cached_steps(&reader).len() <= CACHED_SEGMENTS);
    }
    // A task looked up in a cached segment is not read from the store again.
    let before = *memory.reads.lock().unwrap();
    let last = steps.last().unwrap();
    let id = TaskId::new(last.as_str(), IndexPath(vec![2]));
    assert_eq!(reader.task(&run, &id).await.unwrap().unwrap().task, id);
    assert_eq!(*memory.reads.lock().unwrap(), before);
}

#[tokio::test]
async fn a_segment_dropped_from_the_cache_during_a_read_is_read_again_from_its_start() {
    let (memory, writer) = appending_store();
    let run = RunId::new("r1").unwrap();
    for i in 0..3 {
        writer
            .commit_task(&run, &task_record("work", vec![i]))
            .await
            .unwrap();
    }
    let reader = RunStore::new(memory.clone(), "TestFlow");
    assert_eq!(reader.tasks(&run, "work").await.unwrap().len(), 3);
    writer
        .commit_task(&run, &task_record("work", vec![3]))
        .await
        .unwrap();
    // While the reader reads what was appended, its cache drops the segment (as reads of
    // other segments would): the frames it read are not the whole segment.
    let other = reader.clone();
    *memory.on_read_from.lock().unwrap() = Some(Box::new(move || {
        other.segments.lock().unwrap().segments.clear();
    }));
    let since = memory.reads_from.lock().unwrap().len();
    let late = TaskId::new("work", IndexPath(vec![3]));
    assert_eq!(reader.task(&run, &late).await.unwrap().unwrap().task, late);
    let offsets = read_offsets(&memory, &run, "work", since);
    assert!(
        offsets.len() == 2 && offsets[0] > 0 && offsets[1] == 0,
        "{offsets:?}"
    );
    assert!(memory.on_read_from.lock().unwrap().is_none());
    let indexes: Vec<Vec<usize>> = reader
        .tasks(&run, "work")
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.task.index.0)
        .collect();
    assert_eq!(indexes, [vec![0], vec![1], vec![2], vec![3]]);
}

#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
struct Parent {
    big: Vec<u64>,
    label: String,
    item: u32,
}

#[tokio::test]
async fn a_state_and_a_stored_state_read_the_same_fields_sharing_defaults_and_cached_blobs() {
    use crate::artifacts::field_span;
    use crate::inherited::Inherited;
    let (memory, store) = store();
    let run = RunId::new("r1").unwrap();
    let parent = Parent {
        big: (0..1000).collect(),
        label: "parent".into(),
        item: 7,
    };
    let mut records = Vec::new();
    for i in 0..2 {
        let mut record = task_record("work", vec![i]);
        let state = Parent {
            item: i as u32,
            ..parent.clone()
        };
        record.artifacts = store.save_state(&run, &record.task, &state).await.unwrap();
        records.push(record);
    }
    assert!(
        records[0].artifacts["big"].inline.is_none(),
        "big is a blob"
    );
    let inherited = Inherited::new(&parent, &[field_span(&parent.item)]).unwrap();
    let item = Parent {
        item: 1,
        ..Parent::default()
    };

    // Decoded: every field read, or the inherited ones at their default.
    let whole: Parent = store.load_state(&run, &records[1]).await.unwrap();
    assert_eq!(whole.big, parent.big);
    assert_eq!((whole.label.as_str(), whole.item), ("parent", 1));
    let except: Parent = store
        .load_state_except(&run, &records[1], Some(&inherited))
        .await
        .unwrap();
    assert_eq!(except, item);

    // Stored: the same fields; an inherited one is its default's buffer, not a copy.
    let mut cache = BlobCache::new();
    let stored = store
        .load_stored_except(&run, &records[1], &mut cache, Some(&inherited))
        .await
        .unwrap();
    assert_eq!(stored.decode::<Parent>().unwrap(), item);
    let default = inherited.default_field("big").unwrap();
    assert_eq!(stored.field("big").unwrap().as_ptr(), default.as_ptr());
    let big = &records[1].artifacts["big"].hash;
    assert!(!cache.contains_key(big), "the blob was not read");

    // Two stored states with the same blob share one buffer, read once.
    let first = store
        .load_stored(&run, &records[0], &mut cache)
        .await
        .unwrap();
    let reads = *memory.reads.lock().unwrap();
    let second = store
        .load_stored(&run, &records[1], &mut cache)
        .await
        .unwrap();
    assert_eq!(*memory.reads.lock().unwrap(), reads);
    assert_eq!(
        first.field("big").unwrap().as_ptr(),
        second.field("big").unwrap().as_ptr()
    );
    assert_eq!(second.decode::<Parent>().unwrap(), whole);
}
