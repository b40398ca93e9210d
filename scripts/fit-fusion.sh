#!/usr/bin/env bash
# Refits the learned fusion (models/fusion.json + models/fusion.card.json) for the detector models
# in models/ now, WITHOUT the evaluation videos: the fusion is fitted on fakes the project makes
# itself from the real videos of the training sources (never the held-out sources of
# scripts/lib/train-common.sh), and the 98 manifest videos are scored only to measure it.
# Run it whenever a detector model changes: scan uses the learned fusion only with exactly the
# detector models (sha256) it was fitted with, and falls back to the max rule with a warning
# otherwise.
#
#   1. The fusion training set (made once, cached under <cache>/set/): the real videos (>= 2.5 s)
#      of the training sources, landmark face swaps between them (unmask synth swap, seed 2 of the
#      pairing of scripts/train-temporal.sh, so none is a clip the temporal detector trained on)
#      espeak-ng dubs of those with speech (unmask synth dub) and animated stills (unmask synth
#      animate: one video's middle frame moved by another video); <cache>/set/MANIFEST.csv.
#      The reals enter the set as marked copies (<cache>/set/marked/, scripts/lib/mark-reals.sh):
#      watermarked and re-encoded once at CRF 18 as every synth output is, so that a detector
#      cannot tell the classes apart by the mark or the second encode (MARK_REALS=0: originals).
#   2. bench_scan scans the set and dumps each video's per-detector scores (<cache>/train.csv).
#   3. bench_scan scans the videos of <data>/MANIFEST.csv (<cache>/scores.csv), the test set.
#   4. fit_fusion fits on train.csv only and reports the untouched numbers on scores.csv next to
#      the max rule's; it writes models/fusion.json only when the learned rule beats the max rule
#      there on both AUC and log loss (--ship-if-better), else it removes a stale fusion.json.
#
# Usage: scripts/fit-fusion.sh [--build DIR] [--data DIR] [--cache DIR] [--models DIR] [--set-only | --fit-only]
#   --models: the detector models to scan with and the folder fusion.json is written to (models/).
#   --set-only makes the training set and stops; --fit-only reuses <cache>/train.csv and
#   <cache>/scores.csv (fit_fusion checks that they were made with the models in models/ now).
#   UNMASK=path/to/unmask (the set's synth and mark runs), N_SWAPS=16, N_DUBS=8, N_ANIMS=12,
#   MARK_REALS=1.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
build="$root/build"
data="${UNMASK_DATA:-/work/shared/data}"
cache="/work/cache/fusion"
models="$root/models"
make_set=1
scan=1
fit=1
n_swaps="${N_SWAPS:-16}"
n_dubs="${N_DUBS:-8}"
n_anims="${N_ANIMS:-12}"
mark_reals="${MARK_REALS:-1}"
while [ $# -gt 0 ]; do
  case "$1" in
    --build) build="$2"; shift 2 ;;
    --data) data="$2"; shift 2 ;;
    --cache) cache="$2"; shift 2 ;;
    --models) models="$2"; shift 2 ;;
    --set-only) scan=0; fit=0; shift ;;
    --fit-only) make_set=0; scan=0; shift ;;
    *) echo "usage: scripts/fit-fusion.sh [--build DIR] [--data DIR] [--cache DIR] [--models DIR] [--set-only|--fit-only]" >&2; exit 2 ;;
  esac
done
[ -f "$data/MANIFEST.csv" ] || { echo "fit-fusion: no MANIFEST.csv in $data" >&2; exit 3; }
data="$(cd "$data" && pwd)"
mkdir -p "$cache/set"
build="$(cd "$build" && pwd)"
if [ "$scan" = 1 ] || [ "$fit" = 1 ]; then
  nice -n 10 cmake --build "$build" --target unmask bench_scan fit_fusion -j2 >/dev/null
fi
unmask="${UNMASK:-$build/unmask}"
[ -x "$unmask" ] || unmask="$build/src/cli/unmask"

source "$root/scripts/lib/train-common.sh"
source "$root/scripts/lib/mark-reals.sh"
held_out="$(IFS='|'; echo "${UNMASK_HELD_OUT_VIDEO_SOURCES[*]}")"
set_dir="$cache/set"
if [ "$make_set" = 1 ]; then
  # Real training videos of at least 2.5 s, with their source and whether they have audio. The
  # first four MANIFEST columns (path,kind,label,source_repo) are never quoted.
  reals="$set_dir/reals.txt"
  : > "$reals"
  awk -F, 'NR > 1 && $2 == "video" && $3 == "real" { print $1 "," $4 }' "$data/MANIFEST.csv" |
    grep -Ev ",($held_out)\$" | while IFS=, read -r path repo; do
      d=$(ffprobe -v error -show_entries format=duration -of csv=p=0 "$data/$path" 2>/dev/null || echo 0)
      a=$(ffprobe -v error -select_streams a -show_entries stream=index -of csv=p=0 "$data/$path" 2>/dev/null | head -1)
      if awk -v d="$d" 'BEGIN { exit !(d >= 2.5) }'; then echo "$path,$repo,$d,${a:+audio}" >> "$reals"; fi
    done
  mapfile -t rows < "$reals"
  n=${#rows[@]}
  echo "fusion set: $n real training videos (>= 2.5 s, sources not held out)"
  # Swaps: the pairing of train-temporal.sh with seed 2; targets longer than 12 s are skipped
  # (time), blends and colour transfers alternate.
  made=0
  for ((k = 0; made < n_swaps && k < 4 * n_swaps; ++k)); do
    i=$(( (k * 5 + 2) % n ))
    j=$(( (i * 7 + 3 + k) % n ))
    if [ "$i" -eq "$j" ]; then j=$(( (j + 1) % n )); fi
    IFS=, read -r target _ dur _ <<< "${rows[$i]}"
    source="${rows[$j]%%,*}"
    awk -v d="$dur" 'BEGIN { exit !(d <= 12) }' || continue
    out="$set_dir/swap_$(printf %02d "$made").mp4"
    blend=$([ $((made % 2)) -eq 0 ] && echo poisson || echo alpha)
    colour=$([ $((made % 3)) -eq 2 ] && echo histogram || echo reinhard)
    if [ ! -s "$out" ]; then
      echo "swap $made: $source -> $target ($blend, $colour)"
      nice -n 10 "$unmask" --quiet synth swap --source "$data/$source" --target "$data/$target" --out "$out" \
        --blend "$blend" --colour "$colour" || { echo "swap $made failed (skipped)"; rm -f "$out"; }
    fi
    made=$((made + 1))
  done
  # Dubs: new espeak-ng speech over training videos with audio, every third one from the end.
  texts=("the committee will publish its full report on monday morning"
         "please send the signed forms back to the office before friday"
         "we have never agreed to any of these terms and we never will"
         "the results were checked twice and they are correct"
         "i was not there that night and i can prove it"
         "prices will fall again next year according to the bank"
         "turn left at the station and walk for five minutes"
         "our team won the match by three goals to one")
  made=0
  for ((k = n - 1; k >= 0 && made < n_dubs; k -= 3)); do
    IFS=, read -r video _ _ audio <<< "${rows[$k]}"
    [ "$audio" = audio ] || continue
    out="$set_dir/dub_$(printf %02d "$made").mp4"
    if [ ! -s "$out" ]; then
      echo "dub $made: $video"
      nice -n 10 "$unmask" --quiet synth dub --video "$data/$video" --text "${texts[$((made % ${#texts[@]}))]}" --out "$out" ||
        { echo "dub $made failed (skipped)"; rm -f "$out"; }
    fi
    made=$((made + 1))
  done
  # Animations: a still of one training video (its middle frame, not the first frame the
  # expression detector's training stills came from) moved by another training video
  # (unmask synth animate), drivers up to 12 s, every other video from the second.
  made=0
  for ((k = 1; k < n && made < n_anims; k += 2)); do
    IFS=, read -r driver _ dur audio <<< "${rows[$k]}"
    [ "$audio" = audio ] || continue
    awk -v d="$dur" 'BEGIN { exit !(d <= 12) }' || continue
    IFS=, read -r still _ still_dur _ <<< "${rows[$(( (k * 5 + 7) % n ))]}"
    [ "$still" != "$driver" ] || continue
    out="$set_dir/animate_$(printf %02d "$made").mp4"
    if [ ! -s "$out" ]; then
      echo "animate $made: a still of $still moved by $driver"
      photo="$set_dir/still_$(printf %02d "$made").png"
      ffmpeg -v error -y -ss "$(awk -v d="$still_dur" 'BEGIN { printf "%.2f", d / 2 }')" -i "$data/$still" \
        -frames:v 1 "$photo" &&
      nice -n 10 "$unmask" --quiet synth animate --photo "$photo" --driver "$data/$driver" --out "$out" ||
        { echo "animate $made failed (skipped)"; rm -f "$out"; }
      rm -f "$photo"
    fi
    made=$((made + 1))
  done
  {
    echo "path,kind,label,source_repo,method"
    while IFS=, read -r path repo _; do
      if [ "$mark_reals" = 1 ]; then
        marked="$(marked_real "$unmask" "$data" "$path" "$set_dir/marked")"
        [ -n "$marked" ] && echo "$marked,video,real,$repo,none (marked and re-encoded at CRF 18)"
      else
        echo "$data/$path,video,real,$repo,none"
      fi
    done < "$reals"
    for f in "$set_dir"/swap_*.mp4; do [ -s "$f" ] && echo "$f,video,fake,unmask/synth-swap,landmark swap"; done
    for f in "$set_dir"/dub_*.mp4; do [ -s "$f" ] && echo "$f,video,fake,unmask/synth-dub,espeak-ng dub"; done
    for f in "$set_dir"/animate_*.mp4; do [ -s "$f" ] && echo "$f,video,fake,unmask/synth-animate,animated still"; done
  } > "$set_dir/MANIFEST.csv"
  echo "fusion set: $set_dir/MANIFEST.csv ($(($(wc -l < "$set_dir/MANIFEST.csv") - 1)) videos)"
fi

if [ "$scan" = 1 ]; then
  # The two scans side by side (each is one process: together they use both cores).
  pids=()
  for which in train scores; do
    d=$([ "$which" = train ] && echo "$set_dir" || echo "$data")
    echo "scanning the videos of $d/MANIFEST.csv (log: $cache/$which.log, $cache/$which.err)"
    ( OMP_WAIT_POLICY=passive nice -n 10 "$build/bench/scan/bench_scan" --only-accuracy --data "$d" \
        --models "$models" --dump "$cache/$which.csv.tmp" >"$cache/$which.log" 2>"$cache/$which.err" &&
      mv "$cache/$which.csv.tmp" "$cache/$which.csv" ) &
    pids+=($!)
  done
  for p in "${pids[@]}"; do wait "$p" || { echo "fit-fusion: a scan failed (see $cache/*.err)" >&2; exit 5; }; done
fi
if [ "$fit" = 1 ]; then
  # fit_fusion --models refuses dumps whose detectors (name and model sha256 as the detectors
  # report them) are not the ones in models/ now. The form (fixed before the test numbers were
  # seen): the max rule's logit plus per-detector logits, non-negative weights, no presence flags,
  # fitted with a 50 % prior (classes weighted equally).
  "$build/bench/scan/fit_fusion" --scores "$cache/train.csv" --test "$cache/scores.csv" --models "$models" \
    --no-presence --non-negative --balanced --ship-if-better --out "$models/fusion.json" \
    --card "$models/fusion.card.json" --command "scripts/fit-fusion.sh $(date -u +%Y-%m-%dT%H:%MZ)" | tee "$cache/fit.log"
fi
