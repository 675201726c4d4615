/* replay_main.c: runs a libFuzzer target over every file of a corpus
 * directory without libFuzzer, so gcc and sanitizer builds replay the seed
 * corpus and every kept crasher as a regression test. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int replay_file(const char *path) {
  FILE *f = fopen(path, "rb");
  if (f == NULL) {
    fprintf(stderr, "cannot open %s\n", path);
    return 0;
  }
  uint8_t *buf = NULL;
  size_t len = 0;
  size_t cap = 0;
  for (;;) {
    if (len == cap) {
      size_t ncap = cap == 0 ? 4096 : cap * 2;
      uint8_t *nbuf = realloc(buf, ncap);
      if (nbuf == NULL) {
        free(buf);
        fclose(f);
        return 0;
      }
      buf = nbuf;
      cap = ncap;
    }
    size_t n = fread(buf + len, 1, cap - len, f);
    if (n == 0) {
      break;
    }
    len += n;
  }
  fclose(f);
  /* Copy into an exact-size allocation so ASan sees over-reads. */
  uint8_t *exact = malloc(len == 0 ? 1 : len);
  if (exact == NULL) {
    free(buf);
    return 0;
  }
  if (len > 0) {
    memcpy(exact, buf, len);
  }
  free(buf);
  LLVMFuzzerTestOneInput(exact, len);
  free(exact);
  return 1;
}

int main(int argc, char **argv) {
  int count = 0;
  for (int i = 1; i < argc; i++) {
    DIR *d = opendir(argv[i]);
    if (d == NULL) {
      if (!replay_file(argv[i])) {
        return 1;
      }
      count++;
      continue;
    }
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
      if (e->d_name[0] == '.') {
        continue;
      }
      char path[4096];
      int n = snprintf(path, sizeof(path), "%s/%s", argv[i], e->d_name);
      if (n < 0 || (size_t)n >= sizeof(path)) {
        continue;
      }
      struct stat st;
      if (stat(path, &st) != 0 || !S_ISREG(st.st_mode)) {
        continue;
      }
      if (!replay_file(path)) {
        closedir(d);
        return 1;
      }
      count++;
    }
    closedir(d);
  }
  printf("replayed %d inputs\n", count);
  return 0;
}
