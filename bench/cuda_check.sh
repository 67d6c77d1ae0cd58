#!/usr/bin/env bash
# The CUDA path of training and generation, on a machine with an NVIDIA GPU: every family trains briefly on
# the bundled Bach chorales with --device cuda, generates with --device cuda, and the training speed (from
# metrics.jsonl) and the generation speed (bench/generate_speed.py) are printed as JSON lines. Also times
# the two polyphonic networks' training step on random rolls. Needs tunesmith importable (`make install`).
#
#     bash bench/cuda_check.sh [OUT]          # OUT defaults to out/cuda-check
set -uo pipefail
OUT=${1:-out/cuda-check}
SECONDS_PER_FAMILY=${SECONDS_PER_FAMILY:-45}
DEVICE=${DEVICE:-cuda}
mkdir -p "$OUT"
tunesmith() { python3 -c 'from tunesmith.cli.main import main; main()' "$@"; }
python3 - <<'EOF'
import json, torch
print(json.dumps({"torch": torch.__version__, "cuda": torch.cuda.is_available(),
                  "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None}))
EOF
minutes=$(python3 -c "print($SECONDS_PER_FAMILY / 60)")
for family in rnn transformer vae gan polyphonic; do
  run="$OUT/$family"
  rm -rf "$run"
  extra=()
  [ "$family" = transformer ] && extra=(--config configs/transformer-small.toml)
  [ "$family" = rnn ] && extra=(--config configs/rnn-small.toml)
  [ "$family" = vae ] && extra=(--config configs/vae-2bar.toml)
  start=$(date +%s.%N)
  tunesmith train --model "$family" --corpus bach --out "$run" --device "$DEVICE" --max-minutes "$minutes" --quiet "${extra[@]}" \
    > "$run.train.log" 2>&1
  code=$?
  tunesmith generate "$run" --num 4 --bars 8 --device "$DEVICE" --out "$run/samples" --seed 0 > "$run.gen.log" 2>&1
  gcode=$?
  python3 - "$family" "$run" "$code" "$gcode" "$start" <<'EOF'
import json, sys, time
from pathlib import Path
family, run, code, gcode, start = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5])
rows = [json.loads(l) for l in (run / "metrics.jsonl").read_text().splitlines()] if (run / "metrics.jsonl").exists() else []
steps = [r for r in rows if "step" in r and "loss" in r]
result = json.loads((run / "results.json").read_text()) if (run / "results.json").exists() else {}
mids = sorted(str(p.name) for p in (run / "samples").glob("*.mid")) if (run / "samples").exists() else []
print(json.dumps({"family": family, "train_exit": code, "generate_exit": gcode, "steps": steps[-1]["step"] if steps else 0,
                  "last_loss": round(steps[-1]["loss"], 4) if steps else None, "wall_s": round(time.time() - start, 1),
                  "valid": {k: v for k, v in result.items() if "valid" in k and isinstance(v, (int, float))},
                  "midi_files": len(mids)}))
EOF
  [ "$code" = 0 ] || tail -5 "$run.train.log"
  [ "$gcode" = 0 ] || tail -5 "$run.gen.log"
done
python3 bench/generate_speed.py --runs "$OUT/transformer" "$OUT/rnn" --batches 1 32 --bars 16 --uncached-bars 2 \
  --device "$DEVICE" 2>/dev/null
DEVICE="$DEVICE" python3 - <<'EOF'
import json, os, time, torch
from tunesmith.models.polyphonic import PolyphonicConfig, build_model
device = os.environ["DEVICE"]
sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)
for arch, hidden, out in (("lstm-nade", 256, 512), ("tied", 64, 128)):
    model = build_model(PolyphonicConfig(architecture=arch, hidden=hidden, made_hidden=out)).to(device).train()
    opt = torch.optim.Adam(model.parameters())
    batch = {"rolls": (torch.rand(16, 200, 88, device=device) < 0.04).float(), "weights": torch.ones(16, 200, device=device)}
    for i in range(13):
        if i == 3:
            sync(); start = time.perf_counter()
        loss, _ = model.loss(batch); loss.backward(); opt.step(); opt.zero_grad()
    sync()
    step = (time.perf_counter() - start) / 10
    print(json.dumps({"polyphonic": arch, "batch": [16, 200], "step_s": round(step, 4), "frames_per_s": round(3200 / step)}))
EOF
