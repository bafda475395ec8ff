#include "job.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <set>

namespace furnace::cluster {

namespace {

bool lower_alnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

bool hex(std::string_view s) {
  return std::all_of(
      s.begin(), s.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

// Characters an image reference may hold; anything else would need quoting somewhere.
bool ref_char(char c) {
  return lower_alnum(c) || (c >= 'A' && c <= 'Z') || c == '.' || c == '-' || c == '_' || c == '/' ||
         c == ':' || c == '@';
}

core::Error bad_ref(std::string_view text, std::string_view why) {
  return core::make_error(core::ErrorKind::invalid,
                          fmt::format("--image '{}': {}", run::printable(text), why),
                          "give REGISTRY/REPOSITORY@sha256:DIGEST, as 'docker inspect --format "
                          "{{{{.RepoDigests}}}}' prints it after 'furnace push'");
}

// The name of a -e argument ("KEY=VALUE" or "KEY").
std::string env_name(const std::string& arg) {
  return arg.substr(0, arg.find('='));
}

} // namespace

std::string ImageRef::reference() const {
  const std::string repo = registry.empty() ? repository : registry + "/" + repository;
  if (!digest.empty()) {
    return repo + "@" + digest;
  }
  return tag.empty() ? repo : repo + ":" + tag;
}

std::string ImageRef::enroot() const {
  const std::string repo = registry.empty() ? repository : registry + "#" + repository;
  if (!digest.empty()) {
    return repo + "@" + digest;
  }
  return tag.empty() ? repo : repo + ":" + tag;
}

core::Result<ImageRef> parse_image_ref(std::string_view text) {
  if (text.empty()) {
    return core::fail(bad_ref(text, "an empty image reference"));
  }
  if (!std::all_of(text.begin(), text.end(), ref_char)) {
    return core::fail(bad_ref(text, "a character no image reference has"));
  }
  ImageRef ref;
  std::string rest(text);
  if (const auto at = rest.find('@'); at != std::string::npos) {
    ref.digest = rest.substr(at + 1);
    rest.resize(at);
    if (ref.digest.size() != 71 || ref.digest.rfind("sha256:", 0) != 0 ||
        !hex(std::string_view(ref.digest).substr(7))) {
      return core::fail(bad_ref(text, "the digest is not sha256: and 64 lower-case hex digits"));
    }
  }
  const auto slash = rest.find('/');
  if (slash != std::string::npos) {
    const std::string first = rest.substr(0, slash);
    if (first.find_first_of(".:") != std::string::npos || first == "localhost") {
      ref.registry = first;
      rest = rest.substr(slash + 1);
    }
  }
  const auto colon = rest.rfind(':');
  if (colon != std::string::npos) {
    ref.tag = rest.substr(colon + 1);
    rest.resize(colon);
    if (ref.tag.empty() || ref.tag.find('/') != std::string::npos) {
      return core::fail(bad_ref(text, "a malformed tag"));
    }
  }
  ref.repository = rest;
  if (ref.repository.empty() || ref.repository.front() == '/' || ref.repository.back() == '/' ||
      ref.repository.find("//") != std::string::npos) {
    return core::fail(bad_ref(text, "no repository name"));
  }
  if (ref.digest.empty() && ref.tag.empty()) {
    ref.tag = "latest";
  }
  return ref;
}

ImageRef pick_image(const std::vector<std::string>& repo_digests,
                    const std::string& local_tag,
                    const std::string& registry) {
  for (const std::string& d : repo_digests) {
    auto ref = parse_image_ref(d);
    if (ref && ref->pinned() && (registry.empty() || ref->registry == registry)) {
      ref->tag.clear();
      return *ref;
    }
  }
  auto local = parse_image_ref(local_tag);
  ImageRef out = local ? *local : ImageRef{};
  if (!registry.empty()) {
    out.registry = registry; // where it is expected once pushed
  }
  return out;
}

bool dns_label(std::string_view name) {
  return !name.empty() && name.size() <= 63 && lower_alnum(name.front()) &&
         lower_alnum(name.back()) &&
         std::all_of(name.begin(), name.end(), [](char c) { return lower_alnum(c) || c == '-'; });
}

std::string to_dns_label(std::string_view text, std::size_t max) {
  std::string out;
  for (char c : text) {
    const char l = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
    if (lower_alnum(l)) {
      out += l;
    } else if (!out.empty() && out.back() != '-') {
      out += '-';
    }
  }
  if (out.size() > max) {
    out.resize(max);
  }
  while (!out.empty() && out.back() == '-') {
    out.pop_back();
  }
  return out.empty() ? "job" : out;
}

std::vector<std::string> torchrun_args(const std::vector<std::string>& command) {
  if (command.empty()) {
    return {};
  }
  const std::string& exe = command.front();
  const std::string base = exe.substr(exe.rfind('/') + 1);
  const bool python = base == "python" || base.rfind("python3", 0) == 0;
  if (!python || command.size() < 2) {
    std::vector<std::string> out{"--no-python"};
    out.insert(out.end(), command.begin(), command.end());
    return out;
  }
  std::size_t i = 1;
  while (i < command.size() && command[i] == "-u") { // torchrun's children are unbuffered anyway
    ++i;
  }
  return {command.begin() + static_cast<std::ptrdiff_t>(i), command.end()};
}

core::Result<Job> job_from_plan(const run::RunPlan& plan, const JobInputs& in) {
  const run::ContainerSpec& s = plan.spec;
  Job job;
  job.name = in.name.empty() ? to_dns_label(s.name) : in.name;
  if (!dns_label(job.name)) {
    return core::fail(core::ErrorKind::invalid,
                      fmt::format("--name '{}' is not a valid job name", run::printable(job.name)),
                      "use at most 63 lower-case letters, digits and '-', starting and ending "
                      "with a letter or digit");
  }
  if (in.nodes == 0) {
    return core::fail(core::ErrorKind::invalid,
                      "--nodes 0: a job needs at least one node",
                      "give --nodes 1 or more");
  }
  job.project_name = in.project_name;
  job.here = in.here;
  for (const run::Mount& m : s.mounts) {
    if (!m.source.empty() && m.source.front() == '/') {
      job.mounts.push_back(m);
    } else { // an engine volume on this host: nothing a cluster node has
      job.warnings.push_back(fmt::format("the volume '{}' at {} is this host's engine's: the job "
                                         "does not mount it",
                                         run::printable(m.source),
                                         run::printable(m.target)));
    }
  }
  job.workdir = s.workdir;
  job.command = s.command;
  job.image = in.image;
  job.gpus = in.gpus;
  job.nodes = in.nodes;
  job.cpus = s.cpus;
  job.memory = s.memory;
  job.shm = s.shm_size;
  std::set<std::string> by_name;
  for (const std::string& a : in.env_args) {
    by_name.insert(env_name(a));
  }
  for (const auto& [k, v] : s.env) {
    if (k == "HOME") {
      continue; // the cluster's runtime sets the home of the job's user
    }
    const bool host_value =
        k == "TZ" || k.find("proxy") != std::string::npos || k.find("PROXY") != std::string::npos;
    if (by_name.contains(k) || host_value) {
      job.env_names.push_back(k);
    } else {
      job.env[k] = v;
    }
  }
  for (const std::string& n : by_name) { // -e KEY with KEY unset here: still passed on
    if (std::find(job.env_names.begin(), job.env_names.end(), n) == job.env_names.end()) {
      job.env_names.push_back(n);
    }
  }
  std::sort(job.env_names.begin(), job.env_names.end());
  return job;
}

} // namespace furnace::cluster
