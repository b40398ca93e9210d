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
# Usage: scripts/train-voice.sh [--seed S] [--epochs N] [--resume] [--build DIR] [--data DIR] [--cache DIR]
# About 25 minutes on 2 cores at 5 epochs (features ~11 min, each epoch ~3.5 min) on a busy machine.
set -euo pipefail

source "$(dirname "$0")/lib/train-common.sh"
parse_train_options /work/cache/voice 5 1 "$@"
find_unmask
mkdir -p "$cache/run"

"$here/bench/voice/make_manifests.sh" "$data" "$cache"

export OMP_WAIT_POLICY=passive
"$unmask" -v train --detector voice --manifest "$cache/voice_train.csv" --out "$cache/run/voice.unm" \
  --epochs "$epochs" --seed "$seed" --threads 2 $resume

install_model voice '
card["data"]["manifest"] = "voice_train.csv, built by bench/voice/make_manifests.sh from MANIFEST.csv (under the cache folder)"
card["held_out_sources"] = {
    "synthetic": ["Tacotron2 TTS", "NaturalSpeech (Microsoft) TTS", "Tortoise fine-tuned on LJSpeech"],
    "real": ["Rahul5430/Speech-Emotion-Recognition-System (RAVDESS)", "smeetrs/deep_avsr (LRS2)",
             "CorentinJ/Real-Time-Voice-Cloning (VCTK)"],
    "espeak_voices": ["en-gb-scotland", "en-us-nyc", "en-gb-x-gbcwmd", "nl"]}
'
echo "measure it: OMP_WAIT_POLICY=passive bench_voice --eval $cache/voice_heldout.csv --model $here/models/voice.unm"
