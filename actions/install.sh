#!/usr/bin/env bash
# Installs aiven-azure-peering (one executable, answering to each phase name) for this runner,
# once per version:
#   1. binaries already installed (on PATH, or in the cache directory) are reused when their
#      --version is the wanted one;
#   2. otherwise the release archive for the runner's OS and architecture is downloaded and
#      installed only if its sha256 is the one pinned in release.env (written by `cargo xtask pin`);
#   3. only where no archive is pinned for the runner, it is built from this checkout with
#      `cargo install --locked` (minutes, once per version: the actions cache the result).
# Linux, macOS and Windows (Git Bash), X64 and ARM64; under GitHub Actions or by hand.
#
# Usage: install.sh [--plan]
#   --plan  decide only, and write source-build, directory and cache-key to $GITHUB_OUTPUT
#           (the actions restore a cached source build with them before installing).
set -euo pipefail

actions_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# Every install has this name; its --version is the install's version.
probe=prepare-tenant
plan=false
if [ "${1:-}" = "--plan" ]; then plan=true; fi

fail() {
  echo "install.sh: $*" >&2
  if [ -n "${GITHUB_ACTIONS:-}" ]; then echo "::error title=install aiven-azure-peering::$*"; fi
  exit 1
}

# A path as the runner's tools want it (Windows paths under Git Bash).
native_path() {
  if command -v cygpath >/dev/null 2>&1; then cygpath -w "$1"; else echo "$1"; fi
}
unix_path() {
  if command -v cygpath >/dev/null 2>&1; then cygpath -u "$1"; else echo "$1"; fi
}

os="${RUNNER_OS:-$(uname -s)}"
arch="${RUNNER_ARCH:-$(uname -m)}"
case "$os" in
  Linux | linux) os=Linux ;;
  macOS | Darwin) os=macOS ;;
  Windows | MINGW* | MSYS* | CYGWIN*) os=Windows ;;
esac
case "$arch" in
  X64 | x86_64 | amd64 | AMD64) arch=X64 ;;
  ARM64 | aarch64 | arm64) arch=ARM64 ;;
esac
exe=""
archive_extension=tar.gz
case "$os/$arch" in
  Linux/X64) target=x86_64-unknown-linux-musl ;;
  Linux/ARM64) target=aarch64-unknown-linux-musl ;;
  macOS/X64) target=x86_64-apple-darwin ;;
  macOS/ARM64) target=aarch64-apple-darwin ;;
  # Windows on Arm runs x64 executables.
  Windows/X64 | Windows/ARM64) target=x86_64-pc-windows-msvc ;;
  *) target="" ;;
esac
if [ "$os" = Windows ]; then
  exe=.exe
  archive_extension=zip
fi

REPOSITORY=""
VERSION=""
# shellcheck disable=SC1091
. "$actions_dir/release.env"
checksum_variable="SHA256_${target//-/_}"
checksum="${!checksum_variable:-}"
if [ -n "$VERSION" ]; then
  wanted="${VERSION#v}"
else
  wanted="$(sed -n 's/^version = "\(.*\)"$/\1/p' "$actions_dir/../crates/peering/Cargo.toml" | head -n 1)"
fi
[ -n "$wanted" ] || fail "release.env names no VERSION and crates/peering/Cargo.toml no version: is $actions_dir a checkout of aiven-azure-peering?"

platform="${target:-$os-$arch}"
cache_root="$(unix_path "${RUNNER_TOOL_CACHE:-${RUNNER_TEMP:-${TMPDIR:-/tmp}}}")"
directory="$cache_root/aiven-azure-peering/$wanted/$platform"
bin_dir="$directory/bin"

# The version word of `$1 --version`, empty if it does not run.
version_of() {
  local output
  output="$("$1" --version 2>/dev/null)" || return 0
  output="${output%%$'\n'*}"
  echo "${output##* }"
}

reuse=""
if found="$(command -v "$probe" 2>/dev/null)" && [ "$(version_of "$found")" = "$wanted" ]; then
  reuse="on PATH ($(dirname "$found"))"
elif [ -x "$bin_dir/$probe$exe" ] && [ "$(version_of "$bin_dir/$probe$exe")" = "$wanted" ]; then
  reuse="in $bin_dir"
fi
pinned=false
if [ -n "$target" ] && [ -n "$VERSION" ] && [ -n "$checksum" ] && [ -n "$REPOSITORY" ]; then pinned=true; fi

if [ "$plan" = true ]; then
  source_build=false
  if [ -z "$reuse" ] && [ "$pinned" = false ]; then source_build=true; fi
  {
    echo "source-build=$source_build"
    echo "directory=$(native_path "$directory")"
    echo "cache-key=aiven-azure-peering-$wanted-$platform-cargo"
  } | tee -a "${GITHUB_OUTPUT:-/dev/null}"
  exit 0
fi

download() {
  if command -v curl >/dev/null 2>&1; then
    curl --fail --silent --show-error --location --retry 3 --output "$2" "$1"
  elif command -v wget >/dev/null 2>&1; then
    wget --quiet --tries=3 --output-document="$2" "$1"
  else
    fail "neither curl nor wget is installed: install one of them"
  fi
}

# sha256sum (Linux, Git Bash) or shasum (macOS runners have no sha256sum).
if command -v sha256sum >/dev/null 2>&1; then
  sha256_tool=(sha256sum)
elif command -v shasum >/dev/null 2>&1; then
  sha256_tool=(shasum -a 256)
else
  sha256_tool=()
fi

extract() {
  case "$1" in
    *.zip)
      if command -v unzip >/dev/null 2>&1; then
        unzip -q "$1" -d "$2"
      else
        powershell -NoProfile -Command "Expand-Archive -LiteralPath '$(native_path "$1")' -DestinationPath '$(native_path "$2")'"
      fi
      ;;
    *) tar -xzf "$1" -C "$2" ;;
  esac
}

if [ -n "$reuse" ]; then
  echo "aiven-azure-peering $wanted is already installed $reuse"
elif [ "$pinned" = true ]; then
  archive="aiven-azure-peering-$target.$archive_extension"
  url="${GITHUB_SERVER_URL:-https://github.com}/$REPOSITORY/releases/download/$VERSION/$archive"
  [ "${#sha256_tool[@]}" -gt 0 ] || fail "neither sha256sum nor shasum is installed: install coreutils or perl"
  mkdir -p "$directory"
  staging="$(mktemp -d "$directory/download.XXXXXX")"
  trap 'rm -rf "$staging"' EXIT
  echo "downloading $url"
  download "$url" "$staging/$archive"
  read -r actual _ < <("${sha256_tool[@]}" "$staging/$archive")
  actual="${actual#\\}"
  if [ "$actual" != "$checksum" ]; then
    fail "refusing $url: its sha256 is $actual but release.env pins $checksum (a corrupt download or a replaced release asset); nothing was installed"
  fi
  echo "verified with ${sha256_tool[*]}: $actual"
  extract "$staging/$archive" "$staging"
  rm -rf "$bin_dir"
  mv "$staging/aiven-azure-peering-$target" "$bin_dir"
  if [ -f "$bin_dir/phase-names.txt" ]; then
    # Windows archives hold one executable and its names (a zip holds no links): one copy per
    # name, so that each phase answers to its own name.
    while IFS= read -r name; do
      if [ -n "$name" ]; then cp "$bin_dir/aiven-azure-peering$exe" "$bin_dir/$name$exe"; fi
    done <"$bin_dir/phase-names.txt"
  fi
  installed="$(version_of "$bin_dir/$probe$exe")"
  if [ "$installed" != "$wanted" ]; then
    rm -rf "$bin_dir"
    fail "the archive of $VERSION holds version '${installed:-none}' of $probe, not $wanted: the release is broken, report it"
  fi
  echo "installed aiven-azure-peering $wanted ($target) in $bin_dir"
else
  if ! command -v cargo >/dev/null 2>&1; then
    fail "no release archive is pinned for $platform in release.env (VERSION=${VERSION:-none}) and cargo is not installed: use a released version of the action (@v0), or install Rust on the runner first"
  fi
  echo "no release archive is pinned for $platform in release.env (VERSION=${VERSION:-none}):"
  echo "building aiven-azure-peering $wanted from source with cargo install --locked; this takes a few minutes, once per version"
  cargo install --locked --force --root "$directory" --path "$actions_dir/../crates/peering"
fi

if [ -z "$reuse" ] || [ "$reuse" = "in $bin_dir" ]; then
  if [ -n "${GITHUB_PATH:-}" ]; then
    native_path "$bin_dir" >>"$GITHUB_PATH"
  else
    echo "add it to PATH: export PATH=\"$bin_dir:\$PATH\""
  fi
fi
