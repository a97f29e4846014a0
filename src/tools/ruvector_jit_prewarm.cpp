// ruvector_jit_prewarm: compiles the kernels a manifest names into the
// persistent kernel cache, with no server running. Built from the same
// libraries as the extension, so the files are exactly what a backend would
// write (and will load). Run as the database's OS user (scripts/prewarm does).
//
// Manifest: one kernel per line, '#' starts a comment.
//   mechanism dims [params as a JSON object]
//   scaled_dot 384
//   cosine 384 {"tau": 20}
//   sequence causal 512 {"num_heads": 8}
// A "sequence" line compiles the kernels ruvector_attention runs for that
// mechanism over query vectors of dims (self-attention widths): the score's
// tile and single-query kernels, or its per-row kernel; for the linear types,
// the panel kernel of their products and their feature map's kernel.
// Parameters are runtime arguments of a kernel, so they do not change what is
// compiled; they are checked (an unknown name or bad value is an error) so a
// manifest says exactly what the application calls.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "ir/errors.h"
#include "ir/recipes/sequence.h"
#include "runtime/disk_cache.h"
#include "runtime/engine.h"
#include "codegen/provider.h"
#include "runtime/codegen_loader.h"
#include "runtime/kernel_cache.h"
#include "runtime/schedules/flash.h"

using namespace rvj;

namespace {

int usage() {
  std::cerr << "usage: ruvector_jit_prewarm --cache-dir DIR MANIFEST\n";
  return 2;
}

// The flat JSON object of numbers (or true/false) a manifest line may end
// with, read by hand: {"name": number, ...}.
std::vector<double> parse_params(const std::vector<ir::ParamSpec>& specs, const std::string& owner,
                                 const std::string& json) {
  std::vector<double> params;
  for (const auto& p : specs) params.push_back(p.default_value);
  auto bad = [&] {
    return Error(ErrorKind::InvalidArgument, "cannot read params " + json, "Write a JSON object such as {\"tau\": 20}.");
  };
  size_t at = 0;
  auto skip = [&] { at = json.find_first_not_of(" \t", at) == std::string::npos ? json.size() : json.find_first_not_of(" \t", at); };
  auto expect = [&](char c) {
    skip();
    if (at >= json.size() || json[at] != c) throw bad();
    ++at;
  };
  expect('{');
  skip();
  if (at < json.size() && json[at] == '}') {
    ++at;
  } else {
    for (;;) {
      expect('"');
      const size_t end = json.find('"', at);
      if (end == std::string::npos) throw bad();
      const std::string name = json.substr(at, end - at);
      at = end + 1;
      expect(':');
      skip();
      const int i = ir::param_index(specs, name);
      if (i < 0 || specs[i].internal)
        throw Error(ErrorKind::InvalidArgument, "unknown parameter \"" + name + "\" for " + owner);
      if (json.compare(at, 4, "true") == 0 || json.compare(at, 5, "false") == 0) {
        params[i] = json[at] == 't';
        at += json[at] == 't' ? 4 : 5;
      } else {
        const char* begin = json.c_str() + at;
        char* stop = nullptr;
        params[i] = std::strtod(begin, &stop);
        if (stop == begin) throw Error(ErrorKind::InvalidArgument, "parameter \"" + name + "\" must be a number");
        at += stop - begin;
      }
      skip();
      if (at < json.size() && json[at] == ',') {
        ++at;
        continue;
      }
      expect('}');
      break;
    }
  }
  skip();
  if (at != json.size()) throw bad();
  ir::check_params(specs, params.data());
  return params;
}

// The kernels ruvector_attention runs for a sequence mechanism over query
// vectors of `dims` (keys and values of the key/value heads' width): the
// score's tile and single-query kernels, or its per-row kernel; the linear
// types' panel and feature kernels.
std::vector<runtime::Kernel*> sequence_kernels(runtime::KernelCache& cache, const ir::SequenceMechanism& m,
                                               const double* params, int dims, std::vector<runtime::Source>& sources) {
  const auto [dk, dv] = runtime::key_value_dims(m, ir::typed_params(m, params), dims);
  if (m.schedule == ir::Schedule::Linear) {  // its products and its feature map, for every shape
    const ir::Mechanism& dot = *ir::find_mechanism("feature_dot");
    std::vector<runtime::Kernel*> out;
    for (ir::KernelKind kind : {ir::KernelKind::Panel, ir::KernelKind::Features}) {
      runtime::Source source;
      out.push_back(&cache.get(dot, 0, true, &source, kind, 0, nullptr, ir::TileWeights::Softmax, m.features));
      sources.push_back(source);
    }
    return out;
  }
  if (m.schedule != ir::Schedule::Flash)
    throw Error(ErrorKind::InvalidArgument, std::string(m.name) + " runs no generated kernel (the " +
                                                (m.schedule == ir::Schedule::Retention ? "retention"
                                                 : m.schedule == ir::Schedule::Nystrom ? "nystrom"
                                                                                       : "sinkhorn") +
                                                " schedule)");
  const runtime::SequencePlan p = runtime::plan_sequence(m, params, 2, 1, dims, dk, dv);
  const ir::Mechanism& score = *ir::find_mechanism(m.score);
  std::vector<runtime::Kernel*> out;
  auto get = [&](ir::KernelKind kind, int value_dims) {
    runtime::Source source;
    out.push_back(&cache.get(score, p.head_dim, true, &source, kind, value_dims, nullptr, runtime::tile_weights(p)));
    sources.push_back(source);
  };
  if (runtime::tiled(p)) {
    get(ir::KernelKind::Tile, p.value_dim);
    if (runtime::tile_weights(p) == ir::TileWeights::Softmax) get(ir::KernelKind::Query, p.value_dim);
  } else {
    get(ir::KernelKind::Row, 0);
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  runtime::register_codegen(&codegen::provider());  // linked in, not loaded
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
    if (!(words >> name)) continue;  // blank or comment
    try {
      // "sequence NAME dims [params]": the kernels of a sequence mechanism.
      const bool sequence = name == "sequence";
      if (sequence && !(words >> name)) throw Error(ErrorKind::InvalidArgument, "sequence needs a mechanism name");
      int dims = 0;
      if (!(words >> dims)) throw Error(ErrorKind::InvalidArgument, "dims must be an integer");
      runtime::check_explain_dims(dims);
      std::string rest;
      std::getline(words, rest);
      const bool has_params = rest.find_first_not_of(" \t") != std::string::npos;
      std::vector<runtime::Kernel*> kernels;
      std::vector<runtime::Source> sources;
      if (sequence) {
        const ir::SequenceMechanism* m = ir::find_sequence_mechanism(name);
        if (!m)
          throw Error(ErrorKind::InvalidArgument, "unknown sequence mechanism \"" + name + "\"",
                      "Valid ones are: " + ir::sequence_mechanism_names() + ".");
        std::vector<double> params = has_params ? parse_params(m->params, m->name, rest) : [&] {
          std::vector<double> d;
          for (const auto& p : m->params) d.push_back(p.default_value);
          return d;
        }();
        kernels = sequence_kernels(cache, *m, params.data(), dims, sources);
      } else {
        const ir::Mechanism& m = runtime::kernel_mechanism(name);
        if (has_params) parse_params(m.params, m.name, rest);
        runtime::Source source;
        kernels.push_back(&cache.get(m, dims, true, &source));
        sources.push_back(source);
      }
      for (const runtime::Notice& n : cache.take_notices()) std::cerr << (n.warning ? "warning: " : "") << n.text << "\n";
      if (!disk.enabled()) {
        std::cerr << "ruvector_jit_prewarm: the cache directory " << dir << " is not usable\n";
        return 1;
      }
      for (size_t i = 0; i < kernels.size(); ++i) {
        const runtime::Kernel& k = *kernels[i];
        if (sources[i] == runtime::Source::Disk) {
          ++present;
          std::printf("cached   %-28s %s\n", k.key.c_str(), disk.path(k.ir).c_str());
        } else {
          ++compiled;
          std::printf("compiled %-28s %s (%.1f ms)\n", k.key.c_str(), disk.path(k.ir).c_str(), k.code.total_ms());
        }
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
