//===- Cuda.h - the CUDA backend of the Circ runtime ------------*- C++ -*-===//
//
// Device memory, modules and kernel launches over the CUDA driver API. The
// driver (libcuda.so.1, or $CIRC_CUDA_DRIVER) is opened with dlopen on first
// use, never linked: every binary starts on a machine without a GPU, and
// asking for the device there yields an Error such as
//   "no CUDA driver (libcuda.so.1 not found)"  or  "no CUDA device (...)".
// Nothing here throws or aborts; handles are move-only RAII objects that keep
// their device (and so the driver) alive. Plain C++, no MLIR.
//
//===----------------------------------------------------------------------===//
#ifndef CIRC_RUNTIME_CUDA_H
#define CIRC_RUNTIME_CUDA_H

#include "circ_runtime/Error.h"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace circ::rt::cuda {

namespace driver {
class Library;
} // namespace driver
struct DeviceState;
struct ModuleState;

class Device;
class Driver;

/// The driver library the process uses: $CIRC_CUDA_DRIVER if set, else
/// "libcuda.so.1".
std::string driverLibraryPath();

/// A loaded and initialised CUDA driver with at least one device.
class Driver : public std::enable_shared_from_this<Driver> {
public:
  /// The process-wide driver, loaded from driverLibraryPath() on first call;
  /// the answer (driver or error) never changes afterwards. Thread-safe.
  static Expected<std::shared_ptr<Driver>> global();
  /// A driver loaded from `path` (tests, tools probing a specific library).
  static Expected<std::shared_ptr<Driver>> load(const std::string &path);

  ~Driver();
  const std::string &path() const;
  /// CUDA version the driver supports, e.g. 13000.
  int version() const;
  int deviceCount() const;
  /// Retains device `ordinal`'s primary context.
  Expected<Device> device(int ordinal = 0);

  const driver::Library &library() const { return *lib; }

private:
  explicit Driver(std::unique_ptr<driver::Library> lib);
  std::unique_ptr<driver::Library> lib;
};

struct DeviceInfo {
  int ordinal = 0;
  std::string name;
  int computeMajor = 0, computeMinor = 0;
  int multiprocessors = 0;
  int maxThreadsPerBlock = 0;
  int maxSharedPerBlockOptin = 0; ///< bytes a kernel may opt into
  size_t totalMemory = 0;
  /// "sm_90" for compute capability 9.0: the ptxas/--cubin-chip spelling.
  std::string arch() const;
};

/// A device allocation; freed when the Buffer is destroyed.
class Buffer {
public:
  Buffer() = default;
  Buffer(Buffer &&other) noexcept;
  Buffer &operator=(Buffer &&other) noexcept;
  ~Buffer();

  /// The device address (CUdeviceptr).
  uint64_t address() const { return addr; }
  size_t size() const { return bytes; }
  bool empty() const { return bytes == 0; }

  /// Copies `count` bytes between the host and [offset, offset + count) of
  /// the buffer; a range past the end is an Error, not a device fault.
  Error upload(const void *host, size_t count, size_t offset = 0);
  Error download(void *host, size_t count, size_t offset = 0) const;
  /// Sets every 32-bit word of the buffer to `word` (size must be a multiple
  /// of 4).
  Error fill32(uint32_t word);

private:
  friend class Device;
  Buffer(std::shared_ptr<DeviceState> device, uint64_t addr, size_t bytes)
      : device(std::move(device)), addr(addr), bytes(bytes) {}
  Error checkRange(size_t count, size_t offset, const char *what) const;
  std::shared_ptr<DeviceState> device;
  uint64_t addr = 0;
  size_t bytes = 0;
};

/// An asynchronous work queue; destroyed (after its work) with the object.
class Stream {
public:
  Stream() = default;
  Stream(Stream &&other) noexcept;
  Stream &operator=(Stream &&other) noexcept;
  ~Stream();
  Error synchronize() const;
  void *handle() const { return stream; }

private:
  friend class Device;
  Stream(std::shared_ptr<DeviceState> device, void *stream)
      : device(std::move(device)), stream(stream) {}
  std::shared_ptr<DeviceState> device;
  void *stream = nullptr;
};

/// What the driver reports about a compiled kernel.
struct KernelAttributes {
  int registers = 0; ///< per thread
  int staticSharedBytes = 0;
  int localBytes = 0; ///< per thread (spills, stack)
  int maxThreadsPerBlock = 0;
};

/// A kernel of a loaded module; keeps the module loaded.
class Kernel {
public:
  const std::string &name() const { return kernelName; }
  Expected<KernelAttributes> attributes() const;
  void *handle() const { return function; }

private:
  friend class Module;
  friend class Device;
  std::shared_ptr<ModuleState> module;
  void *function = nullptr;
  std::string kernelName;
};

/// A loaded cubin, fatbin or PTX image; unloaded with the last handle.
class Module {
public:
  /// The kernel `name` (an `.entry` of the image).
  Expected<Kernel> kernel(const std::string &name) const;

private:
  friend class Device;
  std::shared_ptr<ModuleState> state;
};

struct Dim3 {
  unsigned x = 1, y = 1, z = 1;
  uint64_t count() const { return uint64_t(x) * y * z; }
};

struct LaunchConfig {
  Dim3 grid, block;
  /// Thread-block cluster shape (sm_90); all ones launches without clusters.
  Dim3 cluster;
  unsigned dynamicSharedBytes = 0;
};

/// Packs kernel arguments the way cuLaunchKernel takes them (an array of
/// pointers to the values). Values are copied, so temporaries are fine.
class KernelArgs {
public:
  template <typename T> KernelArgs &add(const T &value) {
    static_assert(std::is_trivially_copyable_v<T>, "kernel args are PODs");
    append(&value, sizeof(T), alignof(T));
    return *this;
  }
  KernelArgs &add(const Buffer &buffer) { return add(buffer.address()); }
  /// A memref argument of MLIR's default GPU calling convention: allocated
  /// and aligned pointer, offset, sizes, strides (row-major, contiguous).
  KernelArgs &addMemRef(const Buffer &buffer,
                        const std::vector<int64_t> &shape);

  /// Pointers to each value; valid until the next add().
  void **pointers();
  size_t size() const { return offsets.size(); }

private:
  void append(const void *value, size_t size, size_t align);
  std::vector<uint64_t> storage; ///< 8-byte aligned backing store
  size_t used = 0;
  std::vector<size_t> offsets;
  std::vector<void *> ptrs;
};

/// A device with its primary context made current around every call.
class Device {
public:
  /// Device `ordinal` of the process-wide driver.
  static Expected<Device> open(int ordinal = 0);

  const DeviceInfo &info() const;
  Expected<Buffer> allocate(size_t bytes) const;
  /// Loads a cubin/fatbin, or PTX text (NUL-terminated) that the driver
  /// compiles for this device; a rejected image's error names the driver's
  /// JIT log.
  Expected<Module> loadModule(const void *image, size_t size) const;
  Expected<Stream> createStream() const;
  /// Launches `kernel` on `stream` (the default stream if null).
  Error launch(const Kernel &kernel, const LaunchConfig &config,
               KernelArgs &args, const Stream *stream = nullptr) const;
  /// Waits for all work on the device.
  Error synchronize() const;
  /// Free and total device memory in bytes.
  Expected<std::pair<size_t, size_t>> memoryInfo() const;

  const std::shared_ptr<DeviceState> &state() const { return impl; }

private:
  friend class Driver;
  explicit Device(std::shared_ptr<DeviceState> impl) : impl(std::move(impl)) {}
  std::shared_ptr<DeviceState> impl;
};

} // namespace circ::rt::cuda

#endif // CIRC_RUNTIME_CUDA_H
