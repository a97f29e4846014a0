#include <gtest/gtest.h>

#include <cstdio>
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
