//===- JIT.cpp - run circ models on the CPU ---------------------*- C++ -*-===//
//
// JIT compilation through MLIR's ExecutionEngine, object-file emission for
// ahead-of-time use, and calls with plain buffers turned into memref
// descriptors.
//
//===----------------------------------------------------------------------===//

#include "circ/Target/JIT.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/ExecutionEngine/ExecutionEngine.h"
#include "mlir/ExecutionEngine/OptUtils.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Target/LLVMIR/Dialect/Builtin/BuiltinToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/LLVMIR/LLVMToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/OpenMP/OpenMPToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Export.h"

#include "llvm/ExecutionEngine/Orc/JITTargetMachineBuilder.h"
#include "llvm/IR/LegacyPassManager.h"
#include "llvm/IR/Module.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/Support/raw_ostream.h"
#include "llvm/Target/TargetMachine.h"

#include <mutex>

// libomp's thread-count controls; linking them also makes the OpenMP runtime
// a dependency of this library, so JIT-compiled kernels resolve
// `__kmpc_fork_call` and friends in the current process.
extern "C" void omp_set_num_threads(int);
extern "C" int omp_get_max_threads(void);

using namespace mlir;
using namespace mlir::circ;

//===----------------------------------------------------------------------===//
// Setup
//===----------------------------------------------------------------------===//

static void initializeNativeTarget() {
  static std::once_flag once;
  std::call_once(once, [] {
    llvm::InitializeNativeTarget();
    llvm::InitializeNativeTargetAsmPrinter();
  });
}

static void registerTranslations(MLIRContext &context) {
  DialectRegistry registry;
  registerBuiltinDialectTranslation(registry);
  registerLLVMDialectTranslation(registry);
  registerOpenMPDialectTranslation(registry);
  context.appendDialectRegistry(registry);
}

/// A target machine for the host CPU (all its vector extensions).
static llvm::Expected<std::unique_ptr<llvm::TargetMachine>>
hostTargetMachine(unsigned optLevel) {
  initializeNativeTarget();
  auto builder = llvm::orc::JITTargetMachineBuilder::detectHost();
  if (!builder)
    return builder.takeError();
  builder->setCodeGenOptLevel(optLevel >= 3   ? llvm::CodeGenOptLevel::Aggressive
                              : optLevel == 0 ? llvm::CodeGenOptLevel::None
                                              : llvm::CodeGenOptLevel::Default);
  builder->setRelocationModel(llvm::Reloc::PIC_);
  return builder->createTargetMachine();
}


//===----------------------------------------------------------------------===//
// Lowering and translation
//===----------------------------------------------------------------------===//

static LogicalResult runPipeline(
    ModuleOp module, const CPUPipelineOptions &options,
    void (*build)(OpPassManager &, const CPUPipelineOptions &)) {
  PassManager pm(module.getContext());
  build(pm, options);
  return pm.run(module);
}

LogicalResult mlir::circ::lowerToLLVMDialect(ModuleOp module,
                                             const CPUPipelineOptions &options) {
  return runPipeline(module, options, buildCPUPipeline);
}

std::vector<EntryPoint> mlir::circ::describeEntryPoints(ModuleOp module) {
  std::vector<EntryPoint> entries;
  for (auto func : module.getOps<func::FuncOp>()) {
    if (!func.isPublic() || func.isExternal())
      continue;
    EntryPoint entry;
    entry.name = func.getName().str();
    for (auto [i, type] : llvm::enumerate(func.getArgumentTypes())) {
      BufferInfo info;
      auto memref = cast<MemRefType>(type);
      info.element = memref.getElementType().isF32() ? ElementKind::f32
                                                     : ElementKind::i32;
      info.shape.assign(memref.getShape().begin(), memref.getShape().end());
      if (auto s = func.getArgAttrOfType<StringAttr>(i, "circ.param"))
        info.param = s.str();
      if (auto s = func.getArgAttrOfType<StringAttr>(i, "circ.buffer"))
        info.buffer = s.str();
      if (auto r = func.getArgAttrOfType<IntegerAttr>(i, "circ.result"))
        info.result = r.getInt();
      entry.buffers.push_back(std::move(info));
    }
    entries.push_back(std::move(entry));
  }
  return entries;
}

std::unique_ptr<llvm::Module>
mlir::circ::translateToLLVMIR(ModuleOp module, llvm::LLVMContext &context,
                              unsigned optLevel, std::string &error) {
  registerTranslations(*module.getContext());
  auto tm = hostTargetMachine(optLevel);
  if (!tm) {
    error = llvm::toString(tm.takeError());
    return nullptr;
  }
  std::unique_ptr<llvm::Module> llvmModule =
      translateModuleToLLVMIR(module, context);
  if (!llvmModule) {
    error = "translation to LLVM IR failed";
    return nullptr;
  }
  ExecutionEngine::setupTargetTripleAndDataLayout(llvmModule.get(),
                                                  tm->get());
  auto transformer = makeOptimizingTransformer(optLevel, 0, tm->get());
  if (llvm::Error err = transformer(llvmModule.get())) {
    error = llvm::toString(std::move(err));
    return nullptr;
  }
  return llvmModule;
}

LogicalResult mlir::circ::emitObjectFile(ModuleOp module, StringRef path,
                                         unsigned optLevel,
                                         std::string &error) {
  llvm::LLVMContext context;
  std::unique_ptr<llvm::Module> llvmModule =
      translateToLLVMIR(module, context, optLevel, error);
  if (!llvmModule)
    return failure();
  auto tm = hostTargetMachine(optLevel);
  if (!tm) {
    error = llvm::toString(tm.takeError());
    return failure();
  }
  std::error_code ec;
  llvm::raw_fd_ostream out(path, ec, llvm::sys::fs::OF_None);
  if (ec) {
    error = "cannot open '" + path.str() + "': " + ec.message();
    return failure();
  }
  llvm::legacy::PassManager pm;
  if ((*tm)->addPassesToEmitFile(pm, out, nullptr,
                                 llvm::CodeGenFileType::ObjectFile)) {
    error = "the host target cannot emit object files";
    return failure();
  }
  pm.run(*llvmModule);
  out.flush();
  return success();
}

//===----------------------------------------------------------------------===//
// JITModule
//===----------------------------------------------------------------------===//

JITModule::~JITModule() = default;

FailureOr<std::unique_ptr<JITModule>>
JITModule::compile(ModuleOp module, const CPUPipelineOptions &pipeline,
                   const JITOptions &options) {
  std::unique_ptr<JITModule> jit(new JITModule());
  if (failed(runPipeline(module, pipeline, buildCPULoopsPipeline)))
    return failure();
  jit->entries = describeEntryPoints(module);
  if (failed(runPipeline(module, pipeline, buildCPULLVMPipeline)))
    return failure();

  registerTranslations(*module.getContext());
  auto tm = hostTargetMachine(options.optLevel);
  if (!tm)
    return module.emitError() << "JIT: " << llvm::toString(tm.takeError());
  auto transformer = makeOptimizingTransformer(options.optLevel, 0, tm->get());
  ExecutionEngineOptions engineOptions;
  engineOptions.transformer = transformer;
  engineOptions.jitCodeGenOptLevel = (*tm)->getOptLevel();
  auto engine =
      ExecutionEngine::create(module, engineOptions, std::move(*tm));
  if (!engine)
    return module.emitError() << "JIT: " << llvm::toString(engine.takeError());
  jit->engine = std::move(*engine);
  return jit;
}

const EntryPoint *JITModule::entryPoint(StringRef name) const {
  for (const EntryPoint &e : entries)
    if (e.name == name)
      return &e;
  return nullptr;
}

LogicalResult JITModule::call(StringRef name, ArrayRef<BufferArg> args,
                              std::string &error) {
  const EntryPoint *entry = entryPoint(name);
  if (!entry) {
    error = "no function '" + name.str() + "' in the compiled module";
    return failure();
  }
  if (args.size() != entry->buffers.size()) {
    error = name.str() + " takes " + std::to_string(entry->buffers.size()) +
            " buffers, got " + std::to_string(args.size());
    return failure();
  }
  // One descriptor {allocated, aligned, offset, sizes..., strides...} per
  // buffer, stored as int64 words.
  std::vector<std::vector<int64_t>> descriptors(args.size());
  std::vector<void *> descriptorPtrs(args.size());
  std::vector<void *> packed(args.size());
  for (auto [i, arg] : llvm::enumerate(args)) {
    const BufferInfo &info = entry->buffers[i];
    auto where = [&] {
      std::string s = "buffer #" + std::to_string(i);
      if (!info.param.empty())
        s += " (" + info.param +
             (info.buffer.empty() ? "" : "." + info.buffer) + ")";
      return s;
    };
    size_t rank = info.shape.size();
    if (arg.shape.size() != rank) {
      error = where() + " has rank " + std::to_string(rank) + ", got " +
              std::to_string(arg.shape.size());
      return failure();
    }
    for (size_t d = 0; d < rank; ++d)
      if (!ShapedType::isDynamic(info.shape[d]) &&
          info.shape[d] != arg.shape[d]) {
        error = where() + " has size " + std::to_string(info.shape[d]) +
                " along axis " + std::to_string(d) + ", got " +
                std::to_string(arg.shape[d]);
        return failure();
      }
    if (!arg.strides.empty() && arg.strides.size() != rank) {
      error = where() + ": strides do not match the rank";
      return failure();
    }
    std::vector<int64_t> &desc = descriptors[i];
    desc.resize(3 + 2 * rank);
    auto ptr = reinterpret_cast<int64_t>(arg.data);
    desc[0] = desc[1] = ptr;
    desc[2] = 0;
    int64_t stride = 1;
    for (size_t d = rank; d-- > 0;) {
      desc[3 + d] = arg.shape[d];
      desc[3 + rank + d] = arg.strides.empty() ? stride : arg.strides[d];
      stride *= arg.shape[d];
    }
    descriptorPtrs[i] = desc.data();
    packed[i] = &descriptorPtrs[i];
  }
  if (llvm::Error err =
          engine->invokePacked("_mlir_ciface_" + name.str(), packed)) {
    error = llvm::toString(std::move(err));
    return failure();
  }
  return success();
}

//===----------------------------------------------------------------------===//
// Threads
//===----------------------------------------------------------------------===//

void mlir::circ::setNumThreads(int threads) { omp_set_num_threads(threads); }
int mlir::circ::getNumThreads() { return omp_get_max_threads(); }
