#!/usr/bin/env bash
# Fuzzes every question importer (docx, GIFT, Aiken, Moodle XML) with libFuzzer via cargo-fuzz
# and prints executions and crashes per target. Not part of the test command: it runs for
# minutes and needs cargo-fuzz (installed here if missing).
#
#   bash scripts/fuzz.sh          # 150 s per target
#   bash scripts/fuzz.sh 600      # 10 minutes per target
#
# cargo-fuzz needs nightly-only compiler flags; RUSTC_BOOTSTRAP=1 lets the stable toolchain
# accept them, since no nightly toolchain can be fetched on these machines.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../crates/exam"
SECS=${1:-150}
command -v cargo-fuzz >/dev/null 2>&1 || cargo install cargo-fuzz --locked
export RUSTC_BOOTSTRAP=1
export CARGO_TARGET_DIR=${FUZZ_TARGET_DIR:-$HOME/.cache/lophoc-fuzz-target}
status=0
for t in docx gift aiken moodle_xml; do
  log=$(mktemp)
  if cargo fuzz run "$t" -- -max_total_time="$SECS" -rss_limit_mb=2048 >"$log" 2>&1; then
    result=ok
  else
    result=CRASH
    status=1
  fi
  runs=$(grep -E '^Done [0-9]+ runs' "$log" | tail -n 1 || true)
  printf '%-11s %-5s %s\n' "$t" "$result" "${runs:-see $log}"
  [ "$result" = ok ] && rm -f "$log"
done
echo "crash inputs, if any: crates/exam/fuzz/artifacts/"
exit $status
