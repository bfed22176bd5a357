/* A raw connect() to a public address must fail. */
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>
int main(void) {
  int s = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(80)};
  inet_pton(AF_INET, "1.1.1.1", &a.sin_addr);
  if (connect(s, (struct sockaddr *)&a, sizeof a) == 0) puts("ESCAPED: connected to 1.1.1.1:80");
  else printf("CONTAINED %s\n", strerror(errno));
  close(s);
  return 0;
}
