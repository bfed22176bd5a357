"""The installed llama.cpp is the portable build: correct on every x86-64 CPU since 2013, whatever CPU built it.

The build's native default (GGML_NATIVE=ON) picks AMX kernels on Intel Xeons, which crash in these VMs, and
AVX-512 code, which an AMD EPYC cannot run. So the check reads the machine code itself: no instruction of the
installed CPU backend may touch an AVX-512 register (zmm/k masks) or an AMX tile, and the AVX2 kernels must be
there (a build without them would be correct but many times slower).
"""

from __future__ import annotations

import json
import platform
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(platform.machine() != "x86_64", reason="the portable flags are x86-64 flags")

AVX512_OR_AMX = re.compile(r"%zmm\d|%k[1-7]\b|\b(?:ldtilecfg|tileloadd|tdpb[su][su]d|tdpbf16ps|tilestored)\b")
AVX2 = re.compile(r"\bvfmadd\d{3}ps\b.*%ymm|\bvpmaddubsw\b.*%ymm")


def llama_libraries() -> list[Path]:
    import llama_cpp

    lib = Path(llama_cpp.__file__).parent / "lib"
    found = sorted(lib.glob("libggml*.so*"))
    assert found, f"no ggml library under {lib}"
    return found


def disassembly(path: Path) -> str:
    return subprocess.run(
        ["objdump", "-d", "--no-show-raw-insn", str(path)], capture_output=True, text=True, check=True
    ).stdout


def test_no_avx512_or_amx_instruction_in_the_installed_build() -> None:
    offending = {}
    for library in llama_libraries():
        hits = AVX512_OR_AMX.findall(disassembly(library))
        if hits:
            offending[library.name] = sorted(set(hits))[:5]
    assert not offending, f"llama.cpp was built for a newer CPU than the portable baseline: {offending}"


def test_the_avx2_kernels_are_compiled_in() -> None:
    cpu_backend = next(p for p in llama_libraries() if "cpu" in p.name or p.name.startswith("libggml.so"))
    assert AVX2.search(disassembly(cpu_backend)), f"{cpu_backend.name} has no AVX2/FMA kernels"
    import llama_cpp

    info = llama_cpp.llama_print_system_info().decode()
    assert "AVX2 = 1" in info and "AVX512 = 1" not in info and "AMX_INT8 = 1" not in info, info


def test_the_venv_records_the_portable_build_it_runs() -> None:
    record = json.loads((Path(sys.prefix) / "llama-cpp-build.json").read_text())
    assert "-DGGML_NATIVE=OFF" in record["cmake_args"] and "-DGGML_AMX_INT8=OFF" in record["cmake_args"]
    import llama_cpp

    assert record["version"] == llama_cpp.__version__


def test_the_check_catches_a_native_avx512_build() -> None:
    """The pattern finds what a -march=native build on an AVX-512/AMX Xeon emits (as objdump prints it)."""
    native = "vfmadd231ps %zmm1,%zmm2,%zmm0\nkmovw %k1,%eax\nldtilecfg (%rdi)\ntdpbssd %tmm2,%tmm1,%tmm0\n"
    assert set(AVX512_OR_AMX.findall(native)) >= {"%zmm1", "%k1", "ldtilecfg", "tdpbssd"}
    assert not AVX512_OR_AMX.findall("vfmadd231ps %ymm1,%ymm2,%ymm0\nvpmaddubsw %ymm3,%ymm4,%ymm5\n")
