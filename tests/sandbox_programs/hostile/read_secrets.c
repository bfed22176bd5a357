/* /etc/shadow and the project's files, with open(2). */
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>
int main(void) {
  const char *paths[] = {"/etc/shadow", "@PROJECT_FILE@", "@HOME@/.bashrc"};
  for (int i = 0; i < 3; i++) {
    char buf[16];
    int fd = open(paths[i], O_RDONLY);
    if (fd >= 0 && read(fd, buf, sizeof buf) > 0) printf("ESCAPED: read %s\n", paths[i]);
    else printf("CONTAINED %s\n", paths[i]);
    if (fd >= 0) close(fd);
  }
  return 0;
}
