#include "registry_probe.hpp"

#include <furnace/engine/curl_lib.hpp>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>

namespace furnace::engine {
namespace {
std::size_t discard(char* /*ptr*/, std::size_t size, std::size_t nmemb, void* /*user*/) {
  return size * nmemb;
}

std::size_t keep(char* ptr, std::size_t size, std::size_t nmemb, void* user) {
  auto* body = static_cast<std::string*>(user);
  if (body->size() > 4U * 1024 * 1024) {
    return 0; // no manifest is this large: stop reading
  }
  body->append(ptr, size * nmemb);
  return size * nmemb;
}

std::string trimmed(std::string url) {
  while (!url.empty() && url.back() == '/') {
    url.pop_back();
  }
  return url;
}

// GET `url` with the manifest media types furnace reads; the body of a 200.
core::Result<nlohmann::json> get_manifest(const std::string& url,
                                          std::chrono::milliseconds timeout) {
  auto lib_or = curl_lib();
  if (!lib_or) {
    return core::fail(lib_or.error());
  }
  const CurlLib& lib = **lib_or;
  CURL* curl = lib.easy_init();
  if (curl == nullptr) {
    return core::fail(core::ErrorKind::internal, "cannot start libcurl");
  }
  curl_slist* headers = nullptr;
  headers = lib.slist_append(
      headers,
      "Accept: application/vnd.docker.distribution.manifest.v2+json, "
      "application/vnd.docker.distribution.manifest.list.v2+json, "
      "application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json");
  std::string body;
  lib.easy_setopt(curl, CURLOPT_URL, url.c_str());
  lib.easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  lib.easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout.count()));
  lib.easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  lib.easy_setopt(curl, CURLOPT_WRITEFUNCTION, keep);
  lib.easy_setopt(curl, CURLOPT_WRITEDATA, &body);
  lib.easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
  const CURLcode rc = lib.easy_perform(curl);
  long status = 0;
  lib.easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  lib.easy_cleanup(curl);
  lib.slist_free_all(headers);
  if (rc != CURLE_OK) {
    return core::fail(rc == CURLE_OPERATION_TIMEDOUT ? core::ErrorKind::timeout
                                                     : core::ErrorKind::unavailable,
                      fmt::format("{}: {}", url, lib.easy_strerror(rc)));
  }
  if (status == 404) {
    return core::fail(core::ErrorKind::not_found, fmt::format("{}: no such manifest", url));
  }
  if (status != 200) {
    return core::fail(core::ErrorKind::unavailable, fmt::format("{}: HTTP {}", url, status));
  }
  auto j = nlohmann::json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    return core::fail(core::ErrorKind::invalid, fmt::format("{}: not a JSON manifest", url));
  }
  return j;
}

long long size_of(const nlohmann::json& j) {
  const auto it = j.find("size");
  return it != j.end() && it->is_number_integer() ? it->get<long long>() : -1;
}
} // namespace

core::Result<RegistryAnswer> probe_registry(const std::string& base_url,
                                            std::chrono::milliseconds timeout) {
  std::string url = trimmed(base_url) + "/v2/";
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

core::Result<long long> manifest_layer_bytes(const std::string& base_url,
                                             const std::string& repository,
                                             const std::string& reference,
                                             const std::string& arch,
                                             std::chrono::milliseconds timeout) {
  const std::string prefix = trimmed(base_url) + "/v2/" + repository + "/manifests/";
  auto m = get_manifest(prefix + reference, timeout);
  if (!m) {
    return core::fail(m.error());
  }
  if (auto list = m->find("manifests"); list != m->end() && list->is_array()) {
    std::string digest;
    for (const auto& entry : *list) {
      const auto p = entry.find("platform");
      if (p != entry.end() && p->is_object() && p->value("os", "") == "linux" &&
          p->value("architecture", "") == arch) {
        digest = entry.value("digest", "");
        break;
      }
    }
    if (digest.empty()) {
      return core::fail(
          core::ErrorKind::not_found,
          fmt::format("{}{}: no linux/{} image in the list", prefix, reference, arch));
    }
    m = get_manifest(prefix + digest, timeout);
    if (!m) {
      return core::fail(m.error());
    }
  }
  const auto layers = m->find("layers");
  if (layers == m->end() || !layers->is_array()) {
    return core::fail(core::ErrorKind::invalid,
                      fmt::format("{}{}: the manifest lists no layer sizes", prefix, reference));
  }
  long long total = 0;
  for (const auto& l : *layers) {
    const long long n = size_of(l);
    if (n < 0) {
      return core::fail(core::ErrorKind::invalid,
                        fmt::format("{}{}: a layer without a size", prefix, reference));
    }
    total += n;
  }
  if (auto c = m->find("config"); c != m->end() && c->is_object()) {
    total += std::max(0LL, size_of(*c));
  }
  return total;
}

} // namespace furnace::engine
