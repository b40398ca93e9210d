#!/usr/bin/env bash
# Checks the web page of `unmask serve` in headless Chromium (scripts/web/check-web.mjs): upload a
# clip, see the verdict, open the report, check a marked image; screenshots at desktop and phone
# widths. Needs Chromium (installed with apt the first time, as check-report.sh does) and
# playwright-core from npm (installed into ~/.cache/unmask-web-check the first time). Not part
# of CI: it needs a browser and the npm registry.
#
#   scripts/check-web.sh [BUILD_DIR] [OUT_DIR]     # defaults: build, demo-out/web
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
OUT=${2:-demo-out/web}
UNMASK="$BUILD/src/cli/unmask"
[ -x "$UNMASK" ] || { echo "check-web: $UNMASK not built (run make)" >&2; exit 2; }

browser=$(command -v chromium || true)
if [ -z "$browser" ]; then
  [ "$(id -u)" -eq 0 ] || { echo "check-web: chromium is not installed and installing it needs root" >&2; exit 4; }
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null
  browser=$(command -v chromium)
fi
tools="$HOME/.cache/unmask-web-check"
if [ ! -d "$tools/node_modules/playwright-core" ]; then
  mkdir -p "$tools"
  (cd "$tools" && npm install --silent --no-audit --no-fund playwright-core@1 >/dev/null)
fi

work=$(mktemp -d)
server_pid=
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
mkdir -p "$OUT"

# A clip with a face (a Debian photo drifting over a blurred copy of itself, as make demo does)
# and a marked copy of the photo.
photo=/usr/share/doc/libdlib19.1/examples/faces/Tom_Cruise_avp_2014_4.jpg
ffmpeg -loglevel error -y -loop 1 -i "$photo" -filter_complex \
  "[0:v]split[a][b];[a]scale=640:-2,crop=640:360,boxblur=20:2[bg];[b]scale=300:-2[fg];[bg][fg]overlay=x='120+20*t':y=-20,format=yuv420p[v]" \
  -map "[v]" -t 3 -r 25 -c:v libx264 -crf 20 "$work/clip.mp4"
"$UNMASK" mark embed "$photo" "$work/marked.png" --issuer 4660 >/dev/null

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$UNMASK" serve --host 127.0.0.1 --port "$port" --data "$work/data" >"$work/serve.log" 2>&1 &
server_pid=$!
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done

# Run from the tools folder, where node finds playwright-core.
cp scripts/web/check-web.mjs "$tools/check-web.mjs"
CHROMIUM="$browser" node "$tools/check-web.mjs" "http://127.0.0.1:$port" "$work/clip.mp4" "$work/marked.png" "$(realpath "$OUT")"
