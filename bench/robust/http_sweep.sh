#!/usr/bin/env bash
# Hostile-request sweep of `unmask serve` (docs/robustness.md, session 20): starts a server on a
# free port with a fresh data folder, sends odd and hostile requests, and checks each answer's
# status, that every error body is JSON {"error": ...} that never names the server's data folder,
# and that nothing was written outside that folder. Prints one row per case and a summary;
# exits 1 when any case is not as expected.
#
#   bench/robust/http_sweep.sh UNMASK [MODELS_DIR]
set -uo pipefail
UNMASK=${1:?usage: http_sweep.sh UNMASK [MODELS_DIR]}
MODELS=${2:-models}
command -v curl >/dev/null || { echo "http_sweep: curl is needed" >&2; exit 2; }
command -v ffmpeg >/dev/null || { echo "http_sweep: ffmpeg is needed" >&2; exit 2; }

WORK=$(mktemp -d /tmp/unmask-http-sweep.XXXXXX)
DATA="$WORK/data"
PORT=$((20000 + RANDOM % 20000))
B="http://127.0.0.1:$PORT"
trap 'kill "$SERVER" 2>/dev/null; wait "$SERVER" 2>/dev/null; rm -rf "$WORK"' EXIT

ffmpeg -v error -f lavfi -i "sine=frequency=220:duration=2" -ar 16000 "$WORK/tone.wav"
ffmpeg -v error -f lavfi -i "testsrc=size=160x120:rate=10:duration=1" -pix_fmt yuv420p "$WORK/clip.mp4"
head -c 3000 /dev/urandom > "$WORK/random.bin"
printf '{"a": "\x93"}' > "$WORK/latin1.json"

"$UNMASK" serve --port "$PORT" --data "$DATA" --workers 1 --models "$MODELS" --max-upload-mb 64 > "$WORK/serve.log" 2>&1 &
SERVER=$!
for _ in $(seq 50); do curl -s "$B/healthz" >/dev/null && break; sleep 0.2; done

fails=0
n=0
# case NAME EXPECTED_STATUS curl-args...
case_() {
  local name=$1 want=$2
  shift 2
  n=$((n + 1))
  local got
  got=$(curl -s -o "$WORK/body" -w "%{http_code}" "$@")
  local verdict=ok
  if [ "$got" != "$want" ]; then
    verdict="status $got, expected $want"
  elif [ "${got:0:1}" != 2 ] && ! python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert isinstance(d.get("error"), str)' "$WORK/body" 2>/dev/null; then
    verdict="error body is not JSON {\"error\": ...}"
  elif grep -qF "$DATA" "$WORK/body"; then
    verdict="the answer names the server's data folder"
  fi
  [ "$verdict" = ok ] || fails=$((fails + 1))
  printf '| %s | %s | %s | %s |\n' "$name" "$want" "$got" "$verdict"
}

echo "| case | expected | got | result |"
echo "|---|---|---|---|"
long_id=$(printf 'a%.0s' $(seq 5000))
case_ "health" 200 "$B/healthz"
case_ "id with ../" 404 "$B/v1/scans/../../etc/passwd"
case_ "id with encoded ../" 404 "$B/v1/scans/%2e%2e%2f%2e%2e%2fetc%2fpasswd"
case_ "id of 5000 characters" 404 "$B/v1/scans/$long_id"
case_ "report of an unknown id" 404 "$B/v1/scans/00000000000000000000000000000000/report.html"
case_ "POST without a body" 400 -X POST "$B/v1/scans"
case_ "multipart without its closing boundary" 400 -X POST -H "Content-Type: multipart/form-data; boundary=xyz" \
  --data-binary $'--xyz\r\nContent-Disposition: form-data; name="file"; filename="a.mp4"\r\n\r\nabc' "$B/v1/scans"
case_ "multipart with an empty boundary" 400 -X POST -H "Content-Type: multipart/form-data; boundary=" --data-binary 'x' "$B/v1/scans"
case_ "multipart without a boundary" 400 -X POST -H "Content-Type: multipart/form-data" --data-binary 'x' "$B/v1/scans"
case_ "upload named ../../../../tmp/x.wav" 202 -X POST -F "file=@$WORK/tone.wav;filename=../../../../$WORK/escaped.wav" "$B/v1/scans"
case_ "upload with an empty name" 202 -X POST -F "file=@$WORK/tone.wav;filename=" "$B/v1/scans"
case_ "frames -5" 400 -X POST -F "file=@$WORK/tone.wav" -F "frames=-5" "$B/v1/scans"
case_ "frames 1e99" 400 -X POST -F "file=@$WORK/tone.wav" -F "frames=1e99" "$B/v1/scans"
case_ "fast=maybe" 400 -X POST -F "file=@$WORK/tone.wav" -F "fast=maybe" "$B/v1/scans"
head -c 96000 /dev/urandom > "$WORK/raw.bin"
case_ "a raw body of 96 KB instead of a form" 400 -X POST -H "Content-Type: video/mp4" --data-binary "@$WORK/raw.bin" "$B/v1/scans"
case_ "a chunked raw body instead of a form" 400 -X POST -H "Transfer-Encoding: chunked" --data-binary "@$WORK/raw.bin" "$B/v1/scans"
case_ "random bytes as the file" 415 -X POST -F "file=@$WORK/random.bin;filename=notes.mp4" "$B/v1/scans"
case_ "verify: pub of two letters" 400 -X POST -F "file=@$WORK/clip.mp4" -F "pub=zz" "$B/v1/marks/verify"
case_ "verify: sidecar that is not UTF-8" 400 -X POST -F "file=@$WORK/clip.mp4" -F "manifest=@$WORK/latin1.json" "$B/v1/marks/verify"
case_ "verify: random bytes as the file" 415 -X POST -F "file=@$WORK/random.bin;filename=a.png" "$B/v1/marks/verify"
case_ "verify: unmarked clip, 64-zero pub" 200 -X POST -F "file=@$WORK/clip.mp4" -F "pub=$(printf '0%.0s' $(seq 64))" "$B/v1/marks/verify"
case_ "DELETE a scan" 404 -X DELETE "$B/v1/scans/abc"
case_ "Content-Length of 10^20" 413 -H "Content-Length: 99999999999999999999" -X POST "$B/v1/scans"
head -c $((100 << 20)) /dev/zero > "$WORK/big.bin"
case_ "a form of 100 MB past --max-upload-mb 64" 413 -F "file=@$WORK/big.bin;filename=big.mp4" "$B/v1/scans"
case_ "the same, chunked" 413 -H "Transfer-Encoding: chunked" -F "file=@$WORK/big.bin;filename=big.mp4" "$B/v1/scans"
case_ "still serving" 200 "$B/healthz"

if [ -e "$WORK/escaped.wav" ] || [ -e /tmp/escaped.wav ]; then
  echo "an upload name wrote outside the data folder"
  fails=$((fails + 1))
fi
echo
echo "$n cases, $fails not as expected"
[ "$fails" -eq 0 ]
