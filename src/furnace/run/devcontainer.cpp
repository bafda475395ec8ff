#include "devcontainer.hpp"

#include <furnace/run/support.hpp>
#include <furnace/run/user_layer.hpp>
#include <furnace/util/process.hpp>
#include <furnace/util/sha256.hpp>
#include <furnace/util/strings.hpp>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>

namespace furnace::run {

namespace {

constexpr std::string_view k_hash_marker = "furnace-sha256: ";

// The label that marks a container an IDE started from furnace's file.
constexpr const char* k_label_ide = "org.furnace.ide";

// A --mount field, quoted for the CLI's CSV reading when it holds a comma or a quote.
std::string csv_field(const std::string& field) {
  if (field.find_first_of(",\"") == std::string::npos) {
    return field;
  }
  std::string out = "\"";
  for (const char c : field) {
    out += c;
    if (c == '"') {
      out += '"';
    }
  }
  return out + "\"";
}

std::string mount_text(const Mount& m) {
  std::string v =
      "type=bind," + csv_field("source=" + m.source) + "," + csv_field("target=" + m.target);
  return m.read_only ? v + ",readonly" : v;
}

// The plan's container with the labels of an IDE's container: furnace's project, user and GPUs,
// and org.furnace.ide. Never org.furnace.run: `furnace run` would take a container with it for the
// leftover of a killed run.
ContainerSpec ide_spec(const RunPlan& plan, const IdeInput& in) {
  ContainerSpec s = plan.spec;
  s.labels.clear();
  for (const char* k : {k_label_project, k_label_user, k_label_gpus}) {
    if (auto it = plan.spec.labels.find(k); it != plan.spec.labels.end()) {
      s.labels[k] = it->second;
    }
  }
  s.labels[k_label_ide] = in.tool;
  return s;
}

// The options of docker_run_command(spec) between "run" and the image, as "--flag=value", less
// the ones in `skip` (with their values).
std::vector<std::string> run_options(const ContainerSpec& spec,
                                     const std::set<std::string_view>& skip) {
  static const std::set<std::string_view> k_no_value{"--init", "-i", "-t", "--rm", "--read-only"};
  const std::vector<std::string> argv = docker_run_command(spec).argv;
  const std::size_t image_at = argv.size() - spec.command.size() - 1;
  std::vector<std::string> out;
  for (std::size_t i = 2; i < image_at; ++i) {
    const std::string& flag = argv[i];
    const bool has_value = k_no_value.count(flag) == 0 && i + 1 < image_at;
    if (skip.count(flag) == 0) {
      out.push_back(has_value ? flag + "=" + argv[i + 1] : flag);
    }
    if (has_value) {
      ++i;
    }
  }
  return out;
}

// "127.0.0.1:8080:80/udp" -> 80: the container's port, which an IDE forwards.
std::optional<int> container_port(const std::string& published) {
  std::string p = published.substr(0, published.find('/'));
  p = p.substr(p.rfind(':') + 1);
  try {
    return std::stoi(p);
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out = util::split(text, '\n');
  if (!out.empty() && out.back().empty()) {
    out.pop_back();
  }
  return out;
}

} // namespace

bool ide_secret_name(const std::string& name) {
  std::string upper = name;
  std::transform(upper.begin(), upper.end(), upper.begin(), [](unsigned char c) {
    return static_cast<char>(std::toupper(c));
  });
  if (upper == "XAUTHORITY") { // the cookie file's path in the container (--gui), not a secret
    return false;
  }
  for (const char* word : {"TOKEN", "SECRET", "PASSWORD", "PASSWD", "KEY", "CREDENTIAL", "AUTH"}) {
    if (upper.find(word) != std::string::npos) {
      return true;
    }
  }
  return false;
}

std::map<std::string, std::string> ide_env(const RunPlan& plan, const IdeInput& in) {
  std::map<std::string, std::string> out;
  for (const auto& [k, v] : plan.spec.env) {
    if (k == "HOME") {
      continue; // the remote user's home from /etc/passwd
    }
    const bool secret =
        in.from_host.count(k) != 0 || ide_secret_name(k) ||
        (util::to_lower(k).find("proxy") != std::string::npos && proxy_has_credentials(v));
    out[k] = secret ? "${localEnv:" + k + "}" : v;
  }
  return out;
}

std::vector<std::string> ide_run_args(const RunPlan& plan, const IdeInput& in) {
  // What the Dev Container keys say instead: the name (the IDE names it), the user (remoteUser),
  // the mounts (workspaceMount, mounts), the working directory (workspaceFolder), the variables
  // (containerEnv) and the ports (forwardPorts).
  return run_options(
      ide_spec(plan, in),
      {"--name", "--user", "--mount", "--workdir", "--env", "--env-file", "--publish", "-i", "-t"});
}

std::string render_devcontainer(const RunPlan& plan, const IdeInput& in) {
  const ContainerSpec& s = plan.spec;
  nlohmann::ordered_json j;
  j["name"] = in.project_name;
  if (in.build) {
    j["build"] = {{"dockerfile", "Dockerfile"}, {"context", "."}};
  } else {
    j["image"] = s.image;
  }
  if (!s.mounts.empty()) {
    j["workspaceMount"] = mount_text(s.mounts.front());
    j["workspaceFolder"] = s.mounts.front().target;
  }
  if (s.user) {
    j["remoteUser"] = s.user->name;
    j["updateRemoteUserUID"] = true;
  }
  const auto env = ide_env(plan, in);
  if (!env.empty()) {
    j["containerEnv"] = env;
  }
  if (s.mounts.size() > 1) {
    nlohmann::ordered_json mounts = nlohmann::ordered_json::array();
    for (std::size_t i = 1; i < s.mounts.size(); ++i) {
      mounts.push_back(mount_text(s.mounts[i]));
    }
    j["mounts"] = mounts;
  }
  nlohmann::ordered_json ports = nlohmann::ordered_json::array();
  for (const std::string& p : s.ports) {
    if (auto port = container_port(p)) {
      ports.push_back(*port);
    }
  }
  if (!ports.empty()) {
    j["forwardPorts"] = ports;
  }
  // No hostRequirements.gpu: the devcontainer CLI answers it with its own `--gpus all` after
  // runArgs, a second device request that widens a chosen set to every GPU and, with all of
  // them, runs the NVIDIA hook twice. The GPUs are in runArgs, which every IDE passes on.
  j["runArgs"] = ide_run_args(plan, in);
  j["customizations"] = {{"vscode",
                          {{"extensions", {"ms-python.python"}},
                           {"settings", {{"python.defaultInterpreterPath", in.python}}}}}};
  const std::string body =
      j.dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace) + "\n";
  return fmt::format("// Written by 'furnace ide {}' from the project's run plan (docs/ide.md).\n"
                     "// furnace refreshes this file while nobody edits it; after an edit it "
                     "leaves it alone\n"
                     "// ('furnace ide {} --force' replaces it).\n"
                     "// {}{}\n{}",
                     in.tool,
                     in.tool,
                     k_hash_marker,
                     util::sha256_hex(body),
                     body);
}

std::map<std::string, std::string>
render_build_files(const std::string& dockerfile,
                   const std::map<std::string, std::string>& context,
                   const std::optional<HostUser>& user,
                   const std::string& tool) {
  std::map<std::string, std::string> bodies = context;
  std::string& df = bodies["Dockerfile"];
  df = dockerfile;
  if (user) {
    // The user layer's steps, without its FROM: the same user furnace runs as.
    const std::string layer = user_dockerfile("-", *user);
    const auto from = layer.find("FROM -\n");
    df += "\n" + (from == std::string::npos ? layer : layer.substr(from + 7));
  }
  std::map<std::string, std::string> out;
  for (const auto& [name, body] : bodies) {
    out[name] = fmt::format("# Written by 'furnace ide {} --dockerfile' (docs/ide.md); after an "
                            "edit furnace leaves it alone.\n# {}{}\n{}",
                            tool,
                            k_hash_marker,
                            util::sha256_hex(body),
                            body);
  }
  return out;
}

std::string render_pycharm(const RunPlan& plan, const IdeInput& in) {
  const ContainerSpec& s = plan.spec;
  std::vector<std::string> options = ide_run_args(plan, in);
  if (s.user) {
    options.push_back(fmt::format("--user={}:{}", s.user->uid, s.user->gid));
  }
  std::vector<std::string> by_hand;
  for (const auto& [k, v] : ide_env(plan, in)) {
    if (v.rfind("${localEnv:", 0) == 0) {
      by_hand.push_back(k);
    } else {
      options.push_back("--env=" + k + "=" + v);
    }
  }
  std::string binds;
  std::string maps;
  for (const Mount& m : s.mounts) {
    binds += fmt::format("{}{}:{}{}",
                         binds.empty() ? "" : "\n                           ",
                         m.source,
                         m.target,
                         m.read_only ? ":ro" : "");
  }
  if (!s.mounts.empty()) {
    maps = s.mounts.front().source + "=" + s.mounts.front().target;
  }
  std::string out = fmt::format("PyCharm without Dev Containers: Settings > Project > Python "
                                "Interpreter > Add Interpreter >\n"
                                "On Docker (older versions: Docker), then these values:\n"
                                "  Image:                   {}\n"
                                "  Python interpreter path: {}\n"
                                "  Volume bindings:         {}\n"
                                "  Path mappings:           {}\n"
                                "  Run options:             {}\n"
                                "  Working directory:       {}\n",
                                s.image,
                                in.python,
                                binds,
                                maps,
                                util::shell_join(options),
                                s.mounts.empty() ? s.workdir : s.mounts.front().target);
  if (!by_hand.empty()) {
    out += fmt::format("  Set in the run configuration (values not written here): {}\n",
                       fmt::join(by_hand, ", "));
  }
  return out;
}

bool written_by_furnace_unchanged(const std::string& text) {
  const auto at = text.find(k_hash_marker);
  if (at == std::string::npos) {
    return false;
  }
  const auto eol = text.find('\n', at);
  if (eol == std::string::npos) {
    return false;
  }
  const std::string recorded =
      text.substr(at + k_hash_marker.size(), eol - at - k_hash_marker.size());
  return recorded == util::sha256_hex(std::string_view(text).substr(eol + 1));
}

IdeWrite
decide_write(const std::optional<std::string>& existing, const std::string& wanted, bool force) {
  if (!existing) {
    return IdeWrite::create;
  }
  if (*existing == wanted) {
    return IdeWrite::up_to_date;
  }
  if (written_by_furnace_unchanged(*existing)) {
    return IdeWrite::refresh;
  }
  return force ? IdeWrite::replace : IdeWrite::refuse;
}

std::string unified_diff(const std::string& before,
                         const std::string& after,
                         const std::string& before_label,
                         const std::string& after_label) {
  if (before == after) {
    return {};
  }
  const std::vector<std::string> a = lines_of(before);
  const std::vector<std::string> b = lines_of(after);
  const std::size_t n = a.size();
  const std::size_t m = b.size();
  // The edit script from the longest common subsequence; a pair of huge files (over 4 million
  // line pairs) is shown as all removed, then all added.
  struct Op {
    char kind;      // ' ', '-', '+'
    std::size_t ai; // lines of `a` before this one
    std::size_t bi; // lines of `b` before this one
  };
  std::vector<Op> ops;
  if (n * m <= 4'000'000) {
    std::vector<std::vector<unsigned>> lcs(n + 1, std::vector<unsigned>(m + 1, 0));
    for (std::size_t i = n; i-- > 0;) {
      for (std::size_t j = m; j-- > 0;) {
        lcs[i][j] = a[i] == b[j] ? lcs[i + 1][j + 1] + 1 : std::max(lcs[i + 1][j], lcs[i][j + 1]);
      }
    }
    std::size_t i = 0;
    std::size_t j = 0;
    while (i < n || j < m) {
      if (i < n && j < m && a[i] == b[j]) {
        ops.push_back({' ', i++, j++});
      } else if (i < n && (j == m || lcs[i + 1][j] >= lcs[i][j + 1])) {
        ops.push_back({'-', i++, j});
      } else {
        ops.push_back({'+', i, j++});
      }
    }
  } else {
    for (std::size_t i = 0; i < n; ++i) {
      ops.push_back({'-', i, 0});
    }
    for (std::size_t j = 0; j < m; ++j) {
      ops.push_back({'+', n, j});
    }
  }
  constexpr std::size_t k_context = 3;
  std::string out = fmt::format("--- {}\n+++ {}\n", before_label, after_label);
  std::size_t k = 0;
  while (k < ops.size()) {
    if (ops[k].kind == ' ') {
      ++k;
      continue;
    }
    const std::size_t start = k >= k_context ? k - k_context : 0;
    std::size_t last = k; // the last change of this hunk
    for (std::size_t x = k + 1; x < ops.size() && x <= last + 2 * k_context; ++x) {
      if (ops[x].kind != ' ') {
        last = x;
      }
    }
    const std::size_t end = std::min(ops.size(), last + k_context + 1);
    std::size_t old_count = 0;
    std::size_t new_count = 0;
    std::string body;
    for (std::size_t x = start; x < end; ++x) {
      const Op& op = ops[x];
      old_count += op.kind != '+' ? 1 : 0;
      new_count += op.kind != '-' ? 1 : 0;
      body += op.kind;
      body += op.kind == '+' ? b[op.bi] : a[op.ai];
      body += '\n';
    }
    const std::size_t old_start = ops[start].ai + (old_count > 0 ? 1 : 0);
    const std::size_t new_start = ops[start].bi + (new_count > 0 ? 1 : 0);
    out += fmt::format("@@ -{},{} +{},{} @@\n", old_start, old_count, new_start, new_count);
    out += body;
    k = end;
  }
  return out;
}

} // namespace furnace::run
