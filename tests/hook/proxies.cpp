#include "proxies.h"

#include <sys/stat.h>

#include <stdexcept>

namespace hooktest {
namespace {

std::string nginx_conf(const std::string& dir, int port) {
  return "daemon off;\nmaster_process on;\nworker_processes 2;\npid " + dir +
         "/nginx.pid;\n"
         "error_log " +
         dir +
         "/error.log notice;\n"
         "events { worker_connections 1024; }\n"
         "http {\n  access_log off;\n  sendfile on;\n"
         "  client_body_temp_path " +
         dir + "/tmp/body;\n  proxy_temp_path " + dir +
         "/tmp/proxy;\n"
         "  fastcgi_temp_path " +
         dir + "/tmp/fcgi;\n  uwsgi_temp_path " + dir +
         "/tmp/uwsgi;\n"
         "  scgi_temp_path " +
         dir +
         "/tmp/scgi;\n"
         "  server {\n    listen 127.0.0.1:" +
         std::to_string(port) + ";\n    root " + dir +
         "/www;\n"
         "    location = /fast { return 200 \"ok\\n\"; }\n"
         "    location = /slow.bin { limit_rate 50k; }\n"
         "    location = /stream.bin { limit_rate 16k; }\n"
         "    location = /nginx_status { stub_status; }\n  }\n}\n";
}

void write_content(const std::string& dir, const Content& c) {
  mkdir((dir + "/www").c_str(), 0755);
  mkdir((dir + "/tmp").c_str(), 0755);
  write_text(dir + "/www/slow.bin", std::string(c.slow_bytes, 's'));
  write_text(dir + "/www/stream.bin", std::string(c.stream_bytes, 'x'));
}

std::unique_ptr<Child> run_nginx(const std::string& dir, int port, const Content& c) {
  write_content(dir, c);
  write_text(dir + "/nginx.conf", nginx_conf(dir, port));
  auto child = std::make_unique<Child>(
      std::vector<std::string>{"nginx", "-p", dir, "-c", dir + "/nginx.conf", "-e",
                               dir + "/error.log"},
      dir + "/nginx.out");
  if (!wait_listening(port, std::chrono::seconds(10))) {
    throw std::runtime_error("nginx did not listen on " + std::to_string(port) + ": " +
                             read_text(dir + "/error.log") + read_text(dir + "/nginx.out"));
  }
  return child;
}

class Nginx : public ProxyUnderTest {
 public:
  Nginx(std::string dir, const Content& c) : dir_(std::move(dir)), port_(free_port()) {
    child_ = run_nginx(dir_, port_, c);
  }
  std::string name() const override { return "nginx"; }
  int port() const override { return port_; }
  std::vector<std::string> hook_args() const override {
    return {"--proxy",           "nginx",   "--pid-file",
            dir_ + "/nginx.pid", "--ports", std::to_string(port_)};
  }
  std::string shell_hook(const std::string& delay) const override {
    // The seed: sleep 5; nginx -s quit; while pgrep -x nginx; do sleep 1; done
    return "sleep " + delay + "; nginx -p " + dir_ + " -c " + dir_ + "/nginx.conf -e " + dir_ +
           "/error.log -s quit; while pgrep -x nginx -g " + std::to_string(child_->pid()) +
           " >/dev/null; do sleep 1; done";
  }
  std::vector<std::string> metrics_args() const override {
    return {"--admin-url", "http://127.0.0.1:" + std::to_string(port_) + "/nginx_status"};
  }
  Child& process() override { return *child_; }
  int quit_signals_logged() const override {
    return count_occurrences(read_text(dir_ + "/error.log"), "signal 3 (SIGQUIT) received");
  }

 private:
  std::string dir_;
  int port_;
  std::unique_ptr<Child> child_;
};

class Haproxy : public ProxyUnderTest {
 public:
  Haproxy(std::string dir, const Content& c) : dir_(std::move(dir)), port_(free_port()) {
    std::string backend_dir = dir_ + "/backend";
    mkdir(backend_dir.c_str(), 0755);
    backend_port_ = free_port();
    backend_ = run_nginx(backend_dir, backend_port_, c);
    write_text(dir_ + "/haproxy.cfg", config());
    child_ = std::make_unique<Child>(
        std::vector<std::string>{"haproxy", "-W", "-f", dir_ + "/haproxy.cfg", "-p",
                                 dir_ + "/haproxy.pid"},
        dir_ + "/haproxy.out");
    if (!wait_listening(port_, std::chrono::seconds(10))) {
      throw std::runtime_error("haproxy did not listen: " + read_text(dir_ + "/haproxy.out"));
    }
  }
  std::string name() const override { return "haproxy"; }
  int port() const override { return port_; }
  std::vector<std::string> hook_args() const override {
    return {"--proxy",    "haproxy",
            "--pid-file", dir_ + "/haproxy.pid",
            "--ports",    std::to_string(port_)};
  }
  std::string shell_hook(const std::string& delay) const override {
    return "sleep " + delay + "; kill -USR1 $(cat " + dir_ +
           "/haproxy.pid); while pgrep -x haproxy -g " + std::to_string(child_->pid()) +
           " >/dev/null; do sleep 1; done";
  }
  std::vector<std::string> metrics_args() const override {
    return {"--stats-socket", stats_socket()};
  }
  Child& process() override { return *child_; }
  int quit_signals_logged() const override { return -1; }
  std::string stats_socket() const { return dir_ + "/admin.sock"; }

 private:
  std::string config() const {
    return "global\n  maxconn 2000\n  stats socket " + stats_socket() +
           " mode 600 level admin\n"
           "defaults\n  mode http\n  timeout connect 2s\n  timeout client 60s\n  timeout server "
           "60s\n"
           "frontend fe\n  bind 127.0.0.1:" +
           std::to_string(port_) +
           "\n  default_backend be\n"
           "backend be\n  server s1 127.0.0.1:" +
           std::to_string(backend_port_) + "\n";
  }
  std::string dir_;
  int port_, backend_port_ = 0;
  std::unique_ptr<Child> backend_, child_;
};

}  // namespace

std::unique_ptr<ProxyUnderTest> start_nginx(const std::string& dir, const Content& content) {
  return std::make_unique<Nginx>(dir, content);
}

std::unique_ptr<ProxyUnderTest> start_haproxy(const std::string& dir, const Content& content) {
  return std::make_unique<Haproxy>(dir, content);
}

}  // namespace hooktest
