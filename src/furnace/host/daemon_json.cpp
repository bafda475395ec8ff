#include "daemon_json.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <map>
#include <set>

namespace furnace::host {
namespace {

using core::ErrorKind;

void append_utf8(std::string& out, std::uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

// UTF-16 (after its BOM) to UTF-8; nullopt on an odd length or a broken surrogate pair.
std::optional<std::string> utf16_to_utf8(std::string_view in, bool little_endian) {
  if (in.size() % 2 != 0) {
    return std::nullopt;
  }
  auto unit = [&](std::size_t i) {
    const auto a = static_cast<unsigned char>(in[i]);
    const auto b = static_cast<unsigned char>(in[i + 1]);
    return static_cast<std::uint32_t>(little_endian ? (b << 8) | a : (a << 8) | b);
  };
  std::string out;
  for (std::size_t i = 0; i < in.size(); i += 2) {
    std::uint32_t cp = unit(i);
    if (cp >= 0xD800 && cp <= 0xDBFF) {
      if (i + 3 >= in.size()) {
        return std::nullopt;
      }
      const std::uint32_t lo = unit(i + 2);
      if (lo < 0xDC00 || lo > 0xDFFF) {
        return std::nullopt;
      }
      cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
      i += 2;
    } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
      return std::nullopt;
    }
    append_utf8(out, cp);
  }
  return out;
}

bool blank(std::string_view s) {
  return std::all_of(
      s.begin(), s.end(), [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; });
}

// Byte offset of the `nth` (1-based) occurrence of "key" used as an object key.
std::optional<std::size_t>
find_key_occurrence(std::string_view text, const std::string& key, int nth) {
  const std::string quoted = "\"" + key + "\"";
  std::size_t from = 0;
  int seen = 0;
  while (true) {
    const std::size_t at = text.find(quoted, from);
    if (at == std::string_view::npos) {
      return std::nullopt;
    }
    std::size_t after = at + quoted.size();
    while (after < text.size() && (text[after] == ' ' || text[after] == '\t' ||
                                   text[after] == '\n' || text[after] == '\r')) {
      ++after;
    }
    if (after < text.size() && text[after] == ':' && ++seen == nth) {
      return at;
    }
    from = at + 1;
  }
}

// "[json.exception.parse_error.101] parse error at line 1, column 2: syntax error while parsing
// value - invalid literal; last read: 'x'" -> "syntax error while parsing value - …".
// The text after "last read: " is what the lexer read since the last token it accepted; when
// that holds a string it may be a password (a proxy URL), so it is not shown: the line and column
// point at it.
std::string parse_error_detail(const std::string& what) {
  std::string detail = what;
  const auto col = what.find("column ");
  const auto colon = col == std::string::npos ? std::string::npos : what.find(": ", col);
  if (colon != std::string::npos) {
    detail = what.substr(colon + 2);
  } else if (const auto bracket = what.find("] "); bracket != std::string::npos) {
    detail = what.substr(bracket + 2);
  }
  constexpr std::string_view k_last = "; last read: '";
  const auto last = detail.find(k_last);
  const auto close = detail.rfind('\'');
  if (last != std::string::npos && close != std::string::npos && close >= last + k_last.size()) {
    const auto from = last + k_last.size();
    const std::string token = detail.substr(from, close - from);
    if (token.find('"') != std::string::npos) {
      detail = detail.substr(0, last) + " (the text read holds a string: not shown)" +
               detail.substr(close + 1);
    }
  }
  return detail;
}

std::string strip_slash(std::string s) {
  while (!s.empty() && s.back() == '/') {
    s.pop_back();
  }
  return s;
}

core::Result<void> append_unique(Json& doc,
                                 const char* key,
                                 const std::vector<std::string>& add,
                                 std::vector<std::string>& notes) {
  if (add.empty()) {
    return {};
  }
  if (!doc.contains(key) || doc[key].is_null()) {
    doc[key] = Json::array();
  }
  Json& list = doc[key];
  if (!list.is_array()) {
    return core::fail(
        ErrorKind::invalid,
        fmt::format("\"{}\" in daemon.json is {}, not a list", key, describe_type(list)),
        fmt::format("make it a list of strings, for example \"{}\": [], then run "
                    "furnace setup again",
                    key));
  }
  for (const auto& item : add) {
    const bool present = std::any_of(list.begin(), list.end(), [&](const Json& v) {
      return v.is_string() && strip_slash(v.get<std::string>()) == strip_slash(item);
    });
    if (present) {
      notes.push_back(fmt::format("{} already lists {}", key, item));
    } else {
      list.push_back(item);
    }
  }
  return {};
}

// dockerd 20.10's daemon.json keys (daemon/config, registry, opts; Linux).
constexpr std::array k_known_keys = {"allow-nondistributable-artifacts",
                                     "api-cors-header",
                                     "authorization-plugins",
                                     "bip",
                                     "bridge",
                                     "builder",
                                     "cgroup-parent",
                                     "cluster-advertise",
                                     "cluster-store",
                                     "cluster-store-opts",
                                     "containerd",
                                     "containerd-namespace",
                                     "containerd-plugins-namespace",
                                     "cpu-rt-period",
                                     "cpu-rt-runtime",
                                     "cri-containerd",
                                     "data-root",
                                     "debug",
                                     "default-address-pools",
                                     "default-cgroupns-mode",
                                     "default-gateway",
                                     "default-gateway-v6",
                                     "default-ipc-mode",
                                     "default-runtime",
                                     "default-shm-size",
                                     "default-ulimits",
                                     "dns",
                                     "dns-opts",
                                     "dns-search",
                                     "exec-opts",
                                     "exec-root",
                                     "experimental",
                                     "features",
                                     "fixed-cidr",
                                     "fixed-cidr-v6",
                                     "graph",
                                     "group",
                                     "host-gateway-ip",
                                     "hosts",
                                     "icc",
                                     "init",
                                     "init-path",
                                     "insecure-registries",
                                     "ip",
                                     "ip-forward",
                                     "ip-masq",
                                     "ip6tables",
                                     "iptables",
                                     "ipv6",
                                     "labels",
                                     "live-restore",
                                     "log-driver",
                                     "log-format",
                                     "log-level",
                                     "log-opts",
                                     "max-concurrent-downloads",
                                     "max-concurrent-uploads",
                                     "max-download-attempts",
                                     "metrics-addr",
                                     "mtu",
                                     "network-control-plane-mtu",
                                     "no-new-privileges",
                                     "node-generic-resources",
                                     "oom-score-adjust",
                                     "pidfile",
                                     "raw-logs",
                                     "registry-mirrors",
                                     "rootless",
                                     "runtimes",
                                     "seccomp-profile",
                                     "selinux-enabled",
                                     "shutdown-timeout",
                                     "storage-driver",
                                     "storage-opts",
                                     "swarm-default-advertise-addr",
                                     "tls",
                                     "tlscacert",
                                     "tlscert",
                                     "tlskey",
                                     "tlsverify",
                                     "userland-proxy",
                                     "userland-proxy-path",
                                     "userns-remap"};

// Added after 20.10: accepted by the engines that know them.
constexpr std::array k_newer_keys = {"proxies",
                                     "default-network-opts",
                                     "cdi-spec-dirs",
                                     "min-api-version",
                                     "firewall-backend",
                                     "bridge-accept-fwmark",
                                     "ip-forward-no-drop",
                                     "allow-direct-routing",
                                     "http-proxy",
                                     "https-proxy",
                                     "no-proxy"};

struct RemovedKey {
  const char* key;
  int removed_in; // major version that refuses it
  const char* when;
};
constexpr std::array k_removed_keys = {
    RemovedKey{"disable-legacy-registry", 17, "removed in Docker 17.12"},
    RemovedKey{"graph", 23, "removed in Docker 23.0 (use \"data-root\")"},
    RemovedKey{"cluster-store", 23, "removed in Docker 23.0"},
    RemovedKey{"cluster-store-opts", 23, "removed in Docker 23.0"},
    RemovedKey{"cluster-advertise", 23, "removed in Docker 23.0"},
    RemovedKey{"deprecated-key-path", 20, "removed in Docker 20.10"},
};

} // namespace

LineCol line_col(std::string_view text, std::size_t offset) {
  LineCol lc;
  const std::size_t end = std::min(offset, text.size());
  for (std::size_t i = 0; i < end; ++i) {
    if (text[i] == '\n') {
      ++lc.line;
      lc.col = 1;
    } else {
      ++lc.col;
    }
  }
  return lc;
}

std::string describe_type(const Json& j) {
  switch (j.type()) {
  case Json::value_t::null:
    return "null";
  case Json::value_t::object:
    return "an object";
  case Json::value_t::array:
    return "a list";
  case Json::value_t::string:
    return "a string";
  case Json::value_t::boolean:
    return "a boolean";
  default:
    return "a number";
  }
}

core::Result<DaemonConfig> parse_daemon_json(std::string_view raw, const std::string& name) {
  DaemonConfig cfg;
  std::string converted;
  std::string_view text = raw;
  if (raw.size() >= 3 && raw.substr(0, 3) == "\xEF\xBB\xBF") {
    cfg.encoding = Encoding::utf8_bom;
    text = raw.substr(3);
  } else if (raw.size() >= 2 &&
             (raw.substr(0, 2) == "\xFF\xFE" || raw.substr(0, 2) == "\xFE\xFF")) {
    const bool le = raw[0] == '\xFF';
    cfg.encoding = le ? Encoding::utf16le_bom : Encoding::utf16be_bom;
    auto utf8 = utf16_to_utf8(raw.substr(2), le);
    if (!utf8) {
      return core::fail(ErrorKind::invalid,
                        fmt::format("{}: broken UTF-16 text after a UTF-16 byte order mark", name),
                        "save the file as UTF-8");
    }
    converted = std::move(*utf8);
    text = converted;
  }
  if (blank(text)) {
    return cfg;
  }

  // Duplicate keys: nlohmann keeps the last one silently, dockerd (Go) too; furnace refuses, as
  // either reading may be what the author meant.
  std::vector<std::set<std::string>> open_objects;
  std::map<std::string, int> key_count;
  std::optional<std::pair<std::string, int>> duplicate;
  const Json::parser_callback_t callback =
      [&](int /*depth*/, Json::parse_event_t event, Json& parsed) {
        switch (event) {
        case Json::parse_event_t::object_start:
          open_objects.emplace_back();
          break;
        case Json::parse_event_t::object_end:
          if (!open_objects.empty()) {
            open_objects.pop_back();
          }
          break;
        case Json::parse_event_t::key: {
          const auto key = parsed.get<std::string>();
          const int nth = ++key_count[key];
          if (!open_objects.empty() && !open_objects.back().insert(key).second && !duplicate) {
            duplicate = std::make_pair(key, nth);
          }
          break;
        }
        default:
          break;
        }
        return true;
      };
  try {
    cfg.doc = Json::parse(text.begin(),
                          text.end(),
                          callback,
                          /*allow_exceptions=*/true,
                          /*ignore_comments=*/false);
  } catch (const Json::parse_error& e) {
    const std::size_t offset = e.byte == 0 ? 0 : e.byte - 1;
    const LineCol lc = line_col(text, offset);
    return core::fail(
        ErrorKind::invalid,
        fmt::format(
            "{}:{}:{}: invalid JSON: {}", name, lc.line, lc.col, parse_error_detail(e.what())),
        "fix the file (dockerd would refuse it too); furnace changed nothing");
  } catch (const Json::exception& e) {
    // Not a syntax error: a number too large for a double ("1e400"), found by the fuzzer.
    return core::fail(ErrorKind::invalid,
                      fmt::format("{}: invalid JSON: {}", name, parse_error_detail(e.what())),
                      "fix the file (dockerd would refuse it too); furnace changed nothing");
  }
  if (duplicate) {
    const auto at = find_key_occurrence(text, duplicate->first, duplicate->second);
    const LineCol lc = line_col(text, at.value_or(0));
    return core::fail(
        ErrorKind::invalid,
        fmt::format("{}:{}:{}: duplicate key \"{}\": it is ambiguous which value counts",
                    name,
                    lc.line,
                    lc.col,
                    duplicate->first),
        "keep one of them, then run furnace setup again; furnace changed nothing");
  }
  if (!cfg.doc.is_object()) {
    return core::fail(
        ErrorKind::invalid,
        fmt::format("{}: the top level is {}, not an object", name, describe_type(cfg.doc)),
        "daemon.json must be one JSON object: {}");
  }
  return cfg;
}

core::Result<std::string> render_daemon_json(const Json& doc) {
  try {
    return doc.dump(2, ' ', false, Json::error_handler_t::strict) + "\n";
  } catch (const Json::exception& e) {
    return core::fail(ErrorKind::invalid,
                      fmt::format("cannot write daemon.json: {}", parse_error_detail(e.what())),
                      "the file holds text that is not valid UTF-8; fix it by hand");
  }
}

core::Result<MergeResult> merge_daemon_config(const Json& original, const DaemonChanges& changes) {
  MergeResult r;
  r.doc = original;
  Json& doc = r.doc;
  if (auto ok = append_unique(doc, "registry-mirrors", changes.mirrors, r.notes); !ok) {
    return core::fail(ok.error());
  }
  if (auto ok = append_unique(doc, "insecure-registries", changes.insecure_registries, r.notes);
      !ok) {
    return core::fail(ok.error());
  }
  if (changes.nvidia_runtime || changes.nvidia_default) {
    if (!doc.contains("runtimes") || doc["runtimes"].is_null()) {
      doc["runtimes"] = Json::object();
    }
    Json& runtimes = doc["runtimes"];
    if (!runtimes.is_object()) {
      return core::fail(
          ErrorKind::invalid,
          fmt::format("\"runtimes\" in daemon.json is {}, not an object", describe_type(runtimes)),
          "make it an object of runtimes, for example \"runtimes\": {}");
    }
    if (runtimes.contains("nvidia")) {
      r.notes.emplace_back("runtimes.nvidia is already registered (kept as it is)");
    } else {
      runtimes["nvidia"] =
          Json{{"path", changes.nvidia_runtime_path}, {"runtimeArgs", Json::array()}};
    }
  }
  if (changes.nvidia_default) {
    if (doc.contains("default-runtime") && doc["default-runtime"] != "nvidia") {
      r.notes.push_back(
          fmt::format("default-runtime was {}; now nvidia", doc["default-runtime"].dump()));
    }
    doc["default-runtime"] = "nvidia";
  }
  if (changes.live_restore) {
    doc["live-restore"] = *changes.live_restore;
  }
  if (changes.log_rotation) {
    const Json driver = doc.value("log-driver", Json("json-file"));
    if (driver != "json-file" && driver != "local") {
      r.notes.push_back(fmt::format("log rotation left alone: log-driver is {}", driver.dump()));
    } else {
      if (!doc.contains("log-opts") || doc["log-opts"].is_null()) {
        doc["log-opts"] = Json::object();
      }
      Json& opts = doc["log-opts"];
      if (!opts.is_object()) {
        return core::fail(
            ErrorKind::invalid,
            fmt::format("\"log-opts\" in daemon.json is {}, not an object", describe_type(opts)),
            "make it an object of strings, for example \"log-opts\": {}");
      }
      if (!opts.contains("max-size")) {
        opts["max-size"] = changes.log_rotation->max_size;
      }
      if (!opts.contains("max-file")) {
        opts["max-file"] = changes.log_rotation->max_file;
      }
    }
  }
  for (const auto& [key, value] : doc.items()) {
    if (!original.contains(key) || original[key] != value) {
      r.changed_keys.push_back(key);
    }
  }
  return r;
}

bool key_reloads_live(std::string_view key) {
  static constexpr std::array k_live = {"registry-mirrors",
                                        "insecure-registries",
                                        "runtimes",
                                        "default-runtime",
                                        "live-restore",
                                        "max-download-attempts",
                                        "max-concurrent-downloads",
                                        "max-concurrent-uploads",
                                        "debug",
                                        "labels",
                                        "features",
                                        "allow-nondistributable-artifacts",
                                        "shutdown-timeout",
                                        "default-shm-size",
                                        "default-ipc-mode",
                                        "default-cgroupns-mode"};
  return std::find(k_live.begin(), k_live.end(), key) != k_live.end();
}

std::vector<KeyFinding> check_known_keys(const Json& doc, int engine_major) {
  std::vector<KeyFinding> out;
  for (const auto& item : doc.items()) {
    const std::string& key = item.key();
    const auto removed = std::find_if(k_removed_keys.begin(),
                                      k_removed_keys.end(),
                                      [&](const RemovedKey& k) { return key == k.key; });
    if (removed != k_removed_keys.end()) {
      if (engine_major >= removed->removed_in) {
        out.push_back({key, KeyFinding::Kind::removed, removed->when});
      }
      continue;
    }
    if (std::find(k_known_keys.begin(), k_known_keys.end(), key) != k_known_keys.end()) {
      continue;
    }
    const bool newer =
        std::find(k_newer_keys.begin(), k_newer_keys.end(), key) != k_newer_keys.end();
    if (!newer) {
      out.push_back({key, KeyFinding::Kind::unknown, "not a Docker daemon option furnace knows"});
    } else if (engine_major > 0 && engine_major < 23) {
      out.push_back({key,
                     KeyFinding::Kind::unknown,
                     fmt::format("an option of engines newer than Docker {}", engine_major)});
    }
  }
  return out;
}

} // namespace furnace::host
