// ruvector_jit_prewarm: compiles the kernels a manifest names into the
// persistent kernel cache, with no server running. Built from the same
// libraries as the extension, so the files are exactly what a backend would
// write (and will load). Run as the database's OS user (scripts/prewarm does).
//
// Manifest: one kernel per line, '#' starts a comment.
//   mechanism dims [params as a JSON object]
//   scaled_dot 384
//   cosine 384 {"tau": 20}
// Parameters are runtime arguments of a kernel, so they do not change what is
// compiled; they are checked (an unknown name or bad value is an error) so a
// manifest says exactly what the application calls.
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "ir/errors.h"
#include "runtime/disk_cache.h"
#include "runtime/engine.h"
#include "runtime/kernel_cache.h"

using namespace rvj;

namespace {

int usage() {
  std::cerr << "usage: ruvector_jit_prewarm --cache-dir DIR MANIFEST\n";
  return 2;
}

// The flat JSON object of numbers a manifest line may end with.
std::vector<double> parse_params(const ir::Mechanism& m, const std::string& json) {
  std::vector<double> params;
  for (const auto& p : m.params) params.push_back(p.default_value);
  std::string body = std::regex_replace(json, std::regex("^\\s*\\{|\\}\\s*$"), "");
  if (json.find('{') == std::string::npos || json.find('}') == std::string::npos)
    throw Error(ErrorKind::InvalidArgument, "params must be a JSON object such as {\"tau\": 20}");
  std::regex item("\\s*\"([A-Za-z_]+)\"\\s*:\\s*([-+0-9.eE]+)\\s*(,|$)");
  auto it = std::sregex_iterator(body.begin(), body.end(), item);
  size_t consumed = 0;
  for (; it != std::sregex_iterator(); ++it) {
    const std::string name = (*it)[1], value = (*it)[2];
    size_t i = 0;
    while (i < m.params.size() && name != m.params[i].name) ++i;
    if (i == m.params.size())
      throw Error(ErrorKind::InvalidArgument, "unknown parameter \"" + name + "\" for " + m.name);
    char* end = nullptr;
    params[i] = std::strtod(value.c_str(), &end);
    if (*end != '\0') throw Error(ErrorKind::InvalidArgument, "parameter \"" + name + "\" must be a number");
    consumed += it->length();
  }
  if (consumed != body.size() && body.find_first_not_of(" \t") != std::string::npos)
    throw Error(ErrorKind::InvalidArgument, "cannot read params " + json);
  ir::check_params(m, params.data());
  return params;
}

}  // namespace

int main(int argc, char** argv) {
  std::string dir, manifest;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--cache-dir" && i + 1 < argc) dir = argv[++i];
    else if (a.rfind("--", 0) == 0) return usage();
    else manifest = a;
  }
  if (dir.empty() || manifest.empty()) return usage();
  std::ifstream in(manifest);
  if (!in) {
    std::cerr << "ruvector_jit_prewarm: cannot read " << manifest << "\n";
    return 1;
  }

  runtime::DiskCache disk;
  disk.set_dir(dir);
  runtime::KernelCache cache(&disk);
  int line_no = 0, errors = 0, compiled = 0, present = 0;
  for (std::string line; std::getline(in, line);) {
    ++line_no;
    line = line.substr(0, line.find('#'));
    std::istringstream words(line);
    std::string name;
    int dims = 0;
    if (!(words >> name)) continue;  // blank or comment
    try {
      if (!(words >> dims) || dims < 1 || dims > 16000)
        throw Error(ErrorKind::InvalidArgument, "dims must be an integer between 1 and 16000");
      const ir::Mechanism& m = runtime::kernel_mechanism(name);
      std::string rest;
      std::getline(words, rest);
      if (rest.find_first_not_of(" \t") != std::string::npos) parse_params(m, rest);
      runtime::Source source;
      runtime::Kernel& k = cache.get(m, dims, true, &source);
      for (const runtime::Notice& n : cache.take_notices()) std::cerr << (n.warning ? "warning: " : "") << n.text << "\n";
      if (!disk.enabled()) {
        std::cerr << "ruvector_jit_prewarm: the cache directory " << dir << " is not usable\n";
        return 1;
      }
      if (source == runtime::Source::Disk) {
        ++present;
        std::printf("cached   %-28s %s\n", k.key.c_str(), disk.path(k.ir).c_str());
      } else {
        ++compiled;
        std::printf("compiled %-28s %s (%.1f ms)\n", k.key.c_str(), disk.path(k.ir).c_str(), k.code.total_ms());
      }
    } catch (const Error& e) {
      ++errors;
      std::cerr << manifest << ":" << line_no << ": " << e.what() << (e.hint().empty() ? "" : " (" + e.hint() + ")")
                << "\n";
    } catch (const std::exception& e) {
      ++errors;
      std::cerr << manifest << ":" << line_no << ": " << e.what() << "\n";
    }
  }
  std::printf("%d compiled, %d already cached, %d errors\n", compiled, present, errors);
  return errors ? 1 : 0;
}
