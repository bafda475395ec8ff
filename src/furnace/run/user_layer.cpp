#include "user_layer.hpp"

#include <furnace/image/builder.hpp>
#include <furnace/util/atomic_file.hpp>
#include <furnace/util/ownership.hpp>
#include <furnace/util/sha256.hpp>
#include <furnace/util/strings.hpp>

#include <fmt/format.h>

#include <pwd.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <filesystem>

namespace furnace::run {

namespace {

std::optional<unsigned> to_uint(const core::Env& env, const char* key) {
  const auto it = env.find(key);
  if (it == env.end() || it->second.empty() ||
      !std::all_of(it->second.begin(), it->second.end(), [](char c) {
        return std::isdigit(static_cast<unsigned char>(c)) != 0;
      })) {
    return std::nullopt;
  }
  return static_cast<unsigned>(std::stoul(it->second));
}

std::string name_of(unsigned uid) {
  std::string buf(16384, '\0');
  passwd pw{};
  passwd* found = nullptr;
  if (::getpwuid_r(uid, &pw, buf.data(), buf.size(), &found) == 0 && found != nullptr) {
    return found->pw_name;
  }
  return {};
}

} // namespace

std::optional<HostUser> invoking_user(const core::Env& env) {
  HostUser u;
  u.uid = ::getuid();
  u.gid = ::getgid();
  std::string name;
  if (u.uid == 0) {
    const auto sudo_uid = to_uint(env, "SUDO_UID");
    const auto sudo_gid = to_uint(env, "SUDO_GID");
    if (!sudo_uid || *sudo_uid == 0 || !sudo_gid) {
      return std::nullopt;
    }
    u.uid = *sudo_uid;
    u.gid = *sudo_gid;
    const auto it = env.find("SUDO_USER");
    name = it == env.end() ? std::string() : it->second;
  }
  if (name.empty()) {
    name = name_of(u.uid);
  }
  u.name = passwd_name(name, u.uid);
  u.home = "/home/" + u.name;
  return u;
}

std::string passwd_name(const std::string& name, unsigned uid) {
  const bool ok = !name.empty() && name.size() <= 32 &&
                  (std::islower(static_cast<unsigned char>(name.front())) != 0 || name.front() == '_') &&
                  std::all_of(name.begin(), name.end(), [](char c) {
                    const auto u = static_cast<unsigned char>(c);
                    return std::islower(u) != 0 || std::isdigit(u) != 0 || c == '_' || c == '-' ||
                           c == '.';
                  });
  return ok ? name : fmt::format("u{}", uid);
}

std::string user_dockerfile(const std::string& base_image, const HostUser& user) {
  // Plain sed and echo: no useradd needed, any libc base works. An entry with the same name or
  // uid is replaced; an existing group with the gid is kept.
  return fmt::format(
      "# furnace: the invoking user ({name}, {uid}:{gid}) inside {base}\n"
      "FROM {base}\n"
      "USER root\n"
      "RUN set -e; n={name}; u={uid}; g={gid}; h={home}; \\\n"
      "    sed -i -e \"/^$n:/d\" -e \"/^[^:]*:[^:]*:$u:/d\" /etc/passwd; \\\n"
      "    if ! grep -q \"^[^:]*:[^:]*:$g:\" /etc/group; then \\\n"
      "      sed -i \"/^$n:/d\" /etc/group; echo \"$n:x:$g:\" >> /etc/group; fi; \\\n"
      "    sh=/bin/sh; if [ -x /bin/bash ]; then sh=/bin/bash; fi; \\\n"
      "    echo \"$n:x:$u:$g:$n:$h:$sh\" >> /etc/passwd; \\\n"
      "    if [ -f /etc/shadow ]; then sed -i \"/^$n:/d\" /etc/shadow; \\\n"
      "      echo \"$n:*:19000:0:99999:7:::\" >> /etc/shadow; fi; \\\n"
      "    mkdir -p \"$h\"; chown \"$u:$g\" \"$h\"; chmod 0755 \"$h\"\n",
      fmt::arg("name", user.name),
      fmt::arg("uid", user.uid),
      fmt::arg("gid", user.gid),
      fmt::arg("home", user.home),
      fmt::arg("base", base_image));
}

std::string user_image_tag(const std::string& project_name, const std::string& base_image_id,
                           const HostUser& user) {
  const std::string key =
      fmt::format("{}\n{}:{}:{}:{}\n", base_image_id, user.name, user.uid, user.gid, user.home);
  return fmt::format("furnace-user/{}:{}", project_name, util::sha256_hex(key).substr(0, 12));
}

core::Result<std::string> ensure_user_image(core::Context& ctx, engine::Engine& engine,
                                            const std::string& project_name,
                                            const std::string& base_image,
                                            const std::string& base_image_id, const HostUser& user,
                                            const std::string& cache_dir) {
  const std::string tag = user_image_tag(project_name, base_image_id, user);
  auto have = engine.inspect_image(tag);
  if (have) {
    return tag;
  }
  if (have.error().kind != core::ErrorKind::not_found) {
    return core::fail(have.error());
  }
  const std::string dir = cache_dir + "/user/" + tag.substr(tag.find(':') + 1);
  std::error_code ec;
  util::make_directories(dir, ec);
  auto w = util::write_file_atomic(dir + "/Dockerfile", user_dockerfile(base_image, user));
  if (!w) {
    return core::fail(core::ErrorKind::io, w.error().message);
  }
  ctx.ui.info(fmt::format("adding user {} ({}:{}) to {} (once per image)", user.name, user.uid,
                          user.gid, base_image));
  util::ProcessOptions o;
  o.env = ctx.env;
  (*o.env)["DOCKER_BUILDKIT"] = "0"; // one RUN step: the legacy builder is fastest and everywhere
  o.timeout = std::chrono::milliseconds(300000);
  const std::vector<std::string> argv{image::docker_cli(ctx.env),
                                      "build",
                                      "--quiet",
                                      "--force-rm",
                                      "--label",
                                      "org.furnace.user-layer-of=" + base_image_id,
                                      "--tag",
                                      tag,
                                      dir};
  auto ran = ctx.runner.run(argv, o);
  image::give_docker_config_to_its_owner(ctx.env);
  if (!ran) {
    return core::fail(core::ErrorKind::not_found, ran.error().message,
                      "install the docker CLI, or set FURNACE_DOCKER");
  }
  if (!ran->status.ok()) {
    return core::fail(core::ErrorKind::remote,
                      fmt::format("adding user {} to {} failed (exit {}): {}{}", user.name,
                                  base_image, ran->status.code, util::trim(ran->err),
                                  util::trim(ran->out)),
                      fmt::format("the Dockerfile is {}/Dockerfile", dir));
  }
  return tag;
}

} // namespace furnace::run
