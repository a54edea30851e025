//! Built example binaries.

use std::path::PathBuf;

/// The path of the built example `name`, of this workspace's root package or of any member
/// (cargo puts them all in `target/<profile>/examples/`); panics when it is not built.
pub fn example_binary(name: &str) -> PathBuf {
    // A test runs as target/<profile>/deps/<test>; the examples of the same build sit next
    // to deps/, so this follows the profile and any CARGO_TARGET_DIR.
    let exe = std::env::current_exe().expect("the test binary's path");
    let bin = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("the test binary lies in target/<profile>/deps")
        .join("examples")
        .join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    assert!(
        bin.exists(),
        "example binary {} is missing: run `cargo build --examples` first, or run the tests \
         with `cargo test` (which builds the examples; `--all-targets` builds them as tests \
         instead)",
        bin.display()
    );
    bin
}

#[cfg(test)]
mod tests {
    #[test]
    #[should_panic(expected = "is missing: run `cargo build --examples` first")]
    fn a_missing_example_says_how_to_build_it() {
        super::example_binary("no_such_example");
    }
}
