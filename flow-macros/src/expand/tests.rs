use super::fields_named;
use quote::quote;
use std::collections::BTreeSet;

fn named(body: proc_macro2::TokenStream) -> Option<Vec<String>> {
    let mut fields = BTreeSet::new();
    fields_named(body, &mut fields)?;
    Some(fields.into_iter().collect())
}

#[test]
fn fields_named_through_self_dot_are_collected_in_every_group() {
    let body = quote!({
        self.value = item * 2;
        let n = self.list.len();
        assert_eq!(self.total, n, "{}", self.r#type);
        if true {
            self.nested.inner += 1;
        }
        let f = |x: u64| x + self.base;
    });
    assert_eq!(
        named(body).unwrap(),
        ["base", "list", "nested", "total", "type", "value"]
    );
    assert_eq!(
        named(quote!({
            let x = 1;
        }))
        .unwrap(),
        Vec::<String>::new()
    );
}

#[test]
fn self_used_any_other_way_means_every_field() {
    for body in [
        quote!({
            self.grow(1);
        }),
        quote!({
            *self = Self::default();
        }),
        quote!({
            helper(self);
        }),
        quote!({
            let me = &mut *self;
        }),
        quote!({
            self.parse::<u32>();
        }),
        quote!({
            std::mem::take(self);
        }),
        quote!({
            let r = self..;
        }),
        quote!({
            self.0 = 1;
        }),
        quote!({
            fn inner() {}
            self.x = 1;
        }),
        quote!({
            struct A;
            impl A {
                fn f(&self) {}
            }
        }),
        quote!({
            macro_rules! m {
                () => {};
            }
        }),
    ] {
        assert_eq!(named(body.clone()), None, "{body}");
    }
}
