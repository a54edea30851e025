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
