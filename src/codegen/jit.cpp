#include "codegen/jit.h"

#include <chrono>
#include <cmath>
#include <csetjmp>
#include <memory>
#include <mutex>
#include <new>

#include <llvm/ExecutionEngine/Orc/JITTargetMachineBuilder.h>
#include <llvm/ExecutionEngine/Orc/LLJIT.h>
#include <llvm/ExecutionEngine/Orc/ObjectTransformLayer.h>
#include <llvm/ExecutionEngine/Orc/ThreadSafeModule.h>
#include <llvm/IR/DiagnosticInfo.h>
#include <llvm/IR/DiagnosticPrinter.h>
#include <llvm/IR/LegacyPassManager.h>
#include <llvm/IR/Verifier.h>
#include <llvm/MC/TargetRegistry.h>
#include <llvm/Passes/PassBuilder.h>
#include <llvm/Support/ErrorHandling.h>
#include <llvm/Support/TargetSelect.h>
#include <llvm/Support/raw_ostream.h>
#include <llvm/Target/TargetMachine.h>
#include <llvm/Transforms/Utils/Cloning.h>
#include <llvm/Config/llvm-config.h>

#include "codegen/lower.h"
#include "ir/cancel.h"
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

// Plain flags and pointers, not function-local statics: a fatal error that
// jumps out of an initialiser must not leave a static guard "in progress".
bool llvm_ready = false;

void init_llvm() {
  if (llvm_ready) return;
  // All targets: the host executes, the others are for cross inspection.
  llvm::InitializeAllTargetInfos();
  llvm::InitializeAllTargets();
  llvm::InitializeAllTargetMCs();
  llvm::InitializeAllAsmPrinters();
  llvm_ready = true;
}

std::unique_ptr<llvm::TargetMachine> target_machine(const Target& t) {
  init_llvm();
  std::string err;
  const Target& use = t.cpu.empty() ? llvm_host_target() : t;  // "" is the host (isa.h)
  const llvm::Target* target = llvm::TargetRegistry::lookupTarget(use.triple, err);
  if (!target) fail("no LLVM target for " + use.triple + ": " + err);
  llvm::TargetOptions opts;
  std::unique_ptr<llvm::TargetMachine> tm(target->createTargetMachine(
      use.triple, use.cpu, use.features, opts, llvm::Reloc::PIC_, llvm::None, llvm::CodeGenOpt::Aggressive));
  if (!tm) fail("cannot create a target machine for " + use.triple);
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
  // Compiles are bounded (wide heads loop instead of unrolling) and
  // cancellable between their phases.
  check_cancel();
  auto t0 = Clock::now();
  auto mod = lower(fn, t, symbol, ctx);
  mod->setDataLayout(tm.createDataLayout());
  std::string verr;
  llvm::raw_string_ostream vos(verr);
  if (llvm::verifyModule(*mod, &vos)) fail("generated LLVM IR is invalid: " + vos.str());
  if (lower_ms) *lower_ms = ms_since(t0);
  check_cancel();
  t0 = Clock::now();
  optimize(*mod, tm);
  if (opt_ms) *opt_ms = ms_since(t0);
  check_cancel();
  return mod;
}

// LLVM fatal errors, and LLVM's out-of-memory reports, would otherwise exit()
// or abort() the backend, and an abort sends the whole PostgreSQL cluster
// through crash recovery. Around our own compile steps only, handlers jump
// back to the step's start and the failure becomes an rvj::Error. LLVM state
// the failed step was using cannot be trusted afterwards (its destructors and
// locks were skipped), so the JIT is then poisoned for the rest of this
// backend: every later compile fails cleanly, and the interpreter
// (ruvector_jit.enabled = off) still works.
thread_local std::jmp_buf* fatal_jump = nullptr;
thread_local char fatal_reason[512];
bool poisoned = false;

void on_fatal(void*, const char* reason, bool) {
  std::snprintf(fatal_reason, sizeof fatal_reason, "%s", reason);
  if (fatal_jump) std::longjmp(*fatal_jump, 1);
}

// operator new failing inside libLLVM must not throw through it either.
void on_new_failure() { on_fatal(nullptr, "out of memory", false); }

// Error diagnostics (for example from instruction selection) are collected
// instead of LLVMContext's default, which prints and exit()s.
struct Diagnostics {
  std::string errors;
};

void on_diagnostic(const llvm::DiagnosticInfo& info, void* context) {
  if (info.getSeverity() != llvm::DS_Error) return;
  auto* d = static_cast<Diagnostics*>(context);
  try {  // called from libLLVM: nothing may unwind out of here
    llvm::raw_string_ostream os(d->errors);
    llvm::DiagnosticPrinterRawOStream printer(os);
    info.print(printer);
    os << "; ";
  } catch (...) {
    d->errors = "(out of memory describing the error)";
  }
}

std::unique_ptr<llvm::LLVMContext> new_context(Diagnostics& d) {
  auto ctx = std::make_unique<llvm::LLVMContext>();
  ctx->setDiagnosticHandlerCallBack(on_diagnostic, &d);
  return ctx;
}

void check(const Diagnostics& d) {
  if (!d.errors.empty()) fail("LLVM reported: " + d.errors);
}

[[noreturn]] void fail_poisoned() {
  throw Error(ErrorKind::CompileFailure,
              std::string("the JIT is unavailable in this backend after an LLVM fatal error: ") + fatal_reason,
              "Reconnect to get a fresh backend, or SET ruvector_jit.enabled = off to use the interpreter.");
}

template <typename F>
void guarded(F&& step) {
  if (poisoned) fail_poisoned();
  std::jmp_buf here;
  std::new_handler previous_new_handler = std::set_new_handler(on_new_failure);
  if (setjmp(here) != 0) {
    // Came back from on_fatal: the handlers' removal below was skipped.
    llvm::remove_fatal_error_handler();
    llvm::remove_bad_alloc_error_handler();
    std::set_new_handler(previous_new_handler);
    fatal_jump = nullptr;
    poisoned = true;
    fail(std::string("LLVM fatal error: ") + fatal_reason);
  }
  fatal_jump = &here;
  llvm::install_fatal_error_handler(on_fatal, nullptr);
  llvm::install_bad_alloc_error_handler(on_fatal, nullptr);
  try {
    step();
  } catch (...) {
    llvm::remove_bad_alloc_error_handler();
    llvm::remove_fatal_error_handler();
    std::set_new_handler(previous_new_handler);
    fatal_jump = nullptr;
    throw;
  }
  llvm::remove_bad_alloc_error_handler();
  llvm::remove_fatal_error_handler();
  std::set_new_handler(previous_new_handler);
  fatal_jump = nullptr;
}

thread_local std::string last_object;  // the object file of the compile in progress

struct Jit {
  std::unique_ptr<llvm::orc::LLJIT> lljit;
  std::unique_ptr<llvm::TargetMachine> tm;
  uint64_t counter = 0;
};

std::mutex jit_mutex;

// Intentionally leaked: static destructors at backend exit must not race
// libLLVM's own teardown.
Jit* the_jit = nullptr;

Jit& jit() {
  if (the_jit) return *the_jit;
  init_llvm();
  auto* j = new Jit();
  auto jtmb = llvm::orc::JITTargetMachineBuilder::detectHost();
  if (!jtmb) fail("cannot detect the host for JIT: " + take(jtmb.takeError()));
  jtmb->setCodeGenOptLevel(llvm::CodeGenOpt::Aggressive);
  auto created = llvm::orc::LLJITBuilder().setJITTargetMachineBuilder(std::move(*jtmb)).create();
  if (!created) fail("cannot create the JIT: " + take(created.takeError()));
  j->lljit = std::move(*created);
  j->tm = target_machine(llvm_host_target());
  // The only external symbols kernels may call: pure libm functions
  // (fma/fmaf/rintf/rint only on targets without those instructions).
  llvm::orc::SymbolMap syms;
  auto define = [&](const char* name, llvm::JITTargetAddress addr) {
    syms[j->lljit->mangleAndIntern(name)] = llvm::JITEvaluatedSymbol(addr, llvm::JITSymbolFlags::Exported);
  };
  define("log1p", llvm::pointerToJITTargetAddress(static_cast<double (*)(double)>(&::log1p)));
  define("tanh", llvm::pointerToJITTargetAddress(static_cast<double (*)(double)>(&::tanh)));
  define("atanh", llvm::pointerToJITTargetAddress(static_cast<double (*)(double)>(&::atanh)));
  define("fma", llvm::pointerToJITTargetAddress(static_cast<double (*)(double, double, double)>(&::fma)));
  define("fmaf", llvm::pointerToJITTargetAddress(static_cast<float (*)(float, float, float)>(&::fmaf)));
  define("rintf", llvm::pointerToJITTargetAddress(static_cast<float (*)(float)>(&::rintf)));
  define("rint", llvm::pointerToJITTargetAddress(static_cast<double (*)(double)>(&::rint)));
  if (auto err = j->lljit->getMainJITDylib().define(llvm::orc::absoluteSymbols(std::move(syms))))
    fail("cannot define runtime symbols: " + take(std::move(err)));
  // Keep a copy of each object file on its way to the linker: its size is
  // reported and the disk cache stores it.
  j->lljit->getObjTransformLayer().setTransform(
      [](std::unique_ptr<llvm::MemoryBuffer> obj) -> llvm::Expected<std::unique_ptr<llvm::MemoryBuffer>> {
        // No C++ exception may unwind through libLLVM (built without them).
        try {
          last_object.assign(obj->getBufferStart(), obj->getBufferSize());
        } catch (...) {
          return llvm::make_error<llvm::StringError>("out of memory copying the object",
                                                     llvm::inconvertibleErrorCode());
        }
        return obj;
      });
  the_jit = j;
  return *j;
}

}  // namespace

Compiled compile(const ir::Function& fn) { return compile(fn, llvm_host_target()); }

namespace {
// Each kernel lives in a JITDylib of its own: its symbol name can then be
// fixed (rvj_<mechanism>_<dims>), which an object loaded from the disk cache
// needs, without clashing with other copies; and dropping the kernel frees
// exactly its code. libm symbols come from the main JITDylib.
// The JITDylib is owned by `out.memory` from its creation on, so a failed
// compile or load frees it too; the owner must be destroyed outside jit_mutex
// (callers declare `out` before taking the lock).
llvm::orc::JITDylib& new_kernel_dylib(Jit& j, Compiled& out) {
  auto jd = j.lljit->createJITDylib("rvj_kernel_" + std::to_string(++j.counter));
  if (!jd) fail("cannot create a JITDylib: " + take(jd.takeError()));
  jd->addToLinkOrder(j.lljit->getMainJITDylib());
  llvm::orc::ExecutionSession* es = &j.lljit->getExecutionSession();
  llvm::orc::JITDylib* dylib = &*jd;
  out.memory = std::shared_ptr<void>(dylib, [es](void* d) {
    std::lock_guard<std::mutex> relock(jit_mutex);
    if (!poisoned) llvm::consumeError(es->removeJITDylib(*static_cast<llvm::orc::JITDylib*>(d)));
  });
  return *jd;
}

// Looks the kernel up (which materialises it) and fills `out`.
void finish(Jit& j, llvm::orc::JITDylib& jd, Compiled& out) {
  last_object.clear();
  auto sym = j.lljit->lookup(jd, out.symbol);
  if (!sym) fail("cannot link kernel " + out.symbol + ": " + take(sym.takeError()));
  out.fn = reinterpret_cast<KernelFn>(sym->getAddress());
}
}  // namespace

std::string kernel_symbol(const ir::Function& fn) {
  if (fn.kind == ir::KernelKind::Panel || fn.kind == ir::KernelKind::Features)
    return "rvj_" + std::string(ir::kind_name(fn.kind, fn.weights, fn.features)) + "_" + fn.name;
  if (fn.kind != ir::KernelKind::Row)
    return "rvj_" + std::string(ir::kind_name(fn.kind, fn.weights)) + "_" + fn.name + "_" + std::to_string(fn.dims) + "x" + std::to_string(fn.value_dims);
  return "rvj_" + fn.name + "_" + std::to_string(fn.dims);
}

namespace {
// Both inspection texts of an optimised module: the IR as it is, the
// assembly from a copy (code generation may rewrite the IR it runs on).
void render(llvm::Module& mod, llvm::TargetMachine& tm, const Target& t, Inspection& out) {
  {
    llvm::raw_string_ostream os(out.optimized_ir);
    mod.print(os, nullptr);
  }
  check_cancel();
  std::unique_ptr<llvm::Module> copy = llvm::CloneModule(mod);
  llvm::SmallVector<char, 0> buf;
  llvm::raw_svector_ostream os(buf);
  llvm::legacy::PassManager pm;
  if (tm.addPassesToEmitFile(pm, os, nullptr, llvm::CGFT_AssemblyFile))
    fail("target " + t.triple + " cannot emit assembly");
  pm.run(*copy);
  out.assembly.assign(buf.begin(), buf.end());
}

Compiled compile_impl(const ir::Function& fn, const Target& target, Inspection* shown) {
  Compiled out;  // before the lock: its destructor takes the lock
  std::lock_guard<std::mutex> lock(jit_mutex);
  guarded([&] {
    Jit& j = jit();
    out.symbol = kernel_symbol(fn);
    Diagnostics diag;
    auto ctx = new_context(diag);
    auto mod = build_module(fn, target, out.symbol, *ctx, *j.tm, &out.lower_ms, &out.opt_ms);
    check(diag);
    if (shown) render(*mod, *j.tm, target, *shown);  // explain: one lowering for the code and its texts
    auto t0 = Clock::now();
    llvm::orc::JITDylib& jd = new_kernel_dylib(j, out);
    if (auto err = j.lljit->addIRModule(jd, llvm::orc::ThreadSafeModule(std::move(mod), std::move(ctx))))
      fail("cannot add the kernel module: " + take(std::move(err)));
    finish(j, jd, out);  // this is where machine code is generated
    check(diag);
    out.object = std::move(last_object);
    out.object_bytes = out.object.size();
    out.codegen_ms = ms_since(t0);
  });
  return out;
}
}  // namespace

Compiled compile(const ir::Function& fn, const Target& target) { return compile_impl(fn, target, nullptr); }

Compiled compile(const ir::Function& fn, Inspection* shown) {
  return compile_impl(fn, llvm_host_target(), shown);
}

Compiled load_object(const ir::Function& fn, const std::string& object) {
  Compiled out;  // before the lock: its destructor takes the lock
  std::lock_guard<std::mutex> lock(jit_mutex);
  guarded([&] {
    Jit& j = jit();
    out.symbol = kernel_symbol(fn);
    auto t0 = Clock::now();
    llvm::orc::JITDylib& jd = new_kernel_dylib(j, out);
    auto buffer = llvm::MemoryBuffer::getMemBufferCopy(object, out.symbol);
    if (auto err = j.lljit->addObjectFile(jd, std::move(buffer)))
      fail("cannot add the cached object: " + take(std::move(err)));
    finish(j, jd, out);
    out.object_bytes = object.size();
    out.codegen_ms = ms_since(t0);  // here: the load and link time
  });
  return out;
}

namespace {
// Lowers and optimises fn for t in a throwaway context and hands the module
// to `use`: inspection never touches the JIT that runs kernels.
template <typename F>
void with_module(const ir::Function& fn, const Target& t, F&& use) {
  std::lock_guard<std::mutex> lock(jit_mutex);
  guarded([&] {
    auto tm = target_machine(t);
    Diagnostics diag;
    auto ctx = new_context(diag);
    auto mod = build_module(fn, t, kernel_symbol(fn), *ctx, *tm, nullptr, nullptr);
    use(*mod, *tm);
    check(diag);
  });
}
}  // namespace

std::string optimized_llvm_ir(const ir::Function& fn, const Target& t) {
  std::string text;
  with_module(fn, t, [&](llvm::Module& mod, llvm::TargetMachine&) {
    llvm::raw_string_ostream os(text);
    mod.print(os, nullptr);
  });
  return text;
}

namespace {
std::string emit_file(const ir::Function& fn, const Target& t, llvm::CodeGenFileType type) {
  std::string bytes;
  with_module(fn, t, [&](llvm::Module& mod, llvm::TargetMachine& tm) {
    llvm::SmallVector<char, 0> buf;
    llvm::raw_svector_ostream os(buf);
    llvm::legacy::PassManager pm;
    if (tm.addPassesToEmitFile(pm, os, nullptr, type)) fail("target " + t.triple + " cannot emit this file type");
    pm.run(mod);
    bytes.assign(buf.begin(), buf.end());
  });
  return bytes;
}
}  // namespace

std::string assembly(const ir::Function& fn, const Target& t) { return emit_file(fn, t, llvm::CGFT_AssemblyFile); }

Inspection inspect(const ir::Function& fn, const Target& t) {
  Inspection out;
  with_module(fn, t, [&](llvm::Module& mod, llvm::TargetMachine& tm) { render(mod, tm, t, out); });
  return out;
}

std::string object_file(const ir::Function& fn, const Target& t) { return emit_file(fn, t, llvm::CGFT_ObjectFile); }

void raise_llvm_fatal_error_for_testing(const char* reason) {
  std::lock_guard<std::mutex> lock(jit_mutex);
  guarded([&] { llvm::report_fatal_error(reason); });
}

std::string llvm_version() { return LLVM_VERSION_STRING; }

}  // namespace rvj::codegen
