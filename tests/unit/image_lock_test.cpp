// furnace.lock: its text round-trips, the probe's output becomes a lock, the diff names every
// change, and a locked render pins the base, the pip packages and the apt packages.

#include "support/fake_runner.hpp"

#include <furnace/core/ui.hpp>
#include <furnace/dockerfile/dockerfile.hpp>
#include <furnace/image/lock.hpp>
#include <furnace/image/probe.hpp>

#include <gtest/gtest.h>

#include <sstream>

namespace furnace::image {
namespace {

using namespace furnace::dockerfile; // NOLINT(google-build-using-namespace): the renderer under
                                     // test

Lock sample() {
  Lock l;
  l.image = "furnace/mnist:0123456789ab";
  l.base = "pytorch/pytorch:1.13.1-cuda11.6-cudnn8-runtime";
  l.base_id = "sha256:aaaa";
  l.base_digest = "pytorch/pytorch@sha256:bbbb";
  l.pip = {"tqdm==4.64.1", "numpy==1.24.2", "Pillow==9.4.0", "torch @ file:///tmp/torch.whl"};
  l.dpkg = {"jq=1.6-2.1", "adduser=3.134", "libc6=2.36-9+deb12u4"};
  return l;
}

TEST(BuildLock, renders_sorted_and_parses_back) {
  const std::string text = render_lock(sample());
  EXPECT_EQ(text.substr(text.find("image:")),
            "image: furnace/mnist:0123456789ab\n"
            "base: pytorch/pytorch:1.13.1-cuda11.6-cudnn8-runtime\n"
            "base-id: sha256:aaaa\n"
            "base-digest: pytorch/pytorch@sha256:bbbb\n"
            "\n[pip]\nnumpy==1.24.2\nPillow==9.4.0\ntorch @ file:///tmp/torch.whl\ntqdm==4.64.1\n"
            "\n[dpkg]\nadduser=3.134\njq=1.6-2.1\nlibc6=2.36-9+deb12u4\n");
  auto back = parse_lock(text, "furnace.lock");
  ASSERT_TRUE(back.has_value()) << back.error().message;
  EXPECT_EQ(render_lock(*back), text);
  EXPECT_TRUE(diff_packages(sample(), *back).empty());
  Lock local = sample(); // a base built or loaded here has no digest
  local.base_digest.clear();
  const std::string no_digest = render_lock(local);
  EXPECT_NE(no_digest.find("\nbase-digest:\n"), std::string::npos);
  auto parsed = parse_lock(no_digest, "furnace.lock");
  ASSERT_TRUE(parsed.has_value());
  EXPECT_EQ(parsed->base_digest, "");
}

TEST(BuildLock, parse_errors_name_the_line) {
  auto bad = parse_lock("base: x\nbase-id: sha256:a\nbse: y\n", "p/furnace.lock");
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().message, "p/furnace.lock:3: unknown key 'bse'");
  auto section = parse_lock("base: x\nbase-id: a\n[apt]\n", "furnace.lock");
  ASSERT_FALSE(section.has_value());
  EXPECT_EQ(section.error().message, "furnace.lock:3: unknown section '[apt]'");
  auto dpkg = parse_lock("base: x\nbase-id: a\n[dpkg]\njq\n", "furnace.lock");
  ASSERT_FALSE(dpkg.has_value());
  EXPECT_EQ(dpkg.error().message, "furnace.lock:4: 'jq' is not 'package=version'");
  EXPECT_FALSE(parse_lock("image: x\n", "furnace.lock").has_value());
}

TEST(BuildLock, probe_output_becomes_packages) {
  Lock l;
  ASSERT_TRUE(
      read_probe_output("six==1.16.0\nnumpy==1.24.2\n---furnace-dpkg---\n"
                        "installed jq=1.6-2.1\nconfig-files oldpkg=1.0\ninstalled adduser=3.134\n",
                        l));
  EXPECT_EQ(l.pip, (std::vector<std::string>{"numpy==1.24.2", "six==1.16.0"}));
  EXPECT_EQ(l.dpkg, (std::vector<std::string>{"adduser=3.134", "jq=1.6-2.1"}));
  Lock none;
  ASSERT_TRUE(read_probe_output("---furnace-dpkg---\n", none));
  EXPECT_TRUE(none.pip.empty());
  EXPECT_FALSE(read_probe_output("sh: not found\n", none).has_value());
}

TEST(BuildLock, probe_runs_without_network) {
  const auto argv = probe_command("docker", "furnace/x:1");
  ASSERT_GE(argv.size(), 10U);
  EXPECT_EQ(std::vector<std::string>(argv.begin(), argv.begin() + 9),
            (std::vector<std::string>{"docker",
                                      "run",
                                      "--rm",
                                      "--network",
                                      "none",
                                      "--entrypoint",
                                      "/bin/sh",
                                      "furnace/x:1",
                                      "-c"}));
  EXPECT_NE(argv.back().find("pip freeze"), std::string::npos);
  EXPECT_NE(argv.back().find("dpkg-query -W -f '${db:Status-Status} ${Package}=${Version}\\n'"),
            std::string::npos)
      << argv.back();
}

TEST(BuildLock, a_failed_probe_container_is_removed_by_its_name) {
  std::ostringstream out;
  std::ostringstream err;
  core::Ui ui{out, err, false};
  testing::FakeRunner runner;
  runner.fallback.code = 137; // killed: the CLI's timeout, or the engine
  core::Context ctx{ui, runner, {{"FURNACE_DOCKER", "docker"}}, "/"};
  const auto r = run_probe(ctx, "furnace/x:1", "", ProbeRequest{});
  ASSERT_FALSE(r);
  ASSERT_EQ(runner.calls.size(), 2U) << (runner.calls.empty() ? "" : runner.calls[0]);
  EXPECT_NE(runner.calls[0].find(" --label org.furnace.helper=probe --init "), std::string::npos)
      << runner.calls[0];
  const auto at = runner.calls[0].find("--name ") + 7;
  const std::string name = runner.calls[0].substr(at, runner.calls[0].find(' ', at) - at);
  EXPECT_EQ(name.rfind("furnace-probe-", 0), 0U) << name;
  EXPECT_EQ(runner.calls[1], "docker rm -f " + name);
  // Two probes never share a name.
  runner.calls.clear();
  (void)run_probe(ctx, "furnace/x:1", "", ProbeRequest{});
  EXPECT_EQ(runner.calls[0].find("--name " + name + " "), std::string::npos);
}

TEST(BuildLock, diff_names_changed_added_and_missing_packages) {
  Lock now = sample();
  now.pip = {"numpy==1.26.0", "Pillow==9.4.0", "torch @ file:///tmp/torch.whl", "einops==0.6.1"};
  now.dpkg = {"jq=1.6-2.1", "adduser=3.134", "libc6=2.36-9+deb12u7"};
  EXPECT_EQ(diff_packages(sample(), now),
            (std::vector<std::string>{"pip:  + einops==0.6.1",
                                      "pip:  - numpy==1.24.2",
                                      "pip:  + numpy==1.26.0",
                                      "pip:  - tqdm==4.64.1",
                                      "dpkg: - libc6=2.36-9+deb12u4",
                                      "dpkg: + libc6=2.36-9+deb12u7"}));
}

TEST(BuildLock, pip_constraints_keep_only_pins) {
  EXPECT_EQ(pip_constraints(sample()), "tqdm==4.64.1\nnumpy==1.24.2\nPillow==9.4.0\n");
  EXPECT_EQ(dpkg_versions(sample()).at("jq"), "1.6-2.1");
}

RenderInput locked_input() {
  RenderInput in;
  in.furnace_version = "test";
  in.yaml.base = "pytorch/pytorch:1.13.1-cuda11.6-cudnn8-runtime";
  in.yaml.apt = {"jq", "cowsay"};
  in.yaml.pip = {"einops"};
  return in;
}

TEST(BuildLock, locked_render_pins_base_pip_and_apt) {
  const RenderInput plain = locked_input();
  RenderInput in = plain;
  in.lock_text = render_lock(sample());
  in.pip_lock = pip_constraints(sample());
  in.apt_versions = dpkg_versions(sample());
  in.base_pin = "pytorch/pytorch@sha256:bbbb";
  auto r = render(in, Mode::buildkit);
  ASSERT_TRUE(r.has_value()) << r.error().message;
  const std::string& d = r->dockerfile;
  EXPECT_NE(d.find("FROM pytorch/pytorch@sha256:bbbb\n# --locked: the versions of furnace.lock\n"),
            std::string::npos)
      << d;
  EXPECT_EQ(r->base_image, "pytorch/pytorch@sha256:bbbb");
  EXPECT_NE(d.find("--no-install-recommends cowsay jq=1.6-2.1\n"), std::string::npos) << d;
  EXPECT_NE(d.find("COPY lock-constraints.txt /opt/furnace/lock-constraints.txt\n"),
            std::string::npos);
  EXPECT_NE(d.find("python3 -m pip install -c /opt/furnace/lock-constraints.txt -c "
                   "/opt/furnace/constraints.txt einops\n"),
            std::string::npos)
      << d;
  EXPECT_EQ(r->context.at("lock-constraints.txt"), pip_constraints(sample()));
  EXPECT_EQ(r->context.at("furnace.lock"), in.lock_text);

  // Another lock, another image; no lock, the text of a plain build.
  RenderInput other = in;
  other.lock_text += "# changed\n";
  auto r2 = render(other, Mode::buildkit);
  ASSERT_TRUE(r2.has_value());
  EXPECT_NE(content_hash(*r, "sha256:aaaa"), content_hash(*r2, "sha256:aaaa"));
  auto p = render(plain, Mode::buildkit);
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(p->dockerfile.find("furnace.lock"), std::string::npos);
  EXPECT_EQ(p->dockerfile.find("lock-constraints"), std::string::npos);
  EXPECT_EQ(p->context.count("furnace.lock"), 0U);
}

} // namespace
} // namespace furnace::image
