#!/usr/bin/env bash
# Build llama-cpp-python once, portably, and install exactly that build into a venv.
#
# Usage: scripts/install_llama_cpp.sh VENV_PYTHON
#
# Why a portable baseline and not llama.cpp's runtime CPU dispatch: a GGML_BACKEND_DL + GGML_CPU_ALL_VARIANTS
# build compiles the CPU backend once per x86 variant (about ten times on 2 cores), and llama-cpp-python 0.3.36
# never calls ggml_backend_load_all(), so such a build loads no CPU backend at all. The default GGML_NATIVE=ON
# compiles for the building CPU (-march=native): on Intel Xeons with AMX it picks AMX kernels that crash in these
# VMs, and the binary cannot run on an older CPU. So: GGML_NATIVE=OFF with the AVX2 generation's instructions
# (SSE4.2, AVX, AVX2, BMI2, FMA, F16C: every x86-64 CPU since Intel Haswell 2013 and AMD Zen 2017), no AVX-512 and
# no AMX. tests/test_llama_build.py checks the installed library holds no AVX-512 or AMX instruction.
#
# Why a wheel folder named by the flags: pip's own wheel cache keys a built wheel by version only, so a wheel built
# with other flags (or natively on another CPU) would be reused whatever CMAKE_ARGS say. The folder name is a hash
# of the version, the flags, the machine architecture, the compiler and Python; nothing in it depends on the CPU
# that built it (no -march=native), so machines with other CPUs may share it. The installed build's key is written
# into the venv; a venv whose key differs (an older native build) gets this build instead.
set -euo pipefail

python=${1:?usage: install_llama_cpp.sh VENV_PYTHON}
version=0.3.36
arch=$(uname -m)
flags="-DLLAVA_BUILD=OFF -DGGML_NATIVE=OFF"
if [ "$arch" = x86_64 ]; then
  flags="$flags -DGGML_SSE42=ON -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_BMI2=ON -DGGML_FMA=ON -DGGML_F16C=ON"
  flags="$flags -DGGML_AVX512=OFF -DGGML_AVX_VNNI=OFF -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF"
fi
compiler=$(cc -dumpfullversion 2>/dev/null || echo unknown)
pyver=$("$python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
key=$(printf '%s\n' "$version" "$flags" "$arch" "$compiler" "$pyver" | sha256sum | cut -c1-16)
wheels=${CODEMILL_WHEEL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/codemill/wheels}/llama-cpp-python-$version-$key
venv=$(dirname "$(dirname "$python")")
record="$venv/llama-cpp-build.json"

if [ -f "$record" ] && grep -q "\"key\": \"$key\"" "$record" \
  && "$python" -c 'import llama_cpp' 2>/dev/null; then
  exit 0  # this build is installed already
fi

if ! ls "$wheels"/llama_cpp_python-*.whl >/dev/null 2>&1; then
  start=$(date +%s)
  echo "llama.cpp: building llama-cpp-python $version portably (once; ~12 min on 2 cores) into $wheels"
  mkdir -p "$wheels.partial"
  rm -f "$wheels.partial"/*.whl
  CMAKE_ARGS="$flags" CMAKE_BUILD_PARALLEL_LEVEL="$(nproc)" \
    "$python" -m pip wheel --quiet --no-deps --no-cache-dir --no-binary llama-cpp-python \
    -w "$wheels.partial" "llama-cpp-python==$version"
  rm -rf "$wheels"
  mv "$wheels.partial" "$wheels"
  echo "llama.cpp: built in $(( $(date +%s) - start )) s"
fi

"$python" -m pip install --quiet --no-deps --force-reinstall "$wheels"/llama_cpp_python-*.whl
cat >"$record" <<EOF
{"version": "$version", "key": "$key", "cmake_args": "$flags", "arch": "$arch", "compiler": "$compiler", "python": "$pyver"}
EOF
echo "llama.cpp: installed the portable build $key"
