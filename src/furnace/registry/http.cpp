#include "http.hpp"

#include <furnace/engine/curl_lib.hpp>
#include <furnace/util/strings.hpp>

#include <fmt/format.h>

namespace furnace::registry {

namespace {

std::size_t append_body(char* ptr, std::size_t size, std::size_t nmemb, void* user) {
  auto* body = static_cast<std::string*>(user);
  const std::size_t n = size * nmemb;
  if (body->size() < (1U << 20U)) { // a catalog or an error; never a blob
    body->append(ptr, n);
  }
  return n;
}

std::size_t append_header(char* ptr, std::size_t size, std::size_t nmemb, void* user) {
  auto* headers = static_cast<std::vector<std::string>*>(user);
  std::string line(ptr, size * nmemb);
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) {
    line.pop_back();
  }
  if (!line.empty()) {
    headers->push_back(line);
  }
  return size * nmemb;
}

} // namespace

std::string HttpAnswer::header(const std::string& name) const {
  const std::string want = util::to_lower(name) + ":";
  for (const auto& h : headers) {
    if (util::to_lower(h.substr(0, want.size())) == want) {
      std::string v = h.substr(want.size());
      const auto start = v.find_first_not_of(' ');
      return start == std::string::npos ? "" : v.substr(start);
    }
  }
  return "";
}

core::Result<HttpAnswer> http_request(const HttpRequest& request) {
  auto lib_or = engine::curl_lib();
  if (!lib_or) {
    return core::fail(lib_or.error());
  }
  const engine::CurlLib& lib = **lib_or;
  CURL* curl = lib.easy_init();
  if (curl == nullptr) {
    return core::fail(core::ErrorKind::internal, "cannot start libcurl");
  }
  HttpAnswer a;
  curl_slist* headers = nullptr;
  for (const auto& h : request.headers) {
    headers = lib.slist_append(headers, h.c_str());
  }
  lib.easy_setopt(curl, CURLOPT_URL, request.url.c_str());
  lib.easy_setopt(curl, CURLOPT_CUSTOMREQUEST, request.method.c_str());
  if (request.method == "HEAD") {
    lib.easy_setopt(curl, CURLOPT_NOBODY, 1L);
  }
  if (request.method == "POST") {
    lib.easy_setopt(curl, CURLOPT_POSTFIELDS, "");
  }
  lib.easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  lib.easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(request.timeout.count()));
  lib.easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
  lib.easy_setopt(curl, CURLOPT_WRITEFUNCTION, append_body);
  lib.easy_setopt(curl, CURLOPT_WRITEDATA, &a.body);
  lib.easy_setopt(curl, CURLOPT_HEADERFUNCTION, append_header);
  lib.easy_setopt(curl, CURLOPT_HEADERDATA, &a.headers);
  if (headers != nullptr) {
    lib.easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  }
  if (!request.ca_file.empty()) {
    lib.easy_setopt(curl, CURLOPT_CAINFO, request.ca_file.c_str());
  }
  if (!request.verify_tls) {
    lib.easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 0L);
    lib.easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 0L);
  }
  const CURLcode rc = lib.easy_perform(curl);
  lib.easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &a.status);
  lib.easy_cleanup(curl);
  if (headers != nullptr) {
    lib.slist_free_all(headers);
  }
  if (rc != CURLE_OK) {
    return core::fail(rc == CURLE_OPERATION_TIMEDOUT ? core::ErrorKind::timeout
                                                     : core::ErrorKind::unavailable,
                      fmt::format("{} {}: {}", request.method, request.url, lib.easy_strerror(rc)));
  }
  return a;
}

} // namespace furnace::registry
