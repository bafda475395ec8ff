#include "registry_probe.hpp"

#include <curl/curl.h>
#include <fmt/format.h>

namespace furnace::engine {
namespace {
std::size_t discard(char* /*ptr*/, std::size_t size, std::size_t nmemb, void* /*user*/) {
  return size * nmemb;
}
}  // namespace

core::Result<RegistryAnswer> probe_registry(const std::string& base_url,
                                            std::chrono::milliseconds timeout) {
  std::string url = base_url;
  while (!url.empty() && url.back() == '/') {
    url.pop_back();
  }
  url += "/v2/";
  CURL* curl = curl_easy_init();
  if (curl == nullptr) {
    return core::fail(core::ErrorKind::internal, "cannot start libcurl");
  }
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout.count()));
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, discard);
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
  const CURLcode rc = curl_easy_perform(curl);
  RegistryAnswer a;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &a.status);
  curl_easy_getinfo(curl, CURLINFO_TOTAL_TIME, &a.seconds);
  curl_easy_cleanup(curl);
  if (rc != CURLE_OK) {
    return core::fail(rc == CURLE_OPERATION_TIMEDOUT ? core::ErrorKind::timeout
                                                     : core::ErrorKind::unavailable,
                      fmt::format("{}: {}", url, curl_easy_strerror(rc)));
  }
  return a;
}

}  // namespace furnace::engine
