/* The Redis adapter against a real redis-server started here on 127.0.0.1 (a free port, a
 * temporary directory). In order:
 *   1. no server yet: the refused connect is reported (hiredis 0.14's adapter never calls
 *      back), and commands are refused while down;
 *   2. the server starts: the adapter connects again by itself, SELECTs db 3, SET/GET work;
 *   3. the server is stopped (SIGSTOP): a PING times out (NULL reply), the connection is
 *      reported lost; after SIGCONT it comes back, SELECT done again (the key is still seen);
 *   4. the server is killed with a blocking command pending: the command gets NULL, the loss
 *      is reported, a command is refused, and closing from inside the state callback works;
 *   5. through the public API, a crawler joins a crawl on a fresh server: a seed added after
 *      the join is refused (UVCRAWL_ESTATE), since the join handed the seeds to Redis;
 *   and the loop closes with nothing left (uv_loop_close() == 0).
 * Skips (77) without redis-server. Nothing is timed: each step waits for the event before. */
#include <arpa/inet.h>
#include <signal.h>
#include <sys/socket.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "redis.h"
#include "uvcrawl.h"
#include "task.h"

static uv_loop_t loop;
static uv_process_t server;
static int server_alive;
static char port_s[16];
static char dir[] = "/tmp/uvcrawl-redis-XXXXXX";
static const char *redis_server;
static uvcrawl__redis_t *r;
static int phase, downs, ups, closed, got_null_ping, got_null_blpop;

static void on_exit_cb(uv_process_t *p, int64_t status, int sig) {
  (void)status;
  (void)sig;
  server_alive = 0;
  uv_close((uv_handle_t *)p, NULL);
}

static void start_server(void) {
  char *args[] = {(char *)redis_server, "--port", port_s, "--bind", "127.0.0.1",
                  "--save", "", "--appendonly", "no", "--dir", dir, "--daemonize", "no",
                  "--loglevel", "warning", NULL};
  uv_process_options_t o;
  uv_stdio_container_t stdio[3];
  memset(&o, 0, sizeof(o));
  stdio[0].flags = UV_IGNORE;
  stdio[1].flags = UV_IGNORE;
  stdio[2].flags = UV_INHERIT_FD;
  stdio[2].data.fd = 2;
  o.file = redis_server;
  o.args = args;
  o.exit_cb = on_exit_cb;
  o.stdio = stdio;
  o.stdio_count = 3;
  ASSERT_EQ(uv_spawn(&loop, &server, &o), 0);
  server_alive = 1;
}

static void cmd(uvcrawl__redis_reply_cb cb, int argc, const char **argv) {
  size_t lens[8];
  for (int i = 0; i < argc; i++) lens[i] = strlen(argv[i]);
  ASSERT_EQ(uvcrawl__redis_command(r, cb, NULL, argc, argv, lens), 0);
}

static void on_closed(void *arg) {
  ASSERT_NULL(arg);
  closed++;
  if (server_alive) uv_process_kill(&server, SIGKILL);
}

static void on_blpop(void *arg, redisReply *reply) {
  (void)arg;
  ASSERT_NULL(reply);
  got_null_blpop++;
}

static void on_get_again(void *arg, redisReply *reply) {
  (void)arg;
  ASSERT_NOT_NULL(reply);
  ASSERT_EQ(reply->type, REDIS_REPLY_STRING);
  ASSERT_STR_EQ(reply->str, "v"); /* db 3 again: SELECT was redone on the new connection */
  phase = 4;
  const char *blpop[3] = {"BLPOP", "never", "0"};
  cmd(on_blpop, 3, blpop);
  ASSERT_EQ(uv_process_kill(&server, SIGKILL), 0);
}

static void on_ping(void *arg, redisReply *reply) {
  (void)arg;
  ASSERT_NULL(reply); /* the server is stopped: the reply timed out */
  got_null_ping++;
}

static void on_get(void *arg, redisReply *reply) {
  (void)arg;
  ASSERT_NOT_NULL(reply);
  ASSERT_EQ(reply->type, REDIS_REPLY_STRING);
  ASSERT_STR_EQ(reply->str, "v");
  phase = 3;
  ASSERT_EQ(uv_process_kill(&server, SIGSTOP), 0);
  const char *ping[1] = {"PING"};
  cmd(on_ping, 1, ping);
}

static void on_set(void *arg, redisReply *reply) {
  (void)arg;
  ASSERT_NOT_NULL(reply);
  ASSERT_EQ(reply->type, REDIS_REPLY_STATUS);
  ASSERT_STR_EQ(reply->str, "OK");
}

static void on_state(void *arg, int up, const char *why) {
  ASSERT_NULL(arg);
  if (up) {
    ups++;
    ASSERT_NULL(why);
    ASSERT(uvcrawl__redis_is_up(r));
    if (phase == 1) {
      phase = 2;
      const char *set[3] = {"SET", "k", "v"}, *get[2] = {"GET", "k"};
      cmd(on_set, 3, set);
      cmd(on_get, 2, get);
    } else if (phase == 3) {
      const char *get[2] = {"GET", "k"};
      cmd(on_get_again, 2, get);
    }
    return;
  }
  downs++;
  ASSERT_NOT_NULL(why);
  ASSERT(!uvcrawl__redis_is_up(r));
  const char *ping[1] = {"PING"};
  size_t len = 4;
  ASSERT_EQ(uvcrawl__redis_command(r, on_ping, NULL, 1, ping, &len), UV_ENOTCONN);
  if (phase == 0) {
    ASSERT(strstr(why, "refused") != NULL);
    phase = 1;
    start_server();
  } else if (phase == 3) {
    /* First loss while stopped; later ones are connects to the stopped server timing out. */
    if (got_null_ping == 1) {
      ASSERT(strstr(why, "timed out") != NULL);
      got_null_ping++;
      ASSERT_EQ(uv_process_kill(&server, SIGCONT), 0);
    }
  } else if (phase == 4) {
    ASSERT_EQ(got_null_blpop, 1);
    uvcrawl__redis_close(r, on_closed, NULL); /* from inside a callback */
    phase = 5;
  }
}

/* A free TCP port on 127.0.0.1 (bound, read, released). */
static int free_port(void) {
  uv_tcp_t t;
  struct sockaddr_in a;
  struct sockaddr_storage got;
  int len = sizeof(got);
  ASSERT_EQ(uv_tcp_init(&loop, &t), 0);
  ASSERT_EQ(uv_ip4_addr("127.0.0.1", 0, &a), 0);
  ASSERT_EQ(uv_tcp_bind(&t, (const struct sockaddr *)&a, 0), 0);
  ASSERT_EQ(uv_tcp_getsockname(&t, (struct sockaddr *)&got, &len), 0);
  uv_close((uv_handle_t *)&t, NULL);
  uv_run(&loop, UV_RUN_DEFAULT);
  return ntohs(((struct sockaddr_in *)&got)->sin_port);
}

/* Waits until the server accepts connections (a blocking connect, tried again every 10 ms for
 * at most a minute: a bound for a server that never comes up only). */
static void wait_listening(void) {
  struct sockaddr_in a;
  ASSERT_EQ(uv_ip4_addr("127.0.0.1", atoi(port_s), &a), 0);
  for (int i = 0; i < 6000; i++) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    ASSERT_GE(fd, 0);
    int ok = connect(fd, (const struct sockaddr *)&a, sizeof(a)) == 0;
    close(fd);
    if (ok) return;
    usleep(10000);
  }
  ASSERT(0 && "redis-server never listened");
}

static void seed_after_join(void) {
  start_server();
  wait_listening();
  uvcrawl_options_t *o;
  uvcrawl_t *c;
  char url[64], why[256] = "";
  ASSERT_EQ(uvcrawl_options_new(&o), 0);
  ASSERT_EQ(uvcrawl_create(&loop, o, &c), 0);
  uvcrawl_options_free(o);
  ASSERT_EQ(uvcrawl_add_seed(c, "http://127.0.0.1:9/"), 0);
  snprintf(url, sizeof(url), "redis://127.0.0.1:%s/4", port_s);
  ASSERT_EQ(uvcrawl_join_cluster(c, url, "seeds", 0, 0, why, sizeof(why)), 0);
  ASSERT_EQ(uvcrawl_add_seed(c, "http://127.0.0.1:9/later/"), UVCRAWL_ESTATE);
  uvcrawl_close(c, NULL, NULL);
  ASSERT_EQ(uv_process_kill(&server, SIGKILL), 0);
  uv_run(&loop, UV_RUN_DEFAULT);
}

int main(int argc, char **argv) {
  if (argc < 2 || access(argv[1], X_OK) != 0) {
    printf("SKIP: no redis-server\n");
    return 77;
  }
  redis_server = argv[1];
  ASSERT_EQ(uv_loop_init(&loop), 0);
  ASSERT_NOT_NULL(mkdtemp(dir));
  snprintf(port_s, sizeof(port_s), "%d", free_port());

  uvcrawl__redis_opts_t o = {"127.0.0.1", atoi(port_s), 3, NULL, NULL, 1000, 300, 20, 200};
  ASSERT_EQ(uvcrawl__redis_new(&loop, &o, on_state, NULL, &r), 0);
  ASSERT(!uvcrawl__redis_is_up(r));
  uv_run(&loop, UV_RUN_DEFAULT);

  ASSERT_EQ(phase, 5);
  ASSERT_EQ(closed, 1);
  ASSERT_EQ(ups, 2);
  ASSERT_GE(downs, 3);
  ASSERT_EQ(got_null_ping, 2);
  seed_after_join();
  ASSERT_EQ(uv_loop_close(&loop), 0);
  rmdir(dir);
  printf("redis: %d ups, %d downs\n", ups, downs);
  return 0;
}
