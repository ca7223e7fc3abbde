#!/usr/bin/env bash
# test-kernel-qemu.sh - test the ddloop kernel driver (kernel/ddloop.c) in a
# QEMU guest running the Debian kernel its headers belong to. The host
# kernel may not load modules, so the driver never runs on the host.
#
# Usage: tests/kernel/test-kernel-qemu.sh [--bench] [--smoke] [--keep]
#          [--kernel-src DIR] [--timeout S] PATH-TO-ddloop
#
#  1. Setup: installs linux-headers-amd64, qemu-system-x86, busybox-static
#     and cpio when missing; downloads linux-image-ABI of the same version as
#     the installed headers (not installed: only vmlinuz and the few modules
#     needed are extracted) into a cache, tests/kernel/work/ (git-ignored,
#     reused between runs; DDLOOP_KERNEL_WORK overrides); builds the driver
#     from a scratch copy of kernel/ (the source tree stays clean).
#  2. Host-side data: a 16 MiB ext4 base and 3 snapshots changed with
#     debugfs, deltas d1..d3, a seed d0, a damaged copy of d3, checksums of
#     every image and of every file of every snapshot; for ioctl_probe.c
#     (built here with gcc -static) d1 damaged in its index, d1 truncated,
#     and a file that is no deltafile.
#  3. The guest (/init = guest-init.sh, checks = guest-tests.sh) loads the
#     driver and checks it; without kernel/ddloop.c (or with --smoke) only
#     the userspace smoke checks run.
#  4. QEMU (TCG) boots the guest; the check lines and the guest's closing
#     "N passed, N failed" are printed here. Exit 0 only when N > 0 passed
#     and none failed; 77 (skipped) only when apt or QEMU is unavailable.
#
# Options:
#   --bench           append the guest's BENCH line to tests/bench/RESULTS.md
#   --smoke           run only the smoke guest, even if kernel/ddloop.c exists
#   --keep            keep the run directory (images, initramfs, serial log)
#   --kernel-src DIR  driver source folder (default: kernel/ of this tree)
#   --timeout S       seconds QEMU may run (default 600)
#   --results FILE    where --bench appends (default tests/bench/RESULTS.md)
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
CMDLINE=$(printf '%q ' "$0" "$@")
CMDLINE=${CMDLINE% }

BENCH=0 SMOKE=0 KEEP=0 TIMEOUT=600
RESULTS=$REPO/tests/bench/RESULTS.md
KSRC=$REPO/kernel
DDLOOP=
while (($#)); do
  case $1 in
    --bench) BENCH=1; shift ;;
    --smoke) SMOKE=1; shift ;;
    --keep) KEEP=1; shift ;;
    --kernel-src) KSRC=$(cd "$2" && pwd); shift 2 ;;
    --timeout) TIMEOUT=$2; shift 2 ;;
    --results) RESULTS=$2; shift 2 ;;
    -h|--help) sed -n '2,31p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "test-kernel-qemu: unknown option '$1' (try --help)" >&2; exit 2 ;;
    *) DDLOOP=$1; shift ;;
  esac
done
[[ -n $DDLOOP ]] || { echo "usage: $0 [options] PATH-TO-ddloop" >&2; exit 2; }
DDLOOP=$(readlink -f "$DDLOOP")
[[ -x $DDLOOP ]] || { echo "test-kernel-qemu: $DDLOOP is not an executable" >&2; exit 2; }

exec 8>&1  # the real stdout, for the exit trap (a failure may happen inside a redirection)
log() { printf '[kernel-qemu %s] %s\n' "$(date -u +%H:%M:%S)" "$*"; }
die() { echo "FAIL $*"; echo "0 passed, 1 failed"; exit 1; }
skip() { echo "SKIP: $*"; exit 77; }
T_START=$(date +%s)

# ------------------------------------------------------------- 1. setup ----
installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }

SUDO=
if [[ $(id -u) -ne 0 ]]; then
  if command -v sudo >/dev/null && sudo -n true 2>/dev/null; then SUDO="sudo -n"; else SUDO=none; fi
fi
apt_get() {  # apt_get ARGS...: as root, waiting for another apt to finish
  [[ $SUDO == none ]] && return 1
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 "$@"
}

PACKAGES=(linux-headers-amd64 qemu-system-x86 busybox-static cpio e2fsprogs binutils make coreutils gcc libc6-dev)
missing=()
for p in "${PACKAGES[@]}"; do installed "$p" || missing+=("$p"); done
if ((${#missing[@]})); then
  command -v apt-get >/dev/null || skip "apt-get is unavailable and ${missing[*]} are not installed"
  [[ $SUDO == none ]] && skip "not root and no sudo: cannot install ${missing[*]}"
  log "installing ${missing[*]}"
  apt_get update -qq >/dev/null 2>&1 || true
  apt_get install -y -qq --no-install-recommends "${missing[@]}" >/tmp/kernel-qemu-apt.$$ 2>&1 || {
    tail -n 5 /tmp/kernel-qemu-apt.$$; rm -f /tmp/kernel-qemu-apt.$$
    skip "apt-get install ${missing[*]} failed (apt unavailable?)"
  }
  rm -f /tmp/kernel-qemu-apt.$$
fi
command -v qemu-system-x86_64 >/dev/null || skip "qemu-system-x86_64 is unavailable"
qemu-system-x86_64 -accel help 2>/dev/null | grep -qx tcg || skip "this qemu-system-x86_64 has no TCG accelerator"

kernel_abi() { dpkg-query -W -f='${Depends}' linux-headers-amd64 | sed -n 's/^linux-headers-\([^ ,]*\).*/\1/p'; }
ABI=$(kernel_abi)
[[ -n $ABI ]] || die "cannot read the kernel ABI from linux-headers-amd64's Depends"
VER=$(dpkg-query -W -f='${Version}' "linux-headers-$ABI")
HDRS=/usr/src/linux-headers-$ABI
[[ -f $HDRS/Module.symvers ]] || die "$HDRS/Module.symvers is missing"

WORK=${DDLOOP_KERNEL_WORK:-$HERE/work}
if ! mkdir -p "$WORK" 2>/dev/null || [[ ! -w $WORK ]]; then
  WORK=${TMPDIR:-/tmp}/ddloop-kernel-work
  mkdir -p "$WORK"
fi
# Runs killed outright (SIGKILL) leave their directory: clear old ones.
find "$WORK" -maxdepth 1 -name 'run.*' -mmin +180 -exec rm -rf {} + 2>/dev/null || true
RUN=$(mktemp -d "$WORK/run.XXXXXX")
QPID=
cleanup() {
  if [[ -n $QPID ]]; then kill "$QPID" 2>/dev/null || true; fi
  if ((KEEP)); then log "kept $RUN" >&8; else rm -rf "$RUN"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The kernel of the headers' version, into the cache (one run at a time).
exec 9>"$WORK/.lock"
flock 9
KC=$WORK/kernel-${ABI}_$VER
if [[ ! -f $KC/ok ]]; then
  rm -rf "$KC" && mkdir -p "$KC"
  log "downloading linux-image-$ABI=$VER into $KC"
  if ! (cd "$KC" && apt_get download "linux-image-$ABI=$VER" >"$KC/apt.log" 2>&1); then
    # The archive keeps only the newest version: move the headers along.
    log "not in the archive; updating the package lists and linux-headers-amd64"
    apt_get update -qq >/dev/null 2>&1 || true
    apt_get install -y -qq --no-install-recommends linux-headers-amd64 >>"$KC/apt.log" 2>&1 || true
    ABI2=$(kernel_abi)
    VER2=$(dpkg-query -W -f='${Version}' "linux-headers-$ABI2" 2>/dev/null || true)
    if [[ -n $VER2 && ($ABI2 != "$ABI" || $VER2 != "$VER") ]]; then
      rm -rf "$KC"
      ABI=$ABI2 VER=$VER2 HDRS=/usr/src/linux-headers-$ABI2 KC=$WORK/kernel-${ABI2}_$VER2
      mkdir -p "$KC"
    fi
    (cd "$KC" && apt_get download "linux-image-$ABI=$VER" >>"$KC/apt.log" 2>&1) || {
      tail -n 3 "$KC/apt.log"
      skip "apt-get download linux-image-$ABI=$VER failed (apt unavailable?)"
    }
  fi
  mv "$KC"/linux-image-*.deb "$KC/image.deb"
  dpkg-deb --fsys-tarfile "$KC/image.deb" | tar -t >"$KC/files"
  dpkg-deb --fsys-tarfile "$KC/image.deb" |
    tar -x -C "$KC" "./boot/vmlinuz-$ABI" "./boot/config-$ABI" "./lib/modules/$ABI/modules.builtin"
  touch "$KC/ok"
fi
# Kernels of headers no longer installed are dead weight (80 MB each).
for old in "$WORK"/kernel-*; do
  if [[ -d $old && $old != "$KC" ]]; then log "removing the stale $old"; rm -rf "$old"; fi
done
log "kernel $ABI ($VER), cache $KC"

modinfo_field() {  # modinfo_field FIELD FILE.ko
  objcopy -O binary --only-section=.modinfo "$2" "$RUN/modinfo.bin"
  tr '\0' '\n' <"$RUN/modinfo.bin" | sed -n "s/^$1=//p"
}
# Module NAME -> its path in the package, or nothing when built in.
module_path() {
  local pat=${1//[-_]/[-_]}
  grep -m 1 -E "/$pat\.ko\$" "$KC/files" | sed 's|^\./||'
}
MODS=()                   # dependency order, paths under $KC
declare -A SEEN=()
BUILTIN=() AS_MODULE=()
add_module() {  # add_module NAME: NAME and what it depends on, deps first
  local name=${1//-/_} path dep
  [[ -n ${SEEN[$name]:-} ]] && return 0
  SEEN[$name]=1
  path=$(module_path "$name")
  if [[ -z $path ]]; then
    grep -qE "/${name//_/[-_]}\.ko\$" "$KC/lib/modules/$ABI/modules.builtin" ||
      die "kernel module $name is neither in linux-image-$ABI nor built in"
    BUILTIN+=("$name")
    return 0
  fi
  if [[ ! -f $KC/$path ]]; then
    dpkg-deb --fsys-tarfile "$KC/image.deb" | tar -x -C "$KC" "./$path"
  fi
  for dep in $(modinfo_field depends "$KC/$path" | tr ',' ' '); do add_module "$dep"; done
  MODS+=("$path")
  AS_MODULE+=("$name")
}
# ext4 (its crc32c comes from the crypto API: crc32c_generic), loop for the
# benchmark. Each extraction unpacks the whole .deb (2 s): take the usual
# set in one pass, anything else add_module finds is taken one by one.
prefetch=()
for m in crc32c_generic ext4 jbd2 mbcache crc16 loop; do
  p=$(module_path "$m")
  [[ -n $p && ! -f $KC/$p ]] && prefetch+=("./$p")
done
if ((${#prefetch[@]})); then
  dpkg-deb --fsys-tarfile "$KC/image.deb" | tar -x -C "$KC" "${prefetch[@]}"
fi
for m in crc32c_generic ext4 loop; do add_module "$m"; done

# What the driver needs from the kernel: built in or a module?
symbol_home() { awk -v s="$1" '$2 == s { print $3; exit }' "$HDRS/Module.symvers"; }
SYMS=""
for s in zstd_init_dctx zstd_decompress_dctx xxh64; do
  home=$(symbol_home "$s")
  SYMS+="$s: ${home:-missing}; "
  [[ -n $home && $home != vmlinux ]] && add_module "$(basename "$home")"
done
log "symbols: ${SYMS%; }"

# The driver, built from a scratch copy (kernel/ plus deltafile/ headers).
KO=
if ((SMOKE)); then
  log "--smoke: the driver is not built"
elif [[ ! -f $KSRC/ddloop.c ]]; then
  log "no $KSRC/ddloop.c yet: smoke guest only"
else
  mkdir -p "$RUN/src"
  cp -a "$KSRC" "$RUN/src/kernel"
  cp -a "$REPO/deltafile" "$RUN/src/deltafile"
  find "$RUN/src/kernel" \( -name '*.o' -o -name '*.ko' -o -name '*.mod' -o -name '*.mod.c' \
    -o -name '.*.cmd' -o -name modules.order -o -name Module.symvers \) -delete
  log "building the driver against $HDRS"
  if ! make -C "$HDRS" M="$RUN/src/kernel" modules >"$RUN/build.log" 2>&1; then
    sed 's/^/# build: /' "$RUN/build.log" | tail -n 40
    die "the driver does not build (make -C $HDRS M=<copy of kernel/> modules)"
  fi
  grep -E 'warning:' "$RUN/build.log" | sed 's/^/# build warning: /' || true
  KO=$RUN/src/kernel/ddloop.ko
  [[ -f $KO ]] || die "the build made no ddloop.ko"
  for dep in $(modinfo_field depends "$KO" | tr ',' ' '); do add_module "$dep"; done
  log "ddloop.ko: vermagic $(modinfo_field vermagic "$KO"), depends '$(modinfo_field depends "$KO")'"
fi
flock -u 9
log "modules loaded in the guest: ${AS_MODULE[*]}; built in: ${BUILTIN[*]:-none needed}"

# ---------------------------------------------------- 2. host-side data ----
DATA=$RUN/root/data
mkdir -p "$DATA" "$RUN/img" "$RUN/files"
cd "$RUN/img"
text_file() {  # text_file BYTES WORD: compressible text (yes dies of SIGPIPE)
  { yes "block delta snapshot volume $2 replica chunk" || true; } | head -c "$1"
}
dbg() {  # dbg IMAGE COMMAND...: debugfs -w, one command per argument
  local img=$1; shift
  printf '%s\n' "$@" >"$RUN/dbg.cmd"
  debugfs -w -f "$RUN/dbg.cmd" "$img" >"$RUN/dbg.out" 2>&1
  # debugfs exits 0 whatever happens; its errors are "command: message".
  local errors
  errors=$(grep -E '^[a-z_]+: ' "$RUN/dbg.out" | grep -v '^debugfs' || true)
  [[ -z $errors ]] || die "debugfs on $img: $errors"
}
SIZE=$((16 << 20))
mkdir -p src/sub
for i in 1 2 3 4; do text_file 200000 "$i" >src/doc$i.txt; done
text_file 50000 notes >src/sub/notes.txt
head -c $((2 << 20)) /dev/urandom >src/big.bin
head -c 262144 /dev/urandom >src/sub/rand.bin
truncate -s $SIZE snap0.img
mkfs.ext4 -q -F -E lazy_itable_init=0,lazy_journal_init=0 -d src snap0.img
# 1: a file created (and one in a subdirectory)
cp snap0.img snap1.img
text_file 300000 new >f1 && head -c 100000 /dev/urandom >f2
dbg snap1.img "write f1 created.txt" "cd sub" "write f2 new.bin"
# 2: a file appended (rewritten), one deleted
cp snap1.img snap2.img
cat src/doc1.txt >f3 && text_file 50000 more >>f3
dbg snap2.img "rm doc1.txt" "write f3 doc1.txt" "rm sub/notes.txt"
# 3: the middle of the large file overwritten, a new 1 MiB file, one deleted
cp snap2.img snap3.img
cp src/big.bin f4 && head -c 600000 /dev/urandom | dd of=f4 bs=4096 seek=100 conv=notrunc status=none
head -c $((1 << 20)) /dev/urandom >f5
dbg snap3.img "rm big.bin" "write f4 big.bin" "write f5 fresh.bin" "rm doc3.txt"
for k in 0 1 2 3; do
  e2fsck -fn snap$k.img >"$RUN/fsck.out" 2>&1 || die "snapshot $k is not a clean ext4: $(tail -n 3 "$RUN/fsck.out")"
done

"$DDLOOP" create -q snap0.img -o "$DATA/d0.delta"
for k in 1 2 3; do
  "$DDLOOP" create -q --base snap$((k - 1)).img snap$k.img -o "$DATA/d$k.delta"
done
# The damaged d3: 8 bytes inverted at 2/5 of the file.
cp "$DATA/d3.delta" "$DATA/d3bad.delta"
dsize=$(stat -c %s "$DATA/d3bad.delta")
at=$((dsize * 2 / 5))
for i in 0 1 2 3 4 5 6 7; do
  b=$(od -An -tu1 -j $((at + i)) -N 1 "$DATA/d3bad.delta" | tr -d ' ')
  # shellcheck disable=SC2059  # the format is the one octal escape
  printf "\\$(printf %03o $((255 - b)))" |
    dd of="$DATA/d3bad.delta" bs=1 seek=$((at + i)) conv=notrunc status=none
done
flip_byte() {  # flip_byte FILE OFFSET: the byte at OFFSET inverted, in place
  local b
  b=$(od -An -tu1 -j "$2" -N 1 "$1" | tr -d ' ')
  # shellcheck disable=SC2059  # the format is the one octal escape
  printf "\\$(printf %03o $((255 - b)))" | dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}
# For ioctl_probe (the driver's own checks, without userspace's in front):
# d1 with one byte flipped in its index (the footer's le64 index_offset at
# file size - 128 + 8 says where it starts), d1 without its last 100 bytes,
# and 64 KiB that are no deltafile at all.
cp "$DATA/d1.delta" "$DATA/d1idx.delta"
d1size=$(stat -c %s "$DATA/d1idx.delta")
index_offset=$(od -An -tu8 -j $((d1size - 128 + 8)) -N 8 "$DATA/d1idx.delta" | tr -d ' ')
((index_offset > 512 && index_offset + 4096 + 128 <= d1size)) ||
  die "d1's footer gives index_offset $index_offset, not inside a file of $d1size bytes"
flip_byte "$DATA/d1idx.delta" $((index_offset + 24 + 8))  # entry 0's length
head -c $((d1size - 100)) "$DATA/d1.delta" >"$DATA/d1trunc.delta"
head -c 65536 /dev/urandom >"$DATA/notdelta.bin"
for f in d1idx d1trunc; do
  if "$DDLOOP" verify "$DATA/$f.delta" >/dev/null 2>&1; then
    die "ddloop verify accepts $f.delta: the probe's check of it would test nothing"
  fi
done
"$DDLOOP" verify "$DATA/d3.delta" >/dev/null 2>&1 || die "ddloop verify rejects the good d3"
if "$DDLOOP" verify "$DATA/d3bad.delta" >/dev/null 2>&1; then
  die "ddloop verify accepts d3 with bytes flipped at $at of $dsize: the damage test would test nothing"
fi
# The chain of issue 12: x1 rewrites 256 KiB (one record), x2 then changes
# three separate 4 KiB blocks strictly inside it: merged, one extent becomes
# seven (3 new records, 4 pieces of the old one).
head -c $((1 << 20)) /dev/urandom >x0.img
cp x0.img x1.img
head -c 262144 /dev/urandom | dd of=x1.img bs=4096 seek=64 conv=notrunc status=none
cp x1.img x2.img
for b in 68 100 120; do head -c 4096 /dev/urandom | dd of=x2.img bs=4096 seek=$b conv=notrunc status=none; done
"$DDLOOP" create -q --base x0.img x1.img -o "$DATA/x1.delta"
"$DDLOOP" create -q --base x1.img x2.img -o "$DATA/x2.delta"
cp x0.img x2.img "$DATA/"
{
  echo "SIZE=$SIZE"
  echo "BLOCKS=$((SIZE / 4096))"
  echo "X_SIZE=$(stat -c %s x0.img)"
  echo "X1_SHA=$(sha256sum <x1.img | cut -d' ' -f1)"
  echo "X2_SHA=$(sha256sum <x2.img | cut -d' ' -f1)"
  for k in 0 1 2 3; do echo "SNAP${k}_SHA=$(sha256sum <snap$k.img | cut -d' ' -f1)"; done
  for i in 0 1 2 3; do
    echo "PART${i}_SHA=$(dd if=snap3.img bs=65536 skip=$((i * SIZE / 4 / 65536)) count=$((SIZE / 4 / 65536)) status=none | sha256sum | cut -d' ' -f1)"
  done
} >"$DATA/expected.env"
for k in 0 1 2 3; do
  rm -rf "$RUN/files/$k" && mkdir -p "$RUN/files/$k"
  debugfs -R "rdump / $RUN/files/$k" snap$k.img >/dev/null 2>&1
  (cd "$RUN/files/$k" && find . -type f | LC_ALL=C sort | xargs sha256sum) >"$DATA/manifest$k"
done
cp snap0.img snap3.img "$DATA/"
log "data: 4 snapshots of $((SIZE >> 20)) MiB; deltas d0..d3 $(for k in 0 1 2 3; do printf '%s ' "$(stat -c %s "$DATA/d$k.delta")"; done)bytes; d3bad flipped at $at of $dsize"

# -------------------------------------------------------- the initramfs ----
ROOT=$RUN/root
mkdir -p "$ROOT"/{bin,sbin,usr/bin,usr/sbin,usr/local/bin,lib/modules,proc,sys,dev,tmp,run,mnt,root}
# busybox-static's /bin/busybox: no libraries needed before /init runs.
! ldd /bin/busybox >/dev/null 2>&1 || die "/bin/busybox is not static (install busybox-static)"
cp /bin/busybox "$ROOT/bin/busybox"
ln -s busybox "$ROOT/bin/sh"
install -m 755 "$HERE/guest-init.sh" "$ROOT/init"
install -m 755 "$HERE/guest-tests.sh" "$ROOT/guest-tests.sh"
objcopy --strip-debug "$DDLOOP" "$ROOT/usr/local/bin/ddloop"
cp "$(command -v date)" "$ROOT/usr/local/bin/gdate"
cp "$(command -v dd)" "$ROOT/usr/local/bin/gdd"
copy_libs() {  # copy_libs BINARY: its shared libraries and loader, same paths
  local lib
  for lib in $(ldd "$1" | grep -oE '/[^ ]+'); do
    [[ -e $ROOT$lib ]] && continue
    mkdir -p "$ROOT$(dirname "$lib")"
    cp -L "$lib" "$ROOT$lib"
  done
}
for b in "$DDLOOP" "$(command -v date)" "$(command -v dd)"; do copy_libs "$b"; done
: >"$ROOT/lib/modules/boot-order"
for m in "${MODS[@]}"; do
  cp "$KC/$m" "$ROOT/lib/modules/"
  basename "$m" >>"$ROOT/lib/modules/boot-order"
done
if [[ -n $KO ]]; then
  cp "$KO" "$ROOT/lib/modules/ddloop.ko"
  # The driver's ioctls probed directly (static: no libraries in the guest).
  if ! gcc -static -O2 -Wall -Wextra -I "$REPO" -o "$ROOT/usr/local/bin/ioctl_probe" \
    "$HERE/ioctl_probe.c" >"$RUN/probe-build.log" 2>&1; then
    sed 's/^/# build: /' "$RUN/probe-build.log" | tail -n 20
    die "tests/kernel/ioctl_probe.c does not build (gcc -static)"
  fi
  grep -E 'warning:' "$RUN/probe-build.log" | sed 's/^/# probe build warning: /' || true
  if ! gcc -static -O2 -Wall -Wextra -pthread -I "$REPO" -o "$ROOT/usr/local/bin/ioctl_race" \
    "$HERE/ioctl_race.c" >"$RUN/race-build.log" 2>&1; then
    sed 's/^/# build: /' "$RUN/race-build.log" | tail -n 20
    die "tests/kernel/ioctl_race.c does not build (gcc -static -pthread)"
  fi
  grep -E 'warning:' "$RUN/race-build.log" | sed 's/^/# race build warning: /' || true
fi
(cd "$ROOT" && find . | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) | gzip -1 >"$RUN/initramfs.cpio.gz"
log "initramfs $(($(stat -c %s "$RUN/initramfs.cpio.gz") >> 20)) MiB ($(du -sm "$ROOT" | cut -f1) MiB unpacked); setup took $(($(date +%s) - T_START)) s"

# ------------------------------------------------------------- 4. boot ----
SERIAL=$RUN/serial.log
log "booting QEMU (TCG, timeout ${TIMEOUT} s)"
WATCHDOG=$((TIMEOUT > 120 ? TIMEOUT - 60 : TIMEOUT * 3 / 4))
B_START=$(date +%s)
timeout -k 10 "$TIMEOUT" qemu-system-x86_64 -accel tcg -cpu max -smp 2 -m 1024 -nic none \
  -display none -monitor none -serial "file:$SERIAL" -no-reboot \
  -kernel "$KC/boot/vmlinuz-$ABI" -initrd "$RUN/initramfs.cpio.gz" \
  -append "console=ttyS0 panic=-1 quiet loglevel=4 ddltest_watchdog=$WATCHDOG" \
  </dev/null >"$RUN/qemu.out" 2>&1 &
QPID=$!
qrc=0
wait "$QPID" || qrc=$?
QPID=
BOOT_S=$(($(date +%s) - B_START))
tr -d '\r' <"$SERIAL" >"$RUN/serial.txt" 2>/dev/null || : >"$RUN/serial.txt"
grep -E '^(ok |FAIL|BENCH|# )' "$RUN/serial.txt" || true
result=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$RUN/serial.txt" | tail -n 1 || true)
log "QEMU ran $BOOT_S s (exit $qrc$( ((qrc == 124)) && echo ': timed out'))"
if [[ -z $result ]]; then
  echo "# no result line from the guest (panic, hang or timeout); last lines of the serial log:"
  tail -n 60 "$RUN/serial.txt" | sed 's/^/# serial: /'
  sed 's/^/# qemu: /' "$RUN/qemu.out"
  echo "FAIL the guest printed no 'N passed, N failed' line"
  echo "0 passed, 1 failed"
  exit 1
fi

if ((BENCH)); then
  bench=$(grep -E '^BENCH' "$RUN/serial.txt" | tail -n 1 || true)
  if [[ -z $bench ]]; then
    log "--bench: the guest printed no BENCH line (no driver?): nothing appended"
  elif [[ $result != *" 0 failed" ]]; then
    log "--bench: checks failed, the BENCH line is not appended"
  else
    cpu=$(grep -m 1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')
    mem=$(awk '/MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)
    {
      echo
      echo "## Kernel driver in QEMU $(date -u +%Y-%m-%dT%H:%M:%SZ) — read throughput against loop"
      echo
      echo "- Date: \`$(date -u)\`"
      echo "- Command: \`$CMDLINE\`"
      echo "- Host: $(nproc) CPUs ($cpu), $mem RAM, Linux $(uname -r); guest: Linux $ABI ($VER) under \`qemu-system-x86_64 -accel tcg -cpu max -smp 2 -m 1024\`, QEMU $(qemu-system-x86_64 --version | head -n 1 | awk '{ print $4 }')"
      echo "- What: the whole 16 MiB device read with \`dd bs=1M iflag=direct\` through /dev/ddloopN (base + d1..d3, files in the guest's RAM) and through a loop device over the fully applied image (also in RAM); median of 5 after one cold read"
      echo "- Result: \`$bench\`"
      echo "- TCG makes absolute speed meaningless; ratio only."
    } >>"$RESULTS"
    log "appended the BENCH line to $RESULTS"
  fi
fi

echo "$result"
passed=${result%% passed*}
failed=${result#*passed, }
failed=${failed%% failed*}
((failed == 0 && passed > 0))
