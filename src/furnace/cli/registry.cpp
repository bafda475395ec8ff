// furnace registry up / status / down / gc: the lab's Distribution registry.

#include "commands.hpp"

#include <furnace/registry/server.hpp>

#include <memory>

namespace furnace::cli {

namespace {

void add_dir(CLI::App* cmd, std::string& dir) {
  cmd->add_option("--dir",
                  dir,
                  "The registry's directory: config, storage, login, certificates, log "
                  "(default: ~/.local/share/furnace/registry)");
}

} // namespace

void register_registry(CLI::App& app, core::Context& ctx, int& exit_code) {
  CLI::App* reg = app.add_subcommand(
      "registry", "The lab's registry: an image store to push to, or a pull-through cache");
  reg->require_subcommand(1);

  auto up = std::make_shared<registry::UpOptions>();
  CLI::App* cmd = reg->add_subcommand(
      "up",
      "Start (or restart with new settings) a CNCF Distribution registry: the engine's "
      "registry:2 image when it has one, else the host's docker-registry binary");
  add_dir(cmd, up->dir);
  cmd->add_option("--address",
                  up->address,
                  "Listen address (default 127.0.0.1; a LAN address needs --auth or "
                  "--allow-insecure)")
      ->capture_default_str();
  cmd->add_option("--port", up->port, "Listen port")->capture_default_str();
  CLI::Option* proxy =
      cmd->add_option("--proxy",
                      up->proxy_url,
                      "Be a read-only pull-through cache of UPSTREAM (default Docker Hub)")
          ->expected(0, 1);
  cmd->add_option("--proxy-credentials",
                  up->proxy_credentials,
                  "A 0600 file with USER:PASSWORD for the upstream (then secure the cache)");
  cmd->add_option("--ttl", up->ttl, "How long the cache keeps content (Distribution 3; 2.8: 168h)")
      ->capture_default_str();
  cmd->add_flag("--auth",
                up->auth,
                "Require a login (bcrypt htpasswd) over TLS (a self-signed CA unless --tls)");
  cmd->add_option("--user", up->user, "The login's user name")->capture_default_str();
  cmd->add_flag("--password-stdin",
                up->password_stdin,
                "Read the password from stdin instead of generating one");
  cmd->add_option("--tls", up->tls, "Serve TLS with this certificate and key: --tls CERT KEY")
      ->expected(2);
  cmd->add_flag("--allow-insecure",
                up->allow_insecure,
                "Serve a non-loopback address without login, over plain HTTP");
  cmd->add_option("--backend", up->backend, "auto, container (registry:2) or binary")
      ->check(CLI::IsMember({"auto", "container", "binary"}))
      ->capture_default_str();
  cmd->add_option("--image", up->image, "The container backend's image")->capture_default_str();
  cmd->callback([&ctx, &exit_code, up, proxy] {
    up->proxy = proxy->count() > 0;
    exit_code = with_engine(
        ctx, [&](engine::DockerApi& api) { return registry::run_registry_up(ctx, api, *up); });
  });

  auto status = std::make_shared<registry::DirOptions>();
  cmd =
      reg->add_subcommand("status", "Is it up: address, kind, login, catalog, disk used and free");
  add_dir(cmd, status->dir);
  cmd->add_flag("--json", status->json, "Machine-readable output");
  cmd->callback([&ctx, &exit_code, status] {
    exit_code = with_engine(ctx, [&](engine::DockerApi& api) {
      return registry::run_registry_status(ctx, api, *status);
    });
  });

  auto down = std::make_shared<registry::DirOptions>();
  cmd = reg->add_subcommand("down", "Stop the registry (its storage is kept)");
  add_dir(cmd, down->dir);
  cmd->callback([&ctx, &exit_code, down] {
    exit_code = with_engine(
        ctx, [&](engine::DockerApi& api) { return registry::run_registry_down(ctx, api, *down); });
  });

  auto gc = std::make_shared<registry::DirOptions>();
  cmd = reg->add_subcommand(
      "gc", "Remove blobs no image uses any more (stops the registry meanwhile, then restarts it)");
  add_dir(cmd, gc->dir);
  cmd->callback([&ctx, &exit_code, gc] {
    exit_code = with_engine(
        ctx, [&](engine::DockerApi& api) { return registry::run_registry_gc(ctx, api, *gc); });
  });
}

} // namespace furnace::cli
