#!/bin/bash
# build.sh - set up a fresh Debian 12 machine, build, and run something.
#   ./build.sh demo    install, build, run the bundled example (examples/demo.sh)
#   ./build.sh test    install, build, run every test: the normal build, an
#                      ASan+UBSan build, and the libFuzzer targets for a while
#   ./build.sh build   install and build only
# Needs root (or sudo) for apt-get. Set DDLOOP_NO_INSTALL=1 to skip apt-get.
set -euo pipefail
cd "$(dirname "$0")"
MODE=${1:-build}
JOBS=$(nproc)

PACKAGES=(
  build-essential cmake ninja-build pkg-config   # toolchain
  libzstd-dev libxxhash-dev libcli11-dev libgtest-dev libfuse3-dev  # libraries
  fuse3 util-linux                               # fusermount3; losetup and mount for attach
  libarchive-dev libarchive-tools strace         # ddloop archive/restore; bsdtar and write sizes in test-archive
  libcurl4-openssl-dev                           # ddloop push/pull/ls/rm: HTTP and S3 transports
  e2fsprogs groff-base time                      # demo/tests (mkfs.ext4, debugfs), man page check, peak RSS
)
TEST_PACKAGES=(clang-14 libclang-rt-14-dev)      # libFuzzer
TEST_PACKAGES+=(ceph-mon ceph-osd radosgw)       # tests/servers/rgw.sh: a local S3 server (~64 MiB)
TEST_PACKAGES+=(nginx-light curl python3)       # tests/servers/nginx.sh: HTTP/WebDAV target; curl for the benchmark
TEST_PACKAGES+=(fio)                             # tests/bench/bench-volume.sh: volume vs loop device writes

install() {
  [ "${DDLOOP_NO_INSTALL:-0}" = 1 ] && return
  local want=("${PACKAGES[@]}")
  [ "$MODE" = test ] && want+=("${TEST_PACKAGES[@]}")
  local missing=()
  for p in "${want[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return
  local sudo=""
  [ "$(id -u)" -ne 0 ] && sudo=sudo
  echo "== installing: ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

build() {  # build DIR [cmake args...]
  local dir=$1; shift
  cmake -S . -B "$dir" -G Ninja "$@" >/dev/null
  ninja -C "$dir" -j "$JOBS"
}

run_fuzzers() {
  if ! command -v clang++-14 >/dev/null; then
    echo "== fuzzers: SKIPPED (clang++-14 not installed)"
    FUZZ_SKIPPED=1
    return
  fi
  # The libraries are instrumented as well as the harnesses (CMakeLists.txt,
  # DDLOOP_BUILD_FUZZERS), so only the fuzz targets are built here.
  local targets="stream_reader random_reader chain_reader volume_metadata backup_text" t
  cmake -S . -B build-fuzz -G Ninja -DCMAKE_C_COMPILER=clang-14 -DCMAKE_CXX_COMPILER=clang++-14 \
    -DDDLOOP_BUILD_TESTS=OFF -DDDLOOP_BUILD_FUZZERS=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  ninja -C build-fuzz -j "$JOBS" $(for t in $targets; do echo fuzz_$t; done)
  # 5 targets x 50 s by default: the fuzz step stays under 5 minutes.
  local secs=${DDLOOP_FUZZ_SECONDS:-50} failed=0
  for t in $targets; do
    local corpus seeds
    corpus=$(mktemp -d)
    case $t in
      volume_metadata) seeds=tests/fuzz/corpus_volume ;;
      backup_text) seeds=tests/fuzz/corpus_backup ;;
      *) seeds=tests/fuzz/corpus
         cp tests/golden/valid/*.delta tests/golden/invalid/*.delta "$corpus"/ 2>/dev/null || true ;;
    esac
    cp "$seeds"/* "$corpus"/ 2>/dev/null || true
    local known="" f h
    for f in "$corpus"/*; do  # the seeds under libFuzzer's names (SHA-1)
      h=$(sha1sum <"$f" | cut -c1-40)
      [ "$f" = "$corpus/$h" ] || mv "$f" "$corpus/$h"
      known="$known $h"
    done
    echo "== fuzz_$t for ${secs}s"
    if ./build-fuzz/tests/fuzz_$t -max_total_time="$secs" -rss_limit_mb=2048 -malloc_limit_mb=512 -print_final_stats=1 \
        -artifact_prefix=build-fuzz/crash-$t- "$corpus" >build-fuzz/fuzz_$t.log 2>&1; then
      grep -E "^stat::number_of_executed_units|^#[0-9]+.*DONE" build-fuzz/fuzz_$t.log | tail -2
      # What this run grew beyond the committed seeds, minimised, for a
      # developer to review and commit: build-fuzz/new-corpus-$t.
      local new=build-fuzz/new-corpus-$t h
      rm -rf "$new" && mkdir -p "$new"
      for h in $known; do cp "$corpus/$h" "$new/$h" 2>/dev/null || true; done
      ./build-fuzz/tests/fuzz_$t -merge=1 -use_counters=0 "$new" "$corpus" >/dev/null 2>&1 || true
      for h in $known; do rm -f "$new/$h"; done
      echo "   $(ls build-fuzz/new-corpus-$t | wc -l) new inputs in build-fuzz/new-corpus-$t (not in $seeds)"
    else
      failed=1
      tail -40 build-fuzz/fuzz_$t.log
      echo "fuzz_$t found a failure: the input is in build-fuzz/crash-$t-*"
    fi
    rm -rf "$corpus"
  done
  return $failed
}

# Totals over every test run, for the closing line.
PASSED=0 FAILED=0 SKIPPED=0
run_ctest() {  # run_ctest DIR [ENV...]: ctest in DIR, counted
  local dir=$1 log rc=0
  shift
  log=$(mktemp)
  (cd "$dir" && env "$@" ctest -j "$JOBS" --output-on-failure) | tee "$log" || rc=1
  local total failed skipped
  total=$(sed -n 's/.*tests failed out of \([0-9]*\).*/\1/p' "$log" | tail -1)
  failed=$(sed -n 's/.* \([0-9]*\) tests failed out of.*/\1/p' "$log" | tail -1)
  skipped=$(grep -c '(Skipped)' "$log" || true)
  rm -f "$log"
  total=${total:-0} failed=${failed:-0}
  [ "$rc" -ne 0 ] && [ "$failed" -eq 0 ] && failed=1
  PASSED=$((PASSED + total - failed - skipped)) FAILED=$((FAILED + failed)) SKIPPED=$((SKIPPED + skipped))
}

install
case "$MODE" in
  build)
    build build
    ;;
  demo)
    build build
    bash examples/demo.sh build/ddloop/ddloop
    ;;
  test)
    build build
    echo "== tests (RelWithDebInfo)"
    run_ctest build
    echo "== tests under ASan + UBSan"
    build build-asan -DDDLOOP_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug
    run_ctest build-asan ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1
    FUZZ_SKIPPED=0
    if ! run_fuzzers; then FAILED=$((FAILED + 1))
    elif [ "$FUZZ_SKIPPED" = 1 ]; then SKIPPED=$((SKIPPED + 2))
    else PASSED=$((PASSED + 2)); fi
    echo "== demo"
    if bash examples/demo.sh build/ddloop/ddloop; then PASSED=$((PASSED + 1)); else FAILED=$((FAILED + 1)); fi
    echo "ci: $PASSED passed, $FAILED failed, $SKIPPED skipped"
    [ "$FAILED" -eq 0 ]
    ;;
  *)
    echo "usage: $0 demo|test|build" >&2
    exit 2
    ;;
esac
