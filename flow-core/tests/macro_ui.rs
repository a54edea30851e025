//! Compile-time checks of `#[flow]` and `#[derive(Params)]`: one compile-fail case per rule
//! (with the expected messages, and no other warning, in its `.stderr` file) and one pass
//! case per supported shape.

#[test]
fn graph_rules_are_compile_errors() {
    let cases = trybuild::TestCases::new();
    cases.compile_fail("tests/ui/fail/*.rs");
}

#[test]
fn every_supported_shape_compiles_and_runs() {
    let cases = trybuild::TestCases::new();
    cases.pass("tests/ui/pass/*.rs");
}
