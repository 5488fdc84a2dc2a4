//===- CudaAbi.h - the mgpu* host ABI of MLIR's GPU lowering ----*- C++ -*-===//
//
// `gpu-to-llvm` (LLVM 22) lowers host-side gpu ops to calls of these C
// functions; the signatures below are the ones `mlir-translate` emits for a
// `gpu-lower-to-nvvm-pipeline` output (verified: see docs/gpu.md). MLIR ships
// no CUDA implementation on Debian, so the Circ CUDA runtime provides one
// over the dlopen'ed driver, in the static CircCudaRuntime and in the shared
// libcirc_cuda_runtime.so (for mlir-runner --shared-libs and the JIT).
//
// The ABI has no error results. A failing call does nothing and returns a
// null handle; the first failure is printed once to stderr as
//   "circ-cuda: error: no CUDA driver (libcuda.so.1 not found)"
// and stays queryable through circCudaGetError() until circCudaResetError().
//
//===----------------------------------------------------------------------===//
#ifndef CIRC_RUNTIME_CUDAABI_H
#define CIRC_RUNTIME_CUDAABI_H

#include <cstddef>
#include <cstdint>

extern "C" {

void *mgpuModuleLoad(void *data, size_t size);
void *mgpuModuleLoadJIT(void *ptx, int optLevel);
void mgpuModuleUnload(void *module);
void *mgpuModuleGetFunction(void *module, const char *name);
void mgpuLaunchKernel(void *function, intptr_t gridX, intptr_t gridY,
                      intptr_t gridZ, intptr_t blockX, intptr_t blockY,
                      intptr_t blockZ, int32_t sharedBytes, void *stream,
                      void **params, void **extra, size_t paramsCount);
void mgpuLaunchClusterKernel(void *function, intptr_t clusterX,
                             intptr_t clusterY, intptr_t clusterZ,
                             intptr_t gridX, intptr_t gridY, intptr_t gridZ,
                             intptr_t blockX, intptr_t blockY, intptr_t blockZ,
                             int32_t sharedBytes, void *stream, void **params,
                             void **extra);

void *mgpuStreamCreate();
void mgpuStreamDestroy(void *stream);
void mgpuStreamSynchronize(void *stream);
void mgpuStreamWaitEvent(void *stream, void *event);
void *mgpuEventCreate();
void mgpuEventDestroy(void *event);
void mgpuEventSynchronize(void *event);
void mgpuEventRecord(void *event, void *stream);

void *mgpuMemAlloc(uint64_t sizeBytes, void *stream, bool isHostShared);
void mgpuMemFree(void *ptr, void *stream);
void mgpuMemcpy(void *dst, void *src, size_t sizeBytes, void *stream);
void mgpuMemset32(void *dst, unsigned value, size_t count, void *stream);
void mgpuMemset16(void *dst, unsigned short value, size_t count, void *stream);
void mgpuMemHostRegister(void *ptr, uint64_t sizeBytes);
void mgpuMemHostUnregister(void *ptr);
/// `descriptor` is a ranked memref descriptor {allocated, aligned, offset,
/// sizes[rank], strides[rank]}; only contiguous memrefs can be registered.
void mgpuMemHostRegisterMemRef(int64_t rank, void *descriptor,
                               int64_t elementSizeBytes);
void mgpuMemHostUnregisterMemRef(int64_t rank, void *descriptor,
                                 int64_t elementSizeBytes);
void mgpuSetDefaultDevice(int32_t device);

/// The first failure since the last reset, or null.
const char *circCudaGetError();
/// Number of failed calls since the last reset.
int64_t circCudaErrorCount();
void circCudaResetError();
}

#endif // CIRC_RUNTIME_CUDAABI_H
