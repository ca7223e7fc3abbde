/*
 * ioctl_probe.c - the driver's own checks, driven directly through the
 * ioctls of /dev/ddloop-control (kernel/ddloop_uapi.h).
 *
 * `ddloop attach --kernel` validates a chain before it calls the driver, so
 * the driver's checks (ddloop_load_delta, ddloop_check_chain, the argument
 * checks of DDLOOP_CTL_ADD) and REMOVE/STATUS are never reached through it.
 * This program is built on the host (gcc -static) by test-kernel-qemu.sh
 * and run in the guest by guest-tests.sh with the driver loaded and no
 * device attached:
 *
 *   ioctl_probe DATA-DIR SIZE
 *
 * DATA-DIR holds snap0.img, d0..d2.delta and the damaged copies made on the
 * host (d1idx.delta: a byte flipped in the index; d1trunc.delta: the last
 * 100 bytes cut; notdelta.bin: random bytes); SIZE is the image size.
 * Every check prints "ok   ..." or "FAIL ..." (guest-tests.sh counts them),
 * observations that are not checks print "# ...". Exit status: 0 when no
 * check failed, 1 otherwise, 2 on a usage error.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kernel/ddloop_uapi.h"

static int passed, failed;
static int ctl = -1;
static const char *data;

static void ok(const char *fmt, ...)
{
	va_list ap;

	passed++;
	printf("ok   ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

static void fail(const char *fmt, ...)
{
	va_list ap;

	failed++;
	printf("FAIL ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

static void note(const char *fmt, ...)
{
	va_list ap;

	printf("# ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

/* The ddloopN entries of /sys/block, as a count. */
static int sys_devices(void)
{
	DIR *d = opendir("/sys/block");
	struct dirent *e;
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)))
		if (!strncmp(e->d_name, "ddloop", 6))
			n++;
	closedir(d);
	return n;
}

static int open_data(const char *name, int flags)
{
	char path[4096];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", data, name);
	fd = open(path, flags);
	if (fd < 0) {
		fail("open %s: %s", path, strerror(errno));
		exit(1);
	}
	return fd;
}

static int do_add(struct ddloop_add *a)
{
	return ioctl(ctl, DDLOOP_CTL_ADD, a) < 0 ? errno : 0;
}

static int do_remove(int index)
{
	int32_t i = index;

	return ioctl(ctl, DDLOOP_CTL_REMOVE, &i) < 0 ? errno : 0;
}

static int do_status(int index, struct ddloop_status *st)
{
	memset(st, 0, sizeof(*st));
	st->index = index;
	return ioctl(ctl, DDLOOP_CTL_STATUS, st) < 0 ? errno : 0;
}

static void init_add(struct ddloop_add *a, int base_fd, const int32_t *fds, uint32_t n)
{
	memset(a, 0, sizeof(*a));
	a->base_fd = base_fd;
	a->ndeltas = n;
	a->delta_fds = (uint64_t)(uintptr_t)fds;
}

/*
 * An ADD that must fail with errno want and leave no new /sys/block/ddloop*.
 * A device it wrongly created is removed again.
 */
static void expect_add_fails(const char *what, struct ddloop_add *a, int want)
{
	int before = sys_devices(), err, after;

	a->index = -1;
	err = do_add(a);
	after = sys_devices();
	if (!err) {
		fail("%s: ADD succeeded (ddloop%d), wanted %s", what, a->index, strerrorname_np(want));
		do_remove(a->index);
		return;
	}
	if (err != want) {
		fail("%s: ADD failed with %s, wanted %s", what, strerrorname_np(err), strerrorname_np(want));
		return;
	}
	if (after != before)
		fail("%s: ADD failed with %s but /sys/block has %d ddloop entries, was %d", what,
		     strerrorname_np(err), after, before);
	else
		ok("%s: ADD fails with %s, no device created", what, strerrorname_np(err));
}

/* An ADD that is not a check: what the driver does, as a note. */
static void observe_add(const char *what, struct ddloop_add *a)
{
	int err;

	a->index = -1;
	err = do_add(a);
	if (err) {
		note("%s: ADD fails with %s", what, strerrorname_np(err));
		return;
	}
	note("%s: ADD succeeds (ddloop%d)", what, a->index);
	err = do_remove(a->index);
	if (err)
		fail("%s: REMOVE of the device it made fails with %s", what, strerrorname_np(err));
}

int main(int argc, char **argv)
{
	int snap0, d0, d1, d2, d1idx, d1trunc, notdelta, small, shortbase, longbase, wronly;
	char path[64], tmp[4096];
	struct ddloop_status st;
	struct ddloop_add a;
	int32_t fds[DDLOOP_MAX_DELTAS + 1];
	unsigned long long size;
	int err, index, dev, i, n;

	if (argc != 3) {
		fprintf(stderr, "usage: %s DATA-DIR SIZE\n", argv[0]);
		return 2;
	}
	data = argv[1];
	size = strtoull(argv[2], NULL, 0);

	ctl = open("/dev/ddloop-control", O_RDWR | O_CLOEXEC);
	if (ctl < 0) {
		fail("open /dev/ddloop-control: %s", strerror(errno));
		return 1;
	}
	n = sys_devices();
	if (n != 0)
		note("%d ddloop devices exist before the probe", n);

	snap0 = open_data("snap0.img", O_RDONLY);
	d0 = open_data("d0.delta", O_RDONLY);
	d1 = open_data("d1.delta", O_RDONLY);
	d2 = open_data("d2.delta", O_RDONLY);
	d1idx = open_data("d1idx.delta", O_RDONLY);
	d1trunc = open_data("d1trunc.delta", O_RDONLY);
	notdelta = open_data("notdelta.bin", O_RDONLY);
	small = open_data("expected.env", O_RDONLY);
	/* Bases of the wrong size: sparse files in the guest's /tmp. */
	shortbase = open("/tmp/probe-short.img", O_RDWR | O_CREAT | O_TRUNC, 0600);
	longbase = open("/tmp/probe-long.img", O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (shortbase < 0 || longbase < 0 || ftruncate(shortbase, size - 4096) ||
	    ftruncate(longbase, size + 4096)) {
		fail("making the bases of the wrong size in /tmp: %s", strerror(errno));
		return 1;
	}
	wronly = open("/tmp/probe-short.img", O_WRONLY);
	if (wronly < 0) {
		fail("open /tmp/probe-short.img O_WRONLY: %s", strerror(errno));
		return 1;
	}

	/* 1. a broken chain: d2 then d1 over snapshot 0 */
	fds[0] = d2, fds[1] = d1;
	init_add(&a, snap0, fds, 2);
	expect_add_fails("broken chain snap0 + d2 d1", &a, EINVAL);
	fds[0] = d1, fds[1] = d1;
	init_add(&a, snap0, fds, 2);
	expect_add_fails("d1 twice: snap0 + d1 d1", &a, EINVAL);

	/* 2. seed and base */
	fds[0] = d0;
	init_add(&a, snap0, fds, 1);
	expect_add_fails("seed d0 with a base", &a, EINVAL);
	fds[0] = d1;
	init_add(&a, -1, fds, 1);
	expect_add_fails("d1 without a base", &a, EINVAL);
	fds[0] = d1, fds[1] = d0;
	init_add(&a, snap0, fds, 2);
	expect_add_fails("seed d0 after d1: snap0 + d1 d0", &a, EINVAL);

	/* 3. damaged files */
	fds[0] = d1idx;
	init_add(&a, snap0, fds, 1);
	expect_add_fails("d1 with a byte flipped in its index", &a, EINVAL);
	fds[0] = d1trunc;
	init_add(&a, snap0, fds, 1);
	expect_add_fails("d1 truncated by 100 bytes", &a, EINVAL);
	fds[0] = notdelta;
	init_add(&a, snap0, fds, 1);
	expect_add_fails("not a deltafile (random bytes)", &a, EINVAL);
	fds[0] = small;
	init_add(&a, snap0, fds, 1);
	expect_add_fails("not a deltafile (shorter than header + footer)", &a, EINVAL);
	fds[0] = snap0;
	init_add(&a, -1, fds, 1);
	expect_add_fails("not a deltafile (the ext4 image as a delta)", &a, EINVAL);
	fds[0] = d1, fds[1] = d1idx;
	init_add(&a, snap0, fds, 2);
	expect_add_fails("damaged index second in the chain: snap0 + d1 d1idx", &a, EINVAL);
	fds[0] = d1;
	init_add(&a, shortbase, fds, 1);
	expect_add_fails("base 4 KiB shorter than the volume", &a, EINVAL);
	init_add(&a, longbase, fds, 1);
	expect_add_fails("base 4 KiB longer than the volume", &a, EINVAL);

	/* 4. arguments */
	fds[0] = d1;
	init_add(&a, snap0, fds, 0);
	expect_add_fails("ndeltas = 0", &a, EINVAL);
	for (i = 0; i <= DDLOOP_MAX_DELTAS; i++)
		fds[i] = d1;
	init_add(&a, snap0, fds, DDLOOP_MAX_DELTAS + 1);
	expect_add_fails("ndeltas = DDLOOP_MAX_DELTAS + 1", &a, EINVAL);
	init_add(&a, snap0, fds, 0xffffffffu);
	expect_add_fails("ndeltas = 0xffffffff", &a, EINVAL);
	init_add(&a, snap0, fds, 1);
	a.flags = 1;
	expect_add_fails("flags = 1", &a, EINVAL);
	init_add(&a, snap0, fds, 1);
	a.flags = 0x80000000u;
	expect_add_fails("flags = 0x80000000", &a, EINVAL);
	fds[0] = 999;
	init_add(&a, snap0, fds, 1);
	expect_add_fails("delta fd 999 (not open)", &a, EBADF);
	fds[0] = d1, fds[1] = 999;
	init_add(&a, snap0, fds, 2);
	expect_add_fails("second delta fd 999 (not open)", &a, EBADF);
	fds[0] = d1;
	init_add(&a, 999, fds, 1);
	expect_add_fails("base fd 999 (not open)", &a, EBADF);
	init_add(&a, wronly, fds, 1);
	expect_add_fails("base fd open write-only", &a, EBADF);
	init_add(&a, snap0, fds, 1);
	a.delta_fds = 8; /* an unmapped user address */
	expect_add_fails("delta_fds at an unmapped address", &a, EFAULT);
	if (ioctl(ctl, _IO(0xDD, 99), 0) < 0 && errno == ENOTTY)
		ok("an unknown ioctl fails with ENOTTY");
	else
		fail("an unknown ioctl: %s, wanted ENOTTY", strerrorname_np(errno));

	fds[0] = d1;
	init_add(&a, snap0, fds, 1);
	a.reserved[0] = 1;
	expect_add_fails("reserved[0] = 1 (reserved fields must be zero)", &a, EINVAL);
	init_add(&a, -2, fds, 1);
	expect_add_fails("base fd -2 (only -1 means no base)", &a, EBADF);
	/*
	 * Not checks: the driver checks only the base's size; that the base holds
	 * the first delta's base needs XXH3-128 chunk hashes, which the kernel
	 * lacks, so `ddloop attach` checks it before the ioctl (ddloop.c, the
	 * contract at the top). A wrong base of the right size is accepted here.
	 */
	fds[0] = d2;
	init_add(&a, snap0, fds, 1);
	observe_add("gap in the chain: snap0 + d2 (d2's base is snapshot 1)", &a);
	{
		int snap3 = open_data("snap3.img", O_RDONLY);

		init_add(&a, snap3, fds, 1);
		observe_add("d2 over the wrong base snap3.img", &a);
		close(snap3);
	}

	/* 5. a valid device: ADD, STATUS, open, REMOVE while open, REMOVE */
	fds[0] = d1, fds[1] = d2;
	init_add(&a, snap0, fds, 2);
	a.index = -1;
	err = do_add(&a);
	if (err) {
		fail("valid chain snap0 + d1 d2: ADD fails with %s", strerrorname_np(err));
		goto done;
	}
	index = a.index;
	if (index < 0) {
		fail("valid chain snap0 + d1 d2: ADD succeeds but returns index %d", index);
		goto done;
	}
	ok("valid chain snap0 + d1 d2: ADD -> index %d", index);
	snprintf(path, sizeof(path), "/sys/block/ddloop%d", index);
	if (access(path, F_OK) == 0)
		ok("%s exists", path);
	else
		fail("%s does not exist after ADD", path);

	err = do_status(index, &st);
	if (err) {
		fail("STATUS ddloop%d fails with %s", index, strerrorname_np(err));
	} else {
		note("STATUS ddloop%d: index %d ndeltas %u size %llu extents %llu index_bytes %llu cache_bytes %llu io_errors %llu openers %u",
		     index, st.index, st.ndeltas, (unsigned long long)st.size, (unsigned long long)st.extents,
		     (unsigned long long)st.index_bytes, (unsigned long long)st.cache_bytes,
		     (unsigned long long)st.io_errors, st.openers);
		if (st.index == index && st.size == size && st.ndeltas == 2 && st.extents > 0 &&
		    st.index_bytes > 0 && st.io_errors == 0 && st.openers == 0)
			ok("STATUS ddloop%d: size %llu, 2 deltas, %llu extents, %llu index bytes, no I/O errors, no openers",
			   index, (unsigned long long)st.size, (unsigned long long)st.extents,
			   (unsigned long long)st.index_bytes);
		else
			fail("STATUS ddloop%d: wanted index %d size %llu ndeltas 2 extents > 0 index_bytes > 0 io_errors 0 openers 0",
			     index, index, size);
	}

	snprintf(path, sizeof(path), "/dev/ddloop%d", index);
	for (i = 0; i < 50 && access(path, F_OK); i++)
		usleep(100000);
	dev = open(path, O_RDONLY | O_CLOEXEC);
	if (dev < 0) {
		fail("open %s: %s", path, strerror(errno));
	} else {
		long long total = 0;
		ssize_t r;

		while ((r = read(dev, tmp, sizeof(tmp))) > 0)
			total += r;
		if (r == 0 && total == (long long)size)
			ok("%s open, read whole (%lld bytes)", path, total);
		else
			fail("%s: read %lld of %llu bytes (%s)", path, total, size, r < 0 ? strerror(errno) : "EOF");
		err = do_status(index, &st);
		if (!err && st.openers == 1 && st.io_errors == 0 && st.cache_bytes > 0)
			ok("STATUS ddloop%d while open: 1 opener, %llu bytes cached, no I/O errors", index,
			   (unsigned long long)st.cache_bytes);
		else
			fail("STATUS ddloop%d while open: %s, openers %u, cache_bytes %llu, io_errors %llu", index,
			     err ? strerrorname_np(err) : "ok", st.openers, (unsigned long long)st.cache_bytes,
			     (unsigned long long)st.io_errors);
		err = do_remove(index);
		if (err == EBUSY) {
			ok("REMOVE ddloop%d while %s is open fails with EBUSY", index, path);
		} else {
			fail("REMOVE ddloop%d while %s is open: %s, wanted EBUSY", index, path,
			     err ? strerrorname_np(err) : "succeeded");
			if (!err)
				index = -1; /* gone: the checks below would only repeat it */
		}
		if (index >= 0) {
			err = do_status(index, &st);
			if (!err && lseek(dev, 0, SEEK_SET) == 0 && read(dev, tmp, 4096) == 4096)
				ok("after the refused REMOVE ddloop%d still answers STATUS and reads", index);
			else
				fail("after the refused REMOVE ddloop%d: STATUS %s, read %s", index,
				     err ? strerrorname_np(err) : "ok", strerror(errno));
		}
		close(dev);
	}

	if (index >= 0) {
		err = do_remove(index);
		if (err) {
			fail("REMOVE ddloop%d after close fails with %s", index, strerrorname_np(err));
		} else {
			ok("REMOVE ddloop%d after close", index);
			snprintf(path, sizeof(path), "/sys/block/ddloop%d", index);
			if (access(path, F_OK))
				ok("%s is gone", path);
			else
				fail("%s still exists after REMOVE", path);
			err = do_status(index, &st);
			if (err == ENODEV)
				ok("STATUS of the removed ddloop%d fails with ENODEV", index);
			else
				fail("STATUS of the removed ddloop%d: %s, wanted ENODEV", index,
				     err ? strerrorname_np(err) : "succeeded");
			err = do_remove(index);
			if (err == ENODEV)
				ok("REMOVE of the removed ddloop%d again fails with ENODEV", index);
			else
				fail("REMOVE of the removed ddloop%d again: %s, wanted ENODEV", index,
				     err ? strerrorname_np(err) : "succeeded");
		}
	}
	{
		static const int bogus[] = { -1, 4095, 1 << 20, 0x7fffffff };

		for (i = 0; i < (int)(sizeof(bogus) / sizeof(bogus[0])); i++) {
			err = do_remove(bogus[i]);
			if (err == ENODEV)
				ok("REMOVE of nonexistent index %d fails with ENODEV", bogus[i]);
			else
				fail("REMOVE of nonexistent index %d: %s, wanted ENODEV", bogus[i],
				     err ? strerrorname_np(err) : "succeeded");
			err = do_status(bogus[i], &st);
			if (err == ENODEV)
				ok("STATUS of nonexistent index %d fails with ENODEV", bogus[i]);
			else
				fail("STATUS of nonexistent index %d: %s, wanted ENODEV", bogus[i],
				     err ? strerrorname_np(err) : "succeeded");
		}
	}
	/* cache_bytes from userspace is clamped to DDLOOP_CACHE_BYTES_MAX (STATUS cache_max) */
	{
		static const struct {
			uint64_t in, want;
			const char *what;
		} cc[] = {
			{ 0, 16ull << 20, "0 (the module default, cache_mb=16)" },
			{ 1 << 20, 1 << 20, "1 MiB" },
			{ DDLOOP_CACHE_BYTES_MAX, DDLOOP_CACHE_BYTES_MAX, "DDLOOP_CACHE_BYTES_MAX" },
			{ DDLOOP_CACHE_BYTES_MAX + 1, DDLOOP_CACHE_BYTES_MAX, "DDLOOP_CACHE_BYTES_MAX + 1" },
			{ UINT64_MAX, DDLOOP_CACHE_BYTES_MAX, "2^64 - 1" },
		};

		fds[0] = d1, fds[1] = d2;
		for (i = 0; i < (int)(sizeof(cc) / sizeof(cc[0])); i++) {
			init_add(&a, snap0, fds, 2);
			a.cache_bytes = cc[i].in;
			err = do_add(&a);
			if (err) {
				fail("ADD with cache_bytes %s fails with %s", cc[i].what, strerrorname_np(err));
				continue;
			}
			err = do_status(a.index, &st);
			if (!err && st.cache_max == cc[i].want)
				ok("ADD with cache_bytes %s: STATUS cache_max %llu", cc[i].what,
				   (unsigned long long)st.cache_max);
			else
				fail("ADD with cache_bytes %s: STATUS %s, cache_max %llu, wanted %llu", cc[i].what,
				     err ? strerrorname_np(err) : "ok", (unsigned long long)st.cache_max,
				     (unsigned long long)cc[i].want);
			err = do_remove(a.index);
			if (err)
				fail("REMOVE ddloop%d (cache_bytes %s) fails with %s", a.index, cc[i].what,
				     strerrorname_np(err));
		}
	}

done:
	n = sys_devices();
	if (n == 0)
		ok("no ddloop device is left in /sys/block");
	else
		fail("%d ddloop devices are left in /sys/block", n);
	unlink("/tmp/probe-short.img");
	unlink("/tmp/probe-long.img");
	printf("# ioctl_probe: %d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
