#!/usr/bin/env bash
# The work of the `setup dimctl` GitHub Action (action.yml): download one released dimctl
# archive for this runner, verify it against the release's SHA256SUMS, unpack it and put
# it on PATH (through $GITHUB_PATH). Nothing is put on PATH unless the checksum matches.
#
# Environment (set by action.yml; also how tests/action_setup.rs drives it):
#   VERSION              the release, e.g. 0.2.0 or v0.2.0 (required)
#   REPOSITORY           owner/name whose releases to read (required unless DIMCTL_RELEASES_URL)
#   DIMCTL_RELEASES_URL  base URL of the release downloads (default
#                        https://github.com/$REPOSITORY/releases/download)
#   RUNNER_OS, RUNNER_ARCH, RUNNER_TEMP, GITHUB_PATH, GITHUB_OUTPUT   as on a GitHub runner
set -euo pipefail

fail() { echo "::error title=setup dimctl::$*" >&2; exit 1; }

version="${VERSION:-}"
version="${version#v}"
[[ "$version" =~ ^[0-9]+\.[0-9]+\.[0-9]+([-+][0-9A-Za-z.-]+)?$ ]] \
  || fail "input 'version' must be a release like 0.2.0 (got '${VERSION:-}'); pin the version you reviewed"
tag="v$version"

case "${RUNNER_OS:-}/${RUNNER_ARCH:-}" in
  Linux/X64) target=x86_64-unknown-linux-gnu ;;
  Linux/ARM64) target=aarch64-unknown-linux-gnu ;;
  macOS/ARM64) target=aarch64-apple-darwin ;;
  macOS/X64) target=x86_64-apple-darwin ;;
  Windows/X64) target=x86_64-pc-windows-msvc ;;
  *) fail "no dimctl release binary for runner ${RUNNER_OS:-?}/${RUNNER_ARCH:-?}; install the wheel instead (pipx install dimctl==$version)" ;;
esac
case "$target" in
  *windows*) archive="dimctl-$tag-$target.zip" exe=dimctl.exe ;;
  *) archive="dimctl-$tag-$target.tar.gz" exe=dimctl ;;
esac

if [ -z "${DIMCTL_RELEASES_URL:-}" ]; then
  [ -n "${REPOSITORY:-}" ] || fail "cannot tell which repository to download dimctl from; set the input 'repository'"
  DIMCTL_RELEASES_URL="https://github.com/$REPOSITORY/releases/download"
fi
base="${DIMCTL_RELEASES_URL%/}/$tag"

dir="${RUNNER_TEMP:?RUNNER_TEMP is not set}/dimctl-$version"
rm -rf "$dir" && mkdir -p "$dir"
cd "$dir"

get() { curl --proto '=https,http' --fail --silent --show-error --location --retry 3 -o "$2" "$1" \
  || fail "could not download $1"; }
get "$base/SHA256SUMS" SHA256SUMS
get "$base/$archive" "$archive"

expected=$(awk -v f="$archive" '$2 == f || $2 == "*"f { print $1 }' SHA256SUMS)
[ -n "$expected" ] || fail "$archive is not listed in $base/SHA256SUMS"
if command -v sha256sum > /dev/null; then
  actual=$(sha256sum "$archive" | awk '{print $1}')
else
  actual=$(shasum -a 256 "$archive" | awk '{print $1}')
fi
[ "$actual" = "$expected" ] \
  || fail "checksum mismatch for $archive: SHA256SUMS says $expected, the download is $actual; not installed"

case "$archive" in
  *.zip) unzip -q "$archive" ;;
  *) tar -xzf "$archive" ;;
esac
bindir="$dir/dimctl-$tag-$target"
[ -f "$bindir/$exe" ] || fail "$archive has no $exe"
chmod +x "$bindir/$exe"
"$bindir/$exe" --version
echo "$bindir" >> "${GITHUB_PATH:?GITHUB_PATH is not set}"
if [ -n "${GITHUB_OUTPUT:-}" ]; then
  echo "path=$bindir/$exe" >> "$GITHUB_OUTPUT"
fi
echo "dimctl $version ($target) verified against SHA256SUMS and put on PATH"
