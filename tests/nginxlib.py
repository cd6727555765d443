"""A private nginx on 127.0.0.1 for tests and benchmarks (Debian's nginx-light).

Everything nginx writes (config, pid, logs, temp dirs) stays under the directory it is given;
the ports are ephemeral and taken again when one turns out to be in use. The caller gives the
server blocks; this module writes the rest of the configuration and waits until nginx holds
its ports (its pid file is written only then).
"""
import os
import socket
import subprocess
import time

from sitelib import free_port, stop as _stop  # noqa: F401  (free_port: for callers)

NGINX = os.environ.get("NGINX", "/usr/sbin/nginx")


class NginxError(RuntimeError):
    pass


class Nginx:
    """nginx with `nports` listening ports (self.ports). servers(ports) returns the server
    blocks; http_conf is extra text for the http block (types, gzip...). The access log
    (self.access_log) uses log_format."""

    def __init__(self, tmp, servers, nports=1, http_conf="include /etc/nginx/mime.types;",
                 log_format="$status $request_uri", worker_connections=1024):
        if not os.access(NGINX, os.X_OK):
            raise NginxError(f"nginx not found at {NGINX}: run .ci/install (nginx-light)")
        self.tmp = tmp
        self.access_log = os.path.join(tmp, "access.log")
        self.proc = None
        for _ in range(8):
            self.ports = [free_port() for _ in range(nports)]
            if len(set(self.ports)) != nports:
                continue
            self._write_conf(servers(self.ports), http_conf, log_format, worker_connections)
            pidfile = os.path.join(tmp, "nginx.pid")
            if os.path.exists(pidfile):
                os.unlink(pidfile)
            with open(os.path.join(tmp, "nginx.stderr"), "w") as stderr:
                self.proc = subprocess.Popen(
                    [NGINX, "-p", tmp, "-c", os.path.join(tmp, "nginx.conf"),
                     "-e", os.path.join(tmp, "error.log")],
                    stdout=subprocess.DEVNULL, stderr=stderr)
            if self._wait_ready():
                self.port = self.ports[0]
                return
            _stop(self.proc)
            if "in use" not in self.errors():  # only a port taken in the meantime is retried
                raise NginxError("nginx did not start: " + self.errors())
        raise NginxError("nginx: no free ports after 8 tries")

    def errors(self):
        out = ""
        for name in ("nginx.stderr", "error.log"):
            p = os.path.join(self.tmp, name)
            if os.path.exists(p):
                with open(p) as f:
                    out += f.read()
        return out

    def _write_conf(self, servers, http_conf, log_format, worker_connections):
        t = self.tmp
        conf = f"""
{'user root;' if os.geteuid() == 0 else ''}
daemon off;
master_process off;
worker_processes 1;
pid {t}/nginx.pid;
lock_file {t}/nginx.lock;
error_log {t}/error.log warn;
events {{ worker_connections {worker_connections}; }}
http {{
  default_type application/octet-stream;
  client_body_temp_path {t}/body;
  proxy_temp_path {t}/proxy;
  fastcgi_temp_path {t}/fastcgi;
  uwsgi_temp_path {t}/uwsgi;
  scgi_temp_path {t}/scgi;
  log_format probe '{log_format}';
  access_log {self.access_log} probe;
  {http_conf}
  {servers}
}}
"""
        with open(os.path.join(t, "nginx.conf"), "w") as f:
            f.write(conf)

    def _wait_ready(self):
        pidfile = os.path.join(self.tmp, "nginx.pid")
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False
            try:
                with open(pidfile) as f:
                    if f.read().strip() == str(self.proc.pid):
                        for port in self.ports:
                            socket.create_connection(("127.0.0.1", port), timeout=1).close()
                        return True
            except OSError:
                pass
            time.sleep(0.05)
        return False

    def log_offset(self):
        return os.path.getsize(self.access_log) if os.path.exists(self.access_log) else 0

    def log_lines(self, offset=0):
        """Access log lines written after offset (nginx writes one as a request ends)."""
        if not os.path.exists(self.access_log):
            return []
        with open(self.access_log, "rb") as f:
            f.seek(offset)
            return [ln for ln in f.read().decode(errors="replace").splitlines() if ln.strip()]

    def close(self):
        if self.proc is not None:
            _stop(self.proc)
