// furnace setup on a table of real-world daemon.json files, through the built binary, under
// --root temp dirs and with no engine (DOCKER_HOST points nowhere): plan, refusals, merge,
// idempotence, backups, symlinks, the lock.

#include "support/test_env.hpp"

#include <furnace/gpu/gpu_lock.hpp>
#include <furnace/host/system_file.hpp>
#include <furnace/setup/gpu_lock_dir.hpp>
#include <furnace/setup/host_steps.hpp>
#include <furnace/setup/setup.hpp>
#include <furnace/util/atomic_file.hpp>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <grp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <optional>
#include <thread>

namespace furnace {
namespace {

namespace fs = std::filesystem;
using testing::run_furnace;
using testing::TempDir;

class SetupCli : public ::testing::Test {
protected:
  void SetUp() override {
    m_bin = m_dir.path() + "/bin";
    fs::create_directories(m_bin);
    fs::create_directories(root() + "/etc/docker");
  }
  std::string root() const { return m_dir.path() + "/root"; }
  std::string daemon_json() const { return root() + "/etc/docker/daemon.json"; }
  void write_daemon_json(const std::string& text) const {
    m_dir.write("root/etc/docker/daemon.json", text);
  }
  std::string read_daemon_json() const {
    return util::read_file(daemon_json()).value_or("<missing>");
  }
  void fake_toolkit() const { m_dir.write("bin/nvidia-container-runtime", "#!/bin/sh\n", 0755); }
  std::map<std::string, std::string> env() const {
    return {{"DOCKER_HOST", "unix:///nonexistent/docker.sock"},
            {"HOME", m_dir.path()},
            {"PATH", m_bin + ":/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin"}};
  }
  testing::Run setup(std::vector<std::string> args) const {
    args.insert(args.begin(), {"setup", "--root", root(), "--yes"});
    return run_furnace(args, env());
  }
  std::size_t backups() const {
    std::size_t n = 0;
    for (const auto& e : fs::directory_iterator(root() + "/etc/docker")) {
      n += e.path().filename().string().find(".furnace-backup-") != std::string::npos ? 1U : 0U;
    }
    return n;
  }

  TempDir m_dir;
  std::string m_bin;
};

constexpr const char* k_mirror = "http://127.0.0.1:9"; // refuses connections: a fast probe

TEST_F(SetupCli, a_malformed_file_is_refused_with_line_and_column_and_left_alone) {
  const std::string bad = "{\n  \"debug\": true,\n}\n";
  write_daemon_json(bad);
  auto r = setup({"--mirror", k_mirror});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("furnace: error: " + daemon_json() + ":3:1: invalid JSON: "),
            std::string::npos)
      << r.err;
  EXPECT_EQ(read_daemon_json(), bad);
  EXPECT_EQ(backups(), 0U);
}

TEST_F(SetupCli, empty_and_trivial_files_become_an_object_with_the_mirror) {
  for (const char* text : {"", "{}", "\n"}) {
    write_daemon_json(text);
    auto r = setup({"--mirror", k_mirror});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const auto j = nlohmann::json::parse(read_daemon_json());
    EXPECT_EQ(j, nlohmann::json::parse(R"({"registry-mirrors": ["http://127.0.0.1:9"]})"));
  }
}

TEST_F(SetupCli, a_missing_file_is_created_0644_without_a_backup) {
  auto r = setup({"--live-restore"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(read_daemon_json(), "{\n  \"live-restore\": true\n}\n");
  struct stat st {};
  ASSERT_EQ(::stat(daemon_json().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0644U);
  EXPECT_EQ(backups(), 0U);
  EXPECT_NE(r.out.find("plan: create " + daemon_json()), std::string::npos) << r.out;
}

TEST_F(SetupCli, a_bom_file_is_written_back_without_the_bom_and_warned_about) {
  write_daemon_json("\xEF\xBB\xBF{\"debug\": true}");
  auto r = setup({"--mirror", k_mirror});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(read_daemon_json().rfind("{\n", 0), 0U);
  EXPECT_NE(r.err.find("starts with a byte order mark"), std::string::npos) << r.err;
}

TEST_F(SetupCli, duplicate_keys_are_refused_and_the_file_unchanged) {
  const std::string dup = "{\"debug\": true, \"debug\": false}";
  write_daemon_json(dup);
  auto r = setup({"--mirror", k_mirror});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find(":1:17: duplicate key \"debug\""), std::string::npos) << r.err;
  EXPECT_EQ(read_daemon_json(), dup);
}

TEST_F(SetupCli, a_removed_key_already_there_is_flagged_and_kept) {
  const std::string old = "{\"disable-legacy-registry\": true}";
  write_daemon_json(old);
  auto r = setup({"--mirror", k_mirror});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("already has \"disable-legacy-registry\""), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("furnace never deletes your keys"), std::string::npos) << r.err;
  EXPECT_EQ(read_daemon_json(), old);
}

TEST_F(SetupCli, unknown_keys_are_kept_with_a_warning) {
  write_daemon_json("{\"my-own-key\": {\"x\": 1}}");
  auto r = setup({"--mirror", k_mirror});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("\"my-own-key\": not a Docker daemon option furnace knows"),
            std::string::npos)
      << r.err;
  EXPECT_EQ(nlohmann::json::parse(read_daemon_json())["my-own-key"]["x"], 1);
}

TEST_F(SetupCli, a_flag_conflict_is_refused_quoting_the_flag) {
  write_daemon_json("{}");
  m_dir.write("root/etc/default/docker", "DOCKER_OPTS=\"--registry-mirror=https://other\"\n");
  auto r = setup({"--mirror", k_mirror});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(
      r.err.find("\"registry-mirrors\" is also set by the flag '--registry-mirror=https://other'"),
      std::string::npos)
      << r.err;
  EXPECT_EQ(read_daemon_json(), "{}");
}

TEST_F(SetupCli, bad_mirrors_are_refused_before_any_write_and_never_echo_a_password) {
  write_daemon_json("{}");
  for (const char* bad : {"https://m/foo", "ftp://m", "https://u:hunter2@m"}) {
    auto r = setup({"--mirror", bad});
    EXPECT_EQ(r.exit_code, 2) << bad;
    EXPECT_NE(r.err.find("invalid mirror"), std::string::npos) << r.err;
    EXPECT_EQ((r.out + r.err).find("hunter2"), std::string::npos);
  }
  EXPECT_EQ(read_daemon_json(), "{}");
}

TEST_F(SetupCli, mirrors_are_said_to_apply_to_docker_hub_only) {
  auto r = setup({"--mirror", k_mirror});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("registry mirrors apply to Docker Hub images only"), std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("does not answer /v2/"), std::string::npos) << r.err;
}

TEST_F(SetupCli, runtime_merge_keeps_others_and_the_second_run_writes_nothing) {
  fake_toolkit();
  for (
      const char* text :
      {R"({"runtimes": null})",
       R"({"runtimes": {"nvidia": {"path": "/opt/nv/runtime", "runtimeArgs": ["--debug"]}, "crun": {"path": "/usr/bin/crun"}}, "data-root": "/srv/docker"})"}) {
    write_daemon_json(text);
    auto r = setup({"--nvidia-runtime", "--default"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const std::string first = read_daemon_json();
    const auto j = nlohmann::json::parse(first);
    EXPECT_EQ(j["default-runtime"], "nvidia");
    EXPECT_TRUE(j["runtimes"].contains("nvidia"));
    const auto orig = nlohmann::json::parse(text);
    for (const auto& [k, v] : orig.items()) {
      if (k != "runtimes" || !v.is_null()) {
        EXPECT_EQ(j[k], v) << k;
      }
    }
    struct stat before {};
    ::stat(daemon_json().c_str(), &before);
    const std::size_t backups_before = backups();
    auto again = setup({"--nvidia-runtime", "--default"});
    ASSERT_EQ(again.exit_code, 0) << again.err;
    EXPECT_NE(again.out.find("nothing to change"), std::string::npos) << again.out;
    EXPECT_EQ(read_daemon_json(), first);
    struct stat after {};
    ::stat(daemon_json().c_str(), &after);
    EXPECT_EQ(before.st_mtim.tv_nsec, after.st_mtim.tv_nsec);
    EXPECT_EQ(before.st_ino, after.st_ino);
    EXPECT_EQ(backups(), backups_before);
  }
}

TEST_F(SetupCli, the_nvidia_runtime_without_its_binary_is_refused_with_install_steps) {
  write_daemon_json("{}");
  m_dir.write("root/etc/os-release", "PRETTY_NAME=\"Debian GNU/Linux 12\"\nID=debian\n");
  auto r = setup({"--nvidia-runtime", "--default"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("nvidia-container-runtime is not installed"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("apt-get install -y nvidia-container-toolkit"), std::string::npos) << r.err;
  EXPECT_EQ(read_daemon_json(), "{}");
}

TEST_F(SetupCli, makes_the_shared_gpu_lock_directory_and_its_boot_entry_once) {
  if (::geteuid() != 0) {
    GTEST_SKIP() << "setup makes the directory root's (the tests run as root in CI)";
  }
  write_daemon_json("{}");
  const std::string dir = root() + "/run/furnace/gpu";
  const auto gid = gpu::lock_group();
  const std::string group = gid ? std::string(::getgrgid(*gid)->gr_name) : std::string();
  auto r = setup({"--live-restore"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("created " + dir + " (" +
                       (gid ? "root:" + group + " 3770: the GPU locks of every user in group " +
                                  group + ")"
                            : std::string("root:root 0700: the GPU locks of every user)"))),
            std::string::npos)
      << r.out;
  struct stat sb {};
  ASSERT_EQ(::lstat(dir.c_str(), &sb), 0);
  EXPECT_EQ(sb.st_mode & 07777U, gid ? 03770U : 0700U);
  EXPECT_EQ(sb.st_uid, 0U);
  EXPECT_EQ(util::read_file(root() + "/etc/tmpfiles.d/furnace.conf").value_or("<missing>"),
            "# furnace: the GPU lock directory, made again at every boot (furnace setup wrote "
            "this)\n" +
                setup::tmpfiles_line(group) + "\n");
  auto again = setup({"--live-restore"});
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_EQ(again.out.find("/run/furnace/gpu"), std::string::npos) << again.out;
  EXPECT_EQ(again.out.find("tmpfiles.d"), std::string::npos) << again.out;
}

TEST_F(SetupCli, an_old_world_writable_lock_directory_of_root_gets_the_safe_mode) {
  if (::geteuid() != 0) {
    GTEST_SKIP() << "setup makes the directory root's (the tests run as root in CI)";
  }
  const std::string dir = root() + "/run/furnace/gpu";
  fs::create_directories(dir);
  ASSERT_EQ(::chmod(dir.c_str(), 01777), 0);
  auto r = setup({"--live-restore"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("set " + dir + " to root:"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("(was root:root 1777)"), std::string::npos) << r.out;
  struct stat sb {};
  ASSERT_EQ(::lstat(dir.c_str(), &sb), 0);
  EXPECT_EQ(sb.st_mode & 07777U, gpu::lock_group() ? 03770U : 0700U);
}

TEST_F(SetupCli, lock_files_an_old_open_directory_let_anyone_leave_are_removed_roots_kept) {
  if (::geteuid() != 0) {
    GTEST_SKIP() << "setup makes the directory root's (the tests run as root in CI)";
  }
  const std::string dir = root() + "/run/furnace/gpu";
  fs::create_directories(dir);
  ASSERT_EQ(::chmod(dir.c_str(), 01777), 0);
  // An older furnace's files (0666), another user's, a hard link, and root's own 0600 one.
  m_dir.write("root/run/furnace/gpu/gpu-GPU-0.lock", "", 0600);
  ASSERT_EQ(::chmod((dir + "/gpu-GPU-0.lock").c_str(), 0666), 0);
  m_dir.write("root/run/furnace/gpu/gpu-GPU-1.lock", "", 0600);
  ASSERT_EQ(::chown((dir + "/gpu-GPU-1.lock").c_str(), 65534, 65534), 0);
  const std::string victim = m_dir.write("victim", "precious\n", 0644);
  ASSERT_EQ(::link(victim.c_str(), (dir + "/gpu-GPU-2.lock").c_str()), 0);
  m_dir.write("root/run/furnace/gpu/gpu-GPU-3.lock", "{}\n", 0600);
  auto r = setup({"--live-restore"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_FALSE(fs::exists(dir + "/gpu-GPU-0.lock")) << r.out;
  EXPECT_FALSE(fs::exists(dir + "/gpu-GPU-1.lock")) << r.out;
  EXPECT_FALSE(fs::exists(dir + "/gpu-GPU-2.lock")) << r.out;
  EXPECT_NE(r.out.find("removed " + dir +
                       "/gpu-GPU-2.lock (owner 0, mode 0644, 2 link(s)): not "
                       "to be trusted"),
            std::string::npos)
      << r.out;
  EXPECT_EQ(util::read_file(victim).value_or(""), "precious\n");
  ASSERT_TRUE(fs::exists(dir + "/gpu-GPU-3.lock"));
  EXPECT_EQ(util::read_file(dir + "/gpu-GPU-3.lock").value_or(""), "{}\n");
  struct stat sb {};
  ASSERT_EQ(::lstat((dir + "/gpu-GPU-3.lock").c_str(), &sb), 0);
  const auto gid = gpu::lock_group();
  EXPECT_EQ(sb.st_mode & 07777U, gid ? 0660U : 0600U);
  if (gid) {
    EXPECT_EQ(sb.st_gid, *gid);
  }
}

TEST_F(SetupCli, a_lock_directory_of_another_user_is_refused_not_taken_over) {
  if (::geteuid() != 0) {
    GTEST_SKIP() << "needs root to give the directory to another user";
  }
  const std::string dir = root() + "/run/furnace/gpu";
  fs::create_directories(dir);
  ASSERT_EQ(::chown(dir.c_str(), 65534, 65534), 0);
  ASSERT_EQ(::chmod(dir.c_str(), 0700), 0);
  auto r = setup({"--live-restore"});
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_NE(r.err.find("refusing the GPU lock directory " + dir + " (owner nobody"),
            std::string::npos)
      << r.err;
  struct stat sb {};
  ASSERT_EQ(::lstat(dir.c_str(), &sb), 0);
  EXPECT_EQ(sb.st_uid, 65534U);
}

TEST_F(SetupCli, default_needs_the_runtime_flag) {
  auto r = setup({"--default"});
  EXPECT_EQ(r.exit_code, 2) << r.err;
}

TEST_F(SetupCli, a_symlinked_file_is_edited_at_its_target_and_stays_a_link) {
  m_dir.write("root/srv/conf/daemon.json", "{\"debug\": true}");
  fs::create_symlink("/srv/conf/daemon.json", daemon_json());
  auto r = setup({"--mirror", k_mirror});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(fs::is_symlink(daemon_json()));
  const auto j =
      nlohmann::json::parse(util::read_file(root() + "/srv/conf/daemon.json").value_or("{}"));
  EXPECT_EQ(j["debug"], true);
  EXPECT_EQ(j["registry-mirrors"][0], k_mirror);
  EXPECT_NE(r.err.find("is a symbolic link: editing its target"), std::string::npos) << r.err;
}

TEST_F(SetupCli, a_directory_in_place_of_the_file_is_refused) {
  fs::create_directories(daemon_json());
  auto r = setup({"--mirror", k_mirror});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("is a directory, not a file"), std::string::npos) << r.err;
}

TEST_F(SetupCli, dry_run_prints_the_diff_and_writes_nothing) {
  write_daemon_json("{\n  \"debug\": true\n}\n");
  auto r = run_furnace({"setup", "--root", root(), "--dry-run", "--live-restore"}, env());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("-   \"debug\": true\n+   \"debug\": true,\n+   \"live-restore\": true\n"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("dry run: nothing written"), std::string::npos) << r.out;
  EXPECT_EQ(read_daemon_json(), "{\n  \"debug\": true\n}\n");
  // The GPU lock directory and its boot entry are announced, not made.
  EXPECT_NE(r.out.find("would create " + root() + "/run/furnace/gpu"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("would write " + root() + "/etc/tmpfiles.d/furnace.conf"), std::string::npos)
      << r.out;
  EXPECT_FALSE(fs::exists(root() + "/run/furnace/gpu"));
  EXPECT_FALSE(fs::exists(root() + "/etc/tmpfiles.d/furnace.conf"));
}

TEST_F(SetupCli, repeated_runs_are_byte_identical_and_backups_are_capped) {
  write_daemon_json("{\"debug\": true}");
  auto first = setup({"--mirror", k_mirror, "--live-restore", "--keep-backups", "2"});
  ASSERT_EQ(first.exit_code, 0) << first.err;
  const std::string content = read_daemon_json();
  for (int i = 0; i < 5; ++i) {
    auto r = setup({"--mirror", k_mirror, "--live-restore", "--keep-backups", "2"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.out.find("nothing to change"), std::string::npos);
    EXPECT_EQ(read_daemon_json(), content);
  }
  for (int i = 0; i < 4; ++i) {
    ASSERT_EQ(setup({"--insecure-registry",
                     "127.0.0." + std::to_string(i + 1) + ":5000",
                     "--keep-backups",
                     "2"})
                  .exit_code,
              0);
  }
  EXPECT_EQ(backups(), 2U);
}

// Case 34, made deterministic: the test holds the setup lock itself, so both runs must wait for
// it (and say whose it is) whatever the scheduling; then they take it one after the other and
// both changes land.
TEST_F(SetupCli, concurrent_runs_on_different_keys_wait_for_the_lock_and_both_land) {
  write_daemon_json("{}");
  fs::create_directories(root() + "/run/furnace");
  auto held =
      host::FileLock::acquire(root() + "/run/furnace/setup.lock", {}, std::chrono::seconds(1));
  ASSERT_TRUE(held) << held.error().message;
  testing::Run a;
  testing::Run b;
  std::thread ta([&] { a = setup({"--mirror", k_mirror}); });
  std::thread tb([&] { b = setup({"--live-restore"}); });
  // While the lock is held nothing may be written, however long the runs have had.
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  EXPECT_EQ(read_daemon_json(), "{}");
  std::optional<host::FileLock> release(std::move(*held));
  release.reset();
  ta.join();
  tb.join();
  EXPECT_EQ(a.exit_code, 0) << a.err;
  EXPECT_EQ(b.exit_code, 0) << b.err;
  const std::string waiting =
      "waiting for another furnace setup (pid " + std::to_string(::getpid()) + ") to finish";
  EXPECT_NE(a.err.find(waiting), std::string::npos) << a.err;
  EXPECT_NE(b.err.find(waiting), std::string::npos) << b.err;
  const auto j = nlohmann::json::parse(read_daemon_json());
  EXPECT_EQ(j["registry-mirrors"][0], k_mirror);
  EXPECT_EQ(j["live-restore"], true);
}

#if FURNACE_TEST_HOOKS
TEST_F(SetupCli, a_stale_temp_from_a_crash_is_removed_next_run) {
  write_daemon_json("{}");
  auto crashed = run_furnace({"setup", "--root", root(), "--yes", "--live-restore"}, [&] {
    auto e = env();
    e["FURNACE_TEST_CRASH_AT"] = "after-temp-write";
    return e;
  }());
  EXPECT_NE(crashed.exit_code, 0);
  EXPECT_EQ(read_daemon_json(), "{}");
  auto after_rename = run_furnace({"setup", "--root", root(), "--yes", "--mirror", k_mirror}, [&] {
    auto e = env();
    e["FURNACE_TEST_CRASH_AT"] = "after-rename";
    return e;
  }());
  EXPECT_NE(after_rename.exit_code, 0);
  // The first crash's temp file is removed by the next run; this one crashed after its rename.
  EXPECT_NE(after_rename.err.find("removed 1 temporary file(s)"), std::string::npos)
      << after_rename.err;
  EXPECT_EQ(nlohmann::json::parse(read_daemon_json()),
            nlohmann::json::parse(R"({"registry-mirrors": ["http://127.0.0.1:9"]})"));
  auto r = setup({"--live-restore"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err.find("temporary file"), std::string::npos) << r.err;
  for (const auto& e : fs::directory_iterator(root() + "/etc/docker")) {
    EXPECT_EQ(e.path().filename().string().find(".furnace-tmp-"), std::string::npos);
  }
}
#else
// A build without FURNACE_TEST_HOOKS (release) ignores the hooks: no crash, no injected key.
TEST_F(SetupCli, a_release_build_ignores_the_test_hooks) {
  write_daemon_json("{}");
  auto e = env();
  e["FURNACE_TEST_CRASH_AT"] = "after-temp-write";
  e["FURNACE_TEST_INJECT_KEY"] = "furnace-bogus-key";
  auto r = run_furnace({"setup", "--root", root(), "--yes", "--live-restore"}, e);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(read_daemon_json(), "{\n  \"live-restore\": true\n}\n");
}
#endif

TEST_F(SetupCli, without_yes_and_without_a_terminal_it_asks_for_yes_and_changes_nothing) {
  write_daemon_json("{}");
  auto r = run_furnace({"setup", "--root", root(), "--live-restore"}, env());
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(
      r.err.find("furnace: error: furnace setup needs a confirmation and stdin is not a "
                 "terminal\n  hint: run it in a terminal, or pass --yes to agree in advance\n"),
      std::string::npos)
      << r.err;
  EXPECT_EQ(read_daemon_json(), "{}");
}

TEST_F(SetupCli, engines_from_23_validate_with_dockerd_itself) {
  write_daemon_json("{}");
  // A stand-in dockerd 24 whose --validate refuses everything, then one that accepts.
  m_dir.write("bin/dockerd",
              "#!/bin/sh\n"
              "case \"$1\" in\n"
              "  --version) echo 'Docker version 24.0.7, build afdd53b' ;;\n"
              "  --validate) echo \"unable to configure the Docker daemon with file $3: the "
              "following directives don't match any configuration option: x\" >&2; exit 1 ;;\n"
              "esac\n",
              0755);
  auto refused = setup({"--live-restore"});
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_NE(
      refused.err.find("dockerd --validate rejects the new " + daemon_json() +
                       ": unable to configure the Docker daemon with file /tmp/furnace-validate-"),
      std::string::npos)
      << refused.err;
  EXPECT_EQ(read_daemon_json(), "{}");
  m_dir.write("bin/dockerd",
              "#!/bin/sh\n"
              "case \"$1\" in\n"
              "  --version) echo 'Docker version 24.0.7, build afdd53b' ;;\n"
              "  --validate) echo 'configuration OK' ;;\n"
              "esac\n",
              0755);
  auto ok = setup({"--live-restore"});
  ASSERT_EQ(ok.exit_code, 0) << ok.err;
  EXPECT_NE(ok.err.find("dockerd --validate: configuration OK"), std::string::npos) << ok.err;
  EXPECT_EQ(read_daemon_json(), "{\n  \"live-restore\": true\n}\n");
}

TEST_F(SetupCli, proxy_credentials_are_masked_in_the_plan_and_kept_in_the_file_and_backup) {
  const std::string with_creds = R"({"proxies": {"http-proxy": "http://ann:s3cr3t@proxy:3128"}})";
  m_dir.write("root/etc/docker/daemon.json", with_creds, 0600);
  auto r = setup({"--live-restore"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ((r.out + r.err).find("s3cr3t"), std::string::npos) << r.out << r.err;
  EXPECT_NE(r.out.find("http://ann:xxxxx@proxy:3128"), std::string::npos) << r.out;
  EXPECT_NE(read_daemon_json().find("s3cr3t"), std::string::npos);
  struct stat st {};
  ASSERT_EQ(::stat(daemon_json().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600U);
  for (const auto& e : fs::directory_iterator(root() + "/etc/docker")) {
    ASSERT_EQ(::stat(e.path().c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600U) << e.path();
  }
}

// Issue 12 item 2: a password with '@' or '"' in it is masked whole in the plan.
TEST_F(SetupCli, proxy_passwords_with_at_signs_and_quotes_are_masked_whole_in_the_plan) {
  m_dir.write("root/etc/docker/daemon.json",
              R"({"proxies": {"http-proxy": "http://ann:pa@ss@proxy:3128",
                 "https-proxy": "http://bob:qu\"ote@proxy:3128"}})",
              0600);
  auto r = setup({"--live-restore"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (const char* secret : {"pa@ss", "ss@proxy", "qu\\\"ote", "ote@proxy"}) {
    EXPECT_EQ((r.out + r.err).find(secret), std::string::npos) << secret << "\n" << r.out;
  }
  EXPECT_NE(r.out.find("http://ann:xxxxx@proxy:3128"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("http://bob:xxxxx@proxy:3128"), std::string::npos) << r.out;
}

// Issue 12 items 2 and 3: dockerd --validate's words are masked; a dockerd that cannot run is
// said, never passed over in silence.
TEST_F(SetupCli, validate_output_is_masked_and_a_validate_that_cannot_run_is_said) {
  m_dir.write("root/etc/docker/daemon.json",
              R"({"proxies": {"http-proxy": "http://ann:s3cr@t@proxy:3128"}})",
              0600);
  m_dir.write("bin/dockerd",
              "#!/bin/sh\n"
              "case \"$1\" in\n"
              "  --version) echo 'Docker version 24.0.7, build afdd53b' ;;\n"
              "  --validate) echo 'unable to configure the Docker daemon: bad proxy "
              "http://ann:s3cr@t@proxy:3128' >&2; exit 1 ;;\n"
              "esac\n",
              0755);
  auto refused = setup({"--live-restore"});
  EXPECT_EQ(refused.exit_code, 1) << refused.err;
  EXPECT_NE(refused.err.find("dockerd --validate rejects the new"), std::string::npos)
      << refused.err;
  EXPECT_EQ((refused.out + refused.err).find("s3cr"), std::string::npos) << refused.err;
  EXPECT_NE(refused.err.find("http://ann:xxxxx@proxy:3128"), std::string::npos) << refused.err;
  // A dockerd that answers --version but cannot run --validate (127: the shell found nothing).
  m_dir.write(
      "bin/dockerd",
      "#!/bin/sh\n"
      "case \"$1\" in\n"
      "  --version) echo 'Docker version 24.0.7, build afdd53b' ;;\n"
      "  --validate) echo 'dockerd: error while loading shared libraries' >&2; exit 127 ;;\n"
      "esac\n",
      0755);
  auto unvalidated = setup({"--live-restore"});
  ASSERT_EQ(unvalidated.exit_code, 0) << unvalidated.err;
  EXPECT_NE(unvalidated.err.find("dockerd --validate could not run on this Docker 24.0.7 engine "
                                 "(exit 127: dockerd: error while loading shared libraries): the "
                                 "new " +
                                 daemon_json() + " was checked with furnace's own validator only"),
            std::string::npos)
      << unvalidated.err;
  EXPECT_EQ(unvalidated.err.find("configuration OK"), std::string::npos) << unvalidated.err;
}

// Issue 12 item 6: another program writes daemon.json while setup runs (here: during the
// validation). Setup must not overwrite it: it refuses, and what the other program wrote stays.
TEST_F(SetupCli, a_file_changed_by_another_program_meanwhile_is_not_overwritten) {
  write_daemon_json("{\"debug\": true}");
  const std::string theirs = "{\"debug\": true, \"log-level\": \"warn\"}\n";
  m_dir.write("theirs.json", theirs);
  m_dir.write("bin/dockerd",
              "#!/bin/sh\n"
              "case \"$1\" in\n"
              "  --version) echo 'Docker version 24.0.7, build afdd53b' ;;\n"
              "  --validate) cp " +
                  m_dir.path() + "/theirs.json " + daemon_json() +
                  "; echo 'configuration OK' ;;\n"
                  "esac\n",
              0755);
  auto r = setup({"--live-restore"});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_NE(r.err.find(daemon_json() + " changed since furnace setup read it (its content "
                                       "changed): another program edited it meanwhile"),
            std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("run furnace setup again: it merges into the file as it is now"),
            std::string::npos)
      << r.err;
  EXPECT_EQ(read_daemon_json(), theirs);
  EXPECT_EQ(backups(), 0U);
  // The next run merges into what is there now.
  m_dir.write("bin/dockerd",
              "#!/bin/sh\n"
              "case \"$1\" in\n"
              "  --version) echo 'Docker version 24.0.7, build afdd53b' ;;\n"
              "  --validate) echo 'configuration OK' ;;\n"
              "esac\n",
              0755);
  auto again = setup({"--live-restore"});
  ASSERT_EQ(again.exit_code, 0) << again.err;
  const auto j = nlohmann::json::parse(read_daemon_json());
  EXPECT_EQ(j["log-level"], "warn");
  EXPECT_EQ(j["live-restore"], true);
  ASSERT_EQ(backups(), 1U);
  EXPECT_EQ(util::read_file(host::list_backups(daemon_json()).front()).value_or(""), theirs);
}

// Issue 12 item 3: the same file with a registry named like a loopback address.
TEST_F(SetupCli, a_registry_name_starting_with_127_is_not_loopback) {
  write_daemon_json("{}");
  auto r = setup({"--insecure-registry", "127.0.0.1.nip.io:5000"});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("127.0.0.1.nip.io:5000 is not on this host"), std::string::npos) << r.err;
  EXPECT_EQ(read_daemon_json(), "{}");
}

// Case 48: an insecure registry off this host is written only with --allow-insecure, and then
// with a warning of what it costs; one on this host needs neither.
TEST_F(SetupCli, an_insecure_registry_on_the_lan_is_written_with_a_warning) {
  write_daemon_json("{}");
  auto r = setup({"--insecure-registry", "10.0.0.5:5000", "--allow-insecure"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("furnace: warning: 10.0.0.5:5000 is an insecure registry: the engine talks "
                       "to it over plain HTTP"),
            std::string::npos)
      << r.err;
  EXPECT_NE(read_daemon_json().find("\"10.0.0.5:5000\""), std::string::npos);
  auto local = setup({"--insecure-registry", "127.0.0.1:5001"});
  ASSERT_EQ(local.exit_code, 0) << local.err;
  EXPECT_EQ(local.err.find("is an insecure registry"), std::string::npos) << local.err;
}

// Case 15: an engine before 23.0 has no `dockerd --validate`; setup checks with its own
// validator and says so.
TEST_F(SetupCli, an_engine_before_23_is_checked_by_furnace_and_says_so) {
  write_daemon_json("{}");
  m_dir.write("bin/dockerd",
              "#!/bin/sh\n"
              "case \"$1\" in\n"
              "  --version) echo 'Docker version 20.10.24+dfsg1, build 5d6db84' ;;\n"
              "  --validate) echo 'unknown flag: --validate' >&2; exit 125 ;;\n"
              "esac\n",
              0755);
  auto r = setup({"--live-restore"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("Docker 20.10.24+dfsg1 has no 'dockerd --validate' (it came in 23.0): "
                       "checked with furnace's own validator (JSON, known keys, flag conflicts)"),
            std::string::npos)
      << r.err;
  EXPECT_EQ(r.err.find("unknown flag"), std::string::npos) << r.err; // never ran it
  EXPECT_EQ(read_daemon_json(), "{\n  \"live-restore\": true\n}\n");
}

// Case 11: an immutable file (chattr +i) is a clear refusal; no backup or temporary file is left.
TEST_F(SetupCli, an_immutable_file_is_refused_and_nothing_is_left_next_to_it) {
  if (::geteuid() != 0) {
    const char* ci = std::getenv("CI"); // NOLINT(concurrency-mt-unsafe)
    if (ci != nullptr && std::string(ci) == "true") {
      FAIL() << "chattr +i needs root (CI=true: a missing prerequisite is a failure)";
    }
    GTEST_SKIP() << "chattr +i needs root";
  }
  write_daemon_json("{}");
  util::SystemRunner runner;
  auto set = runner.run({"chattr", "+i", daemon_json()}, {});
  ASSERT_TRUE(set && set->status.ok()) << (set ? set->err : set.error().message);
  auto r = setup({"--live-restore"});
  (void)runner.run({"chattr", "-i", daemon_json()}, {});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("Operation not permitted"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(daemon_json() + " is unchanged"), std::string::npos) << r.err;
  EXPECT_EQ(read_daemon_json(), "{}");
  EXPECT_EQ(backups(), 0U);
  for (const auto& e : fs::directory_iterator(root() + "/etc/docker")) {
    EXPECT_EQ(e.path().filename(), "daemon.json");
  }
}

TEST_F(SetupCli, a_rootless_engine_gets_its_own_daemon_json_and_etc_is_untouched) {
  write_daemon_json("{}");
  auto e = env();
  e["DOCKER_HOST"] = "unix:///run/user/4242/docker.sock";
  e["-XDG_CONFIG_HOME"] = "";
  auto r = run_furnace({"setup", "--root", root(), "--yes", "--live-restore"}, e);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("is a rootless Docker: editing its own " + m_dir.path() +
                       "/.config/docker/daemon.json"),
            std::string::npos)
      << r.err;
  EXPECT_EQ(util::read_file(m_dir.path() + "/.config/docker/daemon.json").value_or(""),
            "{\n  \"live-restore\": true\n}\n");
  EXPECT_EQ(read_daemon_json(), "{}");
}

TEST(SetupDiff, changed_lines_show_removal_then_addition) {
  EXPECT_EQ(setup::diff_lines("{\n  \"a\": 1\n}\n", "{\n  \"a\": 1,\n  \"b\": 2\n}\n"),
            "  {\n-   \"a\": 1\n+   \"a\": 1,\n+   \"b\": 2\n  }\n");
  EXPECT_EQ(setup::diff_lines("", "{}\n"), "+ {}\n");
}

TEST(SetupGroupCommand, always_appends) {
  const auto cmd = setup::group_append_command("ann", "docker", "/usr/sbin:/usr/bin:/sbin:/bin");
  EXPECT_EQ(cmd, (std::vector<std::string>{"gpasswd", "-a", "ann", "docker"}));
  const auto fallback = setup::group_append_command("ann", "docker", "/nonexistent");
  EXPECT_EQ(fallback, (std::vector<std::string>{"usermod", "-a", "-G", "docker", "ann"}));
}

TEST(ConfigCli, set_get_list_round_trip_atomically) {
  TempDir dir;
  const std::map<std::string, std::string> env{{"HOME", dir.path()}, {"-XDG_CONFIG_HOME", ""}};
  EXPECT_EQ(run_furnace({"config", "get", "mirror.pip"}, env).out, "default\n");
  auto s = run_furnace({"config", "set", "mirror.pip", "tuna"}, env);
  ASSERT_EQ(s.exit_code, 0) << s.err;
  ASSERT_EQ(run_furnace({"config", "set", "mirror.apt", "https://m.example/debian"}, env).exit_code,
            0);
  EXPECT_EQ(run_furnace({"config", "get", "mirror.pip"}, env).out, "tuna\n");
  auto l = run_furnace({"config", "list"}, env);
  EXPECT_EQ(l.out,
            "mirror.apt = https://m.example/debian\nmirror.conda = default\n"
            "mirror.pip = tuna (https://pypi.tuna.tsinghua.edu.cn/simple)\n");
  const auto j = nlohmann::json::parse(run_furnace({"config", "list", "--json"}, env).out);
  EXPECT_EQ(j["schema_version"], 1);
  ASSERT_EQ(j["settings"].size(), 3U);
  EXPECT_EQ(j["settings"][2]["key"], "mirror.pip");
  EXPECT_EQ(j["settings"][2]["value"], "tuna");
  EXPECT_EQ(j["settings"][2]["url"], "https://pypi.tuna.tsinghua.edu.cn/simple");
  EXPECT_EQ(j["settings"][1]["value"], "default");
  auto bad = run_furnace({"config", "set", "mirror.pip", "nowhere"}, env);
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_EQ(bad.err,
            "furnace: error: 'nowhere' is neither a mirror preset nor a URL\n"
            "  hint: use aliyun, tuna, ustc, huawei, tencent, an https:// URL, or default\n");
  ASSERT_EQ(run_furnace({"config", "set", "mirror.pip", "default"}, env).exit_code, 0);
  EXPECT_EQ(run_furnace({"config", "get", "mirror.pip"}, env).out, "default\n");
  EXPECT_TRUE(fs::exists(dir.path() + "/.config/furnace/config.yaml"));
}

} // namespace
} // namespace furnace
