#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <random>
#include <string>

#include "codegen/isa.h"
#include "codegen/jit.h"
#include "fixtures.h"
#include "ir/errors.h"
#include "ir/interpreter.h"
#include "ir/recipes/mechanisms.h"

using namespace rvj;

// Host machine code against numpy / geoopt.
TEST(Codegen, HostKernelsMatchIndependentReferences) {
  for (const auto& c : test::score_cases()) {
    const ir::Mechanism* m = ir::find_mechanism(c.mechanism);
    ASSERT_NE(m, nullptr);
    codegen::Compiled k = codegen::compile(m->build(c.dims));
    ASSERT_NE(k.fn, nullptr);
    const float* in[2] = {c.a.data(), c.b.data()};
    double out[4];
    k.fn(in, c.params.data(), out);
    EXPECT_NEAR(out[0], c.expected, test::score_tolerance(c)) << c.mechanism << " dims " << c.dims;
  }
}

// Machine code for `target` against the interpreter on random, awkward
// shapes, including the auxiliary outputs the checks read: the canonical
// reduction order makes them bit-identical.
void expect_bit_identical_to_interpreter(const codegen::Target& target) {
  std::mt19937 gen(7);
  std::normal_distribution<float> normal(0.f, 0.3f);
  for (const ir::Mechanism& m : ir::mechanisms()) {
    for (int d : {1, 2, 5, 15, 16, 17, 31, 33, 63, 64, 65, 100, 257, 384, 1000}) {
      ir::Function fn = m.build(d);
      codegen::Compiled k = codegen::compile(fn, target);
      std::vector<float> a(d), b(d), c(d), e(d), f(d), g(d);  // more inputs: additive's v; the graph scores'
      for (auto* v : {&a, &b, &c, &e, &f, &g})
        for (auto& x : *v) x = normal(gen) / std::sqrt(static_cast<float>(d));
      std::vector<double> params;
      for (const auto& p : m.params) params.push_back(p.default_value);
      params.push_back(-3);  // the Position slot (ir.h), read by scores that use it
      // A vector output goes through the slot after the inputs (ir.h).
      std::vector<float> jit_vec(d), ref_vec(d);
      const float* in[7] = {a.data(), b.data(), c.data(), e.data(), f.data(), g.data(), nullptr};
      double jit_out[4], ref_out[4];
      if (fn.num_vec_outputs) in[fn.num_inputs] = jit_vec.data();
      k.fn(in, params.data(), jit_out);
      if (fn.num_vec_outputs) in[fn.num_inputs] = ref_vec.data();
      ir::interpret(fn, in, params.data(), ref_out);
      for (int o = 0; o < fn.num_outputs; ++o)
        EXPECT_EQ(jit_out[o], ref_out[o]) << m.name << " dims " << d << " out " << o << " on "
                                          << codegen::isa_name(target.isa);
      EXPECT_EQ(jit_vec, ref_vec) << m.name << " dims " << d << " on " << codegen::isa_name(target.isa);
    }
  }
}

TEST(Codegen, HostKernelsAreBitIdenticalToInterpreter) {
  expect_bit_identical_to_interpreter(codegen::host_target());
}

// Other x86 ISAs run here too when the host has their instructions: every
// target computes the same bits.
TEST(Codegen, EveryRunnableIsaIsBitIdenticalToInterpreter) {
  const codegen::Target& host = codegen::host_target();
  if (host.triple.rfind("x86_64", 0) != 0) GTEST_SKIP() << "cross-ISA execution needs an x86-64 host";
  expect_bit_identical_to_interpreter(codegen::named_target("generic"));
  if (host.isa == codegen::Isa::Avx2 || host.isa == codegen::Isa::Avx512)
    expect_bit_identical_to_interpreter(codegen::named_target("avx2"));
  if (host.isa == codegen::Isa::Avx512) expect_bit_identical_to_interpreter(codegen::named_target("avx512"));
}

TEST(Codegen, CompileReportsItsPhases) {
  codegen::Compiled k = codegen::compile(ir::build_scaled_dot(384));
  EXPECT_GT(k.total_ms(), 0.0);
  EXPECT_GT(k.codegen_ms, 0.0);
  EXPECT_NE(k.symbol.find("scaled_dot_384"), std::string::npos);
}

// The module detects the ISA without LLVM (CPUID builtins); LLVM's own
// detection, which the JIT compiles for, must agree on it.
TEST(Codegen, HostIsaIsDetected) {
  const codegen::Target& host = codegen::host_target();
  std::string name = codegen::isa_name(host.isa);
  EXPECT_TRUE(name == "avx512" || name == "avx2" || name == "neon" || name == "generic") << name;
  EXPECT_TRUE(host.cpu.empty());  // the host: LLVM names it when it compiles
  const codegen::Target& llvm = codegen::llvm_host_target();
  EXPECT_EQ(llvm.isa, host.isa) << llvm.cpu << " " << llvm.features;
  EXPECT_EQ(llvm.triple, host.triple);
  EXPECT_EQ(llvm.vector_bits, host.vector_bits);
  EXPECT_FALSE(llvm.cpu.empty());
}

// Cross-generated code for ISAs this machine may not have: the assembly uses
// each ISA's own vector registers.
TEST(Codegen, Avx512AssemblyUsesZmmRegisters) {
  std::string s = codegen::assembly(ir::build_scaled_dot(384), codegen::named_target("avx512"));
  EXPECT_NE(s.find("zmm"), std::string::npos) << s.substr(0, 2000);
  EXPECT_NE(s.find("vfmadd"), std::string::npos);
}

TEST(Codegen, Avx2AssemblyUsesYmmFma) {
  std::string s = codegen::assembly(ir::build_scaled_dot(384), codegen::named_target("avx2"));
  EXPECT_NE(s.find("ymm"), std::string::npos);
  EXPECT_EQ(s.find("zmm"), std::string::npos);
  EXPECT_NE(s.find("vfmadd"), std::string::npos);
}

TEST(Codegen, NeonAssemblyUsesVRegisters) {
  std::string s = codegen::assembly(ir::build_scaled_dot(384), codegen::named_target("neon"));
  EXPECT_NE(s.find("fmla\tv"), std::string::npos) << s.substr(0, 2000);
  EXPECT_NE(s.find(".4s"), std::string::npos);
}

TEST(Codegen, OptimisedIrIsVectorisedPerTarget) {
  std::string avx2 = codegen::optimized_llvm_ir(ir::build_scaled_dot(384), codegen::named_target("avx2"));
  EXPECT_NE(avx2.find("<8 x float>"), std::string::npos) << avx2;
  EXPECT_NE(avx2.find("llvm.fma.v8f32"), std::string::npos);
  std::string avx512 = codegen::optimized_llvm_ir(ir::build_scaled_dot(384), codegen::named_target("avx512"));
  EXPECT_NE(avx512.find("llvm.fma.v16f32"), std::string::npos);
  // f64 sums for the Poincare ball: 8 doubles per zmm register.
  std::string ball = codegen::optimized_llvm_ir(ir::build_poincare_distance(100), codegen::named_target("avx512"));
  EXPECT_NE(ball.find("<8 x double>"), std::string::npos);
}

TEST(Codegen, UnknownIsaIsRejected) {
  try {
    codegen::named_target("sse9");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::InvalidArgument);
    EXPECT_NE(e.hint().find("avx512, avx2, neon, generic"), std::string::npos);
  }
}

// An LLVM fatal error inside our compile step becomes an rvj::Error instead
// of exit(); later compiles in the process fail cleanly with a hint, and the
// interpreter still answers. Run in a child process: it poisons the JIT.
namespace {
// The child's body: true when every step behaved.
bool fatal_error_is_contained() {
  bool ok = false;
  try {
    codegen::raise_llvm_fatal_error_for_testing("simulated failure");
  } catch (const Error& e) {
    ok = e.kind() == ErrorKind::CompileFailure &&
         std::string(e.what()).find("simulated failure") != std::string::npos;
  }
  try {
    codegen::compile(ir::build_scaled_dot(8));
    ok = false;
  } catch (const Error& e) {
    ok = ok && e.hint().find("ruvector_jit.enabled = off") != std::string::npos;
  }
  float a[8] = {1, 1, 1, 1, 1, 1, 1, 1};
  const float* in[2] = {a, a};
  double out[1];
  ir::interpret(ir::build_scaled_dot(8), in, nullptr, out);
  return ok && std::fabs(out[0] - 8 / std::sqrt(8.0)) < 1e-6;
}
}  // namespace

TEST(CodegenDeathTest, LlvmFatalErrorBecomesACleanError) {
  EXPECT_EXIT(std::_Exit(fatal_error_is_contained() ? 0 : 1), ::testing::ExitedWithCode(0), "");
}
