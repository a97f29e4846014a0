#include "runtime/disk_cache.h"

#include "code_hash.h"  // generated: RVJ_CODE_HASH (CMakeLists.txt)

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "codegen/isa.h"
#include "codegen/jit.h"

namespace rvj::runtime {

namespace {

constexpr const char* kMagic = "RVJK1";
constexpr size_t kMaxFile = 64u << 20;  // far above any kernel: a bound on what we read

uint64_t fnv1a(const char* p, size_t n) {
  uint64_t h = 1469598103934665603ull;
  for (size_t i = 0; i < n; ++i) {
    h ^= static_cast<unsigned char>(p[i]);
    h *= 1099511628211ull;
  }
  return h;
}

std::string hex(uint64_t v) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
  return buf;
}

std::string errno_text() { return std::strerror(errno); }

}  // namespace

void DiskCache::set_dir(std::string dir) {
  dir_ = std::move(dir);
  unusable_ = false;
}

std::string DiskCache::key(const ir::Function& fn) const {
  const codegen::Target& host = codegen::host_target();
  return fn.name + "/" + std::to_string(fn.dims) + "/" + codegen::isa_name(host.isa) + "/" + host.cpu + "/" +
         hex(fnv1a(host.features.data(), host.features.size())) + "/ir " + hex(fn.hash()) + "/" + kEngineVersion +
         "/code " + RVJ_CODE_HASH + "/LLVM " + codegen::llvm_version();
}

std::string DiskCache::path(const ir::Function& fn) const {
  const std::string k = key(fn);
  std::string file = dir_ + "/";
  // (appending avoids a GCC 12 -Wrestrict false positive)
  if (fn.kind == ir::KernelKind::Tile) file += "tile-";
  if (fn.kind == ir::KernelKind::Query) file += "query-";
  file += fn.name + "-" + std::to_string(fn.dims);
  if (fn.kind != ir::KernelKind::Row) file += 'x' + std::to_string(fn.value_dims);
  return file + "-" + codegen::isa_name(codegen::host_target().isa) + "-" + hex(fnv1a(k.data(), k.size())) + ".rvjk";
}

std::optional<std::string> DiskCache::load(const ir::Function& fn, std::vector<Notice>& notices) {
  if (!enabled()) return std::nullopt;
  const std::string file = path(fn);
  auto reject = [&](const std::string& why) -> std::optional<std::string> {
    notices.push_back({true, "ignoring corrupt kernel cache file \"" + file + "\" (" + why + "); recompiling"});
    return std::nullopt;
  };
  struct stat st;
  if (::stat(file.c_str(), &st) != 0) return std::nullopt;  // not cached yet
  if (static_cast<unsigned long long>(st.st_size) > kMaxFile) return reject("too large");
  std::ifstream in(file, std::ios::binary);
  if (!in) return std::nullopt;
  std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  // Header: four lines, then the payload.
  std::istringstream hdr(data);
  std::string magic, key_line, size_line, sum_line;
  if (!std::getline(hdr, magic) || !std::getline(hdr, key_line) || !std::getline(hdr, size_line) ||
      !std::getline(hdr, sum_line))
    return reject("truncated header");
  if (magic != kMagic) return reject("bad magic");
  if (key_line != key(fn)) return reject("written for another kernel");
  const std::streamoff at = hdr.tellg();
  if (at < 0) return reject("truncated or padded payload");  // the header ends the file
  const size_t offset = static_cast<size_t>(at);
  char* end = nullptr;
  const unsigned long long size = std::strtoull(size_line.c_str(), &end, 10);
  if (end == size_line.c_str() || *end != '\0') return reject("bad size field");
  if (offset > data.size() || size != data.size() - offset) return reject("truncated or padded payload");
  if (sum_line != hex(fnv1a(data.data() + offset, size))) return reject("checksum mismatch");
  return data.substr(offset);
}

void DiskCache::store(const ir::Function& fn, const std::string& object, std::vector<Notice>& notices) {
  if (!enabled() || object.empty()) return;
  auto give_up = [&](const std::string& why) {
    unusable_ = true;
    notices.push_back({true, "the kernel cache directory \"" + dir_ + "\" is not usable (" + why +
                                 "); running without a persistent kernel cache in this session"});
  };
  if (::mkdir(dir_.c_str(), 0700) != 0 && errno != EEXIST) return give_up("mkdir: " + errno_text());
  const std::string file = path(fn);
  const std::string tmp = file + ".tmp." + std::to_string(::getpid());
  const std::string header = std::string(kMagic) + "\n" + key(fn) + "\n" + std::to_string(object.size()) + "\n" +
                             hex(fnv1a(object.data(), object.size())) + "\n";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  if (fd < 0) return give_up("open: " + errno_text());
  bool ok = true;
  for (const std::string* part : {&header, &object}) {
    const char* p = part->data();
    size_t left = part->size();
    while (ok && left > 0) {
      ssize_t n = ::write(fd, p, left);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) ok = false;
      else p += n, left -= static_cast<size_t>(n);
    }
  }
  // No fsync: a file lost in a crash is simply compiled again; a torn one is
  // caught by its size and checksum.
  if (::close(fd) != 0) ok = false;
  if (!ok || ::rename(tmp.c_str(), file.c_str()) != 0) {
    const std::string why = errno_text();
    ::unlink(tmp.c_str());
    notices.push_back({true, "could not write kernel cache file \"" + file + "\": " + why});
  }
}

DiskCache& backend_disk_cache() {
  static DiskCache* cache = new DiskCache();
  return *cache;
}

}  // namespace rvj::runtime
