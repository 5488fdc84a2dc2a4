//===- PTXTest.cpp - ptxas report, occupancy and roofline -------*- C++ -*-===//
//
// The parsers run on ptxas output captured from CUDA 13's ptxas; occupancy
// cases are worked by hand with the CUDA occupancy calculator's rules
// (cuda_occupancy.h); the roofline on round numbers. The ptxas round trip at
// the end runs only where the toolkit is installed.
//
//===----------------------------------------------------------------------===//

#include "circ/Target/PTX.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"

#include <gtest/gtest.h>

using namespace mlir;
using namespace mlir::circ;

namespace {

// ptxas -arch=sm_80 -v on two nvcc kernels: one with a 256-byte local array,
// 4 KiB of shared memory and a barrier; one trivial.
const char *kLogSharedAndStack = R"(ptxas info    : 0 bytes gmem
ptxas info    : Compiling entry function '_Z5plainPf' for 'sm_80'
ptxas info    : Function properties for _Z5plainPf
    0 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads
ptxas info    : Used 8 registers, used 0 barriers, 360 bytes cmem[0]
ptxas info    : Compile time = 46.336 ms
ptxas info    : Compiling entry function '_Z5smemkPfi' for 'sm_80'
ptxas info    : Function properties for _Z5smemkPfi
    256 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads
ptxas info    : Used 32 registers, used 1 barriers, 256 bytes cumulative stack size, 4096 bytes smem, 364 bytes cmem[0]
ptxas info    : Compile time = 574.747 ms
)";

// ptxas -arch=sm_90 -v --maxrregcount 24 on a kernel that must spill.
const char *kLogSpills =
    R"(ptxas info    : Overriding maximum register limit 256 for '_Z5heavyPfi' with  24 of maxrregcount option
ptxas info    : 0 bytes gmem
ptxas info    : Compiling entry function '_Z5heavyPfi' for 'sm_90'
ptxas info    : Function properties for _Z5heavyPfi
    2264 bytes stack frame, 2260 bytes spill stores, 3900 bytes spill loads
ptxas info    : Used 24 registers, used 0 barriers, 2264 bytes cumulative stack size
ptxas info    : Compile time = 1258.746 ms
)";

TEST(PtxasLog, RegistersSharedStackConstants) {
  std::vector<PtxasKernelStats> k = parsePtxasLog(kLogSharedAndStack);
  ASSERT_EQ(k.size(), 2u);
  EXPECT_EQ(k[0].kernel, "_Z5plainPf");
  EXPECT_EQ(k[0].arch, "sm_80");
  EXPECT_EQ(k[0].registers, 8);
  EXPECT_EQ(k[0].barriers, 0);
  EXPECT_EQ(k[0].sharedBytes, 0);
  EXPECT_EQ(k[0].constantBytes, 360);
  EXPECT_EQ(k[0].stackFrameBytes, 0);
  EXPECT_EQ(k[1].kernel, "_Z5smemkPfi");
  EXPECT_EQ(k[1].registers, 32);
  EXPECT_EQ(k[1].barriers, 1);
  EXPECT_EQ(k[1].sharedBytes, 4096);
  EXPECT_EQ(k[1].constantBytes, 364);
  EXPECT_EQ(k[1].stackFrameBytes, 256);
  EXPECT_EQ(k[1].spillStoreBytes, 0);
}

TEST(PtxasLog, Spills) {
  std::vector<PtxasKernelStats> k = parsePtxasLog(kLogSpills);
  ASSERT_EQ(k.size(), 1u);
  EXPECT_EQ(k[0].kernel, "_Z5heavyPfi");
  EXPECT_EQ(k[0].arch, "sm_90");
  EXPECT_EQ(k[0].registers, 24);
  EXPECT_EQ(k[0].stackFrameBytes, 2264);
  EXPECT_EQ(k[0].spillStoreBytes, 2260);
  EXPECT_EQ(k[0].spillLoadBytes, 3900);
}

TEST(PtxasLog, DeviceFunctionPropertiesAreNotAKernels) {
  // A non-entry function's properties line must not be charged to the
  // kernel compiled before it.
  const char *log = R"(ptxas info    : Function properties for helper
    64 bytes stack frame, 8 bytes spill stores, 8 bytes spill loads
ptxas info    : Compiling entry function 'k' for 'sm_90'
ptxas info    : Function properties for k
    0 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads
ptxas info    : Used 10 registers, used 0 barriers
)";
  std::vector<PtxasKernelStats> k = parsePtxasLog(log);
  ASSERT_EQ(k.size(), 1u);
  EXPECT_EQ(k[0].stackFrameBytes, 0);
  EXPECT_EQ(k[0].spillStoreBytes, 0);
  EXPECT_EQ(k[0].registers, 10);
}

TEST(PtxLaunchBounds, MaxntidAndReqntid) {
  const char *ptx = R"(.version 8.0
.target sm_90
.visible .entry a_kernel(
	.param .u64 a_kernel_param_0
)
.maxntid 256, 1, 1
{
	ret;
}
.visible .entry b_kernel(
	.param .u64 b_kernel_param_0
)
.reqntid 32, 4, 2
{
	ret;
}
.visible .entry c_kernel()
{
	ret;
}
)";
  llvm::StringMap<unsigned> t = parsePtxThreadsPerBlock(ptx);
  EXPECT_EQ(t.lookup("a_kernel"), 256u);
  EXPECT_EQ(t.lookup("b_kernel"), 256u);
  EXPECT_FALSE(t.count("c_kernel"));
}

//===----------------------------------------------------------------------===//
// Occupancy, worked by hand
//===----------------------------------------------------------------------===//

TEST(Occupancy, ArchitecturesKnown) {
  EXPECT_TRUE(archLimits("sm_80"));
  EXPECT_TRUE(archLimits("sm_86"));
  EXPECT_TRUE(archLimits("sm_89"));
  EXPECT_TRUE(archLimits("sm_90"));
  EXPECT_EQ(archLimits("sm_90a")->arch, "sm_90");
  EXPECT_FALSE(archLimits("sm_75"));
  EXPECT_EQ(archLimits("sm_90")->sharedPerSM, 228 * 1024);
  EXPECT_EQ(archLimits("sm_80")->sharedPerSM, 164 * 1024);
}

TEST(Occupancy, WarpLimited) {
  // 8 warps/block: 64/8 = 8 blocks by warps; registers 32*32 = 1024/warp,
  // 16384/1024 = 16 warps per sub-partition = 64 warps = 8 blocks; shared
  // (0 + 1 KiB reserved) allows 228. Ties go to warps.
  Occupancy o = estimateOccupancy(*archLimits("sm_90"), 256, 32, 0);
  EXPECT_EQ(o.blocksPerSM, 8);
  EXPECT_EQ(o.activeWarps, 64);
  EXPECT_DOUBLE_EQ(o.fraction, 1.0);
  EXPECT_EQ(o.limiter, "warps");
}

TEST(Occupancy, RegisterLimited) {
  // 64 regs: 2048/warp; 16384/2048 = 8 warps per sub-partition, 32 per SM,
  // 4 blocks of 8 warps: 32/64 = 50%.
  Occupancy o = estimateOccupancy(*archLimits("sm_80"), 256, 64, 0);
  EXPECT_EQ(o.blocksPerSM, 4);
  EXPECT_EQ(o.activeWarps, 32);
  EXPECT_DOUBLE_EQ(o.fraction, 0.5);
  EXPECT_EQ(o.limiter, "registers");
}

TEST(Occupancy, RegisterAllocationRoundsUp) {
  // 33 regs round to 1280 per warp (33*32 = 1056 -> 1280): 16384/1280 = 12
  // warps per sub-partition, 48 per SM, 6 blocks of 8 warps = 75%.
  Occupancy o = estimateOccupancy(*archLimits("sm_90"), 256, 33, 0);
  EXPECT_EQ(o.blocksPerSM, 6);
  EXPECT_DOUBLE_EQ(o.fraction, 0.75);
  EXPECT_EQ(o.limiter, "registers");
}

TEST(Occupancy, SharedMemoryLimited) {
  // 48 KiB + 1 KiB reserved = 50176 B/block; 167936 / 50176 = 3 blocks of
  // 4 warps = 12/64 warps.
  Occupancy o = estimateOccupancy(*archLimits("sm_80"), 128, 40, 48 * 1024);
  EXPECT_EQ(o.blocksPerSM, 3);
  EXPECT_EQ(o.activeWarps, 12);
  EXPECT_DOUBLE_EQ(o.fraction, 12.0 / 64);
  EXPECT_EQ(o.limiter, "shared memory");
  // The same kernel on sm_90 (228 KiB): 233472 / 50176 = 4 blocks.
  EXPECT_EQ(
      estimateOccupancy(*archLimits("sm_90"), 128, 40, 48 * 1024).blocksPerSM,
      4);
}

TEST(Occupancy, BlockLimitedAndSmallSMs) {
  // 32-thread blocks: 64 warps would allow 64 blocks, the SM holds 32.
  Occupancy o = estimateOccupancy(*archLimits("sm_90"), 32, 16, 0);
  EXPECT_EQ(o.blocksPerSM, 32);
  EXPECT_DOUBLE_EQ(o.fraction, 0.5);
  EXPECT_EQ(o.limiter, "blocks");
  // sm_86 has 48 warps: one 1024-thread block, 32/48.
  Occupancy big = estimateOccupancy(*archLimits("sm_86"), 1024, 16, 0);
  EXPECT_EQ(big.blocksPerSM, 1);
  EXPECT_DOUBLE_EQ(big.fraction, 32.0 / 48);
  EXPECT_EQ(big.limiter, "warps");
}

TEST(Occupancy, DoesNotFit) {
  const ArchLimits l = *archLimits("sm_90");
  // 255 regs * 32 warps per block needs 262144 registers.
  EXPECT_EQ(estimateOccupancy(l, 1024, 255, 0).limiter, "does not fit");
  EXPECT_EQ(estimateOccupancy(l, 1024, 255, 0).blocksPerSM, 0);
  EXPECT_EQ(estimateOccupancy(l, 2048, 16, 0).limiter, "does not fit");
  EXPECT_EQ(estimateOccupancy(l, 0, 16, 0).limiter, "does not fit");
  EXPECT_EQ(estimateOccupancy(l, 128, 16, 240 * 1024).limiter, "does not fit");
}

//===----------------------------------------------------------------------===//
// Roofline
//===----------------------------------------------------------------------===//

TEST(Roofline, GpusAndBounds) {
  const std::vector<GpuSpec> &gpus = rooflineGpus();
  ASSERT_EQ(gpus.size(), 2u);
  EXPECT_EQ(gpus[0].name, "H100");
  EXPECT_DOUBLE_EQ(gpus[0].bytesPerSecond, 3.35e12);
  EXPECT_EQ(gpus[1].name, "H200");
  EXPECT_DOUBLE_EQ(gpus[1].bytesPerSecond, 4.8e12);

  const GpuSpec h100 = gpus[0];
  // 1 byte per FLOP: memory time 1e9/3.35e12, compute 1e9/67e12.
  Roofline m = estimateRoofline(h100, 1e9, 1e9);
  EXPECT_TRUE(m.memoryBound);
  EXPECT_DOUBLE_EQ(m.seconds, 1e9 / 3.35e12);
  EXPECT_DOUBLE_EQ(m.intensity, 1.0);
  EXPECT_NEAR(m.fractionOfPeak, 3.35 / 67, 1e-12);
  // 100 FLOP per byte is past the H100 balance point (20 FLOP/B).
  Roofline c = estimateRoofline(h100, 1e11, 1e9);
  EXPECT_FALSE(c.memoryBound);
  EXPECT_DOUBLE_EQ(c.seconds, 1e11 / 67e12);
  EXPECT_DOUBLE_EQ(c.fractionOfPeak, 1.0);
  // No traffic: intensity reported as 0, compute-bound.
  Roofline z = estimateRoofline(h100, 1e6, 0);
  EXPECT_FALSE(z.memoryBound);
  EXPECT_EQ(z.intensity, 0.0);
}

//===----------------------------------------------------------------------===//
// Objects and costs in IR, and the ptxas round trip
//===----------------------------------------------------------------------===//

const char *kModule = R"mlir(
module attributes {circ.kernel_costs = {k = {access_bytes = 800 : i64,
    block_threads = 128 : i64, dram_bytes = 400 : i64, flops = 1000 : i64,
    shared_bytes = 0 : i64, threads = 256 : i64},
    g = {access_bytes = 1 : i64, block_threads = 32 : i64, dram_bytes = 1 : i64,
    flops = 2 : i64, inexact, shared_bytes = 3 : i64, threads = 32 : i64}}} {
  gpu.binary @kernels [
    #gpu.object<#nvvm.target<chip = "sm_80", features = "+ptx80">, assembly = "PTX80">,
    #gpu.object<#nvvm.target<chip = "sm_90", features = "+ptx80">, bin = "CUBIN">]
}
)mlir";

struct IRFixture : public testing::Test {
  void SetUp() override {
    ctx.loadDialect<gpu::GPUDialect, NVVM::NVVMDialect>();
    module = parseSourceString<ModuleOp>(kModule, &ctx);
    ASSERT_TRUE(module);
  }
  MLIRContext ctx;
  OwningOpRef<ModuleOp> module;
};

TEST_F(IRFixture, CollectObjects) {
  std::vector<GpuObject> o = collectGpuObjects(*module);
  ASSERT_EQ(o.size(), 2u);
  EXPECT_EQ(o[0].binary, "kernels");
  EXPECT_EQ(o[0].chip, "sm_80");
  EXPECT_EQ(o[0].features, "+ptx80");
  EXPECT_TRUE(o[0].isPtx);
  EXPECT_EQ(o[0].data, "PTX80");
  EXPECT_EQ(o[1].chip, "sm_90");
  EXPECT_FALSE(o[1].isPtx);
  EXPECT_EQ(o[1].data, "CUBIN");
}

TEST_F(IRFixture, ReadCosts) {
  llvm::StringMap<KernelCost> c = readKernelCosts(*module);
  ASSERT_EQ(c.size(), 2u);
  EXPECT_EQ(c["k"].flops, 1000);
  EXPECT_EQ(c["k"].dramBytes, 400);
  EXPECT_EQ(c["k"].accessBytes, 800);
  EXPECT_EQ(c["k"].blockThreads, 128u);
  EXPECT_EQ(c["k"].threads, 256);
  EXPECT_TRUE(c["k"].exact);
  EXPECT_FALSE(c["g"].exact);
  EXPECT_EQ(c["g"].sharedBytes, 3);
}

// A hand-written PTX kernel: 32 threads, one global load and store.
const char *kPtx = R"(.version 8.0
.target sm_80
.address_size 64
.visible .entry twice(.param .u64 p)
.reqntid 32, 1, 1
{
	.reg .b32 %r<2>;
	.reg .f32 %f<3>;
	.reg .b64 %rd<5>;
	ld.param.u64 %rd1, [p];
	cvta.to.global.u64 %rd2, %rd1;
	mov.u32 %r1, %tid.x;
	mul.wide.u32 %rd3, %r1, 4;
	add.s64 %rd4, %rd2, %rd3;
	ld.global.f32 %f1, [%rd4];
	add.f32 %f2, %f1, %f1;
	st.global.f32 [%rd4], %f2;
	ret;
}
)";

TEST(Ptxas, AssembleAndReport) {
  llvm::Expected<std::string> ptxas = findPtxas();
  if (!ptxas) {
    std::string why = llvm::toString(ptxas.takeError());
    GTEST_SKIP() << why;
  }
  llvm::Expected<PtxasResult> r = assemblePtx(kPtx, "sm_80", *ptxas);
  ASSERT_TRUE(bool(r)) << llvm::toString(r.takeError());
  ASSERT_EQ(r->kernels.size(), 1u);
  EXPECT_EQ(r->kernels[0].kernel, "twice");
  EXPECT_EQ(r->kernels[0].arch, "sm_80");
  EXPECT_GT(r->kernels[0].registers, 0);
  EXPECT_EQ(r->kernels[0].spillStoreBytes, 0);
  ASSERT_GE(r->cubin.size(), 4u);
  EXPECT_EQ(r->cubin.substr(0, 4), "\x7f"
                                   "ELF");

  // Malformed PTX: the error carries ptxas' own message.
  llvm::Expected<PtxasResult> bad =
      assemblePtx(llvm::StringRef(kPtx).str() + "garbage;", "sm_80", *ptxas);
  ASSERT_FALSE(bool(bad));
  std::string message = llvm::toString(bad.takeError());
  EXPECT_NE(message.find("ptxas -arch=sm_80 failed"), std::string::npos)
      << message;
  EXPECT_NE(message.find("garbage"), std::string::npos) << message;
}

} // namespace
