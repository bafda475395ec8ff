#include "docker_api.hpp"

#include <furnace/engine/curl_lib.hpp>
#include <furnace/util/strings.hpp>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>

namespace furnace::engine {
namespace {

using nlohmann::json;

struct Transfer {
  std::string body;
  long status = 0; // from the status line: an error's body is kept even when streaming
  std::string api_version;
  bool libpod = false;
  const std::function<void(std::string_view)>* on_data = nullptr;
};

std::size_t on_write(char* ptr, std::size_t size, std::size_t nmemb, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const std::size_t n = size * nmemb;
  constexpr std::size_t k_error_body_max = 65536;
  if (t->on_data != nullptr && *t->on_data && t->status < 400) {
    (*t->on_data)(std::string_view(ptr, n));
  } else if (t->status >= 400) {
    // An error's body is its message ({"message": "…"}), never a stream: kept for http_error.
    t->body.append(ptr, std::min(n, k_error_body_max - std::min(t->body.size(), k_error_body_max)));
  } else {
    t->body.append(ptr, n);
  }
  return n;
}

std::size_t on_header(char* ptr, std::size_t size, std::size_t nmemb, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const std::size_t n = size * nmemb;
  const std::string_view line(ptr, n);
  if (line.rfind("HTTP/", 0) == 0) {
    // A status line (one per response: a redirect or 100-continue has its own).
    const auto space = line.find(' ');
    t->status =
        space == std::string_view::npos ? 0 : std::strtol(line.data() + space + 1, nullptr, 10);
    t->body.clear();
    return n;
  }
  const auto colon = line.find(':');
  if (colon != std::string_view::npos) {
    const std::string name = util::to_lower(line.substr(0, colon));
    const std::string value(util::trim(line.substr(colon + 1)));
    if (name == "api-version") {
      t->api_version = value;
    } else if (name == "libpod-api-version") {
      t->libpod = true;
    }
  }
  return n;
}

std::string string_at(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

long long int_at(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_number() ? it->get<long long>() : 0;
}

std::vector<std::string> strings_at(const json& j, const char* key) {
  std::vector<std::string> out;
  auto it = j.find(key);
  if (it != j.end() && it->is_array()) {
    for (const auto& v : *it) {
      if (v.is_string()) {
        out.push_back(v.get<std::string>());
      }
    }
  }
  return out;
}

std::map<std::string, std::string> labels_at(const json& j, const char* key) {
  std::map<std::string, std::string> out;
  auto it = j.find(key);
  if (it != j.end() && it->is_object()) {
    for (const auto& [k, v] : it->items()) {
      if (v.is_string()) {
        out.emplace(k, v.get<std::string>());
      }
    }
  }
  return out;
}

// /containers/json's "Ports": [{"IP": "127.0.0.1", "PrivatePort": 8888, "PublicPort": 49153,
// "Type": "tcp"}]; entries without a PublicPort are exposed, not published.
std::vector<PublishedPort> summary_ports(const json& c) {
  std::vector<PublishedPort> out;
  auto it = c.find("Ports");
  if (it == c.end() || !it->is_array()) {
    return out;
  }
  for (const auto& p : *it) {
    if (!p.is_object() || int_at(p, "PublicPort") == 0) {
      continue;
    }
    out.push_back(PublishedPort{string_at(p, "IP"),
                                static_cast<int>(int_at(p, "PublicPort")),
                                static_cast<int>(int_at(p, "PrivatePort")),
                                string_at(p, "Type")});
  }
  return out;
}

// Inspect's NetworkSettings.Ports: {"8888/tcp": [{"HostIp": "127.0.0.1", "HostPort": "49153"}]}
// (null for an exposed port that is not published).
std::vector<PublishedPort> inspect_ports(const json& j) {
  std::vector<PublishedPort> out;
  auto ns = j.find("NetworkSettings");
  if (ns == j.end() || !ns->is_object()) {
    return out;
  }
  auto ports = ns->find("Ports");
  if (ports == ns->end() || !ports->is_object()) {
    return out;
  }
  for (const auto& [key, bindings] : ports->items()) {
    if (!bindings.is_array()) {
      continue;
    }
    const auto slash = key.find('/');
    PublishedPort base;
    base.container_port = std::atoi(key.substr(0, slash).c_str()); // NOLINT(cert-err34-c)
    base.protocol = slash == std::string::npos ? "tcp" : key.substr(slash + 1);
    for (const auto& b : bindings) {
      if (!b.is_object()) {
        continue;
      }
      PublishedPort p = base;
      p.host_ip = string_at(b, "HostIp");
      p.host_port = std::atoi(string_at(b, "HostPort").c_str()); // NOLINT(cert-err34-c)
      if (p.host_port > 0) {
        out.push_back(std::move(p));
      }
    }
  }
  return out;
}

core::Error connect_error(const Endpoint& ep, long os_errno, const std::string& curl_message) {
  const bool default_place = ep.source == "default";
  if (ep.kind == Endpoint::Kind::unix_socket) {
    if (os_errno == ENOENT) {
      return core::make_error(
          core::ErrorKind::unavailable,
          fmt::format("cannot connect to the engine at {}: no such socket", ep.uri),
          default_place
              ? "the Docker engine is not installed or not running: install it with "
                "'sudo apt-get install docker.io' and start it with 'sudo systemctl start docker' "
                "(or 'sudo service docker start')"
              : fmt::format("{} points at {}; unset it or point it at a running engine",
                            ep.source,
                            ep.uri));
    }
    if (os_errno == EACCES || os_errno == EPERM) {
      return core::make_error(
          core::ErrorKind::permission,
          fmt::format("cannot connect to the engine at {}: permission denied", ep.uri),
          "add yourself to the docker group with 'sudo usermod -aG docker $USER', then log out "
          "and back in (or run 'newgrp docker'); the docker group is root-equivalent");
    }
    if (os_errno == ECONNREFUSED) {
      return core::make_error(
          core::ErrorKind::unavailable,
          fmt::format("cannot connect to the engine at {}: connection refused", ep.uri),
          "the socket exists but no engine answers: start it with 'sudo systemctl start docker' "
          "(or 'sudo service docker start')");
    }
  }
  return core::make_error(
      core::ErrorKind::unavailable,
      fmt::format("cannot connect to the engine at {}: {}{}",
                  ep.uri,
                  curl_message,
                  os_errno != 0
                      ? std::string(" (") + std::strerror(static_cast<int>(os_errno)) + ")"
                      : std::string()),
      "check that the engine runs and that DOCKER_HOST is right; run "
      "'furnace doctor'");
}

core::Error http_error(const std::string& method, const std::string& path, const HttpResponse& r) {
  std::string message;
  try {
    const auto j = json::parse(r.body);
    message = string_at(j, "message");
  } catch (const json::exception&) {
    message = std::string(util::trim(r.body));
  }
  if (message.empty()) {
    message = fmt::format("HTTP {}", r.status);
  }
  const auto kind = r.status == 404 ? core::ErrorKind::not_found : core::ErrorKind::remote;
  (void)method;
  (void)path;
  return core::make_error(kind, fmt::format("engine: {}", message));
}

core::Result<json> parse_json(const std::string& body, const std::string& what) {
  try {
    return json::parse(body);
  } catch (const json::exception& e) {
    return core::fail(core::ErrorKind::remote,
                      fmt::format("engine sent invalid JSON for {}: {}", what, e.what()));
  }
}

bool valid_ref(const std::string& ref) {
  if (ref.empty() || ref.size() > 512) {
    return false;
  }
  for (const char c : ref) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    std::strchr("._-/:@", c) != nullptr;
    if (!ok) {
      return false;
    }
  }
  return true;
}

} // namespace

int compare_api_versions(const std::string& a, const std::string& b) {
  const auto pa = util::split(a, '.');
  const auto pb = util::split(b, '.');
  for (std::size_t i = 0; i < std::max(pa.size(), pb.size()); ++i) {
    const long x = i < pa.size() ? std::strtol(pa[i].c_str(), nullptr, 10) : 0;
    const long y = i < pb.size() ? std::strtol(pb[i].c_str(), nullptr, 10) : 0;
    if (x != y) {
      return x < y ? -1 : 1;
    }
  }
  return 0;
}

core::Result<std::string> negotiate_api_version(const std::string& engine_version) {
  if (engine_version.empty()) {
    // Engines before 1.25 sent no header; talk at our minimum and let the engine refuse.
    return std::string(k_min_api_version);
  }
  if (compare_api_versions(engine_version, k_min_api_version) < 0) {
    return core::fail(core::ErrorKind::unavailable,
                      fmt::format("the engine speaks API {}, furnace needs at least {}",
                                  engine_version,
                                  k_min_api_version),
                      "upgrade the engine (Docker 1.12 or newer)");
  }
  if (compare_api_versions(engine_version, k_max_api_version) > 0) {
    return std::string(k_max_api_version);
  }
  return engine_version;
}

ImageRef parse_image_ref(const std::string& ref) {
  ImageRef out;
  std::string rest = ref;
  if (const auto at = rest.find('@'); at != std::string::npos) {
    out.digest = rest.substr(at + 1);
    rest = rest.substr(0, at);
  }
  const auto slash = rest.rfind('/');
  const auto colon = rest.rfind(':');
  if (colon != std::string::npos && (slash == std::string::npos || colon > slash)) {
    out.tag = rest.substr(colon + 1);
    rest = rest.substr(0, colon);
  } else if (out.digest.empty()) {
    out.tag = "latest";
  }
  out.name = rest;
  return out;
}

DockerApi::DockerApi(Endpoint endpoint) : DockerApi(std::move(endpoint), Timeouts{}) {}

DockerApi::Timeouts DockerApi::timeouts_from_env(const std::map<std::string, std::string>& env) {
  Timeouts t;
  if (const auto it = env.find("FURNACE_PULL_STALL"); it != env.end()) {
    try {
      const long long v = std::stoll(it->second);
      if (v >= 1 && v <= 86400) {
        t.pull_stall = std::chrono::seconds(v);
      }
    } catch (const std::exception&) { // not a number: the default
    }
  }
  return t;
}

DockerApi::DockerApi(Endpoint endpoint, Timeouts timeouts)
    : m_endpoint(std::move(endpoint)), m_timeouts(timeouts) {}

DockerApi::~DockerApi() {
  if (m_curl != nullptr) {
    (*curl_lib())->easy_cleanup(static_cast<CURL*>(m_curl));
  }
}

core::Result<HttpResponse>
DockerApi::raw_request(const std::string& method,
                       const std::string& url,
                       const std::string& body,
                       const std::function<void(std::string_view)>& on_data,
                       bool streaming) {
  if (m_endpoint.kind == Endpoint::Kind::unix_socket && !streaming) {
    return unix_request(method, url.substr(m_endpoint.base_url.size()), body);
  }
  auto lib_or = curl_lib();
  if (!lib_or) {
    return core::fail(lib_or.error());
  }
  const CurlLib& lib = **lib_or;
  if (m_curl == nullptr) {
    m_curl = lib.easy_init();
    if (m_curl == nullptr) {
      return core::fail(core::ErrorKind::internal, "libcurl cannot start a transfer");
    }
  }
  auto* curl = static_cast<CURL*>(m_curl);
  lib.easy_reset(curl);
  Transfer t;
  t.on_data = &on_data;
  lib.easy_setopt(curl, CURLOPT_URL, url.c_str());
  lib.easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  lib.easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_write);
  lib.easy_setopt(curl, CURLOPT_WRITEDATA, &t);
  lib.easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
  lib.easy_setopt(curl, CURLOPT_HEADERDATA, &t);
  lib.easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(m_timeouts.connect.count()));
  if (streaming) {
    lib.easy_setopt(curl, CURLOPT_LOW_SPEED_LIMIT, 1L);
    lib.easy_setopt(curl, CURLOPT_LOW_SPEED_TIME, static_cast<long>(m_timeouts.pull_stall.count()));
  } else {
    lib.easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(m_timeouts.call.count()));
  }
  if (m_endpoint.kind == Endpoint::Kind::unix_socket) {
    lib.easy_setopt(curl, CURLOPT_UNIX_SOCKET_PATH, m_endpoint.socket_path.c_str());
  }
  if (m_endpoint.tls_verify) {
    lib.easy_setopt(curl, CURLOPT_CAINFO, m_endpoint.ca_file.c_str());
    lib.easy_setopt(curl, CURLOPT_SSLCERT, m_endpoint.cert_file.c_str());
    lib.easy_setopt(curl, CURLOPT_SSLKEY, m_endpoint.key_file.c_str());
  }
  curl_slist* headers = nullptr;
  if (method == "POST" || method == "PUT") {
    headers = lib.slist_append(headers, "Content-Type: application/json");
    lib.easy_setopt(curl, CURLOPT_POST, 1L);
    lib.easy_setopt(curl, CURLOPT_POSTFIELDS, body.c_str());
    lib.easy_setopt(curl, CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
  } else if (method != "GET") {
    lib.easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method.c_str());
  }
  lib.easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  const CURLcode rc = lib.easy_perform(curl);
  lib.slist_free_all(headers);
  if (rc != CURLE_OK) {
    long os_errno = 0;
    lib.easy_getinfo(curl, CURLINFO_OS_ERRNO, &os_errno);
    if (rc == CURLE_OPERATION_TIMEDOUT) {
      return core::fail(core::ErrorKind::timeout,
                        fmt::format("the engine at {} did not answer {} {} in time",
                                    m_endpoint.uri,
                                    method,
                                    url.substr(url.find('/', 8))),
                        "the engine may be overloaded or hung; check 'sudo journalctl -u docker'");
    }
    if (rc == CURLE_COULDNT_CONNECT || rc == CURLE_COULDNT_RESOLVE_HOST) {
      return core::fail(connect_error(m_endpoint, os_errno, lib.easy_strerror(rc)));
    }
    return core::fail(
        core::ErrorKind::unavailable,
        fmt::format("talking to the engine at {}: {}", m_endpoint.uri, lib.easy_strerror(rc)),
        "run 'furnace doctor'");
  }
  HttpResponse r;
  lib.easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &r.status);
  r.body = std::move(t.body);
  r.api_version_header = std::move(t.api_version);
  r.libpod = t.libpod;
  return r;
}

namespace {

// Splits a raw HTTP/1.1 response into status, headers we use and the (de-chunked) body.
core::Result<HttpResponse> parse_http_response(const std::string& raw) {
  const auto bad = [] {
    return core::fail(core::ErrorKind::remote, "the engine sent a malformed HTTP response");
  };
  const auto head_end = raw.find("\r\n\r\n");
  if (raw.rfind("HTTP/1.", 0) != 0 || head_end == std::string::npos || raw.size() < 12) {
    return bad();
  }
  HttpResponse r;
  r.status = std::strtol(raw.c_str() + 9, nullptr, 10);
  bool chunked = false;
  std::size_t pos = raw.find("\r\n") + 2;
  while (pos < head_end) {
    const std::size_t eol = raw.find("\r\n", pos);
    const std::string_view line(raw.data() + pos, eol - pos);
    const auto colon = line.find(':');
    if (colon != std::string_view::npos) {
      const std::string name = util::to_lower(line.substr(0, colon));
      const std::string value(util::trim(line.substr(colon + 1)));
      if (name == "api-version") {
        r.api_version_header = value;
      } else if (name == "libpod-api-version") {
        r.libpod = true;
      } else if (name == "transfer-encoding" && util::to_lower(value) == "chunked") {
        chunked = true;
      }
    }
    pos = eol + 2;
  }
  const std::string_view rest = std::string_view(raw).substr(head_end + 4);
  if (!chunked) {
    r.body = std::string(rest);
    return r;
  }
  std::size_t at = 0;
  while (true) {
    const std::size_t eol = rest.find("\r\n", at);
    if (eol == std::string_view::npos) {
      return bad();
    }
    const std::string size_text(rest.substr(at, eol - at));
    char* end = nullptr;
    const unsigned long size = std::strtoul(size_text.c_str(), &end, 16);
    if (end == size_text.c_str()) {
      return bad();
    }
    at = eol + 2;
    if (size == 0) {
      return r;
    }
    if (at + size > rest.size()) {
      return bad();
    }
    r.body.append(rest.substr(at, size));
    at += size + 2;
  }
}

} // namespace

// The common case, a local engine and a short query, without libcurl: loading it costs more
// than the whole query (~5 ms of library start-up against ~1 ms).
core::Result<HttpResponse> DockerApi::unix_request(const std::string& method,
                                                   const std::string& path,
                                                   const std::string& body) {
  const auto deadline = std::chrono::steady_clock::now() + m_timeouts.call;
  const auto timed_out = [&] {
    return core::fail(
        core::ErrorKind::timeout,
        fmt::format("the engine at {} did not answer {} {} in time", m_endpoint.uri, method, path),
        "the engine may be overloaded or hung; check 'sudo journalctl -u docker'");
  };
  const auto wait_for = [&](int fd, short events) {
    while (true) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) {
        return false;
      }
      pollfd p{fd, events, 0};
      const int n = ::poll(&p, 1, static_cast<int>(left.count()));
      if (n > 0) {
        return true;
      }
      if (n == 0 || errno != EINTR) {
        return false;
      }
    }
  };
  sockaddr_un sa{};
  if (m_endpoint.socket_path.size() >= sizeof sa.sun_path) {
    return core::fail(core::ErrorKind::invalid,
                      fmt::format("socket path too long: {}", m_endpoint.socket_path));
  }
  sa.sun_family = AF_UNIX;
  std::memcpy(sa.sun_path, m_endpoint.socket_path.c_str(), m_endpoint.socket_path.size() + 1);
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    return core::fail(core::ErrorKind::internal, std::string("socket: ") + std::strerror(errno));
  }
  const std::shared_ptr<void> close_fd(nullptr, [fd](void*) { ::close(fd); });
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&sa), sizeof sa) != 0) {
    const int e = errno;
    return core::fail(connect_error(m_endpoint, e, std::strerror(e)));
  }
  std::string request = fmt::format("{} {} HTTP/1.1\r\nHost: docker\r\nUser-Agent: furnace\r\n"
                                    "Connection: close\r\n",
                                    method,
                                    path);
  if (method == "POST" || method == "PUT") {
    request += fmt::format("Content-Type: application/json\r\nContent-Length: {}\r\n", body.size());
  }
  request += "\r\n";
  request += body;
  std::size_t sent = 0;
  while (sent < request.size()) {
    if (!wait_for(fd, POLLOUT)) {
      return timed_out();
    }
    const ssize_t n = ::send(fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && errno != EINTR && errno != EAGAIN) {
      return core::fail(
          core::ErrorKind::unavailable,
          fmt::format("talking to the engine at {}: {}", m_endpoint.uri, std::strerror(errno)),
          "run 'furnace doctor'");
    }
    sent += n > 0 ? static_cast<std::size_t>(n) : 0;
  }
  std::string raw;
  std::array<char, 16384> buf{};
  while (true) {
    if (!wait_for(fd, POLLIN)) {
      return timed_out();
    }
    const ssize_t n = ::recv(fd, buf.data(), buf.size(), 0);
    if (n == 0) {
      break;
    }
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN) {
        continue;
      }
      return core::fail(
          core::ErrorKind::unavailable,
          fmt::format("talking to the engine at {}: {}", m_endpoint.uri, std::strerror(errno)),
          "run 'furnace doctor'");
    }
    raw.append(buf.data(), static_cast<std::size_t>(n));
  }
  return parse_http_response(raw);
}

core::Result<std::string> DockerApi::api_version() {
  if (!m_api_version.empty()) {
    return m_api_version;
  }
  auto p = ping();
  if (!p) {
    return core::fail(p.error());
  }
  return m_api_version;
}

core::Result<PingInfo> DockerApi::ping() {
  auto r = raw_request("GET", m_endpoint.base_url + "/_ping", {}, {}, false);
  if (!r) {
    return core::fail(r.error());
  }
  if (r->status != 200) {
    return core::fail(http_error("GET", "/_ping", *r));
  }
  auto negotiated = negotiate_api_version(r->api_version_header);
  if (!negotiated) {
    return core::fail(negotiated.error());
  }
  m_api_version = *negotiated;
  m_podman = r->libpod;
  PingInfo info;
  info.api_version = r->api_version_header;
  info.os_type = "linux";
  info.podman = r->libpod;
  return info;
}

core::Result<HttpResponse>
DockerApi::request(const std::string& method,
                   const std::string& path,
                   const std::string& body,
                   const std::function<void(std::string_view)>& on_data) {
  auto v = api_version();
  if (!v) {
    return core::fail(v.error());
  }
  const std::string url = m_endpoint.base_url + "/v" + *v + path;
  auto r = raw_request(method, url, body, on_data, static_cast<bool>(on_data));
  if (!r) {
    return r;
  }
  if (r->status >= 400) {
    return core::fail(http_error(method, path, *r));
  }
  return r;
}

core::Result<json> DockerApi::get_json(const std::string& path) {
  auto r = request("GET", path);
  if (!r) {
    return core::fail(r.error());
  }
  return parse_json(r->body, path);
}

core::Result<DiskUsage> DockerApi::disk_usage() {
  auto j = get_json("/system/df");
  if (!j) {
    return core::fail(j.error());
  }
  // Counted as `docker system df` counts: what a container uses is active, the rest reclaimable.
  DiskUsage d;
  d.images.size = int_at(*j, "LayersSize");
  long long images_in_use = 0;
  if (auto a = j->find("Images"); a != j->end() && a->is_array()) {
    for (const auto& img : *a) {
      ++d.images.total;
      if (int_at(img, "Containers") > 0) {
        ++d.images.active;
        images_in_use += int_at(img, "Size");
      }
    }
  }
  d.images.reclaimable = std::max(0LL, d.images.size - images_in_use);
  if (auto a = j->find("Containers"); a != j->end() && a->is_array()) {
    for (const auto& c : *a) {
      const long long rw = int_at(c, "SizeRw");
      ++d.containers.total;
      d.containers.size += rw;
      if (string_at(c, "State") == "running") {
        ++d.containers.active;
      } else {
        d.containers.reclaimable += rw;
      }
    }
  }
  if (auto a = j->find("Volumes"); a != j->end() && a->is_array()) {
    for (const auto& v : *a) {
      ++d.volumes.total;
      auto u = v.find("UsageData");
      const bool has = u != v.end() && u->is_object();
      const long long size = has ? std::max(0LL, int_at(*u, "Size")) : 0;
      d.volumes.size += size;
      if (has && int_at(*u, "RefCount") > 0) {
        ++d.volumes.active;
      } else {
        d.volumes.reclaimable += size;
      }
    }
  }
  if (auto a = j->find("BuildCache"); a != j->end() && a->is_array()) {
    for (const auto& b : *a) {
      ++d.build_cache.total;
      const auto in_use = b.find("InUse");
      const auto shared = b.find("Shared");
      const bool used = in_use != b.end() && in_use->is_boolean() && in_use->get<bool>();
      const bool is_shared = shared != b.end() && shared->is_boolean() && shared->get<bool>();
      const long long size = int_at(b, "Size");
      if (used) {
        ++d.build_cache.active;
      }
      if (!is_shared) {
        d.build_cache.size += size;
        if (!used) {
          d.build_cache.reclaimable += size;
        }
      }
    }
  }
  return d;
}

core::Result<VersionInfo> DockerApi::version() {
  auto j = get_json("/version");
  if (!j) {
    return core::fail(j.error());
  }
  VersionInfo v;
  if (auto p = j->find("Platform"); p != j->end() && p->is_object()) {
    v.platform = string_at(*p, "Name");
  }
  v.version = string_at(*j, "Version");
  v.api_version = string_at(*j, "ApiVersion");
  v.min_api_version = string_at(*j, "MinAPIVersion");
  v.os = string_at(*j, "Os");
  v.arch = string_at(*j, "Arch");
  v.kernel = string_at(*j, "KernelVersion");
  return v;
}

core::Result<EngineInfo> DockerApi::info() {
  auto j = get_json("/info");
  if (!j) {
    return core::fail(j.error());
  }
  EngineInfo i;
  i.name = string_at(*j, "Name");
  i.server_version = string_at(*j, "ServerVersion");
  i.operating_system = string_at(*j, "OperatingSystem");
  i.storage_driver = string_at(*j, "Driver");
  i.docker_root_dir = string_at(*j, "DockerRootDir");
  i.cgroup_driver = string_at(*j, "CgroupDriver");
  i.cgroup_version = string_at(*j, "CgroupVersion");
  i.default_runtime = string_at(*j, "DefaultRuntime");
  if (auto rt = j->find("Runtimes"); rt != j->end() && rt->is_object()) {
    for (const auto& [name, _] : rt->items()) {
      i.runtimes.push_back(name);
    }
  }
  if (auto rc = j->find("RegistryConfig"); rc != j->end() && rc->is_object()) {
    i.registry_mirrors = strings_at(*rc, "Mirrors");
    i.insecure_registries = strings_at(*rc, "InsecureRegistryCIDRs");
    if (auto ic = rc->find("IndexConfigs"); ic != rc->end() && ic->is_object()) {
      for (const auto& [name, cfg] : ic->items()) {
        if (cfg.is_object() && cfg.contains("Secure") && cfg["Secure"].is_boolean() &&
            !cfg["Secure"].get<bool>()) {
          i.insecure_registries.push_back(name);
        }
      }
    }
  }
  i.cdi_spec_dirs = strings_at(*j, "CDISpecDirs");
  if (auto lr = j->find("LiveRestoreEnabled"); lr != j->end() && lr->is_boolean()) {
    i.live_restore = lr->get<bool>();
  }
  i.containers_running = int_at(*j, "ContainersRunning");
  i.ncpu = int_at(*j, "NCPU");
  i.mem_total = int_at(*j, "MemTotal");
  i.warnings = strings_at(*j, "Warnings");
  return i;
}

core::Result<std::vector<ImageSummary>> DockerApi::list_images() {
  auto j = get_json("/images/json");
  if (!j) {
    return core::fail(j.error());
  }
  std::vector<ImageSummary> out;
  if (!j->is_array()) {
    return core::fail(core::ErrorKind::remote, "engine: /images/json is not a list");
  }
  for (const auto& img : *j) {
    ImageSummary s;
    s.id = string_at(img, "Id");
    s.repo_tags = strings_at(img, "RepoTags");
    s.repo_digests = strings_at(img, "RepoDigests");
    s.size = int_at(img, "Size");
    s.created = int_at(img, "Created");
    s.labels = labels_at(img, "Labels");
    out.push_back(std::move(s));
  }
  return out;
}

core::Result<ImageDetails> DockerApi::inspect_image(const std::string& ref) {
  if (!valid_ref(ref)) {
    return core::fail(core::ErrorKind::invalid, fmt::format("'{}' is not an image reference", ref));
  }
  auto j = get_json("/images/" + ref + "/json");
  if (!j) {
    auto e = j.error();
    if (e.kind == core::ErrorKind::not_found) {
      e.message = fmt::format("no image {} in the engine ({})", ref, e.message);
      e.hint = fmt::format("pull it with 'docker pull {}'", ref);
    }
    return core::fail(std::move(e));
  }
  ImageDetails d;
  d.id = string_at(*j, "Id");
  d.repo_tags = strings_at(*j, "RepoTags");
  d.repo_digests = strings_at(*j, "RepoDigests");
  d.size = int_at(*j, "Size");
  d.created = string_at(*j, "Created");
  d.os = string_at(*j, "Os");
  d.architecture = string_at(*j, "Architecture");
  if (auto cfg = j->find("Config"); cfg != j->end() && cfg->is_object()) {
    d.labels = labels_at(*cfg, "Labels");
  }
  return d;
}

core::Result<void> DockerApi::pull(const std::string& ref, const PullCallback& progress) {
  if (!valid_ref(ref)) {
    return core::fail(core::ErrorKind::invalid, fmt::format("'{}' is not an image reference", ref));
  }
  const ImageRef r = parse_image_ref(ref);
  const std::string tag = r.digest.empty() ? r.tag : r.digest;
  // valid_ref() admits only characters that need no escaping in a query, except ':' '/' '@'
  // which the engine decodes as written.
  const std::string path = fmt::format("/images/create?fromImage={}&tag={}", r.name, tag);

  std::string pending;
  std::string stream_error;
  auto handle_line = [&](std::string_view line) {
    line = util::trim(line);
    if (line.empty()) {
      return;
    }
    try {
      const auto j = json::parse(line);
      if (auto e = j.find("error"); e != j.end() && e->is_string()) {
        stream_error = e->get<std::string>();
        return;
      }
      if (progress) {
        PullProgress p;
        p.id = string_at(j, "id");
        p.status = string_at(j, "status");
        if (auto d = j.find("progressDetail"); d != j.end() && d->is_object()) {
          p.current = int_at(*d, "current");
          p.total = int_at(*d, "total");
        }
        progress(p);
      }
    } catch (const json::exception&) {
      // A line we cannot read is not worth failing a pull for.
    }
  };
  const std::function<void(std::string_view)> on_data = [&](std::string_view chunk) {
    pending.append(chunk);
    std::size_t nl = 0;
    while ((nl = pending.find('\n')) != std::string::npos) {
      handle_line(std::string_view(pending).substr(0, nl));
      pending.erase(0, nl + 1);
    }
  };
  auto resp = request("POST", path, {}, on_data);
  if (!resp) {
    auto e = resp.error();
    if (e.kind == core::ErrorKind::timeout) {
      // No byte for pull_stall seconds: the registry or the network stopped moving. Closing the
      // stream cancels the engine's pull; the layers it finished stay for the next try.
      return core::fail(
          core::ErrorKind::timeout,
          fmt::format("pulling {}: no progress for {} s (the registry or the network stalled)",
                      ref,
                      m_timeouts.pull_stall.count()),
          "run the command again: layers already downloaded are kept. A mirror near you helps "
          "('sudo furnace setup --mirror URL'); FURNACE_PULL_STALL=SECONDS waits longer");
    }
    if (e.message.rfind("engine: ", 0) == 0) {
      // The engine answered with an error status: its message says what the registry did.
      return core::fail(pull_error(ref, e.message.substr(8), e.kind == core::ErrorKind::not_found));
    }
    e.message = fmt::format("pulling {}: {}", ref, e.message);
    return core::fail(std::move(e));
  }
  handle_line(pending);
  if (!stream_error.empty()) {
    return core::fail(pull_error(ref, stream_error, false));
  }
  return {};
}

core::Error pull_error(const std::string& ref, const std::string& engine_message, bool not_found) {
  std::string msg(util::trim(engine_message));
  if (msg.empty()) {
    msg = "the pull failed without a message";
  }
  const std::string lower = util::to_lower(msg);
  const bool missing = not_found || lower.find("manifest unknown") != std::string::npos ||
                       lower.find("not found") != std::string::npos ||
                       lower.find("repository does not exist") != std::string::npos;
  // The registry: the first part of the name when it looks like a host ("127.0.0.1:5000/x",
  // "ghcr.io/x", "localhost/x"); else Docker Hub.
  const std::string name = parse_image_ref(ref).name;
  const auto slash = name.find('/');
  const std::string first = slash == std::string::npos ? std::string() : name.substr(0, slash);
  const bool hub = first.empty() || (first.find('.') == std::string::npos &&
                                     first.find(':') == std::string::npos && first != "localhost");
  std::string hint;
  if (missing) {
    hint = fmt::format("check the image name and tag ({}){}",
                       ref,
                       hub ? "; a registry mirror that lacks it answers the same" : "");
  } else if (hub) {
    hint = "the engine could not reach Docker Hub: check the network and proxy of "
           "the engine's host, or point the engine at a registry mirror with 'sudo furnace setup "
           "--mirror URL' ('furnace doctor' checks the mirror)";
  } else {
    hint = fmt::format("the engine could not reach the registry {}: check that it "
                       "runs and that the engine's host reaches it (network, proxy, "
                       "'--insecure-registry' for plain HTTP); 'sudo furnace setup --mirror URL' "
                       "only serves Docker Hub images",
                       first);
  }
  return core::make_error(missing ? core::ErrorKind::not_found : core::ErrorKind::remote,
                          fmt::format("pulling {}: engine: {}", ref, msg),
                          hint);
}

namespace {

// Percent-encodes everything but RFC 3986's unreserved characters (for query values).
std::string url_encode(std::string_view text) {
  std::string out;
  for (const char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u) != 0 || std::strchr("-._~", c) != nullptr) {
      out += c;
    } else {
      out += fmt::format("%{:02X}", static_cast<unsigned>(u));
    }
  }
  return out;
}

// Container names and ids: what the engine accepts, so that a path can be built from one.
core::Result<void> check_container_name(const std::string& name) {
  const bool ok =
      !name.empty() && name.size() <= 256 && std::all_of(name.begin(), name.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) != 0 || std::strchr("_.-", c) != nullptr;
      });
  if (!ok) {
    return core::fail(core::ErrorKind::invalid, fmt::format("'{}' is not a container name", name));
  }
  return {};
}

// The engine names containers "/name".
std::string without_slash(std::string name) {
  if (!name.empty() && name.front() == '/') {
    name.erase(0, 1);
  }
  return name;
}

// "not found" for a missing container carries its name.
core::Error container_error(core::Error e, const std::string& name) {
  if (e.kind == core::ErrorKind::not_found) {
    e.message = fmt::format("no container {} ({})", name, e.message);
  }
  return e;
}

} // namespace

core::Result<std::vector<ContainerSummary>>
DockerApi::list_containers(const std::vector<std::string>& labels) {
  const json filters = {{"label", labels}};
  auto j = get_json("/containers/json?all=1&filters=" + url_encode(filters.dump()));
  if (!j) {
    return core::fail(j.error());
  }
  if (!j->is_array()) {
    return core::fail(core::ErrorKind::remote, "engine: /containers/json is not a list");
  }
  std::vector<ContainerSummary> out;
  for (const auto& c : *j) {
    ContainerSummary s;
    s.id = string_at(c, "Id");
    const auto names = strings_at(c, "Names");
    s.name = without_slash(names.empty() ? std::string() : names.front());
    s.image = string_at(c, "Image");
    s.image_id = string_at(c, "ImageID");
    s.command = string_at(c, "Command");
    s.created = int_at(c, "Created");
    s.state = string_at(c, "State");
    s.status = string_at(c, "Status");
    s.labels = labels_at(c, "Labels");
    s.ports = summary_ports(c);
    out.push_back(std::move(s));
  }
  return out;
}

core::Result<ContainerDetails> DockerApi::inspect_container(const std::string& name) {
  if (auto ok = check_container_name(name); !ok) {
    return core::fail(ok.error());
  }
  auto j = get_json("/containers/" + name + "/json");
  if (!j) {
    return core::fail(container_error(j.error(), name));
  }
  ContainerDetails d;
  d.id = string_at(*j, "Id");
  d.name = without_slash(string_at(*j, "Name"));
  d.image_id = string_at(*j, "Image");
  if (auto st = j->find("State"); st != j->end() && st->is_object()) {
    d.status = string_at(*st, "Status");
    d.running = st->value("Running", false);
    d.exit_code = static_cast<int>(int_at(*st, "ExitCode"));
    d.oom_killed = st->value("OOMKilled", false);
    d.pid = static_cast<int>(int_at(*st, "Pid"));
    d.started_at = string_at(*st, "StartedAt");
    d.finished_at = string_at(*st, "FinishedAt");
  }
  if (auto cfg = j->find("Config"); cfg != j->end() && cfg->is_object()) {
    d.labels = labels_at(*cfg, "Labels");
    d.env = strings_at(*cfg, "Env");
  }
  d.ports = inspect_ports(*j);
  return d;
}

core::Result<void> DockerApi::stop_container(const std::string& name, int grace_seconds) {
  if (auto ok = check_container_name(name); !ok) {
    return ok;
  }
  // The engine answers once the container stopped: up to the grace period, and then some.
  const auto saved = m_timeouts.call;
  m_timeouts.call = std::max(saved, std::chrono::milliseconds((grace_seconds + 30) * 1000LL));
  auto r = request("POST", fmt::format("/containers/{}/stop?t={}", name, grace_seconds));
  m_timeouts.call = saved;
  if (!r) {
    return core::fail(container_error(r.error(), name));
  }
  return {}; // 304: it was not running
}

core::Result<void> DockerApi::kill_container(const std::string& name, const std::string& signal) {
  if (auto ok = check_container_name(name); !ok) {
    return ok;
  }
  auto r = request("POST", fmt::format("/containers/{}/kill?signal={}", name, url_encode(signal)));
  if (!r) {
    return core::fail(container_error(r.error(), name));
  }
  return {};
}

core::Result<void> DockerApi::remove_container(const std::string& name, bool force) {
  if (auto ok = check_container_name(name); !ok) {
    return ok;
  }
  auto r = request("DELETE", fmt::format("/containers/{}?force={}", name, force ? 1 : 0));
  if (!r && r.error().kind != core::ErrorKind::not_found) {
    auto e = r.error();
    // "removal of container … is already in progress" (--rm racing us) is not a failure.
    if (e.message.find("already in progress") != std::string::npos) {
      return {};
    }
    return core::fail(container_error(std::move(e), name));
  }
  return {};
}

core::Result<std::vector<ContainerEvent>>
DockerApi::container_events(const std::string& name, long long since_ms, long long until_ms) {
  if (auto ok = check_container_name(name); !ok) {
    return core::fail(ok.error());
  }
  const json filters = {{"container", {name}}, {"type", {"container"}}};
  const auto stamp = [](long long ms) {
    return fmt::format("{}.{:03}000000", ms / 1000, ms % 1000);
  };
  auto r = request("GET",
                   fmt::format("/events?since={}&until={}&filters={}",
                               stamp(since_ms),
                               stamp(until_ms),
                               url_encode(filters.dump())));
  if (!r) {
    return core::fail(r.error());
  }
  // One JSON object per line.
  std::vector<ContainerEvent> out;
  for (const std::string& line : util::split(r->body, '\n')) {
    if (util::trim(line).empty()) {
      continue;
    }
    auto j = parse_json(line, "/events");
    if (!j || !j->is_object()) {
      continue;
    }
    ContainerEvent e;
    e.action = string_at(*j, "Action");
    if (e.action.empty()) {
      e.action = string_at(*j, "status"); // engines before API 1.22
    }
    e.time_nano = int_at(*j, "timeNano");
    if (auto actor = j->find("Actor"); actor != j->end() && actor->is_object()) {
      e.attributes = labels_at(*actor, "Attributes");
    }
    out.push_back(std::move(e));
  }
  return out;
}

} // namespace furnace::engine
