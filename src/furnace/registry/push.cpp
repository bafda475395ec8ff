#include "push.hpp"

#include <furnace/image/builder.hpp>
#include <furnace/image/lock.hpp>
#include <furnace/project/load.hpp>
#include <furnace/registry/http.hpp>
#include <furnace/util/atomic_file.hpp>
#include <furnace/util/strings.hpp>

#include <fmt/format.h>

#include <filesystem>

namespace furnace::registry {

namespace fs = std::filesystem;

namespace {

struct LockedProject {
  std::string root;
  std::string lock_path;
  image::Lock lock;
};

core::Result<LockedProject> read_locked(const std::string& path) {
  LockedProject p;
  p.root = project::find_root(path);
  p.lock_path = (fs::path(p.root) / image::k_lock_file).string();
  auto text = util::read_file(p.lock_path);
  if (!text) {
    return core::fail(
        core::ErrorKind::not_found,
        fmt::format("no {} in {}: it names the image to push or pull", image::k_lock_file, p.root),
        "run 'furnace build' where the image is built, then 'furnace push'");
  }
  auto lock = image::parse_lock(*text, p.lock_path);
  if (!lock) {
    return core::fail(lock.error());
  }
  p.lock = std::move(*lock);
  if (p.lock.image.empty()) {
    return core::fail(core::ErrorKind::invalid,
                      fmt::format("{}: no 'image'", p.lock_path),
                      "'furnace build' rewrites the file");
  }
  return p;
}

// Runs the engine's CLI, its output going to stderr as it comes and kept for the error.
core::Result<std::pair<util::ExitStatus, std::string>>
run_streamed(core::Context& ctx, const std::vector<std::string>& argv) {
  std::string output;
  util::ProcessOptions o;
  o.on_output = [&](std::string_view chunk) {
    output.append(chunk);
    ctx.ui.err() << chunk;
    ctx.ui.err().flush();
  };
  auto r = ctx.runner.run(argv, o);
  if (!r) {
    return core::fail(core::ErrorKind::not_found,
                      fmt::format("cannot run {}: {}", argv.front(), r.error().message));
  }
  return std::make_pair(r->status, output);
}

core::Result<void> run_quiet(core::Context& ctx, const std::vector<std::string>& argv) {
  util::ProcessOptions o;
  o.timeout = std::chrono::milliseconds(60000);
  auto r = ctx.runner.run(argv, o);
  if (!r) {
    return core::fail(core::ErrorKind::not_found,
                      fmt::format("cannot run {}: {}", argv.front(), r.error().message));
  }
  if (!r->status.ok()) {
    return core::fail(
        core::ErrorKind::remote,
        fmt::format("{} {}: {}", argv.front(), argv.size() > 1 ? argv[1] : "", util::trim(r->err)));
  }
  return {};
}

std::string last_line(const std::string& text) {
  const std::string t(util::trim(text));
  const auto nl = t.rfind('\n');
  return nl == std::string::npos ? t : t.substr(nl + 1);
}

// Asks the registry to start an upload (and cancels it): a pull-through cache answers 405
// UNSUPPORTED. Returns true for a cache; false when it accepts uploads or cannot tell (login).
bool is_pull_through_cache(const std::string& host, const std::string& repo) {
  for (const char* scheme : {"https", "http"}) {
    HttpRequest req;
    req.method = "POST";
    req.url = fmt::format("{}://{}/v2/{}/blobs/uploads/", scheme, host, repo);
    req.verify_tls = false; // asks only whether uploads are possible; sends nothing secret
    req.timeout = std::chrono::milliseconds(5000);
    auto a = http_request(req);
    if (!a) {
      continue;
    }
    if (a->status == 400 && a->body.find("HTTP request to an HTTPS server") != std::string::npos) {
      continue;
    }
    if (a->status == 202) {
      const std::string location = a->header("Location");
      if (!location.empty()) {
        HttpRequest del;
        del.method = "DELETE";
        del.url = location.rfind("http", 0) == 0 ? location
                                                 : fmt::format("{}://{}{}", scheme, host, location);
        del.verify_tls = false;
        (void)http_request(del);
      }
      return false;
    }
    return a->status == 405 || a->body.find("UNSUPPORTED") != std::string::npos;
  }
  return false;
}

core::Error cache_error(const std::string& host) {
  return core::make_error(
      core::ErrorKind::invalid,
      fmt::format("cannot push to {}: it is a pull-through cache, and a pull-through cache is "
                  "read-only",
                  host),
      "push to the lab's image store instead (a 'furnace registry up' without --proxy)");
}

} // namespace

core::Result<std::string> registry_host(const std::string& value) {
  std::string v(util::trim(value));
  if (v.find("://") != std::string::npos) {
    return core::fail(core::ErrorKind::usage,
                      fmt::format("--registry '{}': give HOST:PORT, without a scheme", value),
                      "the engine picks https, or http for a registry listed as insecure");
  }
  while (!v.empty() && v.back() == '/') {
    v.pop_back();
  }
  if (v.empty() || v.find_first_of("/@ ") != std::string::npos) {
    return core::fail(core::ErrorKind::usage,
                      fmt::format("--registry '{}' is not HOST[:PORT]", value));
  }
  return v;
}

core::Error push_error(const std::string& ref, const std::string& host, const std::string& output) {
  const std::string low = util::to_lower(output);
  if (low.find("unsupported") != std::string::npos) {
    return cache_error(host);
  }
  if (low.find("no basic auth credentials") != std::string::npos ||
      low.find("unauthorized") != std::string::npos ||
      low.find("authentication required") != std::string::npos) {
    return core::make_error(core::ErrorKind::permission,
                            fmt::format("pushing {}: the registry wants a login", ref),
                            fmt::format("docker login {} (the engine keeps the login in "
                                        "~/.docker/config.json)",
                                        host));
  }
  return core::make_error(core::ErrorKind::remote,
                          fmt::format("pushing {}: {}", ref, last_line(output)),
                          fmt::format("is {} up? 'furnace registry status' on its host", host));
}

int run_push(core::Context& ctx, engine::Engine& engine, const PushOptions& o) {
  auto fail = [&](const core::Error& e) {
    ctx.ui.error(e);
    return e.kind == core::ErrorKind::usage ? 2 : 1;
  };
  auto p = read_locked(o.path);
  if (!p) {
    return fail(p.error());
  }
  std::string host = o.registry;
  if (host.empty() && !p->lock.pushed.empty()) {
    host = p->lock.pushed.substr(0, p->lock.pushed.find('/'));
  }
  if (host.empty()) {
    return fail(core::make_error(core::ErrorKind::usage,
                                 "which registry? furnace.lock names none",
                                 "furnace push --registry HOST:PORT"));
  }
  auto h = registry_host(host);
  if (!h) {
    return fail(h.error());
  }
  host = *h;
  auto local = engine.inspect_image(p->lock.image);
  if (!local) {
    return fail(core::make_error(
        core::ErrorKind::not_found,
        fmt::format("the image furnace.lock names ({}) is not in the engine", p->lock.image),
        "run 'furnace build' first"));
  }
  const auto ref_name = engine::parse_image_ref(p->lock.image);
  if (is_pull_through_cache(host, ref_name.name)) {
    return fail(cache_error(host));
  }
  const std::string ref = host + "/" + p->lock.image;
  const std::string docker = image::docker_cli(ctx.env);
  if (auto t = run_quiet(ctx, {docker, "tag", local->id, ref}); !t) {
    return fail(t.error());
  }
  auto pushed = run_streamed(ctx, {docker, "push", ref});
  if (!pushed) {
    return fail(pushed.error());
  }
  if (!pushed->first.ok()) {
    (void)run_quiet(ctx, {docker, "rmi", ref});
    return fail(push_error(ref, host, pushed->second));
  }
  auto after = engine.inspect_image(ref);
  std::string digest_ref;
  const std::string want = host + "/" + ref_name.name + "@";
  if (after) {
    for (const auto& d : after->repo_digests) {
      if (d.rfind(want, 0) == 0) {
        digest_ref = d;
      }
    }
  }
  if (digest_ref.empty()) {
    return fail(
        core::make_error(core::ErrorKind::remote,
                         fmt::format("pushed {}, but the engine reports no digest for it", ref)));
  }
  p->lock.pushed = digest_ref;
  p->lock.pushed_id = local->id;
  util::AtomicWriteOptions wo;
  wo.mode = 0644;
  if (auto w = util::write_file_atomic(p->lock_path, image::render_lock(p->lock), wo); !w) {
    return fail(core::make_error(core::ErrorKind::io, w.error().message));
  }
  ctx.ui.out() << fmt::format("pushed {}\n", ref);
  ctx.ui.out() << fmt::format(
      "digest {} recorded in {}\n", digest_ref.substr(digest_ref.find('@') + 1), p->lock_path);
  ctx.ui.info("commit furnace.lock: 'furnace pull' or 'furnace run --from-registry' then gets "
              "exactly this image");
  return 0;
}

core::Result<std::string>
pull_locked_image(core::Context& ctx, engine::Engine& engine, const PullOptions& o) {
  auto p = read_locked(o.path);
  if (!p) {
    return core::fail(p.error());
  }
  const image::Lock& lock = p->lock;
  if (lock.pushed.empty() || lock.pushed_id.empty() || lock.pushed.find('@') == std::string::npos) {
    return core::fail(core::ErrorKind::not_found,
                      fmt::format("{} records no pushed image", p->lock_path),
                      "run 'furnace push --registry HOST:PORT' where the image was built, and "
                      "commit furnace.lock");
  }
  std::string ref = lock.pushed;
  if (!o.registry.empty()) {
    auto h = registry_host(o.registry);
    if (!h) {
      return core::fail(h.error());
    }
    ref = *h + ref.substr(ref.find('/'));
  }
  const std::string host = ref.substr(0, ref.find('/'));
  const std::string digest = ref.substr(ref.find('@') + 1);
  // Already here: the lock's image with the pushed id (no registry round trip).
  if (auto here = engine.inspect_image(lock.image); here && here->id == lock.pushed_id) {
    return here->id;
  }
  const std::string docker = image::docker_cli(ctx.env);
  auto pulled = run_streamed(ctx, {docker, "pull", ref});
  if (!pulled) {
    return core::fail(pulled.error());
  }
  if (!pulled->first.ok()) {
    const std::string low = util::to_lower(pulled->second);
    if (low.find("manifest unknown") != std::string::npos ||
        low.find("not found") != std::string::npos) {
      return core::fail(
          core::ErrorKind::not_found,
          fmt::format("{} has no image with the digest furnace.lock records ({})", host, digest),
          "it was deleted or collected; push it again where it was built");
    }
    if (low.find("unauthorized") != std::string::npos ||
        low.find("no basic auth credentials") != std::string::npos) {
      return core::fail(core::ErrorKind::permission,
                        fmt::format("pulling {}: the registry wants a login", ref),
                        fmt::format("docker login {}", host));
    }
    return core::fail(core::ErrorKind::remote,
                      fmt::format("pulling {}: {}", ref, last_line(pulled->second)),
                      fmt::format("is {} up? 'furnace registry status' on its host", host));
  }
  auto got = engine.inspect_image(ref);
  if (!got) {
    return core::fail(got.error());
  }
  if (got->id != lock.pushed_id) {
    (void)run_quiet(ctx, {docker, "rmi", ref});
    return core::fail(core::ErrorKind::invalid,
                      fmt::format("digest mismatch: {} is image {}, but furnace.lock records {}; "
                                  "refusing it",
                                  ref,
                                  got->id,
                                  lock.pushed_id),
                      "the lock and the registry disagree: push again where the image was built "
                      "and commit furnace.lock");
  }
  if (auto t = run_quiet(ctx, {docker, "tag", got->id, lock.image}); !t) {
    return core::fail(t.error());
  }
  return got->id;
}

int run_pull(core::Context& ctx, engine::Engine& engine, const PullOptions& o) {
  auto id = pull_locked_image(ctx, engine, o);
  if (!id) {
    ctx.ui.error(id.error());
    return id.error().kind == core::ErrorKind::usage ? 2 : 1;
  }
  auto p = read_locked(o.path);
  ctx.ui.out() << fmt::format(
      "{} is {} (as furnace.lock records)\n", p ? p->lock.image : "the image", *id);
  return 0;
}

} // namespace furnace::registry
