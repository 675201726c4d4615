/* fuzz_sgnproto.c: libFuzzer target for the signer wire codec
 * (vigil/sgnproto.h).
 *
 * The input is one frame. It is copied into a heap block of exactly its
 * size so ASan catches any read past it. Checked invariants:
 *   - vigil_sgn_frame_len agrees with the decoder about the frame length;
 *   - decoding under a smaller bound only turns OK into TOO_LARGE;
 *   - a failed decode leaves no field view behind;
 *   - on success: iterating yields exactly num_fields fields covering
 *     fields_len bytes; every getter stays inside the frame; entry records
 *     iterate without failure; and re-encoding the message with the writer
 *     (reserve/commit for one field, put for the rest) gives back the input
 *     byte for byte, which then decodes again. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <vigil/sgnproto.h>

#define CHECK(x) \
  do {           \
    if (!(x)) {  \
      abort();   \
    }            \
  } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_ok(const uint8_t *frame, size_t size,
                     const struct vigil_sgn_msg *m) {
  struct vigil_sgn_iter it;
  struct vigil_sgn_field f;
  size_t n = 0;
  size_t bytes = 0;
  vigil_sgn_iter_init(&it, m);
  while (vigil_sgn_iter_next(&it, &f)) {
    CHECK(f.value >= frame && f.value + f.len <= frame + size);
    CHECK(f.tag >= 1 && f.tag <= VIGIL_SGN_TAG_MAX);
    n++;
    bytes += VIGIL_SGN_FIELD_OVERHEAD + f.len;
  }
  CHECK(n == m->num_fields);
  CHECK(bytes == m->fields_len);
  CHECK(VIGIL_SGN_HEADER_LEN + bytes == size);

  /* Getters on every tag. */
  for (uint16_t tag = 0; tag <= VIGIL_SGN_TAG_MAX + 1; tag++) {
    uint8_t u8;
    uint32_t u32;
    int64_t i64;
    char text[16];
    (void)vigil_sgn_get_u8(m, &u8, tag);
    (void)vigil_sgn_get_u32(m, &u32, tag);
    (void)vigil_sgn_get_i64(m, &i64, tag);
    if (vigil_sgn_get_text(m, text, sizeof(text), tag)) {
      CHECK(strlen(text) < sizeof(text));
    }
    CHECK(vigil_sgn_count(m, tag) <= m->num_fields);
  }

  /* Entries decode as the decoder promised. */
  struct vigil_sgn_entry_iter ei;
  struct vigil_sgn_entry e;
  size_t ne = 0;
  vigil_sgn_entries_init(&ei, m);
  while (vigil_sgn_entries_next(&ei, &e)) {
    CHECK(e.serial_len >= 1 && e.serial_len <= VIGIL_SGN_MAX_SERIAL);
    CHECK(e.serial >= frame && e.serial + e.serial_len <= frame + size);
    CHECK(e.status <= 1);
    CHECK(e.reason >= -1 && e.reason <= 10 && e.reason != 7);
    if (e.status == 0) {
      CHECK(e.revoked_at == 0 && e.reason == -1);
    }
    uint8_t rec[VIGIL_SGN_ENTRY_MAX_LEN];
    CHECK(vigil_sgn_entry_encode(rec, sizeof(rec), &e) ==
          VIGIL_SGN_ENTRY_FIXED + e.serial_len);
    ne++;
  }
  CHECK(ne == vigil_sgn_entries_count(m));

  /* Re-encode. */
  uint8_t *out = malloc(size);
  CHECK(out != NULL);
  struct vigil_sgn_writer w;
  vigil_sgn_writer_init(&w, out, size, m->kind, m->op, m->status, m->id);
  vigil_sgn_iter_init(&it, m);
  int first = 1;
  while (vigil_sgn_iter_next(&it, &f)) {
    if (first) {
      uint8_t *p = vigil_sgn_put_reserve(&w, f.tag, f.len);
      CHECK(p != NULL);
      if (f.len > 0) {
        memcpy(p, f.value, f.len);
      }
      CHECK(vigil_sgn_put_commit(&w, f.len));
      first = 0;
    } else {
      CHECK(vigil_sgn_put(&w, f.tag, f.value, f.len));
    }
  }
  size_t len = 0;
  CHECK(vigil_sgn_writer_finish(&w, &len));
  CHECK(len == size);
  CHECK(memcmp(out, frame, size) == 0);
  struct vigil_sgn_msg again;
  CHECK(vigil_sgn_decode(&again, out, len, VIGIL_SGN_MAX_FRAME) ==
        VIGIL_SGN_ERR_OK);
  free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  uint8_t *frame = malloc(size == 0 ? 1 : size);
  CHECK(frame != NULL);
  if (size > 0) {
    memcpy(frame, data, size);
  }
  struct vigil_sgn_msg m;
  enum vigil_sgn_err e = vigil_sgn_decode(&m, frame, size, VIGIL_SGN_MAX_FRAME);
  CHECK(e <= VIGIL_SGN_ERR_TOO_MANY_REPEATS);

  size_t total = 0;
  enum vigil_sgn_err fl =
      vigil_sgn_frame_len(&total, frame, size, VIGIL_SGN_MAX_FRAME);
  if (e == VIGIL_SGN_ERR_OK) {
    CHECK(fl == VIGIL_SGN_ERR_OK && total == size);
    check_ok(frame, size, &m);
    /* A bound below the frame refuses it, nothing else changes. */
    struct vigil_sgn_msg m2;
    CHECK(vigil_sgn_decode(&m2, frame, size, size - 1) ==
          VIGIL_SGN_ERR_TOO_LARGE);
  } else {
    CHECK(m.fields == NULL && m.fields_len == 0 && m.num_fields == 0);
    if (fl == VIGIL_SGN_ERR_OK && total > size) {
      CHECK(e == VIGIL_SGN_ERR_TRUNCATED);
    }
    if (fl == VIGIL_SGN_ERR_OK && total < size) {
      CHECK(e == VIGIL_SGN_ERR_TRAILING);
    }
    if (fl != VIGIL_SGN_ERR_OK) {
      CHECK(e == fl);
    }
  }
  free(frame);
  return 0;
}
