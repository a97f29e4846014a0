#include <gtest/gtest.h>

#include <cstdio>
#include <sys/stat.h>
#include <unistd.h>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>

#include "runtime/disk_cache.h"
#include "runtime/engine.h"
#include "runtime/kernel_cache.h"

using namespace rvj;
using namespace rvj::runtime;

namespace {
// A fresh directory, removed with everything in it at the end of the test.
struct TempDir {
  std::string path;
  TempDir() {
    char tmpl[] = "/tmp/rvj_disk_cache_XXXXXX";
    const char* d = mkdtemp(tmpl);
    if (!d) throw std::runtime_error("mkdtemp failed");
    path = d;
  }
  ~TempDir() { std::filesystem::remove_all(path); }
};

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

void write_file(const std::string& path, const std::string& data) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << data;
}

double score(Kernel& k, const float* a, const float* b) {
  const float* in[2] = {a, b};
  double out[4];
  k.code.fn(in, nullptr, out);
  return out[0];
}

// A kernel cache as a fresh backend would have it: its own memory cache over
// the shared directory.
struct Backend {
  DiskCache disk;
  KernelCache cache{&disk};
  explicit Backend(const std::string& dir) { disk.set_dir(dir); }
  Source get(Kernel** k) {
    Source s;
    *k = &cache.get(*ir::find_mechanism("scaled_dot"), 40, true, &s);
    return s;
  }
};

bool mentions(const std::vector<Notice>& notices, const std::string& what) {
  for (const Notice& n : notices)
    if (n.text.find(what) != std::string::npos) return true;
  return false;
}
}  // namespace

TEST(DiskCache, ANewBackendLoadsWhatAnotherCompiled) {
  TempDir tmp;
  const std::string& dir = tmp.path;
  float a[40], b[40];
  for (int i = 0; i < 40; ++i) a[i] = 0.1f * i, b[i] = 1.0f - 0.05f * i;
  Kernel* k1;
  Backend first(dir);
  EXPECT_EQ(first.get(&k1), Source::CompiledNow);
  Kernel* k2;
  Backend second(dir);
  EXPECT_EQ(second.get(&k2), Source::Disk);
  EXPECT_EQ(k2->origin, Source::Disk);
  EXPECT_EQ(score(*k1, a, b), score(*k2, a, b));
  EXPECT_TRUE(second.cache.take_notices().empty());
}

TEST(DiskCache, CorruptFilesAreDetectedAndReplaced) {
  TempDir tmp;
  const std::string& dir = tmp.path;
  DiskCache where;
  where.set_dir(dir);
  const std::string path = where.path(ir::build_scaled_dot(40));
  Kernel* k;
  Backend first(dir);
  first.get(&k);
  const std::string good = read_file(path);
  ASSERT_GT(good.size(), 100u);

  struct Case { std::string data, why; };
  std::string flipped = good;
  flipped[flipped.size() - 10] ^= 0x55;
  std::string other_key = good;
  other_key.replace(other_key.find("scaled_dot/40"), 13, "scaled_dot/41");
  for (const Case& c : {Case{good.substr(0, good.size() / 2), "truncated or padded payload"},
                        Case{good.substr(0, 20), "truncated header"},
                        Case{flipped, "checksum mismatch"},
                        Case{"garbage\n", "truncated header"},
                        Case{"XXXXX" + good.substr(5), "bad magic"},
                        Case{other_key, "written for another kernel"}}) {
    write_file(path, c.data);
    Backend b(dir);
    EXPECT_EQ(b.get(&k), Source::CompiledNow) << c.why;
    EXPECT_TRUE(mentions(b.cache.take_notices(), c.why)) << c.why;
    EXPECT_EQ(read_file(path), good) << "replaced after " << c.why;
    EXPECT_EQ(Backend(dir).get(&k), Source::Disk);
  }
}

TEST(DiskCache, UnwritableDirectoryMeansNoPersistenceAndOneWarning) {
  TempDir tmp;
  const std::string dir = tmp.path + "/a_file";
  write_file(dir, "not a directory");
  Backend b(dir + "/cache");
  Kernel* k;
  EXPECT_EQ(b.get(&k), Source::CompiledNow);
  ASSERT_NE(k->code.fn, nullptr);
  auto notices = b.cache.take_notices();
  ASSERT_EQ(notices.size(), 1u);
  EXPECT_TRUE(notices[0].warning);
  EXPECT_NE(notices[0].text.find("not usable"), std::string::npos);
  EXPECT_FALSE(b.disk.enabled());
  // Later kernels are compiled without further warnings.
  b.cache.get(*ir::find_mechanism("cosine"), 8, true);
  EXPECT_TRUE(b.cache.take_notices().empty());
}

TEST(DiskCache, KeyNamesEverythingTheCodeDependsOn) {
  DiskCache d;
  std::string key = d.key(ir::build_scaled_dot(384));
  EXPECT_NE(key.find("scaled_dot/384/"), std::string::npos);
  EXPECT_NE(key.find("/ir "), std::string::npos);
  EXPECT_NE(key.find(kEngineVersion), std::string::npos);
  EXPECT_NE(key.find("/code "), std::string::npos);  // the code generator's sources (CMakeLists.txt)
  EXPECT_NE(key.find("LLVM 14"), std::string::npos);
  EXPECT_NE(d.key(ir::build_scaled_dot(384)), d.key(ir::build_scaled_dot(385)));
}

// The trust model: only the server's user's files in a directory nobody else
// can write are ever linked.
namespace {
// A valid cache file for scaled_dot/40 in `dir`, compiled by a backend.
std::string compiled_file(const std::string& dir) {
  Kernel* k;
  Backend(dir).get(&k);
  DiskCache where;
  where.set_dir(dir);
  return where.path(ir::build_scaled_dot(40));
}
}  // namespace

TEST(DiskCache, AnUntrustedDirectoryMeansNoPersistence) {
  for (const std::string what : {"group-writable", "world-writable", "foreign owner", "symlink"}) {
    TempDir tmp;
    std::string dir = tmp.path + "/cache";
    ASSERT_EQ(mkdir(dir.c_str(), 0700), 0);
    if (what == "group-writable") chmod(dir.c_str(), 0770);
    if (what == "world-writable") chmod(dir.c_str(), 0707);
    if (what == "foreign owner") {
      ASSERT_EQ(chown(dir.c_str(), geteuid() + 1, getegid()), 0);
    }
    if (what == "symlink") {
      ASSERT_EQ(symlink(dir.c_str(), (tmp.path + "/link").c_str()), 0);
      dir = tmp.path + "/link";
    }
    Backend b(dir);
    Kernel* k;
    EXPECT_EQ(b.get(&k), Source::CompiledNow) << what;
    auto notices = b.cache.take_notices();
    ASSERT_EQ(notices.size(), 1u) << what;
    EXPECT_TRUE(notices[0].warning);
    EXPECT_NE(notices[0].text.find("not usable"), std::string::npos) << notices[0].text;
    EXPECT_FALSE(b.disk.enabled()) << what;
    EXPECT_TRUE(std::filesystem::is_empty(tmp.path + "/cache")) << what << ": nothing written";
  }
}

TEST(DiskCache, FilesThatFailTheChecksAreNeverLoaded) {
  TempDir tmp;
  const std::string dir = tmp.path;
  const std::string path = compiled_file(dir);
  const std::string good = read_file(path);
  struct Case {
    std::string what, why;
  };
  for (const Case& c : {Case{"group-writable", "writable by its group or by others"},
                        Case{"world-writable", "writable by its group or by others"},
                        Case{"foreign owner", "not the server's user"}, Case{"symlink", "a symbolic link"},
                        Case{"fifo", "not a regular file"}, Case{"directory", "not a regular file"}}) {
    std::filesystem::remove_all(path);
    if (c.what == "symlink") {
      write_file(tmp.path + "/elsewhere", good);  // a valid file, reached through a link
      ASSERT_EQ(symlink((tmp.path + "/elsewhere").c_str(), path.c_str()), 0);
    } else if (c.what == "fifo") {
      ASSERT_EQ(mkfifo(path.c_str(), 0600), 0);
    } else if (c.what == "directory") {
      ASSERT_EQ(mkdir(path.c_str(), 0700), 0);
    } else {
      write_file(path, good);  // a planted file with the right header and checksum
      chmod(path.c_str(), c.what == "group-writable" ? 0620 : c.what == "world-writable" ? 0602 : 0600);
      if (c.what == "foreign owner") {
        ASSERT_EQ(chown(path.c_str(), geteuid() + 1, getegid()), 0);
      }
    }
    Backend b(dir);
    Kernel* k;
    // Never loaded: compiled again (and the store fails or replaces the file).
    EXPECT_EQ(b.get(&k), Source::CompiledNow) << c.what;
    EXPECT_TRUE(mentions(b.cache.take_notices(), c.why)) << c.what;
  }
}

TEST(DiskCache, TemporaryFilesAreUnpredictableAndExclusive) {
  TempDir tmp;
  const std::string path = compiled_file(tmp.path);
  // The old scheme's name (file.tmp.<pid>) planted as a link to a victim is
  // left alone: writes go through O_EXCL names of their own.
  write_file(tmp.path + "/victim", "keep");
  const std::string old_tmp = path + ".tmp." + std::to_string(getpid());
  ASSERT_EQ(symlink((tmp.path + "/victim").c_str(), old_tmp.c_str()), 0);
  std::filesystem::remove(path);
  Kernel* k;
  EXPECT_EQ(Backend(tmp.path).get(&k), Source::CompiledNow);
  EXPECT_EQ(read_file(tmp.path + "/victim"), "keep");
  EXPECT_TRUE(std::filesystem::exists(path));
  for (const auto& e : std::filesystem::directory_iterator(tmp.path)) {
    const std::string name = e.path().filename();
    if (name.find(".tmp.") != std::string::npos) {
      EXPECT_EQ(e.path().string(), old_tmp) << "a temporary file left";
    }
  }
}

TEST(DiskCache, TheDirectoryIsBoundedLeastRecentlyUsedFirst) {
  TempDir tmp;
  DiskCache disk;
  disk.set_dir(tmp.path);
  KernelCache cache(&disk);
  const ir::Mechanism& m = *ir::find_mechanism("scaled_dot");
  cache.get(m, 8, true);
  const uint64_t one = std::filesystem::file_size(disk.path(ir::build_scaled_dot(8)));
  // Room for about three files of this size.
  disk.set_limit(one * 3 + one / 2);
  for (int d : {9, 10, 11, 12, 13}) cache.get(m, d, true);
  uint64_t total = 0;
  int files = 0;
  for (const auto& e : std::filesystem::directory_iterator(tmp.path)) total += e.file_size(), ++files;
  EXPECT_LE(total, disk.limit());
  EXPECT_GE(files, 2);
  // The newest stayed, the oldest went.
  EXPECT_TRUE(std::filesystem::exists(disk.path(ir::build_scaled_dot(13))));
  EXPECT_FALSE(std::filesystem::exists(disk.path(ir::build_scaled_dot(8))));
  EXPECT_TRUE(mentions(cache.take_notices(), "least recently used"));
}

TEST(KernelCache, IsBoundedInBytes) {
  KernelCache cache;
  const ir::Mechanism& m = *ir::find_mechanism("scaled_dot");
  cache.set_capacity(3 * KernelCache::kKernelOverhead);
  for (int d = 1; d <= 10; ++d) cache.get(m, d, true);
  EXPECT_LE(cache.bytes(), cache.capacity());
  EXPECT_GE(cache.entries().size(), 1u);
  EXPECT_EQ(cache.entries().back()->dims, 10);  // the kernel in use stays
  // Even a capacity below one kernel keeps the one in use.
  cache.set_capacity(1);
  Kernel& k = cache.get(m, 11, true);
  EXPECT_EQ(cache.entries().size(), 1u);
  EXPECT_NE(k.code.fn, nullptr);
}
