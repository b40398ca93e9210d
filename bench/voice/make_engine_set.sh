#!/bin/sh
# Makes a second held-out set for the voice detector: speech from Debian's two other TTS engines,
# which no voice model of this project has trained on or been measured on before session 9
# (training had Tortoise zero-shot, espeak-ng and Griffin-Lim/vocoder resynthesis):
#   flite 2.2 (CMU): kal16 (diphone), awb, rms, slt (clustergen, statistical parametric)
#   festival 2.5: kal_diphone, ked_diphone (diphone), cmu_us_slt_arctic_hts (HTS, HMM-based)
# Six clips per voice, each two IEEE "Harvard" sentences (public domain), three at the engine's
# own speed and three 20 % slower; every clip is kept as the engine's WAV and as a 64 kbit/s MP3
# (the shared data's held-out TTS files are MP3s). Writes OUT_DIR/engines.csv: these fakes plus the
# real rows of HELDOUT_CSV (the held-out real speech of make_manifests.sh), for `bench_voice --eval`.
# Installs flite and festival with its voices through apt the first time (not part of
# install-deps.sh: only this benchmark needs them).
# usage: make_engine_set.sh HELDOUT_CSV OUT_DIR
set -eu
[ $# -eq 2 ] || { echo "usage: $0 HELDOUT_CSV OUT_DIR" >&2; exit 2; }
heldout=$1
out=$2
[ -r "$heldout" ] || { echo "make_engine_set: cannot read $heldout" >&2; exit 3; }

. "$(dirname "$0")/apt_packages.sh"
ensure_packages make_engine_set flite festival festvox-kallpc16k festvox-kdlpc16k festvox-us-slt-hts

mkdir -p "$out/clips"
out=$(cd "$out" && pwd)

# IEEE Recommended Practice for Speech Quality Measurements (1969), lists 1-4.
sentences() {
  cat <<'EOF'
The birch canoe slid on the smooth planks.
Glue the sheet to the dark blue background.
It's easy to tell the depth of a well.
These days a chicken leg is a rare dish.
Rice is often served in round bowls.
The juice of lemons makes fine punch.
The box was thrown beside the parked truck.
The hogs were fed chopped corn and garbage.
Four hours of steady work faced us.
A large size in stockings is hard to sell.
The boy was there when the sun rose.
A rod is used to catch pink salmon.
The source of the huge river is the clear spring.
Kick the ball straight and follow through.
Help the woman get back to her feet.
A pot of tea helps to pass the evening.
Smoky fires lack flame and heat.
The soft cushion broke the man's fall.
The salt breeze came across from the sea.
The girl at the booth sold fifty bonds.
The small pup gnawed a hole in the sock.
The fish twisted and turned on the bent hook.
Press the pants and sew a button on the vest.
The swan dive was far short of perfect.
The beauty of the view stunned the young boy.
Two blue fish swam in the tank.
Her purse was full of useless trash.
The colt reared and threw the tall rider.
It snowed, rained, and hailed the same morning.
Read verse out loud for pleasure.
Hoist the load to your left shoulder.
Take the winding path to reach the lake.
Note closely the size of the gas tank.
Wipe the grease off his dirty face.
Mend the coat before you go out.
The wrist was badly strained and hung limp.
The stray cat gave birth to kittens.
The young girl gave no clear response.
The meal was cooked before the bell rang.
What joy there is in living.
A king ruled the state in the early days.
The ship was torn apart on the sharp reef.
EOF
}

# text for clip k of voice v (0-based): two consecutive sentences, a different pair per clip and voice
text_for() {
  n=$(( ($1 * 6 + $2) * 2 % 42 ))
  sentences | sed -n "$((n + 1))p;$((n + 2))p" | tr '\n' ' '
}

echo "path,kind,label,source_repo,method,paired_with,label_evidence" > "$out/engines.csv"
grep -E '^[^,]*,[^,]*,real,' "$heldout" >> "$out/engines.csv" || true

v=0
for voice in flite:kal16 flite:awb flite:rms flite:slt festival:kal_diphone festival:ked_diphone festival:cmu_us_slt_arctic_hts; do
  engine=${voice%%:*}
  name=${voice#*:}
  for k in 0 1 2 3 4 5; do
    stretch=1.0
    [ "$k" -ge 3 ] && stretch=1.2
    wav="$out/clips/${engine}_${name}_$k.wav"
    text=$(text_for "$v" "$k")
    if [ "$engine" = flite ]; then
      flite -voice "$name" --setf duration_stretch="$stretch" -t "$text" -o "$wav"
    else
      printf '%s\n' "$text" | text2wave -eval "(voice_$name)" -eval "(Parameter.set 'Duration_Stretch $stretch)" -o "$wav"
    fi
    mp3="${wav%.wav}.mp3"
    ffmpeg -v error -y -i "$wav" -ac 1 -c:a libmp3lame -b:a 64k "$mp3"
    for f in "$wav" "$mp3"; do
      echo "$f,audio,fake,$engine,$engine $name (${f##*.}),,made by bench/voice/make_engine_set.sh" >> "$out/engines.csv"
    done
  done
  v=$((v + 1))
done
echo "wrote $out/engines.csv: $(grep -c ',fake,' "$out/engines.csv") synthetic clips, $(grep -c ',real,' "$out/engines.csv") real files"
