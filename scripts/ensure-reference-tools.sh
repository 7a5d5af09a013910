#!/usr/bin/env bash
# Installs the Debian reference tools the tests compare against (dcm2niix, nibabel, pydicom, numpy,
# scipy, scikit-image, dcmtk, chromium, redis-server) when they are missing. Needs root (or passwordless sudo) for apt; prints what it does.
set -euo pipefail
# Debian's python3-* modules are seen by /usr/bin/python3 (a pyenv python3 on PATH would not see them).
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
need=()
command -v dcm2niix >/dev/null 2>&1 || need+=(dcm2niix)
# dcmdjpeg (IJG 12-bit): the reference for 12-bit lossy JPEG DICOM
command -v dcmdjpeg >/dev/null 2>&1 || need+=(dcmtk)
"$PY" -c 'import nibabel' >/dev/null 2>&1 || need+=(python3-nibabel)
"$PY" -c 'import pydicom' >/dev/null 2>&1 || need+=(python3-pydicom)
"$PY" -c 'import numpy' >/dev/null 2>&1 || need+=(python3-numpy)
"$PY" -c 'import scipy' >/dev/null 2>&1 || need+=(python3-scipy)
"$PY" -c 'import skimage' >/dev/null 2>&1 || need+=(python3-skimage)
# headless browser for the report/viewer screenshot tests (driven by playwright-core)
[ -x /usr/bin/chromium ] || need+=(chromium)
# Redis server for the BullMQ queue backend's tests (started by test/helpers/redis-server.ts)
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
if [ ${#need[@]} -eq 0 ]; then exit 0; fi
echo "installing reference tools: ${need[*]}"
SUDO=""
if [ "$(id -u)" != "0" ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo -n"; else
    echo "cannot install ${need[*]}: not root and no sudo; install them with apt-get" >&2; exit 1
  fi
fi
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
