/* file.c: bounded whole-file reads (see vigil/file.h). */
#include "vigil/file.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vigil/alloc.h"

enum vigil_file_err vigil_file_read(uint8_t **out, size_t *out_len,
                                    const char *path, size_t max,
                                    int require_private) {
  *out = NULL;
  *out_len = 0;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return VIGIL_FILE_ERR_IO;
  }
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    close(fd);
    return VIGIL_FILE_ERR_IO;
  }
  if (require_private && ((st.st_mode & 077) != 0 || st.st_uid != geteuid())) {
    close(fd);
    return VIGIL_FILE_ERR_MODE;
  }
  if ((uint64_t)st.st_size > max) {
    close(fd);
    return VIGIL_FILE_ERR_TOO_LARGE;
  }
  size_t len = (size_t)st.st_size;
  uint8_t *buf = vigil_malloc(len + 1);
  if (buf == NULL) {
    close(fd);
    return VIGIL_FILE_ERR_NOMEM;
  }
  size_t got = 0;
  while (got < len) {
    ssize_t n = read(fd, buf + got, len - got);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      break;
    }
    got += (size_t)n;
  }
  close(fd);
  if (got != len) {
    vigil_file_wipe_free(buf, len);
    return VIGIL_FILE_ERR_IO;
  }
  *out = buf;
  *out_len = len;
  return VIGIL_FILE_OK;
}

int vigil_file_write_all(int fd, const void *data, size_t len) {
  const uint8_t *p = data;
  while (len > 0) {
    ssize_t n = write(fd, p, len);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      if (n == 0) {
        errno = EIO;
      }
      return 0;
    }
    p += n;
    len -= (size_t)n;
  }
  return 1;
}

void vigil_file_wipe_free(uint8_t *buf, size_t len) {
  if (buf == NULL) {
    return;
  }
  /* volatile: the compiler must not drop stores to memory about to be
   * freed. */
  volatile uint8_t *p = buf;
  for (size_t i = 0; i < len; i++) {
    p[i] = 0;
  }
  vigil_free(buf);
}
