#!/usr/bin/env bash
# The FCGAN at 1x, 2x and 4x the quick size of Toys/zw-cuts.toml (docs/gan-studies.md, "Is size what
# the FCGAN lacks?"): writes one study copy per size (FCGAN only, 40k test events) into OUT and runs
# each with `refold validate`. Usage: scripts/fcgan-scaling.sh [OUT] [SEED]; about 40 min on one core.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-Reports-scaling}
seed=${2:-2026}
refold=.build/release/refold
mkdir -p "$out/specs"
# name events epochs units
for size in "1x 40000 40 128" "2x 80000 80 256" "4x-epochs 40000 160 128" "4x-events 160000 40 128" "4x-width 40000 40 512"; do
  set -- $size
  sed -e "s/^name = \"zw-cuts\"/name = \"fcgan-scale-$1\"/" -e '/^compare = /d' Toys/zw-cuts.toml |
    awk -v ev="$2" -v ep="$3" -v un="$4" '
      /^\[profile.quick\]/ { print; print "events = " ev; print "test_events = 40000"; print "epochs = " ep
                             print "layers_per_block = 4"; print "units = " un; skip = 1; next }
      /^\[/ { skip = 0 }
      skip && /^(events|test_events|epochs|layers_per_block|units) *=/ { next }
      { print }' > "$out/specs/$1.toml"
done
for spec in "$out"/specs/*.toml; do
  start=$(date +%s)
  "$refold" validate "$spec" --profile quick --seed "$seed" --out "$out" --jobs 1 --force || true   # the paper gates fail by design
  echo "$(basename "$spec" .toml): $(( $(date +%s) - start )) s"
done
