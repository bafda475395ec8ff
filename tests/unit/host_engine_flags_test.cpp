// Which daemon.json keys the engine's flags set, from systemd, /etc/default/docker and argv.

#include <furnace/host/engine_flags.hpp>

#include <gtest/gtest.h>

namespace furnace {
namespace {

TEST(EngineFlags, exec_start_of_debian_unit_is_parsed) {
  const std::string show =
      "ExecStart={ path=/usr/sbin/dockerd ; argv[]=/usr/sbin/dockerd -H fd:// $DOCKER_OPTS ; "
      "ignore_errors=no ; start_time=[n/a] ; stop_time=[n/a] ; pid=0 ; code=(null) ; "
      "status=0/0 }\n";
  EXPECT_EQ(host::parse_exec_start(show),
            (std::vector<std::string>{"/usr/sbin/dockerd", "-H", "fd://"}));
  EXPECT_TRUE(host::parse_exec_start("ExecStart=\n").empty());
}

TEST(EngineFlags, docker_opts_are_read_with_quotes_and_comments) {
  const std::string file =
      "# DOCKER_OPTS=\"--dns 1.1.1.1\"\n"
      "DOCKER_OPTS=\"--registry-mirror=https://m --insecure-registry 10.0.0.5:5000\"\n";
  EXPECT_EQ(host::parse_docker_opts(file),
            (std::vector<std::string>{
                "--registry-mirror=https://m", "--insecure-registry", "10.0.0.5:5000"}));
}

TEST(EngineFlags, flags_map_to_their_keys) {
  host::FlagSource src{"dockerd pid 1",
                       {"dockerd",
                        "-H",
                        "fd://",
                        "--registry-mirror",
                        "http://127.0.0.1:5757",
                        "--live-restore",
                        "--add-runtime=nv=/x",
                        "--iptables=false",
                        "--config-file",
                        "/tmp/d.json",
                        "-D"}};
  const auto got = host::keys_set_by_flags(src);
  std::vector<std::string> keys;
  for (const auto& s : got) {
    keys.push_back(s.key);
  }
  EXPECT_EQ(keys,
            (std::vector<std::string>{
                "hosts", "registry-mirrors", "live-restore", "runtimes", "iptables", "debug"}));
  EXPECT_EQ(got[1].flag, "--registry-mirror http://127.0.0.1:5757");
}

TEST(EngineFlags, conflicts_mark_what_furnace_introduces) {
  const host::Json doc =
      host::Json::parse(R"({"hosts": ["unix:///x"], "registry-mirrors": ["https://m"]})");
  host::FlagSource src{"systemd ExecStart of docker.service",
                       {"/usr/sbin/dockerd", "-H", "fd://", "--registry-mirror=https://n"}};
  const auto c = host::find_conflicts(doc, {"registry-mirrors"}, {src});
  ASSERT_EQ(c.size(), 2U);
  EXPECT_EQ(c[0].setting.key, "hosts");
  EXPECT_FALSE(c[0].introduced);
  EXPECT_EQ(c[1].setting.key, "registry-mirrors");
  EXPECT_TRUE(c[1].introduced);
  EXPECT_EQ(c[1].setting.flag, "--registry-mirror=https://n");
}

// Found by tests/fuzz/fuzz_engine_flags.cpp: "-=x" was read as a flag for the key "".
TEST(EngineFlags, a_dash_with_no_name_sets_no_key) {
  host::FlagSource src{"DOCKER_OPTS", {"-=/x", "--=y", "--live-restore"}};
  const auto settings = host::keys_set_by_flags(src);
  ASSERT_EQ(settings.size(), 1U);
  EXPECT_EQ(settings[0].key, "live-restore");
}

TEST(EngineFlags, config_file_defaults_to_etc_docker) {
  EXPECT_EQ(host::config_file_of({"dockerd"}), "/etc/docker/daemon.json");
  EXPECT_EQ(host::config_file_of({"dockerd", "--config-file", "/a.json"}), "/a.json");
  EXPECT_EQ(host::config_file_of({"dockerd", "--config-file=/b.json"}), "/b.json");
}

} // namespace
} // namespace furnace
