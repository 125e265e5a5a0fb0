#!/usr/bin/env bash
# lophoc benchmarks that print figures (never timed tests). Targets of the foundation issue:
#   serve cold start on the demo database < 1 s; idle memory < 60 MB;
#   authenticated dashboard >= 3,000 requests/s (load generator on the same machine);
#   roster import of 5,000 students < 10 s.
# Usage: bash scripts/bench.sh        (release build; installs wrk from Debian if missing)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/lophoc-target}
command -v wrk >/dev/null || { apt-get install -y -qq wrk >/dev/null; }
cargo build --release --bin lophoc -q
BIN=$CARGO_TARGET_DIR/release/lophoc
DATA=$(mktemp -d)
PORT=${PORT:-18080}
URL=http://127.0.0.1:$PORT
trap 'kill $PID 2>/dev/null || true; rm -rf "$DATA"' EXIT

wait_healthy() {
  for _ in $(seq 1 2000); do
    curl -fs "$URL/healthz" >/dev/null 2>&1 && return 0
    sleep 0.005
  done
  echo "server did not start" >&2; exit 1
}

echo "== demo database"
"$BIN" serve --demo --data "$DATA" --listen 127.0.0.1:$PORT >/dev/null 2>&1 & PID=$!
wait_healthy; kill $PID; wait $PID 2>/dev/null || true

echo "== cold start of 'serve' on the demo database (5 runs, to the first healthy /healthz)"
times=()
for _ in 1 2 3 4 5; do
  t0=$(date +%s%N)
  "$BIN" serve --data "$DATA" --listen 127.0.0.1:$PORT >/dev/null 2>&1 & PID=$!
  wait_healthy
  t1=$(date +%s%N)
  times+=($(( (t1 - t0) / 1000000 )))
  kill $PID; wait $PID 2>/dev/null || true
done
printf '   runs (ms): %s\n' "${times[*]}"
printf '   median: %s ms (target < 1000 ms)\n' "$(printf '%s\n' "${times[@]}" | sort -n | sed -n 3p)"

"$BIN" serve --data "$DATA" --listen 127.0.0.1:$PORT >/dev/null 2>&1 & PID=$!
wait_healthy
sleep 1
echo "== idle memory: $(( $(ps -o rss= -p $PID) / 1024 )) MB RSS (target < 60 MB)"

JAR=$DATA/cookies
curl -fs -o /dev/null -c "$JAR" -d 'login=ht.thcs&password=lophoc%402025' "$URL/login"
SID=$(awk '$6=="lophoc_sid"{print $7}' "$JAR")
[ -n "$SID" ] || { echo "login failed" >&2; exit 1; }
curl -fs -o /dev/null -b "lophoc_sid=$SID" "$URL/" || { echo "dashboard failed" >&2; exit 1; }
echo "== authenticated dashboard (principal), wrk -t2 -c32 -d10s, 3 runs"
rates=()
for _ in 1 2 3; do
  r=$(wrk -t2 -c32 -d10s -H "Cookie: lophoc_sid=$SID" "$URL/" | awk '/Requests\/sec/{print int($2)}')
  rates+=("$r")
done
printf '   runs (req/s): %s\n' "${rates[*]}"
printf '   median: %s req/s (target >= 3000)\n' "$(printf '%s\n' "${rates[@]}" | sort -n | sed -n 2p)"
echo "   memory after load: $(( $(ps -o rss= -p $PID) / 1024 )) MB RSS"
kill $PID; wait $PID 2>/dev/null || true

echo "== roster import"
"$BIN" bench import --rows 5000 --runs 3

echo "== notifications"
"$BIN" bench notify --parents 2000
