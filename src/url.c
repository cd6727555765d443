/* URL resolution and normalization on top of libcurl's URL API (curl_url_*).
 *
 * Pure and thread-safe: no state outside the CURLU handle each call creates, so thread-pool
 * workers may call it concurrently. All URL parsing is libcurl's; this file only cleans the
 * reference the way browsers do before handing it over and fixes up the parts curl leaves
 * alone (host case, percent-escape case, fragment). */
#include "url.h"

#include <curl/curl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "uvcrawl.h"

/* CURLUE_UNSUPPORTED_SCHEME is what curl 7.88 reports for mailto:, javascript:, data:, tel:
 * and any scheme it was not built for; everything else it rejects is simply a bad URL. */
static int map_curlu(CURLUcode uc) {
  switch (uc) {
    case CURLUE_OK:
      return 0;
    case CURLUE_OUT_OF_MEMORY:
      return UV_ENOMEM;
    case CURLUE_UNSUPPORTED_SCHEME:
      return UVCRAWL_ESCHEME;
    default:
      return UVCRAWL_EURL;
  }
}

static int is_c0_or_space(unsigned char c) {
  return c <= 0x20;
}

static char ascii_lower(char c) {
  return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

static char ascii_upper(char c) {
  return (c >= 'a' && c <= 'z') ? (char)(c - 'a' + 'A') : c;
}

static const char hex_digits[] = "0123456789ABCDEF";

/* The intersection of WHATWG's percent-encode sets (userinfo, path, query, fragment), minus
 * bytes >= 0x80 which curl encodes. */
static int needs_escape(unsigned char c) {
  return c < 0x20 || c == 0x7f || c == ' ' || c == '"' || c == '<' || c == '>';
}

static int is_hex(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* Cleans a raw reference as the WHATWG URL parser does before parsing: leading and trailing
 * C0 controls and spaces stripped, tab/CR/LF removed anywhere. Also:
 * - cuts the fragment, because curl 7.88 resolves "#x" (and "") against a base as if it were
 *   a path ("/dir/"); the fragment is dropped from the result anyway;
 * - percent-encodes the bytes every WHATWG component encodes (C0 controls, DEL, space, '"',
 *   '<', '>'), so the outcome does not depend on which component they sit in: curl 7.88
 *   rejects control bytes ("Bad path"), leaves '"<>' raw and, with CURLU_URLENCODE, turns a
 *   space in the query into '+', which is not what a browser sends. Bytes >= 0x80 are left
 *   to CURLU_URLENCODE.
 * On success *out is a malloc'd string (possibly empty) the caller frees. Returns 0 or
 * UV_ENOMEM. */
static int clean_ref(const char *ref, char **out) {
  size_t start = 0, end = strlen(ref);
  size_t i, n = 0;
  char *buf;

  while (start < end && is_c0_or_space((unsigned char)ref[start])) start++;
  while (end > start && is_c0_or_space((unsigned char)ref[end - 1])) end--;

  /* Worst case every byte becomes three. */
  if (end - start > (SIZE_MAX - 1) / 3) return UV_ENOMEM;
  buf = malloc((end - start) * 3 + 1);
  if (buf == NULL) return UV_ENOMEM;

  for (i = start; i < end; i++) {
    char c = ref[i];
    if (c == '\t' || c == '\n' || c == '\r') continue;
    if (c == '#') break;
    if (needs_escape((unsigned char)c)) {
      buf[n++] = '%';
      buf[n++] = hex_digits[(unsigned char)c >> 4];
      buf[n++] = hex_digits[(unsigned char)c & 0xf];
      continue;
    }
    buf[n++] = c;
  }
  buf[n] = '\0';
  *out = buf;
  return 0;
}

/* Lower-cases the ASCII letters of a part (scheme, host) in place and writes it back when it
 * changed: curl lower-cases the scheme but keeps the host as written (and decodes "%41" in a
 * host to "A"). Setting the host drops an IPv6 zone id ("[fe80::1%25eth0]"), so that is put
 * back. On success *value is curl memory the caller releases with curl_free(); an absent part
 * (CURLUE_NO_*) maps to UVCRAWL_EURL. */
static int lower_part(CURLU *u, CURLUPart part, char **value) {
  char *s = NULL, *zone = NULL;
  int changed = 0;
  CURLUcode uc;
  size_t i;

  *value = NULL;
  uc = curl_url_get(u, part, &s, 0);
  if (uc != CURLUE_OK) return map_curlu(uc);
  for (i = 0; s[i] != '\0'; i++) {
    char l = ascii_lower(s[i]);
    if (l != s[i]) {
      s[i] = l;
      changed = 1;
    }
  }
  if (changed && part == CURLUPART_HOST) {
    uc = curl_url_get(u, CURLUPART_ZONEID, &zone, 0);
    if (uc == CURLUE_NO_ZONEID) uc = CURLUE_OK;
  }
  if (changed && uc == CURLUE_OK) uc = curl_url_set(u, part, s, 0);
  if (zone != NULL && uc == CURLUE_OK) uc = curl_url_set(u, CURLUPART_ZONEID, zone, 0);
  curl_free(zone);
  if (uc != CURLUE_OK) {
    curl_free(s);
    return map_curlu(uc);
  }
  *value = s;
  return 0;
}

/* Upper-cases the hex digits of percent-escapes in a serialized URL ("%c3" -> "%C3"), in
 * place. RFC 3986 6.2.2.1 makes both spellings equivalent and recommends upper case (browsers
 * send it), but curl 7.88 writes lower case when it encodes and even lower-cases escapes in a
 * part set through curl_url_set(); without this one link spelled two ways would be crawled
 * twice. Done on the final string because handing it back to curl would undo it. */
static void upper_escapes(char *s) {
  size_t i;
  for (i = 0; s[i] != '\0'; i++) {
    if (s[i] == '%' && is_hex(s[i + 1]) && is_hex(s[i + 2])) {
      s[i + 1] = ascii_upper(s[i + 1]);
      s[i + 2] = ascii_upper(s[i + 2]);
      i += 2;
    }
  }
}

/* Parses base (optional) then ref (optional when base is given: an empty ref means the base
 * itself) into one handle and normalizes it in place. On success *out is a curl_url() handle
 * the caller releases with curl_url_cleanup(). Returns 0, UVCRAWL_EURL, UVCRAWL_ESCHEME or
 * UV_ENOMEM. */
static int parse_normalized_with(CURLU *base_u, const char *base, const char *ref,
                                 CURLU **out);

static int parse_normalized(const char *base, const char *ref, CURLU **out) {
  return parse_normalized_with(NULL, base, ref, out);
}

/* The same, with base already parsed into base_u (when not NULL; base then unused): curl's
 * handle is copied instead of the base parsed again, for each of a page's refs. */
static int parse_normalized_with(CURLU *base_u, const char *base, const char *ref,
                                 CURLU **out) {
  /* URLENCODE percent-encodes bytes >= 0x80 in path and query; it leaves existing
   * escapes (and malformed ones like "%zz") alone. */
  const unsigned set_flags = CURLU_URLENCODE;
  char *clean = NULL, *scheme = NULL, *host = NULL;
  CURLU *u = NULL;
  int err;

  *out = NULL;
  if (ref == NULL) return UVCRAWL_EURL;
  err = clean_ref(ref, &clean);
  if (err != 0) return err;

  u = base_u != NULL ? curl_url_dup(base_u) : curl_url();
  if (u == NULL) {
    err = UV_ENOMEM;
    goto fail;
  }
  if (base_u == NULL && base != NULL) {
    err = map_curlu(curl_url_set(u, CURLUPART_URL, base, set_flags));
    if (err != 0) goto fail;
  }
  if (clean[0] != '\0') {
    /* With a URL already in the handle, curl resolves a relative ref against it. */
    err = map_curlu(curl_url_set(u, CURLUPART_URL, clean, set_flags));
    if (err != 0) goto fail;
  } else if (base == NULL && base_u == NULL) {
    err = UVCRAWL_EURL;
    goto fail;
  }

  /* ftp: and file: parse fine in curl (it supports them), so the scheme is checked here. */
  err = lower_part(u, CURLUPART_SCHEME, &scheme);
  if (err != 0) goto fail;
  if (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0) {
    err = UVCRAWL_ESCHEME;
    goto fail;
  }
  err = lower_part(u, CURLUPART_HOST, &host);
  if (err != 0) goto fail;
  if (host[0] == '\0') {
    err = UVCRAWL_EURL;
    goto fail;
  }
  err = map_curlu(curl_url_set(u, CURLUPART_FRAGMENT, NULL, 0));
  if (err != 0) goto fail;

  curl_free(scheme);
  curl_free(host);
  free(clean);
  *out = u;
  return 0;

fail:
  curl_free(scheme);
  curl_free(host);
  curl_url_cleanup(u);
  free(clean);
  return err;
}

/* Copies a curl-allocated string into malloc memory (the caller frees with free()) and
 * releases the curl copy. Returns 0 or UV_ENOMEM. */
static int to_malloc(char *curl_str, char **out) {
  size_t len = strlen(curl_str);
  char *s = malloc(len + 1);
  if (s == NULL) {
    curl_free(curl_str);
    return UV_ENOMEM;
  }
  memcpy(s, curl_str, len + 1);
  curl_free(curl_str);
  *out = s;
  return 0;
}

/* base and ref are borrowed; on success *out is malloc'd and owned by the caller. */
static int resolve_once_with(CURLU *base_u, const char *base, const char *ref,
                             char **out) {
  CURLU *u = NULL;
  char *s = NULL;
  CURLUcode uc;
  int err;

  *out = NULL;
  err = parse_normalized_with(base_u, base, ref, &u);
  if (err != 0) return err;
  /* NO_DEFAULT_PORT drops ":80" on http and ":443" on https, and only those. curl always
   * writes at least "/" for the path of an http(s) URL. */
  uc = curl_url_get(u, CURLUPART_URL, &s, CURLU_NO_DEFAULT_PORT);
  curl_url_cleanup(u);
  if (uc != CURLUE_OK) return map_curlu(uc);
  err = to_malloc(s, out);
  if (err == 0) upper_escapes(*out);
  return err;
}

static int resolve_once(const char *base, const char *ref, char **out) {
  return resolve_once_with(NULL, base, ref, out);
}

static int resolve_with(CURLU *base_u, const char *base, const char *ref, char **out);

int uvcrawl__url_resolve(const char *base, const char *ref, char **out) {
  return resolve_with(NULL, base, ref, out);
}

/* A parsed base, and where its origin and directory end when refs may be joined to it as
 * text (joinable_ref()). */
struct uvcrawl__urlbase_s {
  CURLU *u;
  char *str;
  size_t origin_len; /* "scheme://authority" */
  size_t dir_len;    /* up to and including the last '/' */
  int joinable;
};

int uvcrawl__url_base_new(const char *base, uvcrawl__urlbase_t **out) {
  uvcrawl__urlbase_t *b = calloc(1, sizeof(*b));
  int err;
  *out = NULL;
  if (b == NULL) return UV_ENOMEM;
  if ((b->u = curl_url()) == NULL || (b->str = strdup(base)) == NULL) {
    uvcrawl__url_base_free(b);
    return UV_ENOMEM;
  }
  /* As parse_normalized() sets a base. */
  if ((err = map_curlu(curl_url_set(b->u, CURLUPART_URL, base, CURLU_URLENCODE))) != 0) {
    uvcrawl__url_base_free(b);
    return err;
  }
  /* Joined as text only to a base that curl would write back as it is: one of its own
   * normalized URLs (scheme://authority/path) without '%' (escape case), '?' or '#'. */
  const char *auth = strstr(base, "://"), *path = auth ? strchr(auth + 3, '/') : NULL;
  if (path != NULL && strpbrk(base, "%?#") == NULL && path > auth + 3) {
    b->origin_len = (size_t)(path - base);
    b->dir_len = (size_t)(strrchr(base, '/') - base) + 1;
    b->joinable = 1;
  }
  *out = b;
  return 0;
}

void uvcrawl__url_base_free(uvcrawl__urlbase_t *b) {
  if (b == NULL) return;
  curl_url_cleanup(b->u);
  free(b->str);
  free(b);
}

/* The length of ref up to its '#' when curl's relative resolution of it is plain text work:
 * a path from the root ("/a", not "//a") or from the base's directory ("a/b", not "./" or
 * "../" first, no scheme), of characters that neither url.c's clean_ref() nor curl escapes or
 * strips, without '%' or ':'. For such a ref curl (concat_url) joins the base's origin or
 * directory and the ref, as RFC 3986 5.2 does, then parses the result: joining them here
 * saves it writing the base out and parsing it once more. 0: not such a ref. *root: it
 * starts with '/'. */
static size_t joinable_ref(const char *ref, int *root) {
  static const char ok[] = "-._~!$&'()*+,;=@/?";
  size_t i = 0;
  *root = ref[0] == '/';
  if (*root ? ref[1] == '/' : (ref[0] == '.' || ref[0] == '?' || ref[0] == '/')) return 0;
  for (; ref[i] != '\0' && ref[i] != '#'; i++) {
    char c = ref[i];
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
          (c != '\0' && strchr(ok, c) != NULL)))
      return 0;
  }
  return i;
}

int uvcrawl__url_resolve_base(const uvcrawl__urlbase_t *b, const char *ref, char **out) {
  int root;
  size_t n = b->joinable && ref != NULL ? joinable_ref(ref, &root) : 0;
  if (n > 0 && n < 2048) {
    char buf[4096];
    size_t head = root ? b->origin_len : b->dir_len;
    if (head + n < sizeof(buf)) {
      memcpy(buf, b->str, head);
      memcpy(buf + head, ref, n);
      buf[head + n] = '\0';
      /* Neither part holds a '%': one pass, as uvcrawl__url_resolve makes for ref. */
      return resolve_once(NULL, buf, out);
    }
  }
  return resolve_with(b->u, NULL, ref, out);
}

static int resolve_with(CURLU *base_u, const char *base, const char *ref, char **out) {
  int err = resolve_once_with(base_u, base, ref, out);
  /* One pass is not always a fixed point: curl decodes "%30" in a host to "0" but reads "0"
   * as the IPv4 address 0.0.0.0 only when parsing it again (found by fuzzing). Normalize
   * until the string stops changing, so the same URL always has the same spelling. */
  for (int i = 0; err == 0 && strchr(ref, '%') != NULL && i < 3; i++) {
    char *again;
    if (resolve_once(NULL, *out, &again) != 0) break;
    int same = strcmp(again, *out) == 0;
    free(*out);
    *out = again;
    if (same) break;
  }
  return err;
}

/* url is borrowed; on success *out is malloc'd and owned by the caller. */
int uvcrawl__url_origin(const char *url, char **out) {
  CURLU *u = NULL;
  char *scheme = NULL, *host = NULL, *port = NULL, *s = NULL;
  size_t len;
  int err;

  *out = NULL;
  /* Normalizing again costs one parse but makes the key independent of how url was
   * spelled (seeds come straight from the user). */
  err = parse_normalized(NULL, url, &u);
  if (err != 0) return err;
  err = map_curlu(curl_url_get(u, CURLUPART_SCHEME, &scheme, 0));
  if (err == 0) err = map_curlu(curl_url_get(u, CURLUPART_HOST, &host, 0));
  /* DEFAULT_PORT: spell out 80/443 when the URL leaves them implicit. */
  if (err == 0) err = map_curlu(curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT));
  if (err == 0) {
    len = strlen(scheme) + 3 + strlen(host) + 1 + strlen(port) + 1;
    s = malloc(len);
    if (s == NULL) {
      err = UV_ENOMEM;
    } else {
      snprintf(s, len, "%s://%s:%s", scheme, host, port);
      *out = s;
    }
  }
  curl_free(scheme);
  curl_free(host);
  curl_free(port);
  curl_url_cleanup(u);
  return err;
}

int uvcrawl__url_is_trap(const char *url) {
  const char *auth = strstr(url, "://");
  const char *p = auth ? strchr(auth + 3, '/') : NULL;
  const char *seg[65];
  size_t len[65], n = 0;
  if (p == NULL) return 0;
  while (*p == '/') {
    const char *s = p + 1, *e = s;
    while (*e && *e != '/' && *e != '?') e++;
    if (n == 64) return 1;
    seg[n] = s;
    len[n] = (size_t)(e - s);
    unsigned same = 0;
    for (size_t i = 0; i < n; i++)
      if (len[i] == len[n] && len[n] > 0 && memcmp(seg[i], s, len[n]) == 0) same++;
    if (same >= 3) return 1; /* the fourth time the same segment appears */
    n++;
    p = e;
  }
  return 0;
}

/* ASCII case-insensitive: 1 when s starts with the lower-case prefix p. */
static int has_prefix_ci(const char *s, const char *p) {
  for (; *p != '\0'; s++, p++)
    if (ascii_lower(*s) != *p) return 0;
  return 1;
}

int uvcrawl__url_surely_skipped(const char *ref) {
  /* Schemes curl knows as such and a page is full of; a longer or unknown scheme may be read
   * as a relative path by curl, so only these are decided here. */
  static const char *const schemes[] = {"javascript:", "mailto:", "data:", "tel:"};
  /* Stripped as clean_ref() does. */
  while (*ref != '\0' && is_c0_or_space((unsigned char)*ref)) ref++;
  /* A tab/CR/LF inside the prefix ("java\nscript:") is curl's to judge. */
  for (size_t i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++)
    if (has_prefix_ci(ref, schemes[i])) return 1;
  return 0;
}

int uvcrawl__url_is_self(const char *ref) {
  while (*ref != '\0' && is_c0_or_space((unsigned char)*ref)) ref++;
  return *ref == '\0' || *ref == '#';
}

int uvcrawl__url_has_origin(const char *url, const char *const *origins, size_t n) {
  const char *auth, *host, *end, *colon;
  size_t slen, hlen, plen;
  const char *port;

  if (n == 0) return 1;
  auth = strstr(url, "://");
  if (auth == NULL) return 0;
  slen = (size_t)(auth - url);
  auth += 3;
  end = auth + strcspn(auth, "/?#");
  /* Userinfo, IP literals and escapes: let curl take the string apart. */
  for (host = auth; host < end; host++)
    if (*host == '@' || *host == '[' || *host == '%') goto slow;
  host = auth;
  colon = memchr(host, ':', (size_t)(end - host));
  hlen = (size_t)((colon ? colon : end) - host);
  if (colon != NULL) {
    port = colon + 1;
    plen = (size_t)(end - port);
  } else if (slen == 4 && memcmp(url, "http", 4) == 0) {
    port = "80";
    plen = 2;
  } else if (slen == 5 && memcmp(url, "https", 5) == 0) {
    port = "443";
    plen = 3;
  } else {
    goto slow;
  }
  for (size_t i = 0; i < n; i++) {
    const char *o = origins[i];
    /* o is "scheme://host:port" */
    if (strncmp(o, url, slen) != 0 || strncmp(o + slen, "://", 3) != 0) continue;
    o += slen + 3;
    if (strncmp(o, host, hlen) != 0 || o[hlen] != ':') continue;
    o += hlen + 1;
    if (strncmp(o, port, plen) == 0 && o[plen] == '\0') return 1;
  }
  return 0;

slow: {
    char *origin;
    int found = 0;
    if (uvcrawl__url_origin(url, &origin) != 0) return 0;
    for (size_t i = 0; i < n && !found; i++) found = strcmp(origin, origins[i]) == 0;
    free(origin);
    return found;
  }
}
