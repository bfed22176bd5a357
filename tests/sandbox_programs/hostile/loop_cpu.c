/* A busy loop the compiler cannot remove. */
int main(void) {
  volatile unsigned long i = 0;
  for (;;) i++;
}
