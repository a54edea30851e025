//! The flowrs workspace root: runnable flows live in `examples/`, workspace-level tests in `tests/`.
