/* gai prints, one a line, the distinct addresses getaddrinfo returns for
 * the name given as the only argument, in the order getaddrinfo returns
 * them. Written for the addrselect real-stack tests (built with gcc for
 * glibc or musl-gcc for musl). */
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

int main(int argc, char **argv)
{
	struct addrinfo hints, *res, *ai;
	char text[INET6_ADDRSTRLEN];
	int err;

	if (argc != 2) {
		fprintf(stderr, "usage: gai NAME\n");
		return 2;
	}
	memset(&hints, 0, sizeof hints);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM; /* one entry per address */
	err = getaddrinfo(argv[1], NULL, &hints, &res);
	if (err != 0) {
		fprintf(stderr, "getaddrinfo %s: %s\n", argv[1], gai_strerror(err));
		return 1;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		const void *a;
		if (ai->ai_family == AF_INET)
			a = &((const struct sockaddr_in *)ai->ai_addr)->sin_addr;
		else if (ai->ai_family == AF_INET6)
			a = &((const struct sockaddr_in6 *)ai->ai_addr)->sin6_addr;
		else
			continue;
		if (inet_ntop(ai->ai_family, a, text, sizeof text) == NULL) {
			perror("inet_ntop");
			return 1;
		}
		printf("%s\n", text);
	}
	freeaddrinfo(res);
	return 0;
}
