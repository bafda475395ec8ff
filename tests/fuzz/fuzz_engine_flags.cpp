// The flags dockerd runs with: `systemctl show -p ExecStart docker` output, /etc/default/docker
// DOCKER_OPTS, the daemon.json a dockerd argv reads, and the flag/file conflict check. Properties:
// no crash; every flag furnace maps names its key and its words; the conflicts found are keys
// of the document that a flag sets.
#include <furnace/host/engine_flags.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

namespace {

void check(bool ok) {
  if (!ok) {
    std::abort();
  }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace furnace;
  const std::string text(reinterpret_cast<const char*>(data), size);
  const auto exec = host::parse_exec_start(text);
  const auto opts = host::parse_docker_opts(text);
  std::vector<host::FlagSource> sources{{"systemd ExecStart of docker.service", exec},
                                        {"/etc/default/docker DOCKER_OPTS", opts}};
  host::Json doc = host::Json::object();
  for (const auto& source : sources) {
    (void)host::config_file_of(source.args);
    for (const auto& s : host::keys_set_by_flags(source)) {
      check(!s.key.empty());
      check(!s.flag.empty());
      check(s.origin == source.origin);
      doc[s.key] = true;
    }
  }
  (void)host::config_file_of(opts); // "--config-file=" names "": dockerd then reads no file
  std::vector<std::string> changed;
  for (const auto& item : doc.items()) {
    changed.push_back(item.key());
  }
  for (const auto& c : host::find_conflicts(doc, changed, sources)) {
    check(doc.contains(c.setting.key));
    check(std::find(changed.begin(), changed.end(), c.setting.key) != changed.end());
    check(c.introduced);
  }
  return 0;
}
