// The persistent object cache: compiled kernels as files, shared by every
// backend of a cluster and filled offline by the prewarm tool.
//
// A file holds one relocatable object with a header: a magic line, the full
// key, the payload size and its 64-bit checksum. The key names everything
// the code depends on: mechanism, dims, ISA, the host CPU and its features,
// the IR hash, the engine version and the LLVM version. Files are written to
// a temporary name and renamed, so readers never see half a file; a file
// whose header, size, key or checksum does not match is reported and ignored
// (the kernel is compiled again and the file replaced), never loaded.
//
// Trust: a cached object is machine code the backend will run, so the cache
// trusts only the server's own user. The directory must be owned by that
// user and be neither group- nor world-writable (else one WARNING and no
// persistence); it is opened once and files are reached through it with
// O_NOFOLLOW, then checked with fstat: a regular file, owned by the server's
// user, not group- or world-writable. A file that fails is reported and never
// loaded. Temporary files are created with O_EXCL under unpredictable names.
// The directory is bounded in bytes: past the limit the least recently used
// files are removed.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "ir/ir.h"

namespace rvj::runtime {

// The release and the kernel ABI. Changes to the code generator's sources
// are caught by the key's code hash (CMakeLists.txt) without a bump; bump
// this when the runtime's side of a kernel call changes meaning.
// "abi 2": tile and single-query kernels take visibility and positions.
// "abi 3": single-query kernels take the head's row offsets; tile kernels
// accept a null vis.
inline constexpr const char* kEngineVersion = "ruvector_jit 0.6.0 abi 3";

struct Notice {
  bool warning;  // else informational (LOG)
  std::string text;
};

class DiskCache {
 public:
  DiskCache() = default;
  DiskCache(const DiskCache&) = delete;
  DiskCache& operator=(const DiskCache&) = delete;
  ~DiskCache();

  // "" disables the cache. A relative path is relative to the process's
  // working directory (a backend's is the data directory). The directory is
  // checked (and created, mode 0700, if missing) on first use.
  void set_dir(std::string dir);
  const std::string& dir() const { return dir_; }
  bool enabled() const { return !dir_.empty() && !unusable_; }
  // The most bytes of kernel files the directory keeps (>= 1).
  void set_limit(uint64_t bytes) { limit_ = bytes < 1 ? 1 : bytes; }
  uint64_t limit() const { return limit_; }

  std::string key(const ir::Function& fn) const;      // the full identity
  std::string file_name(const ir::Function& fn) const;  // its file, inside dir()
  std::string path(const ir::Function& fn) const;     // dir() + "/" + file_name()
  std::optional<std::string> load(const ir::Function& fn, std::vector<Notice>& notices);
  // Best effort: a failure to write is a notice, and an unusable directory
  // turns the cache off for this process (one WARNING). Evicts past limit().
  void store(const ir::Function& fn, const std::string& object, std::vector<Notice>& notices);

 private:
  bool open_dir(std::vector<Notice>& notices);  // checks the directory once
  void evict(std::vector<Notice>& notices);

  std::string dir_;
  int dir_fd_ = -1;
  bool unusable_ = false;
  uint64_t limit_ = uint64_t{256} << 20;
};

DiskCache& backend_disk_cache();

}  // namespace rvj::runtime
