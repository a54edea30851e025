use super::*;
use crate::artifacts::{content_hash, encode_fields};
use crate::ids::IndexPath;
use serde::Deserialize;
use std::collections::HashMap;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
struct S {
    big: Vec<u8>,
    item: u32,
    tags: HashMap<String, u32>,
    label: String,
}

fn task(i: usize) -> TaskId {
    TaskId::new("body", IndexPath::root().child(i))
}

fn state(i: u32) -> S {
    S {
        big: vec![7; 1000],
        item: i,
        tags: (0..20).map(|k| (format!("t{k}"), k)).collect(),
        label: "same".into(),
    }
}

/// Encoded like the store holds it, equal blobs shared through `cache`.
fn stored(s: &S, cache: &mut BlobCache) -> StoredState {
    let fields = encode_fields(s)
        .unwrap()
        .into_iter()
        .map(|(n, b)| {
            let shared = cache
                .entry(content_hash(&b))
                .or_insert_with(|| b.into())
                .clone();
            (n, shared)
        })
        .collect();
    StoredState::new(fields)
}

fn mixed(states: &[S]) -> Inputs<S> {
    let mut cache = BlobCache::new();
    Inputs::new(
        states
            .iter()
            .enumerate()
            .map(|(i, s)| {
                if i % 2 == 0 {
                    Input::new(task(i), s.clone())
                } else {
                    Input::stored(task(i), stored(s, &mut cache))
                }
            })
            .collect(),
    )
}

#[test]
fn stored_and_held_inputs_read_alike() {
    let states: Vec<S> = (0..5).map(state).collect();
    let inputs = mixed(&states);
    assert_eq!(inputs.len(), 5);
    assert_eq!(inputs.held_as_states(), 3);
    let items: Vec<u32> = inputs.iter().map(|i| i.item).collect();
    assert_eq!(items, vec![0, 1, 2, 3, 4]);
    assert_eq!(inputs.get(3).map(|i| i.item), Some(3));
    assert!(inputs.get(5).is_none());
    let third = inputs.get(2).unwrap();
    assert_eq!(InputState::task(&third), &task(2));
    assert_eq!(InputState::into_owned(third), states[2]);
    let tasks: Vec<_> = inputs.tasks().cloned().collect();
    assert_eq!(tasks, (0..5).map(task).collect::<Vec<_>>());
    assert_eq!(inputs.into_states(), states);
}

#[test]
fn one_artifact_of_every_input_decodes_alone() {
    let states: Vec<S> = (0..5).map(state).collect();
    let inputs = mixed(&states);
    assert_eq!(inputs.artifact::<u32>("item").unwrap(), vec![0, 1, 2, 3, 4]);
    assert_eq!(inputs.artifact::<String>("label").unwrap(), vec!["same"; 5]);
    let err = inputs.artifact::<u32>("nope").unwrap_err().to_string();
    assert!(
        err.contains("artifact `nope`") && err.contains("no such field"),
        "{err}"
    );
    assert!(err.contains(&task(0).to_string()), "{err}");
    let err = inputs
        .artifact::<Vec<String>>("item")
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("artifact `item`") && err.contains("Vec<alloc::string::String>"),
        "{err}"
    );
}

#[test]
fn stored_inputs_share_equal_blobs() {
    let mut cache = BlobCache::new();
    let a = stored(&state(1), &mut cache);
    let b = stored(&state(2), &mut cache);
    let big = |s: &StoredState| s.field("big").unwrap().as_ptr();
    assert_eq!(big(&a), big(&b), "one buffer for the unchanged field");
    assert_ne!(a.field("item"), b.field("item"));
}

#[test]
fn merge_copies_what_all_agree_on_and_skips_excluded_fields() {
    let states: Vec<S> = (0..4).map(state).collect();
    let inputs = mixed(&states);
    let mut target = S::default();
    inputs.merge_artifacts(&mut target, &["item"]).unwrap();
    assert_eq!(target.big, states[0].big);
    assert_eq!(target.label, "same");
    assert_eq!(target.tags, states[0].tags);
    assert_eq!(target.item, 0, "excluded: left as it was");
}

#[test]
fn merge_names_the_first_disagreeing_field_in_declaration_order() {
    let mut states: Vec<S> = (0..4).map(state).collect();
    states[3].label = "different".into();
    let inputs = mixed(&states);
    let mut target = S::default();
    let err = inputs.merge_artifacts(&mut target, &[]).unwrap_err();
    assert_eq!(err.field, "item");
    assert_eq!(err.other_task, task(1).to_string());
    let err = inputs.merge_artifacts(&mut target, &["item"]).unwrap_err();
    assert_eq!(err.field, "label");
    assert_eq!(err.first, "\"same\"");
    assert_eq!(err.other, "\"different\"");
    assert_eq!(err.other_task, task(3).to_string());
    assert_eq!(target, S::default(), "a failed merge changes nothing");
}

#[test]
fn merge_compares_values_when_equal_maps_encode_differently() {
    // Equal maps built with different hashers iterate, and so encode, in different orders.
    let mut states: Vec<S> = (0..3).map(|_| state(9)).collect();
    let tags = |s: &S| {
        encode_fields(s)
            .unwrap()
            .into_iter()
            .find(|(n, _)| n == "tags")
    };
    let first = tags(&states[0]);
    for (k, s) in states.iter_mut().enumerate().skip(1) {
        for _ in 0..100 {
            if tags(s) != first {
                break;
            }
            let mut rebuilt = HashMap::new();
            rebuilt.extend(s.tags.clone());
            s.tags = rebuilt;
        }
        assert_ne!(tags(s), first, "input {k}: the test needs another order");
    }
    let inputs = mixed(&states);
    let mut target = S::default();
    inputs.merge_artifacts(&mut target, &[]).unwrap();
    assert_eq!(target, states[0]);
}

#[test]
fn merge_of_held_states_compares_encodings() {
    let mut states: Vec<S> = (0..3).map(|_| state(4)).collect();
    let inputs = Inputs::from_states(
        states
            .iter()
            .cloned()
            .enumerate()
            .map(|(i, s)| (task(i), s)),
    );
    let mut target = S::default();
    inputs.merge_artifacts(&mut target, &[]).unwrap();
    assert_eq!(target, states[0]);
    states[2].big[999] = 0;
    let inputs = Inputs::from_states(states.into_iter().enumerate().map(|(i, s)| (task(i), s)));
    let err = inputs.merge_artifacts(&mut target, &[]).unwrap_err();
    assert_eq!(err.field, "big");
    assert!(err.first.ends_with("..."), "{}", err.first);
}

#[test]
fn a_stored_input_that_does_not_decode_names_its_task() {
    let bad = StoredState::new(vec![("item".into(), Arc::from(&[1u8][..]))]);
    let inputs: Inputs<S> = Inputs::new(vec![Input::stored(task(7), bad)]);
    let panic = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        inputs.iter().map(|i| i.item).sum::<u32>()
    }))
    .unwrap_err();
    let message = panic.downcast_ref::<String>().cloned().unwrap_or_default();
    let expected = format!("cannot read join input {}", task(7));
    assert!(message.contains(&expected), "{message}");
    assert!(message.contains("item"), "{message}");
}
