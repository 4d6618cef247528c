#!/usr/bin/env bash
# npm run bench: every benchmark in turn (each prints its figures, ratios and targets); exits 1 if any target missed.
set -u
cd "$(dirname "$0")/.."
failed=()
for bench in gas walrus node verify verify-quilts privacy keeper; do
  echo "################ bench:$bench"
  npm run --silent "bench:$bench" || failed+=("$bench")
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "benchmarks with a missed target or an error: ${failed[*]}"
  exit 1
fi
echo "every benchmark target met"
