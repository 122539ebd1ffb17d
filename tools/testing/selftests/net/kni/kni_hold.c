// SPDX-License-Identifier: GPL-2.0
/*
 * Attach to a queue of a kni device and hold it until told to stop: the
 * dataplane of the shell selftests.
 *
 * usage: kni_hold [-q QUEUE] [-c | -t] DEV
 *   -q  the queue (default 0)
 *   -c  close the file once the region is mapped: only the mapping holds it
 *   -t  turn the carrier on and pump traffic both ways (ARP requests for
 *       10.0.0.2 to the stack, the replies back) until the device goes away
 *
 * Prints "attached" once it holds the queue, then runs until SIGTERM or
 * SIGINT (or, with -t, the device going away); exits 0, or 1 on an error.
 */

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "kni_uq.h"

static volatile sig_atomic_t stop;

static void on_signal(int sig __attribute__((unused)))
{
	stop = 1;
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_signal };
	bool close_file = false, traffic = false;
	struct uqueue uq = {};
	unsigned int queue = 0;
	struct pump p;
	int opt, err;

	while ((opt = getopt(argc, argv, "q:ct")) != -1) {
		switch (opt) {
		case 'q':
			queue = strtoul(optarg, NULL, 0);
			break;
		case 'c':
			close_file = true;
			break;
		case 't':
			traffic = true;
			break;
		default:
			goto usage;
		}
	}
	if (optind != argc - 1 || (close_file && traffic))
		goto usage;

	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	err = uq_attach(&uq, argv[optind], queue, 0, 0);
	if (err) {
		fprintf(stderr, "kni_hold: attach %s queue %u: %s\n",
			argv[optind], queue, strerror(-err));
		return 1;
	}
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

	while (!stop) {
		if (!traffic) {
			pause();
			continue;
		}
		err = pump_round(&p);
		if (err == -ENODEV)
			break;
		if (err) {
			fprintf(stderr, "kni_hold: kick: %s\n", strerror(-err));
			return 1;
		}
		usleep(1000);
	}
	if (traffic)
		printf("sent %lu received %lu\n", p.sent, p.received);
	uq_close(&uq);
	return 0;

usage:
	fprintf(stderr, "usage: kni_hold [-q QUEUE] [-c | -t] DEV\n");
	return 1;
}
