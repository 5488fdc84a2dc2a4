//===- Device.cpp - driver, device, memory, modules, launches ---*- C++ -*-===//

#include "DeviceState.h"

#include <cstdlib>
#include <cstring>
#include <mutex>

namespace circ::rt::cuda {

using driver::Api;
using driver::Context;
using driver::DeviceOrdinal;
using driver::DevicePtr;
using driver::Function;
using driver::JitOption;
using driver::Library;
using driver::Result;

std::string driverLibraryPath() {
  const char *env = std::getenv("CIRC_CUDA_DRIVER");
  return env && *env ? env : "libcuda.so.1";
}

//===----------------------------------------------------------------------===//
// Driver
//===----------------------------------------------------------------------===//

Driver::Driver(std::unique_ptr<Library> lib) : lib(std::move(lib)) {}
Driver::~Driver() = default;

Expected<std::shared_ptr<Driver>> Driver::load(const std::string &path) {
  Expected<std::unique_ptr<Library>> lib = Library::open(path);
  if (!lib)
    return lib.takeError();
  return std::shared_ptr<Driver>(new Driver(std::move(*lib)));
}

Expected<std::shared_ptr<Driver>> Driver::global() {
  static const Expected<std::shared_ptr<Driver>> instance =
      load(driverLibraryPath());
  return instance;
}

const std::string &Driver::path() const { return lib->path(); }
int Driver::version() const { return lib->driverVersion(); }
int Driver::deviceCount() const { return lib->deviceCount(); }

Expected<Device> Driver::device(int ordinal) {
  if (ordinal < 0 || ordinal >= deviceCount())
    return Error::failure("no CUDA device " + std::to_string(ordinal) +
                          " (the driver reports " +
                          std::to_string(deviceCount()) + ")");
  const Api &api = lib->api();
  DeviceOrdinal dev = 0;
  if (Error e = lib->check(api.cuDeviceGet(&dev, ordinal), "cuDeviceGet"))
    return e;
  Context ctx = nullptr;
  if (Error e = lib->check(api.cuDevicePrimaryCtxRetain(&ctx, dev),
                           "cuDevicePrimaryCtxRetain"))
    return e;
  auto state = std::make_shared<DeviceState>(shared_from_this(), dev, ctx);

  DeviceInfo &info = state->info;
  info.ordinal = ordinal;
  char name[256] = {0};
  struct Attr {
    int attr;
    int *out;
  } attrs[] = {
      {driver::kDevAttrComputeCapabilityMajor, &info.computeMajor},
      {driver::kDevAttrComputeCapabilityMinor, &info.computeMinor},
      {driver::kDevAttrMultiprocessorCount, &info.multiprocessors},
      {driver::kDevAttrMaxThreadsPerBlock, &info.maxThreadsPerBlock},
      {driver::kDevAttrMaxSharedMemoryPerBlockOptin,
       &info.maxSharedPerBlockOptin},
  };
  if (Error e = lib->check(api.cuDeviceGetName(name, sizeof(name) - 1, dev),
                           "cuDeviceGetName"))
    return e;
  info.name = name;
  for (const Attr &a : attrs)
    if (Error e = lib->check(api.cuDeviceGetAttribute(a.out, a.attr, dev),
                             "cuDeviceGetAttribute"))
      return e;
  if (Error e = lib->check(api.cuDeviceTotalMem(&info.totalMemory, dev),
                           "cuDeviceTotalMem"))
    return e;
  return Device(std::move(state));
}

std::string DeviceInfo::arch() const {
  return "sm_" + std::to_string(computeMajor) + std::to_string(computeMinor);
}

//===----------------------------------------------------------------------===//
// DeviceState, ContextScope, ModuleState
//===----------------------------------------------------------------------===//

DeviceState::~DeviceState() { api().cuDevicePrimaryCtxRelease(device); }

ContextScope::ContextScope(const DeviceState &state) : state(state) {
  pushed = state.check(state.api().cuCtxPushCurrent(state.context),
                       "cuCtxPushCurrent");
}

ContextScope::~ContextScope() {
  if (!pushed)
    state.api().cuCtxPopCurrent(nullptr);
}

ModuleState::~ModuleState() {
  if (!module)
    return;
  ContextScope scope(*device);
  if (!scope.status())
    device->api().cuModuleUnload(module);
}

//===----------------------------------------------------------------------===//
// Device
//===----------------------------------------------------------------------===//

Expected<Device> Device::open(int ordinal) {
  Expected<std::shared_ptr<Driver>> drv = Driver::global();
  if (!drv)
    return drv.takeError();
  return (*drv)->device(ordinal);
}

const DeviceInfo &Device::info() const { return impl->info; }

Expected<Buffer> Device::allocate(size_t bytes) const {
  if (bytes == 0)
    return Buffer(impl, 0, 0);
  ContextScope scope(*impl);
  if (scope.status())
    return scope.status();
  DevicePtr ptr = 0;
  if (Error e = impl->check(impl->api().cuMemAlloc(&ptr, bytes), "cuMemAlloc",
                            "allocating " + std::to_string(bytes) +
                                " bytes on " + impl->info.name))
    return e;
  return Buffer(impl, ptr, bytes);
}

/// cubin (ELF) and fatbin images carry their size; anything else is PTX text,
/// which the driver reads up to a NUL.
static bool isBinaryImage(const void *image, size_t size) {
  const auto *bytes = static_cast<const unsigned char *>(image);
  static const unsigned char elf[] = {0x7f, 'E', 'L', 'F'};
  static const unsigned char fatbin[] = {0x50, 0xed, 0x55, 0xba};
  return size >= 4 &&
         (!std::memcmp(bytes, elf, 4) || !std::memcmp(bytes, fatbin, 4));
}

Expected<Module> Device::loadModule(const void *image, size_t size) const {
  if (!image || size == 0)
    return Error::failure("cannot load an empty GPU module image");
  std::string text;
  if (!isBinaryImage(image, size) &&
      static_cast<const char *>(image)[size - 1] != '\0') {
    text.assign(static_cast<const char *>(image), size);
    image = text.c_str();
  }
  ContextScope scope(*impl);
  if (scope.status())
    return scope.status();
  char errorLog[8192] = {0};
  JitOption options[] = {driver::kJitErrorLogBuffer,
                         driver::kJitErrorLogBufferSizeBytes};
  void *values[] = {errorLog, reinterpret_cast<void *>(sizeof(errorLog) - 1)};
  auto state = std::make_shared<ModuleState>();
  state->device = impl;
  Result r =
      impl->api().cuModuleLoadDataEx(&state->module, image, 2, options, values);
  if (r != driver::kSuccess) {
    std::string message = impl->lib.describe("cuModuleLoadDataEx", r);
    if (errorLog[0])
      message += "; driver JIT log:\n" + std::string(errorLog);
    state->module = nullptr;
    return Error::failure("cannot load GPU module on " + impl->info.name +
                          " (" + impl->info.arch() + "): " + message);
  }
  Module module;
  module.state = std::move(state);
  return module;
}

Expected<Stream> Device::createStream() const {
  ContextScope scope(*impl);
  if (scope.status())
    return scope.status();
  driver::Stream stream = nullptr;
  if (Error e = impl->check(
          impl->api().cuStreamCreate(&stream, driver::kStreamNonBlocking),
          "cuStreamCreate"))
    return e;
  return Stream(impl, stream);
}

Error Device::launch(const Kernel &kernel, const LaunchConfig &config,
                     KernelArgs &args, const Stream *stream) const {
  const std::string what = "launching " + kernel.name();
  if (!kernel.function)
    return Error::failure(what + ": not a kernel of a loaded module");
  if (config.grid.count() == 0 || config.block.count() == 0)
    return Error::failure(what + ": empty grid or block");
  if (config.block.count() > uint64_t(impl->info.maxThreadsPerBlock))
    return Error::failure(what + ": " + std::to_string(config.block.count()) +
                          " threads per block, the device allows " +
                          std::to_string(impl->info.maxThreadsPerBlock));
  if (config.dynamicSharedBytes > unsigned(impl->info.maxSharedPerBlockOptin))
    return Error::failure(
        what + ": " + std::to_string(config.dynamicSharedBytes) +
        " bytes of dynamic shared memory, the device allows " +
        std::to_string(impl->info.maxSharedPerBlockOptin));
  ContextScope scope(*impl);
  if (scope.status())
    return scope.status();
  const Api &api = impl->api();
  auto fn = static_cast<Function>(kernel.function);
  // Beyond 48 KiB a kernel must opt in to dynamic shared memory.
  if (config.dynamicSharedBytes > 48 * 1024)
    if (Error e =
            impl->check(api.cuFuncSetAttribute(
                            fn, driver::kFuncAttrMaxDynamicSharedSizeBytes,
                            int(config.dynamicSharedBytes)),
                        "cuFuncSetAttribute", what))
      return e;
  auto s = stream ? static_cast<driver::Stream>(stream->handle()) : nullptr;
  if (config.cluster.count() == 1)
    return impl->check(api.cuLaunchKernel(fn, config.grid.x, config.grid.y,
                                          config.grid.z, config.block.x,
                                          config.block.y, config.block.z,
                                          config.dynamicSharedBytes, s,
                                          args.pointers(), nullptr),
                       "cuLaunchKernel", what);
  if (!api.cuLaunchKernelEx)
    return Error::failure(what + ": thread-block clusters need "
                                 "cuLaunchKernelEx (a CUDA 12 driver)");
  if (config.grid.x % config.cluster.x || config.grid.y % config.cluster.y ||
      config.grid.z % config.cluster.z)
    return Error::failure(what + ": the grid is not a whole number of "
                                 "clusters");
  driver::LaunchAttribute attr = {};
  attr.id = driver::kLaunchAttrClusterDimension;
  attr.value.clusterDim = {config.cluster.x, config.cluster.y,
                           config.cluster.z};
  driver::LaunchConfig launch = {config.grid.x,
                                 config.grid.y,
                                 config.grid.z,
                                 config.block.x,
                                 config.block.y,
                                 config.block.z,
                                 config.dynamicSharedBytes,
                                 s,
                                 &attr,
                                 1};
  return impl->check(
      api.cuLaunchKernelEx(&launch, fn, args.pointers(), nullptr),
      "cuLaunchKernelEx", what);
}

Error Device::synchronize() const {
  ContextScope scope(*impl);
  if (scope.status())
    return scope.status();
  return impl->check(impl->api().cuCtxSynchronize(), "cuCtxSynchronize");
}

Expected<std::pair<size_t, size_t>> Device::memoryInfo() const {
  ContextScope scope(*impl);
  if (scope.status())
    return scope.status();
  size_t freeBytes = 0, totalBytes = 0;
  if (Error e = impl->check(impl->api().cuMemGetInfo(&freeBytes, &totalBytes),
                            "cuMemGetInfo"))
    return e;
  return std::make_pair(freeBytes, totalBytes);
}

//===----------------------------------------------------------------------===//
// Buffer
//===----------------------------------------------------------------------===//

Buffer::Buffer(Buffer &&other) noexcept
    : device(std::move(other.device)), addr(other.addr), bytes(other.bytes) {
  other.addr = 0;
  other.bytes = 0;
}

Buffer &Buffer::operator=(Buffer &&other) noexcept {
  if (this != &other) {
    Buffer dying(std::move(*this));
    device = std::move(other.device);
    addr = other.addr;
    bytes = other.bytes;
    other.addr = 0;
    other.bytes = 0;
  }
  return *this;
}

Buffer::~Buffer() {
  if (!addr)
    return;
  ContextScope scope(*device);
  if (!scope.status())
    device->api().cuMemFree(addr);
}

Error Buffer::checkRange(size_t count, size_t offset, const char *what) const {
  if (offset > bytes || count > bytes - offset)
    return Error::failure(std::string(what) + " of " + std::to_string(count) +
                          " bytes at offset " + std::to_string(offset) +
                          " exceeds the " + std::to_string(bytes) +
                          "-byte device buffer");
  return Error::success();
}

Error Buffer::upload(const void *host, size_t count, size_t offset) {
  if (Error e = checkRange(count, offset, "upload"))
    return e;
  if (count == 0)
    return Error::success();
  ContextScope scope(*device);
  if (scope.status())
    return scope.status();
  return device->check(device->api().cuMemcpy(addr + offset,
                                              reinterpret_cast<DevicePtr>(host),
                                              count),
                       "cuMemcpy", "upload to the device");
}

Error Buffer::download(void *host, size_t count, size_t offset) const {
  if (Error e = checkRange(count, offset, "download"))
    return e;
  if (count == 0)
    return Error::success();
  ContextScope scope(*device);
  if (scope.status())
    return scope.status();
  return device->check(device->api().cuMemcpy(reinterpret_cast<DevicePtr>(host),
                                              addr + offset, count),
                       "cuMemcpy", "download from the device");
}

Error Buffer::fill32(uint32_t word) {
  if (bytes % 4)
    return Error::failure("fill32 of a " + std::to_string(bytes) +
                          "-byte buffer (not a whole number of words)");
  if (bytes == 0)
    return Error::success();
  ContextScope scope(*device);
  if (scope.status())
    return scope.status();
  const Api &api = device->api();
  if (Error e =
          device->check(api.cuMemsetD32Async(addr, word, bytes / 4, nullptr),
                        "cuMemsetD32Async"))
    return e;
  return device->check(api.cuStreamSynchronize(nullptr), "cuStreamSynchronize");
}

//===----------------------------------------------------------------------===//
// Stream, Module, Kernel, KernelArgs
//===----------------------------------------------------------------------===//

Stream::Stream(Stream &&other) noexcept
    : device(std::move(other.device)), stream(other.stream) {
  other.stream = nullptr;
}

Stream &Stream::operator=(Stream &&other) noexcept {
  if (this != &other) {
    Stream dying(std::move(*this));
    device = std::move(other.device);
    stream = other.stream;
    other.stream = nullptr;
  }
  return *this;
}

Stream::~Stream() {
  if (!stream)
    return;
  ContextScope scope(*device);
  if (!scope.status())
    device->api().cuStreamDestroy(static_cast<driver::Stream>(stream));
}

Error Stream::synchronize() const {
  if (!stream)
    return Error::failure("synchronising a stream that was never created");
  ContextScope scope(*device);
  if (scope.status())
    return scope.status();
  return device->check(
      device->api().cuStreamSynchronize(static_cast<driver::Stream>(stream)),
      "cuStreamSynchronize");
}

Expected<Kernel> Module::kernel(const std::string &name) const {
  if (!state)
    return Error::failure("kernel " + name + " requested from no module");
  ContextScope scope(*state->device);
  if (scope.status())
    return scope.status();
  Function fn = nullptr;
  Result r = state->device->api().cuModuleGetFunction(&fn, state->module,
                                                      name.c_str());
  if (r == driver::kErrorNotFound)
    return Error::failure("the GPU module has no kernel named '" + name + "'");
  if (Error e = state->device->check(r, "cuModuleGetFunction", name))
    return e;
  Kernel kernel;
  kernel.module = state;
  kernel.function = fn;
  kernel.kernelName = name;
  return kernel;
}

Expected<KernelAttributes> Kernel::attributes() const {
  if (!function)
    return Error::failure("attributes of a kernel that was never loaded");
  const DeviceState &dev = *module->device;
  ContextScope scope(dev);
  if (scope.status())
    return scope.status();
  KernelAttributes attrs;
  struct Attr {
    int attr;
    int *out;
  } wanted[] = {
      {driver::kFuncAttrNumRegs, &attrs.registers},
      {driver::kFuncAttrSharedSizeBytes, &attrs.staticSharedBytes},
      {driver::kFuncAttrLocalSizeBytes, &attrs.localBytes},
      {driver::kFuncAttrMaxThreadsPerBlock, &attrs.maxThreadsPerBlock}};
  for (const Attr &a : wanted)
    if (Error e = dev.check(dev.api().cuFuncGetAttribute(
                                a.out, a.attr, static_cast<Function>(function)),
                            "cuFuncGetAttribute", kernelName))
      return e;
  return attrs;
}

void KernelArgs::append(const void *value, size_t size, size_t align) {
  used = (used + align - 1) / align * align;
  offsets.push_back(used);
  used += size;
  storage.resize((used + 7) / 8);
  std::memcpy(reinterpret_cast<char *>(storage.data()) + offsets.back(), value,
              size);
}

KernelArgs &KernelArgs::addMemRef(const Buffer &buffer,
                                  const std::vector<int64_t> &shape) {
  add(buffer.address()); // allocated pointer
  add(buffer.address()); // aligned pointer
  add(int64_t(0));       // offset
  for (int64_t size : shape)
    add(size);
  int64_t stride = 1;
  std::vector<int64_t> strides(shape.size());
  for (size_t i = shape.size(); i-- > 0;) {
    strides[i] = stride;
    stride *= shape[i];
  }
  for (int64_t s : strides)
    add(s);
  return *this;
}

void **KernelArgs::pointers() {
  ptrs.resize(offsets.size());
  for (size_t i = 0; i < offsets.size(); ++i)
    ptrs[i] = reinterpret_cast<char *>(storage.data()) + offsets[i];
  return ptrs.data();
}

} // namespace circ::rt::cuda
