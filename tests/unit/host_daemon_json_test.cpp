// daemon.json parsing, merging and key checks on a table of real-world files.

#include <furnace/host/daemon_json.hpp>

#include <gtest/gtest.h>

namespace furnace {
namespace {

using host::Json;

host::DaemonConfig parse_ok(const std::string& text) {
  auto r = host::parse_daemon_json(text, "daemon.json");
  EXPECT_TRUE(r) << (r ? "" : r.error().message);
  return r ? r.value() : host::DaemonConfig{};
}

std::string parse_error(const std::string& text) {
  auto r = host::parse_daemon_json(text, "daemon.json");
  EXPECT_FALSE(r);
  return r ? "" : r.error().message;
}

TEST(DaemonJson, empty_and_blank_files_are_an_empty_object) {
  EXPECT_EQ(parse_ok("").doc, Json::object());
  EXPECT_EQ(parse_ok(" \n\t\n").doc, Json::object());
  EXPECT_EQ(parse_ok("{}").doc, Json::object());
}

TEST(DaemonJson, a_utf8_bom_is_tolerated_and_reported) {
  auto cfg = parse_ok("\xEF\xBB\xBF{\"debug\": true}");
  EXPECT_EQ(cfg.encoding, host::Encoding::utf8_bom);
  EXPECT_EQ(cfg.doc["debug"], true);
}

TEST(DaemonJson, a_utf16le_bom_file_is_converted) {
  const std::string ascii = "{\"debug\": true}";
  std::string text = "\xFF\xFE";
  for (const char c : ascii) {
    text += c;
    text += '\0';
  }
  auto cfg = parse_ok(text);
  EXPECT_EQ(cfg.encoding, host::Encoding::utf16le_bom);
  EXPECT_EQ(cfg.doc["debug"], true);
}

TEST(DaemonJson, a_trailing_comma_names_line_and_column) {
  EXPECT_EQ(parse_error("{\n  \"debug\": true,\n}\n"),
            "daemon.json:3:1: invalid JSON: syntax error while parsing object key - unexpected "
            "'}'; expected string literal");
}

// Issue 12 item 2: the parser's "last read" text is the token it was reading; inside a proxy URL
// that is the password.
TEST(DaemonJson, a_broken_string_never_shows_its_text_in_the_error) {
  const auto msg =
      parse_error("{\n  \"proxies\": {\"http-proxy\": \"http://ann:s3cr3t@proxy:3128\n\"}\n}\n");
  EXPECT_EQ(msg.find("s3cr3t"), std::string::npos) << msg;
  EXPECT_EQ(msg.rfind("daemon.json:2:", 0), 0U) << msg;
  EXPECT_NE(msg.find("holds a string: not shown"), std::string::npos) << msg;
  const auto key = parse_error("{\"a\": \"http://u:s3cr3t@x\", \"b\": tru}");
  EXPECT_EQ(key.find("s3cr3t"), std::string::npos) << key;
  // A stray literal is still quoted: it cannot hold a password.
  const auto literal = parse_error("{\"a\": [1, tru]}");
  EXPECT_NE(literal.find("last read: '1, tru]'"), std::string::npos) << literal;
}

// Found by tests/fuzz/fuzz_daemon_json.cpp: a number too large for a double threw an exception
// no one caught (furnace setup died with std::terminate).
TEST(DaemonJson, a_number_too_large_is_an_error_not_a_crash) {
  EXPECT_EQ(parse_error("{\"max-concurrent-downloads\": 1e400}"),
            "daemon.json: invalid JSON: number overflow parsing '1e400'");
}

TEST(DaemonJson, comments_are_refused_like_dockerd_does) {
  const auto msg = parse_error("{\n  // mirrors\n  \"debug\": true\n}");
  EXPECT_EQ(msg.rfind("daemon.json:2:3: invalid JSON: ", 0), 0U) << msg;
}

TEST(DaemonJson, duplicate_keys_are_refused_at_the_second_one) {
  EXPECT_EQ(parse_error("{\n  \"debug\": true,\n  \"log-level\": \"info\",\n  \"debug\": false\n}"),
            "daemon.json:4:3: duplicate key \"debug\": it is ambiguous which value counts");
}

TEST(DaemonJson, the_same_key_in_different_objects_is_fine) {
  auto cfg = parse_ok(R"({"runtimes": {"a": {"path": "x"}, "b": {"path": "y"}}})");
  EXPECT_EQ(cfg.doc["runtimes"].size(), 2U);
}

TEST(DaemonJson, duplicate_nested_keys_are_refused) {
  const auto msg = parse_error(R"({"log-opts": {"max-size": "1m", "max-size": "2m"}})");
  EXPECT_NE(msg.find("duplicate key \"max-size\""), std::string::npos) << msg;
  EXPECT_EQ(msg.rfind("daemon.json:1:33:", 0), 0U) << msg;
}

TEST(DaemonJson, a_top_level_list_is_refused) {
  EXPECT_EQ(parse_error("[]"), "daemon.json: the top level is a list, not an object");
}

TEST(DaemonJson, line_col_counts_from_one) {
  EXPECT_EQ(host::line_col("ab\ncd", 0).line, 1U);
  EXPECT_EQ(host::line_col("ab\ncd", 4).line, 2U);
  EXPECT_EQ(host::line_col("ab\ncd", 4).col, 2U);
}

TEST(DaemonJson, render_is_two_space_utf8_with_a_final_newline) {
  auto r = host::render_daemon_json(Json::parse(R"({"b": 1, "a": "é"})"));
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, "{\n  \"b\": 1,\n  \"a\": \"é\"\n}\n");
}

TEST(DaemonMerge, mirrors_are_appended_and_other_keys_kept_in_order) {
  const Json doc =
      Json::parse(R"({"data-root": "/srv", "registry-mirrors": ["https://a"], "z": 1})");
  host::DaemonChanges ch;
  ch.mirrors = {"https://b", "https://a/"};
  auto r = host::merge_daemon_config(doc, ch);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->doc.dump(),
            R"({"data-root":"/srv","registry-mirrors":["https://a","https://b"],"z":1})");
  EXPECT_EQ(r->changed_keys, std::vector<std::string>{"registry-mirrors"});
}

TEST(DaemonMerge, runtimes_null_becomes_an_object_with_nvidia) {
  host::DaemonChanges ch;
  ch.nvidia_runtime = true;
  auto r = host::merge_daemon_config(Json::parse(R"({"runtimes": null})"), ch);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->doc["runtimes"]["nvidia"]["path"], "nvidia-container-runtime");
}

TEST(DaemonMerge, an_existing_nvidia_runtime_with_args_and_other_runtimes_are_kept) {
  const Json doc =
      Json::parse(R"({"runtimes": {"nvidia": {"path": "/opt/nv", "runtimeArgs": ["--debug"]},
                                   "crun": {"path": "/usr/bin/crun"}}})");
  host::DaemonChanges ch;
  ch.nvidia_runtime = true;
  auto r = host::merge_daemon_config(doc, ch);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->doc, doc);
  EXPECT_TRUE(r->changed_keys.empty());
  ch.nvidia_default = true;
  auto d = host::merge_daemon_config(doc, ch);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->doc["runtimes"], doc["runtimes"]);
  EXPECT_EQ(d->doc["default-runtime"], "nvidia");
  EXPECT_EQ(d->changed_keys, std::vector<std::string>{"default-runtime"});
}

TEST(DaemonMerge, merging_twice_changes_nothing_the_second_time) {
  host::DaemonChanges ch;
  ch.mirrors = {"http://127.0.0.1:5000"};
  ch.insecure_registries = {"127.0.0.1:5000"};
  ch.live_restore = true;
  ch.nvidia_runtime = true;
  ch.nvidia_default = true;
  ch.log_rotation = host::LogRotation{};
  auto once = host::merge_daemon_config(Json::parse(R"({"features": {"buildkit": true}})"), ch);
  ASSERT_TRUE(once);
  EXPECT_EQ(once->changed_keys.size(), 6U);
  auto twice = host::merge_daemon_config(once->doc, ch);
  ASSERT_TRUE(twice);
  EXPECT_TRUE(twice->changed_keys.empty());
  EXPECT_EQ(twice->doc, once->doc);
}

TEST(DaemonMerge, a_wrong_type_is_refused_with_the_fix) {
  host::DaemonChanges ch;
  ch.mirrors = {"https://m"};
  auto r = host::merge_daemon_config(Json::parse(R"({"registry-mirrors": "https://x"})"), ch);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "\"registry-mirrors\" in daemon.json is a string, not a list");
}

TEST(DaemonMerge, log_rotation_keeps_the_users_values_and_other_drivers) {
  host::DaemonChanges ch;
  ch.log_rotation = host::LogRotation{};
  auto r = host::merge_daemon_config(Json::parse(R"({"log-opts": {"max-size": "10m"}})"), ch);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->doc["log-opts"].dump(), R"({"max-size":"10m","max-file":"3"})");
  auto j = host::merge_daemon_config(Json::parse(R"({"log-driver": "journald"})"), ch);
  ASSERT_TRUE(j);
  EXPECT_TRUE(j->changed_keys.empty());
}

TEST(DaemonKeys, our_keys_reload_live_and_log_opts_do_not) {
  for (const char* k :
       {"registry-mirrors", "insecure-registries", "runtimes", "default-runtime", "live-restore"}) {
    EXPECT_TRUE(host::key_reloads_live(k)) << k;
  }
  EXPECT_FALSE(host::key_reloads_live("log-opts"));
  EXPECT_FALSE(host::key_reloads_live("data-root"));
}

TEST(DaemonKeys, removed_and_unknown_keys_are_found) {
  const Json doc = Json::parse(R"({"disable-legacy-registry": true, "graph": "/x", "bogus": 1,
                                   "registry-mirrors": []})");
  auto on20 = host::check_known_keys(doc, 20);
  ASSERT_EQ(on20.size(), 2U);
  EXPECT_EQ(on20[0].key, "disable-legacy-registry");
  EXPECT_EQ(on20[0].kind, host::KeyFinding::Kind::removed);
  EXPECT_EQ(on20[1].key, "bogus");
  EXPECT_EQ(on20[1].kind, host::KeyFinding::Kind::unknown);
  auto on25 = host::check_known_keys(doc, 25);
  EXPECT_EQ(on25.size(), 3U); // graph is gone in 23.0
}

TEST(DaemonKeys, keys_of_newer_engines_are_flagged_on_older_ones) {
  const Json doc = Json::parse(R"({"proxies": {"http-proxy": "http://p:3128"}})");
  ASSERT_EQ(host::check_known_keys(doc, 20).size(), 1U);
  EXPECT_EQ(host::check_known_keys(doc, 20)[0].detail, "an option of engines newer than Docker 20");
  EXPECT_TRUE(host::check_known_keys(doc, 24).empty());
}

} // namespace
} // namespace furnace
