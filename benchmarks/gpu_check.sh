#!/usr/bin/env bash
# GPU check for issue 20, run once by a session that has a GPU machine (about 8 minutes on one H200):
#   1. the devices the bpy wheel sees (synthkiln devices) and nvidia-smi's GPUs and driver;
#   2. the anchor scene (../shared/bench/anchor) and presets/tabletop.yaml rendered on OptiX and CUDA at
#      640x480/16 spp and 1920x1080/64 spp with denoising, with 1 and 2 workers: frames/min, peak GPU memory;
#   3. the same jobs on the CPU (fewer frames) for the figures beside them, and a check that every frame both
#      rendered has the same mask (pixel for pixel) and the same boxes on the GPU as on the CPU.
# Results: $OUT (or --out DIR)/gpu_check.tsv, devices.json, labels.txt, log.txt.
#
#   benchmarks/gpu_check.sh --dry-run     print every run it would make, render nothing
#   benchmarks/gpu_check.sh --cpu-only    the same pipeline on the CPU alone, tiny (what CI-like machines can run)
#   benchmarks/gpu_check.sh               the real check (needs a GPU)
# PY=/path/to/python (default .venv/bin/python) must have SynthKiln and the bpy 5.0.1 wheel (cp311). The H200
# machine has Python 3.12 and no network: the wheel (~374 MB) and a Python 3.11 must travel there first (see
# the closing note of issue 20 for how); the script says so and stops if they are missing.
set -uo pipefail
cd "$(dirname "$0")/.."
MODE=gpu
OUTDIR=${OUT:-/tmp/synthkiln-gpu-check}
while [ $# -gt 0 ]; do
    case "$1" in
        --dry-run) MODE=dry ;;
        --cpu-only) MODE=cpu ;;
        --out) OUTDIR=$2; shift ;;
        *) echo "usage: $0 [--dry-run|--cpu-only] [--out DIR]" >&2; exit 2 ;;
    esac
    shift
done
PY=${PY:-.venv/bin/python}
WORK=$(mktemp -d /tmp/sk-gpu-XXXXXX)
mkdir -p "$OUTDIR"
LOG=$OUTDIR/log.txt
: >"$LOG"
say() { echo "$*" | tee -a "$LOG" >&2; }

if ! "$PY" -c "import bpy, synthkiln" 2>/dev/null; then
    say "gpu_check: $PY cannot import bpy and synthkiln: install the bpy 5.0.1 wheel (Python 3.11) and SynthKiln first"
    exit 1
fi

ANCHOR=${ANCHOR:-}
for a in ../shared/bench/anchor shared/bench/anchor; do
    [ -z "$ANCHOR" ] && [ -f "$a/make_scene.py" ] && ANCHOR=$a
done

# -- 1. devices --------------------------------------------------------------------------------------------
"$PY" -m synthkiln devices --json >"$OUTDIR/devices.json" 2>>"$LOG" || { say "synthkiln devices failed"; exit 1; }
"$PY" -m synthkiln devices 2>>"$LOG" | tee -a "$LOG" >&2
if command -v nvidia-smi >/dev/null; then
    nvidia-smi --query-gpu=index,name,driver_version,memory.total --format=csv | tee -a "$LOG" >&2
fi

# -- the scenes --------------------------------------------------------------------------------------------
SCENES=(tabletop)
cp presets/tabletop.yaml "$WORK/tabletop.yaml" 2>/dev/null || echo "extends: tabletop" >"$WORK/tabletop.yaml"
if [ -n "$ANCHOR" ]; then
    "$PY" "$ANCHOR/make_scene.py" "$WORK/anchor.blend" >>"$LOG" 2>&1 && cp "$ANCHOR/bench.yaml" "$WORK/anchor.yaml" \
        && SCENES+=(anchor)
else
    say "no anchor scene (../shared/bench/anchor or ./shared/bench/anchor; or set ANCHOR=): tabletop only"
fi

# -- the runs ----------------------------------------------------------------------------------------------
# name resolution samples gpu-frames cpu-frames
CONFIGS=("small 640x480 16 24 4" "large 1920x1080 64 8 1")
BACKENDS=(OPTIX CUDA)
WORKERS=(1 2)
if [ "$MODE" = cpu ]; then
    CONFIGS=("tiny 64x48 1 4 4")
    BACKENDS=()
fi

override() {    # $1 scene, $2 device, $3 backend: a preset over the scene with denoising on
    local f="$WORK/over-$1-$2-$3.yaml"
    if [ "$1" = anchor ]; then     # the anchor recipe itself, edited (a .blend's preset cannot extend)
        "$PY" -c 'import sys, yaml
src, dst, device, backend = sys.argv[1:]
data = yaml.safe_load(open(src))
data["render"].update(denoise=True, device=device, gpu_backend=backend)
data["output"].update(exports=[], previews=0)
open(dst, "w").write(yaml.safe_dump(data, sort_keys=False))' "$WORK/anchor.yaml" "$f" "$2" "$3"
    else
        printf 'extends: %s\nrender: {denoise: true, device: %s, gpu_backend: %s}\noutput: {exports: [], previews: 0}\n' \
            "$WORK/tabletop.yaml" "$2" "$3" >"$f"
    fi
    echo "$f"
}

peak_mem() {    # sample GPU memory in the background; prints the peak (MiB) when stopped
    [ "$MODE" = gpu ] && command -v nvidia-smi >/dev/null || { echo "-"; return; }
    local f="$WORK/mem-$RANDOM"
    nvidia-smi --query-gpu=memory.used --format=csv,noheader,nounits -lms 250 >"$f" 2>/dev/null &
    echo "$! $f"
}

printf 'scene\tdevice\tbackend\tconfig\tresolution\tspp\tworkers\tframes\tseconds\tframes_per_min\tpeak_gpu_mib\tstatus\n' \
    >"$OUTDIR/gpu_check.tsv"
run() {     # scene device backend config res spp frames workers
    local scene=$1 device=$2 backend=$3 config=$4 res=$5 spp=$6 frames=$7 workers=$8
    local out="$WORK/ds-$scene-$device-$backend-$config-w$workers"
    local preset; preset=$(override "$scene" "$device" "$backend")
    local args=(render "$preset" --frames "$frames" --resolution "$res" --samples "$spp" --out "$out"
                --workers "$workers" --seed 7)
    [ "$scene" = anchor ] && args=(render "$WORK/anchor.blend" --preset "$preset" --frames "$frames" --resolution "$res"
                                   --samples "$spp" --out "$out" --workers "$workers" --seed 7)
    if [ "$MODE" = dry ]; then
        say "would run: $PY -m synthkiln ${args[*]}"
        return
    fi
    local mem; mem=$(peak_mem)
    local t0; t0=$(date +%s.%N)
    timeout 240 "$PY" -m synthkiln "${args[@]}" >>"$LOG" 2>&1
    local rc=$?
    local t1; t1=$(date +%s.%N)
    local peak="-"
    if [ "$mem" != "-" ]; then
        kill "${mem%% *}" 2>/dev/null; wait "${mem%% *}" 2>/dev/null
        peak=$(sort -n "${mem#* }" | tail -1)
    fi
    local secs; secs=$(python3 -c "print(round($t1 - $t0, 2))")
    local fpm; fpm=$(python3 -c "print(round(60 * $frames / ($t1 - $t0), 2))")
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$scene" "$device" "$backend" "$config" "$res" "$spp" \
        "$workers" "$frames" "$secs" "$fpm" "$peak" "$([ $rc = 0 ] && echo ok || echo "exit $rc")" \
        | tee -a "$OUTDIR/gpu_check.tsv" >&2
}

for scene in "${SCENES[@]}"; do
    for cfg in "${CONFIGS[@]}"; do
        read -r config res spp gframes cframes <<<"$cfg"
        run "$scene" CPU auto "$config" "$res" "$spp" "$cframes" 1
        for backend in "${BACKENDS[@]}"; do
            for w in "${WORKERS[@]}"; do
                run "$scene" GPU "$backend" "$config" "$res" "$spp" "$gframes" "$w"
            done
        done
        [ "$MODE" = cpu ] && run "$scene" auto auto "$config" "$res" "$spp" "$gframes" 2   # auto falls back here
    done
done
[ "$MODE" = dry ] && { rm -rf "$WORK"; exit 0; }

# -- labels: every frame both rendered, GPU (or auto) against CPU -------------------------------------------
"$PY" - "$WORK" >"$OUTDIR/labels.txt" 2>>"$LOG" <<'EOF'
import json, sys
from pathlib import Path
import numpy as np
from PIL import Image

work = Path(sys.argv[1])
bad = 0
for cpu in sorted(work.glob("ds-*-CPU-auto-*-w1")):
    scene, config = cpu.name.split("-")[1], cpu.name.split("-")[4]
    for other in sorted(work.glob(f"ds-{scene}-*-{config}-w*")):
        if other == cpu:
            continue
        for rec in sorted((cpu / "frames").glob("*.json")):
            theirs = other / "frames" / rec.name
            if not theirs.exists():
                continue
            a, b = json.loads(rec.read_text()), json.loads(theirs.read_text())
            ma, mb = (np.asarray(Image.open(d / r["files"]["mask"])) for d, r in ((cpu, a), (other, b)))
            pixels = int(np.count_nonzero(ma != mb))
            boxes = [o.get("bbox") for o in a["objects"]] == [o.get("bbox") for o in b["objects"]]
            same = pixels == 0 and boxes
            bad += not same
            print(f"{other.name} frame {rec.stem}: mask pixels differing {pixels}, boxes {'equal' if boxes else 'DIFFER'}"
                  f" -> {'same' if same else 'DIFFERENT'}")
print(f"labels: {'all equal to the CPU run' if not bad else f'{bad} frames differ from the CPU run'}")
EOF
tail -1 "$OUTDIR/labels.txt" | tee -a "$LOG" >&2
column -t -s $'\t' "$OUTDIR/gpu_check.tsv" >&2 2>/dev/null || cat "$OUTDIR/gpu_check.tsv" >&2
rm -rf "$WORK"
