#!/usr/bin/env bash
# Install the sandbox's toolchains (codemill.sandbox) and bubblewrap, from Debian's packages and npm.
#
# Why a script and not a Dockerfile: CI and developers run on plain Debian 12 machines as root, with
# Debian's and npm's registries reachable and nothing else. Idempotent: packages already installed are
# detected with one dpkg-query call and skipped, so a second run takes about a second and never touches
# the network. Works as root or through sudo.
set -euo pipefail

# One language or helper per line; the sandbox's language table (src/codemill/sandbox/languages.py)
# names the commands these provide.
APT_PACKAGES=(
  bubblewrap                       # the isolation: namespaces without a daemon
  python3                          # Python (Debian's interpreter: outside /root, so the sandbox can see it)
  gcc g++ libc6-dev                # C, C++
  openjdk-17-jdk-headless          # Java (javac + java)
  libjavatuples-java               # MultiPL-E's Java tests import org.javatuples
  golang-go                        # Go
  rustc                            # Rust (Debian's, in /usr/bin: rustup's lives under /root, hidden from runs)
  mono-mcs mono-runtime libmono-system-core4.0-cil  # C# (Mono: no .NET SDK in Debian)
  php-cli                          # PHP
  ruby ruby-test-unit              # Ruby (MultiPL-E's Ruby tests use test/unit)
  perl libtest-deep-perl           # Perl (MultiPL-E's Perl tests use Test::Deep)
  lua5.4                           # Lua
  r-base-core                      # R
  bash                             # Bash
  kotlin                           # Kotlin (kotlinc-jvm)
  scala                            # Scala
  ghc                              # Haskell
  gdc                              # D (GCC's front end; dmd is not in Debian)
)
NPM_PREFIX=/opt/codemill/node      # TypeScript entry: esbuild (tsx's dependency) strips types; tsc for checks
NPM_PACKAGES=(tsx@4 typescript@5 @types/node@20)

if [ "$(id -u)" = 0 ]; then SUDO=(); else SUDO=(sudo); fi
start=$(date +%s)

# dpkg-query prints "install ok installed" for each installed package; the rest are missing.
missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
  [ "$status" = "install ok installed" ] || missing+=("$pkg")
done
if ! command -v node >/dev/null; then missing+=(nodejs npm); fi

if [ ${#missing[@]} -gt 0 ]; then
  echo "install_toolchains: installing ${#missing[@]} Debian packages: ${missing[*]}"
  "${SUDO[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${SUDO[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [ ! -x "$NPM_PREFIX/node_modules/.bin/tsx" ] || [ ! -x "$NPM_PREFIX/node_modules/.bin/tsc" ] \
  || [ ! -x "$NPM_PREFIX/node_modules/esbuild/bin/esbuild" ]; then
  echo "install_toolchains: installing ${NPM_PACKAGES[*]} into $NPM_PREFIX"
  "${SUDO[@]}" mkdir -p "$NPM_PREFIX"
  "${SUDO[@]}" npm install --silent --no-audit --no-fund --prefix "$NPM_PREFIX" "${NPM_PACKAGES[@]}" >/dev/null
fi

echo "install_toolchains: done in $(( $(date +%s) - start )) s"
