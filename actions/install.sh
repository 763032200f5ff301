#!/usr/bin/env bash
# Installs the four step binaries for this runner once per job: the release archive for
# RUNNER_OS/RUNNER_ARCH verified against the sha256 pinned in release.env, or, for targets
# without an archive, `cargo install --locked` from the action's own checkout.
set -euo pipefail
actions_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="${RUNNER_TEMP:-${TMPDIR:-/tmp}}/aiven-azure-peering"
bin_dir="$root/bin"
publish_path() {
  if [ -n "${GITHUB_PATH:-}" ]; then echo "$bin_dir" >> "$GITHUB_PATH"; fi
}
if [ -x "$bin_dir/await-active" ]; then
  echo "step binaries already installed in $bin_dir"
  publish_path
  exit 0
fi
case "${RUNNER_OS:-Linux}/${RUNNER_ARCH:-X64}" in
  Linux/X64) target=x86_64-unknown-linux-gnu ;;
  Linux/ARM64) target=aarch64-unknown-linux-gnu ;;
  macOS/X64) target=x86_64-apple-darwin ;;
  macOS/ARM64) target=aarch64-apple-darwin ;;
  *) target="" ;;
esac
# shellcheck disable=SC1091
. "$actions_dir/release.env"
checksum_variable="SHA256_${target//-/_}"
checksum="${!checksum_variable:-}"
mkdir -p "$bin_dir"
if [ -n "$target" ] && [ -n "${VERSION:-}" ] && [ -n "$checksum" ]; then
  archive="aiven-azure-peering-$target.tar.gz"
  url="${GITHUB_SERVER_URL:-https://github.com}/$REPOSITORY/releases/download/$VERSION/$archive"
  echo "downloading $url"
  curl --fail --silent --show-error --location --retry 3 --output "$root/$archive" "$url"
  echo "$checksum  $root/$archive" | sha256sum --check --strict -
  tar -xzf "$root/$archive" -C "$root"
  cp "$root/aiven-azure-peering-$target"/* "$bin_dir/"
else
  echo "no release archive pinned for ${target:-this runner}: building with cargo install --locked"
  cargo install --locked --quiet --root "$root" --path "$actions_dir/../crates/peering"
fi
publish_path
