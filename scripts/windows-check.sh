#!/usr/bin/env bash
# Builds backroom.exe for Windows with Debian's Rust toolchain (rustc-web, cargo-web,
# rust-web-src: -Zbuild-std) and mingw, then runs the Windows suite against it under Wine
# (tests/it/windows.rs) and packs the Windows zip with installer/package.sh.
#   --build-only    build the exe (and the test-only Wine shim) and stop
#   --skip-build    test the exe already built in target/windows
# Installs the Debian packages it needs when they are missing.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
triple=x86_64-pc-windows-gnu
build=1
run_tests=1
case "${1:-}" in
  --build-only) run_tests=0 ;;
  --skip-build) build=0 ;;
  "") ;;
  *) echo "windows-check.sh: unknown option $1" >&2; exit 2 ;;
esac

need=()
[ -x /usr/bin/cargo ] && /usr/bin/cargo --version 2>/dev/null | grep -q . || need+=(cargo-web)
[ -x /usr/bin/rustc ] || need+=(rustc-web)
[ -d /usr/lib/rustlib/src/rust/library ] || need+=(rust-web-src)
command -v x86_64-w64-mingw32-gcc >/dev/null 2>&1 || need+=(gcc-mingw-w64-x86-64)
[ -x /usr/lib/wine/wine64 ] || need+=(wine64)
command -v zip >/dev/null 2>&1 || need+=(zip)
command -v unzip >/dev/null 2>&1 || need+=(unzip)
if [ ${#need[@]} -gt 0 ]; then
  echo "Installing: ${need[*]}"
  sudo_cmd=()
  [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  export DEBIAN_FRONTEND=noninteractive
  "${sudo_cmd[@]}" apt-get update -qq
  "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

# Debian's toolchain in its own target folder and cargo home, so it never touches rustup's.
out="$root/target/windows"
exe="$out/$triple/release/backroom.exe"
if [ "$build" -eq 1 ]; then
  started=$(date +%s)
  mkdir -p "$out"
  env CARGO_HOME="$out/cargo-home" CARGO_TARGET_DIR="$out" \
    RUSTC=/usr/bin/rustc RUSTDOC=/usr/bin/rustdoc RUSTC_BOOTSTRAP=1 \
    CARGO_TARGET_X86_64_PC_WINDOWS_GNU_LINKER=x86_64-w64-mingw32-gcc \
    CC_x86_64_pc_windows_gnu=x86_64-w64-mingw32-gcc \
    AR_x86_64_pc_windows_gnu=x86_64-w64-mingw32-ar \
    /usr/bin/cargo build --locked --release --target "$triple" -Zbuild-std=std,panic_unwind
  echo "backroom.exe built in $(( $(date +%s) - started )) s ($(du -h "$exe" | cut -f1))"
fi
[ -f "$exe" ] || { echo "windows-check.sh: no exe at $exe" >&2; exit 1; }

# The test-only stand-in for bcryptprimitives.dll (see scripts/windows/bcryptprimitives.c).
shim="$out/wine-shim/bcryptprimitives.dll"
mkdir -p "$(dirname "$shim")"
x86_64-w64-mingw32-gcc -shared -O2 -o "$shim" scripts/windows/bcryptprimitives.c -lbcrypt
[ "$run_tests" -eq 1 ] || exit 0

prefix="$(mktemp -d)"
export WINEPREFIX="$prefix" WINEDEBUG=-all WINEDLLOVERRIDES="mscoree,mshtml="
cleanup() {
  /usr/lib/wine/wineserver -k >/dev/null 2>&1 || true
  rm -rf "$prefix"
}
trap cleanup EXIT
/usr/lib/wine/wine64 wineboot --init >/dev/null 2>&1 || true

started=$(date +%s)
BACKROOM_TEST_EXE="$exe" BACKROOM_TEST_SHIM="$shim" BACKROOM_TEST_LAUNCHER=/usr/lib/wine/wine64 \
  cargo test --test it windows:: -- --ignored --test-threads=1
echo "Windows suite under Wine: $(( $(date +%s) - started )) s"

# The Windows zip: exe, install.cmd, install.ps1, QUICKSTART.
packed="$(installer/package.sh --target "$triple" --binary "$exe")"
archive="${packed%%$'\n'*}"
listing="$(unzip -Z1 "$archive")"
for f in backroom.exe QUICKSTART.txt install.cmd install.ps1 uninstall.ps1; do
  grep -q "/$f\$" <<<"$listing" || { echo "windows-check.sh: $f missing from $archive" >&2; exit 1; }
done
echo "Windows package: $archive"
