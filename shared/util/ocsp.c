/* ocsp.c: names of OCSP/CRL enumerations (see vigil/ocsp.h). */
#include "vigil/ocsp.h"

#include <string.h>

struct reason_name {
  enum vigil_reason reason;
  const char *name;
};

static const struct reason_name kReasons[] = {
  { VIGIL_REASON_UNSPECIFIED, "unspecified" },
  { VIGIL_REASON_KEY_COMPROMISE, "keyCompromise" },
  { VIGIL_REASON_CA_COMPROMISE, "cACompromise" },
  { VIGIL_REASON_AFFILIATION_CHANGED, "affiliationChanged" },
  { VIGIL_REASON_SUPERSEDED, "superseded" },
  { VIGIL_REASON_CESSATION_OF_OPERATION, "cessationOfOperation" },
  { VIGIL_REASON_CERTIFICATE_HOLD, "certificateHold" },
  { VIGIL_REASON_REMOVE_FROM_CRL, "removeFromCRL" },
  { VIGIL_REASON_PRIVILEGE_WITHDRAWN, "privilegeWithdrawn" },
  { VIGIL_REASON_AA_COMPROMISE, "aACompromise" },
};

const char *vigil_reason_name(enum vigil_reason reason) {
  for (size_t i = 0; i < sizeof(kReasons) / sizeof(kReasons[0]); i++) {
    if (kReasons[i].reason == reason) {
      return kReasons[i].name;
    }
  }
  return NULL;
}

int vigil_reason_from_name(enum vigil_reason *out, const char *name,
                           size_t name_len) {
  for (size_t i = 0; i < sizeof(kReasons) / sizeof(kReasons[0]); i++) {
    const char *n = kReasons[i].name;
    if (strlen(n) == name_len && memcmp(n, name, name_len) == 0) {
      *out = kReasons[i].reason;
      return 1;
    }
  }
  return 0;
}

int vigil_reason_allowed_by_br(enum vigil_reason reason, int for_ca_cert) {
  switch (reason) {
    case VIGIL_REASON_NONE:
    case VIGIL_REASON_KEY_COMPROMISE:
    case VIGIL_REASON_AFFILIATION_CHANGED:
    case VIGIL_REASON_SUPERSEDED:
    case VIGIL_REASON_CESSATION_OF_OPERATION:
    case VIGIL_REASON_PRIVILEGE_WITHDRAWN:
      return 1;
    case VIGIL_REASON_CA_COMPROMISE:
      return for_ca_cert != 0;
    default:
      return 0;
  }
}

const char *vigil_ocsp_status_name(enum vigil_ocsp_status status) {
  switch (status) {
    case VIGIL_OCSP_SUCCESSFUL:
      return "successful";
    case VIGIL_OCSP_MALFORMED_REQUEST:
      return "malformedRequest";
    case VIGIL_OCSP_INTERNAL_ERROR:
      return "internalError";
    case VIGIL_OCSP_TRY_LATER:
      return "tryLater";
    case VIGIL_OCSP_SIG_REQUIRED:
      return "sigRequired";
    case VIGIL_OCSP_UNAUTHORIZED:
      return "unauthorized";
  }
  return NULL;
}
