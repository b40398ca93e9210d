#!/usr/bin/env bash
# make demo: the main job on a built-in example. Renders a short real clip from a face photo that
# Debian ships, makes a face-swapped copy of it with `unmask synth swap`, scans both with
# `unmask scan`, prints both verdicts and writes both HTML reports.
#
#   scripts/demo.sh [BUILD_DIR]        # outputs in $DEMO_OUT (default demo-out/)
set -euo pipefail
BUILD_DIR=${1:-build}
UNMASK="$BUILD_DIR/src/cli/unmask"
OUT=${DEMO_OUT:-demo-out}
FACES=/usr/share/doc/libdlib19.1/examples/faces
TARGET=$FACES/Tom_Cruise_avp_2014_4.jpg   # the person in the "real" clip
SOURCE=$FACES/2009_004587.jpg             # the face swapped in
mkdir -p "$OUT"
started=$(date +%s)

echo "== 1. a real clip: $TARGET drifting across a blurred copy of itself, 4 s at 25 fps"
ffmpeg -loglevel error -y -loop 1 -i "$TARGET" -filter_complex \
  "[0:v]split[a][b];[a]scale=640:-2,crop=640:360,boxblur=20:2,eq=brightness=-0.08[bg];[b]scale=300:-2[fg];[bg][fg]overlay=x='120+80*t/4':y='-20-10*t/4',format=yuv420p[v]" \
  -map "[v]" -t 4 -r 25 -c:v libx264 -crf 20 "$OUT/real.mp4"

echo "== 2. a fake: the face of $(basename "$SOURCE") swapped in with unmask synth swap"
"$UNMASK" synth swap --source "$SOURCE" --target "$OUT/real.mp4" --out "$OUT/fake.mp4"

# Both clips are a still photo moved by ffmpeg: no blinks, no facial motion. The temporal and
# expression detectors judge exactly that motion and rightly score an animated still as not a real
# recording, so the real-vs-swap comparison runs the detectors that judge the pixels and the sound;
# step 4 shows the real clip through every detector.
MODELS=${UNMASK_MODELS:-$(cd "$(dirname "$0")/.." && pwd)/models}
pixel_detectors=$(for m in "$MODELS"/*.unm; do [ -e "$m" ] && basename "$m" .unm; done | grep -Ev '^(temporal|expression)$' | paste -sd, - || true)
detector_flag=()
[ -n "$pixel_detectors" ] && detector_flag=(--detectors "$pixel_detectors")
for clip in real fake; do
  echo
  echo "== 3. unmask scan $OUT/$clip.mp4 ${detector_flag[*]} --text --report-dir $OUT/$clip-report"
  "$UNMASK" scan "$OUT/$clip.mp4" "${detector_flag[@]}" --text --report-dir "$OUT/$clip-report"
  cp "$OUT/$clip-report/report.html" "$OUT/$clip.html"
  cp "$OUT/$clip-report/report.json" "$OUT/$clip.json"
done
echo
echo "== 4. unmask scan $OUT/real.mp4 with every detector (temporal and expression too): an animated still is not a recording"
"$UNMASK" scan "$OUT/real.mp4" --text --report-dir "$OUT/real-all-report" | head -3

verdict() { sed -n 's/^  "verdict": "\(.*\)",$/\1/p' "$1"; }
score() { sed -n 's/^  "score": \(.*\),$/\1/p' "$1"; }
echo
echo "== verdicts"
printf '  %-22s %-15s score %s\n' "$OUT/real.mp4" "$(verdict "$OUT/real.json")" "$(score "$OUT/real.json")"
printf '  %-22s %-15s score %s\n' "$OUT/fake.mp4" "$(verdict "$OUT/fake.json")" "$(score "$OUT/fake.json")"
printf '  %-22s %-15s score %s   (every detector)\n' "$OUT/real.mp4" "$(verdict "$OUT/real-all-report/report.json")" "$(score "$OUT/real-all-report/report.json")"
echo "  HTML reports: $OUT/real.html $OUT/fake.html (JSON, text and thumbnails in $OUT/real-report/, $OUT/fake-report/)"
echo "  demo took $(( $(date +%s) - started )) s"
