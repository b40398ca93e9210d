# Shared by scripts/train-noise.sh and scripts/fit-fusion.sh: the real videos of a training set go
# through the same processing as the fakes the project makes from them. Every `unmask synth` output
# is decoded, watermarked (mark::FrameMarker, issuer 0, strength 1) and re-encoded once with x264
# at CRF 18 and the mark-preserving x264 options; `unmask mark embed --issuer 0` does exactly that
# to a real clip (audio copied, as synth swap copies it). Without it the only reals a detector saw
# were the originals, and "marked and re-encoded" was a label shortcut (docs/detectors.md, noise).
# The reals are marked without the synthetic flag: one payload bit of a faint mark, which no
# detector reads from a face crop. Source it; it defines a function only.

# marked_real UNMASK DATA_DIR PATH OUT_DIR: prints the marked copy of DATA_DIR/PATH under OUT_DIR
# (made once: an existing non-empty copy is reused), or nothing when marking failed.
marked_real() {
  local unmask="$1" data="$2" path="$3" dir="$4"
  local name
  name="$(echo "${path%.*}" | tr '/' '_').mp4"
  mkdir -p "$dir"
  if [ ! -s "$dir/$name" ]; then
    nice -n 10 "$unmask" --quiet mark embed "$data/$path" "$dir/$name.tmp.mp4" --issuer 0 >/dev/null &&
      mv "$dir/$name.tmp.mp4" "$dir/$name" || { rm -f "$dir/$name.tmp.mp4"; echo "marking $path failed" >&2; return 0; }
  fi
  echo "$dir/$name"
}
