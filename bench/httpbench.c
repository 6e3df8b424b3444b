/*
 * httpbench — a bounded load client for `releve serve`: N keep-alive
 * connections (one thread each) send GET requests on a fixed schedule
 * (open loop: --rate requests per second in all, for --seconds), and the
 * latency of each request is counted from its scheduled time, so a slow
 * server cannot hide its queueing (no coordinated omission).  Prints the
 * achieved rate, p50/p99/max latency, the errors (non-2xx answers and
 * connection failures) and, with --pid, the server's resident memory
 * before, at its largest during the run (sampled every second) and after
 * (/proc/PID/status).  With --customers N each request names one of N
 * customers (?customer=PREFIXk, k from 1 to N in turn: an admin token's
 * way), so that the load spreads over the month's data.
 *
 *   httpbench --port PORT [--host 127.0.0.1] [--path /v1/usage]
 *             [--token TOKEN] [--connections 16] [--rate 1000]
 *             [--seconds 30] [--pid PID] [--customers N
 *             [--customer-prefix B-]] [--max-p99 MS]
 *
 * Exit 0 when every request got a 2xx (and p99 is within --max-p99),
 * 1 otherwise, 2 on a usage error.
 * Standalone (no releve objects): built by `make benchtools`.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_REQUESTS 20000000L

struct opts {
	const char *host, *path, *token, *prefix;
	int port, conns;
	long rate, seconds, customers;
};

struct worker {
	const struct opts *o;
	int index;
	double t0;	   /* common start (monotonic seconds) */
	double *lat;	   /* seconds, one per request done */
	long n, cap;
	long errors, non2xx, reconnects;
	char request[2048];
	size_t reqlen;
	volatile int done;
};

/* The request of the worker's i-th turn into w->request. */
static void build_request(struct worker *w, long i)
{
	const struct opts *o = w->o;
	char cust[96] = "";

	if (o->customers) {
		long k = (i * o->conns + w->index) % o->customers + 1;

		snprintf(cust, sizeof(cust), "%scustomer=%s%ld",
			 strchr(o->path, '?') ? "&" : "?", o->prefix, k);
	}
	w->reqlen = (size_t)snprintf(
		w->request, sizeof(w->request),
		"GET %s%s HTTP/1.1\r\nHost: %s\r\n%s%s%s\r\n", o->path, cust,
		o->host, o->token ? "Authorization: Bearer " : "",
		o->token ? o->token : "", o->token ? "\r\n" : "");
}

static double now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void sleep_until(double t)
{
	double d = t - now_s();

	if (d > 0) {
		struct timespec ts = { (time_t)d,
				       (long)((d - (double)(time_t)d) * 1e9) };

		nanosleep(&ts, NULL);
	}
}

static int dial(const struct opts *o)
{
	struct sockaddr_in a;
	struct timeval tv = { 10, 0 };
	int one = 1, fd = socket(AF_INET, SOCK_STREAM, 0);

	if (fd < 0) {
		return -1;
	}
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = htons((uint16_t)o->port);
	if (inet_pton(AF_INET, o->host, &a.sin_addr) != 1 ||
	    connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
		close(fd);
		return -1;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	return fd;
}

/* One request and its answer on fd: the status, or -1 (fd unusable). */
static int exchange(int fd, const struct worker *w, char *buf, size_t cap)
{
	size_t len = 0, off = 0, need;
	char *end;
	long clen = -1;
	int status;

	while (off < w->reqlen) {
		ssize_t n = send(fd, w->request + off, w->reqlen - off,
				 MSG_NOSIGNAL);

		if (n <= 0) {
			return -1;
		}
		off += (size_t)n;
	}
	for (;;) {
		ssize_t n = recv(fd, buf + len, cap - len - 1, 0);

		if (n <= 0) {
			return -1;
		}
		len += (size_t)n;
		buf[len] = '\0';
		end = strstr(buf, "\r\n\r\n");
		if (end) {
			break;
		}
		if (len + 1 >= cap) {
			return -1;
		}
	}
	if (sscanf(buf, "HTTP/1.%*d %d", &status) != 1) {
		return -1;
	}
	for (char *p = buf; p < end; p = strstr(p, "\r\n") + 2) {
		if (!strncasecmp(p, "Content-Length:", 15)) {
			clen = strtol(p + 15, NULL, 10);
			break;
		}
	}
	if (clen < 0) {
		return -1;
	}
	need = (size_t)(end + 4 - buf) + (size_t)clen;
	while (len < need) {
		char sink[65536];
		ssize_t n = recv(fd, sink, sizeof(sink), 0);

		if (n <= 0) {
			return -1;
		}
		len += (size_t)n;
	}
	return status;
}

static void *run(void *arg)
{
	struct worker *w = arg;
	const struct opts *o = w->o;
	double period = (double)o->conns / (double)o->rate;
	double end = w->t0 + (double)o->seconds;
	size_t cap = 1 << 20;
	char *buf = malloc(cap);
	int fd = -1;

	for (long i = 0;; i++) {
		double at = w->t0 + period * ((double)i +
					      (double)w->index / o->conns);
		int st;

		if (at >= end || w->n >= w->cap) {
			break;
		}
		if (o->customers || i == 0) {
			build_request(w, i);
		}
		sleep_until(at);
		if (fd < 0) {
			fd = dial(o);
			w->reconnects++;
		}
		st = fd < 0 ? -1 : exchange(fd, w, buf, cap);
		if (st < 0) {
			w->errors++;
			if (fd >= 0) {
				close(fd);
			}
			fd = -1;
			continue;
		}
		if (st < 200 || st > 299) {
			w->non2xx++;
		}
		w->lat[w->n++] = now_s() - at;
	}
	if (fd >= 0) {
		close(fd);
	}
	free(buf);
	w->done = 1;
	return NULL;
}

static long rss_kib(long pid)
{
	char path[64], line[256];
	long kib = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%ld/status", pid);
	f = fopen(path, "r");
	if (!f) {
		return -1;
	}
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, "VmRSS:", 6)) {
			kib = strtol(line + 6, NULL, 10);
		}
	}
	fclose(f);
	return kib;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static long num(const char *opt, const char *s, long lo, long hi)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (!*s || *end || errno || v < lo || v > hi) {
		fprintf(stderr, "httpbench: %s: '%s' is not from %ld to %ld\n",
			opt, s, lo, hi);
		exit(2);
	}
	return v;
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "host", required_argument, NULL, 'H' },
		{ "port", required_argument, NULL, 'p' },
		{ "path", required_argument, NULL, 'P' },
		{ "token", required_argument, NULL, 't' },
		{ "connections", required_argument, NULL, 'c' },
		{ "rate", required_argument, NULL, 'r' },
		{ "seconds", required_argument, NULL, 's' },
		{ "pid", required_argument, NULL, 'i' },
		{ "customers", required_argument, NULL, 'n' },
		{ "customer-prefix", required_argument, NULL, 'x' },
		{ "max-p99", required_argument, NULL, 'm' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct opts o = { "127.0.0.1", "/v1/usage", NULL, "B-", 0, 16, 1000, 30,
			  0 };
	long pid = 0, rss0 = -1, rss1, rssmax = -1, total = 0, errors = 0,
	     non2xx = 0, max_p99 = 0;
	double p99 = 0;
	struct worker *w;
	pthread_t *th;
	double *all, t0, elapsed;
	int c;

	while ((c = getopt_long(argc, argv, "H:p:P:t:c:r:s:i:n:x:m:h", lo, NULL)) !=
	       -1) {
		switch (c) {
		case 'H':
			o.host = optarg;
			break;
		case 'p':
			o.port = (int)num("--port", optarg, 1, 65535);
			break;
		case 'P':
			o.path = optarg;
			break;
		case 't':
			o.token = optarg;
			break;
		case 'c':
			o.conns = (int)num("--connections", optarg, 1, 1024);
			break;
		case 'r':
			o.rate = num("--rate", optarg, 1, 1000000);
			break;
		case 's':
			o.seconds = num("--seconds", optarg, 1, 3600);
			break;
		case 'i':
			pid = num("--pid", optarg, 1, 1L << 30);
			break;
		case 'n':
			o.customers = num("--customers", optarg, 1, 100000000);
			break;
		case 'x':
			o.prefix = optarg;
			break;
		case 'm':
			max_p99 = num("--max-p99", optarg, 1, 1000000);
			break;
		case 'h':
			puts("Usage: httpbench --port PORT [--host ADDR] [--path "
			     "PATH] [--token T]\n"
			     "                 [--connections N] [--rate R/s] "
			     "[--seconds S] [--pid PID]\n"
			     "                 [--customers N [--customer-prefix "
			     "P]] [--max-p99 MS]");
			return 0;
		default:
			return 2;
		}
	}
	if (!o.port || strlen(o.path) > 1024 || strlen(o.prefix) > 64 ||
	    (o.token && strlen(o.token) > 512)) {
		fprintf(stderr, "httpbench: --port is required\n");
		return 2;
	}
	if (o.rate * o.seconds > MAX_REQUESTS) {
		fprintf(stderr, "httpbench: more than %ld requests asked\n",
			MAX_REQUESTS);
		return 2;
	}
	if (pid) {
		rss0 = rss_kib(pid);
	}
	w = calloc((size_t)o.conns, sizeof(*w));
	th = calloc((size_t)o.conns, sizeof(*th));
	t0 = now_s() + 0.1;
	for (int i = 0; i < o.conns; i++) {
		w[i].o = &o;
		w[i].index = i;
		w[i].t0 = t0;
		w[i].cap = o.rate * o.seconds / o.conns + 2;
		w[i].lat = malloc((size_t)w[i].cap * sizeof(double));
		pthread_create(&th[i], NULL, run, &w[i]);
	}
	/* The server's memory, every second while the load runs. */
	for (int busy = 1; pid && busy;) {
		long k;

		sleep_until(now_s() + 1.0);
		k = rss_kib(pid);
		if (k > rssmax) {
			rssmax = k;
		}
		busy = 0;
		for (int i = 0; i < o.conns; i++) {
			busy |= !w[i].done;
		}
	}
	for (int i = 0; i < o.conns; i++) {
		pthread_join(th[i], NULL);
		total += w[i].n;
		errors += w[i].errors;
		non2xx += w[i].non2xx;
	}
	elapsed = now_s() - t0;
	all = malloc((size_t)(total ? total : 1) * sizeof(double));
	total = 0;
	for (int i = 0; i < o.conns; i++) {
		memcpy(all + total, w[i].lat, (size_t)w[i].n * sizeof(double));
		total += w[i].n;
		free(w[i].lat);
	}
	qsort(all, (size_t)total, sizeof(double), cmp_double);
	printf("httpbench: %ld requests in %.1f s over %d connections:"
	       " %.0f req/s (target %ld)\n",
	       total, elapsed, o.conns, (double)total / elapsed, o.rate);
	if (total) {
		p99 = all[(long)((double)total * 0.99)] * 1e3;
		printf("latency from schedule: p50 %.2f ms, p99 %.2f ms,"
		       " max %.2f ms\n",
		       all[total / 2] * 1e3, p99, all[total - 1] * 1e3);
	}
	printf("errors: %ld non-2xx, %ld connection failures\n", non2xx,
	       errors);
	if (pid) {
		rss1 = rss_kib(pid);
		printf("server RSS: %ld KiB before, %ld KiB at most during the"
		       " run, %ld KiB after\n", rss0, rssmax, rss1);
	}
	if (max_p99 && p99 > (double)max_p99) {
		printf("p99 %.2f ms is over %ld ms\n", p99, max_p99);
	}
	free(all);
	free(w);
	free(th);
	return errors || non2xx || total == 0 ||
			       (max_p99 && p99 > (double)max_p99)
		       ? 1
		       : 0;
}
