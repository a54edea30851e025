//! A task does not encode, hash or store again a field its step does not name: `#[flow]`
//! sees which fields a step's body names (`self.<field>`), and the task refers to its
//! parent's artifact for the others. A body that uses `self` any other way (a method call,
//! `*self = ...`, `self` passed whole) stores every field, as does a field renamed for serde
//! that the body names. Each case counts how often a field was encoded and checks that what
//! the run stored is what the steps left.

use flow_core::prelude::*;
use flow_local::Runner;
use std::sync::atomic::{AtomicUsize, Ordering};

/// A value that counts how often it is encoded, per flow (each test runs its own flow).
macro_rules! counted {
    ($name:ident, $counter:ident) => {
        static $counter: AtomicUsize = AtomicUsize::new(0);

        #[derive(Debug, Clone, Default, PartialEq, Deserialize)]
        pub struct $name(pub Vec<u64>);

        impl $name {
            /// How many times one encoding of a value calls `serialize` (the codec may
            /// measure before it writes): the unit the counts below are in.
            fn calls_per_encoding() -> usize {
                let before = $counter.load(Ordering::SeqCst);
                flow_core::artifacts::encode_value(&$name(vec![1])).unwrap();
                let calls = $counter.load(Ordering::SeqCst) - before;
                $counter.fetch_sub(calls, Ordering::SeqCst);
                calls
            }
        }

        impl Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                $counter.fetch_add(1, Ordering::SeqCst);
                self.0.serialize(s)
            }
        }
    };
}

counted!(ListA, ENCODED_A);

const ITEMS: u64 = 30;

/// The body names only `value`: the item list is encoded once, by `start`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Untouched {
    pub elems: ListA,
    pub items: Vec<u64>,
    pub value: u64,
    pub total: u64,
}

#[flow]
impl Untouched {
    #[step(foreach = items, next = body)]
    fn start(&mut self) {
        self.elems = ListA((0..1000).collect());
        self.items = (0..ITEMS).collect();
    }

    #[step(next = join)]
    fn body(&mut self, item: &u64) {
        self.value = item * 2;
    }

    #[step(next = end)]
    fn join(&mut self, inputs: Inputs<Self>) {
        self.total = inputs.iter().map(|i| i.value).sum();
    }

    #[step]
    fn end(&mut self) {}
}

#[tokio::test]
async fn a_field_no_step_names_is_encoded_once_and_every_task_refers_to_it() {
    let dir = tempfile::tempdir().unwrap();
    let run = Runner::<Untouched>::new()
        .datastore(dir.path())
        .join_memory(0)
        .run()
        .await
        .unwrap();
    assert!(run.succeeded(), "{:?}", run.error());
    // `start` names it (encoded once there); the fan-out encodes it once more, with its
    // default, for what every item inherits (held once, lent to the join's inputs); the
    // body and `join` name only `value` and `total`, `end` nothing. Reading the join's
    // inputs decodes, it does not encode. Nothing here grows with the number of items.
    let unit = ListA::calls_per_encoding();
    assert_eq!(ENCODED_A.load(Ordering::SeqCst), 3 * unit);
    let stored = run.stored().await.unwrap();
    let start = run.task("start", &[]).await.unwrap();
    let parent_hash = start.record().artifacts["elems"].hash.clone();
    for i in 0..ITEMS as usize {
        let body = run.task("body", &[i]).await.unwrap();
        assert_eq!(body.record().artifacts["elems"].hash, parent_hash);
        let state = body.state().await.unwrap();
        assert_eq!(state.value, i as u64 * 2);
        assert_eq!(state.elems.0.len(), 1000);
    }
    let end = stored.end_state().await.unwrap();
    assert_eq!(end.total, ITEMS * (ITEMS - 1));
    assert_eq!(end.elems.0, (0..1000).collect::<Vec<_>>());
}

counted!(ListB, ENCODED_B);

/// The body changes the list through a method: every field is encoded, and the change stored.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ThroughMethod {
    pub elems: ListB,
    pub items: Vec<u64>,
}

impl ThroughMethod {
    fn grow(&mut self, item: u64) {
        self.elems.0.push(item);
    }
}

#[flow]
impl ThroughMethod {
    #[step(foreach = items, next = body)]
    fn start(&mut self) {
        self.items = (0..ITEMS).collect();
    }

    #[step(next = join)]
    fn body(&mut self, item: &u64) {
        self.grow(*item);
    }

    #[step(next = end)]
    fn join(&mut self, _inputs: Inputs<Self>) {}

    #[step]
    fn end(&mut self) {}
}

#[tokio::test]
async fn a_body_that_calls_a_method_on_self_stores_every_field() {
    let dir = tempfile::tempdir().unwrap();
    let run = Runner::<ThroughMethod>::new()
        .datastore(dir.path())
        .run()
        .await
        .unwrap();
    assert!(run.succeeded(), "{:?}", run.error());
    // start, every body task; join and end name nothing (their list is the foreach's).
    let unit = ListB::calls_per_encoding();
    assert_eq!(
        ENCODED_B.load(Ordering::SeqCst),
        unit * (1 + ITEMS as usize)
    );
    for i in 0..ITEMS as usize {
        let state = run.task("body", &[i]).await.unwrap().state().await.unwrap();
        assert_eq!(state.elems.0, vec![i as u64]);
    }
}

counted!(ListC, ENCODED_C);

/// The body replaces the whole state: every field is encoded.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Replaced {
    pub elems: ListC,
    pub items: Vec<u64>,
}

#[flow]
impl Replaced {
    #[step(foreach = items, next = body)]
    fn start(&mut self) {
        self.items = (0..ITEMS).collect();
    }

    #[step(next = join)]
    fn body(&mut self, item: &u64) {
        *self = Replaced {
            elems: ListC(vec![*item; 3]),
            items: Vec::new(),
        };
    }

    #[step(next = end)]
    fn join(&mut self, _inputs: Inputs<Self>) {}

    #[step]
    fn end(&mut self) {}
}

#[tokio::test]
async fn a_body_that_replaces_self_stores_every_field() {
    let dir = tempfile::tempdir().unwrap();
    let run = Runner::<Replaced>::new()
        .datastore(dir.path())
        .run()
        .await
        .unwrap();
    assert!(run.succeeded(), "{:?}", run.error());
    let unit = ListC::calls_per_encoding();
    assert_eq!(
        ENCODED_C.load(Ordering::SeqCst),
        unit * (1 + ITEMS as usize)
    );
    let state = run.task("body", &[7]).await.unwrap().state().await.unwrap();
    assert_eq!(state.elems.0, vec![7; 3]);
    assert!(state.items.is_empty());
}

/// A field renamed for serde and named by the body: stored under its serde name, changed.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Renamed {
    #[serde(rename = "list")]
    pub elems: Vec<u64>,
    /// Another field renamed to the first one's Rust name: addresses, not names, decide.
    #[serde(rename = "elems")]
    pub other: Vec<u64>,
    pub items: Vec<u64>,
}

#[flow]
impl Renamed {
    #[step(foreach = items, next = body)]
    fn start(&mut self) {
        self.items = (0..ITEMS).collect();
        self.other = vec![1; 50];
    }

    #[step(next = join)]
    fn body(&mut self, item: &u64) {
        self.elems = vec![*item; 40];
    }

    #[step(next = end)]
    fn join(&mut self, _inputs: Inputs<Self>) {}

    #[step]
    fn end(&mut self) {}
}

#[tokio::test]
async fn a_renamed_field_the_body_names_is_stored_changed() {
    let dir = tempfile::tempdir().unwrap();
    let run = Runner::<Renamed>::new()
        .datastore(dir.path())
        .run()
        .await
        .unwrap();
    assert!(run.succeeded(), "{:?}", run.error());
    for i in [0usize, 5, 29] {
        let state = run.task("body", &[i]).await.unwrap().state().await.unwrap();
        assert_eq!(state.elems, vec![i as u64; 40]);
        assert_eq!(state.other, vec![1; 50]);
    }
}
