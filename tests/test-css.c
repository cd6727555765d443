/* The CSS URL scanner, table-driven: each stylesheet with the URLs it must give, in order,
 * separated by '|' ("" for none). */
#include <stdio.h>
#include <string.h>

#include "css.h"
#include "task.h"

typedef struct {
  char out[4096];
  size_t len;
  unsigned n;
  unsigned stop_after; /* 0: never stop */
} collect_t;

static int on_url(void *arg, const char *url, size_t len) {
  collect_t *c = arg;
  ASSERT_EQ(strlen(url), len);
  ASSERT(c->len + len + 2 < sizeof(c->out));
  if (c->n++ > 0) c->out[c->len++] = '|';
  memcpy(c->out + c->len, url, len);
  c->len += len;
  c->out[c->len] = '\0';
  return c->stop_after != 0 && c->n == c->stop_after ? 7 : 0;
}

static void check(const char *css, size_t len, const char *want) {
  collect_t c = {{0}, 0, 0, 0};
  int r = uvcrawl__css_scan(css, len, on_url, &c);
  if (r != 0 || strcmp(c.out, want) != 0)
    FAIL("css %.*s\n  want \"%s\"\n  got  \"%s\" (r=%d)", (int)len, css, want, c.out, r);
}
#define CHECK(css, want) check(css, sizeof(css) - 1, want)

int main(void) {
  /* url tokens */
  CHECK("a{background:url(a.png)}", "a.png");
  CHECK("a{background:URL(  b.png  )}", "b.png");
  CHECK("a{background:uRl(\n\tc.png\f)}", "c.png");
  CHECK("a{b:url()}", "");
  CHECK("a{b:url(   )}", "");
  CHECK("a{b:url(x y)} a{c:url(z)}", "z");          /* whitespace inside: a bad url */
  CHECK("a{b:url(x(y)} a{c:url(z)}", "z");          /* '(' inside: bad, remnants to ')' */
  CHECK("a{b:url(x\\)y)}", "x)y");                  /* an escaped ')' */
  CHECK("a{b:url(x\\\ny)} a{c:url(z)}", "z");       /* backslash-newline: bad url */
  CHECK("a{b:url(x\\29 y)}", "x)y");                /* hex escape eats one space */
  CHECK("a{b:url(\\41\r\nB)}", "AB");               /* CR LF is one whitespace */
  CHECK("a{b:url(\\0)}", "\xEF\xBF\xBD");           /* NUL escape -> U+FFFD */
  CHECK("a{b:url(\\D800)}", "\xEF\xBF\xBD");        /* surrogate -> U+FFFD */
  CHECK("a{b:url(\\110000)}", "\xEF\xBF\xBD");      /* beyond Unicode -> U+FFFD */
  CHECK("a{b:url(\\1F600)}", "\xF0\x9F\x98\x80");
  CHECK("a{b:url(\\e9t\\E9 )}", "\xC3\xA9t\xC3\xA9");
  CHECK("a{b:url(caf\xC3\xA9.png)}", "caf\xC3\xA9.png"); /* raw UTF-8 passes */
  CHECK("a{b:url(unterminated.png", "unterminated.png"); /* EOF: still a url */
  CHECK("a{b:url(x\x01y)} i{c:url(ok)}", "ok");     /* non-printable: bad url */
  check("a{b:url(x\0y)}", 13, "x\xEF\xBF\xBDy");    /* a raw NUL reads as U+FFFD */
  /* url("...") functions */
  CHECK("a{b:url(\"q.png\")}", "q.png");
  CHECK("a{b:url( 'q 2.png' )}", "q 2.png");        /* spaces inside quotes stay */
  CHECK("a{b:url(\"a\\\"b\")}", "a\"b");
  CHECK("a{b:url(\"line\\\ncont\")}", "linecont");  /* escaped newline: continuation */
  CHECK("a{b:url(\"bad\nstring)} c{d:url(e)}", "e"); /* raw newline: bad string */
  CHECK("a{b:url(\"\")}", "");
  CHECK("a{b:url(\"eof", "eof");
  /* escapes in the function name */
  CHECK("a{b:u\\72l(esc.png)}", "esc.png");
  CHECK("a{b:\\75 rl(esc2.png)}", "esc2.png");
  CHECK("a{b:\\55\\52\\4c(esc3.png)}", "esc3.png");
  /* not url(): other names, other tokens */
  CHECK("a{b:myurl(no.png);c:urls(no2);d:url-x(no3);e:-url(no4)}", "");
  CHECK("#url(no.png) .url(yes.png)", "yes.png");   /* a hash name; '.' then an ident */
  CHECK("a{width:1url(no.png)}", "");               /* a dimension with unit "url" */
  CHECK("a{x:1.5e3url(no)} b{y:-2url(no)} c{z:+.5url(no)}", "");
  CHECK("a{b:5%url(yes)}", "yes");                  /* after a percentage: an ident */
  CHECK("a{b:url (no.png)}", "");                   /* no space allowed before '(' */
  CHECK("a{--url:url(custom.png)}", "custom.png");
  CHECK("a{b:--url(no)}", "");
  /* comments and strings hide url( */
  CHECK("/* url(no.png) */ a{b:url(yes.png)}", "yes.png");
  CHECK("/* unterminated url(no.png)", "");
  CHECK("/**/a{b:url(y)}/*/ url(no) */", "y");
  CHECK("a{content:\"url(no.png)\"} b{content:'url(no2)'}", "");
  CHECK("a{content:\"x\\\"url(no)\"}", "");
  CHECK("<!-- a{b:url(cdo.png)} -->", "cdo.png");
  /* @import */
  CHECK("@import \"imp.css\";", "imp.css");
  CHECK("@import 'a.css' screen; @import url(b.css); @import url('c.css');", "a.css|b.css|c.css");
  CHECK("@IMPORT/* c */\"d.css\";", "d.css");
  CHECK("@import\n  'e.css';", "e.css");
  CHECK("@imports 'no.css'; @media 'no2.css'; a{b:'no3'}", "");
  CHECK("@import ; 'no.css'", "");
  CHECK("@charset \"utf-8\"; @import \"x.css\";", "x.css");
  CHECK("@import \"bad\n.css; @import \"ok.css\";", "ok.css");
  /* a whole sheet */
  CHECK("@font-face{font-family:F;src:url(f.woff2) format(\"woff2\"),url('f.woff')}"
        "body{background-image:image-set(url(i1.png) 1x,url(\"i2.png\") 2x)}"
        ".c{cursor:url(cur.cur),auto;mask:url(#frag)}",
        "f.woff2|f.woff|i1.png|i2.png|cur.cur|#frag");
  /* edge bytes */
  CHECK("", "");
  check(NULL, 0, "");
  CHECK("\\", "");
  CHECK("url(", "");
  CHECK("url(\\", "\xEF\xBF\xBD");                  /* backslash at EOF: U+FFFD */
  CHECK("u\\", "");
  CHECK("@", "");
  CHECK("#", "");
  CHECK("-", "");
  CHECK("1e", "");
  /* the callback stops the scan with its value */
  collect_t c = {{0}, 0, 0, 2};
  ASSERT_EQ(uvcrawl__css_scan("url(a)url(b)url(c)", 18, on_url, &c), 7);
  ASSERT_STR_EQ(c.out, "a|b");
  printf("css: all cases passed\n");
  return 0;
}
