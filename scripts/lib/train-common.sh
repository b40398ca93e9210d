# Shared by the scripts that train a shipped model from ../shared/data (train-models.sh,
# train-spectral.sh): the command-line options, the unmask binary, and the step that copies the
# trained model and its card into models/. Source it; it defines functions and variables only.

# The video sources no shipped model trains on: every source with fake videos, and the real-only
# talking-head sources kept back so that evaluation runs on media the detectors never saw.
UNMASK_HELD_OUT_VIDEO_SOURCES=(
  "GipalLee/Deepfake_detection" "ai-forever/ghost" "OpenTalker/SadTalker"
  "Zz-ww/SadTalker-Video-Lip-Sync" "OpenTalker/video-retalking"
  "Hangz-nju-cuhk/Talking-Face_PC-AVS" "jixinya/EAMM")

# parse_train_options DEFAULT_CACHE DEFAULT_EPOCHS DEFAULT_SEED "$@"
# Sets here, data, cache, build, epochs, seed, resume; exits 2 on an unknown option.
parse_train_options() {
  here="$(cd "$(dirname "${BASH_SOURCE[1]}")/.." && pwd)"
  data=/work/shared/data
  cache="$1"; epochs="$2"; seed="$3"; shift 3
  build="$here/build"
  resume=""
  while [[ $# -gt 0 ]]; do
    case "$1" in
      --epochs|--seed|--build|--data|--cache)
        [[ $# -ge 2 ]] || { echo "option $1 needs a value" >&2; exit 2; }
        local name="${1#--}"
        printf -v "$name" '%s' "$2"; shift 2 ;;
      --resume) resume="--resume"; shift ;;
      *) echo "unknown option $1" >&2; exit 2 ;;
    esac
  done
  [[ -f "$data/MANIFEST.csv" ]] || { echo "no $data/MANIFEST.csv" >&2; exit 3; }
}

# find_unmask: sets unmask to the binary in $build, or exits 3 saying how to build it.
find_unmask() {
  unmask="$build/unmask"
  [[ -x "$unmask" ]] || unmask="$build/src/cli/unmask"
  [[ -x "$unmask" ]] || {
    echo "no unmask binary in $build: build it first (cmake --build $build --target unmask)" >&2
    exit 3
  }
}

# install_model NAME CARD_EDIT_PY [DEST]: copies $cache/run/NAME.unm to DEST (default models/)
# and writes the card, after the Python snippet CARD_EDIT_PY (given the card as `card`) added
# what the data was.
install_model() {
  local name="$1" edit="$2" dest="${3:-$here/models}"
  mkdir -p "$dest"
  cp "$cache/run/$name.unm" "$dest/$name.unm"
  python3 - "$cache/run/$name.card.json" "$dest/$name.card.json" "$edit" <<'PY'
import json, sys
card = json.load(open(sys.argv[1]))
exec(sys.argv[3], {"card": card})
with open(sys.argv[2], "w") as f:
    json.dump(card, f, indent=2)
    f.write("\n")
PY
  echo "wrote $dest/$name.unm and $dest/$name.card.json"
}

# list_real_training_videos DATA OUT MIN_SECONDS: writes "path,source_repo" lines to OUT for every
# real video of DATA/MANIFEST.csv from a source that is not held out, at least MIN_SECONDS long.
# The first four MANIFEST columns (path,kind,label,source_repo) are never quoted.
list_real_training_videos() {
  local data="$1" out="$2" min_s="$3" held_out
  held_out="$(IFS='|'; echo "${UNMASK_HELD_OUT_VIDEO_SOURCES[*]}")"
  : > "$out"
  awk -F, 'NR > 1 && $2 == "video" && $3 == "real" { print $1 "," $4 }' "$data/MANIFEST.csv" |
    grep -Ev ",($held_out)\$" | while IFS=, read -r path repo; do
      d=$(ffprobe -v error -show_entries format=duration -of csv=p=0 "$data/$path" 2>/dev/null || echo 0)
      if awk -v d="$d" -v m="$min_s" 'BEGIN { exit !(d >= m) }'; then echo "$path,$repo" >> "$out"; fi
    done
}
