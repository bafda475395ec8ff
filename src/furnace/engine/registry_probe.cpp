#include "registry_probe.hpp"

#include <furnace/engine/curl_lib.hpp>

#include <fmt/format.h>

namespace furnace::engine {
namespace {
std::size_t discard(char* /*ptr*/, std::size_t size, std::size_t nmemb, void* /*user*/) {
  return size * nmemb;
}
} // namespace

core::Result<RegistryAnswer> probe_registry(const std::string& base_url,
                                            std::chrono::milliseconds timeout) {
  std::string url = base_url;
  while (!url.empty() && url.back() == '/') {
    url.pop_back();
  }
  url += "/v2/";
  auto lib_or = curl_lib();
  if (!lib_or) {
    return core::fail(lib_or.error());
  }
  const CurlLib& lib = **lib_or;
  CURL* curl = lib.easy_init();
  if (curl == nullptr) {
    return core::fail(core::ErrorKind::internal, "cannot start libcurl");
  }
  lib.easy_setopt(curl, CURLOPT_URL, url.c_str());
  lib.easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  lib.easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout.count()));
  lib.easy_setopt(curl, CURLOPT_WRITEFUNCTION, discard);
  lib.easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
  const CURLcode rc = lib.easy_perform(curl);
  RegistryAnswer a;
  lib.easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &a.status);
  lib.easy_getinfo(curl, CURLINFO_TOTAL_TIME, &a.seconds);
  lib.easy_cleanup(curl);
  if (rc != CURLE_OK) {
    return core::fail(rc == CURLE_OPERATION_TIMEDOUT ? core::ErrorKind::timeout
                                                     : core::ErrorKind::unavailable,
                      fmt::format("{}: {}", url, lib.easy_strerror(rc)));
  }
  return a;
}

} // namespace furnace::engine
