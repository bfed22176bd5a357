/* kill(-1) and kill(getppid()) with SIGKILL. */
#include <signal.h>
#include <stdio.h>
#include <unistd.h>
int main(void) {
  kill(getppid(), SIGKILL);
  kill(-1, SIGKILL);
  puts("CONTAINED");
  return 0;
}
