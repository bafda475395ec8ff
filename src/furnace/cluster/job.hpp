#pragma once
// A run on a cluster, as a value: what `furnace export slurm|k8s` renders. It is made from the
// same RunPlan `furnace run` executes (job_from_plan), so the project's mount, working
// directory, datasets, environment and command are the ones a local run gets; the image is the
// one a cluster can pull (by digest where it is known), and the GPUs are the scheduler's to give.
// Pure: no engine, no scheduler, no files.

#include <furnace/core/error.hpp>
#include <furnace/run/container_spec.hpp>
#include <furnace/run/plan.hpp>

#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace furnace::cluster {

// The image a cluster pulls: "REGISTRY/REPOSITORY@DIGEST", or a tag where no digest is known.
struct ImageRef {
  std::string registry;   // "127.0.0.1:5757"; "" = the runtime's default registry
  std::string repository; // "furnace/mnist"
  std::string digest;     // "sha256:<64 hex>"; "" when not pinned
  std::string tag;        // "abc123def456"; used when there is no digest
  bool pinned() const { return !digest.empty(); }
  // "127.0.0.1:5757/furnace/mnist@sha256:…" (or ":TAG" when not pinned).
  std::string reference() const;
  // pyxis/enroot's spelling: "127.0.0.1:5757#furnace/mnist@sha256:…".
  std::string enroot() const;
};

// Parses "[REGISTRY/]REPOSITORY[:TAG][@sha256:HEX]"; the first component is the registry when it
// has a '.', a ':' or is "localhost". Errors (invalid) name the text: an empty or malformed
// reference, a digest that is not sha256 with 64 hex digits, a character a shell or YAML would
// have to escape.
core::Result<ImageRef> parse_image_ref(std::string_view text);

// The image of a built project for a cluster: the repo digest (docker inspect's RepoDigests) in
// `registry` when one is given, else the first one; the local tag (not pinned) when there is none.
ImageRef pick_image(const std::vector<std::string>& repo_digests,
                    const std::string& local_tag,
                    const std::string& registry);

struct Job {
  std::string name;         // the job's name: a DNS-1123 label ("mnist-7f3a2c")
  std::string project_name; // "mnist"
  std::string here;         // where furnace was started (the docker runtime's -C)
  std::string workdir;      // the working directory in the container
  // [0] the project, read-write; then the datasets, read-only. Host paths: on a cluster they
  // are expected on a file system every node shares (docs/cluster.md).
  std::vector<run::Mount> mounts;
  std::vector<std::string> command;
  // Written into the script or manifest: furnace.yaml's env and PYTHONUNBUFFERED (project
  // files, no secrets). Everything else goes by name only.
  std::map<std::string, std::string> env;
  // Passed by name (the value comes from the job's environment, or for Kubernetes from a
  // Secret): -e variables, and for Slurm the proxies and TZ of the submitting shell.
  std::vector<std::string> env_names;
  ImageRef image;
  unsigned gpus = 0;     // per node
  unsigned nodes = 1;    //
  std::string cpus;      // per node ("8"; "" = the scheduler's default)
  std::string memory;    // per node, furnace's spelling ("32g"; "" = the scheduler's default)
  std::string shm;       // /dev/shm ("8g")
  unsigned port = 29500; // torchrun's rendezvous port (Slurm; Kubernetes uses 29400)
  std::vector<std::string> warnings; // for the front end to say
};

// What the export adds to a plan.
struct JobInputs {
  std::string name; // "" = "<project>-<6 hex>" from the plan's name
  std::string project_name;
  std::string here; // where furnace was started
  ImageRef image;
  unsigned gpus = 0;
  unsigned nodes = 1;
  std::vector<std::string> env_args; // the -e arguments (their names go by name)
};

// Errors (invalid, usage): a name that is no DNS label, 0 nodes, an empty command.
core::Result<Job> job_from_plan(const run::RunPlan& plan, const JobInputs& in);

// Whether `name` is a DNS-1123 label: 1-63 of [a-z0-9-], starting and ending alphanumeric.
bool dns_label(std::string_view name);

// "mnist_CNN.v2" -> "mnist-cnn-v2": lower case, runs of other characters as one '-', at most
// `max` characters, "job" when nothing is left.
std::string to_dns_label(std::string_view text, std::size_t max = 63);

// How a command starts under torchrun: "python [-u] script.py ARGS" -> "script.py ARGS",
// "python -m mod ARGS" -> "-m mod ARGS", anything else -> "--no-python CMD ARGS".
std::vector<std::string> torchrun_args(const std::vector<std::string>& command);

} // namespace furnace::cluster
