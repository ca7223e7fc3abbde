# bench_common.sh - shared by the bench-*.sh scripts (sourced after option
# parsing): logging, installing missing packages, and finding, building and
# describing the ddloop binary. Uses REPO, DDLOOP, BUILD from the script.

log() { printf '[bench %s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
die() { printf 'bench: %s\n' "$*" >&2; exit 1; }

# install_missing PKG...: apt-get install the packages named (as root).
install_missing() {
  (($#)) || return 0
  log "installing $*"
  ((EUID == 0)) || die "missing $*; run as root or install them"
  apt-get update -q >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@" >/dev/null
}

# find_ddloop: sets DDLOOP (building it unless BUILD=0) and BUILD_TYPE.
find_ddloop() {
  if [[ -z $DDLOOP ]]; then
    DDLOOP="$REPO/build/ddloop/ddloop"
    if ((BUILD)); then
      log "building ddloop (cmake + ninja in $REPO/build)"
      cmake -S "$REPO" -B "$REPO/build" -G Ninja >/dev/null
      ninja -C "$REPO/build" ddloop >/dev/null
    fi
  fi
  [[ -x $DDLOOP ]] || die "$DDLOOP: not built (cd $REPO && cmake -S . -B build -G Ninja && ninja -C build)"
  BUILD_TYPE=unknown
  local dir
  dir=$(dirname "$(dirname "$(readlink -f "$DDLOOP")")")
  if [[ -f $dir/build.ninja ]]; then
    BUILD_TYPE=$(grep -o -m1 'CXX_EXECUTABLE_LINKER__ddloop_[A-Za-z]*' "$dir/build.ninja" | sed 's/.*_ddloop_//') || true
    if grep -q 'DDLOOP_SANITIZE:BOOL=ON' "$dir/CMakeCache.txt" 2>/dev/null; then
      BUILD_TYPE="$BUILD_TYPE+ASan/UBSan (figures not meaningful)"
    fi
  fi
}
