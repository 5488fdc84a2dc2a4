//===- DeviceState.h - a device's primary context, shared by handles -*- C++
//-*-//
//
// Private to the CUDA runtime. Buffers, streams, modules and the mgpu* ABI
// all hold a shared_ptr to one DeviceState, so the primary context (and the
// driver library) stay alive until the last handle is gone.
//
//===----------------------------------------------------------------------===//
#ifndef CIRC_RUNTIME_CUDA_DEVICESTATE_H
#define CIRC_RUNTIME_CUDA_DEVICESTATE_H

#include "DriverApi.h"
#include "circ_runtime/Cuda.h"

namespace circ::rt::cuda {

struct DeviceState {
  std::shared_ptr<Driver> driver;
  const driver::Library &lib;
  driver::DeviceOrdinal device = 0;
  driver::Context context = nullptr;
  DeviceInfo info;

  DeviceState(std::shared_ptr<Driver> driver, driver::DeviceOrdinal device,
              driver::Context context)
      : driver(std::move(driver)), lib(this->driver->library()), device(device),
        context(context) {}
  ~DeviceState();

  const driver::Api &api() const { return lib.api(); }
  Error check(driver::Result result, const char *call,
              const std::string &context = "") const {
    return lib.check(result, call, context);
  }
};

/// Makes the device's primary context current on this thread for the
/// lifetime of the object (push/pop, so callers' contexts are preserved).
class ContextScope {
public:
  explicit ContextScope(const DeviceState &state);
  ~ContextScope();
  ContextScope(const ContextScope &) = delete;
  ContextScope &operator=(const ContextScope &) = delete;
  /// The push's outcome; a failed push pops nothing.
  const Error &status() const { return pushed; }

private:
  const DeviceState &state;
  Error pushed;
};

struct ModuleState {
  std::shared_ptr<DeviceState> device;
  driver::Module module = nullptr;
  ~ModuleState();
};

} // namespace circ::rt::cuda

#endif // CIRC_RUNTIME_CUDA_DEVICESTATE_H
