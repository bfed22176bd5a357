/* putchar forever, to stdout and stderr. */
#include <stdio.h>
int main(void) {
  for (;;) { putchar('x'); fputc('y', stderr); }
}
