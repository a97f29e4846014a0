#include "codegen/jit.h"

#include <chrono>
#include <cmath>
#include <csetjmp>
#include <memory>
#include <mutex>

#include <llvm/ExecutionEngine/Orc/JITTargetMachineBuilder.h>
#include <llvm/ExecutionEngine/Orc/LLJIT.h>
#include <llvm/ExecutionEngine/Orc/ThreadSafeModule.h>
#include <llvm/IR/LegacyPassManager.h>
#include <llvm/IR/Verifier.h>
#include <llvm/MC/TargetRegistry.h>
#include <llvm/Passes/PassBuilder.h>
#include <llvm/Support/ErrorHandling.h>
#include <llvm/Support/TargetSelect.h>
#include <llvm/Support/raw_ostream.h>
#include <llvm/Target/TargetMachine.h>
#include <llvm/Config/llvm-config.h>

#include "codegen/lower.h"
#include "ir/errors.h"

namespace rvj::codegen {

namespace {

using Clock = std::chrono::steady_clock;
double ms_since(Clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

[[noreturn]] void fail(const std::string& what) { throw Error(ErrorKind::CompileFailure, what); }

std::string take(llvm::Error e) {
  std::string s;
  llvm::raw_string_ostream os(s);
  os << e;
  return os.str();
}

void init_llvm() {
  static bool done = [] {
    // All targets: the host executes, the others are for cross inspection.
    llvm::InitializeAllTargetInfos();
    llvm::InitializeAllTargets();
    llvm::InitializeAllTargetMCs();
    llvm::InitializeAllAsmPrinters();
    return true;
  }();
  (void)done;
}

std::unique_ptr<llvm::TargetMachine> target_machine(const Target& t) {
  init_llvm();
  std::string err;
  const llvm::Target* target = llvm::TargetRegistry::lookupTarget(t.triple, err);
  if (!target) fail("no LLVM target for " + t.triple + ": " + err);
  llvm::TargetOptions opts;
  std::unique_ptr<llvm::TargetMachine> tm(target->createTargetMachine(
      t.triple, t.cpu, t.features, opts, llvm::Reloc::PIC_, llvm::None, llvm::CodeGenOpt::Aggressive));
  if (!tm) fail("cannot create a target machine for " + t.triple);
  return tm;
}

void optimize(llvm::Module& m, llvm::TargetMachine& tm) {
  llvm::LoopAnalysisManager lam;
  llvm::FunctionAnalysisManager fam;
  llvm::CGSCCAnalysisManager cgam;
  llvm::ModuleAnalysisManager mam;
  llvm::PassBuilder pb(&tm);  // registers the target's TargetIRAnalysis
  pb.registerModuleAnalyses(mam);
  pb.registerCGSCCAnalyses(cgam);
  pb.registerFunctionAnalyses(fam);
  pb.registerLoopAnalyses(lam);
  pb.crossRegisterProxies(lam, fam, cgam, mam);
  pb.buildPerModuleDefaultPipeline(llvm::OptimizationLevel::O3).run(m, mam);
}

// Lower + verify + optimise into a fresh module for `t`.
std::unique_ptr<llvm::Module> build_module(const ir::Function& fn, const Target& t, const std::string& symbol,
                                           llvm::LLVMContext& ctx, llvm::TargetMachine& tm,
                                           double* lower_ms, double* opt_ms) {
  auto t0 = Clock::now();
  auto mod = lower(fn, t, symbol, ctx);
  mod->setDataLayout(tm.createDataLayout());
  std::string verr;
  llvm::raw_string_ostream vos(verr);
  if (llvm::verifyModule(*mod, &vos)) fail("generated LLVM IR is invalid: " + vos.str());
  if (lower_ms) *lower_ms = ms_since(t0);
  t0 = Clock::now();
  optimize(*mod, tm);
  if (opt_ms) *opt_ms = ms_since(t0);
  return mod;
}

// LLVM fatal errors would otherwise exit() the process (and with it, the
// whole PostgreSQL cluster goes through crash recovery). Around our own
// compile step only, the handler jumps back to the step's start, which turns
// the failure into an rvj::Error. LLVM state touched by the failed step is
// abandoned, never reused.
thread_local std::jmp_buf* fatal_jump = nullptr;
thread_local char fatal_reason[512];

void on_fatal(void*, const char* reason, bool) {
  std::snprintf(fatal_reason, sizeof fatal_reason, "%s", reason);
  if (fatal_jump) std::longjmp(*fatal_jump, 1);
}

template <typename F>
void guarded(F&& step) {
  std::jmp_buf here;
  std::jmp_buf* const outer = fatal_jump;
  if (setjmp(here) != 0) {
    // Came back from on_fatal: the scoped handler's destructor was skipped.
    llvm::remove_fatal_error_handler();
    fatal_jump = outer;
    fail(std::string("LLVM fatal error: ") + fatal_reason);
  }
  fatal_jump = &here;
  try {
    llvm::ScopedFatalErrorHandler handler(on_fatal, nullptr);
    step();
  } catch (...) {
    fatal_jump = outer;
    throw;
  }
  fatal_jump = outer;
}

struct Jit {
  std::unique_ptr<llvm::orc::LLJIT> lljit;
  std::unique_ptr<llvm::TargetMachine> tm;
  uint64_t counter = 0;
};

std::mutex jit_mutex;

// Intentionally leaked: static destructors at backend exit must not race
// libLLVM's own teardown.
Jit& jit() {
  static Jit* j = [] {
    init_llvm();
    auto* j = new Jit();
    const Target& host = host_target();
    auto jtmb = llvm::orc::JITTargetMachineBuilder::detectHost();
    if (!jtmb) fail("cannot detect the host for JIT: " + take(jtmb.takeError()));
    jtmb->setCodeGenOptLevel(llvm::CodeGenOpt::Aggressive);
    auto created = llvm::orc::LLJITBuilder().setJITTargetMachineBuilder(std::move(*jtmb)).create();
    if (!created) fail("cannot create the JIT: " + take(created.takeError()));
    j->lljit = std::move(*created);
    j->tm = target_machine(host);
    // The only external symbol kernels may call: a pure libm function.
    auto& dylib = j->lljit->getMainJITDylib();
    llvm::orc::SymbolMap syms;
    syms[j->lljit->mangleAndIntern("log1p")] = llvm::JITEvaluatedSymbol(
        llvm::pointerToJITTargetAddress(static_cast<double (*)(double)>(&::log1p)),
        llvm::JITSymbolFlags::Exported);
    if (auto err = dylib.define(llvm::orc::absoluteSymbols(std::move(syms))))
      fail("cannot define runtime symbols: " + take(std::move(err)));
    return j;
  }();
  return *j;
}

}  // namespace

Compiled compile(const ir::Function& fn) {
  std::lock_guard<std::mutex> lock(jit_mutex);
  Compiled out;
  guarded([&] {
    Jit& j = jit();
    out.symbol = "rvj_" + fn.name + "_" + std::to_string(fn.dims) + "_" + std::to_string(++j.counter);
    auto ctx = std::make_unique<llvm::LLVMContext>();
    auto mod = build_module(fn, host_target(), out.symbol, *ctx, *j.tm, &out.lower_ms, &out.opt_ms);
    auto t0 = Clock::now();
    if (auto err = j.lljit->addIRModule(llvm::orc::ThreadSafeModule(std::move(mod), std::move(ctx))))
      fail("cannot add the kernel module: " + take(std::move(err)));
    auto sym = j.lljit->lookup(out.symbol);  // this is where machine code is generated
    if (!sym) fail("cannot compile kernel " + out.symbol + ": " + take(sym.takeError()));
    out.fn = reinterpret_cast<KernelFn>(sym->getAddress());
    out.codegen_ms = ms_since(t0);
  });
  return out;
}

std::string optimized_llvm_ir(const ir::Function& fn, const Target& t) {
  std::lock_guard<std::mutex> lock(jit_mutex);
  std::string text;
  guarded([&] {
    auto tm = target_machine(t);
    llvm::LLVMContext ctx;
    auto mod = build_module(fn, t, "rvj_" + fn.name + "_" + std::to_string(fn.dims), ctx, *tm, nullptr, nullptr);
    llvm::raw_string_ostream os(text);
    mod->print(os, nullptr);
  });
  return text;
}

std::string assembly(const ir::Function& fn, const Target& t) {
  std::lock_guard<std::mutex> lock(jit_mutex);
  std::string text;
  guarded([&] {
    auto tm = target_machine(t);
    llvm::LLVMContext ctx;
    auto mod = build_module(fn, t, "rvj_" + fn.name + "_" + std::to_string(fn.dims), ctx, *tm, nullptr, nullptr);
    llvm::SmallVector<char, 0> buf;
    llvm::raw_svector_ostream os(buf);
    llvm::legacy::PassManager pm;
    if (tm->addPassesToEmitFile(pm, os, nullptr, llvm::CGFT_AssemblyFile))
      fail("target " + t.triple + " cannot emit assembly");
    pm.run(*mod);
    text.assign(buf.begin(), buf.end());
  });
  return text;
}

std::string llvm_version() { return LLVM_VERSION_STRING; }

}  // namespace rvj::codegen
