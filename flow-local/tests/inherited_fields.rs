//! A foreach's items do not copy the fields their body does not name: each starts from a
//! state without them, they are filled in for a later step that may reach them, and the
//! join reads them through its inputs as if every item held them. Each case checks what
//! the steps saw and what the run stored.

use flow_core::prelude::*;
use flow_local::Runner;

const ITEMS: usize = 40;

static CLONES: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// A value that counts its clones (of its contents: an empty one costs nothing to copy).
#[derive(Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Counted(pub Vec<u8>);

impl Clone for Counted {
    fn clone(&self) -> Self {
        if !self.0.is_empty() {
            CLONES.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }
        Counted(self.0.clone())
    }
}

fn list() -> Vec<u64> {
    (0..5000).collect()
}

/// The body names only `value`; `check` after it reads `big`, so the item's state gets it
/// back there; the join reads `big` of every input, two inputs at once, and merges.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Inheriting {
    pub big: Vec<u64>,
    pub label: String,
    pub items: Vec<usize>,
    pub value: u64,
    pub seen: usize,
    pub total: u64,
    pub lengths: Vec<usize>,
    pub counted: Counted,
}

#[flow]
impl Inheriting {
    #[step(foreach = items, next = body)]
    fn start(&mut self) {
        self.big = list();
        self.label = "inherited".into();
        self.items = (0..ITEMS).collect();
        self.counted = Counted(vec![1; 1000]);
    }

    #[step(next = check)]
    fn body(&mut self, item: &usize) {
        self.value = *item as u64 * 3;
    }

    #[step(next = join)]
    fn check(&mut self) {
        self.seen = self.big.len() + self.label.len();
    }

    #[step(next = end)]
    fn join(&mut self, inputs: Inputs<Self>) {
        inputs
            .merge_artifacts(self, &["value", "seen"])
            .expect("the items agree on what they inherited");
        self.total = inputs.iter().map(|i| i.value).sum();
        self.lengths = inputs.iter().map(|i| i.seen).collect();
        // Two inputs read at once: the second does not get the shared fields lent, it
        // decodes them, and both see the same values.
        let (a, b) = (inputs.get(0).unwrap(), inputs.get(ITEMS - 1).unwrap());
        assert_eq!(a.big, b.big);
        assert_eq!(a.label, "inherited");
        assert_eq!(b.label, "inherited");
        drop((a, b));
        assert!(inputs.iter().all(|i| i.big.len() == 5000));
        let states = inputs.into_states();
        assert!(states
            .iter()
            .all(|s| s.big == list() && s.label == "inherited"));
    }

    #[step]
    fn end(&mut self) {}
}

async fn run_inheriting(join_memory: u64) {
    let dir = tempfile::tempdir().unwrap();
    let clones_before = CLONES.load(std::sync::atomic::Ordering::SeqCst);
    let run = Runner::<Inheriting>::new()
        .datastore(dir.path())
        .join_memory(join_memory)
        .run()
        .await
        .unwrap();
    assert!(run.succeeded(), "{:?}", run.error());
    let start = run.task("start", &[]).await.unwrap();
    let big = start.record().artifacts["big"].hash.clone();
    for i in 0..ITEMS {
        // What each task stored is the whole state: the inherited fields by reference.
        for step in ["body", "check"] {
            let task = run.task(step, &[i]).await.unwrap();
            assert_eq!(task.record().artifacts["big"].hash, big, "{step}/{i}");
            let state = task.state().await.unwrap();
            assert_eq!(state.big, list());
            assert_eq!(state.label, "inherited");
            assert_eq!(state.value, i as u64 * 3);
        }
    }
    let end = run.stored().await.unwrap().end_state().await.unwrap();
    let n = ITEMS as u64;
    assert_eq!(end.total, 3 * n * (n - 1) / 2);
    assert_eq!(end.lengths, vec![5000 + "inherited".len(); ITEMS]);
    assert_eq!(end.big, list());
    assert_eq!(end.counted.0, vec![1; 1000]);
    // No item copied the state it fanned out from: a couple of clones in all, not one per
    // item (the two tests of this flow may run at once, hence the margin).
    let clones = CLONES.load(std::sync::atomic::Ordering::SeqCst) - clones_before;
    assert!(clones < ITEMS, "{clones} clones for {ITEMS} items");
}

#[tokio::test]
async fn items_inherit_without_copies_and_every_reader_sees_the_values() {
    // The join's inputs held as states.
    run_inheriting(u64::MAX).await;
}

#[tokio::test]
async fn inputs_held_encoded_also_read_what_they_inherit() {
    run_inheriting(0).await;
}

/// A body that fails is caught: the state it leaves, and the join's view of it, still hold
/// what it inherited.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct CaughtItems {
    pub big: Vec<u64>,
    pub items: Vec<usize>,
    pub value: u64,
    pub sums: Vec<u64>,
}

#[flow]
impl CaughtItems {
    #[step(foreach = items, next = body)]
    fn start(&mut self) {
        self.big = list();
        self.items = (0..6).collect();
    }

    #[step(next = join, catch)]
    fn body(&mut self, item: &usize) -> Result<(), String> {
        self.value = *item as u64;
        if item % 2 == 1 {
            return Err(format!("item {item} is odd"));
        }
        Ok(())
    }

    #[step(next = end)]
    fn join(&mut self, inputs: Inputs<Self>) {
        self.sums = inputs
            .iter()
            .map(|i| i.value + i.big.iter().sum::<u64>())
            .collect();
    }

    #[step]
    fn end(&mut self) {}
}

#[tokio::test]
async fn a_caught_item_keeps_what_it_inherited() {
    let dir = tempfile::tempdir().unwrap();
    let run = Runner::<CaughtItems>::new()
        .datastore(dir.path())
        .run()
        .await
        .unwrap();
    assert!(run.succeeded(), "{:?}", run.error());
    let sum: u64 = list().iter().sum();
    let end = run.stored().await.unwrap().end_state().await.unwrap();
    assert_eq!(end.sums, (0..6).map(|i| i + sum).collect::<Vec<_>>());
    let caught = run.task("body", &[1]).await.unwrap();
    assert_eq!(caught.state().await.unwrap().big, list());
}

/// An inner foreach inside an item: the item's state gets its inherited fields back before
/// it fans out again, and the inner items inherit in their turn.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Nested {
    pub big: Vec<u64>,
    pub outer: Vec<u64>,
    pub inner: Vec<u64>,
    pub value: u64,
    pub totals: Vec<u64>,
}

#[flow]
impl Nested {
    #[step(foreach = outer, next = fan)]
    fn start(&mut self) {
        self.big = list();
        self.outer = vec![10, 20, 30];
    }

    #[step(foreach = inner, next = leaf)]
    fn fan(&mut self, item: &u64) {
        self.value = *item;
        self.inner = vec![*item + 1, *item + 2];
    }

    #[step(next = inner_join)]
    fn leaf(&mut self, item: &u64) {
        self.value = *item;
    }

    #[step(next = outer_join)]
    fn inner_join(&mut self, inputs: Inputs<Self>) {
        self.value = inputs.iter().map(|i| i.value + i.big.len() as u64).sum();
    }

    #[step(next = end)]
    fn outer_join(&mut self, inputs: Inputs<Self>) {
        self.totals = inputs.iter().map(|i| i.value).collect();
        assert!(inputs.iter().all(|i| i.big == list()));
    }

    #[step]
    fn end(&mut self) {}
}

#[tokio::test]
async fn nested_foreaches_inherit_at_each_level() {
    let dir = tempfile::tempdir().unwrap();
    let run = Runner::<Nested>::new()
        .datastore(dir.path())
        .run()
        .await
        .unwrap();
    assert!(run.succeeded(), "{:?}", run.error());
    let end = run.stored().await.unwrap().end_state().await.unwrap();
    // Each outer item x sums (x + 1 + 5000) + (x + 2 + 5000).
    assert_eq!(end.totals, vec![10023, 10043, 10063]);
}

static FAIL_ITEM: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(true);
static RESUME_CLONES: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// A value that counts copies of its contents, for the resume test alone.
#[derive(Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct CountedToo(pub Vec<u8>);

impl Clone for CountedToo {
    fn clone(&self) -> Self {
        if !self.0.is_empty() {
            RESUME_CLONES.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }
        CountedToo(self.0.clone())
    }
}

/// Item 7 fails until the cause goes away; `check` reads what the items inherit.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ResumedItems {
    pub big: Vec<u64>,
    pub counted: CountedToo,
    pub items: Vec<usize>,
    pub value: u64,
    pub seen: usize,
    pub values: Vec<u64>,
}

#[flow]
impl ResumedItems {
    #[step(foreach = items, next = body)]
    fn start(&mut self) {
        self.big = list();
        self.counted = CountedToo(vec![2; 1000]);
        self.items = (0..ITEMS).collect();
    }

    #[step(next = check)]
    fn body(&mut self, item: &usize) -> Result<(), String> {
        if *item == 7 && FAIL_ITEM.load(std::sync::atomic::Ordering::SeqCst) {
            return Err("item 7 fails".into());
        }
        self.value = *item as u64;
        Ok(())
    }

    #[step(next = join)]
    fn check(&mut self) {
        self.seen = self.big.len();
    }

    #[step(next = end)]
    fn join(&mut self, inputs: Inputs<Self>) {
        self.values = inputs
            .iter()
            .map(|i| i.value + i.seen as u64 + i.counted.0.len() as u64)
            .collect();
    }

    #[step]
    fn end(&mut self) {}
}

#[tokio::test]
async fn a_resumed_foreach_clones_its_items_without_what_they_inherit() {
    let dir = tempfile::tempdir().unwrap();
    let origin = Runner::<ResumedItems>::new()
        .datastore(dir.path())
        .max_workers(1)
        .run()
        .await
        .unwrap();
    assert!(!origin.succeeded());
    FAIL_ITEM.store(false, std::sync::atomic::Ordering::SeqCst);
    let before = RESUME_CLONES.load(std::sync::atomic::Ordering::SeqCst);
    let resumed = Runner::<ResumedItems>::new()
        .datastore(dir.path())
        .resume(None, None)
        .await
        .unwrap();
    assert!(resumed.succeeded(), "{:?}", resumed.error());
    let end = resumed.end_state().await.unwrap();
    let expected: Vec<u64> = (0..ITEMS as u64).map(|i| i + 5000 + 1000).collect();
    assert_eq!(end.values, expected);
    // The items that succeeded were cloned, not run again, and none of them (nor those
    // that ran) copied what they inherit.
    let cloned = resumed.task("body", &[0]).await.unwrap();
    assert!(cloned.was_cloned());
    assert!(!resumed.task("body", &[7]).await.unwrap().was_cloned());
    let clones = RESUME_CLONES.load(std::sync::atomic::Ordering::SeqCst) - before;
    assert!(clones < ITEMS / 2, "{clones} copies for {ITEMS} items");
    // What each cloned task stored still holds every field.
    let state = cloned.state().await.unwrap();
    assert_eq!(state.big, list());
    assert_eq!(state.counted.0, vec![2; 1000]);
}
