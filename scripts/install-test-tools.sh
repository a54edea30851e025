#!/usr/bin/env bash
# Installs the external tools the test suite checks generated artifacts with:
#   * moto 5.2.5 (AWS emulator: Step Functions + Batch + S3, CloudFormation) in a Python venv,
#     with cfn-lint (CloudFormation templates) and parliament (IAM policies) in the same venv,
#   * asl-validator 4.x (npm) for Amazon States Language definitions,
#   * Graphviz `dot` (Debian package graphviz),
#   * Mermaid's own parser (npm `mermaid` 11.x + `jsdom`) behind a `mermaid-check` wrapper,
#   * headless Chromium (Debian package chromium) to open HTML run reports.
# Everything except Graphviz and Chromium goes under ${FLOW_TOOLS_CACHE:-$HOME/.cache/flowrs-tools};
# at the end $CACHE/env.sh exports FLOW_MOTO_PYTHON, FLOW_ASL_VALIDATOR, FLOW_MERMAID_CHECK,
# FLOW_DOT, FLOW_CHROMIUM, FLOW_CFN_LINT and FLOW_PARLIAMENT.
#
# Idempotent and non-interactive: each tool is checked by actually running it and installed only
# when the check fails, so a second run takes a couple of seconds.  Progress goes to stderr.
# Needs: bash, python3 (with venv/ensurepip), node + npm; apt-get (root or password-less sudo)
# only when `dot` or `chromium` is missing.
#
# Usage: scripts/install-test-tools.sh && source "${FLOW_TOOLS_CACHE:-$HOME/.cache/flowrs-tools}/env.sh"
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="${FLOW_TOOLS_CACHE:-$HOME/.cache/flowrs-tools}"
PYTHON_BOOTSTRAP="${FLOW_BOOTSTRAP_PYTHON:-python3}"   # interpreter the venv is created from

# Versions.  moto is pinned because tests/support/aws-emulator/moto_sfn_server.py patches its
# internals.  mermaid stays on 11.x: 12.x declares engines node >= 22.12 (Debian/NodeSource here: 20).
# jsdom 26 supports node >= 18 (27+ needs >= 20.19).  moto's `cloudformation` extra serves
# create-stack; cfn-lint and parliament are pinned so that a new rule never turns a green run red.
CFN_LINT_VERSION=1.58.0
PARLIAMENT_VERSION=1.6.4
PY_PKGS=("moto[cloudformation]==5.2.5" antlr4-python3-runtime==4.13.2 jsonpath-ng flask flask-cors boto3
         "cfn-lint==$CFN_LINT_VERSION" "parliament==$PARLIAMENT_VERSION")
NPM_PKGS=(asl-validator@4 mermaid@11.17.2 jsdom@26.1.0)

VENV="$CACHE/moto-venv"
NODE_DIR="$CACHE/node"
BIN_DIR="$CACHE/bin"
LIB_DIR="$CACHE/lib"

log() { echo "install-test-tools: $*" >&2; }
die() { log "ERROR: $*"; exit 1; }

mkdir -p "$CACHE" "$BIN_DIR" "$LIB_DIR"
# Serialize concurrent runs (e.g. several test binaries bootstrapping at once) on one cache.
if command -v flock >/dev/null 2>&1; then
  exec 9>"$CACHE/.install.lock"
  flock 9
fi
T0=$SECONDS
SCRATCH="$(mktemp -d)"
trap 'rm -rf "$SCRATCH"' EXIT

# Runs a command as root: directly when root, else through password-less sudo (-n: never prompt).
as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"
  elif command -v sudo >/dev/null 2>&1; then sudo -n "$@"
  else die "need root or sudo to run: $*"
  fi
}
apt_install() {
  command -v apt-get >/dev/null 2>&1 || die "apt-get not found; install $* with your package manager"
  # Try without `apt-get update` first: it is slow, and the lists are usually present.
  if ! as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$@" >&2; then
    log "apt-get install failed; running apt-get update and retrying"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q >&2
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$@" >&2
  fi
}

# ---------------------------------------------------------------------------------- a. moto venv
venv_ok() {
  [ -x "$VENV/bin/python" ] && "$VENV/bin/python" - "$CFN_LINT_VERSION" "$PARLIAMENT_VERSION" <<'EOF' >/dev/null 2>&1
import sys
from importlib.metadata import version
import moto, boto3, flask, flask_cors, antlr4, jsonpath_ng
# moto's cloudformation extra (create-stack on the emulator needs it) and the two checkers
import joserfc, docker, graphql, openapi_spec_validator, aws_xray_sdk, py_partiql_parser, pyparsing
import cfnlint, parliament
assert moto.__version__ == "5.2.5", moto.__version__
assert version("cfn-lint") == sys.argv[1], version("cfn-lint")
assert version("parliament") == sys.argv[2], version("parliament")
EOF
}
if venv_ok; then
  log "moto venv ok: $VENV (moto 5.2.5)"
else
  # A venv whose interpreter no longer runs (e.g. the base Python was replaced) is rebuilt.
  if [ -e "$VENV" ] && ! "$VENV/bin/python" -c 'pass' >/dev/null 2>&1; then
    log "removing broken venv $VENV"; rm -rf "$VENV"
  fi
  if [ ! -x "$VENV/bin/python" ]; then
    log "creating venv $VENV with $PYTHON_BOOTSTRAP"
    if ! "$PYTHON_BOOTSTRAP" -m venv "$VENV" >&2; then
      # Debian's system python3 ships venv/ensurepip in a separate package.
      rm -rf "$VENV"
      log "python3 -m venv failed; installing python3-venv"
      apt_install python3-venv
      "$PYTHON_BOOTSTRAP" -m venv "$VENV" >&2
    fi
  fi
  log "pip install ${PY_PKGS[*]}"
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check "${PY_PKGS[@]}" >&2
  venv_ok || die "venv $VENV still does not import moto[cloudformation] 5.2.5 + boto3 + flask + flask_cors + antlr4 + jsonpath_ng + cfn-lint $CFN_LINT_VERSION + parliament $PARLIAMENT_VERSION"
  log "moto venv installed"
fi

# ------------------------------------------------------- b + d. npm: asl-validator, mermaid, jsdom
ASL="$NODE_DIR/node_modules/.bin/asl-validator"
command -v node >/dev/null 2>&1 || die "node not found"
command -v npm >/dev/null 2>&1 || die "npm not found"

# The Mermaid checker is copied into the cache (not referenced in place) so that the wrapper keeps
# working when the clone that installed it is gone; it finds the packages at ../node/node_modules.
install -m 0644 "$REPO/tests/support/tools/mermaid-check.mjs" "$LIB_DIR/mermaid-check.mjs"
{
  echo '#!/usr/bin/env bash'
  echo "# Generated by scripts/install-test-tools.sh: checks Mermaid files with Mermaid's own parser."
  echo '# Usage: mermaid-check [--expect-type TYPE] FILE...   (details in the .mjs it runs)'
  printf 'FLOW_NODE_MODULES=%q exec node %q "$@"\n' "$NODE_DIR/node_modules" "$LIB_DIR/mermaid-check.mjs"
} >"$BIN_DIR/mermaid-check"
chmod 0755 "$BIN_DIR/mermaid-check"

# Tiny fixtures proving each tool accepts valid input and rejects invalid input.
cat >"$SCRATCH/ok.asl.json" <<'EOF'
{"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}
EOF
cat >"$SCRATCH/bad.asl.json" <<'EOF'
{"StartAt": "P", "States": {"P": {"Type": "Pass"}}}
EOF
printf 'flowchart TD\n  a(["start"]) --> b{"choice?"}\n  b -->|yes| c["step c"]\n  subgraph par ["parallel"]\n    c --> d\n  end\n' >"$SCRATCH/ok.mmd"
printf 'flowchart TD\n  a --> b["unclosed\n' >"$SCRATCH/bad.mmd"

asl_ok() {
  local v
  [ -x "$ASL" ] && v="$("$ASL" --version 2>/dev/null)" && [[ "$v" == 4.* ]] \
    && "$ASL" --silent --json-path "$SCRATCH/ok.asl.json" >/dev/null 2>&1 \
    && ! "$ASL" --silent --json-path "$SCRATCH/bad.asl.json" >/dev/null 2>&1
}
mermaid_ok() {
  "$BIN_DIR/mermaid-check" --expect-type flowchart "$SCRATCH/ok.mmd" >/dev/null 2>&1 \
    && ! "$BIN_DIR/mermaid-check" "$SCRATCH/bad.mmd" >/dev/null 2>&1
}
if asl_ok && mermaid_ok; then
  log "npm tools ok: asl-validator $("$ASL" --version), mermaid $(node -p "require('$NODE_DIR/node_modules/mermaid/package.json').version") + jsdom"
else
  log "npm install --prefix $NODE_DIR ${NPM_PKGS[*]}"
  mkdir -p "$NODE_DIR"
  # Nothing here needs a browser; keep puppeteer-style postinstalls from trying to fetch one.
  PUPPETEER_SKIP_DOWNLOAD=1 npm install --prefix "$NODE_DIR" --no-audit --no-fund --loglevel=error \
    "${NPM_PKGS[@]}" >&2
  asl_ok || die "asl-validator at $ASL does not validate a tiny ASL definition correctly"
  if ! mermaid_ok; then
    "$BIN_DIR/mermaid-check" "$SCRATCH/ok.mmd" >&2 || true
    die "mermaid-check does not accept a valid / reject an invalid flowchart"
  fi
  log "npm tools installed: asl-validator $("$ASL" --version), mermaid + jsdom"
fi

# ------------------------------------------------------------------------------ c. Graphviz dot
dot_ok() { command -v dot >/dev/null 2>&1 && echo 'digraph { a -> b }' | dot -Tsvg >/dev/null 2>&1; }
if dot_ok; then
  log "dot ok: $(command -v dot)"
else
  log "installing graphviz (apt-get)"
  apt_install graphviz
  dot_ok || die "dot still missing or not working after installing graphviz"
  log "dot installed: $(command -v dot)"
fi
DOT="$(command -v dot)"

# --------------------------------------------------------------------------- f. headless Chromium
# Checked by rendering a tiny page: a binary that starts but cannot run headless is no use.
printf '<!doctype html><title>t</title><p id="probe">chromium-ok</p>\n' >"$SCRATCH/probe.html"
chromium_ok() {
  command -v chromium >/dev/null 2>&1 \
    && timeout 60 chromium --headless --no-sandbox --disable-gpu --no-first-run \
         --disable-background-networking --disable-component-update --disable-sync \
         --user-data-dir="$SCRATCH/chromium-profile" --dump-dom "file://$SCRATCH/probe.html" \
         2>/dev/null | grep -q 'chromium-ok'
}
if chromium_ok; then
  log "chromium ok: $(command -v chromium)"
else
  log "installing chromium (apt-get)"
  apt_install chromium
  chromium_ok || die "chromium still missing or cannot render a page headless after installing it"
  log "chromium installed: $(command -v chromium)"
fi
CHROMIUM="$(command -v chromium)"

# ------------------------------------------------------------------- g. cfn-lint and parliament
# Installed with the venv above; checked here by linting fixtures, so a checker that accepts
# everything never makes the infra tests pass vacuously.
CFN_LINT="$VENV/bin/cfn-lint"
PARLIAMENT="$VENV/bin/parliament"
printf '{"AWSTemplateFormatVersion": "2010-09-09", "Resources": {"B": {"Type": "AWS::S3::Bucket"}}}\n' >"$SCRATCH/ok.template.json"
printf '{"AWSTemplateFormatVersion": "2010-09-09", "Resources": {"B": {"Type": "AWS::S3::Bucket", "Properties": {"NoSuch": 1}}}}\n' >"$SCRATCH/bad.template.json"
printf '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/p/*"}]}\n' >"$SCRATCH/ok.policy.json"
printf '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObjects", "Resource": "arn:aws:s3:::b/p/*"}]}\n' >"$SCRATCH/bad.policy.json"
checkers_ok() {
  "$CFN_LINT" "$SCRATCH/ok.template.json" >/dev/null 2>&1 \
    && ! "$CFN_LINT" "$SCRATCH/bad.template.json" >/dev/null 2>&1 \
    && "$PARLIAMENT" <"$SCRATCH/ok.policy.json" >/dev/null 2>&1 \
    && ! "$PARLIAMENT" <"$SCRATCH/bad.policy.json" >/dev/null 2>&1
}
checkers_ok || die "cfn-lint ($CFN_LINT) or parliament ($PARLIAMENT) does not accept a valid / reject an invalid fixture"
log "checkers ok: cfn-lint $CFN_LINT_VERSION, parliament $PARLIAMENT_VERSION"

# ------------------------------------------------------------------------------ e. env.sh
{
  echo "# Generated by scripts/install-test-tools.sh; source it before running the tests."
  printf 'export FLOW_TOOLS_CACHE=%q\n' "$CACHE"
  printf 'export FLOW_MOTO_PYTHON=%q\n' "$VENV/bin/python"
  printf 'export FLOW_ASL_VALIDATOR=%q\n' "$ASL"
  printf 'export FLOW_MERMAID_CHECK=%q\n' "$BIN_DIR/mermaid-check"
  printf 'export FLOW_DOT=%q\n' "$DOT"
  printf 'export FLOW_CHROMIUM=%q\n' "$CHROMIUM"
  printf 'export FLOW_CFN_LINT=%q\n' "$CFN_LINT"
  printf 'export FLOW_PARLIAMENT=%q\n' "$PARLIAMENT"
} >"$CACHE/env.sh.tmp"
mv "$CACHE/env.sh.tmp" "$CACHE/env.sh"   # atomic: a concurrent reader never sees half a file

log "done in $((SECONDS - T0))s; to use the tools run:"
log "  source $CACHE/env.sh"
