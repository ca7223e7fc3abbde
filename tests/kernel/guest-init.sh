#!/bin/sh
# guest-init.sh - /init of the QEMU test guest built by test-kernel-qemu.sh.
#
# Runs as PID 1 from the initramfs: mounts proc, sys and devtmpfs, installs
# the busybox applets, loads the kernel modules listed in
# /lib/modules/boot-order (dependency order, made on the host), starts a
# watchdog, runs /guest-tests.sh and powers off. Everything it prints goes
# to the serial console, which the host reads back.
#
# Lines for the host: "ok ...", "FAIL ...", "BENCH ...", "# ..." (notes) and
# the closing "N passed, N failed". A boot-time failure (a module that does
# not load) is written to /tmp/boot-failures and counted by guest-tests.sh.

/bin/busybox mkdir -p /proc /sys /dev /tmp /run /mnt /root /bin /sbin /usr/bin /usr/sbin
/bin/busybox --install -s
export PATH=/usr/local/bin:/bin:/sbin:/usr/bin:/usr/sbin HOME=/root
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
exec </dev/console >/dev/console 2>&1
# Only emergencies and alerts on the console, so that kernel messages (I/O
# errors of the corruption test) do not cut into the check lines; the tests
# read everything else with dmesg.
dmesg -n 2

watchdog=540
for word in $(cat /proc/cmdline); do
  case $word in ddltest_watchdog=*) watchdog=${word#*=} ;; esac
done

echo "# guest: Linux $(uname -r), up $(cut -d' ' -f1 /proc/uptime) s at /init"
: >/tmp/boot-failures
if [ -f /lib/modules/boot-order ]; then
  for m in $(cat /lib/modules/boot-order); do
    if ! out=$(insmod "/lib/modules/$m" 2>&1); then
      echo "FAIL insmod $m: $out" | tee -a /tmp/boot-failures
    fi
  done
  echo "# guest: loaded $(wc -l </lib/modules/boot-order) modules: $(tr '\n' ' ' </lib/modules/boot-order)"
fi

# A hung check (a request the driver never completes) must still end the
# run with a report, before the host's timeout kills QEMU.
(
  sleep "$watchdog"
  echo "FAIL watchdog: the guest tests did not finish in $watchdog s"
  ps 2>/dev/null | sed 's/^/# ps: /'
  echo w >/proc/sysrq-trigger 2>/dev/null  # stacks of the blocked tasks, into dmesg
  dmesg | tail -n 60 | sed 's/^/# dmesg: /'
  read -r p f </tmp/counts 2>/dev/null || { p=0; f=0; }
  echo "$p passed, $((f + 1)) failed"
  sync
  poweroff -f
) &

sh /guest-tests.sh
status=$?
if [ ! -e /tmp/tests-done ]; then
  echo "FAIL guest-tests.sh ended early (exit $status)"
  read -r p f </tmp/counts 2>/dev/null || { p=0; f=0; }
  echo "$p passed, $((f + 1)) failed"
fi
sync
poweroff -f
