"""llama.cpp's portable build (what `make venv` installs) against a native build (-march=native), tokens/s.

codemill builds llama-cpp-python with GGML_NATIVE=OFF and the AVX2 generation's instructions, because the native
default picks AMX kernels that crash on the Intel Xeons of these VMs and emits AVX-512 code an AMD EPYC cannot run
(scripts/install_llama_cpp.sh). This bench says what that portability costs on the CPU it runs on: it builds the
same llama-cpp-python version natively into ``bench/.work/`` (a folder named by this CPU's flags, so it is never
used on another CPU; ~12 min the first time on 2 cores), then runs the same model, prompt and settings with both
builds, alternating, each run in a fresh process (model load excluded), and prints portable/native for prompt
processing and for a whole
completion (generated tokens over the call's seconds, prompt included). Greedy, one thread.

Usage: ``python bench/llama_build_bench.py [--model smollm2] [--rounds 3] [--tokens 128]``
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import statistics
import subprocess
import sys
import zipfile
from pathlib import Path

from codemill.llm.llama_process import installed_build
from codemill.llm.models import gguf_path

HERE = Path(__file__).parent
WORK = HERE / ".work" / "llama-build"
RESULTS = HERE / "results"
VERSION = "0.3.36"
PROMPT = (
    "<|im_start|>system\nYou are a helpful coding assistant.<|im_end|>\n<|im_start|>user\n"
    "Write a Python function `merge_intervals(intervals)` that merges overlapping closed intervals and returns "
    "them sorted. Explain the algorithm briefly, then give the code with a docstring and three doctests."
    "<|im_end|>\n<|im_start|>assistant\n"
)

# Run in a child process: the build under test is whatever `llama_cpp` resolves to on its sys.path.
CHILD = r"""
import json, sys, time
import llama_cpp
model, tokens = sys.argv[1], int(sys.argv[2])
prompt = sys.stdin.read()
llm = llama_cpp.Llama(model_path=model, n_ctx=2048, n_threads=1, n_batch=512, seed=0, verbose=False)
ids = llm.tokenize(prompt.encode(), add_bos=False, special=True)
llm.create_completion(prompt=prompt, max_tokens=8, temperature=0.0)  # warm-up: caches, page-ins
llm.reset()
t0 = time.perf_counter(); llm.eval(ids); prompt_s = time.perf_counter() - t0
llm.reset()
t0 = time.perf_counter()
answer = llm.create_completion(prompt=prompt, max_tokens=tokens, temperature=0.0, repeat_penalty=1.0)
total_s = time.perf_counter() - t0
generated = answer["usage"]["completion_tokens"]
print(json.dumps({"prompt_tokens": len(ids), "prompt_s": prompt_s, "generated": generated,
                  "generate_s": total_s, "text": answer["choices"][0]["text"],
                  "system_info": llama_cpp.llama_print_system_info().decode()}))
"""


def cpu_flags() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("flags"):
            return line.split(":", 1)[1].strip()
    return platform.processor()


def cpu_name() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def native_build() -> Path:
    """llama-cpp-python built with -march=native for this CPU, unpacked into a folder named by its flags."""
    key = hashlib.sha256(f"{VERSION} {cpu_flags()}".encode()).hexdigest()[:16]
    folder = WORK / f"native-{key}"
    if (folder / "llama_cpp" / "__init__.py").is_file():
        return folder
    wheels = WORK / f"wheels-{key}"
    wheels.mkdir(parents=True, exist_ok=True)
    if not list(wheels.glob("*.whl")):
        print(f"building llama-cpp-python {VERSION} natively for this CPU (once; ~12 min on 2 cores)", flush=True)
        env = {**os.environ, "CMAKE_ARGS": "-DLLAVA_BUILD=OFF -DGGML_NATIVE=ON"}
        env["CMAKE_BUILD_PARALLEL_LEVEL"] = str(os.cpu_count() or 2)
        subprocess.run(
            [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-cache-dir", "--no-binary",
             "llama-cpp-python", "-w", str(wheels), f"llama-cpp-python=={VERSION}"],
            check=True, env=env,
        )  # fmt: skip
    with zipfile.ZipFile(next(wheels.glob("*.whl"))) as wheel:
        wheel.extractall(folder)
    for library in (folder / "llama_cpp" / "lib").glob("*.so*"):
        library.chmod(0o755)
    return folder


def run_once(model: Path, tokens: int, build_path: Path | None) -> dict:
    env = dict(os.environ)
    if build_path is not None:
        env["PYTHONPATH"] = f"{build_path}{os.pathsep}{env.get('PYTHONPATH', '')}"
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(model), str(tokens)],
        input=PROMPT,
        capture_output=True,
        text=True,
        check=True,
        env=env,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="smollm2", help="a shipped model's name or a .gguf file")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--tokens", type=int, default=128)
    args = parser.parse_args()
    model = gguf_path(args.model)
    native = native_build()
    runs: dict[str, list[dict]] = {"portable": [], "native": []}
    for round_ in range(args.rounds):
        order = ("portable", "native") if round_ % 2 == 0 else ("native", "portable")
        for name in order:
            runs[name].append(run_once(model, args.tokens, native if name == "native" else None))
            last = runs[name][-1]
            print(f"round {round_ + 1} {name:8s} prompt {last['prompt_tokens'] / last['prompt_s']:7.1f} tok/s  "
                  f"generate {last['generated'] / last['generate_s']:6.1f} tok/s", flush=True)  # fmt: skip

    def median_rate(name: str, tokens: str, seconds: str) -> float:
        return statistics.median(r[tokens] / r[seconds] for r in runs[name])

    summary = {
        name: {
            "prompt_tokens_per_s": round(median_rate(name, "prompt_tokens", "prompt_s"), 2),
            "generate_tokens_per_s": round(median_rate(name, "generated", "generate_s"), 2),
            "system_info": runs[name][0]["system_info"],
        }
        for name in runs
    }
    same_text = len({r["text"] for r in runs["portable"] + runs["native"]}) == 1
    ratios = {
        "prompt": round(summary["portable"]["prompt_tokens_per_s"] / summary["native"]["prompt_tokens_per_s"], 3),
        "generate": round(summary["portable"]["generate_tokens_per_s"] / summary["native"]["generate_tokens_per_s"], 3),
    }
    result = {
        "bench": "llama.cpp portable vs native build",
        "cpu": cpu_name(),
        "cpu_has_avx512": " avx512f " in f" {cpu_flags()} ",
        "cpu_has_amx": " amx_tile " in f" {cpu_flags()} ",
        "model": model.name,
        "llama_cpp_python": VERSION,
        "portable_build": installed_build(),
        "native_build": "-DLLAVA_BUILD=OFF -DGGML_NATIVE=ON",
        "threads": 1,
        "rounds": args.rounds,
        "max_tokens": args.tokens,
        "statistic": "median over rounds, each a fresh process, builds alternating",
        "results": summary,
        "portable_over_native": ratios,
        "same_greedy_text": same_text,
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "llama_build.json").write_text(json.dumps(result, indent=2) + "\n")
    print(
        f"\n{cpu_name()}: portable/native = {ratios['prompt']:.2f}x prompt, {ratios['generate']:.2f}x generation "
        f"({model.name}, 1 thread, median of {args.rounds}); same greedy text: {same_text}"
    )


if __name__ == "__main__":
    main()
