use flow_core::prelude::*;
use std::borrow::Cow;

/// Params with a lifetime, a type parameter and a where-clause.
#[derive(Debug, Clone, Serialize, Deserialize, Params)]
pub struct P<'a, T>
where
    T: Clone + Default,
{
    /// Who.
    name: Cow<'a, str>,
    /// How many.
    count: T,
}

impl<'a, T: Clone + Default> Default for P<'a, T> {
    fn default() -> Self {
        P { name: Cow::Borrowed("x"), count: T::default() }
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct F {
    x: u32,
}

#[flow(params = P<'static, u32>)]
impl F {
    #[step(next = end)]
    fn start(&mut self, ctx: &Ctx<P<'static, u32>>) { self.x = ctx.params.count; }
    #[step]
    fn end(&mut self) {}
}

fn main() {
    let specs = <P<'static, u32> as Params>::specs();
    let names: Vec<&str> = specs.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["name", "count"]);
    assert_eq!(specs[0].default, "\"x\"");
    assert_eq!(specs[1].default, "0");
    assert_eq!(specs[1].help, "How many.");
    assert_eq!(P::<'static, u32>::parse_field("count", "7").unwrap().as_u64(), Some(7));
    assert!(P::<'static, u32>::parse_field("count", "seven").is_err());
    assert!(P::<'static, String>::parse_field("count", "seven").is_ok());
    assert!(P::<'static, u32>::check_field("name", &"Ada".into()).is_ok());
    let params: P<'static, u32> =
        flow_core::params::params_from_args([("--count".to_string(), "3".to_string())]).unwrap();
    assert_eq!((params.name.as_ref(), params.count), ("x", 3));
    assert_eq!(F::graph().params.len(), 2);
}
