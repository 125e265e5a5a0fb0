#!/usr/bin/env bash
# The test command of lophoc: formatting, lints, unit and integration tests on SQLite, the web
# integration tests again on PostgreSQL, and browser tests in headless Chromium at a phone size.
#
#   bash scripts/test.sh            # everything, as CI runs it (.ci/run)
#   bash scripts/test.sh fmt clippy # only some steps, in the order given
#
# Steps: deps fmt clippy sqlite pg e2e (deps, the Debian packages, runs first whenever pg or
# e2e is asked for). It needs root (or sudo) only to install missing packages and to start
# PostgreSQL. Builds go to CARGO_TARGET_DIR (default ~/.cache/lophoc-target) so that fresh
# clones reuse them.
#
# Environment:
#   CARGO_TARGET_DIR           build directory (default $HOME/.cache/lophoc-target)
#   LOPHOC_TEST_DATABASE_URL   admin URL of a PostgreSQL server for the pg step; when unset
#                              the script starts the local cluster and uses
#                              postgres://lophoc:lophoc@127.0.0.1:5432/postgres
#   CHROMIUM_PATH              browser for the e2e step (default /usr/bin/chromium)
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$(pwd)
START=$SECONDS

export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/lophoc-target}
export DEBIAN_FRONTEND=noninteractive
CHROMIUM_PATH=${CHROMIUM_PATH:-/usr/bin/chromium}
export CHROMIUM_PATH

CURRENT_STEP=setup
elapsed() { local s=$((SECONDS - START)); printf '%dm%02ds' $((s / 60)) $((s % 60)); }
step() {
  CURRENT_STEP=$1
  shift
  printf '\n==> [%s] %s: %s\n' "$(elapsed)" "$CURRENT_STEP" "$*"
}
die() {
  printf '\nerror: %s\n' "$*" >&2
  exit 1
}
on_exit() {
  local rc=$?
  if [ "$rc" -eq 0 ]; then
    printf '\n==> all steps passed in %s\n' "$(elapsed)"
  else
    printf '\n==> FAILED in step "%s" (exit %d) after %s\n' "$CURRENT_STEP" "$rc" "$(elapsed)" >&2
  fi
}

as_root() {
  if [ "$(id -u)" -eq 0 ]; then
    "$@"
  elif command -v sudo >/dev/null 2>&1; then
    sudo -n "$@"
  else
    die "need root (or sudo) to run: $*"
  fi
}

# ---------------------------------------------------------------------------------------------
# Steps
# ---------------------------------------------------------------------------------------------

APT_UPDATED=
apt_install() {
  # Called in `||` lists, where `set -e` is off: every failure returns explicitly.
  if [ -z "$APT_UPDATED" ]; then
    as_root apt-get update -qq -o DPkg::Lock::Timeout=300 || return 1
    APT_UPDATED=1
  fi
  as_root apt-get install -y -qq -o DPkg::Lock::Timeout=300 "$@" || return 1
}

pg_bindir() {
  # The newest installed PostgreSQL server.
  local d
  d=$(printf '%s\n' /usr/lib/postgresql/*/bin/postgres | grep -v '\*' | sort -V | tail -n 1 || true)
  [ -n "$d" ] && dirname "$d"
}

step_deps() {
  step deps "Debian packages (postgresql, chromium, ffmpeg)"
  local need=()
  if [ -z "$(pg_bindir)" ] || ! command -v pg_ctlcluster >/dev/null 2>&1 || ! command -v psql >/dev/null 2>&1; then
    need+=(postgresql)
  fi
  if [ ! -x "$CHROMIUM_PATH" ]; then
    [ "$CHROMIUM_PATH" = /usr/bin/chromium ] || die "CHROMIUM_PATH=$CHROMIUM_PATH does not exist"
    need+=(chromium)
  fi
  [ -x /usr/bin/firefox-esr ] || need+=(firefox-esr) # the live class from Firefox (live_firefox.test.mjs)
  if [ ${#need[@]} -gt 0 ]; then
    echo "installing: ${need[*]}"
    apt_install "${need[@]}" || die "apt-get could not install ${need[*]}"
  fi
  if ! command -v ffmpeg >/dev/null 2>&1; then
    # The video tests run the real transcoder when ffmpeg is there and skip it otherwise: a
    # failure here is reported, not fatal.
    echo "installing: ffmpeg"
    apt_install --no-install-recommends ffmpeg || echo "warning: could not install ffmpeg; continuing"
  fi
  if ! command -v pdftotext >/dev/null 2>&1; then
    # The PDF tests read the text of the rendered files back with poppler's pdftotext.
    echo "installing: poppler-utils"
    apt_install --no-install-recommends poppler-utils || echo "warning: could not install poppler-utils; continuing"
  fi
  command -v node >/dev/null 2>&1 || die "node (>= 20) is needed for the browser tests"
  command -v npm >/dev/null 2>&1 || die "npm is needed for the browser tests"
  local node_major
  node_major=$(node -p 'process.versions.node.split(".")[0]')
  [ "$node_major" -ge 20 ] || die "node >= 20 is needed for the browser tests (found $(node --version))"
  echo "postgresql: $(pg_bindir)  chromium: $("$CHROMIUM_PATH" --version 2>/dev/null | tail -n 1)  node: $(node --version)"
}

step_fmt() {
  step fmt "cargo fmt --all -- --check"
  local color=never
  [ -t 1 ] && color=auto
  cargo fmt --all -- --check --color "$color"
}

step_clippy() {
  step clippy "cargo clippy --workspace --all-targets -- -D warnings"
  cargo clippy --locked --workspace --all-targets -- -D warnings
}

have_nextest() { cargo nextest --version >/dev/null 2>&1; }

step_sqlite() {
  step sqlite "unit and integration tests on SQLite"
  if have_nextest; then
    env -u LOPHOC_TEST_DATABASE_URL LOPHOC_TEST_DATABASE=sqlite \
      cargo nextest run --locked --workspace --no-fail-fast
    # nextest does not run doctests.
    env -u LOPHOC_TEST_DATABASE_URL LOPHOC_TEST_DATABASE=sqlite \
      cargo test --locked --workspace --doc
  else
    echo "(cargo-nextest not found: using cargo test)"
    env -u LOPHOC_TEST_DATABASE_URL LOPHOC_TEST_DATABASE=sqlite \
      cargo test --locked --workspace --no-fail-fast
  fi
}

PG_PORT=5432
pg_ready() { pg_isready -q -h 127.0.0.1 -p "$PG_PORT" -t 2 >/dev/null 2>&1; }
as_postgres() { (cd / && as_root runuser -u postgres -- "$@"); }
lophoc_login_ok() {
  PGPASSWORD=lophoc PGCONNECT_TIMEOUT=5 psql -h 127.0.0.1 -p "$PG_PORT" -U lophoc -d postgres \
    -XqAtc "SELECT rolcreatedb FROM pg_roles WHERE rolname = current_user" 2>/dev/null | grep -qx t
}

start_postgres() {
  if pg_ready; then
    echo "PostgreSQL already listens on 127.0.0.1:$PG_PORT"
  else
    local bindir version
    bindir=$(pg_bindir) || true
    [ -n "$bindir" ] || die "no PostgreSQL server installed (run the deps step)"
    version=$(basename "$(dirname "$bindir")")
    if ! pg_lsclusters -h 2>/dev/null | awk -v v="$version" '$1 == v && $2 == "main"' | grep -q .; then
      echo "creating cluster $version/main on port $PG_PORT"
      # A throwaway test cluster: durability is not needed, speed is.
      as_root pg_createcluster "$version" main --port "$PG_PORT" \
        -o fsync=off -o synchronous_commit=off -o full_page_writes=off >/dev/null
    fi
    local port
    port=$(pg_lsclusters -h | awk -v v="$version" '$1 == v && $2 == "main" { print $3 }')
    [ "$port" = "$PG_PORT" ] || die "cluster $version/main uses port $port, not $PG_PORT"
    echo "starting cluster $version/main"
    # Without systemd, pg_ctlcluster starts the server itself; with it, skip the redirect so
    # the same command works in containers and on full machines.
    # This run's server needs no durability: these options last until its next restart.
    as_root pg_ctlcluster --skip-systemctl-redirect \
      -o '-c fsync=off' -o '-c synchronous_commit=off' -o '-c full_page_writes=off' \
      "$version" main start \
      || die "could not start PostgreSQL $version/main; see /var/log/postgresql/postgresql-$version-main.log"
    local _
    for _ in $(seq 1 60); do
      pg_ready && break
      sleep 0.5
    done
    pg_ready || die "PostgreSQL $version/main does not answer on 127.0.0.1:$PG_PORT"
  fi
  if lophoc_login_ok; then
    echo "role lophoc can log in over TCP and create databases"
    return
  fi
  echo "creating role lophoc (LOGIN CREATEDB)"
  as_postgres psql -p "$PG_PORT" -XqAt -v ON_ERROR_STOP=1 <<'SQL'
DO $$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'lophoc') THEN
    CREATE ROLE lophoc LOGIN CREATEDB PASSWORD 'lophoc';
  ELSE
    ALTER ROLE lophoc LOGIN CREATEDB PASSWORD 'lophoc';
  END IF;
END
$$;
SQL
  lophoc_login_ok || die "role lophoc still cannot log in with a password over TCP to 127.0.0.1:$PG_PORT; \
check pg_hba.conf has 'host all all 127.0.0.1/32 scram-sha-256' (or md5)"
}

# The harness makes one database per test (lophoc_test_<uuid>) and leaves it; drop those of
# earlier runs so they do not pile up on a machine that runs the tests again and again. One in
# use (another run at the same time) is left alone: no FORCE, and its DROP error is ignored.
drop_old_test_databases() {
  local url=$LOPHOC_TEST_DATABASE_URL names n
  names=$(psql "$url" -XqAtc "SELECT d.datname FROM pg_database d
      WHERE d.datname ~ '^lophoc_test_[0-9a-f]{32}$'
        AND NOT EXISTS (SELECT 1 FROM pg_stat_activity a WHERE a.datname = d.datname)") \
    || die "cannot connect to $url"
  n=$(printf '%s' "$names" | grep -c . || true)
  [ "$n" -gt 0 ] || return 0
  echo "dropping $n test database(s) of earlier runs"
  # shellcheck disable=SC2086 # one name a word: they match the pattern above
  printf 'DROP DATABASE IF EXISTS "%s";\n' $names | psql "$url" -Xq >/dev/null 2>&1 || true
}

step_pg() {
  step pg "web integration tests on PostgreSQL"
  if [ -z "${LOPHOC_TEST_DATABASE_URL:-}" ]; then
    start_postgres
    LOPHOC_TEST_DATABASE_URL="postgres://lophoc:lophoc@127.0.0.1:$PG_PORT/postgres"
  else
    echo "using the given LOPHOC_TEST_DATABASE_URL"
  fi
  drop_old_test_databases
  if have_nextest; then
    # --workspace with a filter rather than -p web: the same features as the SQLite step, so
    # the test binaries built there are reused instead of rebuilt.
    env -u LOPHOC_TEST_DATABASE LOPHOC_TEST_DATABASE_URL="$LOPHOC_TEST_DATABASE_URL" \
      cargo nextest run --locked --workspace -E 'package(web) & binary(it)' --no-fail-fast
  else
    env -u LOPHOC_TEST_DATABASE LOPHOC_TEST_DATABASE_URL="$LOPHOC_TEST_DATABASE_URL" \
      cargo test --locked -p web --test it --no-fail-fast
  fi
}

step_e2e() {
  step e2e "browser tests (headless Chromium, 360x740 phone)"
  # Built as for the tests (--workspace --tests: dev-dependencies' features unified), so this
  # is the binary the SQLite step already built, not a second variant compiled again.
  cargo build --locked --workspace --tests --bins
  (
    cd "$ROOT/e2e"
    npm ci --no-audit --no-fund --loglevel=error
    LOPHOC_BIN="$CARGO_TARGET_DIR/debug/lophoc" node run.mjs
  )
}

# ---------------------------------------------------------------------------------------------

ALL=(fmt clippy sqlite pg e2e)
case "${1:-}" in
  -h | --help)
    sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'
    exit 0
    ;;
esac
STEPS=("$@")
[ ${#STEPS[@]} -gt 0 ] || STEPS=("${ALL[@]}")
for s in "${STEPS[@]}"; do
  case "$s" in
    deps | fmt | clippy | sqlite | pg | e2e) ;;
    *) die "unknown step '$s' (steps: deps ${ALL[*]})" ;;
  esac
done

trap on_exit EXIT
printf '==> lophoc tests: %s (CARGO_TARGET_DIR=%s)\n' "${STEPS[*]}" "$CARGO_TARGET_DIR"
command -v cargo >/dev/null 2>&1 || die "cargo not found"
case " ${STEPS[*]} " in
  *" deps "*) ;;
  *" pg "* | *" e2e "*) STEPS=(deps "${STEPS[@]}") ;;
esac
for s in "${STEPS[@]}"; do
  "step_$s"
done
