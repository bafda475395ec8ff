#include "server.hpp"

#include <furnace/core/dirs.hpp>
#include <furnace/core/labels.hpp>
#include <furnace/image/builder.hpp>
#include <furnace/registry/auth.hpp>
#include <furnace/registry/daemon.hpp>
#include <furnace/registry/http.hpp>
#include <furnace/util/atomic_file.hpp>
#include <furnace/util/sha256.hpp>
#include <furnace/util/strings.hpp>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <filesystem>
#include <iostream>
#include <thread>

namespace furnace::registry {

namespace fs = std::filesystem;

namespace {

inline constexpr const char* k_label_registry = "org.furnace.registry";
inline constexpr const char* k_in_container_config = "/etc/docker/registry/config.yml";

struct Paths {
  std::string dir;
  std::string config() const { return dir + "/config.yml"; }
  std::string data() const { return dir + "/data"; }
  std::string auth_dir() const { return dir + "/auth"; }
  std::string htpasswd() const { return dir + "/auth/htpasswd"; }
  std::string certs() const { return dir + "/certs"; }
  std::string log() const { return dir + "/registry.log"; }
  std::string pid() const { return dir + "/registry.pid"; }
  std::string state() const { return dir + "/" + k_state_file; }
};

util::AtomicWriteOptions mode(mode_t m) {
  util::AtomicWriteOptions o;
  o.mode = m;
  return o;
}

int exit_of(core::Ui& ui, const core::Error& e) {
  ui.error(e);
  return e.kind == core::ErrorKind::usage ? 2 : 1;
}

std::string container_name(const std::string& dir) {
  return "furnace-registry-" + util::sha256_hex(dir).substr(0, 12);
}

// The host part clients use to reach a registry listening on `listen`.
std::string client_host(const std::string& address) {
  return address == "0.0.0.0" ? "127.0.0.1" : address;
}

std::string last_lines(const std::string& file, std::size_t n) {
  const std::string text = util::read_file(file).value_or("");
  std::size_t pos = text.size();
  for (std::size_t i = 0; i <= n && pos != std::string::npos && pos > 0; ++i) {
    pos = text.rfind('\n', pos - 1);
  }
  return pos == std::string::npos || text.empty() ? text : text.substr(pos + 1);
}

core::Result<util::ProcessOutput> run_cli(core::Context& ctx,
                                          const std::vector<std::string>& argv,
                                          std::chrono::milliseconds timeout) {
  util::ProcessOptions o;
  o.timeout = timeout;
  auto r = ctx.runner.run(argv, o);
  if (!r) {
    return core::fail(core::ErrorKind::not_found,
                      fmt::format("cannot run {}: {}", argv.front(), r.error().message));
  }
  return *r;
}

// The Distribution binary on this host: $FURNACE_REGISTRY_BINARY, else docker-registry (Debian)
// or registry in PATH, else /usr/bin/docker-registry.
std::optional<std::string> find_binary(const core::Context& ctx) {
  if (auto b = ctx.getenv("FURNACE_REGISTRY_BINARY"); b && !b->empty()) {
    return *b;
  }
  const std::string path = ctx.getenv("PATH").value_or("") + ":/usr/bin:/usr/local/bin";
  for (const char* name : {"docker-registry", "registry"}) {
    if (auto p = util::find_in_path(name, path)) {
      return *p;
    }
  }
  return std::nullopt;
}

// True when nothing accepts a connection on address:port: a registry of someone else's there
// would otherwise answer our readiness check. (A connect, not a bind: the sockets a stopped
// registry leaves behind for a while must not count.)
bool port_free(const std::string& address, int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    return true;
  }
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<std::uint16_t>(port));
  const std::string host = address == "0.0.0.0" || address == "localhost" ? "127.0.0.1" : address;
  ::inet_pton(AF_INET, host.c_str(), &a.sin_addr);
  const bool listening = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  ::close(fd);
  return !listening;
}

bool is_running(core::Context& ctx, engine::Engine& engine, const Paths& p, const State& s) {
  (void)ctx;
  if (s.backend == Backend::binary) {
    const int pid = std::atoi(util::read_file(p.pid()).value_or("0").c_str());
    return process_matches(pid, p.config());
  }
  auto c = engine.inspect_container(s.container);
  return c && c->running;
}

// Waits until GET /v2/ answers as a registry does (200, or 401 with login); false after `limit`.
bool wait_answers(const State& s,
                  const std::string& ca_file,
                  std::chrono::milliseconds limit,
                  const std::function<bool()>& still_alive) {
  HttpRequest req;
  req.url = fmt::format("{}://{}/v2/", s.tls ? "https" : "http", s.address);
  req.ca_file = ca_file;
  req.verify_tls = false; // a readiness check on this host; clients verify
  req.timeout = std::chrono::milliseconds(2000);
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    auto a = http_request(req);
    if (a && (a->status == 200 || a->status == 401) &&
        !a->header("Docker-Distribution-Api-Version").empty()) {
      return true;
    }
    if (!still_alive()) {
      return false;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return false;
}

core::Result<std::string> read_password(core::Context& ctx, const UpOptions& o) {
  if (!o.password_stdin) {
    return random_token(18);
  }
  std::string line;
  if (!std::getline(std::cin, line)) {
    return core::fail(core::ErrorKind::usage,
                      "--password-stdin: nothing on stdin",
                      "pipe the password in: printf '%s\\n' \"$PW\" | furnace registry up --auth "
                      "--password-stdin");
  }
  if (!line.empty() && line.back() == '\r') {
    line.pop_back();
  }
  (void)ctx;
  if (line.empty()) {
    return core::fail(core::ErrorKind::usage, "--password-stdin: the password is empty");
  }
  return line;
}

// USER:PASSWORD from a file only its owner can read.
core::Result<std::pair<std::string, std::string>> read_proxy_credentials(const std::string& file) {
  struct stat st {};
  if (::stat(file.c_str(), &st) != 0) {
    return core::fail(core::ErrorKind::not_found,
                      fmt::format("--proxy-credentials {}: no such file", file));
  }
  if ((st.st_mode & 077U) != 0) {
    return core::fail(core::ErrorKind::permission,
                      fmt::format("--proxy-credentials {} is readable by others (mode {:o})",
                                  file,
                                  st.st_mode & 0777U),
                      fmt::format("chmod 600 {}", file));
  }
  auto text = util::read_file(file);
  if (!text) {
    return core::fail(core::ErrorKind::io, text.error().message);
  }
  std::string line = std::string(util::trim(*text));
  const auto colon = line.find(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == line.size()) {
    return core::fail(core::ErrorKind::invalid,
                      fmt::format("{}: expected one line USER:PASSWORD", file));
  }
  return std::make_pair(line.substr(0, colon), line.substr(colon + 1));
}

// Starts the registry `s` describes (its config already written); returns the pid (binary) or 0.
core::Result<int> start(core::Context& ctx,
                        const Paths& p,
                        const State& s,
                        const std::vector<std::string>& container_mounts) {
  if (s.backend == Backend::binary) {
    auto bin = find_binary(ctx);
    if (!bin) {
      return core::fail(core::ErrorKind::not_found,
                        "no Distribution registry binary on this host",
                        "sudo apt-get install docker-registry");
    }
    return spawn_detached({*bin, "serve", p.config()}, p.log(), p.pid());
  }
  const std::string docker = image::docker_cli(ctx.env);
  (void)run_cli(ctx, {docker, "rm", "-f", s.container}, std::chrono::milliseconds(30000));
  const auto colon = s.address.rfind(':');
  std::vector<std::string> argv{
      docker,
      "run",
      "-d",
      "--name",
      s.container,
      "--label",
      std::string(k_label_registry) + "=" + p.dir,
      "--restart",
      "unless-stopped",
      "-p",
      fmt::format("{}:{}:5000", s.address.substr(0, colon), s.address.substr(colon + 1)),
      "-v",
      p.data() + ":/var/lib/registry",
      "-v",
      p.config() + ":" + k_in_container_config + ":ro"};
  for (const auto& m : container_mounts) {
    argv.emplace_back("-v");
    argv.push_back(m);
  }
  argv.insert(argv.end(), {s.image, "serve", k_in_container_config});
  auto r = run_cli(ctx, argv, std::chrono::milliseconds(60000));
  if (!r) {
    return core::fail(r.error());
  }
  if (!r->status.ok()) {
    return core::fail(core::ErrorKind::remote,
                      fmt::format("docker run {}: {}", s.image, util::trim(r->err)));
  }
  return 0;
}

// The mounts the container backend needs beyond data and config (auth, certificates).
std::vector<std::string> container_mounts(const Paths& p,
                                          const ServerConfig& c,
                                          const std::string& host_cert,
                                          const std::string& host_key) {
  std::vector<std::string> m;
  if (!c.htpasswd.empty()) {
    m.push_back(p.auth_dir() + ":/auth:ro");
  }
  if (!c.tls_cert.empty()) {
    m.push_back(host_cert + ":/certs/server.crt:ro");
    m.push_back(host_key + ":/certs/server.key:ro");
  }
  return m;
}

std::uint64_t tree_size(const std::string& dir) {
  std::uint64_t total = 0;
  std::error_code ec;
  for (auto it =
           fs::recursive_directory_iterator(dir, fs::directory_options::skip_permission_denied, ec);
       !ec && it != fs::recursive_directory_iterator();
       it.increment(ec)) {
    std::error_code ec2;
    if (it->is_regular_file(ec2)) {
      total += it->file_size(ec2);
    }
  }
  return total;
}

struct DiskUse {
  std::uint64_t registry = 0; // bytes under the storage
  std::uint64_t free = 0;     // of its file system, for unprivileged users
  std::uint64_t total = 0;
};

DiskUse disk_use(const std::string& storage) {
  DiskUse u;
  struct statvfs vfs {};
  if (::statvfs(storage.c_str(), &vfs) == 0) {
    u.free = static_cast<std::uint64_t>(vfs.f_bavail) * vfs.f_frsize;
    u.total = static_cast<std::uint64_t>(vfs.f_blocks) * vfs.f_frsize;
  }
  u.registry = tree_size(storage);
  return u;
}

core::Result<void>
stop(core::Context& ctx, engine::Engine& engine, const Paths& p, const State& s) {
  if (s.backend == Backend::binary) {
    const int pid = std::atoi(util::read_file(p.pid()).value_or("0").c_str());
    if (process_matches(pid, p.config()) && !stop_process(pid, std::chrono::milliseconds(10000))) {
      return core::fail(core::ErrorKind::internal,
                        fmt::format("the registry (pid {}) does not stop", pid));
    }
    std::error_code ec;
    fs::remove(p.pid(), ec);
    return {};
  }
  (void)ctx;
  if (auto r = engine.stop_container(s.container, 10);
      !r && r.error().kind != core::ErrorKind::not_found) {
    return core::fail(r.error());
  }
  return {};
}

} // namespace

std::string registry_dir(const core::Context& ctx, const std::string& dir) {
  if (dir.empty()) {
    return core::dirs_from_env(ctx.env).data + "/registry";
  }
  std::error_code ec;
  const fs::path abs = fs::absolute(dir, ec);
  return (ec ? fs::path(dir) : abs).lexically_normal().string();
}

core::Result<State> read_state(const std::string& dir) {
  const std::string file = dir + "/" + k_state_file;
  auto text = util::read_file(file);
  if (!text) {
    return core::fail(core::ErrorKind::not_found,
                      fmt::format("no registry was started in {}", dir),
                      "start one with 'furnace registry up --dir " + dir + "'");
  }
  return parse_state(*text, file);
}

std::optional<DiskHealth> disk_health(const core::Context& ctx, const std::string& dir) {
  const Paths p{registry_dir(ctx, dir)};
  auto s = read_state(p.dir);
  if (!s) {
    return std::nullopt;
  }
  const DiskUse use = disk_use(p.data());
  return DiskHealth{p.dir, s->address, disk_report(use.registry, use.free, use.total)};
}

std::vector<std::string> catalog_from_storage(const std::string& storage_dir) {
  std::vector<std::string> out;
  const fs::path repos = fs::path(storage_dir) / "docker/registry/v2/repositories";
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(repos, ec);
       !ec && it != fs::recursive_directory_iterator();
       it.increment(ec)) {
    if (it->path().filename() != "_manifests") {
      continue;
    }
    it.disable_recursion_pending();
    const std::string repo = it->path().parent_path().lexically_relative(repos).string();
    std::error_code ec2;
    std::vector<std::string> tags;
    for (const auto& t : fs::directory_iterator(it->path() / "tags", ec2)) {
      tags.push_back(t.path().filename().string());
    }
    std::sort(tags.begin(), tags.end());
    if (tags.empty()) {
      out.push_back(repo);
    }
    for (const auto& t : tags) {
      out.push_back(repo + ":" + t);
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

namespace {

// What `up` decides before it touches anything, then fills in as it goes.
struct UpPlan {
  ServerConfig config;
  State state;
  std::string listen;    // "127.0.0.1:5000" as given
  std::string password;  // with --auth
  std::string host_cert; // with TLS, as the host sees them
  std::string host_key;
  std::string ca_file; // a CA furnace made
  bool in_container() const { return state.backend == Backend::container; }
};

// The options checked, the proxy section and the backend chosen.
core::Result<UpPlan>
plan_up(core::Context& ctx, engine::Engine& engine, const UpOptions& o, const Paths& p) {
  UpPlan plan;
  if (!o.tls.empty() && o.tls.size() != 2) {
    return core::fail(core::ErrorKind::usage, "--tls takes CERT KEY");
  }
  auto listen = listen_address(o.address, o.port, o.auth, o.allow_insecure);
  if (!listen) {
    return core::fail(listen.error());
  }
  plan.listen = *listen;
  if (!is_loopback_host(o.address) && !o.auth) {
    ctx.ui.warn(
        fmt::format("the registry on {} is open: anyone who reaches it can push and pull, "
                    "over plain HTTP",
                    plan.listen),
        "clients must list it with 'sudo furnace setup --insecure-registry " +
            fmt::format("HOST:{} --allow-insecure'; use --auth for login over TLS", o.port));
  }
  State& s = plan.state;
  s.address = fmt::format("{}:{}", client_host(o.address), o.port);
  if (o.proxy) {
    auto up = proxy_upstream(o.proxy_url);
    if (!up) {
      return core::fail(up.error());
    }
    plan.config.proxy_url = *up;
    plan.config.proxy_ttl = o.ttl;
    s.proxy = *up;
    if (!o.proxy_credentials.empty()) {
      auto cred = read_proxy_credentials(o.proxy_credentials);
      if (!cred) {
        return core::fail(cred.error());
      }
      plan.config.proxy_username = cred->first;
      plan.config.proxy_password = cred->second;
      ctx.ui.warn("with upstream credentials the cache serves that account's private images to "
                  "everyone who can reach it",
                  o.auth ? "" : "add --auth so that only your lab can pull through it");
    }
  } else if (!o.proxy_credentials.empty()) {
    return core::fail(core::ErrorKind::usage, "--proxy-credentials needs --proxy");
  }
  if (o.backend == "container" || o.backend == "auto") {
    if (engine.inspect_image(o.image)) {
      s.backend = Backend::container;
    } else if (o.backend == "container") {
      return core::fail(core::ErrorKind::not_found,
                        fmt::format("the engine has no image {}", o.image),
                        fmt::format("docker pull {}", o.image));
    }
  }
  if (s.backend == Backend::binary && !find_binary(ctx)) {
    return core::fail(core::ErrorKind::not_found,
                      fmt::format("no registry to run: the engine has no {} image and "
                                  "this host has no Distribution binary",
                                  o.image),
                      "sudo apt-get install docker-registry, or docker pull " + o.image);
  }
  s.image = plan.in_container() ? o.image : "";
  s.container = plan.in_container() ? container_name(p.dir) : "";
  return plan;
}

// Login (a bcrypt htpasswd file) and TLS: the given certificate, or a CA and certificate made
// here when there is a login (the registry refuses login over plain HTTP).
core::Result<void>
prepare_login(core::Context& ctx, const UpOptions& o, const Paths& p, UpPlan& plan) {
  if (o.auth) {
    auto pw = read_password(ctx, o);
    if (!pw) {
      return core::fail(pw.error());
    }
    plan.password = *pw;
    auto line = htpasswd_line(o.user, plan.password);
    if (!line) {
      return core::fail(line.error());
    }
    std::error_code ec;
    fs::create_directories(p.auth_dir(), ec);
    ::chmod(p.auth_dir().c_str(), 0700);
    if (auto w = util::write_file_atomic(p.htpasswd(), *line + "\n", mode(0600)); !w) {
      return core::fail(core::ErrorKind::io, w.error().message);
    }
    plan.config.htpasswd = plan.in_container() ? "/auth/htpasswd" : p.htpasswd();
    plan.state.auth = true;
  }
  if (o.tls.size() == 2) {
    plan.host_cert = fs::absolute(o.tls[0]).string();
    plan.host_key = fs::absolute(o.tls[1]).string();
    for (const auto& f : {plan.host_cert, plan.host_key}) {
      if (::access(f.c_str(), R_OK) != 0) {
        return core::fail(core::ErrorKind::not_found, fmt::format("--tls: cannot read {}", f));
      }
    }
  } else if (o.auth) {
    std::vector<std::string> names;
    if (o.address == "0.0.0.0") {
      std::array<char, 256> host{};
      if (::gethostname(host.data(), host.size() - 1) == 0 && host[0] != '\0') {
        names.emplace_back(host.data());
      }
    } else if (o.address != "127.0.0.1") {
      names.push_back(o.address);
    }
    names.emplace_back("127.0.0.1");
    names.emplace_back("localhost");
    auto certs = make_certificates(ctx.runner, p.certs(), names);
    if (!certs) {
      return core::fail(certs.error());
    }
    plan.host_cert = certs->cert;
    plan.host_key = certs->key;
    plan.ca_file = certs->ca_cert;
  }
  if (!plan.host_cert.empty()) {
    plan.config.tls_cert = plan.in_container() ? "/certs/server.crt" : plan.host_cert;
    plan.config.tls_key = plan.in_container() ? "/certs/server.key" : plan.host_key;
    plan.state.tls = true;
  }
  return {};
}

// What to tell the admin and the clients.
void report_up(core::Context& ctx, const UpOptions& o, const Paths& p, const UpPlan& plan) {
  const State& s = plan.state;
  const std::string scheme = s.tls ? "https" : "http";
  const std::string client_address =
      o.address == "0.0.0.0" ? fmt::format("HOST:{}", o.port) : s.address;
  auto& out = ctx.ui.out();
  out << fmt::format(
      "registry up at {}://{} ({})\n",
      scheme,
      plan.listen,
      s.backend == Backend::binary
          ? fmt::format("{}, pid {}, log {}", find_binary(ctx).value_or("?"), s.pid, p.log())
          : fmt::format("container {} of {}", s.container, s.image));
  out << fmt::format("storage: {}\n", p.data());
  if (!s.proxy.empty()) {
    out << fmt::format("pull-through cache of {} (read-only; cached content expires after {})\n",
                       s.proxy,
                       plan.config.proxy_ttl);
    out << fmt::format("clients: sudo furnace setup --mirror {}://{}\n", scheme, client_address);
    if (s.proxy != "https://registry-1.docker.io") {
      out << "  (an engine sends only Docker Hub pulls to a mirror; pull other images by the "
             "cache's address)\n";
    }
  } else {
    out << fmt::format("push: furnace push --registry {}\n", s.address);
  }
  if (s.auth) {
    out << fmt::format("login: user {}", o.user);
    if (!o.password_stdin) {
      out << fmt::format(", password {} (shown once; only its bcrypt hash is kept)", plan.password);
    }
    out << "\n";
    if (!plan.ca_file.empty()) {
      out << fmt::format("CA certificate: {}\n", plan.ca_file);
      out << fmt::format("on each client: sudo mkdir -p /etc/docker/certs.d/{0} && sudo cp {1} "
                         "/etc/docker/certs.d/{0}/ca.crt && docker login {0}\n",
                         client_address,
                         plan.ca_file);
    }
  }
}

} // namespace

int run_registry_up(core::Context& ctx, engine::Engine& engine, const UpOptions& o) {
  const Paths p{registry_dir(ctx, o.dir)};
  auto planned = plan_up(ctx, engine, o, p);
  if (!planned) {
    return exit_of(ctx.ui, planned.error());
  }
  UpPlan& plan = *planned;
  State& s = plan.state;

  // An earlier registry of this directory makes way for the new config.
  bool stopped_old = false;
  if (auto old = read_state(p.dir); old && is_running(ctx, engine, p, *old)) {
    stopped_old = true;
    ctx.ui.info(
        fmt::format("stopping the registry running from {} to apply the new settings", p.dir));
    if (auto r = stop(ctx, engine, p, *old); !r) {
      return exit_of(ctx.ui, r.error());
    }
    if (old->backend == Backend::container && s.backend == Backend::binary) {
      (void)engine.remove_container(old->container, true);
    }
  }
  // The port of a registry just stopped can take a moment to close (its threads exit after the
  // main one); anything else listening there is refused at once.
  bool free = port_free(o.address, o.port);
  for (int i = 0; !free && stopped_old && i < 100; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    free = port_free(o.address, o.port);
  }
  if (!free) {
    return exit_of(ctx.ui,
                   core::make_error(core::ErrorKind::unavailable,
                                    fmt::format("{} is already in use", plan.listen),
                                    "pick another --port, or stop what listens there "
                                    "('ss -ltnp' names it)"));
  }
  std::error_code ec;
  fs::create_directories(p.data(), ec);
  if (ec) {
    return exit_of(ctx.ui,
                   core::make_error(core::ErrorKind::io,
                                    fmt::format("cannot create {}: {}", p.data(), ec.message())));
  }
  ::chmod(p.dir.c_str(), 0755);
  if (auto l = prepare_login(ctx, o, p, plan); !l) {
    return exit_of(ctx.ui, l.error());
  }

  auto secret = random_token(32);
  if (!secret) {
    return exit_of(ctx.ui, secret.error());
  }
  ServerConfig& c = plan.config;
  c.http_secret = *secret;
  c.listen = plan.in_container() ? "0.0.0.0:5000" : plan.listen;
  c.storage_dir = plan.in_container() ? "/var/lib/registry" : p.data();
  if (auto w = util::write_file_atomic(p.config(), render_config(c), mode(0600)); !w) {
    return exit_of(ctx.ui, core::make_error(core::ErrorKind::io, w.error().message));
  }
  auto pid = start(ctx, p, s, container_mounts(p, c, plan.host_cert, plan.host_key));
  if (!pid) {
    return exit_of(ctx.ui, pid.error());
  }
  s.pid = *pid;
  auto alive = [&] { return is_running(ctx, engine, p, s); };
  if (!wait_answers(s, plan.ca_file, std::chrono::milliseconds(30000), alive)) {
    const std::string tail = s.backend == Backend::binary ? last_lines(p.log(), 15) : "";
    (void)stop(ctx, engine, p, s);
    return exit_of(ctx.ui,
                   core::make_error(core::ErrorKind::unavailable,
                                    fmt::format("the registry did not answer on {} within 30 s{}{}",
                                                s.address,
                                                tail.empty() ? "" : "; its log ends:\n",
                                                tail),
                                    s.backend == Backend::binary
                                        ? "see " + p.log()
                                        : "see 'docker logs " + s.container + "'"));
  }
  if (auto w = util::write_file_atomic(p.state(), render_state(s), mode(0644)); !w) {
    return exit_of(ctx.ui, core::make_error(core::ErrorKind::io, w.error().message));
  }
  report_up(ctx, o, p, plan);
  return 0;
}

int run_registry_status(core::Context& ctx, engine::Engine& engine, const DirOptions& o) {
  const Paths p{registry_dir(ctx, o.dir)};
  auto s = read_state(p.dir);
  if (!s) {
    return exit_of(ctx.ui, s.error());
  }
  const bool running = is_running(ctx, engine, p, *s);
  bool answers = false;
  if (running) {
    HttpRequest req;
    req.url = fmt::format("{}://{}/v2/", s->tls ? "https" : "http", s->address);
    req.verify_tls = false;
    auto a = http_request(req);
    answers = a && (a->status == 200 || a->status == 401);
  }
  const DiskUse use = disk_use(p.data());
  const std::uint64_t used = use.registry;
  const std::uint64_t free_bytes = use.free;
  const std::uint64_t total_bytes = use.total;
  const DiskReport disk = disk_report(used, free_bytes, total_bytes);
  const std::vector<std::string> catalog = catalog_from_storage(p.data());
  const std::string url = fmt::format("{}://{}", s->tls ? "https" : "http", s->address);
  if (o.json) {
    nlohmann::ordered_json j;
    j["up"] = running && answers;
    j["running"] = running;
    j["address"] = s->address;
    j["url"] = url;
    j["backend"] = s->backend == Backend::container ? "container" : "binary";
    j["proxy"] = s->proxy;
    j["auth"] = s->auth;
    j["tls"] = s->tls;
    j["storage"] = p.data();
    j["disk"] = {{"registry_bytes", used},
                 {"free_bytes", free_bytes},
                 {"total_bytes", total_bytes},
                 {"warn", disk.warn}};
    j["catalog"] = catalog;
    ctx.ui.out() << j.dump(2) << '\n';
  } else {
    auto& out = ctx.ui.out();
    out << fmt::format("registry: {} {}\n",
                       running ? (answers ? "up at" : "running but not answering at")
                               : "down; was at",
                       url);
    out << fmt::format("kind:     {}\n",
                       s->proxy.empty() ? "image store (push and pull)"
                                        : "pull-through cache of " + s->proxy);
    out << fmt::format("runs as:  {}\n",
                       s->backend == Backend::container
                           ? "container " + s->container + " (" + s->image + ")"
                           : "process (pidfile " + p.pid() + ", log " + p.log() + ")");
    out << fmt::format("login:    {}\n", s->auth ? "htpasswd (bcrypt), over TLS" : "none");
    out << fmt::format("storage:  {}\n", p.data());
    out << fmt::format("disk:     {}\n", disk.line);
    out << fmt::format("catalog:  {} image(s)\n", catalog.size());
    for (const auto& c : catalog) {
      out << "  " << c << '\n';
    }
  }
  if (disk.warn) {
    ctx.ui.warn(fmt::format("the registry's disk is 90% full or more ({})", p.data()),
                s->proxy.empty()
                    ? "delete unused tags, then 'furnace registry gc'"
                    : "cached content expires after its TTL; free space or move --dir");
  }
  return running && answers && !disk.warn ? 0 : 1;
}

int run_registry_down(core::Context& ctx, engine::Engine& engine, const DirOptions& o) {
  const Paths p{registry_dir(ctx, o.dir)};
  auto s = read_state(p.dir);
  if (!s) {
    return exit_of(ctx.ui, s.error());
  }
  if (!is_running(ctx, engine, p, *s)) {
    ctx.ui.info(fmt::format("the registry of {} is not running", p.dir));
  }
  if (auto r = stop(ctx, engine, p, *s); !r) {
    return exit_of(ctx.ui, r.error());
  }
  if (s->backend == Backend::container) {
    (void)engine.remove_container(s->container, true);
  }
  ctx.ui.out() << fmt::format(
      "registry at {} stopped (storage kept in {})\n", s->address, p.data());
  return 0;
}

int run_registry_gc(core::Context& ctx, engine::Engine& engine, const DirOptions& o) {
  const Paths p{registry_dir(ctx, o.dir)};
  auto s = read_state(p.dir);
  if (!s) {
    return exit_of(ctx.ui, s.error());
  }
  const bool was_running = is_running(ctx, engine, p, *s);
  if (was_running) {
    ctx.ui.info("stopping the registry for garbage collection (a push during the sweep could lose "
                "blobs); it starts again afterwards");
    if (auto r = stop(ctx, engine, p, *s); !r) {
      return exit_of(ctx.ui, r.error());
    }
  }
  std::vector<std::string> argv;
  if (s->backend == Backend::binary) {
    auto bin = find_binary(ctx);
    if (!bin) {
      return exit_of(ctx.ui,
                     core::make_error(core::ErrorKind::not_found,
                                      "no Distribution registry binary on this host",
                                      "sudo apt-get install docker-registry"));
    }
    argv = {*bin, "garbage-collect", "--delete-untagged", p.config()};
  } else {
    argv = {image::docker_cli(ctx.env),
            "run",
            "--rm",
            "--network",
            "none",
            "-v",
            p.data() + ":/var/lib/registry",
            "-v",
            p.config() + ":" + k_in_container_config + ":ro",
            s->image,
            "garbage-collect",
            "--delete-untagged",
            k_in_container_config};
  }
  auto r = run_cli(ctx, argv, std::chrono::milliseconds(3600 * 1000));
  int code = 0;
  if (!r || !r->status.ok()) {
    ctx.ui.error(core::make_error(
        core::ErrorKind::remote,
        fmt::format("garbage-collect failed: {}", r ? util::trim(r->err) : r.error().message)));
    code = 1;
  } else {
    std::string tail = std::string(util::trim(r->out));
    const auto nl = tail.rfind('\n');
    ctx.ui.out() << "garbage-collect: " << (nl == std::string::npos ? tail : tail.substr(nl + 1))
                 << '\n';
  }
  if (was_running) {
    if (s->backend == Backend::binary) {
      auto pid = start(ctx, p, *s, {});
      if (!pid) {
        return exit_of(ctx.ui, pid.error());
      }
      s->pid = *pid;
      (void)util::write_file_atomic(p.state(), render_state(*s), mode(0644));
    } else {
      (void)run_cli(ctx,
                    {image::docker_cli(ctx.env), "start", s->container},
                    std::chrono::milliseconds(30000));
    }
    auto alive = [&] { return is_running(ctx, engine, p, *s); };
    if (!wait_answers(*s, "", std::chrono::milliseconds(30000), alive)) {
      return exit_of(ctx.ui,
                     core::make_error(core::ErrorKind::unavailable,
                                      "the registry did not come back after gc",
                                      "furnace registry up --dir " + p.dir));
    }
    ctx.ui.info(fmt::format("registry at {} is up again", s->address));
  }
  return code;
}

} // namespace furnace::registry
