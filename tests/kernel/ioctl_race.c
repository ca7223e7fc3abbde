/*
 * ioctl_race.c - DDLOOP_CTL_REMOVE and DDLOOP_CTL_STATUS racing
 * DDLOOP_CTL_ADD on /dev/ddloop-control (kernel/ddloop_uapi.h).
 *
 * One thread adds a device (base + one delta) and removes it again, over
 * and over; three others call STATUS and REMOVE on every index a device
 * can plausibly get (0..7) as fast as they can. A device must be visible
 * to them only once it is complete: STATUS either fails with ENODEV or
 * reports the device's real size; REMOVE either fails with ENODEV/EBUSY or
 * removes a complete device. A driver that publishes a device before its
 * disk exists dereferences NULL or freed memory here (an oops in dmesg,
 * then a hung ioctl that the guest's watchdog reports).
 *
 * Built on the host (gcc -static -pthread) by test-kernel-qemu.sh, run in
 * the guest by guest-tests.sh with the driver loaded and no device
 * attached:
 *
 *   ioctl_race BASE DELTA SIZE ITERATIONS
 *
 * Prints "ok ..." or "FAIL ..." lines (counted by guest-tests.sh) and "#"
 * notes. Exit status 0 when no check failed, 1 otherwise, 2 on a usage
 * error.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "kernel/ddloop_uapi.h"

#define RACERS 3
#define MAX_GUESS 8

static int ctl = -1, base_fd = -1, delta_fd = -1;
static uint64_t size;
static atomic_int stop;
static atomic_long adds, status_hits, racer_removes, bad;
static char first_bad[256];
static pthread_mutex_t bad_lock = PTHREAD_MUTEX_INITIALIZER;

static void record_bad(const char *fmt, long a, long b)
{
	pthread_mutex_lock(&bad_lock);
	if (!bad)
		snprintf(first_bad, sizeof(first_bad), fmt, a, b);
	bad++;
	pthread_mutex_unlock(&bad_lock);
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

static void *adder(void *arg)
{
	long iterations = (long)arg;
	int32_t fds[1] = { delta_fd };

	for (long i = 0; i < iterations && !bad; i++) {
		struct ddloop_add a;
		int err;

		memset(&a, 0, sizeof(a));
		a.base_fd = base_fd;
		a.ndeltas = 1;
		a.delta_fds = (uint64_t)(uintptr_t)fds;
		if (ioctl(ctl, DDLOOP_CTL_ADD, &a) < 0) {
			record_bad("ADD %ld failed: errno %ld", i, errno);
			break;
		}
		adds++;
		err = do_remove(a.index); /* a racer may have removed it first */
		if (err && err != ENODEV && err != EBUSY)
			record_bad("REMOVE of the new ddloop%ld: errno %ld", a.index, err);
	}
	stop = 1;
	return NULL;
}

static void *racer(void *arg)
{
	(void)arg;
	while (!stop) {
		for (int id = 0; id < MAX_GUESS; id++) {
			struct ddloop_status st;
			int err = do_status(id, &st);

			if (!err) {
				status_hits++;
				if (st.index != id || st.size != size || st.ndeltas != 1)
					record_bad("STATUS %ld reported a half-made device (size %ld)", id, (long)st.size);
			} else if (err != ENODEV) {
				record_bad("STATUS %ld: errno %ld", id, err);
			}
			err = do_remove(id);
			if (!err)
				racer_removes++;
			else if (err != ENODEV && err != EBUSY)
				record_bad("REMOVE %ld: errno %ld", id, err);
		}
	}
	return NULL;
}

static int sys_devices(void)
{
	DIR *d = opendir("/sys/block");
	struct dirent *e;
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)))
		n += !strncmp(e->d_name, "ddloop", 6);
	closedir(d);
	return n;
}

int main(int argc, char **argv)
{
	pthread_t add_thread, race_threads[RACERS];
	long iterations;
	int failed = 0, left;

	if (argc != 5) {
		fprintf(stderr, "usage: ioctl_race BASE DELTA SIZE ITERATIONS\n");
		return 2;
	}
	size = strtoull(argv[3], NULL, 10);
	iterations = strtol(argv[4], NULL, 10);
	ctl = open("/dev/ddloop-control", O_RDWR | O_CLOEXEC);
	base_fd = open(argv[1], O_RDONLY | O_CLOEXEC);
	delta_fd = open(argv[2], O_RDONLY | O_CLOEXEC);
	if (ctl < 0 || base_fd < 0 || delta_fd < 0 || iterations <= 0) {
		printf("FAIL race: cannot open /dev/ddloop-control, %s or %s: %s\n", argv[1], argv[2],
		       strerror(errno));
		return 1;
	}
	for (int i = 0; i < RACERS; i++)
		pthread_create(&race_threads[i], NULL, racer, NULL);
	pthread_create(&add_thread, NULL, adder, (void *)iterations);
	pthread_join(add_thread, NULL);
	for (int i = 0; i < RACERS; i++)
		pthread_join(race_threads[i], NULL);

	if (bad) {
		printf("FAIL race: %ld unexpected results, the first: %s\n", (long)bad, first_bad);
		failed = 1;
	} else if (adds != iterations) {
		printf("FAIL race: only %ld of %ld ADDs done\n", (long)adds, iterations);
		failed = 1;
	} else {
		printf("ok   race: %ld ADD+REMOVE with %d threads calling STATUS/REMOVE on ids 0..%d: "
		       "%ld STATUS found a complete device, %ld REMOVE by a racer, no unexpected errno\n",
		       (long)adds, RACERS, MAX_GUESS - 1, (long)status_hits, (long)racer_removes);
	}
	for (int id = 0; id < MAX_GUESS; id++)
		do_remove(id);
	left = sys_devices();
	if (left != 0) {
		printf("FAIL race: %d /sys/block/ddloop* left after the race\n", left);
		failed = 1;
	} else {
		printf("ok   race: no /sys/block/ddloop* left\n");
	}
	return failed;
}
