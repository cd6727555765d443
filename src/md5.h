/* md5 (md5.c, OpenSSL's EVP): the digest records carry and long mirror names are shortened
 * with. Pure. */
#ifndef UVCRAWL_MD5_H
#define UVCRAWL_MD5_H

#include <stddef.h>

/* Lower-case hex md5 of data into hex (33 bytes). Returns 0 or UV_ENOMEM. */
int uvcrawl__md5_hex(const char *data, size_t len, char hex[33]);

#endif
