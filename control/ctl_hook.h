/* ctl_hook.h: the pure parts of cache-invalidation hooks (issue 5) — what
 * a hook delivery says and where it goes, without I/O.
 *
 * A revocation or a new CRL concerns a few edge URLs and CDN surrogate
 * keys. This module computes them: the OCSP GET URLs of a revoked serial
 * (DESIGN.md section 4: {edge}/ocsp/{tenant}/{url-encoded base64 of the
 * DER OCSPRequest}, and the same without the tenant), the CRL URLs, and the
 * surrogate keys (DESIGN.md section 4, docs/api.md "Hooks"; the edge
 * sends `Surrogate-Key: {ikh} {ikh}:{serial}` on OCSP answers and
 * `Surrogate-Key: crl {issuer_id}` on CRLs):
 *
 *   {ikh}:{serial}   the OCSP answers of one serial (sent by revoke events)
 *   {issuer_id}      an issuer's CRL answers (sent by crl events)
 *   {ikh}            every OCSP answer of an issuer (manual mass purge;
 *                    never sent by an event)
 *
 * ({ikh}: hex SHA-1 issuer key hash, {serial}: lowercase hex without
 * leading zeros, as in the Redis keyspace.)
 *
 * It also checks and expands purge templates: a purge hook's URL holds
 * placeholders that are replaced per purge target, percent-encoded
 * ({name}), or verbatim ({+name}, RFC 6570 reserved expansion, for a
 * template that is the target URL itself, e.g. "{+ocsp_get_url}" with the
 * PURGE method). The multi-valued placeholders (ocsp_get_url, crl_url,
 * surrogate_key) make one request per value; a template may use only one
 * of them (any number of times). Nothing here allocates except
 * ctl_hook_targets_new. */
#ifndef VIGIL_CTL_HOOK_H
#define VIGIL_CTL_HOOK_H

#include <stddef.h>
#include <stdint.h>

#if defined(__GNUC__) || defined(__clang__)
#define CTL_HOOK_MUST_CHECK __attribute__((warn_unused_result))
#else
#define CTL_HOOK_MUST_CHECK
#endif

/* --- Bounds --------------------------------------------------------------- */

/* Longest hook URL or template (bytes), as the schema checks. */
#define CTL_HOOK_URL_MAX 2048
/* Longest expanded purge URL (bytes, without the NUL). */
#define CTL_HOOK_EXPANDED_MAX 4096
/* Most values of one multi-valued placeholder, hence purge requests per
 * delivery. */
#define CTL_HOOK_MAX_TARGETS 8
/* Longest OCSP GET URL, surrogate key or CRL URL (bytes, with the NUL). */
#define CTL_HOOK_VALUE_MAX 512
/* Longest DER OCSPRequest built here (one CertID with a 20-byte serial). */
#define CTL_HOOK_OCSP_REQ_MAX 96

/* --- OCSP GET URLs -------------------------------------------------------- */

/* ctl_hook_ocsp_request_der writes the DER OCSPRequest with one CertID
 * (hashAlgorithm SHA-1 with NULL parameters, as OpenSSL and browsers send
 * it; |name_sha1| and |key_sha1| the issuer's 20-byte hashes; |serial| the
 * INTEGER contents, 1..20 bytes) to |out| (room for |max_out| bytes) and
 * sets |*out_len|. Returns 1, or 0 for a bad serial length or too little
 * room (|out| is then unspecified). */
int ctl_hook_ocsp_request_der(uint8_t *out, size_t *out_len, size_t max_out,
                              const uint8_t name_sha1[20],
                              const uint8_t key_sha1[20], const uint8_t *serial,
                              size_t serial_len) CTL_HOOK_MUST_CHECK;

/* ctl_hook_percent_encode writes |in| to |out| (|out_len| bytes with the
 * NUL) with every byte outside RFC 3986's unreserved set
 * (ALPHA / DIGIT / "-" / "." / "_" / "~") as %XX (upper case). Returns 1, or
 * 0 if it does not fit (|out| then holds ""). */
int ctl_hook_percent_encode(char *out, size_t out_len,
                            const char *in) CTL_HOOK_MUST_CHECK;

/* --- One event's targets -------------------------------------------------- */

/* What one delivery is about, with its URLs and keys (all NUL-terminated,
 * fixed storage). Filled by ctl_hook_event_fill. */
struct ctl_hook_event {
  char tenant[64];    /* tenant name */
  char issuer_id[64]; /* the issuer's keyspace id */
  char serial[44];    /* serial hex (DESIGN.md section 3), "" for crl */
  size_t num_ocsp;    /* OCSP GET URLs (0 without edge URL or serial) */
  char ocsp[2][CTL_HOOK_VALUE_MAX];
  size_t num_crl; /* CRL URLs (0 without edge URL) */
  char crl[2][CTL_HOOK_VALUE_MAX];
  size_t num_keys; /* surrogate keys */
  char keys[2][CTL_HOOK_VALUE_MAX];
};

/* ctl_hook_event_fill fills |out| for an event of tenant |tenant| and
 * issuer |issuer_id|. For a revocation pass the issuer's |name_sha1| and
 * |key_sha1| and the serial's INTEGER contents |serial| (|serial_len|
 * 1..20); for a CRL pass |serial| NULL. |edge_url| is the edge's base URL
 * ("http://host:port", a trailing '/' is ignored; "" or NULL: no URLs).
 * Returns 1, or 0 when a name is too long or malformed, the serial length
 * is out of range or a URL does not fit (|out| is then zeroed). */
int ctl_hook_event_fill(struct ctl_hook_event *out, const char *edge_url,
                        const char *tenant, const char *issuer_id,
                        const uint8_t *name_sha1, const uint8_t *key_sha1,
                        const uint8_t *serial,
                        size_t serial_len) CTL_HOOK_MUST_CHECK;

/* --- Purge templates ------------------------------------------------------ */

/* Why a template was refused. */
enum ctl_hook_tmpl {
  CTL_HOOK_TMPL_OK = 0,
  CTL_HOOK_TMPL_SYNTAX,  /* unbalanced brace or unknown placeholder */
  CTL_HOOK_TMPL_MIXED,   /* two different multi-valued placeholders */
  CTL_HOOK_TMPL_SCHEME,  /* does not start with http:// or https:// (nor
                            with {+ocsp_get_url} or {+crl_url}) */
  CTL_HOOK_TMPL_TOO_LONG /* over CTL_HOOK_URL_MAX, or a control byte or
                            space (reported as too long: not a URL) */
};

/* ctl_hook_template_check checks purge template |tmpl|. Returns
 * CTL_HOOK_TMPL_OK or the reason. */
enum ctl_hook_tmpl ctl_hook_template_check(const char *tmpl);

/* The expanded URLs of one purge delivery. */
struct ctl_hook_targets {
  size_t num;                                                /* URLs */
  char url[CTL_HOOK_MAX_TARGETS][CTL_HOOK_EXPANDED_MAX + 1]; /* each */
};

/* ctl_hook_targets_new allocates an empty target list (about 32 KiB).
 * Returns NULL on allocation failure; free with ctl_hook_targets_free. */
struct ctl_hook_targets *ctl_hook_targets_new(void);
/* ctl_hook_targets_free frees |t| (NULL: nothing). */
void ctl_hook_targets_free(struct ctl_hook_targets *t);

/* ctl_hook_expand expands |tmpl| (checked with ctl_hook_template_check)
 * for |ev| into |out|: one URL per value of the multi-valued placeholder it
 * uses (none: one URL). A template that needs a value the event lacks
 * (e.g. {serial} or {ocsp_get_url} for a CRL, or URLs without an edge URL)
 * gives no URL: out->num 0. Returns 1, or 0 for a bad template or an
 * expansion over CTL_HOOK_EXPANDED_MAX or not starting with http:// or
 * https:// (out->num is then 0). */
int ctl_hook_expand(struct ctl_hook_targets *out, const char *tmpl,
                    const struct ctl_hook_event *ev) CTL_HOOK_MUST_CHECK;

#endif /* VIGIL_CTL_HOOK_H */
