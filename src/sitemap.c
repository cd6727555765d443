/* Sitemaps per sitemaps.org: gunzip (bounded) when the body is gzip, then a pass of libxml2's
 * streaming reader that keeps the <loc> of each entry (a few more passes over a prefix when the
 * document is not well-formed, see read_best()).
 *
 * The reader is told not to load anything (XML_PARSE_NONET, and neither XML_PARSE_DTDLOAD nor
 * XML_PARSE_NOENT, so external entities and DTDs are never fetched and declared entities are
 * never substituted) and not to report anything (XML_PARSE_NOERROR, XML_PARSE_NOWARNING and a
 * structured error handler of its own that only notes an out-of-memory error). */
#include "sitemap.h"

#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/xmlerror.h>
#include <libxml/xmlreader.h>
#include <zlib.h>

#include "dynbuf.h"

#define GZIP_CHUNK (16u * 1024u) /* inflated at a time, then appended to the output */

void uvcrawl__sitemap_global_init(void) { xmlInitParser(); }

void uvcrawl__sitemap_free(uvcrawl__sitemap_t *s) {
  if (s == NULL) return;
  for (size_t i = 0; i < s->n; i++) free(s->locs[i]);
  free(s->locs);
  s->locs = NULL;
  s->n = s->cap = 0;
  s->index = 0;
}

static int is_xml_space(unsigned char ch) {
  return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n';
}

/* ---- gzip ----------------------------------------------------------------------------------- */

/* Inflates in[0..len) (one or more gzip members) into a new buffer of at most max bytes.
 * Returns 0 (*out malloc'd, *out_len set), -E2BIG, -EINVAL (damaged or empty) or -ENOMEM. */
static int gunzip(const unsigned char *in, size_t len, size_t max, char **out, size_t *out_len) {
  char chunk[GZIP_CHUNK];
  uvcrawl__dynbuf_t buf; /* its cap is max: a stream that inflates past it is -E2BIG */
  size_t used = 0;       /* input bytes consumed */
  z_stream z;
  int err = 0;

  uvcrawl__dynbuf_init(&buf, max);
  memset(&z, 0, sizeof z);
  if (inflateInit2(&z, 15 + 16 /* gzip only */) != Z_OK) return -ENOMEM;
  for (;;) {
    size_t in_chunk = len - used < UINT_MAX ? len - used : UINT_MAX;
    z.next_in = (Bytef *)(uintptr_t)(in + used); /* zlib does not write through next_in */
    z.avail_in = (uInt)in_chunk;
    z.next_out = (Bytef *)chunk;
    z.avail_out = sizeof chunk;
    int r = inflate(&z, Z_NO_FLUSH);
    used += in_chunk - z.avail_in;
    err = uvcrawl__dynbuf_add(&buf, chunk, sizeof chunk - z.avail_out);
    if (err != 0) break;
    if (r == Z_STREAM_END) {
      /* Another member follows (as `cat a.gz b.gz` makes)? Anything else after is ignored. */
      if (len - used >= 2 && in[used] == 0x1f && in[used + 1] == 0x8b) {
        if (inflateReset(&z) != Z_OK) {
          err = -EINVAL;
          break;
        }
        continue;
      }
      break;
    }
    if (r == Z_MEM_ERROR) {
      err = -ENOMEM;
      break;
    }
    if (r != Z_OK && r != Z_BUF_ERROR) { /* Z_DATA_ERROR, Z_NEED_DICT, Z_STREAM_ERROR */
      err = -EINVAL;
      break;
    }
    if (used == len && z.avail_out != 0) break; /* input cut short: keep what came out */
  }
  inflateEnd(&z);
  if (err != 0) {
    uvcrawl__dynbuf_free(&buf);
    return err;
  }
  *out = uvcrawl__dynbuf_take(&buf, out_len);
  return *out == NULL ? -EINVAL : 0; /* nothing came out: as an empty body */
}

/* ---- the reader ----------------------------------------------------------------------------- */

typedef struct {
  uvcrawl__sitemap_t *out;
  size_t max_urls;
  int nomem;              /* libxml2 reported running out of memory */
  char *root_ns;          /* the root element's namespace URI, or NULL for none */
  int err_line, err_col;  /* where the last fatal error was reported (1-based), or 0 */
  size_t error_at;        /* the same as an offset, or SIZE_MAX */
  char *loc;              /* the current <loc>'s text, leading whitespace skipped */
  size_t loc_len;         /* at most UVCRAWL__SITEMAP_MAX_LOC + 1 bytes kept */
  int loc_too_long;
} reader_ctx_t;

#if LIBXML_VERSION >= 21200
static void on_xml_error(void *arg, const xmlError *e) {
#else
static void on_xml_error(void *arg, xmlErrorPtr e) {
#endif
  reader_ctx_t *ctx = arg;
  /* The last fatal error: a first one may come from checking an entity's text, with a line and
   * column in that text; the parser then reports it again where the reference is. */
  if (e != NULL && e->level == XML_ERR_FATAL) {
    ctx->err_line = e->line > 0 ? e->line : 1;
    ctx->err_col = e->int2 > 0 ? e->int2 : 1;
  }
  /* libxml2 reports its own limits on text nodes ("xmlSAX2Characters: huge text node",
   * "... overflow prevented") as memory errors too: those are hostile input, not -ENOMEM. */
  if (e != NULL && e->code == XML_ERR_NO_MEMORY &&
      (e->message == NULL ||
       (strstr(e->message, "huge") == NULL && strstr(e->message, "overflow") == NULL)))
    ctx->nomem = 1;
}

static int name_is(const xmlChar *name, const char *lit) {
  return name != NULL && strcmp((const char *)name, lit) == 0;
}

/* An element of ours: in the root's namespace or in none (extensions such as image: are not). */
static int ns_ok(const reader_ctx_t *ctx, const xmlChar *uri) {
  return uri == NULL || (ctx->root_ns != NULL && strcmp((const char *)uri, ctx->root_ns) == 0);
}

/* Adds text to the current <loc>. Past UVCRAWL__SITEMAP_MAX_LOC + 1 bytes only whitespace may
 * follow (it would be trimmed); anything else makes the value too long. */
static void loc_append(reader_ctx_t *ctx, const xmlChar *text) {
  if (text == NULL || ctx->loc_too_long) return;
  for (const unsigned char *p = text; *p != '\0'; p++) {
    if (ctx->loc_len == 0 && is_xml_space(*p)) continue;
    if (ctx->loc_len <= UVCRAWL__SITEMAP_MAX_LOC) {
      ctx->loc[ctx->loc_len++] = (char)*p;
    } else if (!is_xml_space(*p)) {
      ctx->loc_too_long = 1;
      return;
    }
  }
}

/* </loc>: keeps the trimmed value unless it is empty or too long. Returns 1 when kept, 0 when
 * skipped, -ENOMEM. */
static int loc_commit(reader_ctx_t *ctx) {
  size_t n = ctx->loc_len;
  while (n > 0 && is_xml_space((unsigned char)ctx->loc[n - 1])) n--;
  if (ctx->loc_too_long || n == 0 || n > UVCRAWL__SITEMAP_MAX_LOC) return 0;
  uvcrawl__sitemap_t *s = ctx->out;
  if (s->n == s->cap) {
    size_t ncap = s->cap ? s->cap * 2 : 16;
    char **nlocs = realloc(s->locs, ncap * sizeof *nlocs);
    if (nlocs == NULL) return -ENOMEM;
    s->locs = nlocs;
    s->cap = ncap;
  }
  char *copy = malloc(n + 1);
  if (copy == NULL) return -ENOMEM;
  memcpy(copy, ctx->loc, n);
  copy[n] = '\0';
  s->locs[s->n++] = copy;
  return 1;
}

/* The byte offset of libxml2's line and column in doc, counted as libxml2 counts them: a line
 * ends at each "\n" (a lone "\r" does not end one), a column is one character (a UTF-8 lead
 * byte and its continuation bytes). len when it lies past the end. */
static size_t error_offset(const char *doc, size_t len, int line, int col) {
  size_t i = 0;
  if (line <= 0) return len;
  for (int l = 1; l < line; l++) {
    const char *nl = memchr(doc + i, '\n', len - i);
    if (nl == NULL) return len;
    i = (size_t)(nl - doc) + 1;
  }
  for (int c = 1; c < col && i < len; c++)
    for (i++; i < len && ((unsigned char)doc[i] & 0xc0) == 0x80; i++) {
    }
  return i;
}

/* Runs the reader over doc[0..len). Where the reader stands, by depth: 0 the root, 1 an entry,
 * 2 its <loc>, 3 the loc's text. A well-formedness error sets ctx->error_at to the offset where
 * the parser stopped. */
static int read_sitemap(const char *doc, size_t len, reader_ctx_t *ctx) {
  int root_seen = 0, in_entry = 0, entry_has_loc = 0, in_loc = 0;
  const char *entry_name = "url";
  int r;

  xmlTextReaderPtr reader =
      xmlReaderForMemory(doc, (int)len, NULL, NULL,
                         XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING |
                             XML_PARSE_NOCDATA);
  if (reader == NULL) return -ENOMEM;
  xmlTextReaderSetStructuredErrorHandler(reader, on_xml_error, ctx);
  while ((r = xmlTextReaderRead(reader)) == 1) {
    int type = xmlTextReaderNodeType(reader);
    int depth = xmlTextReaderDepth(reader);
    if (type == XML_READER_TYPE_ELEMENT) {
      const xmlChar *name = xmlTextReaderConstLocalName(reader);
      const xmlChar *uri = xmlTextReaderConstNamespaceUri(reader);
      int empty = xmlTextReaderIsEmptyElement(reader) == 1;
      if (!root_seen) {
        if (name_is(name, "sitemapindex")) {
          ctx->out->index = 1;
          entry_name = "sitemap";
        } else if (!name_is(name, "urlset")) {
          r = -EINVAL;
          break;
        }
        root_seen = 1;
        if (uri != NULL && (ctx->root_ns = strdup((const char *)uri)) == NULL) {
          r = -ENOMEM;
          break;
        }
        if (empty) break;
      } else if (depth == 1) {
        in_entry = !empty && name_is(name, entry_name) && ns_ok(ctx, uri);
        entry_has_loc = 0;
      } else if (depth == 2 && in_entry && !entry_has_loc && !empty && name_is(name, "loc") &&
                 ns_ok(ctx, uri)) {
        in_loc = 1;
        ctx->loc_len = 0;
        ctx->loc_too_long = 0;
      }
    } else if (type == XML_READER_TYPE_TEXT || type == XML_READER_TYPE_CDATA ||
               type == XML_READER_TYPE_WHITESPACE ||
               type == XML_READER_TYPE_SIGNIFICANT_WHITESPACE) {
      if (in_loc && depth == 3) loc_append(ctx, xmlTextReaderConstValue(reader));
    } else if (type == XML_READER_TYPE_END_ELEMENT) {
      if (in_loc && depth == 2) {
        in_loc = 0;
        int k = loc_commit(ctx);
        if (k < 0) {
          r = k;
          break;
        }
        entry_has_loc = k;
        if (ctx->out->n >= ctx->max_urls) break;
      } else if (depth == 1) {
        in_entry = 0;
      }
    }
    /* Entity references (never expanded), comments, PIs and the doctype are passed over. */
  }
  if (r == -1) { /* a well-formedness error (or libxml2 out of memory) */
    ctx->error_at = error_offset(doc, len, ctx->err_line, ctx->err_col);
    r = 0;
  }
  xmlFreeTextReader(reader);
  if (r < 0) return r;
  if (ctx->nomem) return -ENOMEM;
  return root_seen ? 0 : -EINVAL;
}

/* The reader parses ahead in chunks (512 bytes) and, at a well-formedness error, stops without
 * handing over what it had parsed ahead: the locs just before an error would depend on where
 * chunks fall. Cut short instead, a document yields every node the reader can tell complete.
 * So after an error the input is read again cut where the parser stopped; when the error then
 * comes at the cut (reported past the faulty tag, which the cut still holds), cut again before
 * the last '<', and when that one errs at its cut too, the cut is all that is wrong: done.
 * Every pass yields a prefix of the document's locs: the longest one is kept. Usually two or
 * three passes (a document cut short: two). */
#define MAX_PASSES 4

static int read_best(const char *doc, size_t len, reader_ctx_t *ctx, uvcrawl__sitemap_t *out) {
  size_t cut = len;
  int best = -EINVAL, before_tag = 0;
  for (int pass = 0; pass < MAX_PASSES; pass++) {
    uvcrawl__sitemap_t got = {NULL, 0, 0, 0};
    ctx->out = &got;
    ctx->nomem = 0;
    ctx->err_line = ctx->err_col = 0;
    ctx->error_at = SIZE_MAX;
    free(ctx->root_ns);
    ctx->root_ns = NULL;
    int r = read_sitemap(doc, cut, ctx);
    if (r == -ENOMEM) {
      uvcrawl__sitemap_free(&got);
      uvcrawl__sitemap_free(out);
      return r;
    }
    if (r == 0 && (best != 0 || got.n > out->n)) {
      uvcrawl__sitemap_free(out);
      *out = got;
      best = 0;
    } else {
      uvcrawl__sitemap_free(&got);
    }
    if (ctx->error_at == SIZE_MAX) break; /* read to the end, or to max_urls */
    size_t next = ctx->error_at;
    if (next >= cut) { /* the error came at the cut: cut before the last tag */
      if (before_tag) break; /* that was done: the error is the cut itself */
      for (next = cut - 1; next > 0 && doc[next] != '<'; next--) {
      }
    }
    before_tag = next < ctx->error_at;
    if (next == 0) break;
    cut = next;
  }
  return best;
}

int uvcrawl__sitemap_parse(const char *body, size_t len, size_t max_bytes, size_t max_urls,
                           uvcrawl__sitemap_t *out) {
  const unsigned char *p = (const unsigned char *)body;
  char *inflated = NULL;
  int err;

  memset(out, 0, sizeof *out);
  if (max_bytes == 0) max_bytes = UVCRAWL__SITEMAP_MAX_BYTES;
  if (max_bytes > INT_MAX) max_bytes = INT_MAX; /* xmlReaderForMemory takes an int */
  if (max_urls == 0) max_urls = UVCRAWL__SITEMAP_MAX_URLS;
  if (len == 0 || p == NULL) return -EINVAL;

  if (len >= 2 && p[0] == 0x1f && p[1] == 0x8b) {
    size_t n;
    if ((err = gunzip(p, len, max_bytes, &inflated, &n)) != 0) return err;
    p = (const unsigned char *)inflated;
    len = n;
  } else if (len > max_bytes) {
    return -E2BIG;
  }
  /* Whitespace before "<?xml" is a fatal error to libxml2, and a common blemish. */
  size_t skip = 0;
  while (skip < len && is_xml_space(p[skip])) skip++;
  const char *doc = (const char *)p + skip;
  len -= skip;

  reader_ctx_t ctx;
  memset(&ctx, 0, sizeof ctx);
  ctx.max_urls = max_urls;
  ctx.loc = len == 0 ? NULL : malloc(UVCRAWL__SITEMAP_MAX_LOC + 1);
  err = len == 0 ? -EINVAL : ctx.loc == NULL ? -ENOMEM : read_best(doc, len, &ctx, out);
  free(ctx.loc);
  free(ctx.root_ns);
  free(inflated);
  return err;
}
