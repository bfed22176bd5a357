/* A child that ignores SIGHUP and SIGTERM and outlives its parent. */
#include <signal.h>
#include <stdio.h>
#include <unistd.h>
int main(void) {
  if (fork() == 0) {
    signal(SIGHUP, SIG_IGN);
    signal(SIGTERM, SIG_IGN);
    setsid();
    execlp("sleep", "sleep", "@SLEEP@", (char *)0);
  }
  puts("CONTAINED");
  return 0;
}
