#include "runtime/disk_cache.h"

#include "code_hash.h"  // generated: RVJ_CODE_HASH (CMakeLists.txt)

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <sstream>

#include <dirent.h>
#include <fcntl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "codegen/isa.h"
#include "runtime/codegen_loader.h"

namespace rvj::runtime {

namespace {

constexpr const char* kMagic = "RVJK1";
constexpr const char* kSuffix = ".rvjk";
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

// Why a file or directory is not to be trusted, or "" when it is: owned by
// the server's user and writable by nobody else.
std::string untrusted(const struct stat& st) {
  if (st.st_uid != ::geteuid()) return "owned by uid " + std::to_string(st.st_uid) + ", not the server's user";
  if (st.st_mode & (S_IWGRP | S_IWOTH)) return "writable by its group or by others";
  return "";
}

bool ends_with(const std::string& s, const char* tail) {
  const size_t n = std::strlen(tail);
  return s.size() >= n && s.compare(s.size() - n, n, tail) == 0;
}

}  // namespace

DiskCache::~DiskCache() {
  if (dir_fd_ >= 0) ::close(dir_fd_);
}

void DiskCache::set_dir(std::string dir) {
  if (dir_fd_ >= 0) ::close(dir_fd_);
  dir_fd_ = -1;
  dir_ = std::move(dir);
  unusable_ = false;
}

bool DiskCache::open_dir(std::vector<Notice>& notices) {
  if (dir_fd_ >= 0) return true;
  if (!enabled()) return false;
  auto give_up = [&](const std::string& why) {
    unusable_ = true;
    notices.push_back({true, "the kernel cache directory \"" + dir_ + "\" is not usable (" + why +
                                 "); running without a persistent kernel cache in this session"});
    return false;
  };
  if (::mkdir(dir_.c_str(), 0700) != 0 && errno != EEXIST) return give_up("mkdir: " + errno_text());
  // O_NOFOLLOW: the directory itself may not be a symbolic link.
  const int fd = ::open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return give_up(errno == ELOOP ? "a symbolic link" : "open: " + errno_text());
  struct stat st;
  if (::fstat(fd, &st) != 0 || !S_ISDIR(st.st_mode)) {
    ::close(fd);
    return give_up("not a directory");
  }
  if (const std::string why = untrusted(st); !why.empty()) {
    ::close(fd);
    return give_up(why);
  }
  dir_fd_ = fd;
  return true;
}

std::string DiskCache::key(const ir::Function& fn) const {
  const codegen::Provider& llvm = code_generator();
  const codegen::Target& host = llvm.llvm_host();
  return fn.name + "/" + std::to_string(fn.dims) + "/" + codegen::isa_name(host.isa) + "/" + host.cpu + "/" +
         hex(fnv1a(host.features.data(), host.features.size())) + "/ir " + hex(fn.hash()) + "/" + kEngineVersion +
         "/code " + RVJ_CODE_HASH + "/LLVM " + llvm.llvm_version();
}

std::string DiskCache::file_name(const ir::Function& fn) const {
  const std::string k = key(fn);
  std::string file;
  if (fn.kind != ir::KernelKind::Row) file += std::string(ir::kind_name(fn.kind, fn.weights, fn.features)) + "-";
  file += fn.name;
  if (fn.kind != ir::KernelKind::Panel && fn.kind != ir::KernelKind::Features) {  // these take any length
    file += '-';
    file += std::to_string(fn.dims);
  }
  if (fn.kind == ir::KernelKind::Tile || fn.kind == ir::KernelKind::Query) file += 'x' + std::to_string(fn.value_dims);
  return file + "-" + codegen::isa_name(codegen::host_target().isa) + "-" + hex(fnv1a(k.data(), k.size())) + kSuffix;
}

std::string DiskCache::path(const ir::Function& fn) const { return dir_ + "/" + file_name(fn); }

std::optional<std::string> DiskCache::load(const ir::Function& fn, std::vector<Notice>& notices) {
  if (!open_dir(notices)) return std::nullopt;
  const std::string name = file_name(fn), file = dir_ + "/" + name;
  auto reject = [&](const std::string& why) -> std::optional<std::string> {
    notices.push_back({true, "ignoring kernel cache file \"" + file + "\" (" + why + "); recompiling"});
    return std::nullopt;
  };
  // O_NONBLOCK: a FIFO planted under the name must not block the open.
  const int fd = ::openat(dir_fd_, name.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return std::nullopt;  // not cached yet
    return reject(errno == ELOOP ? "a symbolic link" : "open: " + errno_text());
  }
  struct stat st;
  std::string data, why;
  if (::fstat(fd, &st) != 0)
    why = "fstat: " + errno_text();
  else if (!S_ISREG(st.st_mode))
    why = "not a regular file";
  else if (why = untrusted(st); why.empty() && static_cast<unsigned long long>(st.st_size) > kMaxFile)
    why = "too large";
  if (why.empty()) {
    data.resize(static_cast<size_t>(st.st_size));
    size_t got = 0;
    while (got < data.size()) {
      const ssize_t n = ::read(fd, data.data() + got, data.size() - got);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      got += static_cast<size_t>(n);
    }
    data.resize(got);
    ::futimens(fd, nullptr);  // used now: the eviction keeps recently used files
  }
  ::close(fd);
  if (!why.empty()) return reject(why);
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
  if (object.empty() || !open_dir(notices)) return;
  const std::string name = file_name(fn);
  uint64_t nonce = 0;
  if (::getrandom(&nonce, sizeof nonce, 0) != sizeof nonce)
    return notices.push_back({true, "could not write a kernel cache file: getrandom: " + errno_text()});
  const std::string tmp = name + ".tmp." + hex(nonce);
  const std::string header = std::string(kMagic) + "\n" + key(fn) + "\n" + std::to_string(object.size()) + "\n" +
                             hex(fnv1a(object.data(), object.size())) + "\n";
  const int fd = ::openat(dir_fd_, tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) return notices.push_back({true, "could not create \"" + dir_ + "/" + tmp + "\": " + errno_text()});
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
  if (!ok || ::renameat(dir_fd_, tmp.c_str(), dir_fd_, name.c_str()) != 0) {
    const std::string why = errno_text();
    ::unlinkat(dir_fd_, tmp.c_str(), 0);
    notices.push_back({true, "could not write kernel cache file \"" + dir_ + "/" + name + "\": " + why});
    return;
  }
  evict(notices);
}

void DiskCache::evict(std::vector<Notice>& notices) {
  const int fd = ::dup(dir_fd_);
  if (fd < 0) return;
  DIR* d = ::fdopendir(fd);
  if (!d) {
    ::close(fd);
    return;
  }
  struct Entry {
    std::string name;
    uint64_t bytes;
    struct timespec used;
  };
  std::vector<Entry> files;
  uint64_t total = 0;
  ::rewinddir(d);
  while (struct dirent* e = ::readdir(d)) {
    const std::string name = e->d_name;
    if (!ends_with(name, kSuffix)) continue;
    struct stat st;
    if (::fstatat(dir_fd_, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(st.st_mode)) continue;
    files.push_back({name, static_cast<uint64_t>(st.st_size), st.st_atim});
    total += static_cast<uint64_t>(st.st_size);
  }
  ::closedir(d);
  if (total <= limit_) return;
  // Least recently used first (loads touch a file's times).
  std::sort(files.begin(), files.end(), [](const Entry& a, const Entry& b) {
    return a.used.tv_sec != b.used.tv_sec ? a.used.tv_sec < b.used.tv_sec : a.used.tv_nsec < b.used.tv_nsec;
  });
  size_t removed = 0;
  for (const Entry& f : files) {
    if (total <= limit_) break;
    if (::unlinkat(dir_fd_, f.name.c_str(), 0) == 0) total -= f.bytes, ++removed;
  }
  if (removed)
    notices.push_back({false, "kernel cache \"" + dir_ + "\": removed " + std::to_string(removed) +
                                  " least recently used file(s) to stay under " + std::to_string(limit_ >> 10) +
                                  " kB"});
}

DiskCache& backend_disk_cache() {
  static DiskCache* cache = new DiskCache();
  return *cache;
}

}  // namespace rvj::runtime
