#!/usr/bin/env bash
# The whole test suite, as the README and CI run it: installs the external checkers the tests
# use (moto, asl-validator, Mermaid's parser, Graphviz; cached), then runs every test.
# Extra arguments go to `cargo test` (e.g. `scripts/test.sh -p flow-graph`).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/install-test-tools.sh
# shellcheck disable=SC1091
source "${FLOW_TOOLS_CACHE:-$HOME/.cache/flowrs-tools}/env.sh"
# Plain `cargo test` (not --all-targets) builds the examples as the runnable binaries the
# workspace tests drive, and runs the doc tests too.
cargo test --workspace "$@"
