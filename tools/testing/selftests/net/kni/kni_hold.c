// SPDX-License-Identifier: GPL-2.0
/*
 * Attach to a queue of a kni device and hold it until told to stop: the
 * dataplane of the shell selftests.
 *
 * usage: kni_hold [-q QUEUE] [-n NETNS] [-c | -t | -x] DEV
 *   -q  the queue (default 0)
 *   -n  attach from inside the network namespace NETNS (a path such as
 *       /run/netns/NAME), then go back to the caller's: the process then
 *       keeps the namespace alive through nothing but the attached queue
 *   -c  close the file once the region is mapped: only the mapping holds it
 *   -t  turn the carrier on and pump traffic both ways (ARP requests for
 *       10.0.0.2 to the stack, the replies back) until the device goes away
 *   -x  exit as soon as the queue is held: a test of the right to attach
 *
 * Prints "attached" once it holds the queue, then runs until SIGTERM or
 * SIGINT, or the device going away (the file reports EPOLLHUP, or with -t
 * a kick -ENODEV), which it reports with "gone"; exits 0, or 1 on an error.
 */

#define _GNU_SOURCE
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "kni_uq.h"

/* Set by the signal handler: read and written with __atomic builtins. */
static sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	__atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
}

/* Enter the network namespace at PATH; the caller's own is left in *OLD. */
static int netns_enter(const char *path, int *old)
{
	int fd;

	*old = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (*old < 0) {
		perror("kni_hold: /proc/self/ns/net");
		return -1;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || setns(fd, CLONE_NEWNET)) {
		fprintf(stderr, "kni_hold: enter %s: %s\n", path,
			strerror(errno));
		return -1;
	}
	close(fd);
	return 0;
}

static int netns_leave(int old)
{
	if (setns(old, CLONE_NEWNET)) {
		perror("kni_hold: leave the namespace");
		return -1;
	}
	close(old);
	return 0;
}

/* Wait for a signal or the device going away; true on the latter. */
static bool wait_gone(struct uqueue *uq)
{
	struct pollfd pfd = { .fd = uq->fd };

	while (!__atomic_load_n(&stop, __ATOMIC_RELAXED)) {
		if (uq->fd < 0) {
			/* -c: nothing to poll; only a signal ends the wait. */
			pause();
			continue;
		}
		/* No events asked for: only EPOLLHUP and EPOLLERR wake us. */
		if (poll(&pfd, 1, -1) > 0 && pfd.revents & (POLLHUP | POLLERR))
			return true;
	}
	return false;
}

int main(int argc, char **argv)
{
	bool close_file = false, traffic = false, probe = false, gone = false;
	struct sigaction sa = { .sa_handler = on_signal };
	const char *netns = NULL;
	struct uqueue uq = {};
	unsigned int queue = 0;
	int opt, err, old = -1;
	struct pump p;

	while ((opt = getopt(argc, argv, "q:n:ctx")) != -1) {
		switch (opt) {
		case 'q':
			queue = strtoul(optarg, NULL, 0);
			break;
		case 'n':
			netns = optarg;
			break;
		case 'c':
			close_file = true;
			break;
		case 't':
			traffic = true;
			break;
		case 'x':
			probe = true;
			break;
		default:
			goto usage;
		}
	}
	if (optind != argc - 1 || close_file + traffic + probe > 1)
		goto usage;

	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	if (netns && netns_enter(netns, &old))
		return 1;
	err = uq_attach(&uq, argv[optind], queue, 0, 0);
	if (err == -EPROTO) {
		fprintf(stderr,
			"kni_hold: %s queue %u: the kernel's slots (%u, %u, %u bytes) are smaller than this program's (%zu, %zu, %zu)\n",
			argv[optind], queue, uq.at.desc_size, uq.at.event_size,
			uq.at.state_size, sizeof(struct kni_desc),
			sizeof(struct kni_event), sizeof(struct kni_state));
		return 1;
	}
	if (err) {
		fprintf(stderr, "kni_hold: attach %s queue %u: %s\n",
			argv[optind], queue, strerror(-err));
		return 1;
	}
	if (netns && netns_leave(old))
		return 1;
	if (close_file) {
		close(uq.fd);
		uq.fd = -1;
	}
	if (traffic) {
		if (ioctl(uq.fd, KNI_IOC_CARRIER, 1)) {
			perror("kni_hold: carrier");
			return 1;
		}
		pump_init(&p, &uq);
	}
	printf("attached\n");
	fflush(stdout);
	if (probe) {
		uq_close(&uq);
		return 0;
	}

	while (traffic && !__atomic_load_n(&stop, __ATOMIC_RELAXED)) {
		err = pump_round(&p);
		if (err == -ENODEV) {
			gone = true;
			break;
		}
		if (err) {
			fprintf(stderr, "kni_hold: kick: %s\n", strerror(-err));
			return 1;
		}
		usleep(1000);
	}
	if (!traffic)
		gone = wait_gone(&uq);
	if (traffic)
		printf("sent %lu received %lu\n", p.sent, p.received);
	if (gone)
		printf("gone\n");
	uq_close(&uq);
	return 0;

usage:
	fprintf(stderr, "usage: kni_hold [-q QUEUE] [-n NETNS] [-c | -t | -x] DEV\n");
	return 1;
}
