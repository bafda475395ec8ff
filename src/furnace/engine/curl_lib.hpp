#pragma once
// libcurl, loaded with dlopen on first use. Linking it costs every furnace process ~5 ms of
// start-up (its TLS and Kerberos dependencies initialise at load), which `furnace --version`,
// `resolve` and the other commands that never talk HTTP should not pay.

#define CURL_DISABLE_TYPECHECK 1
#include <furnace/core/error.hpp>

#include <curl/curl.h>

namespace furnace::engine {

struct CurlLib {
  CURL* (*easy_init)();
  void (*easy_cleanup)(CURL*);
  void (*easy_reset)(CURL*);
  CURLcode (*easy_setopt)(CURL*, CURLoption, ...);
  CURLcode (*easy_perform)(CURL*);
  CURLcode (*easy_getinfo)(CURL*, CURLINFO, ...);
  const char* (*easy_strerror)(CURLcode);
  char* (*easy_escape)(CURL*, const char*, int);
  void (*free)(void*);
  curl_slist* (*slist_append)(curl_slist*, const char*);
  void (*slist_free_all)(curl_slist*);
};

// The loaded library (initialised once, thread-safe). Errors: unavailable when libcurl.so.4
// cannot be loaded, with the package to install.
core::Result<const CurlLib*> curl_lib();

} // namespace furnace::engine
