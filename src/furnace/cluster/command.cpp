// furnace export / submit: ensure_image -> plan_run (as `furnace run` would, without GPUs: the
// scheduler gives them) -> Job -> script or manifest; submit hands it to sbatch or kubectl and
// records it in the history.

#include "command.hpp"

#include <furnace/cluster/job.hpp>
#include <furnace/cluster/k8s.hpp>
#include <furnace/cluster/slurm.hpp>
#include <furnace/core/dirs.hpp>
#include <furnace/dataset/store.hpp>
#include <furnace/gpu/selection.hpp>
#include <furnace/image/build_log.hpp>
#include <furnace/image/ensure.hpp>
#include <furnace/project/load.hpp>
#include <furnace/run/git.hpp>
#include <furnace/run/plan.hpp>
#include <furnace/run/support.hpp>
#include <furnace/run/volume.hpp>
#include <furnace/util/atomic_file.hpp>
#include <furnace/util/ownership.hpp>
#include <furnace/util/strings.hpp>

#include <fmt/format.h>

#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <filesystem>
#include <fstream>

namespace furnace::cluster {

namespace {

namespace fs = std::filesystem;

int report(core::Ui& ui, const core::Error& e, int code) {
  ui.error(e);
  return code;
}

std::string random_suffix() {
  std::ifstream in("/dev/urandom", std::ios::binary);
  std::array<unsigned char, 3> b{};
  in.read(reinterpret_cast<char*>(b.data()),
          b.size()); // NOLINT(cppcoreguidelines-pro-type-reinterpret-cast)
  return fmt::format("{:02x}{:02x}{:02x}", b[0], b[1], b[2]);
}

// What the front ends need besides the job: the image and plan it came from.
struct Prepared {
  image::BuiltImage img;
  run::RunPlan plan;
  Job job;
  std::string root;
  std::optional<run::HostUser> user;
};

// The image a cluster pulls, and the project it belongs to: --image as given (no build), else
// the project's image, built when needed, by the repo digest a push left on it.
core::Result<image::BuiltImage> cluster_image(core::Context& ctx,
                                              const ExportOptions& o,
                                              const std::string& root,
                                              engine::Engine& engine,
                                              gpu::GpuProbe& probe,
                                              ImageRef& ref) {
  if (!o.image.empty()) {
    auto parsed = parse_image_ref(o.image);
    if (!parsed) {
      return core::fail(parsed.error());
    }
    ref = *parsed;
    auto yaml = project::load_furnace_yaml(root);
    if (!yaml) {
      return core::fail(yaml.error());
    }
    image::BuiltImage img;
    img.project_root = root;
    img.yaml = yaml->value_or(project::FurnaceYaml{});
    img.project_name = img.yaml.name.empty()
                           ? project::image_name_from(fs::path(root).filename().string())
                           : img.yaml.name;
    img.tag = ref.reference();
    return img;
  }
  image::ImageRequest req;
  req.path = root;
  req.announce = image::Announce::builds_only;
  req.verify = false;
  auto img = image::ensure_image(ctx, req, engine, probe);
  if (!img) {
    return img;
  }
  auto details = engine.inspect_image(img->tag);
  ref = pick_image(
      details ? details->repo_digests : std::vector<std::string>{}, img->tag, o.registry);
  if (!ref.pinned()) {
    ctx.ui.warn(fmt::format("the image {} is not pinned by digest (it was never pushed{})",
                            ref.reference(),
                            o.registry.empty() ? "" : " to " + o.registry),
                "'furnace push' it and export again, or give --image REGISTRY/REPO@sha256:DIGEST");
  }
  return img;
}

core::Result<Prepared> prepare(core::Context& ctx,
                               const ExportOptions& o,
                               engine::Engine& engine,
                               gpu::GpuProbe& probe,
                               run::Launcher& launcher) {
  std::error_code ec;
  const std::string here = fs::weakly_canonical(fs::absolute(o.path, ec), ec).string();
  if (!fs::is_directory(here, ec)) {
    return core::fail(core::ErrorKind::not_found, fmt::format("'{}' is not a directory", o.path));
  }
  Prepared p;
  p.root = project::find_root(here);
  if (auto ok = run::check_project_root(p.root, here, ctx.getenv("HOME").value_or("")); !ok) {
    return core::fail(ok.error());
  }
  run::RunInputs in;
  auto limits = run::load_host_limits(ctx.host_root);
  if (!limits) {
    return core::fail(limits.error());
  }
  in.host_limits = std::move(*limits);
  in.host = launcher.facts(ctx.env);
  in.host.stdin_tty = in.host.stdout_tty = in.host.stdin_data = false; // a batch job
  ImageRef ref;
  auto img = cluster_image(ctx, o, p.root, engine, probe, ref);
  if (!img) {
    return core::fail(img.error());
  }
  p.img = std::move(*img);
  if (o.command.empty() && p.img.yaml.command.empty()) {
    return core::fail(core::ErrorKind::invalid,
                      "no command for the job: a batch job cannot open a shell",
                      "give it after '--' (furnace export slurm -- python train.py), or set "
                      "furnace.yaml's command");
  }
  // The datasets as `furnace run` mounts them (where they are on this host; nothing is mounted).
  auto mounts = run::extra_mounts(ctx, {}, p.img.yaml.datasets, here, /*dry_run=*/true);
  if (!mounts) {
    return core::fail(mounts.error());
  }
  in.mounts = std::move(*mounts);
  in.here = here;
  in.name = fmt::format("{}-{}", to_dns_label(p.img.project_name, 55), random_suffix());
  in.image = ref.reference();
  in.env = ctx.env;
  in.now_ms = launcher.clock().now_ms();
  run::RunOptions ro;
  ro.path = here;
  ro.command = o.command;
  ro.env = o.env;
  ro.memory = o.memory;
  ro.cpus = o.cpus;
  ro.shm_size = o.shm_size;
  auto plan = run::plan_run(p.img, ro, in);
  if (!plan) {
    return core::fail(plan.error());
  }
  p.plan = std::move(*plan);
  p.user = in.host.user;
  JobInputs ji;
  ji.name = o.name;
  ji.project_name = p.img.project_name;
  ji.here = here;
  ji.image = ref;
  ji.gpus = o.gpus >= 0 ? static_cast<unsigned>(o.gpus) : gpus_per_node(p.img.yaml.gpus);
  ji.nodes = o.nodes;
  ji.env_args = o.env;
  auto job = job_from_plan(p.plan, ji);
  if (!job) {
    return core::fail(job.error());
  }
  p.job = std::move(*job);
  p.job.port = o.port;
  for (const std::string& w : p.job.warnings) {
    ctx.ui.warn(w,
                "put the data on a file system the nodes share (Slurm), or give "
                "--dataset-volume (Kubernetes)");
  }
  return p;
}

std::string self_path() {
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  return ec ? std::string("furnace") : exe.string();
}

core::Result<std::string> render(core::Context& ctx, const ExportOptions& o, const Prepared& p) {
  if (o.target == Target::slurm) {
    SlurmOptions so;
    const auto runtime = parse_runtime(o.runtime);
    if (!runtime) {
      return core::fail(core::ErrorKind::invalid,
                        fmt::format("--runtime '{}' is not one furnace knows", o.runtime),
                        "give pyxis, apptainer or docker");
    }
    so.runtime = *runtime;
    so.time = o.time;
    so.partition = o.partition;
    so.output = o.log;
    so.furnace = self_path();
    so.docker_host = ctx.getenv("DOCKER_HOST").value_or("");
    return render_slurm(p.job, so);
  }
  K8sOptions ko;
  ko.ns = o.ns;
  ko.pull_secret = o.pull_secret;
  ko.uid = p.user ? p.user->uid : ::getuid();
  ko.gid = p.user ? p.user->gid : ::getgid();
  if (!o.project_volume.empty()) {
    auto v = parse_volume_source(o.project_volume);
    if (!v) {
      return core::fail(v.error());
    }
    ko.project = *v;
  }
  // furnace.yaml's NFS datasets are NFS volumes by themselves (the same export the host mounts).
  for (const std::string& name : p.img.yaml.datasets) {
    auto found = dataset::find_dataset(ctx, name, false);
    if (found && found->dataset.source.kind == dataset::Kind::nfs) {
      const dataset::Source& src = found->dataset.source;
      ko.datasets["/datasets/" + name] =
          VolumeSource{{}, src.host, src.sub.empty() ? src.share : src.share + "/" + src.sub};
    }
  }
  for (const std::string& d : o.dataset_volumes) {
    const auto eq = d.find('=');
    auto v = parse_volume_source(eq == std::string::npos ? std::string() : d.substr(eq + 1));
    if (!v) {
      return core::fail(
          core::ErrorKind::invalid,
          fmt::format("--dataset-volume '{}': {}", run::printable(d), v.error().message),
          "give TARGET=pvc:CLAIM or TARGET=nfs:SERVER:/PATH");
    }
    ko.datasets[d.substr(0, eq)] = *v;
  }
  return render_k8s(p.job, ko);
}

core::Result<void> write_private(const std::string& path, const std::string& text, mode_t mode) {
  std::error_code ec;
  fs::create_directories(fs::path(path).parent_path(), ec);
  (void)util::give_to_directory_owner(fs::path(path).parent_path().string());
  util::AtomicWriteOptions w;
  w.mode = mode;
  auto ok = util::write_file_atomic(path, text, w);
  if (!ok) {
    return core::fail(core::ErrorKind::io,
                      ok.error().message,
                      "check that you can write there, or give another -o");
  }
  return {};
}

int usage_or(const core::Error& e) {
  return e.kind == core::ErrorKind::invalid ? 2 : 1;
}

} // namespace

unsigned gpus_per_node(const std::string& yaml_gpus) {
  auto request = gpu::parse_gpu_request(yaml_gpus.empty() ? "all" : yaml_gpus);
  if (!request) {
    return 1;
  }
  switch (request->kind) {
  case gpu::GpuRequest::Kind::none:
    return 0;
  case gpu::GpuRequest::Kind::list:
    return static_cast<unsigned>(request->indices.size());
  case gpu::GpuRequest::Kind::automatic:
    return request->count;
  case gpu::GpuRequest::Kind::all:
    break;
  }
  return 1;
}

int run_export(core::Context& ctx,
               const ExportOptions& options,
               engine::Engine& engine,
               gpu::GpuProbe& probe,
               run::Launcher& launcher) {
  auto p = prepare(ctx, options, engine, probe, launcher);
  if (!p) {
    return report(ctx.ui, p.error(), usage_or(p.error()));
  }
  auto text = render(ctx, options, *p);
  if (!text) {
    return report(ctx.ui, text.error(), usage_or(text.error()));
  }
  if (options.output.empty() || options.output == "-") {
    ctx.ui.out() << *text;
    return 0;
  }
  if (auto ok = write_private(options.output, *text, options.target == Target::slurm ? 0755 : 0644);
      !ok) {
    return report(ctx.ui, ok.error(), 1);
  }
  ctx.ui.info(fmt::format("wrote {}", options.output));
  return 0;
}

namespace {

history::RunRecord job_record(const Prepared& p,
                              const std::string& scheduler,
                              const std::string& job_id,
                              const std::string& log,
                              std::int64_t now_ms) {
  history::RunRecord r = p.plan.record;
  r.name = p.job.name;
  r.started_ms = now_ms;
  r.status = history::k_pending;
  r.user = p.user ? p.user->name : "root";
  r.git_commit = run::git_commit(p.root);
  r.command = p.job.command;
  r.gpu_request = std::to_string(p.job.gpus);
  r.log_path = log;
  r.detached = true;
  r.scheduler = scheduler;
  r.job_id = job_id;
  r.image_ref = p.job.image.reference();
  return r;
}

// The environment sbatch gets: furnace's, and the -e KEY=VALUE values (the job's environment
// carries them to the nodes; they are never written into the script).
core::Env job_env(const core::Context& ctx, const ExportOptions& o) {
  core::Env env = ctx.env;
  for (const std::string& e : o.env) {
    if (const auto eq = e.find('='); eq != std::string::npos) {
      env[e.substr(0, eq)] = e.substr(eq + 1);
    }
  }
  return env;
}

core::Result<std::string>
submit_slurm(core::Context& ctx, const ExportOptions& o, const std::string& script_path) {
  util::ProcessOptions po;
  po.env = job_env(ctx, o);
  po.timeout = std::chrono::seconds(60);
  auto r = ctx.runner.run({"sbatch", "--parsable", script_path}, po);
  if (!r) {
    return core::fail(core::ErrorKind::unavailable,
                      fmt::format("cannot run sbatch: {}", r.error().message),
                      "submit from a Slurm login node (sbatch on PATH), or 'furnace export "
                      "slurm -o job.sh' and copy the script there");
  }
  const std::string out(util::trim(r->out));
  if (!r->status.ok() || out.empty()) {
    return core::fail(core::ErrorKind::unavailable,
                      fmt::format("sbatch refused the job: {}",
                                  std::string(util::trim(r->err.empty() ? r->out : r->err))),
                      fmt::format("the script is {}", script_path));
  }
  return out.substr(0, out.find(';')); // "JOBID[;CLUSTER]"
}

core::Result<std::string>
submit_k8s(core::Context& ctx, const ExportOptions& o, const std::string& manifest_path) {
  const std::string path_var = ctx.getenv("PATH").value_or("/usr/local/bin:/usr/bin:/bin");
  if (!util::find_in_path("kubectl", path_var)) {
    return core::fail(core::ErrorKind::unavailable,
                      "kubectl is not installed (not on PATH): furnace submits through it",
                      fmt::format("install kubectl and point it at the cluster, or apply {} "
                                  "where kubectl is",
                                  manifest_path));
  }
  util::ProcessOptions po;
  po.env = ctx.env;
  po.timeout = std::chrono::seconds(120);
  auto r = ctx.runner.run({"kubectl", "apply", "-f", manifest_path}, po);
  if (!r || !r->status.ok()) {
    return core::fail(core::ErrorKind::unavailable,
                      fmt::format("kubectl apply failed: {}",
                                  r ? std::string(util::trim(r->err)) : r.error().message),
                      fmt::format("the manifest is {}", manifest_path));
  }
  return o.ns + "/";
}

} // namespace

int run_submit(core::Context& ctx,
               const ExportOptions& options,
               engine::Engine& engine,
               gpu::GpuProbe& probe,
               run::Launcher& launcher) {
  ExportOptions o = options;
  const std::string data = core::dirs_from_env(ctx.env).data;
  auto p = prepare(ctx, o, engine, probe, launcher);
  if (!p) {
    return report(ctx.ui, p.error(), usage_or(p.error()));
  }
  const bool slurm = o.target == Target::slurm;
  if (slurm && o.log.empty()) {
    o.log = run::run_log_path(ctx.env, p->job.name); // furnace logs reads it
  }
  auto text = render(ctx, o, *p);
  if (!text) {
    return report(ctx.ui, text.error(), usage_or(text.error()));
  }
  const std::string file =
      fmt::format("{}/jobs/{}.{}", data, p->job.name, slurm ? "sbatch" : "yaml");
  if (auto ok = write_private(file, *text, slurm ? 0700 : 0600); !ok) {
    return report(ctx.ui, ok.error(), 1);
  }
  if (slurm) { // Slurm writes the output file, but not its directory
    std::error_code ec;
    fs::create_directories(fs::path(o.log).parent_path(), ec);
  }
  auto id = slurm ? submit_slurm(ctx, o, file) : submit_k8s(ctx, o, file);
  if (!id) {
    return report(ctx.ui, id.error(), 1);
  }
  const std::string job_id = slurm ? *id : *id + p->job.name;
  auto store = run::open_history_or_warn(ctx);
  if (store) {
    const auto rec = job_record(
        *p, slurm ? "slurm" : "k8s", job_id, slurm ? o.log : "", launcher.clock().now_ms());
    if (auto ok = store->insert(rec); !ok) {
      ctx.ui.warn(fmt::format("job {} is not recorded: {}", job_id, ok.error().message));
    }
  }
  ctx.ui.out() << p->job.name << ' ' << job_id << '\n';
  ctx.ui.info(fmt::format("submitted to {} as job {}; 'furnace logs -f {}' follows it",
                          slurm ? "Slurm" : "Kubernetes",
                          job_id,
                          p->job.name));
  return 0;
}

} // namespace furnace::cluster
