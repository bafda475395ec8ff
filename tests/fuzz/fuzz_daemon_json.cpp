// daemon.json: parse, merge furnace's keys, render. Properties, not just "no crash":
//  - a parsed file renders, and the rendering parses back to the same document (round trip);
//  - a merge keeps every key and value furnace does not own, keeps every list entry, runtime and
//    log option that was there, and reports exactly the keys whose value changed;
//  - merging the same changes again changes nothing (idempotence), and the merged document
//    round-trips too.
// The first input byte picks the changes; the rest is the file.
#include <furnace/host/daemon_json.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

namespace {

using furnace::host::Json;

void check(bool ok) {
  if (!ok) {
    std::abort();
  }
}

bool owned(const std::string& key) {
  return key == "registry-mirrors" || key == "insecure-registries" || key == "runtimes" ||
         key == "default-runtime" || key == "live-restore" || key == "log-opts";
}

// Every element of `before` is still in `after`, in the same order, at the front.
bool kept_prefix(const Json& before, const Json& after) {
  if (!before.is_array()) {
    return before.is_null() || before == after;
  }
  if (!after.is_array() || after.size() < before.size()) {
    return false;
  }
  for (std::size_t i = 0; i < before.size(); ++i) {
    if (before[i] != after[i]) {
      return false;
    }
  }
  return true;
}

// Every member of object `before` is in `after` with the same value.
bool kept_members(const Json& before, const Json& after) {
  if (!before.is_object()) {
    return before.is_null() || before == after;
  }
  if (!after.is_object()) {
    return false;
  }
  for (const auto& item : before.items()) {
    if (!after.contains(item.key()) || after[item.key()] != item.value()) {
      return false;
    }
  }
  return true;
}

void round_trip(const Json& doc) {
  auto text = furnace::host::render_daemon_json(doc);
  if (!text) {
    return; // text that is not UTF-8: refused with a message, never written
  }
  auto again = furnace::host::parse_daemon_json(*text, "rendered");
  check(again.has_value());
  check(again->doc == doc);
  check(again->encoding == furnace::host::Encoding::utf8);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace furnace;
  if (size == 0) {
    return 0;
  }
  const std::uint8_t pick = data[0];
  const std::string text(reinterpret_cast<const char*>(data + 1), size - 1);
  auto cfg = host::parse_daemon_json(text, "daemon.json");
  if (!cfg) {
    check(!cfg.error().message.empty());
    return 0;
  }
  check(cfg->doc.is_object());
  round_trip(cfg->doc);
  (void)host::check_known_keys(cfg->doc, 20 + (pick % 10));

  host::DaemonChanges changes;
  if ((pick & 0x01) != 0) {
    changes.mirrors = {"http://127.0.0.1:5757", "https://mirror.example"};
  }
  if ((pick & 0x02) != 0) {
    changes.insecure_registries = {"127.0.0.1:5000", "10.0.0.0/8"};
  }
  if ((pick & 0x04) != 0) {
    changes.live_restore = (pick & 0x40) != 0;
  }
  changes.nvidia_runtime = (pick & 0x08) != 0;
  changes.nvidia_default = (pick & 0x10) != 0;
  if ((pick & 0x20) != 0) {
    changes.log_rotation = host::LogRotation{};
  }
  auto merged = host::merge_daemon_config(cfg->doc, changes);
  if (!merged) {
    check(!merged.error().message.empty());
    return 0;
  }
  const Json& before = cfg->doc;
  const Json& after = merged->doc;
  check(after.is_object());
  std::vector<std::string> changed;
  for (const auto& item : before.items()) {
    const std::string& key = item.key();
    check(after.contains(key)); // nothing removed
    if (!owned(key)) {
      check(after[key] == item.value()); // nothing of the user's rewritten
    }
  }
  for (const auto& item : after.items()) {
    if (!before.contains(item.key()) || before[item.key()] != item.value()) {
      changed.push_back(item.key());
      check(owned(item.key()));
    }
  }
  check(changed == merged->changed_keys);
  if (before.contains("registry-mirrors")) {
    check(kept_prefix(before["registry-mirrors"], after["registry-mirrors"]));
  }
  if (before.contains("insecure-registries")) {
    check(kept_prefix(before["insecure-registries"], after["insecure-registries"]));
  }
  if (before.contains("runtimes")) {
    check(kept_members(before["runtimes"], after["runtimes"]));
  }
  if (before.contains("log-opts")) {
    check(kept_members(before["log-opts"], after["log-opts"]));
  }
  if (before.contains("default-runtime") && !changes.nvidia_default) {
    check(after["default-runtime"] == before["default-runtime"]);
  }
  if (before.contains("live-restore") && !changes.live_restore) {
    check(after["live-restore"] == before["live-restore"]);
  }
  round_trip(after);
  auto twice = host::merge_daemon_config(after, changes);
  check(twice.has_value());
  check(twice->changed_keys.empty());
  check(twice->doc == after);
  return 0;
}
