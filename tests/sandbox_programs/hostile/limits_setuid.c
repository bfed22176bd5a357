/* setuid(0), setgid(0) and raising RLIMIT_NPROC. */
#include <stdio.h>
#include <sys/resource.h>
#include <unistd.h>
int main(void) {
  if (setuid(0) == 0) puts("ESCAPED: setuid"); else puts("CONTAINED setuid");
  if (setgid(0) == 0) puts("ESCAPED: setgid"); else puts("CONTAINED setgid");
  struct rlimit r = {RLIM_INFINITY, RLIM_INFINITY};
  if (setrlimit(RLIMIT_FSIZE, &r) == 0) puts("ESCAPED: rlimit"); else puts("CONTAINED rlimit");
  return 0;
}
