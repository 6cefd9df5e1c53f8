#ifndef ADRNORM_CSHIMS_H
#define ADRNORM_CSHIMS_H
// One function per OpenSSL macro or inline helper that Swift cannot import
// (macros that expand to SSL_CTX_ctrl calls, OR-ed option bits, and the
// type-safe stack macros). Nothing else lives here.
#include <stdint.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

int adrn_SSL_CTX_set_min_proto_version(SSL_CTX *ctx, int version);
int adrn_SSL_CTX_set_max_proto_version(SSL_CTX *ctx, int version);
uint64_t adrn_SSL_CTX_set_options(SSL_CTX *ctx, uint64_t options);
long adrn_SSL_CTX_set_mode(SSL_CTX *ctx, long mode);
long adrn_SSL_set_tlsext_host_name(SSL *ssl, const char *name);
long adrn_SSL_CTX_set_session_cache_mode(SSL_CTX *ctx, long mode);
// The key-exchange groups offered, as an OpenSSL list ("X25519:P-256:P-384").
int adrn_SSL_CTX_set1_groups_list(SSL_CTX *ctx, const char *groups);

// Option and mode bits whose macros Swift cannot evaluate.
uint64_t adrn_SSL_OP_NO_RENEGOTIATION(void);
uint64_t adrn_SSL_OP_NO_COMPRESSION(void);
uint64_t adrn_SSL_OP_CIPHER_SERVER_PREFERENCE(void);
long adrn_SSL_MODE_ENABLE_PARTIAL_WRITE(void);
long adrn_SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER(void);
long adrn_SSL_MODE_RELEASE_BUFFERS(void);

// STACK_OF(GENERAL_NAME) accessors (inline/macro in OpenSSL 3).
int adrn_sk_GENERAL_NAME_num(const GENERAL_NAMES *names);
const GENERAL_NAME *adrn_sk_GENERAL_NAME_value(const GENERAL_NAMES *names, int i);
void adrn_GENERAL_NAMES_free(GENERAL_NAMES *names);

#endif
