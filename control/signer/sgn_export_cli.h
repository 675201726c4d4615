/* sgn_export_cli.h: `vigil-signer export-responder`, the explicit operator
 * command that hands an issuer's delegated OCSP responder (key + cert) to
 * an edge's responder directory. It is a client of the running signer: the
 * signer, not this process, reads the key and writes the files (mode 0600,
 * into a directory owned by the signer's user and not writable by others),
 * and logs the export with the operator's name. */
#ifndef SGN_EXPORT_CLI_H
#define SGN_EXPORT_CLI_H

/* sgn_export_cli asks the signer listening on |socket_path| to export the
 * responder of |issuer_id| into |dest_dir| on behalf of |operator_name|.
 * Prints what happened. Returns the process exit status: 0 done, 1 the
 * signer refused (message printed), 3 the signer is unreachable. */
int sgn_export_cli(const char *socket_path, const char *issuer_id,
                   const char *dest_dir, const char *operator_name);

#endif /* SGN_EXPORT_CLI_H */
