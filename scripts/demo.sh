#!/usr/bin/env bash
# make demo: renders a short clip from a face photo that Debian ships, then shows what unmask sees.
set -euo pipefail
BUILD_DIR=${1:-build}
UNMASK="$BUILD_DIR/src/cli/unmask"
OUT=${DEMO_OUT:-demo-out}
PHOTO=/usr/share/doc/libdlib19.1/examples/faces/2008_001322.jpg
mkdir -p "$OUT"

echo "== rendering a 4 s clip from $PHOTO (slow pan, 440 Hz tone)"
ffmpeg -loglevel error -y -loop 1 -i "$PHOTO" -f lavfi -i "sine=frequency=440:sample_rate=48000" \
  -filter_complex "[0:v]scale=960:-2,crop=640:360:x='(in_w-640)*t/4':y='(in_h-360)/2',format=yuv420p[v]" \
  -map "[v]" -map 1:a -t 4 -r 25 -c:v libx264 -crf 20 -c:a aac "$OUT/real.mp4"

echo "== unmask probe $OUT/real.mp4"
"$UNMASK" probe "$OUT/real.mp4"
echo "== unmask probe --json $OUT/real.mp4"
"$UNMASK" probe --json "$OUT/real.mp4"
