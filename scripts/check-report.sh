#!/usr/bin/env bash
# Looks at HTML reports as a person would: headless Chromium screenshots at desktop (1280 px) and
# phone (390 px) widths. Installs Chromium with apt the first time it runs (it is not part of
# install-deps.sh, so the CI never pays for it).
#
#   scripts/check-report.sh [OUT_DIR] [REPORT.html ...]    # default: demo-out/*.html -> demo-out/screenshots
set -euo pipefail
OUT=${1:-demo-out/screenshots}
shift || true
reports=("$@")
if [ ${#reports[@]} -eq 0 ]; then
  shopt -s nullglob
  reports=(demo-out/*.html)
fi
if [ ${#reports[@]} -eq 0 ]; then
  echo "check-report: no HTML report given and none in demo-out/ (run make demo first)" >&2
  exit 2
fi

browser=$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)
if [ -z "$browser" ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "check-report: chromium is not installed and installing it needs root" >&2
    exit 4
  fi
  echo "== installing chromium (apt)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null
  browser=$(command -v chromium)
fi

mkdir -p "$OUT"
profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT
for report in "${reports[@]}"; do
  name=$(basename "$report" .html)
  url="file://$(realpath "$report")"
  # Tall windows so that the whole page is in the picture.
  for size in desktop:1280,2600 phone:390,4200; do
    label=${size%%:*}
    window=${size#*:}
    png="$OUT/$name-$label.png"
    timeout 120 "$browser" --headless --no-sandbox --disable-gpu --hide-scrollbars --user-data-dir="$profile" \
      --force-device-scale-factor=1 --window-size="$window" --screenshot="$png" "$url" >/dev/null 2>&1
    echo "$png"
  done
done
