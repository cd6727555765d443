/* uvcrawl --version (version.h). Runtime versions where a library can say (a distribution may
 * update it under the binary); gumbo has no such call, so its build-time version is shown. */
#include "version.h"

#include <curl/curl.h>
#include <libxml/parser.h> /* xmlParserVersion */
#include <openssl/crypto.h>
#include <stdlib.h>
#include <uv.h>
#include <zlib.h>

#include "uvcrawl.h"

#ifndef UVCRAWL_GUMBO_VERSION
#define UVCRAWL_GUMBO_VERSION "unknown"
#endif

/* Feature bits of libcurls older than 7.87, which has no feature_names. */
static void print_feature_bits(FILE *out, int features) {
  static const struct {
    int bit;
    const char *name;
  } bits[] = {{CURL_VERSION_ASYNCHDNS, "AsynchDNS"}, {CURL_VERSION_HTTP2, "HTTP2"},
              {CURL_VERSION_IPV6, "IPv6"},           {CURL_VERSION_LARGEFILE, "Largefile"},
              {CURL_VERSION_LIBZ, "libz"},           {CURL_VERSION_SSL, "SSL"},
              {CURL_VERSION_BROTLI, "brotli"},       {CURL_VERSION_ZSTD, "zstd"},
              {CURL_VERSION_IDN, "IDN"},             {CURL_VERSION_PSL, "PSL"},
              {CURL_VERSION_HTTPS_PROXY, "HTTPS-proxy"},
              {CURL_VERSION_UNIX_SOCKETS, "UnixSockets"}};
  for (size_t i = 0; i < sizeof(bits) / sizeof(bits[0]); i++)
    if (features & bits[i].bit) fprintf(out, " %s", bits[i].name);
}

void cli_print_version(FILE *out) {
  curl_version_info_data *c = curl_version_info(CURLVERSION_NOW);
  fprintf(out, "uvcrawl %s\n", uvcrawl_version());
  fprintf(out, "libcurl %s", c->version);
  if (c->ssl_version) fprintf(out, " %s", c->ssl_version);
  if (c->libz_version) fprintf(out, " zlib/%s", c->libz_version);
  if (c->age >= CURLVERSION_FOURTH && c->libidn) fprintf(out, " libidn2/%s", c->libidn);
  if (c->age >= CURLVERSION_SIXTH && c->nghttp2_version)
    fprintf(out, " nghttp2/%s", c->nghttp2_version);
  if (c->age >= CURLVERSION_FIFTH && c->brotli_version)
    fprintf(out, " brotli/%s", c->brotli_version);
#if LIBCURL_VERSION_NUM >= 0x074800
  if (c->age >= CURLVERSION_NINTH && c->zstd_ver_num) /* 7.72 */
    fprintf(out, " zstd/%u.%u.%u", c->zstd_ver_num / 10000, c->zstd_ver_num / 100 % 100,
            c->zstd_ver_num % 100); /* ZSTD_versionNumber(): decimal digits */
#endif
  fputs("\n  Protocols:", out);
  for (const char *const *p = c->protocols; p && *p; p++) fprintf(out, " %s", *p);
  fputs("\n  Features:", out);
#if LIBCURL_VERSION_NUM >= 0x075700
  if (c->age >= CURLVERSION_ELEVENTH && c->feature_names != NULL)
    for (const char *const *f = c->feature_names; *f; f++) fprintf(out, " %s", *f);
  else
#endif
    print_feature_bits(out, c->features);
  fputc('\n', out);
  fprintf(out, "libuv %s\n", uv_version_string());
  fprintf(out, "gumbo %s (built with; gumbo cannot tell at run time)\n", UVCRAWL_GUMBO_VERSION);
  fprintf(out, "%s\n", OpenSSL_version(OPENSSL_VERSION));
  fprintf(out, "zlib %s\n", zlibVersion());
  long x = strtol(xmlParserVersion, NULL, 10); /* "20914" */
  fprintf(out, "libxml2 %ld.%ld.%ld\n", x / 10000, x / 100 % 100, x % 100);
}
