#include "k8s.hpp"

#include <furnace/util/process.hpp>

#include <fmt/format.h>

namespace furnace::cluster {

namespace {

using json = nlohmann::ordered_json;

constexpr int k_rendezvous_port = 29400;

void emit(const json& v, int indent, std::string& out);

std::string scalar(const json& v) {
  if (v.is_string()) {
    return v.dump(-1, ' ', false, json::error_handler_t::replace);
  }
  return v.is_null() ? "null" : v.dump();
}

bool empty_container(const json& v) {
  return (v.is_object() || v.is_array()) && v.empty();
}

// NOLINTNEXTLINE(misc-no-recursion): as deep as the document furnace builds (under 10)
void emit_object(const json& v, int indent, std::string& out) {
  const std::string pad(static_cast<std::size_t>(indent), ' ');
  for (const auto& [k, e] : v.items()) {
    out += pad + k + ":";
    if (empty_container(e)) {
      out += e.is_object() ? " {}\n" : " []\n";
    } else if (e.is_object() || e.is_array()) {
      out += "\n";
      emit(e, e.is_object() ? indent + 2 : indent, out);
    } else {
      out += " " + scalar(e) + "\n";
    }
  }
}

// NOLINTNEXTLINE(misc-no-recursion): as deep as the document furnace builds (under 10)
void emit_array(const json& v, int indent, std::string& out) {
  const std::string pad(static_cast<std::size_t>(indent), ' ');
  for (const auto& e : v) {
    if (e.is_object() && !e.empty()) {
      std::string inner;
      emit_object(e, indent + 2, inner);
      out += pad + "- " + inner.substr(static_cast<std::size_t>(indent) + 2);
    } else if (empty_container(e)) {
      out += pad + (e.is_object() ? "- {}\n" : "- []\n");
    } else if (e.is_array()) {
      out += pad + "-\n";
      emit(e, indent + 2, out);
    } else {
      out += pad + "- " + scalar(e) + "\n";
    }
  }
}

// NOLINTNEXTLINE(misc-no-recursion): as deep as the document furnace builds (under 10)
void emit(const json& v, int indent, std::string& out) {
  if (v.is_object()) {
    emit_object(v, indent, out);
  } else if (v.is_array()) {
    emit_array(v, indent, out);
  } else {
    out += std::string(static_cast<std::size_t>(indent), ' ') + scalar(v) + "\n";
  }
}

core::Result<void> check_dns(const std::string& value, const char* option) {
  if (!value.empty() && !dns_label(value)) {
    return core::fail(
        core::ErrorKind::invalid,
        fmt::format("{} '{}' is not a Kubernetes name", option, run::printable(value)),
        "use lower-case letters, digits and '-', starting and ending with a letter "
        "or digit");
  }
  return {};
}

json volume(const std::string& name, const VolumeSource& src, bool read_only) {
  if (!src.nfs_server.empty()) {
    return {{"name", name},
            {"nfs", {{"server", src.nfs_server}, {"path", src.nfs_path}, {"readOnly", read_only}}}};
  }
  return {{"name", name},
          {"persistentVolumeClaim", {{"claimName", src.claim}, {"readOnly", read_only}}}};
}

json labels(const Job& job) {
  return {{"app.kubernetes.io/managed-by", "furnace"},
          {"app.kubernetes.io/name", to_dns_label(job.project_name)},
          {"org.furnace/job", job.name}};
}

json container(const Job& job, const K8sOptions& o) {
  json env = json::array();
  for (const auto& [k, v] : job.env) {
    env.push_back({{"name", k}, {"value", v}});
  }
  const std::string secret = o.env_secret.empty() ? job.name + "-env" : o.env_secret;
  for (const std::string& n : job.env_names) {
    if (n == "TZ" || n.find("proxy") != std::string::npos || n.find("PROXY") != std::string::npos) {
      continue; // the cluster's own
    }
    env.push_back({{"name", n}, {"valueFrom", {{"secretKeyRef", {{"name", secret}, {"key", n}}}}}});
  }
  std::vector<std::string> command = job.command;
  if (job.nodes > 1) {
    command = {"torchrun",
               fmt::format("--nnodes={}", job.nodes),
               fmt::format("--nproc_per_node={}", std::max(job.gpus, 1U)),
               "--rdzv_backend=c10d",
               fmt::format("--rdzv_endpoint={0}-0.{0}:{1}", job.name, k_rendezvous_port),
               "--rdzv_id=" + job.name};
    const auto rest = torchrun_args(job.command);
    command.insert(command.end(), rest.begin(), rest.end());
  }
  json requests = json::object();
  json limits = json::object();
  if (!job.cpus.empty()) {
    requests["cpu"] = job.cpus;
  }
  if (!job.memory.empty()) {
    requests["memory"] = k8s_quantity(job.memory);
    limits["memory"] = k8s_quantity(job.memory);
  }
  if (job.gpus > 0) {
    limits["nvidia.com/gpu"] = std::to_string(job.gpus); // a quantity: a string
  }
  json mounts = json::array();
  for (std::size_t i = 0; i < job.mounts.size(); ++i) {
    const run::Mount& m = job.mounts[i];
    json vm = {{"name", i == 0 ? std::string("project") : fmt::format("dataset-{}", i)},
               {"mountPath", m.target}};
    if (i > 0 && m.read_only) { // a dataset added with --rw is read-write, as for furnace run
      vm["readOnly"] = true;
    }
    mounts.push_back(vm);
  }
  mounts.push_back({{"name", "dshm"}, {"mountPath", "/dev/shm"}});
  json c = {{"name", "main"},
            {"image", job.image.reference()},
            {"imagePullPolicy", job.image.pinned() ? "IfNotPresent" : "Always"},
            {"command", command},
            {"workingDir", job.workdir}};
  if (!env.empty()) {
    c["env"] = env;
  }
  if (job.nodes > 1) {
    c["ports"] = json::array({{{"name", "rendezvous"}, {"containerPort", k_rendezvous_port}}});
  }
  json resources = json::object();
  if (!requests.empty()) {
    resources["requests"] = requests;
  }
  if (!limits.empty()) {
    resources["limits"] = limits;
  }
  c["resources"] = resources;
  c["securityContext"] = {{"allowPrivilegeEscalation", false},
                          {"privileged", false},
                          {"capabilities", {{"drop", json::array({"ALL"})}}}};
  c["volumeMounts"] = mounts;
  return c;
}

json pod_spec(const Job& job, const K8sOptions& o) {
  json spec = {{"restartPolicy", "Never"}};
  if (job.nodes > 1) {
    spec["subdomain"] = job.name; // <job>-<index>.<service> resolves to each pod
  }
  json sc = {{"runAsUser", o.uid},
             {"runAsGroup", o.gid},
             {"fsGroup", o.gid},
             {"fsGroupChangePolicy", "OnRootMismatch"}};
  if (o.uid != 0) {
    sc["runAsNonRoot"] = true;
  }
  spec["securityContext"] = sc;
  if (!o.pull_secret.empty()) {
    spec["imagePullSecrets"] = json::array({{{"name", o.pull_secret}}});
  }
  spec["containers"] = json::array({container(job, o)});
  json volumes = json::array();
  for (std::size_t i = 0; i < job.mounts.size(); ++i) {
    const run::Mount& m = job.mounts[i];
    if (i == 0) {
      VolumeSource src = o.project;
      if (src.claim.empty() && src.nfs_server.empty()) {
        src.claim = to_dns_label(job.project_name, 55) + "-project";
      }
      volumes.push_back(volume("project", src, false));
      continue;
    }
    auto found = o.datasets.find(m.target);
    VolumeSource src = found != o.datasets.end() ? found->second : VolumeSource{};
    if (src.claim.empty() && src.nfs_server.empty()) {
      src.claim = to_dns_label(m.target.substr(m.target.rfind('/') + 1));
    }
    volumes.push_back(volume(fmt::format("dataset-{}", i), src, m.read_only));
  }
  volumes.push_back({{"name", "dshm"},
                     {"emptyDir", {{"medium", "Memory"}, {"sizeLimit", k8s_quantity(job.shm)}}}});
  spec["volumes"] = volumes;
  return spec;
}

json metadata(const Job& job, const K8sOptions& o) {
  json m = {{"name", job.name}};
  if (!o.ns.empty()) {
    m["namespace"] = o.ns;
  }
  m["labels"] = labels(job);
  return m;
}

} // namespace

core::Result<VolumeSource> parse_volume_source(const std::string& text) {
  VolumeSource v;
  if (text.rfind("pvc:", 0) == 0 && dns_label(text.substr(4))) {
    v.claim = text.substr(4);
    return v;
  }
  if (text.rfind("nfs:", 0) == 0) {
    const auto colon = text.find(':', 4);
    if (colon != std::string::npos && colon > 4 && colon + 1 < text.size() &&
        text[colon + 1] == '/' && !run::has_control_char(text)) {
      v.nfs_server = text.substr(4, colon - 4);
      v.nfs_path = text.substr(colon + 1);
      return v;
    }
  }
  return core::fail(core::ErrorKind::invalid,
                    fmt::format("'{}' is not a volume source", run::printable(text)),
                    "give pvc:CLAIM or nfs:SERVER:/PATH");
}

std::string k8s_quantity(const std::string& size) {
  if (size.empty()) {
    return size;
  }
  const char last = size.back();
  std::string number = size.substr(0, size.size() - 1);
  switch (last) {
  case 'k':
  case 'K':
    return number + "Ki";
  case 'm':
  case 'M':
    return number + "Mi";
  case 'g':
  case 'G':
    return number + "Gi";
  case 't':
  case 'T':
    return number + "Ti";
  case 'b':
  case 'B':
    return number;
  default:
    return size;
  }
}

core::Result<std::vector<nlohmann::ordered_json>> k8s_objects(const Job& job, const K8sOptions& o) {
  if (auto ok = check_dns(o.ns, "--namespace"); !ok) {
    return core::fail(ok.error());
  }
  if (auto ok = check_dns(o.pull_secret, "--pull-secret"); !ok) {
    return core::fail(ok.error());
  }
  std::vector<json> docs;
  if (job.nodes > 1) {
    json svc = {{"apiVersion", "v1"}, {"kind", "Service"}, {"metadata", metadata(job, o)}};
    svc["spec"] = {{"clusterIP", "None"},
                   {"publishNotReadyAddresses", true},
                   {"selector", {{"org.furnace/job", job.name}}},
                   {"ports",
                    json::array({{{"name", "rendezvous"},
                                  {"port", k_rendezvous_port},
                                  {"targetPort", k_rendezvous_port}}})}};
    docs.push_back(svc);
  }
  json spec = {{"backoffLimit", o.backoff_limit}, {"ttlSecondsAfterFinished", o.ttl_seconds}};
  if (job.nodes > 1) {
    spec["completionMode"] = "Indexed";
    spec["completions"] = job.nodes;
    spec["parallelism"] = job.nodes;
  }
  spec["template"] = {{"metadata", {{"labels", labels(job)}}}, {"spec", pod_spec(job, o)}};
  docs.push_back({{"apiVersion", "batch/v1"},
                  {"kind", "Job"},
                  {"metadata", metadata(job, o)},
                  {"spec", spec}});
  return docs;
}

std::string to_yaml(const nlohmann::ordered_json& doc) {
  std::string out;
  emit(doc, 0, out);
  return out;
}

core::Result<std::string> render_k8s(const Job& job, const K8sOptions& o) {
  auto docs = k8s_objects(job, o);
  if (!docs) {
    return core::fail(docs.error());
  }
  std::string out = fmt::format("# furnace export k8s: {} on {} node(s) with {} GPU(s) each.\n"
                                "# Apply with 'kubectl apply -f FILE'; docs/cluster.md says what "
                                "each field does.\n",
                                job.project_name,
                                job.nodes,
                                job.gpus);
  if (!job.image.pinned()) {
    out += fmt::format("# WARNING: the image {} is NOT pinned by digest. Push it ('furnace push') "
                       "and export again,\n# or give --image REGISTRY/REPO@sha256:DIGEST.\n",
                       job.image.reference());
  }
  bool any_secret = false;
  for (const std::string& n : job.env_names) {
    any_secret = any_secret || !(n == "TZ" || n.find("proxy") != std::string::npos ||
                                 n.find("PROXY") != std::string::npos);
  }
  if (any_secret) {
    out += fmt::format("# The -e variables come from the Secret '{}' (kubectl create secret "
                       "generic ... --from-env-file).\n",
                       o.env_secret.empty() ? job.name + "-env" : o.env_secret);
  }
  for (const auto& doc : *docs) {
    out += "---\n" + to_yaml(doc);
  }
  return out;
}

} // namespace furnace::cluster
