#!/usr/bin/env bash
# Installs Debian's python3-torch (PyTorch on CPU), the reference bench/engine.ts compares against.
# It is large (hundreds of MB); the bench runs without it and says so. Needs root or passwordless sudo.
set -euo pipefail
# Debian's torch lives in the system Python (/usr/bin/python3), which may not be the python3 on PATH.
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
if "$PY" -c 'import torch' >/dev/null 2>&1; then exit 0; fi
SUDO=""
if [ "$(id -u)" != "0" ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo -n"; else
    echo "cannot install python3-torch: not root and no sudo; install it with apt-get" >&2; exit 1
  fi
fi
candidate() { apt-cache policy python3-torch 2>/dev/null | sed -n 's/^ *Candidate: *//p'; }
case "$(candidate)" in ''|'(none)') $SUDO apt-get update -qq ;; esac
case "$(candidate)" in ''|'(none)')
  echo "python3-torch is not available from this system's apt sources" >&2; exit 1 ;;
esac
echo "installing python3-torch (large download)"
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends python3-torch >/dev/null
"$PY" -c 'import torch; print("torch", torch.__version__)'
