#include "fixtures.h"

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

}  // namespace rvj::test
