#!/usr/bin/env bash
# Removes the Backroom program and its service. The data (business_data.db, database_backups/,
# settings) is kept unless --purge is given and confirmed. Safe to run again.
set -euo pipefail

usage() {
  cat <<USAGE
Usage: uninstall.sh [--system] [--purge [--yes]]
  --system  remove the system-wide install (/opt/backroom), needs root
  --purge   also delete the data and all backups (asks you to type DELETE, or pass --yes)
USAGE
}

system=0
purge=0
yes=0
while [ $# -gt 0 ]; do
  case "$1" in
    --system) system=1 ;;
    --purge) purge=1 ;;
    --yes) yes=1 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "uninstall.sh: unknown option $1" >&2; usage >&2; exit 2 ;;
  esac
  shift
done

have_systemctl() {
  command -v systemctl >/dev/null 2>&1
}

if [ "$system" -eq 1 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "uninstall.sh: --system needs root" >&2
    exit 1
  fi
  prefix=/opt/backroom
  data="$prefix/data"
  if have_systemctl; then
    systemctl disable --now backroom.service >/dev/null 2>&1 || true
  fi
  rm -f /etc/systemd/system/backroom.service
  if have_systemctl; then systemctl daemon-reload || true; fi
  rm -f "$prefix/backroom"
else
  prefix="${XDG_DATA_HOME:-$HOME/.local/share}/backroom"
  data="$prefix"
  if have_systemctl; then
    systemctl --user disable --now backroom.service >/dev/null 2>&1 || true
  fi
  rm -f "${XDG_CONFIG_HOME:-$HOME/.config}/systemd/user/backroom.service"
  rm -f "${XDG_DATA_HOME:-$HOME/.local/share}/applications/backroom.desktop"
  if have_systemctl; then systemctl --user daemon-reload || true; fi
  rm -f "$prefix/backroom"
fi

if [ "$purge" -eq 1 ]; then
  if [ "$yes" -ne 1 ]; then
    if [ ! -t 0 ]; then
      echo "uninstall.sh: --purge deletes all data and backups; confirm with --yes" >&2
      exit 1
    fi
    printf 'This deletes ALL Backroom data and backups in %s. Type DELETE to confirm: ' "$data"
    read -r answer
    if [ "$answer" != "DELETE" ]; then
      echo "Nothing was deleted. The program is removed; the data is kept in $data."
      exit 0
    fi
  fi
  rm -rf "$data"
  if [ "$system" -eq 1 ]; then
    rmdir "$prefix" 2>/dev/null || true
    if id backroom >/dev/null 2>&1; then userdel backroom || true; fi
  fi
  echo "Backroom and all its data were removed."
else
  echo "Backroom was removed. Your data and backups are kept in $data."
fi
