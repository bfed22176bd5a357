#!/usr/bin/env bash
# One round of `codemill loop` on a GPU machine, at a budget where an effect can be measured (thousands of
# candidates): vLLM serves the student (Qwen2.5-Coder-0.5B-Instruct) and the teacher (1.5B, or any larger
# Qwen2.5-Coder), codemill synthesises and verifies through them, trains the student with LoRA on the GPU
# (`codemill train`, merged), serves the trained model with vLLM and evaluates it on the held-out half.
#
#   STUDENT_DIR=/models/Qwen2.5-Coder-0.5B-Instruct TEACHER_DIR=/models/Qwen2.5-Coder-1.5B-Instruct \
#     bash scripts/loop_gpu.sh OUTPUT_DIR [CANDIDATES]
#
# Needs: a CUDA GPU, `pip install vllm` beside codemill (with its train extra), the two models' Hugging Face
# folders on disk (nothing is downloaded here). Ports 8101 (teacher), 8102 (student), 8103 (trained student).
# Not run by codemill's own CI: no GPU there. What it ran on and measured is in docs/benchmarks.md.
#
# Called by the loop as its external trainer (`train.command`), the same script trains: `loop_gpu.sh train`.
set -euo pipefail

wait_ready() {  # PORT: until vLLM answers /v1/models (model loading takes a minute)
  for _ in $(seq 1 300); do
    curl -sf "http://127.0.0.1:$1/v1/models" >/dev/null && return 0
    sleep 2
  done
  echo "loop_gpu: vLLM on port $1 did not come up; see its log in the output folder" >&2
  return 1
}

serve() {  # MODEL_DIR PORT NAME LOG
  vllm serve "$1" --port "$2" --served-model-name "$3" --gpu-memory-utilization 0.25 --max-model-len 8192 \
    >"$4" 2>&1 &
  echo $! >"$4.pid"
  wait_ready "$2"
}

if [[ "${1:-}" == "train" ]]; then
  # The loop's external trainer: CODEMILL_SFT_DATA, CODEMILL_OUTPUT_DIR, CODEMILL_BASE_MODEL are set by the loop.
  codemill train --base "hf:$STUDENT_DIR" --data "$CODEMILL_SFT_DATA" --output "$CODEMILL_OUTPUT_DIR/merged" \
    --epochs 2 --rank 16 --lr 2e-4 --max-length 1024 >&2
  pidfile="$LOOP_OUTPUT/trained-student.log.pid"
  [[ -f "$pidfile" ]] && kill "$(cat "$pidfile")" 2>/dev/null && sleep 5
  serve "$CODEMILL_OUTPUT_DIR/merged" 8103 trained "$LOOP_OUTPUT/trained-student.log" >&2
  echo "http://127.0.0.1:8103/v1#trained"
  exit 0
fi

output=${1:?usage: loop_gpu.sh OUTPUT_DIR [CANDIDATES]}
candidates=${2:-3000}
: "${STUDENT_DIR:?set STUDENT_DIR to the student's Hugging Face folder}"
: "${TEACHER_DIR:?set TEACHER_DIR to the teacher's Hugging Face folder}"
mkdir -p "$output"
export LOOP_OUTPUT STUDENT_DIR
LOOP_OUTPUT=$(cd "$output" && pwd)
trap 'for f in "$LOOP_OUTPUT"/*.pid; do [[ -f $f ]] && kill "$(cat "$f")" 2>/dev/null; done' EXIT

serve "$TEACHER_DIR" 8101 teacher "$LOOP_OUTPUT/teacher.log"
serve "$STUDENT_DIR" 8102 student "$LOOP_OUTPUT/student.log"

here=$(cd "$(dirname "$0")/.." && pwd)
cat >"$LOOP_OUTPUT/loop.yaml" <<EOF
# written by scripts/loop_gpu.sh: configs/loop.yaml at a GPU's budget
name: bash-round-gpu
model: "http://127.0.0.1:8102/v1#student"
teacher: "http://127.0.0.1:8101/v1#teacher"
synth: $here/configs/synth.yaml
synth_candidates: $candidates
focus: weakest
eval:
  benchmarks: [multipl-e/sh]
  split: true
  limit: null
  max_tokens: null
train:
  command: "bash $here/scripts/loop_gpu.sh train"
EOF
codemill loop "$LOOP_OUTPUT/loop.yaml" --rounds 1 --output "$LOOP_OUTPUT"
