#!/usr/bin/env bash
# Bad-input sweep of the unmask CLI: generates broken, odd and hostile inputs, runs every command on
# them and records, per case, the exit code, the first line of stderr, the wall time and whether an
# output was left behind half-written (a *.tmp file, or an output file of a failed command).
#
#   bench/robust/sweep.sh [UNMASK_BINARY] [WORK_DIR]
#
# Defaults: build-robust/src/cli/unmask, /work/cache/robust7/sweep. Writes WORK_DIR/results.tsv and
# prints a Markdown table (case | command | expected | exit | time | left behind | stderr).
# An exit code is "ok" when it is the one expected; a crash signal (>128), a timeout (124) or exit 5
# is always a failure. Needs ffmpeg, ImageMagick's convert and python3 (to make the inputs only).
set -u
BIN=${1:-build-robust/src/cli/unmask}
WORK=${2:-/work/cache/robust7/sweep}
BIN=$(readlink -f "$BIN")
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
export UNMASK_MODELS=${UNMASK_MODELS:-$ROOT/models}
export OMP_WAIT_POLICY=passive
TIMEOUT=${SWEEP_TIMEOUT:-180}
FACE_PHOTO=/usr/share/doc/libdlib19.1/examples/faces/Tom_Cruise_avp_2014_4.jpg

rm -rf "$WORK"
IN="$WORK/in"; OUT="$WORK/out"
mkdir -p "$IN" "$OUT"
RESULTS="$WORK/results.tsv"
: > "$RESULTS"

ff() { ffmpeg -hide_banner -loglevel error -y "$@"; }

# ---------------------------------------------------------------- inputs
make_inputs() {
  cd "$IN" || exit 1
  # A good clip: 3 s, 320x240, a moving face photo over a test pattern, h264 + aac tone.
  ff -loop 1 -i "$FACE_PHOTO" -f lavfi -i "testsrc=size=320x240:rate=25:duration=3" \
     -f lavfi -i "sine=frequency=220:duration=3" \
     -filter_complex "[0:v]scale=160:-2[f];[1:v][f]overlay=x='40+20*t':y=10[v]" \
     -map "[v]" -map 2:a -c:v libx264 -pix_fmt yuv420p -c:a aac -shortest good.mp4
  cp "$FACE_PHOTO" good.jpg
  ff -f lavfi -i "sine=frequency=300:duration=2" -ar 16000 good.wav
  local size; size=$(stat -c %s good.mp4)
  : > empty.mp4
  : > empty.png
  : > empty.wav
  head -c $((size / 100)) good.mp4 > trunc01.mp4
  head -c $((size / 2)) good.mp4 > trunc50.mp4
  head -c $((size * 99 / 100)) good.mp4 > trunc99.mp4
  head -c 200000 /dev/urandom > random.mp4
  head -c 50000 /dev/urandom > random.png
  head -c 50000 /dev/urandom > random.wav
  cp good.mp4 wrongext.wav            # a video named .wav
  cp good.jpg wrongext.mp4            # a photo named .mp4
  ff -f lavfi -i "color=gray:size=2x2" -vf "format=rgb24,crop=1:1:0:0" -frames:v 1 one_px.png
  ff -f lavfi -i "testsrc=size=1x20000" -frames:v 1 tall.png 2>/dev/null || \
    ff -f lavfi -i "color=gray:size=2x20000" -vf crop=1:20000:0:0 -frames:v 1 tall.png
  ff -f lavfi -i "color=gray:size=20000x2" -vf "format=rgb24,crop=20000:1:0:0" -frames:v 1 wide.png
  ff -i good.jpg -pix_fmt rgb48be deep16.png
  ff -i good.jpg -pix_fmt gray grey.png
  ff -i good.jpg -pix_fmt gray16be grey16.png
  ff -i good.jpg -vf "format=rgba,colorchannelmixer=aa=0.5" -pix_fmt rgba rgba.png
  # No CMYK encoder here (no ImageMagick, no cjpeg): a JPEG whose header is cut after the SOF.
  head -c 700 good.jpg > cut.jpg
  python3 - <<'EOF'
import struct, random
def wav(name, rate, ch, bits, n, fmt_ch=None, extra=b""):
    data = bytes(random.getrandbits(8) for _ in range(n * ch * bits // 8))
    fch = ch if fmt_ch is None else fmt_ch
    fmt = struct.pack("<HHIIHH", 1, fch, rate, rate * max(fch, 1) * bits // 8, max(fch, 1) * bits // 8, bits)
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"data" + struct.pack("<I", len(data)) + data
    open(name, "wb").write(b"RIFF" + struct.pack("<I", len(body)) + body + extra)
wav("one_sample.wav", 16000, 1, 16, 1)
wav("zero_channels.wav", 16000, 1, 16, 1600, fmt_ch=0)
wav("u8.wav", 16000, 1, 8, 16000)
wav("hz96k.wav", 96000, 1, 16, 96000)
wav("six_ch.wav", 48000, 6, 16, 48000)
# a header that claims 1 GB of data on a 2 KB file
d = bytes(2000)
fmt = struct.pack("<HHIIHH", 1, 1, 16000, 32000, 2, 16)
open("lying_header.wav", "wb").write(b"RIFF" + struct.pack("<I", 0x7fffffff) + b"WAVEfmt " + struct.pack("<I", 16) + fmt + b"data" + struct.pack("<I", 1 << 30) + d)
EOF
  ff -f lavfi -i "sine=frequency=220:duration=2" -c:a aac audio_only.mp4
  ff -f lavfi -i "testsrc=size=320x240:rate=25" -frames:v 1 -c:v libx264 -pix_fmt yuv420p one_frame.mp4
  # Variable frame rate: frames at irregular times.
  ff -i good.mp4 -vf "select='not(mod(n\,3))+not(mod(n\,7))',setpts=N/(25*TB)+0.2*floor(N/5)/TB" \
     -fps_mode vfr -c:v libx264 -an vfr.mp4
  ff -f lavfi -i "testsrc=size=3x3:rate=25:duration=1" -c:v libx264rgb tiny3x3.mp4
  ff -f lavfi -i "testsrc=size=320x240:rate=25:duration=1" -c:v libx264 -pix_fmt yuv420p -an silent_video.mp4
  ff -f lavfi -i "anullsrc=r=16000:cl=mono" -t 2 zeros.wav
  cp good.mp4 "name with spaces 'quote' \"dq\" é漢字.mp4"
  mkdir -p dir.mp4
  cp good.mp4 noperm.mp4; chmod 000 noperm.mp4
  mkdir -p ro_dir; chmod 555 ro_dir
  # root writes through mode 555: then /proc/self stands for a folder nobody can write into.
  if [ "$(id -u)" = 0 ]; then RO=/proc/self; else RO=$IN/ro_dir; fi
  printf 'path,label\n%s,real\nmissing.mp4,fake\n%s,fake\n%s,real\n%s,maybe\n,real\n"unterminated,fake\n' \
    "$IN/good.mp4" "$IN/random.mp4" "$IN/trunc50.mp4" "$IN/good.jpg" > broken_quote.csv
  # Rows a scan cannot use (missing, random bytes, truncated, unknown label, empty path, a folder)
  # next to two good ones: eval counts them as failed, train skips them.
  printf 'path,label\n%s,real\nmissing.mp4,fake\n%s,fake\n%s,real\n%s,fake\n%s,fake\n%s,real\n' \
    "$IN/good.mp4" "$IN/random.mp4" "$IN/trunc50.mp4" "$IN/dir.mp4" "$IN/good.jpg" "$IN/empty.png" > bad_rows.csv
  printf 'path,label\n%s,real\n%s,maybe\n' "$IN/good.mp4" "$IN/good.jpg" > bad_label.csv
  printf 'path;label\nfoo;bar\n' > wrong_header.csv
  : > empty.csv
  printf 'path,label\n' > header_only.csv
  "$BIN" keygen --out "$IN/k" > /dev/null 2>&1
  head -c 10 /dev/urandom > badkey.key
  cd - > /dev/null || exit 1
}

# ---------------------------------------------------------------- runner
# case NAME EXPECT OUTPUT_PATH -- ARGS...   (OUTPUT_PATH "-" when the command writes no file)
n_bad=0
run_case() {
  local name=$1 expect=$2 outp=$3; shift 4
  local err="$WORK/err.txt" start end rc first left=""
  start=$(date +%s.%N)
  (cd "$WORK" && timeout -k 5 "$TIMEOUT" "$BIN" "$@" < /dev/null > "$WORK/stdout.txt" 2> "$err")
  rc=$?
  end=$(date +%s.%N)
  first=$(grep -v '^\s*$' "$err" | head -n 1 | tr '\t' ' ' | cut -c1-160)
  local tmps; tmps=$(find "$OUT" "$IN" -name '*.tmp*' 2>/dev/null | head -3 | tr '\n' ' ')
  if [ -n "$tmps" ]; then left="tmp: $tmps"; find "$OUT" "$IN" -name '*.tmp*' -delete 2>/dev/null; fi
  if [ "$outp" != "-" ] && [ "$rc" -ne 0 ] && [ -e "$outp" ] && [ ! -d "$outp" ]; then
    left="$left failed but wrote $(basename "$outp") ($(stat -c %s "$outp") B)"
  fi
  if [ "$outp" != "-" ] && [ "$rc" -ne 0 ] && [ -d "$outp" ] && [ -n "$(ls -A "$outp" 2>/dev/null)" ]; then
    left="$left failed, left $(ls -A "$outp" | wc -l) files in $(basename "$outp")"
  fi
  local verdict=ok
  if [ "$rc" -ge 124 ]; then verdict=CRASH_OR_HANG
  elif [ "$rc" -eq 5 ]; then verdict=INTERNAL
  elif [ "$rc" -ne 0 ] && ! grep -q '^unmask: error: ' "$err"; then verdict=NO_ERROR_LINE
  elif [[ ",$expect," != *",$rc,"* ]]; then verdict=UNEXPECTED
  fi
  [ -n "$left" ] && verdict="$verdict+LEFTOVER"
  [ "$verdict" != ok ] && n_bad=$((n_bad + 1))
  local cmdline="$*"; cmdline=${cmdline//$IN\//}; cmdline=${cmdline//$OUT\//out\/}
  printf '%s\t%s\t%s\t%s\t%.1f\t%s\t%s\t%s\n' "$name" "$cmdline" "$expect" "$rc" "$(echo "$end - $start" | bc)" \
    "${left:-no}" "$verdict" "$first" >> "$RESULTS"
  printf '%-28s rc=%-3s %-14s %s\n' "$name" "$rc" "$verdict" "$first" >&2
}

make_inputs
I=$IN; O=$OUT

# Media inputs every reading command sees. Expected: 0 (handled) or 3 (input error).
MEDIA="good.mp4 good.jpg good.wav empty.mp4 empty.png empty.wav trunc01.mp4 trunc50.mp4 trunc99.mp4 random.mp4
random.png random.wav wrongext.wav wrongext.mp4 one_px.png tall.png wide.png deep16.png cut.jpg grey.png grey16.png rgba.png
one_sample.wav zero_channels.wav u8.wav hz96k.wav six_ch.wav lying_header.wav audio_only.mp4 one_frame.mp4 vfr.mp4
tiny3x3.mp4 silent_video.mp4 zeros.wav dir.mp4 noperm.mp4 missing.mp4"
SPACEY="name with spaces 'quote' \"dq\" é漢字.mp4"

for f in $MEDIA; do
  run_case "probe $f" 0,3 - -- probe "$I/$f" --json
  run_case "scan --json $f" 0,3 - -- scan "$I/$f" --json --fast
done
run_case "probe spaces+utf8" 0 - -- probe "$I/$SPACEY" --json
run_case "scan --json spaces+utf8" 0 - -- scan "$I/$SPACEY" --json --fast
run_case "scan --text good" 0 - -- scan "$I/good.mp4" --text --fast
run_case "scan --text trunc50" 0,3 - -- scan "$I/trunc50.mp4" --text --fast
run_case "scan --html good" 0 "$O/r.html" -- scan "$I/good.mp4" --html "$O/r.html" --fast
run_case "scan --html random" 3 "$O/r_bad.html" -- scan "$I/random.mp4" --html "$O/r_bad.html" --fast
run_case "scan --html missing dir" 3 "$O/nodir/r.html" -- scan "$I/good.mp4" --html "$O/nodir/r.html" --fast
run_case "scan --html ro dir" 3 "$RO/r.html" -- scan "$I/good.mp4" --html "$RO/r.html" --fast
run_case "scan --html is a dir" 3 - -- scan "$I/good.mp4" --html "$I/dir.mp4" --fast
echo "old report" > "$O/existing.html"
run_case "scan --html replaces" 0 - -- scan "$I/good.mp4" --html "$O/existing.html" --fast
run_case "scan --report-dir ro" 3 - -- scan "$I/good.mp4" --report-dir "$RO/rep" --fast
run_case "scan --frames 0" 2 - -- scan "$I/good.mp4" --frames 0
run_case "scan --frames abc" 2 - -- scan "$I/good.mp4" --frames abc
run_case "scan unknown flag" 2 - -- scan "$I/good.mp4" --bogus
run_case "scan no file" 2 - -- scan
run_case "scan --detectors nope" 2,4 - -- scan "$I/good.mp4" --detectors nope
run_case "scan --models missing" 4 - -- scan "$I/good.mp4" --models "$O/no_models"

for f in good.mp4 good.jpg empty.mp4 trunc50.mp4 random.mp4 one_px.png tall.png deep16.png cut.jpg grey.png rgba.png \
         audio_only.mp4 one_frame.mp4 vfr.mp4 tiny3x3.mp4 dir.mp4 noperm.mp4 good.wav; do
  run_case "faces $f" 0,3 "$O/faces_${f//./_}" -- faces "$I/$f" --out "$O/faces_${f//./_}" --no-crops
done
run_case "faces --out ro dir" 3 - -- faces "$I/good.mp4" --out "$RO/f"
run_case "faces --out is a file" 3 - -- faces "$I/good.mp4" --out "$I/good.jpg"

run_case "keygen ro dir" 3 - -- keygen --out "$RO/k"
run_case "keygen missing dir" 3 - -- keygen --out "$O/nodir/k"
for f in good.mp4 good.jpg trunc50.mp4 random.mp4 one_px.png tall.png deep16.png cut.jpg rgba.png audio_only.mp4 \
         one_frame.mp4 vfr.mp4 tiny3x3.mp4 good.wav dir.mp4; do
  run_case "mark embed $f" 0,3 "$O/marked_${f}" -- mark embed "$I/$f" "$O/marked_${f}" --issuer 7 --key "$I/k.key"
done
run_case "mark embed out missing dir" 3 "$O/nodir/m.mp4" -- mark embed "$I/good.mp4" "$O/nodir/m.mp4" --issuer 7 --key "$I/k.key"
run_case "mark embed out ro dir" 3 "$RO/m.mp4" -- mark embed "$I/good.mp4" "$RO/m.mp4" --issuer 7 --key "$I/k.key"
run_case "mark embed bad key" 3 "$O/m_badkey.mp4" -- mark embed "$I/good.mp4" "$O/m_badkey.mp4" --issuer 7 --key "$I/badkey.key"
run_case "mark embed missing key" 3 "$O/m_nokey.mp4" -- mark embed "$I/good.mp4" "$O/m_nokey.mp4" --issuer 7 --key "$I/nokey.key"
run_case "mark embed issuer -1" 2,3 "$O/m_neg.mp4" -- mark embed "$I/good.mp4" "$O/m_neg.mp4" --issuer -1
cp "$I/good.mp4" "$I/inout.mp4"
run_case "mark embed in == out" 2,3 - -- mark embed "$I/inout.mp4" "$I/inout.mp4" --issuer 7 --key "$I/k.key"
run_case "probe after in==out" 0 - -- probe "$I/inout.mp4" --json
for f in marked_good.mp4 good.mp4 trunc50.mp4 random.mp4 one_px.png audio_only.mp4 one_frame.mp4 tiny3x3.mp4 empty.mp4; do
  src="$I/$f"; [ -e "$O/$f" ] && src="$O/$f"
  run_case "mark verify $f" 0,3 - -- mark verify "$src" --json --pub "$I/k.pub"
done
run_case "mark verify bad pub" 3 - -- mark verify "$O/marked_good.mp4" --json --pub "$I/badkey.key"
run_case "mark verify tamper-map ro" 3 "$RO/t.png" -- mark verify "$O/marked_good.mp4" --tamper-map "$RO/t.png"

for f in random.mp4 empty.png one_px.png trunc50.mp4 audio_only.mp4 dir.mp4; do
  run_case "synth swap source $f" 3 "$O/swap_src_${f}.mp4" -- synth swap --source "$I/$f" --target "$I/good.mp4" --out "$O/swap_src_${f}.mp4"
  run_case "synth swap target $f" 3 "$O/swap_tgt_${f}.mp4" -- synth swap --source "$I/good.jpg" --target "$I/$f" --out "$O/swap_tgt_${f}.mp4"
done
run_case "synth swap out ro dir" 3 "$RO/s.mp4" -- synth swap --source "$I/good.jpg" --target "$I/good.mp4" --out "$RO/s.mp4"
run_case "synth swap out .xyz" 2,3 "$O/s.xyz" -- synth swap --source "$I/good.jpg" --target "$I/good.mp4" --out "$O/s.xyz"
run_case "synth swap --face-px 8" 2 "$O/s_px8.mp4" -- synth swap --source "$I/good.jpg" --target "$I/good.mp4" --out "$O/s_px8.mp4" --face-px 8
run_case "synth swap --face-px 32" 0 - -- synth swap --source "$I/good.jpg" --target "$I/good.mp4" --out "$O/s_px32.mp4" --face-px 32
for f in random.mp4 empty.png one_px.png trunc50.mp4 audio_only.mp4 dir.mp4; do
  run_case "synth animate photo $f" 3 "$O/anim_photo_${f}.mp4" -- synth animate --photo "$I/$f" --driver "$I/good.mp4" --out "$O/anim_photo_${f}.mp4"
  run_case "synth animate driver $f" 3 "$O/anim_drv_${f}.mp4" -- synth animate --photo "$I/good.jpg" --driver "$I/$f" --out "$O/anim_drv_${f}.mp4"
done
run_case "synth animate driver good.jpg" 3 "$O/anim_drv_still.mp4" -- synth animate --photo "$I/good.jpg" --driver "$I/good.jpg" --out "$O/anim_drv_still.mp4"
run_case "synth animate one_frame" 0,3 "$O/anim_one.mp4" -- synth animate --photo "$I/good.jpg" --driver "$I/one_frame.mp4" --out "$O/anim_one.mp4"
run_case "synth animate out ro dir" 3 "$RO/a.mp4" -- synth animate --photo "$I/good.jpg" --driver "$I/good.mp4" --out "$RO/a.mp4"
for f in random.mp4 trunc50.mp4 silent_video.mp4 audio_only.mp4 one_frame.mp4 good.jpg; do
  run_case "synth dub $f" 0,3 "$O/dub_${f}.mp4" -- synth dub --video "$I/$f" --text "hello there" --out "$O/dub_${f}.mp4"
done
run_case "synth dub empty text" 2,3 "$O/dub_empty.mp4" -- synth dub --video "$I/good.mp4" --text "" --out "$O/dub_empty.mp4"
for f in random.mp4 empty.png one_px.png dir.mp4 missing.mp4; do
  run_case "synth selfblend $f" 0,3 "$O/sb_${f}" -- synth selfblend --in "$I/$f" --out "$O/sb_${f}"
done
run_case "synth corpus missing" 3 "$O/corpus_missing" -- synth corpus --real "$I/nope" --out "$O/corpus_missing"
run_case "synth corpus file" 3 "$O/corpus_file" -- synth corpus --real "$I/random.mp4" --out "$O/corpus_file"

for m in bad_rows.csv bad_label.csv broken_quote.csv wrong_header.csv empty.csv header_only.csv missing.csv dir.mp4 random.png; do
  run_case "eval $m" 0,3 - -- eval --manifest "$I/$m" --json --fast
  run_case "train $m" 3 "$O/train_${m}.unm" -- train --manifest "$I/$m" --out "$O/train_${m}.unm" --epochs 1
done
run_case "eval --roc ro dir" 0,3 "$RO/roc.svg" -- eval --manifest "$I/bad_rows.csv" --roc "$RO/roc.svg" --fast
run_case "train --detector nope" 2,3,4 "$O/t_nope.unm" -- train --manifest "$I/bad_rows.csv" --out "$O/t_nope.unm" --detector nope
run_case "train --detector interpolation bad rows" 3 "$O/t_interp.unm" -- train --manifest "$I/bad_rows.csv" --out "$O/t_interp.unm" --detector interpolation

chmod 755 "$I/ro_dir"; chmod 644 "$I/noperm.mp4"

{
  echo "| case | command | expected | exit | time s | left behind | verdict | stderr (first line) |"
  echo "|---|---|---|---|---|---|---|---|"
  while IFS=$'\t' read -r a b c d e f g h; do
    h=${h//|/\\|}; b=${b//|/\\|}
    echo "| $a | \`$b\` | $c | $d | $e | $f | $g | $h |"
  done < "$RESULTS"
} > "$WORK/table.md"
echo "sweep: $(wc -l < "$RESULTS") cases, $n_bad not as expected; table in $WORK/table.md" >&2
