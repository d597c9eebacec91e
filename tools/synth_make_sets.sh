#!/usr/bin/env bash
# Generate the synthetic train/test sets (outside git) in one niced background process chain, resumable:
# rerunning skips complete samples. Seed ranges (core/dataset.py SPLITS): train 0-999999, test 1000000+.
#   test       scan profile, seeds 1000000-1000249 (250)
#   train      scan profile, seeds 0-... (first 500, then up to 100000 as time allows)
#   test_full  full profile (13 views, 512 px, 16 spp), seeds 1000000-1000029 (30), same subjects as test
set -u
cd "$(dirname "$0")/.."
OUT=${SYNTH_DATA:-/work/data/synth}
PY=${PYTHON:-.venv/bin/python}
mkdir -p "$OUT"
run() { nice -n 10 "$PY" -m face_addon synth "$@" >> "$OUT/generate.log" 2>&1; }
run --out "$OUT/test" --seed 1000000 --count 250 --profile scan
run --out "$OUT/train" --seed 0 --count 500 --profile scan
run --out "$OUT/test_full" --seed 1000000 --count 30 --profile full --res 512 --samples 16
run --out "$OUT/train" --seed 0 --count 100000 --profile scan
