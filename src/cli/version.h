/* uvcrawl --version: the versions of every library in use, as curl -V prints its own. */
#ifndef UVCRAWL_CLI_VERSION_H
#define UVCRAWL_CLI_VERSION_H

#include <stdio.h>

/* Writes uvcrawl's version, libcurl's with its TLS and compression libraries, protocols and
 * features, then libuv, gumbo, OpenSSL's libcrypto, zlib and libxml2, one per line. */
void cli_print_version(FILE *out);

#endif
