//===- DriverApi.h - the CUDA driver API, resolved at run time --*- C++ -*-===//
//
// Private to the CUDA runtime. The driver library (libcuda.so.1) is opened
// with dlopen on first use and never linked, so every Circ binary starts on a
// machine without a GPU. The few driver types, constants and entry points the
// runtime uses are declared here rather than taken from cuda.h, so the runtime
// builds without the toolkit; DriverApiCheck.cpp static_asserts them against
// cuda.h wherever the toolkit is present.
//
//===----------------------------------------------------------------------===//
#ifndef CIRC_RUNTIME_CUDA_DRIVERAPI_H
#define CIRC_RUNTIME_CUDA_DRIVERAPI_H

#include "circ_runtime/Error.h"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <type_traits>

namespace circ::rt::cuda::driver {

// Opaque handles and scalar types, ABI-identical to cuda.h's.
using Result = int; // CUresult
using DeviceOrdinal = int;
using DevicePtr = unsigned long long; // CUdeviceptr on LP64
using Context = struct CUctx_st *;
using Module = struct CUmod_st *;
using Function = struct CUfunc_st *;
using Stream = struct CUstream_st *;
using Event = struct CUevent_st *;
using JitOption = int; // CUjit_option

// The constants the runtime uses (values from cuda.h).
enum : int {
  kSuccess = 0,
  kErrorInvalidValue = 1,
  kErrorOutOfMemory = 2,
  kErrorNotInitialized = 3,
  kErrorStubLibrary = 34,
  kErrorNoDevice = 100,
  kErrorInvalidImage = 200,
  kErrorNoBinaryForGpu = 209,
  kErrorInvalidPtx = 218,
  kErrorNotFound = 500,
  kErrorLaunchFailed = 719,

  kStreamNonBlocking = 0x1,
  kEventDisableTiming = 0x2,
  kMemAttachGlobal = 0x1,

  kJitInfoLogBuffer = 3,
  kJitInfoLogBufferSizeBytes = 4,
  kJitErrorLogBuffer = 5,
  kJitErrorLogBufferSizeBytes = 6,
  kJitOptimizationLevel = 7,

  kFuncAttrMaxThreadsPerBlock = 0,
  kFuncAttrSharedSizeBytes = 1,
  kFuncAttrLocalSizeBytes = 3,
  kFuncAttrNumRegs = 4,
  kFuncAttrMaxDynamicSharedSizeBytes = 8,
  kFuncAttrNonPortableClusterSizeAllowed = 14,

  kDevAttrMaxThreadsPerBlock = 1,
  kDevAttrMultiprocessorCount = 16,
  kDevAttrComputeCapabilityMajor = 75,
  kDevAttrComputeCapabilityMinor = 76,
  kDevAttrMaxSharedMemoryPerBlockOptin = 97,

  kLaunchAttrClusterDimension = 4,
};

/// CUlaunchAttribute: an id, padding to 8 bytes, a 64-byte value union. Only
/// the cluster-dimension member of the union is used.
struct LaunchAttribute {
  int id;
  char pad[8 - sizeof(int)];
  union {
    char raw[64];
    struct {
      unsigned x, y, z;
    } clusterDim;
  } value;
};

/// CUlaunchConfig (cuLaunchKernelEx, CUDA 12.0 and later).
struct LaunchConfig {
  unsigned gridDimX, gridDimY, gridDimZ;
  unsigned blockDimX, blockDimY, blockDimZ;
  unsigned sharedMemBytes;
  Stream hStream;
  LaunchAttribute *attrs;
  unsigned numAttrs;
};

// X(member, exported symbol, required, signature). The symbol is the versioned
// name cuda.h's macros map the member to (cuMemAlloc -> cuMemAlloc_v2).
#define CIRC_CUDA_DRIVER_FUNCTIONS(X)                                          \
  X(cuInit, "cuInit", true, Result(unsigned))                                  \
  X(cuDriverGetVersion, "cuDriverGetVersion", true, Result(int *))             \
  X(cuGetErrorName, "cuGetErrorName", true, Result(Result, const char **))     \
  X(cuGetErrorString, "cuGetErrorString", true, Result(Result, const char **)) \
  X(cuDeviceGetCount, "cuDeviceGetCount", true, Result(int *))                 \
  X(cuDeviceGet, "cuDeviceGet", true, Result(DeviceOrdinal *, int))            \
  X(cuDeviceGetName, "cuDeviceGetName", true,                                  \
    Result(char *, int, DeviceOrdinal))                                        \
  X(cuDeviceGetAttribute, "cuDeviceGetAttribute", true,                        \
    Result(int *, int, DeviceOrdinal))                                         \
  X(cuDeviceTotalMem, "cuDeviceTotalMem_v2", true,                             \
    Result(size_t *, DeviceOrdinal))                                           \
  X(cuDevicePrimaryCtxRetain, "cuDevicePrimaryCtxRetain", true,                \
    Result(Context *, DeviceOrdinal))                                          \
  X(cuDevicePrimaryCtxRelease, "cuDevicePrimaryCtxRelease_v2", true,           \
    Result(DeviceOrdinal))                                                     \
  X(cuCtxPushCurrent, "cuCtxPushCurrent_v2", true, Result(Context))            \
  X(cuCtxPopCurrent, "cuCtxPopCurrent_v2", true, Result(Context *))            \
  X(cuCtxSynchronize, "cuCtxSynchronize", true, Result())                      \
  X(cuModuleLoadDataEx, "cuModuleLoadDataEx", true,                            \
    Result(Module *, const void *, unsigned, JitOption *, void **))            \
  X(cuModuleUnload, "cuModuleUnload", true, Result(Module))                    \
  X(cuModuleGetFunction, "cuModuleGetFunction", true,                          \
    Result(Function *, Module, const char *))                                  \
  X(cuFuncGetAttribute, "cuFuncGetAttribute", true,                            \
    Result(int *, int, Function))                                              \
  X(cuFuncSetAttribute, "cuFuncSetAttribute", true,                            \
    Result(Function, int, int))                                                \
  X(cuLaunchKernel, "cuLaunchKernel", true,                                    \
    Result(Function, unsigned, unsigned, unsigned, unsigned, unsigned,         \
           unsigned, unsigned, Stream, void **, void **))                      \
  X(cuLaunchKernelEx, "cuLaunchKernelEx", false,                               \
    Result(const LaunchConfig *, Function, void **, void **))                  \
  X(cuMemGetInfo, "cuMemGetInfo_v2", true, Result(size_t *, size_t *))         \
  X(cuMemAlloc, "cuMemAlloc_v2", true, Result(DevicePtr *, size_t))            \
  X(cuMemAllocManaged, "cuMemAllocManaged", true,                              \
    Result(DevicePtr *, size_t, unsigned))                                     \
  X(cuMemFree, "cuMemFree_v2", true, Result(DevicePtr))                        \
  X(cuMemcpy, "cuMemcpy", true, Result(DevicePtr, DevicePtr, size_t))          \
  X(cuMemcpyAsync, "cuMemcpyAsync", true,                                      \
    Result(DevicePtr, DevicePtr, size_t, Stream))                              \
  X(cuMemsetD32Async, "cuMemsetD32Async", true,                                \
    Result(DevicePtr, unsigned, size_t, Stream))                               \
  X(cuMemsetD16Async, "cuMemsetD16Async", true,                                \
    Result(DevicePtr, unsigned short, size_t, Stream))                         \
  X(cuMemHostRegister, "cuMemHostRegister_v2", true,                           \
    Result(void *, size_t, unsigned))                                          \
  X(cuMemHostUnregister, "cuMemHostUnregister", true, Result(void *))          \
  X(cuStreamCreate, "cuStreamCreate", true, Result(Stream *, unsigned))        \
  X(cuStreamDestroy, "cuStreamDestroy_v2", true, Result(Stream))               \
  X(cuStreamSynchronize, "cuStreamSynchronize", true, Result(Stream))          \
  X(cuStreamWaitEvent, "cuStreamWaitEvent", true,                              \
    Result(Stream, Event, unsigned))                                           \
  X(cuEventCreate, "cuEventCreate", true, Result(Event *, unsigned))           \
  X(cuEventDestroy, "cuEventDestroy_v2", true, Result(Event))                  \
  X(cuEventRecord, "cuEventRecord", true, Result(Event, Stream))               \
  X(cuEventSynchronize, "cuEventSynchronize", true, Result(Event))

/// The resolved entry points of one loaded driver library.
struct Api {
#define CIRC_CUDA_DECLARE_MEMBER(name, symbol, required, signature)            \
  std::add_pointer_t<signature> name = nullptr;
  CIRC_CUDA_DRIVER_FUNCTIONS(CIRC_CUDA_DECLARE_MEMBER)
#undef CIRC_CUDA_DECLARE_MEMBER
};

/// A driver library opened with dlopen and initialised with cuInit.
class Library {
public:
  /// Opens `path` (a file name searched like dlopen does, or a path), resolves
  /// the entry points and calls cuInit(0). Fails with "no CUDA driver (...)"
  /// when the library is missing or is the toolkit's stub, and with
  /// "no CUDA device (...)" when the driver finds no device.
  static Expected<std::unique_ptr<Library>> open(const std::string &path);
  ~Library();
  Library(const Library &) = delete;
  Library &operator=(const Library &) = delete;

  const Api &api() const { return entryPoints; }
  const std::string &path() const { return libraryPath; }
  int driverVersion() const { return version; }
  int deviceCount() const { return devices; }

  /// "cuMemAlloc: CUDA_ERROR_OUT_OF_MEMORY (out of memory)"; success is "".
  std::string describe(const char *call, Result result) const;
  /// Success, or an Error carrying describe(call, result) after `context`.
  Error check(Result result, const char *call,
              const std::string &context = "") const;

private:
  Library() = default;
  void *handle = nullptr;
  bool initialised = false; ///< cuInit was called: never dlclose
  std::string libraryPath;
  Api entryPoints;
  int version = 0;
  int devices = 0;
};

/// The driver-independent name of a result code ("CUDA_ERROR_NO_DEVICE"), used
/// when the driver cannot name it itself; "CUDA error <n>" if unknown.
std::string resultName(Result result);

} // namespace circ::rt::cuda::driver

#endif // CIRC_RUNTIME_CUDA_DRIVERAPI_H
