// What `furnace run` makes of user text: port specs (-p, furnace.yaml ports), host paths in the
// --mount value, sizes, -e arguments and env-file values, and the admin's limits file. Beyond
// "no crash", the properties that matter: a normalised port normalises to itself; a --mount
// value read back the way the docker CLI reads it (encoding/csv, strict quotes) gives exactly the
// path furnace meant; what passes the env-file check is one line.
#include <furnace/run/container_spec.hpp>
#include <furnace/run/limits.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

namespace {

// One record of Go's encoding/csv with its defaults (comma ',', no lazy quotes, no trimming):
// nullopt where it would report an error.
std::optional<std::vector<std::string>> go_csv_record(const std::string& line) {
  std::vector<std::string> fields;
  std::size_t i = 0;
  while (true) {
    std::string field;
    if (i < line.size() && line[i] == '"') {
      ++i;
      while (true) {
        if (i >= line.size()) {
          return std::nullopt; // extraneous or missing " in quoted-field
        }
        if (line[i] == '"') {
          if (i + 1 < line.size() && line[i + 1] == '"') {
            field += '"';
            i += 2;
            continue;
          }
          ++i;
          break;
        }
        field += line[i++];
      }
      if (i < line.size() && line[i] != ',') {
        return std::nullopt; // extraneous " in field
      }
    } else {
      while (i < line.size() && line[i] != ',') {
        if (line[i] == '"') {
          return std::nullopt; // bare " in non-quoted field
        }
        field += line[i++];
      }
    }
    fields.push_back(field);
    if (i >= line.size()) {
      return fields;
    }
    ++i; // the comma
  }
}

void check(bool ok) {
  if (!ok) {
    std::abort();
  }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace furnace::run;
  const std::string text(reinterpret_cast<const char*>(data), size);

  if (auto p = normalize_port(text)) {
    auto again = normalize_port(*p);
    check(again.has_value() && *again == *p);
    check(p->find(':') != std::string::npos);
  }

  // A host path as the project's mount: quoted for the CLI's CSV reader, read back exactly.
  if (!text.empty() && text.front() == '/' && !has_control_char(text)) {
    ContainerSpec s;
    s.image = "img";
    s.name = "n";
    s.mounts = {Mount{text, text, false}, Mount{text, "/data", true}};
    const EngineCommand c = docker_run_command(s);
    std::vector<std::string> values;
    for (std::size_t i = 0; i + 1 < c.argv.size(); ++i) {
      if (c.argv[i] == "--mount") {
        values.push_back(c.argv[i + 1]);
      }
    }
    check(values.size() == 2);
    const auto rw = go_csv_record(values[0]);
    check(rw.has_value() &&
          *rw == std::vector<std::string>{"type=bind", "source=" + text, "target=" + text});
    const auto ro = go_csv_record(values[1]);
    check(ro.has_value() && *ro == std::vector<std::string>{
                                       "type=bind", "source=" + text, "target=/data", "readonly"});
  }
  check(!has_control_char(printable(text)));

  if (check_size(text, "--shm-size")) {
    check(size_bytes(text) > 0);
  }
  if (check_env_file_value("DOCKER_X", text)) {
    check(text.find('\n') == std::string::npos && text.find('\r') == std::string::npos);
  }
  (void)parse_env_arg(text, {{"A", "1"}});
  (void)check_memory(text, "--memory");
  (void)check_cpus(text, "--cpus");
  (void)check_pids_limit(text, "--pids-limit");
  if (auto h = parse_host_limits(text, "config.yaml")) {
    (void)resolve_limits(Limits{}, Limits{}, *h, "alice");
    (void)resolve_limits(Limits{"1g", "1", "10"}, Limits{}, *h, "alice");
  }
  return 0;
}
