//===- MgpuAbi.cpp - mgpu* functions over the dlopen'ed driver --*- C++ -*-===//
//
// Every call makes the default device's primary context current (as MLIR's
// own CudaRuntimeWrappers do) and turns a failure into the sticky error of
// CudaAbi.h instead of a crash: generated host code has no way to react.
//
//===----------------------------------------------------------------------===//

#include "DeviceState.h"
#include "circ_runtime/CudaAbi.h"

#include <cstdio>
#include <limits>
#include <map>
#include <mutex>

using namespace circ::rt;
using circ::rt::cuda::ContextScope;
using circ::rt::cuda::Device;
using circ::rt::cuda::DeviceState;
using namespace circ::rt::cuda::driver;

namespace {

struct AbiState {
  std::mutex mutex;
  std::map<int, std::shared_ptr<DeviceState>> devices;
  std::string firstError;
  int64_t errors = 0;
};

AbiState &abi() {
  static AbiState *state = new AbiState(); // outlives static destructors
  return *state;
}

thread_local int defaultDevice = 0;

void fail(const std::string &message) {
  AbiState &s = abi();
  std::lock_guard<std::mutex> lock(s.mutex);
  if (s.errors++ == 0) {
    s.firstError = message;
    std::fprintf(stderr, "circ-cuda: error: %s\n", message.c_str());
  }
}

/// The default device, opened on first use; null (and a recorded failure)
/// without a driver or device.
std::shared_ptr<DeviceState> currentDevice() {
  AbiState &s = abi();
  {
    std::lock_guard<std::mutex> lock(s.mutex);
    auto it = s.devices.find(defaultDevice);
    if (it != s.devices.end())
      return it->second;
  }
  Expected<Device> device = Device::open(defaultDevice);
  if (!device) {
    fail(device.message());
    return nullptr;
  }
  std::lock_guard<std::mutex> lock(s.mutex);
  return s.devices.emplace(defaultDevice, device->state()).first->second;
}

/// Runs `body(device)` with the default device's context current. Returns
/// `fallback` if there is no device or the context cannot be made current.
template <typename T, typename Body> T onDevice(T fallback, Body body) {
  std::shared_ptr<DeviceState> device = currentDevice();
  if (!device)
    return fallback;
  ContextScope scope(*device);
  if (scope.status()) {
    fail(scope.status().message());
    return fallback;
  }
  return body(*device);
}

/// Records a failed driver call; true on success.
bool ok(const DeviceState &device, Result result, const char *call) {
  if (result == kSuccess)
    return true;
  fail(device.lib.describe(call, result));
  return false;
}

bool toDim(intptr_t value, const char *what, unsigned &out) {
  if (value <= 0 || uint64_t(value) > std::numeric_limits<unsigned>::max()) {
    fail(std::string("kernel launch with ") + what + " " +
         std::to_string(value) + " (must be in [1, 2^32))");
    return false;
  }
  out = unsigned(value);
  return true;
}

/// A memref descriptor {allocated, aligned, offset, sizes[], strides[]}.
struct MemRefView {
  char *allocated;
  char *aligned;
  int64_t offset;
  int64_t sizesAndStrides[1];
};

/// The host range a contiguous memref covers; false (and a failure) if its
/// strides are not row-major contiguous.
bool memRefRange(int64_t rank, void *descriptor, int64_t elementSize,
                 char *&begin, uint64_t &bytes) {
  auto *view = static_cast<MemRefView *>(descriptor);
  const int64_t *sizes = view->sizesAndStrides;
  const int64_t *strides = sizes + rank;
  int64_t expected = 1;
  for (int64_t i = rank - 1; i >= 0; --i) {
    if (sizes[i] != 1 && strides[i] != expected) {
      fail("cannot register a non-contiguous memref with the GPU (dimension " +
           std::to_string(i) + " has stride " + std::to_string(strides[i]) +
           ", expected " + std::to_string(expected) + ")");
      return false;
    }
    expected *= sizes[i];
  }
  begin = view->aligned + view->offset * elementSize;
  bytes = uint64_t(expected) * elementSize;
  return true;
}

void *loadModule(void *data, unsigned numOptions, JitOption *options,
                 void **values, const char *logBuffer) {
  return onDevice<void *>(nullptr, [&](DeviceState &d) -> void * {
    Module module = nullptr;
    Result r =
        d.api().cuModuleLoadDataEx(&module, data, numOptions, options, values);
    if (r == kSuccess)
      return module;
    std::string message = d.lib.describe("cuModuleLoadDataEx", r);
    if (logBuffer && logBuffer[0])
      message += "; driver JIT log:\n" + std::string(logBuffer);
    fail(message);
    return nullptr;
  });
}

} // namespace

extern "C" {

void *mgpuModuleLoad(void *data, size_t) {
  return loadModule(data, 0, nullptr, nullptr, nullptr);
}

void *mgpuModuleLoadJIT(void *ptx, int optLevel) {
  char errorLog[8192] = {0};
  JitOption options[] = {kJitErrorLogBuffer, kJitErrorLogBufferSizeBytes,
                         kJitOptimizationLevel};
  void *values[] = {errorLog, reinterpret_cast<void *>(sizeof(errorLog) - 1),
                    reinterpret_cast<void *>(intptr_t(optLevel))};
  return loadModule(ptx, 3, options, values, errorLog);
}

void mgpuModuleUnload(void *module) {
  if (!module)
    return;
  onDevice(false, [&](DeviceState &d) {
    return ok(d, d.api().cuModuleUnload(static_cast<Module>(module)),
              "cuModuleUnload");
  });
}

void *mgpuModuleGetFunction(void *module, const char *name) {
  if (!module)
    return nullptr;
  return onDevice<void *>(nullptr, [&](DeviceState &d) -> void * {
    Function fn = nullptr;
    Result r =
        d.api().cuModuleGetFunction(&fn, static_cast<Module>(module), name);
    if (r == kErrorNotFound) {
      fail(std::string("the GPU module has no kernel named '") + name + "'");
      return nullptr;
    }
    return ok(d, r, "cuModuleGetFunction") ? fn : nullptr;
  });
}

void mgpuLaunchKernel(void *function, intptr_t gridX, intptr_t gridY,
                      intptr_t gridZ, intptr_t blockX, intptr_t blockY,
                      intptr_t blockZ, int32_t sharedBytes, void *stream,
                      void **params, void **extra, size_t) {
  if (!function)
    return;
  unsigned g[3], b[3];
  if (!toDim(gridX, "grid x", g[0]) || !toDim(gridY, "grid y", g[1]) ||
      !toDim(gridZ, "grid z", g[2]) || !toDim(blockX, "block x", b[0]) ||
      !toDim(blockY, "block y", b[1]) || !toDim(blockZ, "block z", b[2]))
    return;
  onDevice(false, [&](DeviceState &d) {
    auto fn = static_cast<Function>(function);
    if (sharedBytes > 48 * 1024 &&
        !ok(d,
            d.api().cuFuncSetAttribute(fn, kFuncAttrMaxDynamicSharedSizeBytes,
                                       sharedBytes),
            "cuFuncSetAttribute"))
      return false;
    return ok(d,
              d.api().cuLaunchKernel(
                  fn, g[0], g[1], g[2], b[0], b[1], b[2], unsigned(sharedBytes),
                  static_cast<Stream>(stream), params, extra),
              "cuLaunchKernel");
  });
}

void mgpuLaunchClusterKernel(void *function, intptr_t clusterX,
                             intptr_t clusterY, intptr_t clusterZ,
                             intptr_t gridX, intptr_t gridY, intptr_t gridZ,
                             intptr_t blockX, intptr_t blockY, intptr_t blockZ,
                             int32_t sharedBytes, void *stream, void **params,
                             void **extra) {
  if (!function)
    return;
  unsigned c[3], g[3], b[3];
  if (!toDim(clusterX, "cluster x", c[0]) ||
      !toDim(clusterY, "cluster y", c[1]) ||
      !toDim(clusterZ, "cluster z", c[2]) || !toDim(gridX, "grid x", g[0]) ||
      !toDim(gridY, "grid y", g[1]) || !toDim(gridZ, "grid z", g[2]) ||
      !toDim(blockX, "block x", b[0]) || !toDim(blockY, "block y", b[1]) ||
      !toDim(blockZ, "block z", b[2]))
    return;
  onDevice(false, [&](DeviceState &d) {
    if (!d.api().cuLaunchKernelEx) {
      fail("thread-block clusters need cuLaunchKernelEx (a CUDA 12 driver)");
      return false;
    }
    auto fn = static_cast<Function>(function);
    if (sharedBytes > 48 * 1024 &&
        !ok(d,
            d.api().cuFuncSetAttribute(fn, kFuncAttrMaxDynamicSharedSizeBytes,
                                       sharedBytes),
            "cuFuncSetAttribute"))
      return false;
    if (!ok(d,
            d.api().cuFuncSetAttribute(
                fn, kFuncAttrNonPortableClusterSizeAllowed, 1),
            "cuFuncSetAttribute"))
      return false;
    LaunchAttribute attr = {};
    attr.id = kLaunchAttrClusterDimension;
    attr.value.clusterDim = {c[0], c[1], c[2]};
    LaunchConfig config = {g[0],
                           g[1],
                           g[2],
                           b[0],
                           b[1],
                           b[2],
                           unsigned(sharedBytes),
                           static_cast<Stream>(stream),
                           &attr,
                           1};
    return ok(d, d.api().cuLaunchKernelEx(&config, fn, params, extra),
              "cuLaunchKernelEx");
  });
}

void *mgpuStreamCreate() {
  return onDevice<void *>(nullptr, [&](DeviceState &d) -> void * {
    Stream stream = nullptr;
    return ok(d, d.api().cuStreamCreate(&stream, kStreamNonBlocking),
              "cuStreamCreate")
               ? stream
               : nullptr;
  });
}

void mgpuStreamDestroy(void *stream) {
  if (!stream)
    return;
  onDevice(false, [&](DeviceState &d) {
    return ok(d, d.api().cuStreamDestroy(static_cast<Stream>(stream)),
              "cuStreamDestroy");
  });
}

void mgpuStreamSynchronize(void *stream) {
  onDevice(false, [&](DeviceState &d) {
    return ok(d, d.api().cuStreamSynchronize(static_cast<Stream>(stream)),
              "cuStreamSynchronize");
  });
}

void mgpuStreamWaitEvent(void *stream, void *event) {
  if (!event)
    return;
  onDevice(false, [&](DeviceState &d) {
    return ok(d,
              d.api().cuStreamWaitEvent(static_cast<Stream>(stream),
                                        static_cast<Event>(event), 0),
              "cuStreamWaitEvent");
  });
}

void *mgpuEventCreate() {
  return onDevice<void *>(nullptr, [&](DeviceState &d) -> void * {
    Event event = nullptr;
    return ok(d, d.api().cuEventCreate(&event, kEventDisableTiming),
              "cuEventCreate")
               ? event
               : nullptr;
  });
}

void mgpuEventDestroy(void *event) {
  if (!event)
    return;
  onDevice(false, [&](DeviceState &d) {
    return ok(d, d.api().cuEventDestroy(static_cast<Event>(event)),
              "cuEventDestroy");
  });
}

void mgpuEventSynchronize(void *event) {
  if (!event)
    return;
  onDevice(false, [&](DeviceState &d) {
    return ok(d, d.api().cuEventSynchronize(static_cast<Event>(event)),
              "cuEventSynchronize");
  });
}

void mgpuEventRecord(void *event, void *stream) {
  if (!event)
    return;
  onDevice(false, [&](DeviceState &d) {
    return ok(d,
              d.api().cuEventRecord(static_cast<Event>(event),
                                    static_cast<Stream>(stream)),
              "cuEventRecord");
  });
}

void *mgpuMemAlloc(uint64_t sizeBytes, void *, bool isHostShared) {
  if (sizeBytes == 0)
    return nullptr;
  return onDevice<void *>(nullptr, [&](DeviceState &d) -> void * {
    DevicePtr ptr = 0;
    Result r = isHostShared ? d.api().cuMemAllocManaged(&ptr, sizeBytes,
                                                        kMemAttachGlobal)
                            : d.api().cuMemAlloc(&ptr, sizeBytes);
    if (r != kSuccess) {
      fail(
          d.lib.describe(isHostShared ? "cuMemAllocManaged" : "cuMemAlloc", r) +
          " allocating " + std::to_string(sizeBytes) + " bytes");
      return nullptr;
    }
    return reinterpret_cast<void *>(ptr);
  });
}

void mgpuMemFree(void *ptr, void *) {
  if (!ptr)
    return;
  onDevice(false, [&](DeviceState &d) {
    return ok(d, d.api().cuMemFree(reinterpret_cast<DevicePtr>(ptr)),
              "cuMemFree");
  });
}

void mgpuMemcpy(void *dst, void *src, size_t sizeBytes, void *stream) {
  if (sizeBytes == 0)
    return;
  onDevice(false, [&](DeviceState &d) {
    return ok(d,
              d.api().cuMemcpyAsync(reinterpret_cast<DevicePtr>(dst),
                                    reinterpret_cast<DevicePtr>(src), sizeBytes,
                                    static_cast<Stream>(stream)),
              "cuMemcpyAsync");
  });
}

void mgpuMemset32(void *dst, unsigned value, size_t count, void *stream) {
  if (count == 0)
    return;
  onDevice(false, [&](DeviceState &d) {
    return ok(d,
              d.api().cuMemsetD32Async(reinterpret_cast<DevicePtr>(dst), value,
                                       count, static_cast<Stream>(stream)),
              "cuMemsetD32Async");
  });
}

void mgpuMemset16(void *dst, unsigned short value, size_t count, void *stream) {
  if (count == 0)
    return;
  onDevice(false, [&](DeviceState &d) {
    return ok(d,
              d.api().cuMemsetD16Async(reinterpret_cast<DevicePtr>(dst), value,
                                       count, static_cast<Stream>(stream)),
              "cuMemsetD16Async");
  });
}

void mgpuMemHostRegister(void *ptr, uint64_t sizeBytes) {
  if (!ptr || sizeBytes == 0)
    return;
  onDevice(false, [&](DeviceState &d) {
    return ok(d, d.api().cuMemHostRegister(ptr, sizeBytes, 0),
              "cuMemHostRegister");
  });
}

void mgpuMemHostUnregister(void *ptr) {
  if (!ptr)
    return;
  onDevice(false, [&](DeviceState &d) {
    return ok(d, d.api().cuMemHostUnregister(ptr), "cuMemHostUnregister");
  });
}

void mgpuMemHostRegisterMemRef(int64_t rank, void *descriptor,
                               int64_t elementSizeBytes) {
  char *begin = nullptr;
  uint64_t bytes = 0;
  if (memRefRange(rank, descriptor, elementSizeBytes, begin, bytes))
    mgpuMemHostRegister(begin, bytes);
}

void mgpuMemHostUnregisterMemRef(int64_t rank, void *descriptor,
                                 int64_t elementSizeBytes) {
  char *begin = nullptr;
  uint64_t bytes = 0;
  if (memRefRange(rank, descriptor, elementSizeBytes, begin, bytes))
    mgpuMemHostUnregister(begin);
}

void mgpuSetDefaultDevice(int32_t device) { defaultDevice = device; }

const char *circCudaGetError() {
  AbiState &s = abi();
  std::lock_guard<std::mutex> lock(s.mutex);
  return s.errors ? s.firstError.c_str() : nullptr;
}

int64_t circCudaErrorCount() {
  AbiState &s = abi();
  std::lock_guard<std::mutex> lock(s.mutex);
  return s.errors;
}

void circCudaResetError() {
  AbiState &s = abi();
  std::lock_guard<std::mutex> lock(s.mutex);
  s.errors = 0;
  s.firstError.clear();
}

} // extern "C"
