#!/bin/sh
# Splits the audio rows of MANIFEST.csv into the voice detector's training and held-out manifests
# (written to OUT_DIR, paths made absolute; no data is copied).
#   held out entirely: the Tacotron2, NaturalSpeech and fine-tuned Tortoise fakes; the real
#   sources Rahul5430/Speech-Emotion-Recognition-System (RAVDESS), smeetrs/deep_avsr (LRS2) and
#   CorentinJ/Real-Time-Voice-Cloning.
#   training: every other audio row (Tortoise zero-shot fakes; real Tortoise reference voices,
#   Resemblyzer/LibriSpeech, pyroomacoustics/CMU ARCTIC, PC-AVS/VoxCeleb2), and the real video
#   rows (their soundtracks as real speech; train_voice skips videos without audio or speech)
#   except PC-AVS (already there as demuxed audio) and deep_avsr (held out).
# usage: make_manifests.sh DATA_DIR OUT_DIR
set -eu
data=$(cd "$1" && pwd)
out=$2
mkdir -p "$out"
held='Tacotron2 TTS|NaturalSpeech|Tortoise fine-tuned on LJSpeech|Rahul5430/Speech-Emotion|smeetrs/deep_avsr|CorentinJ/Real-Time'
head -1 "$data/MANIFEST.csv" > "$out/voice_train.csv"
head -1 "$data/MANIFEST.csv" > "$out/voice_heldout.csv"
grep -E '^[^,]*,audio,' "$data/MANIFEST.csv" | sed "s|^|$data/|" > "$out/voice_all.tmp"
grep -Ev "$held" "$out/voice_all.tmp" >> "$out/voice_train.csv" || true
grep -E "$held" "$out/voice_all.tmp" >> "$out/voice_heldout.csv" || true
grep -E '^[^,]*,video,real,' "$data/MANIFEST.csv" | grep -Ev "Talking-Face_PC-AVS|$held" | sed "s|^|$data/|" >> "$out/voice_train.csv" || true
rm -f "$out/voice_all.tmp"
echo "train: $(($(wc -l < "$out/voice_train.csv") - 1)) rows, held out: $(($(wc -l < "$out/voice_heldout.csv") - 1)) rows"
