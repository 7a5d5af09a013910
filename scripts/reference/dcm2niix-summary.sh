#!/usr/bin/env bash
# Regenerates test/fixtures/reference/dicom.json (see dcm2niix-summary.py). Uses the Debian python3
# (/usr/bin/python3) when present, since pydicom/nibabel come from Debian packages.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
py=/usr/bin/python3
[ -x "$py" ] || py=python3
"$py" "$here/dcm2niix-summary.py" "${1:-$repo/../shared/data}" > "$repo/test/fixtures/reference/dicom.json"
echo "wrote $repo/test/fixtures/reference/dicom.json"
