//===- MockDriver.cpp - a CUDA driver over host memory, for tests -*- C++
//-*-===//
//
// See MockDriver.h. Exports the versioned symbol names the runtime resolves
// (cuMemAlloc_v2, ...). Every handle is checked against the live set, so a
// double free or a use after destroy in the runtime fails the test with an
// error code instead of passing silently.
//
//===----------------------------------------------------------------------===//

#include "MockDriver.h"

#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <set>
#include <string>

namespace {

enum : int {
  kSuccess = 0,
  kInvalidValue = 1,
  kOutOfMemory = 2,
  kNotInitialized = 3,
  kInvalidContext = 201,
  kInvalidHandle = 400,
  kNotFound = 500,
  kInvalidPtx = 218,
};

struct ModuleRec {
  std::string text;
  std::map<std::string, std::string *> functions; // name -> interned name
};

struct State {
  std::mutex mutex;
  int initResult = kSuccess;
  int deviceCount = 1;
  bool initialised = false;
  int failAllocations = 0;
  std::map<uintptr_t, size_t> allocations;
  std::set<void *> streams, events, hostRegistrations;
  std::map<void *, ModuleRec *> modules;
  std::map<std::string, MockKernel> kernels;
  int64_t primaryRetains = 0, launches = 0;
  MockLaunch lastLaunch = {};
  int lastDynamicShared = 0;
  std::map<std::string, std::string> functionNames; // storage for names
};

State &state() {
  static State *s = new State();
  return *s;
}

thread_local int64_t contextDepth = 0;
int contextToken; // the one primary context's address

bool trace() { return std::getenv("CIRC_MOCK_CUDA_TRACE") != nullptr; }

int launch(void *function, const unsigned grid[3], const unsigned block[3],
           const unsigned cluster[3], unsigned shared, void *stream,
           void **params) {
  State &s = state();
  MockKernel body = nullptr;
  MockLaunch l = {};
  {
    std::lock_guard<std::mutex> lock(s.mutex);
    if (contextDepth <= 0)
      return kInvalidContext;
    if (!function)
      return kInvalidHandle;
    l.kernel = static_cast<std::string *>(function)->c_str();
    for (int i = 0; i < 3; ++i) {
      l.grid[i] = grid[i];
      l.block[i] = block[i];
      l.cluster[i] = cluster[i];
    }
    l.sharedBytes = shared;
    l.stream = stream;
    l.params = params;
    if (block[0] * block[1] * block[2] > 1024)
      return kInvalidValue;
    ++s.launches;
    s.lastLaunch = l;
    auto it = s.kernels.find(l.kernel);
    if (it != s.kernels.end())
      body = it->second;
  }
  if (trace())
    std::fprintf(stderr,
                 "mock-cuda: launch %s grid (%u,%u,%u) block (%u,%u,%u) "
                 "cluster (%u,%u,%u) smem %u\n",
                 l.kernel, grid[0], grid[1], grid[2], block[0], block[1],
                 block[2], cluster[0], cluster[1], cluster[2], shared);
  if (body)
    body(&l);
  return kSuccess;
}

int needContext() { return contextDepth > 0 ? kSuccess : kInvalidContext; }

} // namespace

extern "C" {

//===- control interface --------------------------------------------------===//

void mockCudaConfigure(int initResult, int deviceCount) {
  State &s = state();
  std::lock_guard<std::mutex> lock(s.mutex);
  s.initResult = initResult;
  s.deviceCount = deviceCount;
}

void mockCudaRegisterKernel(const char *name, MockKernel kernel) {
  State &s = state();
  std::lock_guard<std::mutex> lock(s.mutex);
  s.kernels[name] = kernel;
}

void mockCudaFailAllocations(int count) {
  State &s = state();
  std::lock_guard<std::mutex> lock(s.mutex);
  s.failAllocations = count;
}

MockStats mockCudaStats() {
  State &s = state();
  std::lock_guard<std::mutex> lock(s.mutex);
  MockStats st = {};
  st.liveAllocations = int64_t(s.allocations.size());
  for (auto &a : s.allocations)
    st.liveBytes += int64_t(a.second);
  st.liveModules = int64_t(s.modules.size());
  st.liveStreams = int64_t(s.streams.size());
  st.liveEvents = int64_t(s.events.size());
  st.liveHostRegistrations = int64_t(s.hostRegistrations.size());
  st.primaryRetains = s.primaryRetains;
  st.contextDepth = contextDepth;
  st.launches = s.launches;
  st.lastLaunch = s.lastLaunch;
  st.lastDynamicSharedAttribute = s.lastDynamicShared;
  return st;
}

//===- driver entry points ------------------------------------------------===//

int cuInit(unsigned flags) {
  State &s = state();
  std::lock_guard<std::mutex> lock(s.mutex);
  if (flags != 0)
    return kInvalidValue;
  s.initialised = s.initResult == kSuccess;
  return s.initResult;
}

int cuDriverGetVersion(int *version) {
  *version = 13000;
  return kSuccess;
}

int cuGetErrorName(int result, const char **name) {
  switch (result) {
  case kSuccess:
    *name = "CUDA_SUCCESS";
    return kSuccess;
  case kInvalidValue:
    *name = "CUDA_ERROR_INVALID_VALUE";
    return kSuccess;
  case kOutOfMemory:
    *name = "CUDA_ERROR_OUT_OF_MEMORY";
    return kSuccess;
  case kInvalidContext:
    *name = "CUDA_ERROR_INVALID_CONTEXT";
    return kSuccess;
  case kInvalidPtx:
    *name = "CUDA_ERROR_INVALID_PTX";
    return kSuccess;
  case kNotFound:
    *name = "CUDA_ERROR_NOT_FOUND";
    return kSuccess;
  default:
    *name = nullptr;
    return kInvalidValue;
  }
}

int cuGetErrorString(int result, const char **text) {
  *text = result == kOutOfMemory ? "out of memory" : nullptr;
  return *text ? kSuccess : kInvalidValue;
}

int cuDeviceGetCount(int *count) {
  State &s = state();
  std::lock_guard<std::mutex> lock(s.mutex);
  if (!s.initialised)
    return kNotInitialized;
  *count = s.deviceCount;
  return kSuccess;
}

int cuDeviceGet(int *device, int ordinal) {
  State &s = state();
  std::lock_guard<std::mutex> lock(s.mutex);
  if (ordinal < 0 || ordinal >= s.deviceCount)
    return kInvalidValue;
  *device = ordinal;
  return kSuccess;
}

int cuDeviceGetName(char *name, int length, int) {
  std::snprintf(name, size_t(length), "Circ Mock GPU");
  return kSuccess;
}

int cuDeviceGetAttribute(int *value, int attribute, int) {
  switch (attribute) {
  case 1: // max threads per block
    *value = 1024;
    return kSuccess;
  case 16: // multiprocessors
    *value = 132;
    return kSuccess;
  case 75: // compute capability
    *value = 9;
    return kSuccess;
  case 76:
    *value = 0;
    return kSuccess;
  case 97: // max shared memory per block (opt-in)
    *value = 232448;
    return kSuccess;
  default:
    return kInvalidValue;
  }
}

int cuDeviceTotalMem_v2(size_t *bytes, int) {
  *bytes = size_t(80) << 30;
  return kSuccess;
}

int cuDevicePrimaryCtxRetain(void **context, int) {
  State &s = state();
  std::lock_guard<std::mutex> lock(s.mutex);
  ++s.primaryRetains;
  *context = &contextToken;
  return kSuccess;
}

int cuDevicePrimaryCtxRelease_v2(int) {
  State &s = state();
  std::lock_guard<std::mutex> lock(s.mutex);
  if (s.primaryRetains == 0)
    return kInvalidContext;
  --s.primaryRetains;
  return kSuccess;
}

int cuCtxPushCurrent_v2(void *context) {
  if (context != &contextToken)
    return kInvalidContext;
  ++contextDepth;
  return kSuccess;
}

int cuCtxPopCurrent_v2(void **context) {
  if (contextDepth <= 0)
    return kInvalidContext;
  --contextDepth;
  if (context)
    *context = &contextToken;
  return kSuccess;
}

int cuCtxSynchronize() { return needContext(); }

int cuModuleLoadDataEx(void **module, const void *image, unsigned numOptions,
                       int *options, void **values) {
  if (int r = needContext())
    return r;
  const char *text = static_cast<const char *>(image);
  if (!std::strstr(text, ".version")) {
    for (unsigned i = 0; i < numOptions; ++i)
      if (options[i] == 5) // CU_JIT_ERROR_LOG_BUFFER
        std::snprintf(static_cast<char *>(values[i]), 64,
                      "mock ptxas: no .version directive");
    return kInvalidPtx;
  }
  auto *rec = new ModuleRec();
  rec->text = text;
  State &s = state();
  std::lock_guard<std::mutex> lock(s.mutex);
  s.modules[rec] = rec;
  *module = rec;
  return kSuccess;
}

int cuModuleUnload(void *module) {
  State &s = state();
  std::lock_guard<std::mutex> lock(s.mutex);
  auto it = s.modules.find(module);
  if (it == s.modules.end())
    return kInvalidHandle;
  delete it->second;
  s.modules.erase(it);
  return kSuccess;
}

int cuModuleGetFunction(void **function, void *module, const char *name) {
  if (int r = needContext())
    return r;
  State &s = state();
  std::lock_guard<std::mutex> lock(s.mutex);
  auto it = s.modules.find(module);
  if (it == s.modules.end())
    return kInvalidHandle;
  const std::string &text = it->second->text;
  const std::string entry = std::string(".entry ") + name;
  size_t at = text.find(entry);
  // The name must end there: `.entry foo(` or `.entry foo` + whitespace.
  if (at == std::string::npos ||
      (at + entry.size() < text.size() && text[at + entry.size()] != '(' &&
       !std::isspace(static_cast<unsigned char>(text[at + entry.size()]))))
    return kNotFound;
  auto &interned = s.functionNames[name];
  interned = name;
  *function = &interned;
  return kSuccess;
}

int cuFuncGetAttribute(int *value, int attribute, void *function) {
  if (!function)
    return kInvalidHandle;
  switch (attribute) {
  case 0: // max threads per block
    *value = 1024;
    return kSuccess;
  case 1: // static shared bytes
    *value = 4096;
    return kSuccess;
  case 3: // local bytes
    *value = 16;
    return kSuccess;
  case 4: // registers
    *value = 40;
    return kSuccess;
  default:
    return kInvalidValue;
  }
}

int cuFuncSetAttribute(void *function, int attribute, int value) {
  if (!function)
    return kInvalidHandle;
  if (attribute == 8) { // max dynamic shared bytes
    if (value > 232448)
      return kInvalidValue;
    State &s = state();
    std::lock_guard<std::mutex> lock(s.mutex);
    s.lastDynamicShared = value;
  }
  return kSuccess;
}

int cuLaunchKernel(void *function, unsigned gx, unsigned gy, unsigned gz,
                   unsigned bx, unsigned by, unsigned bz, unsigned shared,
                   void *stream, void **params, void **extra) {
  if (extra)
    return kInvalidValue;
  const unsigned grid[3] = {gx, gy, gz}, block[3] = {bx, by, bz},
                 cluster[3] = {1, 1, 1};
  return launch(function, grid, block, cluster, shared, stream, params);
}

struct LaunchAttribute {
  int id;
  char pad[4];
  union {
    char raw[64];
    struct {
      unsigned x, y, z;
    } clusterDim;
  } value;
};

struct LaunchConfig {
  unsigned gridDimX, gridDimY, gridDimZ, blockDimX, blockDimY, blockDimZ;
  unsigned sharedMemBytes;
  void *hStream;
  LaunchAttribute *attrs;
  unsigned numAttrs;
};

int cuLaunchKernelEx(const LaunchConfig *config, void *function, void **params,
                     void **extra) {
  if (extra)
    return kInvalidValue;
  unsigned cluster[3] = {1, 1, 1};
  for (unsigned i = 0; i < config->numAttrs; ++i)
    if (config->attrs[i].id == 4) {
      cluster[0] = config->attrs[i].value.clusterDim.x;
      cluster[1] = config->attrs[i].value.clusterDim.y;
      cluster[2] = config->attrs[i].value.clusterDim.z;
    }
  const unsigned grid[3] = {config->gridDimX, config->gridDimY,
                            config->gridDimZ},
                 block[3] = {config->blockDimX, config->blockDimY,
                             config->blockDimZ};
  for (int i = 0; i < 3; ++i)
    if (grid[i] % cluster[i])
      return kInvalidValue;
  return launch(function, grid, block, cluster, config->sharedMemBytes,
                config->hStream, params);
}

int cuMemGetInfo_v2(size_t *freeBytes, size_t *totalBytes) {
  if (int r = needContext())
    return r;
  *totalBytes = size_t(80) << 30;
  *freeBytes = *totalBytes - size_t(mockCudaStats().liveBytes);
  return kSuccess;
}

static int allocate(uintptr_t *ptr, size_t bytes) {
  if (int r = needContext())
    return r;
  State &s = state();
  std::lock_guard<std::mutex> lock(s.mutex);
  if (s.failAllocations > 0) {
    --s.failAllocations;
    return kOutOfMemory;
  }
  if (bytes == 0)
    return kInvalidValue;
  void *p = std::calloc(1, bytes);
  if (!p)
    return kOutOfMemory;
  *ptr = reinterpret_cast<uintptr_t>(p);
  s.allocations[*ptr] = bytes;
  return kSuccess;
}

int cuMemAlloc_v2(uintptr_t *ptr, size_t bytes) { return allocate(ptr, bytes); }

int cuMemAllocManaged(uintptr_t *ptr, size_t bytes, unsigned flags) {
  return flags == 1 ? allocate(ptr, bytes) : kInvalidValue;
}

int cuMemFree_v2(uintptr_t ptr) {
  if (int r = needContext())
    return r;
  State &s = state();
  std::lock_guard<std::mutex> lock(s.mutex);
  auto it = s.allocations.find(ptr);
  if (it == s.allocations.end())
    return kInvalidValue;
  std::free(reinterpret_cast<void *>(ptr));
  s.allocations.erase(it);
  return kSuccess;
}

int cuMemcpy(uintptr_t dst, uintptr_t src, size_t bytes) {
  if (int r = needContext())
    return r;
  std::memmove(reinterpret_cast<void *>(dst), reinterpret_cast<void *>(src),
               bytes);
  return kSuccess;
}

int cuMemcpyAsync(uintptr_t dst, uintptr_t src, size_t bytes, void *) {
  return cuMemcpy(dst, src, bytes);
}

int cuMemsetD32Async(uintptr_t dst, unsigned value, size_t count, void *) {
  if (int r = needContext())
    return r;
  auto *p = reinterpret_cast<uint32_t *>(dst);
  for (size_t i = 0; i < count; ++i)
    p[i] = value;
  return kSuccess;
}

int cuMemsetD16Async(uintptr_t dst, unsigned short value, size_t count,
                     void *) {
  if (int r = needContext())
    return r;
  auto *p = reinterpret_cast<uint16_t *>(dst);
  for (size_t i = 0; i < count; ++i)
    p[i] = value;
  return kSuccess;
}

int cuMemHostRegister_v2(void *ptr, size_t bytes, unsigned) {
  if (int r = needContext())
    return r;
  State &s = state();
  std::lock_guard<std::mutex> lock(s.mutex);
  if (!bytes || !s.hostRegistrations.insert(ptr).second)
    return kInvalidValue;
  return kSuccess;
}

int cuMemHostUnregister(void *ptr) {
  if (int r = needContext())
    return r;
  State &s = state();
  std::lock_guard<std::mutex> lock(s.mutex);
  return s.hostRegistrations.erase(ptr) ? kSuccess : kInvalidValue;
}

static int createHandle(std::set<void *> State::*set, void **out) {
  if (int r = needContext())
    return r;
  State &s = state();
  std::lock_guard<std::mutex> lock(s.mutex);
  void *h = std::malloc(1);
  (s.*set).insert(h);
  *out = h;
  return kSuccess;
}

static int destroyHandle(std::set<void *> State::*set, void *h) {
  State &s = state();
  std::lock_guard<std::mutex> lock(s.mutex);
  if (!(s.*set).erase(h))
    return kInvalidHandle;
  std::free(h);
  return kSuccess;
}

static int checkStream(void *stream) {
  if (int r = needContext())
    return r;
  State &s = state();
  std::lock_guard<std::mutex> lock(s.mutex);
  return !stream || s.streams.count(stream) ? kSuccess : kInvalidHandle;
}

int cuStreamCreate(void **stream, unsigned) {
  return createHandle(&State::streams, stream);
}
int cuStreamDestroy_v2(void *stream) {
  return destroyHandle(&State::streams, stream);
}
int cuStreamSynchronize(void *stream) { return checkStream(stream); }
int cuStreamWaitEvent(void *stream, void *event, unsigned) {
  if (int r = checkStream(stream))
    return r;
  State &s = state();
  std::lock_guard<std::mutex> lock(s.mutex);
  return s.events.count(event) ? kSuccess : kInvalidHandle;
}
int cuEventCreate(void **event, unsigned) {
  return createHandle(&State::events, event);
}
int cuEventDestroy_v2(void *event) {
  return destroyHandle(&State::events, event);
}
int cuEventRecord(void *event, void *stream) {
  if (int r = checkStream(stream))
    return r;
  State &s = state();
  std::lock_guard<std::mutex> lock(s.mutex);
  return s.events.count(event) ? kSuccess : kInvalidHandle;
}
int cuEventSynchronize(void *event) {
  State &s = state();
  std::lock_guard<std::mutex> lock(s.mutex);
  return s.events.count(event) ? kSuccess : kInvalidHandle;
}

} // extern "C"
