#include "auth.hpp"

#include <furnace/util/atomic_file.hpp>

#include <fmt/format.h>

#include <crypt.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <filesystem>

namespace furnace::registry {

namespace fs = std::filesystem;

core::Result<std::string> random_token(std::size_t bytes) {
  std::string raw(bytes, '\0');
  const int fd = ::open("/dev/urandom", O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return core::fail(core::ErrorKind::io, "cannot open /dev/urandom");
  }
  std::size_t got = 0;
  while (got < bytes) {
    const ssize_t n = ::read(fd, raw.data() + got, bytes - got);
    if (n <= 0) {
      ::close(fd);
      return core::fail(core::ErrorKind::io, "cannot read /dev/urandom");
    }
    got += static_cast<std::size_t>(n);
  }
  ::close(fd);
  static constexpr char k_alphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  unsigned acc = 0;
  int nbits = 0;
  for (const char c : raw) {
    acc = (acc << 8U) | static_cast<unsigned char>(c);
    nbits += 8;
    while (nbits >= 6) {
      nbits -= 6;
      out += k_alphabet[(acc >> static_cast<unsigned>(nbits)) & 63U];
    }
  }
  if (nbits > 0) {
    out += k_alphabet[(acc << static_cast<unsigned>(6 - nbits)) & 63U];
  }
  return out;
}

core::Result<std::string> htpasswd_line(const std::string& user, const std::string& password) {
  if (user.empty() || user.find_first_of(":\n\r") != std::string::npos) {
    return core::fail(core::ErrorKind::invalid,
                      fmt::format("the user name '{}' is empty or holds ':' or a newline", user));
  }
  if (password.empty() || password.find_first_of("\n\r") != std::string::npos) {
    return core::fail(core::ErrorKind::invalid, "the password is empty or holds a newline");
  }
  std::array<char, CRYPT_GENSALT_OUTPUT_SIZE> salt{};
  // Cost 10: the registry checks the hash on every request, so a higher cost slows every pull.
  if (::crypt_gensalt_rn("$2b$", 10, nullptr, 0, salt.data(), static_cast<int>(salt.size())) ==
      nullptr) {
    return core::fail(core::ErrorKind::internal,
                      "the C library's crypt has no bcrypt ($2b$), which the registry needs",
                      "furnace needs libxcrypt (Debian's libcrypt1)");
  }
  auto data = std::make_unique<crypt_data>();
  const char* hash = ::crypt_r(password.c_str(), salt.data(), data.get());
  if (hash == nullptr || std::string(hash).rfind("$2b$", 0) != 0) {
    return core::fail(core::ErrorKind::internal, "bcrypt hashing failed");
  }
  return user + ":" + hash;
}

namespace {

util::AtomicWriteOptions secret_file() {
  util::AtomicWriteOptions o;
  o.mode = 0600;
  return o;
}

core::Result<void> openssl(util::ProcessRunner& runner, const std::vector<std::string>& args) {
  std::vector<std::string> argv{"openssl"};
  argv.insert(argv.end(), args.begin(), args.end());
  util::ProcessOptions o;
  o.timeout = std::chrono::milliseconds(60000);
  auto r = runner.run(argv, o);
  if (!r) {
    return core::fail(core::ErrorKind::not_found,
                      fmt::format("cannot run openssl: {}", r.error().message),
                      "install it ('apt-get install openssl') or give --tls CERT KEY");
  }
  if (!r->status.ok()) {
    return core::fail(core::ErrorKind::internal,
                      fmt::format("openssl {} failed: {}", args.front(), r->err));
  }
  return {};
}

std::string san_of(const std::vector<std::string>& names) {
  std::string san;
  for (const auto& n : names) {
    const bool ip = !n.empty() && n.find_first_not_of("0123456789.") == std::string::npos;
    san += fmt::format("{}{}:{}", san.empty() ? "" : ",", ip ? "IP" : "DNS", n);
  }
  return san;
}

} // namespace

core::Result<Certificates> make_certificates(util::ProcessRunner& runner,
                                             const std::string& dir,
                                             const std::vector<std::string>& names) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec || ::chmod(dir.c_str(), 0700) != 0) {
    return core::fail(core::ErrorKind::io, fmt::format("cannot make {} (0700)", dir));
  }
  Certificates c;
  c.ca_cert = dir + "/ca.crt";
  c.cert = dir + "/server.crt";
  c.key = dir + "/server.key";
  const std::string san = san_of(names);
  const std::string names_file = dir + "/names";
  if (fs::exists(c.cert) && fs::exists(c.key) && fs::exists(c.ca_cert) &&
      util::read_file(names_file).value_or("") == san + "\n") {
    return c;
  }
  const std::string ca_key = dir + "/ca.key";
  const std::string csr = dir + "/server.csr";
  const std::string ext = dir + "/server.ext";
  const std::vector<std::string> ec_key{
      "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"};
  std::vector<std::string> ca{"req", "-x509"};
  ca.insert(ca.end(), ec_key.begin(), ec_key.end());
  ca.insert(ca.end(),
            {"-keyout",
             ca_key,
             "-out",
             c.ca_cert,
             "-days",
             "3650",
             "-subj",
             "/CN=furnace registry CA",
             "-addext",
             "basicConstraints=critical,CA:TRUE",
             "-addext",
             "keyUsage=critical,keyCertSign,cRLSign"});
  if (auto r = openssl(runner, ca); !r) {
    return core::fail(r.error());
  }
  std::vector<std::string> req{"req"};
  req.insert(req.end(), ec_key.begin(), ec_key.end());
  req.insert(req.end(), {"-keyout", c.key, "-out", csr, "-subj", "/CN=" + names.front()});
  if (auto r = openssl(runner, req); !r) {
    return core::fail(r.error());
  }
  auto w = util::write_file_atomic(ext,
                                   "subjectAltName=" + san +
                                       "\nbasicConstraints=CA:FALSE\n"
                                       "keyUsage=critical,digitalSignature,keyEncipherment\n"
                                       "extendedKeyUsage=serverAuth\n",
                                   secret_file());
  if (!w) {
    return core::fail(core::ErrorKind::io, w.error().message);
  }
  if (auto r = openssl(runner,
                       {"x509",
                        "-req",
                        "-in",
                        csr,
                        "-CA",
                        c.ca_cert,
                        "-CAkey",
                        ca_key,
                        "-CAcreateserial",
                        "-out",
                        c.cert,
                        "-days",
                        "825",
                        "-extfile",
                        ext});
      !r) {
    return core::fail(r.error());
  }
  ::chmod(ca_key.c_str(), 0600);
  ::chmod(c.key.c_str(), 0600);
  ::chmod(c.ca_cert.c_str(), 0644);
  ::chmod(c.cert.c_str(), 0644);
  fs::remove(csr, ec);
  (void)util::write_file_atomic(names_file, san + "\n", secret_file());
  c.generated = true;
  return c;
}

} // namespace furnace::registry
