// The no-op cache of furnace build (build/noop_cache.hpp) on a FakeEngine: a no-op after a full
// no-op skips the project, says the same and fills the same BuiltImage; any change to what the
// tag was computed from (a file's content with its mtime put back, an included file, a new file,
// the user config, the base image, the GPU, the binary's flags) takes the full path and never
// answers the old tag; an input changed while the build read it is not recorded.

#include "support/fake_engine.hpp"
#include "support/fake_gpu.hpp"
#include "support/fake_runner.hpp"
#include "support/test_env.hpp"

#include <furnace/image/build_log.hpp>
#include <furnace/image/ensure.hpp>
#include <furnace/image/noop_cache.hpp>
#include <furnace/core/ui.hpp>
#include <furnace/util/atomic_file.hpp>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <filesystem>
#include <sstream>
#include <thread>

namespace furnace::image {
namespace {

namespace fs = std::filesystem;

constexpr const char* k_base = "pytorch/pytorch:1.13.1-cuda11.6-cudnn8-runtime";
constexpr const char* k_marker = "(answered from the no-op cache)";

testing::FakeRunner failing_runner() {
  testing::FakeRunner r;
  r.fallback.code = 1;
  return r;
}

struct Result {
  int code = -1;
  std::string out;
  std::string err;
  BuiltImage image;
};

// The kernel stamps a change with a coarse clock: wait past its tick, so that the next build
// may record what it read (it refuses inputs changed in its own tick).
void settle() {
  std::this_thread::sleep_for(std::chrono::milliseconds(30));
}

class BuildNoop : public ::testing::Test {
protected:
  void SetUp() override {
    m_project = m_dir.path() + "/project";
    m_dir.write("project/furnace.yaml", std::string("name: noop\nbase: ") + k_base + "\n");
    // An include outside the project: only the parser knows that it reads it.
    m_dir.write("project/requirements.txt", "numpy\n-r ../shared/requirements-common.txt\n");
    m_dir.write("shared/requirements-common.txt", "einops\n");
    m_env = {{"HOME", m_dir.path() + "/home"},
             {"XDG_CONFIG_HOME", m_dir.path() + "/config"},
             {"FURNACE_BUILDER", "buildkit"}};
    m_engine.images.push_back(image("sha256:base-1", k_base));
    m_probe.error = core::make_error(core::ErrorKind::not_found, "no NVIDIA driver");
    m_root = fs::canonical(m_project).string();
  }

  static engine::ImageSummary image(const std::string& id, const std::string& tag) {
    engine::ImageSummary s;
    s.id = id;
    s.repo_tags = {tag};
    return s;
  }

  // ensure_image, and what `furnace build` (Announce::always) prints on stdout.
  Result build(ImageRequest o = {}) {
    o.path = m_project;
    std::ostringstream out;
    std::ostringstream err;
    core::Ui ui(out, err, false);
    core::Context ctx{ui, m_runner, m_env, "/"};
    Result r;
    auto img = ensure_image(ctx, o, m_engine, m_probe);
    if (img) {
      r.code = 0;
      r.image = *img;
      if (o.announce == Announce::always) {
        out << (img->build_command.empty() ? img->tag : img->build_command) << '\n';
      }
    } else {
      ui.error(img.error());
      r.code = img.error().exit_code;
    }
    r.out = out.str();
    r.err = err.str();
    return r;
  }

  // The tag of the project as it is now (a dry run computes it in full).
  std::string tag_now() {
    ImageRequest o;
    o.dry_run = true;
    const Result r = build(o);
    EXPECT_EQ(r.code, 0) << r.err;
    return r.image.tag;
  }

  // Makes the current tag exist, with a lock naming it, and records a no-op entry for it; marks
  // the entry so that an answer from it shows. Returns the tag.
  std::string make_noop() {
    const std::string tag = tag_now();
    m_engine.images.push_back(image("sha256:image-" + std::to_string(m_engine.images.size()), tag));
    m_dir.write("project/furnace.lock", "# test\nimage: " + tag + "\n");
    settle();
    const Result full = build();
    EXPECT_EQ(full.code, 0) << full.err;
    EXPECT_EQ(full.err.find(k_marker), std::string::npos) << full.err;
    const std::string path = noop_entry_path(m_env, m_root);
    auto text = util::read_file(path);
    EXPECT_TRUE(text.has_value()) << "no entry at " << path;
    if (text) {
      auto j = nlohmann::json::parse(*text);
      j["notes"].push_back(k_marker);
      EXPECT_TRUE(util::write_file_atomic(path, j.dump()).has_value());
    }
    return tag;
  }

  // A build that must not come from the cache: no marker, and when the change moved the tag,
  // no old tag either (the full path finds no image and asks the builder for the new one).
  void expect_full_path(const std::string& old_tag, bool tag_moves) {
    const auto builds = m_runner.calls.size();
    const Result r = build();
    EXPECT_EQ(r.err.find(k_marker), std::string::npos) << r.err;
    if (tag_moves) {
      EXPECT_NE(r.code, 0);
      EXPECT_EQ(r.out.find(old_tag), std::string::npos) << "stale tag " << old_tag;
      ASSERT_EQ(m_runner.calls.size(), builds + 1);
      EXPECT_NE(m_runner.calls.back().find("build -t furnace/noop:"), std::string::npos);
      EXPECT_EQ(m_runner.calls.back().find(old_tag), std::string::npos) << m_runner.calls.back();
    } else {
      EXPECT_EQ(r.code, 0) << r.err;
      EXPECT_EQ(r.out, old_tag + "\n");
    }
  }

  testing::TempDir m_dir;
  std::string m_project;
  std::string m_root;
  core::Env m_env;
  testing::FakeEngine m_engine;
  testing::FakeGpuProbe m_probe;
  testing::FakeRunner m_runner = failing_runner(); // a build fails: it was asked for
};

TEST_F(BuildNoop, a_noop_after_a_noop_answers_from_the_cache_with_the_same_output) {
  const std::string tag = make_noop();
  m_engine.calls.clear();
  const Result r = build();
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, tag + "\n");
  EXPECT_EQ(r.err,
            std::string(k_marker) + "\n" + tag + " is up to date (nothing changed: no build)\n");
  // Only the engine: the base image's id (in the tag) and the tag itself.
  EXPECT_EQ(
      m_engine.calls,
      (std::vector<std::string>{"inspect_image " + std::string(k_base), "inspect_image " + tag}));
  EXPECT_TRUE(m_runner.calls.empty());
  EXPECT_EQ(m_probe.probes, 3); // once per build: make_noop's two, this one

  // What `furnace run` gets is what the full path gives (but for the marker).
  ImageRequest for_run;
  for_run.announce = Announce::builds_only;
  const Result cached = build(for_run);
  ASSERT_EQ(cached.code, 0);
  EXPECT_EQ(cached.out, "");
  EXPECT_EQ(cached.err, "");
  fs::remove(noop_entry_path(m_env, m_root));
  const Result full = build(for_run);
  ASSERT_EQ(full.code, 0);
  const BuiltImage& a = cached.image;
  const BuiltImage& b = full.image;
  EXPECT_EQ(a.project_root, b.project_root);
  EXPECT_EQ(a.project_name, b.project_name);
  EXPECT_EQ(a.yaml.name, "noop");
  EXPECT_EQ(a.yaml.base, b.yaml.base);
  EXPECT_EQ(a.yaml.requirements, b.yaml.requirements);
  EXPECT_EQ(a.spec_hash, b.spec_hash);
  EXPECT_EQ(a.tag, b.tag);
  EXPECT_EQ(a.image_id, b.image_id);
  EXPECT_EQ(a.base_image, b.base_image);
  EXPECT_EQ(a.base_digest, b.base_digest);
  EXPECT_EQ(a.plan_json, b.plan_json);
  EXPECT_FALSE(a.built);
}

TEST_F(BuildNoop, same_size_content_with_the_old_mtime_put_back_is_rebuilt) {
  const std::string tag = make_noop();
  const std::string req = m_project + "/requirements.txt";
  const auto mtime = fs::last_write_time(req);
  m_dir.write("project/requirements.txt", "scipy\n-r ../shared/requirements-common.txt\n");
  fs::last_write_time(req, mtime);
  expect_full_path(tag, true);
}

TEST_F(BuildNoop, an_included_file_changed_is_rebuilt) {
  const std::string tag = make_noop();
  m_dir.write("shared/requirements-common.txt", "einops==0.6\n");
  expect_full_path(tag, true);
}

TEST_F(BuildNoop, a_new_dependency_file_is_read) {
  const std::string tag = make_noop();
  m_dir.write("project/environment.yml", "dependencies:\n  - pip:\n    - rich\n");
  expect_full_path(tag, true); // found by listing the project: its packages are installed
}

TEST_F(BuildNoop, the_user_config_and_the_base_image_are_inputs) {
  std::string tag = make_noop();
  m_dir.write("config/furnace/config.yaml", "mirror.pip: tuna\n");
  expect_full_path(tag, true);

  fs::remove(m_dir.path() + "/config/furnace/config.yaml");
  tag = make_noop();
  m_engine.images.front().id = "sha256:base-2"; // the base was pulled again
  expect_full_path(tag, true);
}

TEST_F(BuildNoop, another_config_home_is_another_user_config) {
  const std::string tag = make_noop();
  m_dir.write("other-config/furnace/config.yaml", "mirror.pip: tuna\n");
  m_env["XDG_CONFIG_HOME"] = m_dir.path() + "/other-config"; // the same cache dir
  expect_full_path(tag, true);
}

TEST_F(BuildNoop, another_gpu_takes_the_full_path) {
  const std::string tag = make_noop();
  m_probe.error.reset();
  m_probe.info = testing::FakeGpuProbe::one_h200();
  expect_full_path(tag, false); // an explicit base: the same tag, found by the full path
}

TEST_F(BuildNoop, force_locked_dry_run_and_a_missing_image_take_the_full_path) {
  const std::string tag = make_noop();
  ImageRequest force;
  force.force = true;
  const Result forced = build(force);
  EXPECT_NE(forced.code, 0); // the builder was asked (and fails here)
  EXPECT_EQ(forced.err.find(k_marker), std::string::npos);

  ImageRequest dry;
  dry.dry_run = true;
  const Result dried = build(dry);
  EXPECT_EQ(dried.code, 0);
  EXPECT_EQ(dried.err.find(k_marker), std::string::npos);

  ImageRequest locked;
  locked.locked = true;
  const Result lockedr = build(locked);
  EXPECT_EQ(lockedr.err.find(k_marker), std::string::npos) << lockedr.err;

  m_engine.images.pop_back(); // the image was removed: the same tag, built again
  const auto before = m_runner.calls.size();
  const Result gone = build();
  EXPECT_NE(gone.code, 0);
  EXPECT_EQ(gone.err.find(k_marker), std::string::npos) << gone.err;
  ASSERT_EQ(m_runner.calls.size(), before + 1);
  EXPECT_NE(m_runner.calls.back().find("build -t " + tag + " "), std::string::npos);
}

TEST_F(BuildNoop, a_deleted_lock_is_written_again_by_the_full_path) {
  const std::string tag = make_noop();
  fs::remove(m_project + "/furnace.lock");
  const auto before = m_runner.calls.size();
  const Result r = build();
  EXPECT_EQ(r.err.find(k_marker), std::string::npos) << r.err;
  EXPECT_EQ(r.out, tag + "\n");
  // The lock's probe (it fails here: the fake runner fails everything), then its removal.
  ASSERT_EQ(m_runner.calls.size(), before + 2);
  EXPECT_NE(m_runner.calls[before].find(" run --rm --network none "), std::string::npos);
  EXPECT_NE(m_runner.calls.back().find(" rm -f furnace-probe-"), std::string::npos);
}

TEST_F(BuildNoop, inputs_changed_during_the_build_are_not_recorded) {
  const std::string path = m_dir.path() + "/entry.json";
  NoopEntry e;
  e.root = m_root;
  e.tag = "furnace/noop:0123456789ab";
  e.base_id = "sha256:base-1";
  const std::vector<std::string> inputs{m_project + "/requirements.txt", m_project + "/missing"};
  // The build started before requirements.txt was last written: not recorded.
  EXPECT_FALSE(write_noop_entry(path, e, inputs, timespec{0, 0}));
  EXPECT_FALSE(fs::exists(path));
  settle();
  EXPECT_TRUE(write_noop_entry(path, e, inputs, coarse_now()));
  const auto read = read_noop_entry(path);
  ASSERT_TRUE(read.has_value());
  EXPECT_EQ(read->tag, e.tag);
  ASSERT_EQ(read->inputs.size(), 2U);
  EXPECT_EQ(read->inputs[1].second, "missing");
  EXPECT_TRUE(noop_entry_matches(*read, ""));
  EXPECT_FALSE(noop_entry_matches(*read, "nvml 550.54.15 12040"));
  m_dir.write("project/missing", "");
  EXPECT_FALSE(noop_entry_matches(*read, ""));
  // A torn or foreign file is no entry.
  m_dir.write("entry.json", "{\"format\": 2, \"root\": 3}");
  EXPECT_FALSE(read_noop_entry(path).has_value());
}

} // namespace
} // namespace furnace::image
