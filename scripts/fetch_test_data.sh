#!/usr/bin/env bash
# Real test videos: Debian's opencv-doc package (vtest.avi, Megamind.avi, tree.avi, sample images),
# unpacked without installing into .cache/opencv-doc. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
dest=.cache/opencv-doc
[ -f "$dest/.complete" ] && exit 0
work=.cache/download
mkdir -p "$work"
(
  cd "$work"
  rm -f opencv-doc_*.deb
  if ! apt-get download opencv-doc >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ]; then
      apt-get update -qq
      apt-get download opencv-doc
    else
      echo "cannot download Debian's opencv-doc (try: sudo apt-get update)" >&2
      exit 1
    fi
  fi
)
rm -rf "$dest"
dpkg-deb -x "$work"/opencv-doc_*.deb "$dest"
rm -f "$work"/opencv-doc_*.deb
touch "$dest/.complete"
echo "test videos in $dest/usr/share/doc/opencv-doc/examples/data"
