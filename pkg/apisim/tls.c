/*
 * Certificate generation with OpenSSL's EVP and X509 APIs. The CA key signs the serving
 * certificate and is then discarded; only the CA certificate is handed out (for the
 * kubeconfig's certificate-authority-data).
 */
#include "pkg/apisim/tls.h"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <string.h>

#include "pkg/util/alloc.h"

static char *bio_to_str(BIO *b)
{
    char *p = NULL;
    long n = BIO_get_mem_data(b, &p);
    return cs_strndup(p ? p : "", n > 0 ? (size_t)n : 0);
}

static int add_ext(X509 *cert, X509 *issuer, int nid, const char *value)
{
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer, cert, NULL, NULL, 0);
    X509_EXTENSION *ex = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
    if (!ex)
        return -1;
    int ok = X509_add_ext(cert, ex, -1);
    X509_EXTENSION_free(ex);
    return ok ? 0 : -1;
}

static X509 *make_cert(EVP_PKEY *key, EVP_PKEY *signer, X509 *issuer, const char *cn, int is_ca)
{
    X509 *c = X509_new();
    unsigned char serial[16];
    RAND_bytes(serial, sizeof(serial));
    serial[0] &= 0x7f;
    BIGNUM *bn = BN_bin2bn(serial, sizeof(serial), NULL);
    BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(c));
    BN_free(bn);
    X509_set_version(c, 2);
    X509_gmtime_adj(X509_getm_notBefore(c), -3600);
    X509_gmtime_adj(X509_getm_notAfter(c), 86400L * 2);
    X509_set_pubkey(c, key);
    X509_NAME *name = X509_get_subject_name(c);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
    X509_set_issuer_name(c, issuer ? X509_get_subject_name(issuer) : name);
    X509 *iss = issuer ? issuer : c;
    int rc = 0;
    if (is_ca) {
        rc |= add_ext(c, iss, NID_basic_constraints, "critical,CA:TRUE");
        rc |= add_ext(c, iss, NID_key_usage, "critical,keyCertSign,cRLSign,digitalSignature");
        rc |= add_ext(c, iss, NID_subject_key_identifier, "hash");
    } else {
        rc |= add_ext(c, iss, NID_basic_constraints, "critical,CA:FALSE");
        rc |= add_ext(c, iss, NID_key_usage, "critical,digitalSignature,keyEncipherment");
        rc |= add_ext(c, iss, NID_ext_key_usage, "serverAuth");
        rc |= add_ext(c, iss, NID_subject_alt_name, "IP:127.0.0.1,DNS:localhost");
    }
    if (rc || !X509_sign(c, signer, EVP_sha256())) {
        X509_free(c);
        return NULL;
    }
    return c;
}

int cs_apisim_tls_generate(char **ca_pem, char **cert_pem, char **key_pem, char *err,
                           size_t errlen)
{
    int rc = -1;
    EVP_PKEY *ca_key = EVP_EC_gen("P-256");
    EVP_PKEY *key = EVP_EC_gen("P-256");
    X509 *ca = NULL, *cert = NULL;
    BIO *b1 = BIO_new(BIO_s_mem()), *b2 = BIO_new(BIO_s_mem()), *b3 = BIO_new(BIO_s_mem());
    *ca_pem = *cert_pem = *key_pem = NULL;
    if (!ca_key || !key) {
        snprintf(err, errlen, "tls: key generation failed");
        goto done;
    }
    ca = make_cert(ca_key, ca_key, NULL, "apisim-ca", 1);
    cert = ca ? make_cert(key, ca_key, ca, "apisim", 0) : NULL;
    if (!ca || !cert) {
        snprintf(err, errlen, "tls: certificate signing failed");
        goto done;
    }
    if (!PEM_write_bio_X509(b1, ca) || !PEM_write_bio_X509(b2, cert) ||
        !PEM_write_bio_PrivateKey(b3, key, NULL, NULL, 0, NULL, NULL)) {
        snprintf(err, errlen, "tls: PEM encoding failed");
        goto done;
    }
    *ca_pem = bio_to_str(b1);
    *cert_pem = bio_to_str(b2);
    *key_pem = bio_to_str(b3);
    rc = 0;
done:
    BIO_free(b1);
    BIO_free(b2);
    BIO_free(b3);
    X509_free(ca);
    X509_free(cert);
    EVP_PKEY_free(ca_key);
    EVP_PKEY_free(key);
    return rc;
}

void cs_apisim_tls_base64(const char *data, size_t len, struct cs_buf *out)
{
    static const char tbl[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const unsigned char *p = (const unsigned char *)data;
    size_t i = 0;
    for (; i + 2 < len; i += 3) {
        unsigned v = (unsigned)p[i] << 16 | (unsigned)p[i + 1] << 8 | p[i + 2];
        char q[4] = { tbl[v >> 18], tbl[(v >> 12) & 63], tbl[(v >> 6) & 63], tbl[v & 63] };
        cs_buf_append(out, q, 4);
    }
    if (i < len) {
        unsigned v = (unsigned)p[i] << 16 | (i + 1 < len ? (unsigned)p[i + 1] << 8 : 0);
        char q[4] = { tbl[v >> 18], tbl[(v >> 12) & 63],
                      i + 1 < len ? tbl[(v >> 6) & 63] : '=', '=' };
        cs_buf_append(out, q, 4);
    }
}
