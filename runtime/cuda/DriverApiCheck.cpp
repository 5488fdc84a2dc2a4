//===- DriverApiCheck.cpp - DriverApi.h against the real cuda.h -*- C++ -*-===//
//
// Compiled only where the CUDA toolkit's cuda.h exists at configure time. It
// holds no code: it fails the build if a type, constant, struct layout or
// entry-point signature that DriverApi.h declares by hand differs from the
// toolkit's, and checks each symbol name is the one cuda.h's versioning
// macros select.
//
//===----------------------------------------------------------------------===//

#include <cuda.h>

#include "DriverApi.h"

#include <cstddef>
#include <cstring>

namespace circ::rt::cuda::driver {
namespace {

/// Two parameter types are ABI-interchangeable: same size, both pointers or
/// both integers/enums.
template <typename A, typename B> constexpr bool sameAbiType() {
  return sizeof(A) == sizeof(B) &&
         std::is_pointer_v<A> == std::is_pointer_v<B> &&
         (std::is_integral_v<A> || std::is_enum_v<A>) ==
             (std::is_integral_v<B> || std::is_enum_v<B>);
}

template <typename R1, typename... A1, typename R2, typename... A2>
constexpr bool sameSignature(R1 (*)(A1...), R2 (*)(A2...)) {
  if constexpr (sizeof...(A1) != sizeof...(A2))
    return false;
  else
    return sameAbiType<R1, R2>() && (sameAbiType<A1, A2>() && ...);
}

constexpr bool sameName(const char *a, const char *b) {
  while (*a && *a == *b)
    ++a, ++b;
  return *a == *b;
}

// `name` below is macro-expanded by cuda.h to the symbol it really calls.
#define CIRC_STRINGIFY_(x) #x
#define CIRC_STRINGIFY(x) CIRC_STRINGIFY_(x)
#define CIRC_CUDA_CHECK_ENTRY(name, symbol, required, signature)               \
  static_assert(sameSignature(std::add_pointer_t<signature>{}, &::name),       \
                "DriverApi.h signature of " #name " differs from cuda.h");     \
  static_assert(sameName(symbol, CIRC_STRINGIFY(name)),                        \
                "DriverApi.h resolves " #name " as " symbol                    \
                ", cuda.h calls another version");
CIRC_CUDA_DRIVER_FUNCTIONS(CIRC_CUDA_CHECK_ENTRY)
#undef CIRC_CUDA_CHECK_ENTRY

static_assert(sizeof(DevicePtr) == sizeof(CUdeviceptr));
static_assert(sizeof(DeviceOrdinal) == sizeof(CUdevice));
static_assert(sizeof(Result) == sizeof(CUresult));
static_assert(sizeof(JitOption) == sizeof(CUjit_option));

static_assert(kSuccess == CUDA_SUCCESS);
static_assert(kErrorInvalidValue == CUDA_ERROR_INVALID_VALUE);
static_assert(kErrorOutOfMemory == CUDA_ERROR_OUT_OF_MEMORY);
static_assert(kErrorNotInitialized == CUDA_ERROR_NOT_INITIALIZED);
static_assert(kErrorStubLibrary == CUDA_ERROR_STUB_LIBRARY);
static_assert(kErrorNoDevice == CUDA_ERROR_NO_DEVICE);
static_assert(kErrorInvalidImage == CUDA_ERROR_INVALID_IMAGE);
static_assert(kErrorNoBinaryForGpu == CUDA_ERROR_NO_BINARY_FOR_GPU);
static_assert(kErrorInvalidPtx == CUDA_ERROR_INVALID_PTX);
static_assert(kErrorNotFound == CUDA_ERROR_NOT_FOUND);
static_assert(kErrorLaunchFailed == CUDA_ERROR_LAUNCH_FAILED);
static_assert(kStreamNonBlocking == CU_STREAM_NON_BLOCKING);
static_assert(kEventDisableTiming == CU_EVENT_DISABLE_TIMING);
static_assert(kMemAttachGlobal == CU_MEM_ATTACH_GLOBAL);
static_assert(kJitInfoLogBuffer == CU_JIT_INFO_LOG_BUFFER);
static_assert(kJitInfoLogBufferSizeBytes == CU_JIT_INFO_LOG_BUFFER_SIZE_BYTES);
static_assert(kJitErrorLogBuffer == CU_JIT_ERROR_LOG_BUFFER);
static_assert(kJitErrorLogBufferSizeBytes ==
              CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES);
static_assert(kJitOptimizationLevel == CU_JIT_OPTIMIZATION_LEVEL);
static_assert(kFuncAttrMaxThreadsPerBlock ==
              CU_FUNC_ATTRIBUTE_MAX_THREADS_PER_BLOCK);
static_assert(kFuncAttrSharedSizeBytes == CU_FUNC_ATTRIBUTE_SHARED_SIZE_BYTES);
static_assert(kFuncAttrLocalSizeBytes == CU_FUNC_ATTRIBUTE_LOCAL_SIZE_BYTES);
static_assert(kFuncAttrNumRegs == CU_FUNC_ATTRIBUTE_NUM_REGS);
static_assert(kFuncAttrMaxDynamicSharedSizeBytes ==
              CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES);
static_assert(kFuncAttrNonPortableClusterSizeAllowed ==
              CU_FUNC_ATTRIBUTE_NON_PORTABLE_CLUSTER_SIZE_ALLOWED);
static_assert(kDevAttrMaxThreadsPerBlock ==
              CU_DEVICE_ATTRIBUTE_MAX_THREADS_PER_BLOCK);
static_assert(kDevAttrMultiprocessorCount ==
              CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT);
static_assert(kDevAttrComputeCapabilityMajor ==
              CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR);
static_assert(kDevAttrComputeCapabilityMinor ==
              CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR);
static_assert(kDevAttrMaxSharedMemoryPerBlockOptin ==
              CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN);
static_assert(kLaunchAttrClusterDimension ==
              CU_LAUNCH_ATTRIBUTE_CLUSTER_DIMENSION);

// Struct layouts handed to cuLaunchKernelEx.
#define CIRC_SAME_FIELD(ours, theirs, field)                                   \
  static_assert(offsetof(ours, field) == offsetof(theirs, field) &&            \
                sizeof(ours::field) == sizeof(theirs::field))
static_assert(sizeof(LaunchAttribute) == sizeof(CUlaunchAttribute));
CIRC_SAME_FIELD(LaunchAttribute, CUlaunchAttribute, id);
CIRC_SAME_FIELD(LaunchAttribute, CUlaunchAttribute, value);
static_assert(offsetof(LaunchAttribute, value.clusterDim.x) ==
              offsetof(CUlaunchAttribute, value.clusterDim.x));
static_assert(offsetof(LaunchAttribute, value.clusterDim.z) ==
              offsetof(CUlaunchAttribute, value.clusterDim.z));
static_assert(sizeof(LaunchConfig) == sizeof(CUlaunchConfig));
CIRC_SAME_FIELD(LaunchConfig, CUlaunchConfig, gridDimX);
CIRC_SAME_FIELD(LaunchConfig, CUlaunchConfig, blockDimZ);
CIRC_SAME_FIELD(LaunchConfig, CUlaunchConfig, sharedMemBytes);
CIRC_SAME_FIELD(LaunchConfig, CUlaunchConfig, hStream);
CIRC_SAME_FIELD(LaunchConfig, CUlaunchConfig, attrs);
CIRC_SAME_FIELD(LaunchConfig, CUlaunchConfig, numAttrs);
#undef CIRC_SAME_FIELD

} // namespace
} // namespace circ::rt::cuda::driver
