#!/usr/bin/env bash
# Installs Backroom for this user on macOS: the program (and its data) in
# ~/Library/Application Support/Backroom, started at login by a LaunchAgent.
# Safe to run again. Remove with: launchctl bootout gui/$(id -u)/com.backroom.dashboard
set -euo pipefail

binary="${1:-$(cd "$(dirname "$0")" && pwd)/backroom}"
port="${BACKROOM_PORT:-5000}"
if [ ! -x "$binary" ]; then
  echo "usage: install.sh [path/to/backroom]   (cannot find $binary)" >&2
  exit 1
fi
here="$(cd "$(dirname "$0")" && pwd)"
prefix="$HOME/Library/Application Support/Backroom"
agents="$HOME/Library/LaunchAgents"
plist="$agents/com.backroom.dashboard.plist"
mkdir -p "$prefix" "$agents"
cp "$binary" "$prefix/.backroom.new"
chmod 755 "$prefix/.backroom.new"
mv -f "$prefix/.backroom.new" "$prefix/backroom"
sed -e "s|__PREFIX__|$prefix|g" -e "s|__PORT__|$port|g" "$here/com.backroom.dashboard.plist" > "$plist"
if command -v launchctl >/dev/null 2>&1; then
  launchctl bootout "gui/$(id -u)/com.backroom.dashboard" >/dev/null 2>&1 || true
  launchctl bootstrap "gui/$(id -u)" "$plist"
fi
echo "Installed Backroom in $prefix. Open http://localhost:$port/"
