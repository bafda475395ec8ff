#include "curl_lib.hpp"

#include <fmt/format.h>

#include <dlfcn.h>

#include <mutex>

namespace furnace::engine {

core::Result<const CurlLib*> curl_lib() {
  static CurlLib lib{};
  static std::string error;
  static std::once_flag once;
  std::call_once(once, [] {
    void* h = ::dlopen("libcurl.so.4", RTLD_NOW | RTLD_LOCAL);
    if (h == nullptr) {
      const char* why = ::dlerror();
      error = why != nullptr ? why : "not found";
      return;
    }
    bool ok = true;
    auto load = [&](auto& fn, const char* name) {
      fn = reinterpret_cast<std::remove_reference_t<decltype(fn)>>(::dlsym(h, name));
      ok = ok && fn != nullptr;
    };
    load(lib.easy_init, "curl_easy_init");
    load(lib.easy_cleanup, "curl_easy_cleanup");
    load(lib.easy_reset, "curl_easy_reset");
    load(lib.easy_setopt, "curl_easy_setopt");
    load(lib.easy_perform, "curl_easy_perform");
    load(lib.easy_getinfo, "curl_easy_getinfo");
    load(lib.easy_strerror, "curl_easy_strerror");
    load(lib.easy_escape, "curl_easy_escape");
    load(lib.free, "curl_free");
    load(lib.slist_append, "curl_slist_append");
    load(lib.slist_free_all, "curl_slist_free_all");
    using GlobalInit = CURLcode (*)(long);
    auto global_init = reinterpret_cast<GlobalInit>(::dlsym(h, "curl_global_init"));
    if (!ok || global_init == nullptr) {
      error = "libcurl.so.4 lacks the functions furnace needs";
      return;
    }
    global_init(CURL_GLOBAL_DEFAULT);
  });
  if (!error.empty()) {
    return core::fail(core::ErrorKind::unavailable,
                      fmt::format("cannot load libcurl: {}", error),
                      "install it: 'sudo apt-get install libcurl4'");
  }
  return &lib;
}

} // namespace furnace::engine
