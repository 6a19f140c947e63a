#!/usr/bin/env bash
# Installs Backroom for this user (no root needed), or system-wide with --system.
#
#   per user:  ~/.local/share/backroom/backroom   (the data lives next to it)
#              ~/.config/systemd/user/backroom.service   (Restart=on-failure)
#              ~/.local/share/applications/backroom.desktop   (opens http://localhost:PORT)
#   --system:  /opt/backroom/backroom, data in /opt/backroom/data, service user "backroom",
#              /etc/systemd/system/backroom.service
#
# Safe to run again: it replaces the program and the service files, never the data.
set -euo pipefail

usage() {
  cat <<USAGE
Usage: install.sh [--system] [--binary PATH] [--port PORT] [--no-start]
  --system       install for all users in /opt/backroom with a dedicated service user (needs root)
  --binary PATH  the backroom program to install (default: ./backroom next to this script,
                 then target/release/backroom)
  --port PORT    port for the dashboard (default 5000)
  --no-start     install, but do not enable or start the service
USAGE
}

system=0
binary=""
port=5000
start=1
while [ $# -gt 0 ]; do
  case "$1" in
    --system) system=1 ;;
    --binary) binary="${2:?--binary needs a path}"; shift ;;
    --port) port="${2:?--port needs a number}"; shift ;;
    --no-start) start=0 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "install.sh: unknown option $1" >&2; usage >&2; exit 2 ;;
  esac
  shift
done

case "$port" in
  ''|*[!0-9]*) echo "install.sh: --port must be a number" >&2; exit 2 ;;
esac

here="$(cd "$(dirname "$0")" && pwd)"
if [ -z "$binary" ]; then
  for candidate in "$here/backroom" "$here/../backroom" "$here/../../target/release/backroom"; do
    if [ -x "$candidate" ]; then binary="$candidate"; break; fi
  done
fi
if [ -z "$binary" ] || [ ! -x "$binary" ]; then
  echo "install.sh: cannot find the backroom program; pass --binary PATH (build it with: cargo build --release)" >&2
  exit 1
fi
if ! "$binary" --version >/dev/null 2>&1; then
  echo "install.sh: $binary does not run on this machine" >&2
  exit 1
fi

# Copies the program into place atomically (a running copy keeps working until restarted).
install_binary() {
  local dest_dir="$1"
  mkdir -p "$dest_dir"
  cp "$binary" "$dest_dir/.backroom.new"
  chmod 755 "$dest_dir/.backroom.new"
  mv -f "$dest_dir/.backroom.new" "$dest_dir/backroom"
}

have_systemctl() {
  command -v systemctl >/dev/null 2>&1
}

if [ "$system" -eq 1 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "install.sh: --system needs root (try: sudo $0 --system)" >&2
    exit 1
  fi
  prefix=/opt/backroom
  data="$prefix/data"
  if ! id backroom >/dev/null 2>&1; then
    useradd --system --home-dir "$prefix" --no-create-home --shell /usr/sbin/nologin backroom
  fi
  install_binary "$prefix"
  chown root:root "$prefix" "$prefix/backroom"
  mkdir -p "$data"
  chown backroom:backroom "$data"
  chmod 750 "$data"
  unit=/etc/systemd/system/backroom.service
  cat > "$unit" <<UNIT
[Unit]
Description=Backroom back-office dashboard (http://localhost:$port)
After=network.target

[Service]
Type=simple
User=backroom
Group=backroom
ExecStart=$prefix/backroom --data-dir $data --port $port
Restart=on-failure
RestartSec=5
NoNewPrivileges=yes
PrivateTmp=yes
ProtectSystem=strict
ProtectHome=yes
ReadWritePaths=$data

[Install]
WantedBy=multi-user.target
UNIT
  if have_systemctl && [ "$start" -eq 1 ]; then
    systemctl daemon-reload
    systemctl enable backroom.service
    systemctl restart backroom.service
  fi
  echo "Installed Backroom in $prefix (data in $data)."
else
  prefix="${XDG_DATA_HOME:-$HOME/.local/share}/backroom"
  unit_dir="${XDG_CONFIG_HOME:-$HOME/.config}/systemd/user"
  apps="${XDG_DATA_HOME:-$HOME/.local/share}/applications"
  install_binary "$prefix"
  mkdir -p "$unit_dir" "$apps"
  cat > "$unit_dir/backroom.service" <<UNIT
[Unit]
Description=Backroom back-office dashboard (http://localhost:$port)

[Service]
Type=simple
ExecStart=$prefix/backroom --port $port
Restart=on-failure
RestartSec=5

[Install]
WantedBy=default.target
UNIT
  cat > "$apps/backroom.desktop" <<DESKTOP
[Desktop Entry]
Type=Application
Name=Backroom
Comment=Open the Backroom dashboard
Exec=xdg-open http://localhost:$port/
Terminal=false
Categories=Office;
DESKTOP
  if have_systemctl && [ "$start" -eq 1 ]; then
    systemctl --user daemon-reload
    systemctl --user enable backroom.service
    systemctl --user restart backroom.service
  fi
  echo "Installed Backroom in $prefix (your data will be kept there too)."
fi

if [ "$start" -eq 1 ] && have_systemctl; then
  echo "It is running: open http://localhost:$port/ (first time: create the first account there)."
else
  echo "Start it with: $prefix/backroom   then open http://localhost:$port/"
fi
