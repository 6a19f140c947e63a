#!/usr/bin/env bash
# Builds the release binary and packs it with README, LICENSE and QUICKSTART.txt into
#   dist/backroom-<version>-<target>.tar.gz   (.zip for Windows targets)
# and writes dist/SHA256SUMS.
#   --target TRIPLE   cross-compile target (default: this machine)
#   --binary PATH     package an already-built binary instead of building one
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
target=""
binary=""
while [ $# -gt 0 ]; do
  case "$1" in
    --target) target="${2:?--target needs a triple}"; shift ;;
    --binary) binary="${2:?--binary needs a path}"; shift ;;
    -h|--help) sed -n '2,7p' "$0"; exit 0 ;;
    *) echo "package.sh: unknown option $1" >&2; exit 2 ;;
  esac
  shift
done

version="$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n 1)"
[ -n "$target" ] || target="$(rustc -vV | sed -n 's/^host: //p')"
exe="backroom"
case "$target" in *windows*) exe="backroom.exe" ;; esac

if [ -z "$binary" ]; then
  if [ "$target" = "$(rustc -vV | sed -n 's/^host: //p')" ]; then
    cargo build --release --locked
    binary="target/release/$exe"
  else
    # Windows from Linux: scripts/windows-check.sh builds the exe; pass it with --binary.
    cargo build --release --locked --target "$target"
    binary="target/$target/release/$exe"
  fi
fi
[ -f "$binary" ] || { echo "package.sh: no binary at $binary" >&2; exit 1; }

name="backroom-$version-$target"
stage="$(mktemp -d)"
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage/$name" dist
cp "$binary" "$stage/$name/$exe"
chmod 755 "$stage/$name/$exe"
cp README.md LICENSE installer/QUICKSTART.txt "$stage/$name/"

case "$target" in
  *windows*)
    # Windows: the installer sits beside the exe, so a double-click on install.cmd is enough.
    cp installer/windows/install.cmd installer/windows/install.ps1 installer/windows/uninstall.ps1 \
      "$stage/$name/"
    archive="dist/$name.zip"
    rm -f "$archive"
    (cd "$stage" && zip -qr "$root/$archive" "$name")
    ;;
  *)
    mkdir -p "$stage/$name/installer"
    cp -R installer/linux installer/windows installer/macos "$stage/$name/installer/"
    archive="dist/$name.tar.gz"
    tar -C "$stage" -czf "$archive" "$name"
    ;;
esac

(
  cd dist
  : > SHA256SUMS.new
  for f in *.tar.gz *.zip; do
    if [ -e "$f" ]; then sha256sum -- "$f" >> SHA256SUMS.new; fi
  done
  mv SHA256SUMS.new SHA256SUMS
)
echo "$archive"
echo "size of the binary: $(du -h "$binary" | cut -f1)"
