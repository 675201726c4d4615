/* ctl_selftest.h: hidden `vigil-control selftest ...` commands.
 *
 * They exercise ctl_db and ctl_audit against a real Postgres for
 * tests/integration/ctl_migrate.sh. They need libpq, so they cannot be
 * cmocka unit tests (those link BoringSSL, which must never meet libpq in
 * one process: DESIGN.md section 1). They write test rows, so they refuse
 * to run unless VIGIL_CONTROL_SELFTEST=1 is set.
 *
 *   selftest db                 error mapping, parameters, transactions,
 *                               reconnect, backoff, pool
 *   selftest audit N THREADS    append N transactions' worth of events from
 *                               each of THREADS threads at once */
#ifndef VIGIL_CTL_SELFTEST_H
#define VIGIL_CTL_SELFTEST_H

#include <stddef.h>

#include "ctl_db.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ctl_selftest_main runs the selftest named by |args| (|num_args| of them)
 * with connections made from |opts|. Prints one "ok - ..." or
 * "not ok - ..." line per check on stdout. Returns the process exit
 * status: 0 all passed, 1 a check failed, 2 usage, 3 database unavailable. */
int ctl_selftest_main(const struct ctl_db_options *opts, size_t num_args,
                      const char **args);

#ifdef __cplusplus
}
#endif

#endif /* VIGIL_CTL_SELFTEST_H */
