/* Write to /tmp until the file size limit. */
#include <stdio.h>
#include <string.h>
int main(void) {
  static char buf[1 << 20];
  memset(buf, 7, sizeof buf);
  FILE *f = fopen("/tmp/big", "wb");
  for (;;) fwrite(buf, 1, sizeof buf, f);
}
