#pragma once
// `furnace export k8s`: a Job as Kubernetes objects. One node: a batch/v1 Job. Several: an
// Indexed Job whose pods find each other through a headless Service, torchrun's rendezvous at
// <job>-0.<service>:29400. The image by digest, GPUs as nvidia.com/gpu limits, /dev/shm as a
// memory-backed emptyDir, the caller's uid/gid, no privilege escalation, pull secrets by name and
// the datasets as read-only PVC or NFS volumes. Pure (golden tests); the YAML is checked against
// the Kubernetes API models by tests/cluster/validate_k8s.py.

#include <furnace/cluster/job.hpp>
#include <furnace/core/error.hpp>

#include <nlohmann/json.hpp>

#include <map>
#include <string>
#include <vector>

namespace furnace::cluster {

// Where a volume's data lives on the cluster: a PersistentVolumeClaim or an NFS export.
struct VolumeSource {
  std::string claim;      // PVC name
  std::string nfs_server; // or an NFS server and its path
  std::string nfs_path;
};

// "pvc:CLAIM" or "nfs:SERVER:/PATH". Errors (invalid) name the text.
core::Result<VolumeSource> parse_volume_source(const std::string& text);

struct K8sOptions {
  std::string ns;          // metadata.namespace; "" = kubectl's current one
  std::string pull_secret; // imagePullSecrets: the Secret's name (never its content)
  unsigned uid = 1000;     // securityContext runAsUser / runAsGroup / fsGroup: the caller's
  unsigned gid = 1000;
  int backoff_limit = 0;           // a failed training run is not retried by default
  int ttl_seconds = 7 * 24 * 3600; // finished Jobs (and their logs) go after a week
  VolumeSource project;            // the project directory; default: PVC "<project>-project"
  std::map<std::string, VolumeSource> datasets; // by mount target; default: PVC named after it
  std::string env_secret; // the Secret the -e variables come from; "" = "<job>-env"
};

// Errors (invalid, usage): a namespace or secret that is not a DNS name.
core::Result<std::string> render_k8s(const Job& job, const K8sOptions& options);

// The documents as objects (what render_k8s writes as YAML), for tests and `submit`.
core::Result<std::vector<nlohmann::ordered_json>> k8s_objects(const Job& job,
                                                              const K8sOptions& options);

// YAML for `doc`: block style, every string double-quoted (JSON escapes are YAML escapes).
std::string to_yaml(const nlohmann::ordered_json& doc);

// A furnace size as a Kubernetes quantity: "8g" -> "8Gi", "512m" -> "512Mi", "1073741824" as is.
std::string k8s_quantity(const std::string& size);

} // namespace furnace::cluster
