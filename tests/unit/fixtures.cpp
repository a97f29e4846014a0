#include "fixtures.h"

#include "codegen/provider.h"
#include "runtime/codegen_loader.h"

#include <cmath>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace rvj::test {

const std::vector<ScoreCase>& score_cases() {
  static const std::vector<ScoreCase> cases = [] {
    std::vector<ScoreCase> out;
    std::ifstream in(std::string(RVJ_FIXTURE_DIR) + "/scores.txt");
    if (!in) throw std::runtime_error("cannot open tests/fixtures/scores.txt");
    for (std::string line; std::getline(in, line);) {
      if (line.empty() || line[0] == '#') continue;
      std::istringstream s(line);
      ScoreCase c;
      size_t np;
      std::string bar;
      s >> c.mechanism >> c.dims >> np;
      c.params.resize(np);
      for (auto& p : c.params) s >> p;
      s >> bar;
      c.a.resize(c.dims);
      c.b.resize(c.dims);
      for (auto& x : c.a) s >> x;
      s >> bar;
      for (auto& x : c.b) s >> x;
      s >> bar >> c.expected;
      if (!s) throw std::runtime_error("malformed fixture line: " + line.substr(0, 60));
      out.push_back(std::move(c));
    }
    return out;
  }();
  return cases;
}

const std::vector<AttendCase>& attend_cases() {
  static const std::vector<AttendCase> cases = [] {
    std::vector<AttendCase> out;
    std::ifstream in(std::string(RVJ_FIXTURE_DIR) + "/attend.txt");
    if (!in) throw std::runtime_error("cannot open tests/fixtures/attend.txt");
    auto read = [](std::istringstream& s, auto& v, size_t n) {
      std::string bar;
      s >> bar;
      v.resize(n);
      for (auto& x : v) s >> x;
    };
    for (std::string line; std::getline(in, line);) {
      if (line.empty() || line[0] == '#') continue;
      std::istringstream s(line);
      AttendCase c;
      s >> c.d >> c.dv >> c.n;
      read(s, c.q, c.d);
      read(s, c.keys, static_cast<size_t>(c.n) * c.d);
      read(s, c.values, static_cast<size_t>(c.n) * c.dv);
      read(s, c.out, c.dv);
      read(s, c.weights, c.n);
      if (!s) throw std::runtime_error("malformed attend fixture");
      out.push_back(std::move(c));
    }
    return out;
  }();
  return cases;
}

std::vector<std::vector<std::string>> fixture_lines(const std::string& file) {
  std::ifstream in(std::string(RVJ_FIXTURE_DIR) + "/" + file);
  if (!in) throw std::runtime_error("cannot open tests/fixtures/" + file);
  std::vector<std::vector<std::string>> out;
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line[0] == '#') continue;
    std::vector<std::string> f;
    for (size_t at = 0;;) {
      size_t bar = line.find(" | ", at);
      f.push_back(line.substr(at, bar == std::string::npos ? std::string::npos : bar - at));
      if (bar == std::string::npos) break;
      at = bar + 3;
    }
    out.push_back(std::move(f));
  }
  return out;
}

namespace {
std::vector<SequenceCase> read_sequence_cases(const std::string& file) {
  std::vector<SequenceCase> out;
  for (const std::vector<std::string>& f : fixture_lines(file)) {
    // Fields: head | params (a flat JSON object of numbers) | q | k | v | out [| extra].
    if (f.size() != 6 && f.size() != 7) throw std::runtime_error("malformed sequence fixture");
    SequenceCase c;
    std::istringstream head(f[0]);
    head >> c.mechanism >> c.L >> c.S >> c.dq >> c.dk >> c.dv;
    std::string json = f[1];
    for (char& ch : json)
      if (ch == '{' || ch == '}' || ch == ',' || ch == ':' || ch == '"') ch = ' ';
    std::istringstream kv(json);
    for (std::string key, value; kv >> key >> value;)
      c.params.emplace_back(key, value == "true" ? 1.0 : value == "false" ? 0.0 : std::stod(value));
    c.q = numbers<float>(f[2]);
    c.k = numbers<float>(f[3]);
    c.v = numbers<float>(f[4]);
    c.out = numbers<double>(f[5]);
    if (f.size() == 7) c.extra = numbers<double>(f[6]);
    out.push_back(std::move(c));
  }
  return out;
}
}  // namespace

std::vector<double> sequence_params(const ir::SequenceMechanism& m, const SequenceCase& c) {
  std::vector<double> p;
  for (const auto& spec : m.params) p.push_back(spec.default_value);
  for (const auto& [name, value] : c.params) {
    const int i = ir::param_index(m.params, name);
    if (i < 0) throw std::runtime_error("fixture param " + name + " unknown to " + m.name);
    p[i] = value;
  }
  return p;
}

std::vector<const float*> row_pointers(const std::vector<float>& data, int n, int d) {
  std::vector<const float*> r(n);
  for (int i = 0; i < n; ++i) r[i] = data.data() + static_cast<size_t>(i) * d;
  return r;
}

const std::vector<SequenceCase>& sequence_cases() {
  static const std::vector<SequenceCase> cases = read_sequence_cases("sequence.txt");
  return cases;
}

const std::vector<SequenceCase>& linear_cases() {
  static const std::vector<SequenceCase> cases = read_sequence_cases("linear.txt");
  return cases;
}

const std::vector<SequenceCase>& feature_cases() {
  static const std::vector<SequenceCase> cases = read_sequence_cases("features.txt");
  return cases;
}

const std::vector<SequenceCase>& pattern_cases() {
  static const std::vector<SequenceCase> cases = read_sequence_cases("patterns.txt");
  return cases;
}

double score_tolerance(const ScoreCase& c) {
  double terms = 0, aa = 0, bb = 0;
  for (int i = 0; i < c.dims; ++i) {
    terms += std::fabs(static_cast<double>(c.a[i]) * c.b[i]);
    aa += static_cast<double>(c.a[i]) * c.a[i];
    bb += static_cast<double>(c.b[i]) * c.b[i];
  }
  double floor = 1e-6;
  if (c.mechanism == "scaled_dot") floor = 1e-6 * terms / std::sqrt(static_cast<double>(c.dims));
  if (c.mechanism == "cosine") floor = 1e-6 * c.params[0] * terms / std::sqrt(aa * bb);
  return std::max(1e-5 * std::fabs(c.expected), floor);
}

std::vector<codegen::Target> runnable_targets() {
  const codegen::Target& host = codegen::host_target();
  std::vector<codegen::Target> t{host};
  if (host.triple.rfind("x86_64", 0) == 0) {
    t.push_back(codegen::named_target("generic"));
    if (host.isa == codegen::Isa::Avx512) t.push_back(codegen::named_target("avx2"));
  }
  return t;
}

}  // namespace rvj::test

namespace {
// The tests link the code generator in (the extension loads it as a module).
const bool codegen_registered = (rvj::runtime::register_codegen(&rvj::codegen::provider()), true);
}  // namespace
