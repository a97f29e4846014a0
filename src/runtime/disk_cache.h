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
#pragma once

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
inline constexpr const char* kEngineVersion = "ruvector_jit 0.1.0 abi 3";

struct Notice {
  bool warning;  // else informational (LOG)
  std::string text;
};

class DiskCache {
 public:
  // "" disables the cache. A relative path is relative to the process's
  // working directory (a backend's is the data directory).
  void set_dir(std::string dir);
  const std::string& dir() const { return dir_; }
  bool enabled() const { return !dir_.empty() && !unusable_; }

  std::string key(const ir::Function& fn) const;      // the full identity
  std::string path(const ir::Function& fn) const;     // where its file lives
  std::optional<std::string> load(const ir::Function& fn, std::vector<Notice>& notices);
  // Best effort: a failure to write is a notice, and an unwritable directory
  // turns the cache off for this process (one WARNING).
  void store(const ir::Function& fn, const std::string& object, std::vector<Notice>& notices);

 private:
  std::string dir_;
  bool unusable_ = false;
};

DiskCache& backend_disk_cache();

}  // namespace rvj::runtime
