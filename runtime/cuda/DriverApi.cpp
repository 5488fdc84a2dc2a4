//===- DriverApi.cpp - open libcuda with dlopen and initialise it -*- C++
//-*-===//
//
// Turns every way of not having a GPU into one clear sentence: the library
// is missing, it is the toolkit's link-time stub, an entry point is missing
// (driver too old), or cuInit finds no device.
//
//===----------------------------------------------------------------------===//

#include "DriverApi.h"

#include <cstring>
#include <dlfcn.h>

namespace circ::rt::cuda::driver {

std::string resultName(Result result) {
  switch (result) {
  case kSuccess:
    return "CUDA_SUCCESS";
  case kErrorInvalidValue:
    return "CUDA_ERROR_INVALID_VALUE";
  case kErrorOutOfMemory:
    return "CUDA_ERROR_OUT_OF_MEMORY";
  case kErrorNotInitialized:
    return "CUDA_ERROR_NOT_INITIALIZED";
  case kErrorStubLibrary:
    return "CUDA_ERROR_STUB_LIBRARY";
  case kErrorNoDevice:
    return "CUDA_ERROR_NO_DEVICE";
  case kErrorInvalidImage:
    return "CUDA_ERROR_INVALID_IMAGE";
  case kErrorNoBinaryForGpu:
    return "CUDA_ERROR_NO_BINARY_FOR_GPU";
  case kErrorInvalidPtx:
    return "CUDA_ERROR_INVALID_PTX";
  case kErrorNotFound:
    return "CUDA_ERROR_NOT_FOUND";
  case kErrorLaunchFailed:
    return "CUDA_ERROR_LAUNCH_FAILED";
  default:
    return "CUDA error " + std::to_string(result);
  }
}

std::string Library::describe(const char *call, Result result) const {
  if (result == kSuccess)
    return "";
  const char *name = nullptr, *text = nullptr;
  if (entryPoints.cuGetErrorName(result, &name) != kSuccess || !name)
    name = nullptr;
  if (entryPoints.cuGetErrorString(result, &text) != kSuccess || !text)
    text = nullptr;
  std::string message = std::string(call) + ": ";
  message += name ? std::string(name) : resultName(result);
  if (text)
    message += std::string(" (") + text + ")";
  return message;
}

Error Library::check(Result result, const char *call,
                     const std::string &context) const {
  if (result == kSuccess)
    return Error::success();
  std::string message = context.empty() ? "" : context + ": ";
  return Error::failure(message + describe(call, result));
}

Expected<std::unique_ptr<Library>> Library::open(const std::string &path) {
  std::unique_ptr<Library> lib(new Library());
  lib->libraryPath = path;
  dlerror();
  lib->handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!lib->handle) {
    const char *detail = dlerror();
    std::string why = detail ? detail : "";
    if (why.find("No such file") != std::string::npos || why.empty())
      return Error::failure("no CUDA driver (" + path + " not found)");
    return Error::failure("no CUDA driver (cannot load " + path + ": " + why +
                          ")");
  }

#define CIRC_CUDA_RESOLVE(name, symbol, required, signature)                   \
  lib->entryPoints.name = reinterpret_cast<std::add_pointer_t<signature>>(     \
      dlsym(lib->handle, symbol));                                             \
  if (required && !lib->entryPoints.name)                                      \
    return Error::failure("CUDA driver " + path +                              \
                          " lacks " symbol " (driver older than CUDA 12?)");
  CIRC_CUDA_DRIVER_FUNCTIONS(CIRC_CUDA_RESOLVE)
#undef CIRC_CUDA_RESOLVE

  lib->initialised = true;
  Result init = lib->entryPoints.cuInit(0);
  if (init == kErrorStubLibrary)
    return Error::failure("no CUDA driver (" + path +
                          " is the CUDA toolkit's link stub, not a driver)");
  if (init == kErrorNoDevice)
    return Error::failure("no CUDA device (the driver in " + path +
                          " found none)");
  if (init != kSuccess)
    return Error::failure("CUDA driver " + path + " failed to initialise: " +
                          lib->describe("cuInit", init));
  if (Error e = lib->check(lib->entryPoints.cuDriverGetVersion(&lib->version),
                           "cuDriverGetVersion"))
    return e;
  if (Error e = lib->check(lib->entryPoints.cuDeviceGetCount(&lib->devices),
                           "cuDeviceGetCount"))
    return e;
  if (lib->devices == 0)
    return Error::failure("no CUDA device (the driver in " + path +
                          " found none)");
  return lib;
}

Library::~Library() {
  // The driver keeps process-wide state (contexts, threads) that must outlive
  // every handle; like the CUDA runtime, never unload it once initialised.
  if (handle && !initialised)
    dlclose(handle);
}

} // namespace circ::rt::cuda::driver
