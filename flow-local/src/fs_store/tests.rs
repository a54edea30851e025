use super::*;

#[tokio::test]
async fn put_get_list_and_claims() {
    let dir = tempfile::tempdir().unwrap();
    let store = FsStore::new(dir.path());
    store.put("F/runs/a/run.json", b"1".to_vec()).await.unwrap();
    store.put("F/runs/a/run.json", b"2".to_vec()).await.unwrap();
    assert_eq!(
        store.get("F/runs/a/run.json").await.unwrap(),
        Some(b"2".to_vec())
    );
    assert!(store
        .put_if_absent("F/runs/b/run.json", b"x".to_vec())
        .await
        .unwrap());
    assert!(!store
        .put_if_absent("F/runs/b/run.json", b"y".to_vec())
        .await
        .unwrap());
    assert_eq!(
        store.get("F/runs/b/run.json").await.unwrap(),
        Some(b"x".to_vec())
    );
    assert_eq!(store.list("F/runs/").await.unwrap(), vec!["a", "b"]);
    assert_eq!(store.get("F/none").await.unwrap(), None);
    assert!(store.put("../escape", vec![]).await.is_err());
    assert!(store.get("F/../../etc/passwd").await.is_err());
    // No temporary files are left behind.
    let names: Vec<_> = std::fs::read_dir(dir.path().join("F/runs/b"))
        .unwrap()
        .collect();
    assert_eq!(names.len(), 1);
    store.flush().await.unwrap();
}

#[tokio::test]
async fn every_durability_writes_the_same_files() {
    for durability in [Durability::Batched, Durability::Always, Durability::Off] {
        let dir = tempfile::tempdir().unwrap();
        let store = FsStore::new(dir.path()).with_durability(durability);
        store
            .put("F/runs/r/steps/a/0/task.json", b"{}".to_vec())
            .await
            .unwrap();
        assert!(store
            .put_if_absent("F/blobs/ab/abcd", b"xyz".to_vec())
            .await
            .unwrap());
        store.flush().await.unwrap();
        store.flush().await.unwrap();
        assert_eq!(store.get("F/blobs/ab/abcd").await.unwrap().unwrap(), b"xyz");
    }
}

#[tokio::test]
async fn a_torn_blob_is_rewritten_and_a_claimed_record_is_not() {
    let dir = tempfile::tempdir().unwrap();
    let store = FsStore::new(dir.path());
    // What a power loss can leave: the name of a blob whose bytes never reached the disk.
    std::fs::create_dir_all(dir.path().join("F/blobs/ab")).unwrap();
    std::fs::write(dir.path().join("F/blobs/ab/abcd"), b"").unwrap();
    assert!(store
        .put_if_absent("F/blobs/ab/abcd", b"xyz".to_vec())
        .await
        .unwrap());
    assert_eq!(store.get("F/blobs/ab/abcd").await.unwrap().unwrap(), b"xyz");
    assert!(!store
        .put_if_absent("F/blobs/ab/abcd", b"xyz".to_vec())
        .await
        .unwrap());
    // Outside blobs, an existing object is never replaced, whatever its size.
    store
        .put("F/runs/r/run.json", b"claimed".to_vec())
        .await
        .unwrap();
    assert!(!store
        .put_if_absent("F/runs/r/run.json", b"other run".to_vec())
        .await
        .unwrap());
    assert_eq!(
        store.get("F/runs/r/run.json").await.unwrap().unwrap(),
        b"claimed"
    );
}

#[tokio::test]
async fn leftovers_of_dead_writers_are_removed_and_never_listed() {
    let dir = tempfile::tempdir().unwrap();
    let store = FsStore::new(dir.path());
    store
        .put("F/runs/r/steps/a/0/task.json", b"{}".to_vec())
        .await
        .unwrap();
    let task_dir = dir.path().join("F/runs/r/steps/a/0");
    // A process id above the kernel's maximum (2^22) is never alive.
    let dead = task_dir.join(".tmp-4999999-7");
    let live = task_dir.join(format!(".tmp-{}-8", std::process::id()));
    std::fs::write(&dead, b"half a rec").unwrap();
    std::fs::write(&live, b"being written").unwrap();
    assert_eq!(
        store.list("F/runs/r/steps/a/0/").await.unwrap(),
        vec!["task.json"]
    );
    assert_eq!(store.remove_leftovers("F/runs/r/").await.unwrap(), 1);
    assert!(!dead.exists());
    assert!(live.exists());
    assert_eq!(store.remove_leftovers("F/runs/none/").await.unwrap(), 0);
}

/// A flush syncs exactly the files this store wrote and the directories whose entries it
/// changed: another writer hammering the same file system (plain files and a second store)
/// is never synced, so a run's durability does not wait on it.
#[tokio::test]
async fn a_flush_syncs_only_what_its_store_wrote() {
    let dir = tempfile::tempdir().unwrap();
    let store = FsStore::new(dir.path()).with_durability(Durability::Batched);
    let other = FsStore::new(dir.path()).with_durability(Durability::Batched);
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let hammer = {
        let stop = stop.clone();
        let root = dir.path().join("noise");
        std::thread::spawn(move || {
            std::fs::create_dir_all(&root).unwrap();
            let mut n = 0u64;
            while !stop.load(Ordering::Relaxed) || n < 100 {
                std::fs::write(root.join(format!("f{}", n % 50)), vec![7u8; 4096]).unwrap();
                n += 1;
            }
            n
        })
    };
    let mut mine = HashSet::new();
    for i in 0..20 {
        let key = format!("F/runs/r/steps/a/{i}/task.json");
        store.put(&key, b"{}".to_vec()).await.unwrap();
        mine.insert(dir.path().join(&key));
        other
            .put(&format!("G/runs/r/steps/a/{i}/task.json"), b"{}".to_vec())
            .await
            .unwrap();
    }
    assert!(store
        .put_if_absent("F/blobs/ab/abcd", b"xyz".to_vec())
        .await
        .unwrap());
    mine.insert(dir.path().join("F/blobs/ab/abcd"));
    store.flush().await.unwrap();
    stop.store(true, Ordering::Relaxed);
    assert!(hammer.join().unwrap() >= 100);

    let synced: Vec<PathBuf> = store.sync.synced_paths.lock().unwrap().clone();
    let files: HashSet<PathBuf> = synced.iter().filter(|p| p.is_file()).cloned().collect();
    assert_eq!(
        files, mine,
        "a flush syncs exactly the files its store wrote"
    );
    let dirs: HashSet<PathBuf> = synced.iter().filter(|p| p.is_dir()).cloned().collect();
    let root = dir.path().to_path_buf();
    for file in &mine {
        // Its directory and every directory made for it, up to the root.
        let mut at = file.parent();
        while let Some(d) = at.filter(|d| d.starts_with(&root)) {
            assert!(dirs.contains(d), "{} is not synced", d.display());
            at = d.parent();
        }
    }
    for path in &synced {
        assert!(
            !path.starts_with(root.join("noise")) && !path.starts_with(root.join("G")),
            "a flush synced another writer's {}",
            path.display()
        );
    }
    // Nothing written since: the next flush syncs nothing.
    store.flush().await.unwrap();
    assert_eq!(store.sync.synced_paths.lock().unwrap().len(), synced.len());
    // A rewrite is synced again, alone with its directory.
    store
        .put("F/runs/r/steps/a/3/task.json", b"{\"x\":1}".to_vec())
        .await
        .unwrap();
    store.flush().await.unwrap();
    assert_eq!(
        store.sync.synced_paths.lock().unwrap()[synced.len()..],
        [
            dir.path().join("F/runs/r/steps/a/3/task.json"),
            dir.path().join("F/runs/r/steps/a/3"),
        ]
    );
}

/// Appends go to one file kept open; a flush syncs it (and the directories made for it)
/// once, however many frames it got, and nothing it did not write.
#[tokio::test]
async fn appends_are_synced_by_the_next_flush_as_one_file() {
    let dir = tempfile::tempdir().unwrap();
    let store = FsStore::new(dir.path()).with_durability(Durability::Batched);
    let other = FsStore::new(dir.path()).with_durability(Durability::Batched);
    assert!(store.can_append());
    let key = "F/runs/r/steps/work/tasks.seg";
    let segment = dir.path().join(key);
    let mut expected = Vec::new();
    for i in 0..50u8 {
        let frame = vec![i; 1 + i as usize];
        store.append(key, frame.clone()).await.unwrap();
        expected.extend(frame);
        other
            .append("G/runs/r/steps/work/tasks.seg", vec![i])
            .await
            .unwrap();
    }
    assert_eq!(store.get(key).await.unwrap().unwrap(), expected);
    assert_eq!(
        store.get_from(key, 10).await.unwrap().unwrap(),
        expected[10..]
    );
    assert_eq!(
        store.get_from(key, 10_000).await.unwrap().unwrap(),
        Vec::<u8>::new()
    );
    assert_eq!(store.get_from("F/none", 0).await.unwrap(), None);
    store.flush().await.unwrap();
    let synced: Vec<PathBuf> = store.sync.synced_paths.lock().unwrap().clone();
    let files: Vec<&PathBuf> = synced.iter().filter(|p| p.is_file()).collect();
    assert_eq!(files, [&segment], "one file synced for 50 appends");
    let mut at = segment.parent();
    while let Some(d) = at.filter(|d| d.starts_with(dir.path())) {
        assert!(
            synced.contains(&d.to_path_buf()),
            "{} not synced",
            d.display()
        );
        at = d.parent();
    }
    assert!(
        synced.iter().all(|p| !p.starts_with(dir.path().join("G"))),
        "a flush synced another store's segment"
    );
    // Nothing appended since: nothing to sync; one more append: the file and its directory.
    store.flush().await.unwrap();
    assert_eq!(store.sync.synced_paths.lock().unwrap().len(), synced.len());
    store.append(key, b"more".to_vec()).await.unwrap();
    store.flush().await.unwrap();
    assert_eq!(
        store.sync.synced_paths.lock().unwrap()[synced.len()..],
        [segment.clone(), segment.parent().unwrap().to_path_buf()]
    );
    expected.extend(b"more");
    assert_eq!(std::fs::read(&segment).unwrap(), expected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn appends_from_many_tasks_never_interleave() {
    for durability in [Durability::Batched, Durability::Always, Durability::Off] {
        let dir = tempfile::tempdir().unwrap();
        let store = FsStore::new(dir.path()).with_durability(durability);
        let key = "F/runs/r/steps/work/tasks.seg";
        let writers: Vec<_> = (0..8u8)
            .map(|w| {
                let store = store.clone();
                tokio::spawn(async move {
                    for _ in 0..20 {
                        store.append(key, vec![b'a' + w; 4000]).await.unwrap();
                    }
                })
            })
            .collect();
        for writer in writers {
            writer.await.unwrap();
        }
        store.flush().await.unwrap();
        let bytes = store.get(key).await.unwrap().unwrap();
        assert_eq!(bytes.len(), 8 * 20 * 4000);
        for chunk in bytes.chunks(4000) {
            assert!(chunk.iter().all(|&b| b == chunk[0]), "{durability:?}");
        }
    }
}

/// A whole run's durability covers its own writes only: while another process hammers the
/// same file system, every path the run's flushes synced is the run's own (its flow's
/// folder: run record, segments, blobs), and the run's segments are among them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_runs_flushes_never_sync_another_writers_files() {
    use flow_core::prelude::*;

    #[derive(Debug, Clone, Default, Serialize, Deserialize)]
    struct Hammered {
        items: Vec<u64>,
        big: Vec<u8>,
        value: u64,
        total: u64,
    }

    #[flow]
    impl Hammered {
        #[step(foreach = items, next = body)]
        fn start(&mut self) {
            self.items = (0..200).collect();
            self.big = vec![3; 10_000];
        }

        #[step(next = twice)]
        fn body(&mut self, item: &u64) {
            self.value = *item;
        }

        #[step(next = join)]
        fn twice(&mut self) {
            self.value *= 2;
        }

        #[step(next = end)]
        fn join(&mut self, inputs: Inputs<Self>) {
            self.total = inputs.iter().map(|i| i.value).sum();
        }

        #[step]
        fn end(&mut self) {}
    }

    let dir = tempfile::tempdir().unwrap();
    let store = FsStore::new(dir.path().join("store")).with_durability(Durability::Batched);
    // Another process, writing files on the same file system for as long as the run lasts.
    let noise = dir.path().join("noise");
    std::fs::create_dir_all(&noise).unwrap();
    /// The writer, stopped when the test ends, also when it fails before stopping it.
    struct Hammer(std::process::Child);
    impl Drop for Hammer {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let mut hammer = Hammer(
        std::process::Command::new("sh")
            .arg("-c")
            .arg("i=0; while :; do head -c 4096 /dev/zero > f$((i % 50)); i=$((i + 1)); done")
            .current_dir(&noise)
            .spawn()
            .expect("sh runs"),
    );
    // It is writing before the run starts.
    while std::fs::read_dir(&noise).unwrap().count() < 10 {
        assert!(hammer.0.try_wait().unwrap().is_none(), "the writer exited");
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    let run = crate::Runner::<Hammered>::new()
        .store(Arc::new(store.clone()))
        .run()
        .await
        .unwrap();
    let still_writing = hammer.0.try_wait().unwrap().is_none();
    drop(hammer);
    assert!(
        still_writing,
        "the other writer stopped before the run ended"
    );
    assert!(run.succeeded(), "{:?}", run.error());
    assert_eq!(
        run.stored().await.unwrap().end_state().await.unwrap().total,
        2 * (0..200).sum::<u64>()
    );
    let synced: Vec<PathBuf> = store.sync.synced_paths.lock().unwrap().clone();
    let own = dir.path().join("store");
    for path in &synced {
        assert!(
            path.starts_with(&own),
            "a flush synced {}, not the run's",
            path.display()
        );
    }
    let run_dir = own.join("Hammered/runs").join(run.id().as_str());
    for step in ["start", "body", "twice", "join", "end"] {
        let segment = run_dir.join("steps").join(step).join("tasks.seg");
        assert!(
            synced.contains(&segment),
            "{} was never synced",
            segment.display()
        );
    }
    assert!(synced.contains(&run_dir.join("run.json")));
}
