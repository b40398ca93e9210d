# Sourced by the voice benchmark scripts (POSIX sh): ensure_packages WHO PACKAGE... installs the
# Debian packages that are missing through apt, as root; WHO names the script in messages. Exits 3
# when packages are missing and this is not root. Not part of install-deps.sh: only these
# benchmarks need the engines, so the CI never pays for them.
ensure_packages() {
  who=$1
  shift
  missing=""
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
  done
  [ -z "$missing" ] && return 0
  [ "$(id -u)" -eq 0 ] || { echo "$who: needs$missing (apt, as root)" >&2; exit 3; }
  echo "== installing$missing (apt)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq --no-install-recommends $missing >/dev/null 2>&1 ||
    { apt-get update -qq && apt-get install -y -qq --no-install-recommends $missing >/dev/null; }
}
