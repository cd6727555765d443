/* The smallest complete embedding of uvcrawl: a loop the program owns, one timer of its own
 * beside the crawl, and a clean shutdown that leaves the loop closable.
 *
 *   cc crawl.c $(pkg-config --cflags --libs uvcrawl) -o crawl && ./crawl http://127.0.0.1:8080/
 *
 * Prints "STATUS URL" for each fetched URL, then "done: N pages" and exits 0 when the crawl ran
 * to the end and uv_loop_close() succeeded. */
/* uv.h uses POSIX types (pthread_rwlock_t) that a strict -std=c11 hides. */
#define _POSIX_C_SOURCE 200809L

#include <stdio.h>
#include <stdlib.h>

#include <uv.h>
#include <uvcrawl.h>

typedef struct {
  uv_loop_t loop;
  uv_timer_t heartbeat; /* the program's own handle, to show the crawl shares the loop */
  uvcrawl_t *crawler;
  unsigned long pages, beats;
  int status;           /* what on_done said */
} app_t;

/* Every callback gets the arg given with it: the program's own state, no global needed. */
static void on_result(uvcrawl_t *c, const uvcrawl_result_t *r, void *arg) {
  app_t *app = arg;
  (void)c;
  app->pages++;
  printf("%ld %s\n", r->status, r->url); /* r and its strings are borrowed: copy to keep */
}

static void on_closed(uvcrawl_t *c, void *arg) {
  app_t *app = arg;
  (void)c; /* being freed: only to compare */
  app->crawler = NULL;
  uv_close((uv_handle_t *)&app->heartbeat, NULL);
}

static void on_done(uvcrawl_t *c, int status, void *arg) {
  app_t *app = arg;
  app->status = status;
  uvcrawl_close(c, on_closed, app); /* frees c once its handles are closed */
}

static void on_beat(uv_timer_t *t) {
  app_t *app = t->data;
  app->beats++;
}

int main(int argc, char **argv) {
  app_t app = {.status = 1};
  uvcrawl_options_t *opts;
  int err;

  if (argc < 2) {
    fprintf(stderr, "usage: %s URL...\n", argv[0]);
    return 2;
  }
  printf("uvcrawl headers %s (0x%06x), library %s\n", UVCRAWL_VERSION_STRING,
         (unsigned)UVCRAWL_VERSION_HEX, uvcrawl_version());
  if (uv_loop_init(&app.loop) != 0) return 1;
  uv_timer_init(&app.loop, &app.heartbeat);
  app.heartbeat.data = &app;
  uv_timer_start(&app.heartbeat, on_beat, 100, 100);

  /* Options are an opaque object with typed setters: a newer library may add options
   * without breaking this program. create copies them. */
  err = uvcrawl_options_new(&opts);
  if (err == 0) err = uvcrawl_options_set_int(opts, UVCRAWL_OPT_MAX_INFLIGHT, 16);
  if (err == 0) err = uvcrawl_create(&app.loop, opts, &app.crawler);
  uvcrawl_options_free(opts);
  for (int i = 1; err == 0 && i < argc; i++) err = uvcrawl_add_seed(app.crawler, argv[i]);
  if (err == 0) err = uvcrawl_start(app.crawler, on_result, on_done, &app);
  if (err != 0) {
    fprintf(stderr, "uvcrawl: %s (%s)\n", uvcrawl_strerror(err), uvcrawl_err_name(err));
    if (app.crawler != NULL) {
      uvcrawl_close(app.crawler, on_closed, &app);
    } else {
      /* A failed create leaves nothing on the loop: only our own handle to close. */
      uv_close((uv_handle_t *)&app.heartbeat, NULL);
    }
  }
  uv_run(&app.loop, UV_RUN_DEFAULT);
  if (uv_loop_close(&app.loop) != 0) {
    fprintf(stderr, "uvcrawl left a handle open\n");
    return 1;
  }
  if (err != 0) return 1;
  printf("done: %lu pages\n", app.pages);
  return app.status == 0 ? 0 : 1;
}
