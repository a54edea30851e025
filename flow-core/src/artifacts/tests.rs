use super::*;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
struct State {
    n: u64,
    name: String,
    list: Vec<f64>,
    map: BTreeMap<u32, String>,
    nested: Option<Box<State>>,
    #[serde(default)]
    added_later: Vec<u8>,
}

#[test]
fn fields_round_trip_in_any_order() {
    let s = State {
        n: 7,
        name: "x".into(),
        list: vec![1.5, 2.5],
        map: BTreeMap::from([(1, "a".into())]),
        nested: Some(Box::new(State::default())),
        added_later: vec![1, 2, 3],
    };
    let mut fields = encode_fields(&s).unwrap();
    assert_eq!(fields.len(), 6);
    assert_eq!(fields[0].0, "n");
    fields.reverse();
    assert_eq!(decode_fields::<State>(&fields).unwrap(), s);
}

#[test]
fn a_field_added_with_default_decodes_from_old_state() {
    let fields: Vec<_> = encode_fields(&State::default())
        .unwrap()
        .into_iter()
        .filter(|(n, _)| n != "added_later")
        .collect();
    assert_eq!(decode_fields::<State>(&fields).unwrap(), State::default());
}

#[test]
fn a_mistyped_field_is_named() {
    let mut fields = encode_fields(&State::default()).unwrap();
    fields[1].1 = vec![0xff; 3];
    let err = decode_fields::<State>(&fields).unwrap_err();
    assert!(err.to_string().contains("artifact `name`"), "{err}");
    // The decoder's own error is the source, not repeated in the message.
    let cause = std::error::Error::source(&err)
        .expect("the decoder's error")
        .to_string();
    assert!(!err.to_string().contains(&cause), "{err}");
}

#[test]
fn non_structs_are_rejected() {
    assert!(matches!(
        encode_fields(&5u32),
        Err(ArtifactError::NotAStruct(_))
    ));
    assert!(matches!(
        encode_fields(&vec![1]),
        Err(ArtifactError::NotAStruct(_))
    ));
}

#[test]
fn equal_values_hash_equal() {
    let a = encode_value(&vec![1u8; 10]).unwrap();
    let b = encode_value(&vec![1u8; 10]).unwrap();
    assert_eq!(content_hash(&a), content_hash(&b));
    assert_ne!(content_hash(&a), content_hash(&encode_value(&2u8).unwrap()));
}

#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
struct Spans {
    big: Vec<u64>,
    #[serde(rename = "renamed")]
    small: u32,
    #[serde(serialize_with = "double")]
    computed: u32,
    boxed: Box<u64>,
}

fn double<S: serde::Serializer>(v: &u32, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u32(v * 2)
}

fn changed_names(state: &Spans, spans: &[(usize, usize)], reusable: &[&str]) -> Vec<String> {
    encode_changed_fields(state, spans, &|k| reusable.contains(&k))
        .unwrap()
        .into_iter()
        .filter(|(_, b)| b.is_some())
        .map(|(k, _)| k)
        .collect()
}

#[test]
fn only_fields_inside_the_state_and_clear_of_the_named_ones_are_known_unchanged() {
    let s = Spans {
        big: vec![1, 2, 3],
        small: 4,
        computed: 5,
        boxed: Box::new(6),
    };
    let all = ["big", "renamed", "computed", "boxed"];
    // Nothing named: every field serde hands over from inside the state is reused; the
    // one `serialize_with` builds on the fly is encoded.
    assert_eq!(changed_names(&s, &[], &all), ["computed"]);
    // `small` named (under its Rust name; its serde name differs): it is encoded.
    assert_eq!(
        changed_names(&s, &[field_span(&s.small)], &all),
        ["renamed", "computed"]
    );
    // A field the parent did not store is encoded.
    assert_eq!(
        changed_names(&s, &[], &["renamed", "computed", "boxed"]),
        ["big", "computed"]
    );
    // A span covering the whole state (as a method on `self` would): all are encoded.
    assert_eq!(changed_names(&s, &[field_span(&s)], &all), all);
    // The bytes of an encoded field are what encode_fields gives.
    let encoded = encode_changed_fields(&s, &[field_span(&s.big)], &|_| true).unwrap();
    let full = encode_fields(&s).unwrap();
    assert_eq!(encoded[0].1.as_deref(), Some(&full[0].1[..]));
}
