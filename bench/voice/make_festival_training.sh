#!/bin/sh
# Adds diphone (concatenative) synthetic speech to the voice detector's training manifest: 36
# clips of festival's ked_diphone voice (two IEEE "Harvard" sentences each, lists 5-8, none of
# the sentences of make_engine_set.sh), a third each at 0.9, 1.0 and 1.2 times the engine's
# durations. The trainer adds its codec / low-pass / noise copy of every clip as it does for the
# manifest's other files. Festival's kal_diphone, flite's kal16 (the same diphone database in
# another engine) and every other voice of make_engine_set.sh stay unseen.
# Writes OUT_DIR/voice_train_ked.csv: every row of TRAIN_CSV, then the 36 clips (label fake).
# Installs festival and the voice through apt the first time (only this recipe needs them).
# usage: make_festival_training.sh TRAIN_CSV OUT_DIR
set -eu
[ $# -eq 2 ] || { echo "usage: $0 TRAIN_CSV OUT_DIR" >&2; exit 2; }
train=$1
out=$2
[ -r "$train" ] || { echo "make_festival_training: cannot read $train" >&2; exit 3; }

. "$(dirname "$0")/apt_packages.sh"
ensure_packages make_festival_training festival festvox-kdlpc16k

mkdir -p "$out/ked"
out=$(cd "$out" && pwd)

sentences() {
  cat <<'EOF'
Sickness kept him home the third week.
The wide road shimmered in the hot sun.
The lazy cow lay in the cool grass.
Lift the square stone over the fence.
The rope will bind the seven books at once.
Hop over the fence and plunge in.
The friendly gang left the drug store.
Mesh wire keeps chicks inside.
The frosty air passed through the coat.
The crooked maze failed to fool the mouse.
Adding fast leads to wrong sums.
The show was a flop from the very start.
A saw is a tool used for making boards.
The wagon moved on well oiled wheels.
March the soldiers past the next hill.
A cup of sugar makes sweet fudge.
Place a rosebush near the porch steps.
Both lost their lives in the raging storm.
We talked of the side show in the circus.
Use a pencil to write the first draft.
He ran half way to the hardware store.
The clock struck to mark the third period.
A small creek cut across the field.
Cars and busses stalled in snow drifts.
The set of china hit the floor with a crash.
This is a grand season for hikes on the road.
The dune rose from the edge of the water.
Those words were the cue for the actor to leave.
A yacht slid around the point into the bay.
The two met while playing on the sand.
The ink stain dried on the finished page.
The walled town was seized without a fight.
The lease ran out in sixteen weeks.
A tame squirrel makes a nice pet.
The horn of the car woke the sleeping cop.
The heart beat strongly and with firm strokes.
The pearl was worn in a thin silver ring.
The fruit peel was cut in thick slices.
EOF
}

cp "$train" "$out/voice_train_ked.csv"
k=0
while [ "$k" -lt 36 ]; do
  case $((k % 3)) in 0) stretch=0.9 ;; 1) stretch=1.0 ;; *) stretch=1.2 ;; esac
  text=$(sentences | sed -n "$((k % 38 + 1))p;$(((k + 1) % 38 + 1))p" | tr '\n' ' ')
  wav="$out/ked/ked_$k.wav"
  printf '%s\n' "$text" | text2wave -eval "(voice_ked_diphone)" -eval "(Parameter.set 'Duration_Stretch $stretch)" -o "$wav"
  echo "$wav,audio,fake,festival,festival ked_diphone,,made by bench/voice/make_festival_training.sh" >> "$out/voice_train_ked.csv"
  k=$((k + 1))
done
echo "wrote $out/voice_train_ked.csv: $(($(wc -l < "$train") - 1)) rows of $train and 36 ked_diphone clips"
