#!/usr/bin/env bash
# Trains the shipped voice detector (models/voice.unm + models/voice.card.json) from the shared
# data set. The training and held-out manifests are written under the cache folder by
# bench/voice/make_manifests.sh (never committed); the trainer adds its own synthetic speech
# (espeak-ng in the training voices, Griffin-Lim and four other vocoder resyntheses of every real
# training file) and a codec / low-pass / noise copy of every clip (docs/voice.md).
# Held out for evaluation (bench_voice --eval "$cache/voice_heldout.csv"): the Tacotron2,
# NaturalSpeech and fine-tuned Tortoise fakes; RAVDESS, LRS2 (deep_avsr) and
# CorentinJ/Real-Time-Voice-Cloning reals; the espeak-ng voices of voice_heldout_espeak_voices().
#
# The shipped model is an ensemble: the recipe trained with seeds 1, 2 and 3 (one network each,
# $cache/run/seed<S>/voice.unm, by bench_voice --train), packed into one file by bench_voice --pack, whose window and file
# scalings are fitted on the training manifest's files that some member held out for validation,
# each scored only by the members that held it out (docs/voice.md). --seed S trains one network
# instead (the model format before the ensemble; still loadable). --spec-augment trains the members
# with SpecAugment-style band and frame masks on the training patches (the session-6 recipe, which
# measured worse on the held-out sources and is not the shipped model; docs/voice.md).
# Seeds 4 and 5 of this recipe, packed with 1-3 as a five-member ensemble (--seeds 1,2,3,4,5),
# measured as the three (5.6 %, file AUC 0.983 against 0.986) and are not shipped (docs/voice.md).
# --mixup ALPHA trains the members on mixed-up patches (lambda ~ Beta(ALPHA, ALPHA)); with 0.4 (session 8)
# the ensemble measured 5.6 % again with a higher file AUC (0.994); not shipped by the rule registered
# before it was trained, which asked for a lower EER (docs/voice.md).
# The shipped recipe (session 9) adds 36 clips of festival's ked_diphone voice to the training
# manifest (bench/voice/make_festival_training.sh; installs festival with apt the first time), so
# that the members see diphone (concatenative) synthesis, which no other training source has; the
# models before it, trained without them, missed every diphone voice (docs/voice.md).
# --no-festival-ked trains that earlier recipe. --telephone sends a seventh of the members' channel
# copies through a telephone line (8 kHz, mu-law; bench_voice --telephone), the session-9
# telephone experiment (docs/voice.md).
#
# Usage: scripts/train-voice.sh [--seeds 1,2,3 | --seed S] [--spec-augment] [--mixup ALPHA] [--no-festival-ked] [--telephone] [--epochs N] [--resume] [--build DIR] [--data DIR] [--cache DIR]
# About 25 minutes per seed on 2 cores at 5 epochs (features ~11 min, each epoch ~3.5 min) on a
# busy machine; the packing ~2 minutes.
set -euo pipefail

source "$(dirname "$0")/lib/train-common.sh"
seeds=1,2,3
rest=()
single=""
mask=""
mixup=()
telephone=""
ked=1
while [[ $# -gt 0 ]]; do
  case "$1" in
    --seeds) [[ $# -ge 2 ]] || { echo "option --seeds needs a value" >&2; exit 2; }
             seeds="$2"; shift 2 ;;
    --seed) [[ $# -ge 2 ]] || { echo "option --seed needs a value" >&2; exit 2; }
            single="$2"; rest+=("$1" "$2"); shift 2 ;;
    --spec-augment) mask="--spec-augment"; shift ;;
    --mixup) [[ $# -ge 2 ]] || { echo "option --mixup needs a value" >&2; exit 2; }
             mixup=(--mixup "$2"); shift 2 ;;
    --no-festival-ked) ked=""; shift ;;
    --telephone) telephone="--telephone"; shift ;;
    *) rest+=("$1"); shift ;;
  esac
done
[[ -n "$single" && ( -n "$mask" || -n "$telephone" || ${#mixup[@]} -gt 0 ) ]] && { echo "--spec-augment, --mixup and --telephone are for the ensemble members (--seeds), not --seed" >&2; exit 2; }
[[ "$seeds" =~ ^[0-9]+(,[0-9]+)*$ ]] || { echo "--seeds wants numbers separated by commas, not '$seeds'" >&2; exit 2; }
parse_train_options /work/cache/voice 5 1 "${rest[@]}"
find_unmask
mkdir -p "$cache/run"

"$here/bench/voice/make_manifests.sh" "$data" "$cache"
manifest="$cache/voice_train.csv"
if [[ -n "$ked" ]]; then
  "$here/bench/voice/make_festival_training.sh" "$cache/voice_train.csv" "$cache"
  manifest="$cache/voice_train_ked.csv"
fi

export OMP_WAIT_POLICY=passive
if [[ -n "$single" ]]; then
  "$unmask" -v train --detector voice --manifest "$manifest" --out "$cache/run/voice.unm" \
    --epochs "$epochs" --seed "$seed" --threads 2 $resume
else
  bench_voice="$build/bench/voice/bench_voice"
  [[ -x "$bench_voice" ]] || { echo "no $bench_voice: build it first (cmake --build $build --target bench_voice)" >&2; exit 3; }
  members=()
  for s in ${seeds//,/ }; do
    mkdir -p "$cache/run/seed$s"
    "$bench_voice" --train "$manifest" --out "$cache/run/seed$s/voice.unm" \
      --epochs "$epochs" --seed "$s" --model-kind cnn $mask $telephone "${mixup[@]}" $resume
    members+=("$cache/run/seed$s/voice.unm")
  done
  "$bench_voice" --pack "$cache/run/voice.unm" --members "$(IFS=,; echo "${members[*]}")" \
    --scaling-manifest "$manifest"
fi

install_model voice '
card.setdefault("data", {})["manifest"] = "voice_train.csv, built by bench/voice/make_manifests.sh from MANIFEST.csv (under the cache folder)"
if "'"${ked}"'":
    card["data"]["manifest"] += "; plus 36 festival ked_diphone clips (bench/voice/make_festival_training.sh): voice_train_ked.csv"
card["held_out_sources"] = {
    "synthetic": ["Tacotron2 TTS", "NaturalSpeech (Microsoft) TTS", "Tortoise fine-tuned on LJSpeech"],
    "real": ["Rahul5430/Speech-Emotion-Recognition-System (RAVDESS)", "smeetrs/deep_avsr (LRS2)",
             "CorentinJ/Real-Time-Voice-Cloning (VCTK)"],
    "espeak_voices": ["en-gb-scotland", "en-us-nyc", "en-gb-x-gbcwmd", "nl"]}
'
echo "measure it: OMP_WAIT_POLICY=passive bench_voice --eval $cache/voice_heldout.csv --model $here/models/voice.unm"
