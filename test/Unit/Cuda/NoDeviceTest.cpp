//===- NoDeviceTest.cpp - the CUDA runtime without a driver -----*- C++ -*-===//
//
// What every machine without a GPU sees: this binary does not link libcuda,
// starts, and every entry point fails with a clear message instead of
// crashing. main() points the runtime at a driver path that cannot exist, so
// the test behaves the same on machines that do have a GPU.
//
//===----------------------------------------------------------------------===//

#include "circ_runtime/Cuda.h"
#include "circ_runtime/CudaAbi.h"
#include "circ_runtime/CudaParameterStore.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <link.h>
#include <sys/stat.h>

using namespace circ::rt;
using namespace circ::rt::cuda;

namespace {

const char *kAbsentDriver = "/nonexistent/circ-test/libcuda.so.1";
const std::string kNoDriver =
    std::string("no CUDA driver (") + kAbsentDriver + " not found)";

TEST(CudaNoDevice, GlobalDriverReportsMissingLibrary) {
  EXPECT_EQ(driverLibraryPath(), kAbsentDriver);
  Expected<std::shared_ptr<Driver>> drv = Driver::global();
  ASSERT_FALSE(drv);
  EXPECT_EQ(drv.message(), kNoDriver);
  // The answer is computed once and stays the same.
  EXPECT_EQ(Driver::global().message(), kNoDriver);
}

TEST(CudaNoDevice, DeviceOpenFailsWithTheDriverMessage) {
  Expected<Device> dev = Device::open(0);
  ASSERT_FALSE(dev);
  EXPECT_EQ(dev.message(), kNoDriver);
  EXPECT_EQ(Device::open(3).message(), kNoDriver);
}

TEST(CudaNoDevice, DefaultLibraryNameIsLibcudaSo1) {
  const char *saved = std::getenv("CIRC_CUDA_DRIVER");
  std::string keep = saved ? saved : "";
  unsetenv("CIRC_CUDA_DRIVER");
  EXPECT_EQ(driverLibraryPath(), "libcuda.so.1");
  setenv("CIRC_CUDA_DRIVER", "", 1);
  EXPECT_EQ(driverLibraryPath(), "libcuda.so.1");
  setenv("CIRC_CUDA_DRIVER", keep.c_str(), 1);
}

TEST(CudaNoDevice, MissingLibraryByName) {
  // A bare name is searched like dlopen does (LD_LIBRARY_PATH, ld.so.cache).
  Expected<std::shared_ptr<Driver>> drv =
      Driver::load("libcuda-circ-absent.so.1");
  ASSERT_FALSE(drv);
  EXPECT_EQ(drv.message(),
            "no CUDA driver (libcuda-circ-absent.so.1 not found)");
}

TEST(CudaNoDevice, LibraryWithoutDriverEntryPoints) {
  Expected<std::shared_ptr<Driver>> drv = Driver::load("libm.so.6");
  ASSERT_FALSE(drv);
  EXPECT_EQ(drv.message(),
            "CUDA driver libm.so.6 lacks cuInit (driver older than CUDA 12?)");
}

TEST(CudaNoDevice, ToolkitStubIsNotADriver) {
  const char *home = std::getenv("CUDA_HOME");
  std::string stub = std::string(home && *home ? home : "/usr/local/cuda") +
                     "/lib64/stubs/libcuda.so";
  struct stat st;
  if (stat(stub.c_str(), &st) != 0)
    GTEST_SKIP() << "no CUDA toolkit stub at " << stub;
  Expected<std::shared_ptr<Driver>> drv = Driver::load(stub);
  ASSERT_FALSE(drv);
  EXPECT_EQ(drv.message(), "no CUDA driver (" + stub +
                               " is the CUDA toolkit's link stub, not a "
                               "driver)");
}

TEST(CudaNoDevice, ProcessNeverLoadedLibcuda) {
  // Not linked, and never opened by the runtime when pointed elsewhere (the
  // stub test above loads a file named libcuda.so, not the driver).
  bool found = false;
  dl_iterate_phdr(
      [](dl_phdr_info *info, size_t, void *data) {
        const char *slash =
            info->dlpi_name ? std::strrchr(info->dlpi_name, '/') : nullptr;
        const char *base = slash ? slash + 1 : info->dlpi_name;
        if (base && std::strcmp(base, "libcuda.so.1") == 0)
          *static_cast<bool *>(data) = true;
        return 0;
      },
      &found);
  EXPECT_FALSE(found);
}

TEST(CudaNoDevice, MgpuAbiFailsSoftAndRemembersTheFirstError) {
  circCudaResetError();
  testing::internal::CaptureStderr();
  EXPECT_EQ(mgpuStreamCreate(), nullptr);
  EXPECT_EQ(mgpuMemAlloc(1024, nullptr, false), nullptr);
  EXPECT_EQ(mgpuMemAlloc(1024, nullptr, true), nullptr);
  const char ptx[] = ".version 8.0\n.target sm_90\n";
  EXPECT_EQ(mgpuModuleLoadJIT(const_cast<char *>(ptx), 2), nullptr);
  EXPECT_EQ(mgpuModuleLoad(const_cast<char *>(ptx), sizeof(ptx)), nullptr);
  EXPECT_EQ(mgpuEventCreate(), nullptr);
  float host[4] = {1, 2, 3, 4};
  mgpuMemcpy(host, host + 2, 8, nullptr);
  mgpuMemset32(host, 7u, 2, nullptr);
  mgpuStreamSynchronize(nullptr);
  mgpuMemHostRegister(host, sizeof(host));
  std::string err = testing::internal::GetCapturedStderr();

  // Nothing touched host memory, the error was printed exactly once.
  EXPECT_EQ(host[0], 1.0f);
  EXPECT_EQ(host[2], 3.0f);
  EXPECT_EQ(err, "circ-cuda: error: " + kNoDriver + "\n");
  ASSERT_NE(circCudaGetError(), nullptr);
  EXPECT_EQ(std::string(circCudaGetError()), kNoDriver);
  EXPECT_EQ(circCudaErrorCount(), 10);

  // Null handles are ignored without counting as new failures.
  mgpuModuleUnload(nullptr);
  EXPECT_EQ(mgpuModuleGetFunction(nullptr, "k"), nullptr);
  mgpuLaunchKernel(nullptr, 1, 1, 1, 1, 1, 1, 0, nullptr, nullptr, nullptr, 0);
  mgpuStreamDestroy(nullptr);
  mgpuEventDestroy(nullptr);
  mgpuMemFree(nullptr, nullptr);
  EXPECT_EQ(circCudaErrorCount(), 10);

  circCudaResetError();
  EXPECT_EQ(circCudaGetError(), nullptr);
  EXPECT_EQ(circCudaErrorCount(), 0);
}

TEST(CudaNoDevice, KernelArgsPackValuesAtTheirAlignment) {
  KernelArgs args;
  args.add(1.5f).add(int64_t(-7)).add(int32_t(3)).add(uint8_t(9));
  ASSERT_EQ(args.size(), 4u);
  void **p = args.pointers();
  EXPECT_EQ(*static_cast<float *>(p[0]), 1.5f);
  EXPECT_EQ(*static_cast<int64_t *>(p[1]), -7);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(p[1]) % alignof(int64_t), 0u);
  EXPECT_EQ(*static_cast<int32_t *>(p[2]), 3);
  EXPECT_EQ(*static_cast<uint8_t *>(p[3]), 9);
}

TEST(CudaNoDevice, KernelArgsMemRefIsTheExpandedDescriptor) {
  // An unallocated buffer has address 0; the descriptor shape is what counts:
  // allocated, aligned, offset, sizes..., strides... (row-major).
  Buffer none;
  KernelArgs args;
  args.addMemRef(none, {4, 5, 6});
  ASSERT_EQ(args.size(), 3u + 3 + 3);
  void **p = args.pointers();
  auto at = [&](int i) { return *static_cast<int64_t *>(p[i]); };
  EXPECT_EQ(at(2), 0);
  EXPECT_EQ(at(3), 4);
  EXPECT_EQ(at(4), 5);
  EXPECT_EQ(at(5), 6);
  EXPECT_EQ(at(6), 30);
  EXPECT_EQ(at(7), 6);
  EXPECT_EQ(at(8), 1);
}

} // namespace

int main(int argc, char **argv) {
  setenv("CIRC_CUDA_DRIVER", kAbsentDriver, 1);
  testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
