//===- MockDriverTest.cpp - the CUDA runtime over a host-memory driver -*- C++
//-*-//
//
// Runs the runtime against libcirc_mock_cuda.so (see MockDriver.h): device
// memory, modules, launches, the device parameter store and the mgpu* ABI,
// checked against host computations and the mock's live-handle accounting.
//
//===----------------------------------------------------------------------===//

#include "MockDriver.h"
#include "circ_runtime/Cuda.h"
#include "circ_runtime/CudaAbi.h"
#include "circ_runtime/CudaParameterStore.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <dlfcn.h>
#include <numeric>

using namespace circ;
using namespace circ::rt;
using namespace circ::rt::cuda;

namespace {

struct Mock {
  MockConfigureFn configure;
  MockRegisterKernelFn registerKernel;
  MockStatsFn stats;
  MockFailAllocationsFn failAllocations;
};

const Mock &mock() {
  static Mock m = [] {
    void *h = dlopen(CIRC_MOCK_CUDA_PATH, RTLD_NOW);
    if (!h) {
      std::fprintf(stderr, "cannot load the mock driver: %s\n", dlerror());
      std::abort();
    }
    return Mock{
        reinterpret_cast<MockConfigureFn>(dlsym(h, "mockCudaConfigure")),
        reinterpret_cast<MockRegisterKernelFn>(
            dlsym(h, "mockCudaRegisterKernel")),
        reinterpret_cast<MockStatsFn>(dlsym(h, "mockCudaStats")),
        reinterpret_cast<MockFailAllocationsFn>(
            dlsym(h, "mockCudaFailAllocations"))};
  }();
  return m;
}

const char kPtx[] = "//\n.version 8.0\n.target sm_90\n.address_size 64\n"
                    ".visible .entry saxpy(\n.param .f32 a)\n{\nret;\n}\n"
                    ".visible .entry saxpy_tail\n{\nret;\n}\n";

/// y[i] = a * x[i] + y[i] over the launch's threads: (a, x, y, n).
void hostSaxpy(const MockLaunch *l) {
  float a = *static_cast<float *>(l->params[0]);
  auto *x = reinterpret_cast<float *>(*static_cast<uint64_t *>(l->params[1]));
  auto *y = reinterpret_cast<float *>(*static_cast<uint64_t *>(l->params[2]));
  int n = *static_cast<int32_t *>(l->params[3]);
  for (unsigned b = 0; b < l->grid[0]; ++b)
    for (unsigned t = 0; t < l->block[0]; ++t) {
      int i = int(b * l->block[0] + t);
      if (i < n)
        y[i] = a * x[i] + y[i];
    }
}

Device openDevice() {
  Expected<Device> dev = Device::open(0);
  if (!dev) {
    ADD_FAILURE() << dev.message();
    std::abort();
  }
  return std::move(*dev);
}

class CudaMock : public testing::Test {
protected:
  void SetUp() override {
    mock().configure(0, 1);
    base = mock().stats();
  }
  void TearDown() override {
    MockStats now = mock().stats();
    EXPECT_EQ(now.contextDepth, 0) << "unbalanced context push/pop";
    EXPECT_EQ(now.liveAllocations, base.liveAllocations) << "leaked memory";
    EXPECT_EQ(now.liveModules, base.liveModules) << "leaked module";
    EXPECT_EQ(now.liveStreams, base.liveStreams) << "leaked stream";
    EXPECT_EQ(now.liveEvents, base.liveEvents) << "leaked event";
  }
  MockStats base;
};

TEST_F(CudaMock, DriverAndDeviceInfo) {
  Expected<std::shared_ptr<Driver>> drv = Driver::global();
  ASSERT_TRUE(drv) << drv.message();
  EXPECT_EQ((*drv)->version(), 13000);
  EXPECT_EQ((*drv)->deviceCount(), 1);
  {
    Device dev = openDevice();
    EXPECT_EQ(dev.info().name, "Circ Mock GPU");
    EXPECT_EQ(dev.info().arch(), "sm_90");
    EXPECT_EQ(dev.info().multiprocessors, 132);
    EXPECT_EQ(dev.info().maxSharedPerBlockOptin, 232448);
    EXPECT_EQ(dev.info().totalMemory, size_t(80) << 30);
    EXPECT_EQ(mock().stats().primaryRetains, base.primaryRetains + 1);
  }
  // The primary context is released with the last handle.
  EXPECT_EQ(mock().stats().primaryRetains, base.primaryRetains);
  EXPECT_EQ(Device::open(5).message(),
            "no CUDA device 5 (the driver reports 1)");
}

TEST_F(CudaMock, DriverWithoutDevices) {
  mock().configure(100, 0); // CUDA_ERROR_NO_DEVICE from cuInit
  Expected<std::shared_ptr<Driver>> drv = Driver::load(CIRC_MOCK_CUDA_PATH);
  ASSERT_FALSE(drv);
  EXPECT_EQ(drv.message(), std::string("no CUDA device (the driver in ") +
                               CIRC_MOCK_CUDA_PATH + " found none)");
  mock().configure(0, 0); // initialises but counts none
  EXPECT_EQ(Driver::load(CIRC_MOCK_CUDA_PATH).message(), drv.message());
  // Any other failure names the code, by the runtime's own table when the
  // driver cannot name it.
  mock().configure(3, 1);
  EXPECT_EQ(Driver::load(CIRC_MOCK_CUDA_PATH).message(),
            std::string("CUDA driver ") + CIRC_MOCK_CUDA_PATH +
                " failed to initialise: cuInit: CUDA_ERROR_NOT_INITIALIZED");
  mock().configure(999, 1);
  EXPECT_EQ(Driver::load(CIRC_MOCK_CUDA_PATH).message(),
            std::string("CUDA driver ") + CIRC_MOCK_CUDA_PATH +
                " failed to initialise: cuInit: CUDA error 999");
}

TEST_F(CudaMock, BufferRoundTripAndBounds) {
  Device dev = openDevice();
  Expected<Buffer> buf = dev.allocate(64);
  ASSERT_TRUE(buf) << buf.message();
  EXPECT_EQ(buf->size(), 64u);
  EXPECT_EQ(mock().stats().liveBytes, base.liveBytes + 64);

  std::vector<float> in(16), out(16, -1);
  std::iota(in.begin(), in.end(), 0.5f);
  ASSERT_FALSE(buf->upload(in.data(), 64));
  ASSERT_FALSE(buf->download(out.data(), 64));
  EXPECT_EQ(in, out);

  // Partial copies at an offset.
  float two[2] = {100, 200};
  ASSERT_FALSE(buf->upload(two, 8, 56));
  ASSERT_FALSE(buf->download(out.data(), 64));
  EXPECT_EQ(out[14], 100);
  EXPECT_EQ(out[15], 200);
  EXPECT_EQ(out[13], in[13]);

  Error e = buf->upload(two, 8, 60);
  ASSERT_TRUE(e);
  EXPECT_EQ(e.message(),
            "upload of 8 bytes at offset 60 exceeds the 64-byte device buffer");
  EXPECT_EQ(buf->download(out.data(), 1, 65).message(),
            "download of 1 bytes at offset 65 exceeds the 64-byte device "
            "buffer");

  ASSERT_FALSE(buf->fill32(0x3f800000u)); // 1.0f
  ASSERT_FALSE(buf->download(out.data(), 64));
  for (float v : out)
    EXPECT_EQ(v, 1.0f);

  // Moving transfers ownership; the moved-from buffer frees nothing.
  Buffer moved = std::move(*buf);
  EXPECT_EQ(buf->size(), 0u);
  EXPECT_EQ(moved.size(), 64u);
  EXPECT_EQ(mock().stats().liveAllocations, base.liveAllocations + 1);
}

TEST_F(CudaMock, AllocationFailureNamesTheSize) {
  Device dev = openDevice();
  mock().failAllocations(1);
  Expected<Buffer> buf = dev.allocate(1 << 20);
  ASSERT_FALSE(buf);
  EXPECT_EQ(buf.message(), "allocating 1048576 bytes on Circ Mock GPU: "
                           "cuMemAlloc: CUDA_ERROR_OUT_OF_MEMORY (out of "
                           "memory)");
  EXPECT_TRUE(dev.allocate(16)); // the next one succeeds
}

TEST_F(CudaMock, ModulesAndKernels) {
  Device dev = openDevice();
  // PTX without its NUL terminator is accepted (copied and terminated).
  Expected<Module> mod = dev.loadModule(kPtx, sizeof(kPtx) - 1);
  ASSERT_TRUE(mod) << mod.message();
  EXPECT_EQ(mock().stats().liveModules, base.liveModules + 1);

  Expected<Kernel> k = mod->kernel("saxpy");
  ASSERT_TRUE(k) << k.message();
  EXPECT_EQ(k->name(), "saxpy");
  Expected<KernelAttributes> attrs = k->attributes();
  ASSERT_TRUE(attrs) << attrs.message();
  EXPECT_EQ(attrs->registers, 40);
  EXPECT_EQ(attrs->staticSharedBytes, 4096);
  EXPECT_EQ(attrs->localBytes, 16);

  EXPECT_TRUE(mod->kernel("saxpy_tail"));
  EXPECT_EQ(mod->kernel("sax").message(),
            "the GPU module has no kernel named 'sax'");

  const char bad[] = "this is not PTX";
  Expected<Module> rejected = dev.loadModule(bad, sizeof(bad));
  ASSERT_FALSE(rejected);
  EXPECT_EQ(rejected.message(),
            "cannot load GPU module on Circ Mock GPU (sm_90): "
            "cuModuleLoadDataEx: CUDA_ERROR_INVALID_PTX; driver JIT log:\n"
            "mock ptxas: no .version directive");
  EXPECT_EQ(dev.loadModule(nullptr, 0).message(),
            "cannot load an empty GPU module image");

  // A kernel keeps its module loaded after the Module handle is gone.
  Kernel kept = std::move(*k);
  *mod = Module();
  EXPECT_EQ(mock().stats().liveModules, base.liveModules + 1);
}

TEST_F(CudaMock, LaunchRunsWithPackedArguments) {
  mock().registerKernel("saxpy", hostSaxpy);
  Device dev = openDevice();
  Expected<Module> mod = dev.loadModule(kPtx, sizeof(kPtx));
  ASSERT_TRUE(mod) << mod.message();
  Expected<Kernel> k = mod->kernel("saxpy");
  ASSERT_TRUE(k);

  const int n = 1000;
  std::vector<float> x(n), y(n), expect(n), got(n);
  for (int i = 0; i < n; ++i) {
    x[i] = 0.25f * float(i);
    y[i] = 3.0f - float(i % 7);
    expect[i] = 2.0f * x[i] + y[i];
  }
  Expected<Buffer> dx = dev.allocate(n * 4), dy = dev.allocate(n * 4);
  ASSERT_TRUE(dx && dy);
  ASSERT_FALSE(dx->upload(x.data(), n * 4));
  ASSERT_FALSE(dy->upload(y.data(), n * 4));

  Expected<Stream> stream = dev.createStream();
  ASSERT_TRUE(stream) << stream.message();
  LaunchConfig cfg;
  cfg.grid = {(n + 255) / 256, 1, 1};
  cfg.block = {256, 1, 1};
  KernelArgs args;
  args.add(2.0f).add(*dx).add(*dy).add(int32_t(n));
  ASSERT_FALSE(dev.launch(*k, cfg, args, &*stream));
  ASSERT_FALSE(stream->synchronize());
  ASSERT_FALSE(dev.synchronize());
  ASSERT_FALSE(dy->download(got.data(), n * 4));
  EXPECT_EQ(got, expect);

  MockStats st = mock().stats();
  EXPECT_EQ(st.lastLaunch.grid[0], 4u);
  EXPECT_EQ(st.lastLaunch.block[0], 256u);
  EXPECT_EQ(st.lastLaunch.stream, stream->handle());
}

TEST_F(CudaMock, LaunchConfigurationIsChecked) {
  Device dev = openDevice();
  Expected<Module> mod = dev.loadModule(kPtx, sizeof(kPtx));
  ASSERT_TRUE(mod);
  Expected<Kernel> k = mod->kernel("saxpy_tail");
  ASSERT_TRUE(k);
  KernelArgs none;

  LaunchConfig cfg;
  cfg.block = {32, 33, 1};
  EXPECT_EQ(dev.launch(*k, cfg, none).message(),
            "launching saxpy_tail: 1056 threads per block, the device "
            "allows 1024");
  cfg.block = {0, 1, 1};
  EXPECT_EQ(dev.launch(*k, cfg, none).message(),
            "launching saxpy_tail: empty grid or block");
  cfg.block = {128, 1, 1};
  cfg.dynamicSharedBytes = 300000;
  EXPECT_EQ(dev.launch(*k, cfg, none).message(),
            "launching saxpy_tail: 300000 bytes of dynamic shared memory, "
            "the device allows 232448");

  // Above 48 KiB the kernel opts in before the launch.
  cfg.dynamicSharedBytes = 100000;
  ASSERT_FALSE(dev.launch(*k, cfg, none));
  EXPECT_EQ(mock().stats().lastDynamicSharedAttribute, 100000);
  EXPECT_EQ(mock().stats().lastLaunch.sharedBytes, 100000u);

  // Clusters go through cuLaunchKernelEx with the cluster attribute.
  cfg.dynamicSharedBytes = 0;
  cfg.grid = {8, 2, 1};
  cfg.cluster = {2, 1, 1};
  ASSERT_FALSE(dev.launch(*k, cfg, none));
  MockStats st = mock().stats();
  EXPECT_EQ(st.lastLaunch.cluster[0], 2u);
  EXPECT_EQ(st.lastLaunch.grid[0], 8u);
  EXPECT_EQ(st.lastLaunch.grid[1], 2u);
  cfg.grid = {7, 1, 1};
  EXPECT_EQ(dev.launch(*k, cfg, none).message(),
            "launching saxpy_tail: the grid is not a whole number of "
            "clusters");
  EXPECT_EQ(dev.launch(Kernel(), cfg, none).message(),
            "launching : not a kernel of a loaded module");
}

TEST_F(CudaMock, MemoryInfo) {
  Device dev = openDevice();
  Expected<Buffer> b = dev.allocate(4096);
  ASSERT_TRUE(b);
  Expected<std::pair<size_t, size_t>> info = dev.memoryInfo();
  ASSERT_TRUE(info) << info.message();
  EXPECT_EQ(info->second, size_t(80) << 30);
  EXPECT_EQ(info->first, info->second - size_t(mock().stats().liveBytes));
}

//===----------------------------------------------------------------------===//
// Device parameter store
//===----------------------------------------------------------------------===//

ModelConfig tinyModel() {
  ModelConfig c;
  c.nLayer = 1;
  c.dModel = 32;
  c.dHead = 16;
  c.dMlp = 64;
  c.ctx = 16;
  c.vocab = 64;
  c.weightDensity = 0.25;
  return c;
}

/// CSR and CSC of a dense row-major matrix, built by plain loops.
struct HostIndex {
  std::vector<int32_t> rowPtr, colIdx, colPtr, rowIdx;
  std::vector<float> rowValues, colValues;
  SparseIndexView view(int64_t rows, int64_t cols) const {
    SparseIndexView v;
    v.rows = rows;
    v.cols = cols;
    v.nnz = int64_t(colIdx.size());
    v.rowPtr = rowPtr.data();
    v.colIdx = colIdx.data();
    v.rowValues = rowValues.data();
    v.colPtr = colPtr.data();
    v.rowIdx = rowIdx.data();
    v.colValues = colValues.data();
    return v;
  }
};

HostIndex indexOf(const std::vector<float> &w, int64_t rows, int64_t cols) {
  HostIndex h;
  h.rowPtr.push_back(0);
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t c = 0; c < cols; ++c)
      if (w[r * cols + c] != 0) {
        h.colIdx.push_back(int32_t(c));
        h.rowValues.push_back(w[r * cols + c]);
      }
    h.rowPtr.push_back(int32_t(h.colIdx.size()));
  }
  h.colPtr.push_back(0);
  for (int64_t c = 0; c < cols; ++c) {
    for (int64_t r = 0; r < rows; ++r)
      if (w[r * cols + c] != 0) {
        h.rowIdx.push_back(int32_t(r));
        h.colValues.push_back(w[r * cols + c]);
      }
    h.colPtr.push_back(int32_t(h.rowIdx.size()));
  }
  return h;
}

template <typename T> std::vector<T> fetch(const Buffer &b, size_t count) {
  std::vector<T> out(count);
  EXPECT_FALSE(b.download(out.data(), count * sizeof(T)));
  return out;
}

TEST_F(CudaMock, ParameterStoreHoldsEverySlot) {
  Device dev = openDevice();
  std::vector<ParamSpec> params = modelParameters(tinyModel());
  size_t numel = 0;
  for (const ParamSpec &p : params)
    numel += size_t(p.numel());
  {
    Expected<DeviceParameterStore> store =
        DeviceParameterStore::create(dev, params);
    ASSERT_TRUE(store) << store.message();
    ASSERT_EQ(store->size(), params.size());
    EXPECT_EQ(store->deviceBytes(), numel * 4 * sizeof(float));

    Expected<size_t> fc = store->find("h.0.mlp.c_fc.weight");
    ASSERT_TRUE(fc) << fc.message();
    const ParamSpec &spec = (*store)[*fc].spec;
    std::vector<float> w(size_t(spec.numel()));
    for (size_t i = 0; i < w.size(); ++i)
      w[i] = float(i % 5) - 2.0f;
    ASSERT_FALSE(store->upload(*fc, Slot::Values, w.data()));
    ASSERT_FALSE(store->upload(*fc, Slot::AdamV, w.data()));
    std::vector<float> got(w.size(), 9), zero(w.size(), 0);
    ASSERT_FALSE(store->download(*fc, Slot::Values, got.data()));
    EXPECT_EQ(got, w);
    ASSERT_FALSE(store->download(*fc, Slot::AdamV, got.data()));
    EXPECT_EQ(got, w);
    // Slots start zeroed and are independent.
    ASSERT_FALSE(store->download(*fc, Slot::Grad, got.data()));
    EXPECT_EQ(got, zero);
    ASSERT_FALSE(store->download(*fc, Slot::AdamM, got.data()));
    EXPECT_EQ(got, zero);

    EXPECT_EQ(store->find("h.9.nothing").message(),
              "no parameter named 'h.9.nothing' on the device");
    EXPECT_EQ(store->upload(999, Slot::Values, w.data()).message(),
              "parameter index 999 out of range (the store holds " +
                  std::to_string(params.size()) + ")");
  }
  EXPECT_EQ(mock().stats().liveAllocations, base.liveAllocations);
}

TEST_F(CudaMock, ParameterStoreSparseIndex) {
  Device dev = openDevice();
  Expected<DeviceParameterStore> store =
      DeviceParameterStore::create(dev, modelParameters(tinyModel()));
  ASSERT_TRUE(store) << store.message();
  Expected<size_t> fc = store->find("h.0.mlp.c_fc.weight");
  ASSERT_TRUE(fc);
  const int64_t rows = (*store)[*fc].spec.shape[0];
  const int64_t cols = (*store)[*fc].spec.shape[1];

  std::vector<float> w(size_t(rows * cols), 0);
  for (int64_t i = 0; i < rows * cols; i += 37)
    w[size_t(i)] = 1.0f + float(i);
  HostIndex h = indexOf(w, rows, cols);
  ASSERT_FALSE(store->uploadIndex(*fc, h.view(rows, cols)));
  const auto &e = (*store)[*fc];
  const size_t nnz = h.colIdx.size();
  EXPECT_EQ(e.nnz, int64_t(nnz));
  EXPECT_GE(e.capacity, int64_t(nnz));
  EXPECT_EQ(fetch<int32_t>(e.rowPtr, size_t(rows + 1)), h.rowPtr);
  EXPECT_EQ(fetch<int32_t>(e.colIdx, nnz), h.colIdx);
  EXPECT_EQ(fetch<float>(e.rowValues, nnz), h.rowValues);
  EXPECT_EQ(fetch<int32_t>(e.colPtr, size_t(cols + 1)), h.colPtr);
  EXPECT_EQ(fetch<int32_t>(e.rowIdx, nnz), h.rowIdx);
  EXPECT_EQ(fetch<float>(e.colValues, nnz), h.colValues);

  // A denser support grows the capacity; a sparser one reuses it.
  for (int64_t i = 0; i < rows * cols; i += 3)
    w[size_t(i)] = -1.0f;
  HostIndex denser = indexOf(w, rows, cols);
  ASSERT_FALSE(store->uploadIndex(*fc, denser.view(rows, cols)));
  const int64_t grown = e.capacity;
  EXPECT_GE(grown, int64_t(denser.colIdx.size()));
  ASSERT_FALSE(store->uploadIndex(*fc, h.view(rows, cols)));
  EXPECT_EQ(e.capacity, grown);
  EXPECT_EQ(fetch<int32_t>(e.colIdx, nnz), h.colIdx);

  EXPECT_EQ(store->uploadIndex(*fc, h.view(cols, rows)).message(),
            "sparse index of h.0.mlp.c_fc.weight: index is " +
                std::to_string(cols) + "x" + std::to_string(rows) +
                ", the parameter is " + std::to_string(rows) + "x" +
                std::to_string(cols));
  HostIndex broken = h;
  broken.rowPtr.back() += 1;
  EXPECT_EQ(store->uploadIndex(*fc, broken.view(rows, cols)).message(),
            "sparse index of h.0.mlp.c_fc.weight: rowPtr/colPtr end at " +
                std::to_string(nnz + 1) + "/" + std::to_string(nnz) +
                ", expected nnz = " + std::to_string(nnz));
  Expected<size_t> gain = store->find("h.0.ln_1.weight");
  ASSERT_TRUE(gain);
  EXPECT_EQ(store->uploadIndex(*gain, h.view(rows, cols)).message(),
            "sparse index of h.0.ln_1.weight: the parameter is dense");
}

//===----------------------------------------------------------------------===//
// mgpu* ABI
//===----------------------------------------------------------------------===//

TEST_F(CudaMock, MgpuAbiRunsAProgram) {
  mock().registerKernel("saxpy", hostSaxpy);
  circCudaResetError();
  const int n = 300;
  std::vector<float> x(n), y(n), expect(n), got(n);
  for (int i = 0; i < n; ++i) {
    x[i] = float(i) * 0.5f;
    y[i] = float(n - i);
    expect[i] = -1.0f * x[i] + y[i];
  }
  void *stream = mgpuStreamCreate();
  ASSERT_NE(stream, nullptr);
  void *dx = mgpuMemAlloc(n * 4, stream, false);
  void *dy = mgpuMemAlloc(n * 4, stream, true);
  ASSERT_TRUE(dx && dy);
  mgpuMemcpy(dx, x.data(), n * 4, stream);
  mgpuMemcpy(dy, y.data(), n * 4, stream);
  void *module = mgpuModuleLoadJIT(const_cast<char *>(kPtx), 3);
  ASSERT_NE(module, nullptr);
  void *fn = mgpuModuleGetFunction(module, "saxpy");
  ASSERT_NE(fn, nullptr);
  float a = -1.0f;
  int32_t count = n;
  void *params[] = {&a, &dx, &dy, &count};
  mgpuLaunchKernel(fn, 3, 1, 1, 128, 1, 1, 0, stream, params, nullptr, 4);
  void *event = mgpuEventCreate();
  mgpuEventRecord(event, stream);
  mgpuStreamWaitEvent(stream, event);
  mgpuEventSynchronize(event);
  mgpuEventDestroy(event);
  mgpuMemcpy(got.data(), dy, n * 4, stream);
  mgpuStreamSynchronize(stream);
  EXPECT_EQ(got, expect);

  // Memset32/16 fill words and half-words.
  mgpuMemset32(dx, 0x40000000u, n, stream); // 2.0f
  mgpuMemcpy(got.data(), dx, n * 4, stream);
  EXPECT_EQ(got[0], 2.0f);
  EXPECT_EQ(got[n - 1], 2.0f);
  mgpuMemset16(dx, 0xabcd, 2, stream);
  uint16_t half[4];
  mgpuMemcpy(half, dx, 8, stream);
  EXPECT_EQ(half[0], 0xabcd);
  EXPECT_EQ(half[1], 0xabcd);
  EXPECT_EQ(half[2], 0x0000); // the untouched 2.0f = 0x40000000, little end
  EXPECT_EQ(half[3], 0x4000);

  // Cluster launch passes cluster and grid through.
  mgpuLaunchClusterKernel(fn, 2, 1, 1, 4, 1, 1, 128, 1, 1, 0, stream, params,
                          nullptr);
  EXPECT_EQ(mock().stats().lastLaunch.cluster[0], 2u);
  EXPECT_EQ(mock().stats().lastLaunch.grid[0], 4u);

  mgpuMemFree(dx, stream);
  mgpuMemFree(dy, stream);
  mgpuModuleUnload(module);
  mgpuStreamDestroy(stream);
  EXPECT_EQ(circCudaGetError(), nullptr) << circCudaGetError();
}

TEST_F(CudaMock, MgpuAbiReportsFailures) {
  circCudaResetError();
  testing::internal::CaptureStderr();
  void *module = mgpuModuleLoadJIT(const_cast<char *>("garbage"), 2);
  std::string err = testing::internal::GetCapturedStderr();
  EXPECT_EQ(module, nullptr);
  EXPECT_EQ(err, "circ-cuda: error: cuModuleLoadDataEx: "
                 "CUDA_ERROR_INVALID_PTX; driver JIT log:\nmock ptxas: no "
                 ".version directive\n");

  circCudaResetError();
  void *good = mgpuModuleLoadJIT(const_cast<char *>(kPtx), 2);
  testing::internal::CaptureStderr();
  EXPECT_EQ(mgpuModuleGetFunction(good, "missing"), nullptr);
  mgpuLaunchKernel(mgpuModuleGetFunction(good, "saxpy"), 0, 1, 1, 1, 1, 1, 0,
                   nullptr, nullptr, nullptr, 0);
  err = testing::internal::GetCapturedStderr();
  EXPECT_EQ(err, "circ-cuda: error: the GPU module has no kernel named "
                 "'missing'\n");
  EXPECT_EQ(circCudaErrorCount(), 2); // the bad grid size counts too
  mgpuModuleUnload(good);

  circCudaResetError();
  mock().failAllocations(1);
  testing::internal::CaptureStderr();
  EXPECT_EQ(mgpuMemAlloc(4096, nullptr, false), nullptr);
  err = testing::internal::GetCapturedStderr();
  EXPECT_EQ(err, "circ-cuda: error: cuMemAlloc: CUDA_ERROR_OUT_OF_MEMORY "
                 "(out of memory) allocating 4096 bytes\n");
  circCudaResetError();
}

TEST_F(CudaMock, MgpuHostRegisterMemRef) {
  circCudaResetError();
  float data[6] = {0};
  // memref<2x3xf32>: {allocated, aligned, offset, sizes[2], strides[2]}.
  struct {
    float *allocated, *aligned;
    int64_t offset, sizes[2], strides[2];
  } dense = {data, data, 0, {2, 3}, {3, 1}},
    strided = {data, data, 0, {2, 2}, {3, 1}},
    column = {data, data, 1, {3, 1}, {1, 7}};
  mgpuMemHostRegisterMemRef(2, &dense, 4);
  EXPECT_EQ(mock().stats().liveHostRegistrations,
            base.liveHostRegistrations + 1);
  mgpuMemHostUnregisterMemRef(2, &dense, 4);
  EXPECT_EQ(mock().stats().liveHostRegistrations, base.liveHostRegistrations);
  EXPECT_EQ(circCudaGetError(), nullptr);

  testing::internal::CaptureStderr();
  mgpuMemHostRegisterMemRef(2, &strided, 4);
  std::string err = testing::internal::GetCapturedStderr();
  EXPECT_EQ(err, "circ-cuda: error: cannot register a non-contiguous memref "
                 "with the GPU (dimension 0 has stride 3, expected 2)\n");
  // A unit dimension's stride does not matter; this one is contiguous.
  circCudaResetError();
  mgpuMemHostRegisterMemRef(2, &column, 4);
  EXPECT_EQ(circCudaGetError(), nullptr);
  mgpuMemHostUnregisterMemRef(2, &column, 4);
  EXPECT_EQ(mock().stats().liveHostRegistrations, base.liveHostRegistrations);
}

} // namespace

int main(int argc, char **argv) {
  setenv("CIRC_CUDA_DRIVER", CIRC_MOCK_CUDA_PATH, 1);
  testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
