#!/bin/bash
# RSS of one `unmask scan` over time, to see whether memory grows with the length of a file (the
# peak alone, which bench_scan --only-memory prints, cannot tell a slope from a one-off).
#
#   bench/scan/rss_over_time.sh OUT_PREFIX MINUTES UNMASK_BINARY FILE [unmask scan flags...]
#
# Writes OUT_PREFIX.json (the report), OUT_PREFIX.time (/usr/bin/time -v) and OUT_PREFIX.rss
# ("wall_s rss_kib cpu_s" every 10 s), then prints the RSS at each tenth of the run's CPU time and
# the slope in MiB per minute of the file over the 2nd-5th and the 6th-9th tenths. The CPU time
# stands for the position in the file (the decode and tracking are most of it, at an even pace);
# MINUTES is the file's length. Run it under nice on a shared machine.
set -euo pipefail
if [ $# -lt 4 ]; then
  echo "usage: $0 OUT_PREFIX MINUTES UNMASK_BINARY FILE [scan flags...]" >&2
  exit 2
fi
out=$1 minutes=$2 bin=$3 file=$4
shift 4
: > "$out.rss"
/usr/bin/time -v -o "$out.time" env -u OMP_WAIT_POLICY "$bin" scan --json --quiet "$@" "$file" > "$out.json" 2> "$out.err" &
timer=$!
start=$(date +%s)
tick=$(getconf CLK_TCK)
while kill -0 "$timer" 2> /dev/null; do
  child=$(pgrep -P "$timer" -n || true)
  if [ -n "$child" ] && [ -r "/proc/$child/status" ]; then
    rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$child/status" 2> /dev/null || true)
    cpu=$(awk -v t="$tick" '{printf "%.1f", ($14 + $15) / t}' "/proc/$child/stat" 2> /dev/null || true)
    [ -n "$rss" ] && [ -n "$cpu" ] && echo "$(( $(date +%s) - start )) $rss $cpu" >> "$out.rss"
  fi
  sleep 10
done
wait "$timer" || true
grep -E "Maximum resident|Elapsed|Exit status" "$out.time"
python3 - "$out.rss" "$minutes" << 'EOF'
import sys
rows = [tuple(map(float, l.split())) for l in open(sys.argv[1]) if l.strip()]
minutes = float(sys.argv[2])
if len(rows) < 10:
    sys.exit("too few samples for a slope")
total = rows[-1][2]
def at(frac):
    return min(rows, key=lambda r: abs(r[2] - frac * total))
print("tenth of the CPU time: RSS MiB")
print("  ".join("%d: %.0f" % (k, at(k / 10)[1] / 1024) for k in range(1, 11)))
def slope(a, b):
    pts = [(r[2] / total * minutes, r[1] / 1024) for r in rows if a * total <= r[2] <= b * total]
    n = len(pts)
    if n < 3:
        return float("nan")
    mx = sum(p[0] for p in pts) / n
    my = sum(p[1] for p in pts) / n
    return sum((x - mx) * (y - my) for x, y in pts) / sum((x - mx) ** 2 for x, _ in pts)
print("slope, tenths 2-5: %.2f MiB per minute of file; tenths 6-9: %.2f" % (slope(0.1, 0.5), slope(0.5, 0.9)))
EOF
