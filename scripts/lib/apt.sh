# Sourced by the test scripts: install_missing PACKAGE... installs the Debian packages that are
# not installed yet (--no-install-recommends), refreshing the package lists only when the first
# try fails on stale or empty ones. Expects a log function.

install_missing() {
  local missing=() p sudo=()
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" != 0 ]; then
    command -v sudo >/dev/null || { log "need root to install: ${missing[*]}"; exit 1; }
    sudo=(sudo)
  fi
  log "installing ${missing[*]}"
  # Another test script may hold the dpkg lock: wait for it rather than fail.
  local apt=("${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -q -o DPkg::Lock::Timeout=600)
  if ! "${apt[@]}" install -y --no-install-recommends "${missing[@]}" >/dev/null; then
    log "install failed; updating the package lists and trying again"
    "${apt[@]}" update -qq
    "${apt[@]}" install -y --no-install-recommends "${missing[@]}" >/dev/null
  fi
}
