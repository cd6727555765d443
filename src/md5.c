/* md5 (md5.h) on OpenSSL's EVP, from any thread. Pure. */
#include "md5.h"

#include <errno.h>
#include <pthread.h>

#include <openssl/evp.h>

#if OPENSSL_VERSION_NUMBER >= 0x30000000L
/* OpenSSL 3 looks EVP_md5() up in its provider tables on every init (EVP_MD_fetch: a third of
 * the digest's cost for an 8 KB page): fetched once instead, for every thread. */
static EVP_MD *md5_fetched;
static void md5_fetch(void) { md5_fetched = EVP_MD_fetch(NULL, "MD5", NULL); }
static const EVP_MD *md5_md(void) {
  static pthread_once_t once = PTHREAD_ONCE_INIT;
  pthread_once(&once, md5_fetch);
  return md5_fetched != NULL ? md5_fetched : EVP_md5();
}
#else
static const EVP_MD *md5_md(void) { return EVP_md5(); }
#endif

int uvcrawl__md5_hex(const char *data, size_t len, char hex[33]) {
  unsigned char d[EVP_MAX_MD_SIZE];
  unsigned n = 0;
  static const char digits[] = "0123456789abcdef";
  EVP_MD_CTX *ctx = EVP_MD_CTX_new();
  if (ctx == NULL) return -ENOMEM;
  int ok = EVP_DigestInit_ex(ctx, md5_md(), NULL) && EVP_DigestUpdate(ctx, data, len) &&
           EVP_DigestFinal_ex(ctx, d, &n);
  EVP_MD_CTX_free(ctx);
  if (!ok || n != 16) return -ENOMEM;
  for (unsigned i = 0; i < n; i++) {
    hex[2 * i] = digits[d[i] >> 4];
    hex[2 * i + 1] = digits[d[i] & 15];
  }
  hex[32] = '\0';
  return 0;
}
