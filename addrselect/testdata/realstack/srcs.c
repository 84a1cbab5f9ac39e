/* srcs prints, for each address argument, the source address the kernel
 * picks for it (a UDP socket of the address's family, connected, then
 * getsockname), or "-" when the connect fails: the destination is
 * unusable. Written for the addrselect real-stack tests. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		struct sockaddr_storage dst, src;
		socklen_t dlen, slen = sizeof src;
		char text[INET6_ADDRSTRLEN];
		const void *a;
		int fd;

		memset(&dst, 0, sizeof dst);
		struct sockaddr_in *d4 = (struct sockaddr_in *)&dst;
		struct sockaddr_in6 *d6 = (struct sockaddr_in6 *)&dst;
		if (inet_pton(AF_INET, argv[i], &d4->sin_addr) == 1) {
			d4->sin_family = AF_INET;
			d4->sin_port = htons(9);
			dlen = sizeof *d4;
		} else if (inet_pton(AF_INET6, argv[i], &d6->sin6_addr) == 1) {
			d6->sin6_family = AF_INET6;
			d6->sin6_port = htons(9);
			dlen = sizeof *d6;
		} else {
			fprintf(stderr, "srcs: bad address %s\n", argv[i]);
			return 2;
		}
		fd = socket(dst.ss_family, SOCK_DGRAM, 0);
		if (fd < 0) {
			perror("socket");
			return 1;
		}
		if (connect(fd, (struct sockaddr *)&dst, dlen) != 0 ||
		    getsockname(fd, (struct sockaddr *)&src, &slen) != 0) {
			printf("-\n");
			close(fd);
			continue;
		}
		close(fd);
		if (src.ss_family == AF_INET)
			a = &((struct sockaddr_in *)&src)->sin_addr;
		else
			a = &((struct sockaddr_in6 *)&src)->sin6_addr;
		if (inet_ntop(src.ss_family, a, text, sizeof text) == NULL) {
			perror("inet_ntop");
			return 1;
		}
		printf("%s\n", text);
	}
	return 0;
}
