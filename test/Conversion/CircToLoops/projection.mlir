// RUN: circ-opt %s --convert-circ-to-loops --canonicalize --cse | FileCheck %s

// Tests that a CSR projection runs over tiles of tokens: the tile is
// transposed into feature-major stack scratch (16×16 blocks, four stages of
// 16 two-input shuffles), every row's nonzeros
// row_ptr[n]..row_ptr[n+1] each add one vector FMA over the tile, the bias
// initialises the accumulators, and the result is transposed back.
// CHECK-LABEL: func.func @csr
// CHECK-SAME: (%[[X:[a-z0-9_]+]]: memref<4x40x64xf32>, %{{.*}}: memref<32x64xf32> {circ.buffer = "dense"}, %[[RP:[a-z0-9_]+]]: memref<33xi32> {circ.buffer = "row_ptr"}, %[[CI:[a-z0-9_]+]]: memref<?xi32> {circ.buffer = "col_idx"}, %[[VAL:[a-z0-9_]+]]: memref<?xf32> {circ.buffer = "values"}
// CHECK-SAME: %[[B:[a-z0-9_]+]]: memref<32xf32>, %[[OUT:[a-z0-9_]+]]: memref<4x40x32xf32> {circ.result = 0 : i64})
// CHECK: scf.parallel (%[[TILE:[a-z0-9_]+]]) =
// CHECK-DAG: %[[XT:[a-z0-9_]+]] = memref.alloca() {alignment = 64 : i64} : memref<64x64xf32>
// CHECK-DAG: %[[YT:[a-z0-9_]+]] = memref.alloca() {alignment = 64 : i64} : memref<32x64xf32>
// CHECK-COUNT-64: vector.shuffle
// CHECK: scf.for %[[N:[a-z0-9_]+]] =
// CHECK: %[[BN:[a-z0-9_]+]] = memref.load %[[B]][%[[N]]]
// CHECK: %[[INIT:[a-z0-9_]+]] = vector.broadcast %[[BN]] : f32 to vector<16xf32>
// CHECK: %[[BEGIN:[a-z0-9_]+]] = memref.load %[[RP]][%[[N]]]
// CHECK: %[[END:[a-z0-9_]+]] = memref.load %[[RP]]
// CHECK: scf.for %[[P:[a-z0-9_]+]] = %{{.*}} to %{{.*}} step %{{.*}} iter_args(%[[A0:[a-z0-9_]+]] = %[[INIT]], %[[A1:[a-z0-9_]+]] = %[[INIT]], %[[A2:[a-z0-9_]+]] = %[[INIT]], %[[A3:[a-z0-9_]+]] = %[[INIT]])
// CHECK: %[[K:[a-z0-9_]+]] = memref.load %[[CI]][%[[P]]]
// CHECK: %[[W:[a-z0-9_]+]] = memref.load %[[VAL]][%[[P]]]
// CHECK: %[[WV:[a-z0-9_]+]] = vector.broadcast %[[W]]
// CHECK: %[[XV:[a-z0-9_]+]] = vector.load %[[XT]][%{{.*}}, %c0]
// CHECK: vector.fma %[[WV]], %[[XV]], %[[A0]]
// CHECK-COUNT-3: vector.fma %[[WV]]
// CHECK: vector.store %{{.*}}, %[[YT]][%[[N]], %c0]
// CHECK-COUNT-64: vector.shuffle
// CHECK: vector.maskedstore %[[OV:[a-z0-9_]+]]
func.func @csr(%x: tensor<4x40x64xf32>,
               %w: tensor<32x64xf32, #circ.sparsity<density = 0.0625, min_per_unit = 4, axis = rows, layout = csr>>,
               %b: tensor<32xf32>) -> tensor<4x40x32xf32> {
  %0 = circ.proj %x, %w, %b : tensor<4x40x64xf32>, tensor<32x64xf32, #circ.sparsity<density = 0.0625, min_per_unit = 4, axis = rows, layout = csr>>, tensor<32xf32> -> tensor<4x40x32xf32>
  return %0 : tensor<4x40x32xf32>
}

// Tests that ELL by rows gathers the r slots of each output row.
// CHECK-LABEL: func.func @ell_rows
// CHECK-SAME: %[[IDX:[a-z0-9_]+]]: memref<32x?xi32> {circ.buffer = "ell_idx"}, %[[VAL:[a-z0-9_]+]]: memref<32x?xf32> {circ.buffer = "ell_values"}
// CHECK: %[[R:[a-z0-9_]+]] = memref.dim %[[IDX]], %c1
// CHECK: scf.for %[[N:[a-z0-9_]+]] =
// CHECK: scf.for %[[S:[a-z0-9_]+]] = %c0 to %[[R]] step %c1 iter_args(
// CHECK: memref.load %[[IDX]][%[[N]], %[[S]]]
// CHECK: memref.load %[[VAL]][%[[N]], %[[S]]]
// CHECK: vector.fma
func.func @ell_rows(%x: tensor<64x64xf32>,
                    %w: tensor<32x64xf32, #circ.sparsity<density = 0.0625, min_per_unit = 4, axis = rows, layout = ell>>) -> tensor<64x32xf32> {
  %0 = circ.proj %x, %w : tensor<64x64xf32>, tensor<32x64xf32, #circ.sparsity<density = 0.0625, min_per_unit = 4, axis = rows, layout = ell>> -> tensor<64x32xf32>
  return %0 : tensor<64x32xf32>
}

// Tests that ELL by columns scatters: zero-initialised output rows, then for
// every input row k and slot s, Yt[idx[k, s], :] += val[k, s] · Xt[k, :].
// CHECK-LABEL: func.func @ell_cols
// CHECK-SAME: %[[IDX:[a-z0-9_]+]]: memref<64x?xi32> {circ.buffer = "ell_idx"}, %[[VAL:[a-z0-9_]+]]: memref<64x?xf32> {circ.buffer = "ell_values"}
// CHECK: scf.for %[[K:[a-z0-9_]+]] =
// CHECK: scf.for %[[S:[a-z0-9_]+]] =
// CHECK: %[[ROW:[a-z0-9_]+]] = memref.load %[[IDX]][%[[K]], %[[S]]]
// CHECK: %[[RI:[a-z0-9_]+]] = arith.index_cast %[[ROW]] : i32 to index
// CHECK: memref.load %[[VAL]][%[[K]], %[[S]]]
// CHECK: %[[OLD:[a-z0-9_]+]] = vector.load %[[YT:[a-z0-9_]+]][%[[RI]], %c0]
// CHECK: %[[NEW:[a-z0-9_]+]] = vector.fma %{{.*}}, %{{.*}}, %[[OLD]]
// CHECK: vector.store %[[NEW]], %[[YT]][%[[RI]], %c0]
func.func @ell_cols(%x: tensor<64x64xf32>,
                    %w: tensor<32x64xf32, #circ.sparsity<density = 0.0625, min_per_unit = 4, axis = cols, layout = ell>>) -> tensor<64x32xf32> {
  %0 = circ.proj %x, %w : tensor<64x64xf32>, tensor<32x64xf32, #circ.sparsity<density = 0.0625, min_per_unit = 4, axis = cols, layout = ell>> -> tensor<64x32xf32>
  return %0 : tensor<64x32xf32>
}

// Tests that a dense weight loops over every input feature of a row.
// CHECK-LABEL: func.func @dense
// CHECK-SAME: (%{{.*}}: memref<20x24xf32>, %[[W:[a-z0-9_]+]]: memref<8x24xf32>
// CHECK: scf.for %[[N:[a-z0-9_]+]] =
// CHECK: scf.for %[[K:[a-z0-9_]+]] = %c0 to %c24 step %c1 iter_args(
// CHECK: memref.load %[[W]][%[[N]], %[[K]]]
// CHECK: vector.fma
func.func @dense(%x: tensor<20x24xf32>, %w: tensor<8x24xf32>) -> tensor<20x8xf32> {
  %0 = circ.proj %x, %w : tensor<20x24xf32>, tensor<8x24xf32> -> tensor<20x8xf32>
  return %0 : tensor<20x8xf32>
}
