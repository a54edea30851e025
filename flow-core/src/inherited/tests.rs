use super::*;
use crate::artifacts::field_span;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
struct S {
    big: Vec<u64>,
    label: String,
    item: u32,
    #[serde(serialize_with = "doubled")]
    computed: u32,
}

fn doubled<S: serde::Serializer>(v: &u32, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u32(*v)
}

fn parent() -> S {
    S {
        big: (0..1000).collect(),
        label: "parent".into(),
        item: 7,
        computed: 3,
    }
}

/// `Inherited` for a body that names only `item`.
fn naming_item(parent: &S) -> Inherited<S> {
    Inherited::new(parent, &[field_span(&parent.item)]).expect("big and label are inherited")
}

#[test]
fn fields_the_body_does_not_name_are_inherited_and_items_start_without_them() {
    let parent = parent();
    let inherited = naming_item(&parent);
    // `computed` is serialized through a function: not inside the state, never inherited.
    assert_eq!(inherited.names().collect::<Vec<_>>(), ["big", "label"]);
    let item = inherited.item_state();
    assert_eq!(
        item,
        S {
            big: vec![],
            label: String::new(),
            item: 7,
            computed: 3
        }
    );
    assert_eq!(inherited.fill(&item).unwrap(), parent);
    // Nothing is inherited when the body names every field.
    let all = [
        field_span(&parent.big),
        field_span(&parent.label),
        field_span(&parent.item),
    ];
    assert!(Inherited::new(&parent, &all).is_none());
}

#[test]
fn a_lent_state_holds_the_parents_fields_until_it_drops() {
    let parent = parent();
    let inherited = naming_item(&parent);
    let mut item = inherited.item_state();
    item.item = 99;
    {
        let lent = inherited.lend(item.clone()).expect("nobody holds them");
        assert_eq!(lent.state().big, parent.big);
        assert_eq!(lent.state().label, "parent");
        assert_eq!(lent.state().item, 99);
        // A second reader while the first holds them gets its state back, to fill.
        let second = inherited.lend(item.clone()).unwrap_err();
        assert!(second.big.is_empty());
        assert_eq!(inherited.fill(&second).unwrap().big, parent.big);
    }
    // Given back: the next reader sees them again, and the item itself never had them.
    let again = inherited.lend(item.clone()).expect("given back");
    assert_eq!(again.state().big, parent.big);
    drop(again);
    assert!(item.big.is_empty());
}

#[test]
fn whether_a_step_reaches_an_inherited_field() {
    let parent = parent();
    let inherited = naming_item(&parent);
    let item = inherited.item_state();
    assert!(!inherited.reached_by(&item, &[field_span(&item.item)]));
    assert!(inherited.reached_by(&item, &[field_span(&item.item), field_span(&item.label)]));
}

#[test]
fn lending_is_safe_from_many_threads() {
    let parent = parent();
    let inherited = std::sync::Arc::new(naming_item(&parent));
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let inherited = inherited.clone();
            let expected = parent.big.clone();
            std::thread::spawn(move || {
                let mut lent = 0;
                for i in 0..2000u32 {
                    let mut item = inherited.item_state();
                    item.item = t * 10_000 + i;
                    match inherited.lend(item) {
                        Ok(l) => {
                            assert_eq!(l.state().big, expected);
                            assert_eq!(l.state().item, t * 10_000 + i);
                            lent += 1;
                        }
                        Err(item) => assert_eq!(inherited.fill(&item).unwrap().big, expected),
                    }
                }
                lent
            })
        })
        .collect();
    let lent: u32 = threads.into_iter().map(|t| t.join().unwrap()).sum();
    assert!(lent > 0);
    let item = inherited.item_state();
    assert_eq!(inherited.lend(item).unwrap().state().big, parent.big);
}
