/* fopen for writing outside the working folder. */
#include <stdio.h>
int main(void) {
  const char *paths[] = {"/etc/hostname", "/usr/lib/evil.so", "@MARKER@"};
  for (int i = 0; i < 3; i++) {
    FILE *f = fopen(paths[i], "w");
    if (f) { fputs("pwned", f); fclose(f); printf("ESCAPED: %s\n", paths[i]); }
    else printf("CONTAINED %s\n", paths[i]);
  }
  return 0;
}
