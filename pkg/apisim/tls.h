#ifndef CS_PKG_APISIM_TLS_H
#define CS_PKG_APISIM_TLS_H
/*
 * Throw-away PKI for `apisim --tls`: a self-signed CA and a serving certificate for
 * 127.0.0.1 / localhost signed by it (ECDSA P-256, valid one day), all as PEM strings.
 * Ownership: the caller cs_frees the returned strings. Thread context: any (OpenSSL 3).
 */
#include <stddef.h>

#include "pkg/util/buf.h"

int cs_apisim_tls_generate(char **ca_pem, char **cert_pem, char **key_pem, char *err,
                           size_t errlen);
/* Append standard base64 of data (no line breaks). */
void cs_apisim_tls_base64(const char *data, size_t len, struct cs_buf *out);

#endif
