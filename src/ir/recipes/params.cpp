#include "ir/recipes/params.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>

#include "ir/errors.h"

namespace rvj::ir {

namespace {
constexpr double kInf = std::numeric_limits<double>::infinity();

std::string number(double v) {
  char buf[40];
  if (v == std::floor(v) && std::fabs(v) <= kMaxSeed) {  // whole numbers in full
    std::snprintf(buf, sizeof buf, "%.0f", v);
    return buf;
  }
  std::snprintf(buf, sizeof buf, "%.17g", v);
  // the shortest form that reads back the same
  for (int prec = 1; prec <= 17; ++prec) {
    std::snprintf(buf, sizeof buf, "%.*g", prec, v);
    if (std::strtod(buf, nullptr) == v) break;
  }
  return buf;
}
}  // namespace

ParamSpec integer_param(const char* name, double def, double lo, double hi, const char* doc, Field f) {
  return {name, ParamKind::Integer, def, lo, hi, false, false, doc, f};
}
ParamSpec positive_param(const char* name, double def, const char* doc, Field f) {
  return {name, ParamKind::Real, def, 0, kInf, true, true, doc, f};
}
ParamSpec real_param(const char* name, double def, const char* doc, Field f) {
  return {name, ParamKind::Real, def, -kInf, kInf, true, true, doc, f};
}
ParamSpec bool_param(const char* name, bool def, const char* doc, Field f) {
  return {name, ParamKind::Boolean, def ? 1.0 : 0.0, 0, 1, false, false, doc, f};
}
ParamSpec seed_param(const char* name, const char* doc, Field f) {
  return {name, ParamKind::Seed, 0, -kMaxSeed, kMaxSeed, false, false, doc, f};
}
ParamSpec optional_real_param(const char* name, const char* doc, Field f) {
  ParamSpec p = real_param(name, std::numeric_limits<double>::quiet_NaN(), doc, f);
  p.optional = true;
  return p;
}
ParamSpec internal_param(const char* name, const char* doc, Field f) {
  ParamSpec p = real_param(name, 0, doc, f);
  p.internal = true;
  return p;
}

int param_index(const std::vector<ParamSpec>& specs, std::string_view name) {
  for (size_t i = 0; i < specs.size(); ++i)
    if (name == specs[i].name) return static_cast<int>(i);
  return -1;
}

std::string describe_range(const ParamSpec& p) {
  switch (p.kind) {
    case ParamKind::Boolean: return "true or false";
    case ParamKind::Integer:
    case ParamKind::Seed: return "a whole number from " + number(p.lo) + " to " + number(p.hi);
    case ParamKind::Real: {
      const bool low = std::isfinite(p.lo), high = std::isfinite(p.hi);
      if (!low && !high) return "a finite number";
      std::string s = "a number";
      if (low) s += std::string(p.lo_open ? " greater than " : " at least ") + number(p.lo);
      if (low && high) s += " and";
      if (high) s += std::string(p.hi_open ? " less than " : " at most ") + number(p.hi);
      return s;
    }
  }
  return "?";
}

std::string describe_param(const ParamSpec& p) {
  std::string def;
  if (p.optional && std::isnan(p.default_value))
    def = "(optional)";
  else if (p.kind == ParamKind::Boolean)
    def = p.default_value != 0 ? "true" : "false";
  else
    def = number(p.default_value);
  return std::string(p.name) + "=" + def + " (" + describe_range(p) + ")";
}

void check_params(const std::vector<ParamSpec>& specs, const double* params) {
  for (size_t i = 0; i < specs.size(); ++i) {
    const double v = params[i];
    const ParamSpec& p = specs[i];
    if (p.optional && std::isnan(v)) continue;
    bool ok = std::isfinite(v);
    switch (p.kind) {
      case ParamKind::Boolean: ok = v == 0 || v == 1; break;
      case ParamKind::Integer:
      case ParamKind::Seed: ok = ok && v == std::floor(v) && v >= p.lo && v <= p.hi; break;
      case ParamKind::Real:
        ok = ok && (p.lo_open ? v > p.lo : v >= p.lo) && (p.hi_open ? v < p.hi : v <= p.hi);
        break;
    }
    if (!ok)
      throw Error(ErrorKind::InvalidArgument,
                  std::string(p.name) + " must be " + describe_range(p) + ", not " +
                      number(v),
                  std::string(p.name) + ": " + p.doc + ".");
  }
}

}  // namespace rvj::ir
