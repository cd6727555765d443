/* Helper for tests/test_html5lib.py: the fast scanner's tokenizer (htmlscan.h tokens mode) on
 * a stream of inputs. stdin: records "<length>\n<bytes>"; stdout: one JSON line per record,
 * the start tags as [[name, [[attr, value], ...], self_closing], ...], or "null" when the
 * scan failed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "htmlscan.h"

static FILE *out;

static void put_json_string(const char *s) {
  fputc('"', out);
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    if (c == '"' || c == '\\') fprintf(out, "\\%c", c);
    else if (c < 0x20) fprintf(out, "\\u%04x", c);
    else fputc(c, out);
  }
  fputc('"', out);
}

static int on_tag(void *arg, const char *name, int self_closing,
                  const uvcrawl__htmlscan_attr_t *attrs, size_t nattrs) {
  int *count = arg;
  size_t i;
  if ((*count)++) fputc(',', out);
  fputc('[', out);
  put_json_string(name);
  fputs(",[", out);
  for (i = 0; i < nattrs; i++) {
    if (i) fputc(',', out);
    fputc('[', out);
    put_json_string(attrs[i].name);
    fputc(',', out);
    put_json_string(attrs[i].value);
    fputc(']', out);
  }
  fprintf(out, "],%s]", self_closing ? "true" : "false");
  return 0;
}

int main(void) {
  size_t len;
  while (scanf("%zu", &len) == 1) {
    char *buf = malloc(len + 1), *text = NULL;
    size_t text_len = 0;
    int count = 0, err;
    if (buf == NULL || getchar() != '\n' || fread(buf, 1, len, stdin) != len) return 1;
    out = open_memstream(&text, &text_len);
    if (out == NULL) return 1;
    fputc('[', out);
    err = uvcrawl__htmlscan_tokens(buf, len, on_tag, &count);
    fputc(']', out);
    fclose(out);
    fputs(err == 0 ? text : "null", stdout);
    putchar('\n');
    fflush(stdout);
    free(text);
    free(buf);
  }
  return 0;
}
