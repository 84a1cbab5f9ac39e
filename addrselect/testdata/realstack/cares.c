/* cares prints, one a line, the distinct addresses ares_getaddrinfo
 * returns for the name given as the only argument, looking only in the
 * hosts file, in the order c-ares returns them. Written for the
 * addrselect real-stack tests (gcc, -lcares). */
#include <arpa/inet.h>
#include <ares.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/select.h>
#include <sys/socket.h>

static int status = -1;

static void done(void *arg, int st, int timeouts, struct ares_addrinfo *res)
{
	struct ares_addrinfo_node *n;
	char text[INET6_ADDRSTRLEN];

	(void)arg;
	(void)timeouts;
	status = st;
	if (st != ARES_SUCCESS) {
		fprintf(stderr, "ares_getaddrinfo: %s\n", ares_strerror(st));
		return;
	}
	for (n = res->nodes; n != NULL; n = n->ai_next) {
		const void *a;
		if (n->ai_family == AF_INET)
			a = &((const struct sockaddr_in *)n->ai_addr)->sin_addr;
		else if (n->ai_family == AF_INET6)
			a = &((const struct sockaddr_in6 *)n->ai_addr)->sin6_addr;
		else
			continue;
		if (inet_ntop(n->ai_family, a, text, sizeof text) != NULL)
			printf("%s\n", text);
	}
	ares_freeaddrinfo(res);
}

int main(int argc, char **argv)
{
	ares_channel ch;
	struct ares_options opts;
	struct ares_addrinfo_hints hints;
	char lookups[] = "f";
	int err;

	if (argc != 2) {
		fprintf(stderr, "usage: cares NAME\n");
		return 2;
	}
	if ((err = ares_library_init(ARES_LIB_INIT_ALL)) != ARES_SUCCESS) {
		fprintf(stderr, "ares_library_init: %s\n", ares_strerror(err));
		return 1;
	}
	memset(&opts, 0, sizeof opts);
	opts.lookups = lookups;
	if ((err = ares_init_options(&ch, &opts, ARES_OPT_LOOKUPS)) != ARES_SUCCESS) {
		fprintf(stderr, "ares_init_options: %s\n", ares_strerror(err));
		return 1;
	}
	memset(&hints, 0, sizeof hints);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	ares_getaddrinfo(ch, argv[1], NULL, &hints, done, NULL);
	for (;;) {
		fd_set rd, wr;
		struct timeval tv, *tvp;
		int nfds;

		FD_ZERO(&rd);
		FD_ZERO(&wr);
		nfds = ares_fds(ch, &rd, &wr);
		if (nfds == 0)
			break;
		tvp = ares_timeout(ch, NULL, &tv);
		select(nfds, &rd, &wr, NULL, tvp);
		ares_process(ch, &rd, &wr);
	}
	ares_destroy(ch);
	ares_library_cleanup();
	return status == ARES_SUCCESS ? 0 : 1;
}
