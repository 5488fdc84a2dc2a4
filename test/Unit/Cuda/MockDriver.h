//===- MockDriver.h - control interface of the test CUDA driver -*- C++ -*-===//
//
// libcirc_mock_cuda.so exports the driver entry points the runtime resolves
// and implements them over host memory, so the runtime's own logic (context
// push/pop balance, copies, bounds, module and kernel lookup, argument
// packing, launch configuration, error paths) is tested on machines without a
// GPU. "Device" pointers are host pointers; a launch runs the host function
// registered under the kernel's name, once, with the launch's shape. PTX is
// never compiled: a module "contains" the `.entry` names of its text.
//
//===----------------------------------------------------------------------===//
#ifndef CIRC_TEST_UNIT_CUDA_MOCKDRIVER_H
#define CIRC_TEST_UNIT_CUDA_MOCKDRIVER_H

#include <cstdint>

extern "C" {

struct MockLaunch {
  const char *kernel;
  unsigned grid[3], block[3], cluster[3];
  unsigned sharedBytes;
  void *stream;
  void **params;
};

using MockKernel = void (*)(const MockLaunch *launch);

struct MockStats {
  int64_t liveAllocations, liveBytes;
  int64_t liveModules, liveStreams, liveEvents, liveHostRegistrations;
  int64_t primaryRetains; ///< retains minus releases
  int64_t contextDepth;   ///< pushes minus pops on the calling thread
  int64_t launches;
  MockLaunch lastLaunch;
  int lastDynamicSharedAttribute; ///< last MAX_DYNAMIC_SHARED_SIZE_BYTES set
};

/// What the next cuInit returns and how many devices there are.
void mockCudaConfigure(int initResult, int deviceCount);
void mockCudaRegisterKernel(const char *name, MockKernel kernel);
MockStats mockCudaStats();
/// Makes the next `count` cuMemAlloc calls fail with out-of-memory.
void mockCudaFailAllocations(int count);
}

/// The function-pointer types a test gets from dlsym.
using MockConfigureFn = decltype(&mockCudaConfigure);
using MockRegisterKernelFn = decltype(&mockCudaRegisterKernel);
using MockStatsFn = decltype(&mockCudaStats);
using MockFailAllocationsFn = decltype(&mockCudaFailAllocations);

#endif // CIRC_TEST_UNIT_CUDA_MOCKDRIVER_H
