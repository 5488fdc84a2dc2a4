// RUN: circ-opt %s --split-input-file --convert-circ-to-loops --canonicalize --cse | FileCheck %s

// Tests that embed copies, per (batch, position) of a parallel loop, the
// table row of the token id into the flattened output row b·T + t, with full
// vectors and one masked tail (37 = 2·16 + 5).
// CHECK-LABEL: func.func @embed
// CHECK-SAME: (%[[IDS:.*]]: memref<2x3xi32>, %[[T:.*]]: memref<11x37xf32>, %[[OUT:.*]]: memref<2x3x37xf32> {circ.result = 0 : i64})
// CHECK: %[[ROWS:.*]] = memref.collapse_shape %[[OUT]] {{\[}}[0, 1], [2]] : memref<2x3x37xf32> into memref<6x37xf32>
// CHECK: scf.parallel (%[[B:.*]], %[[P:.*]]) =
// CHECK: %[[ID:.*]] = memref.load %[[IDS]][%[[B]], %[[P]]]
// CHECK: %[[IDX:.*]] = arith.index_cast %[[ID]] : i32 to index
// CHECK: %[[BT:.*]] = arith.muli %[[B]], %{{.*}} : index
// CHECK: %[[ROW:.*]] = arith.addi %[[BT]], %[[P]] : index
// CHECK: scf.for %[[COL:.*]] =
// CHECK: %[[V:.*]] = vector.load %[[T]][%[[IDX]], %[[COL]]]
// CHECK: vector.store %[[V]], %[[ROWS]][%[[ROW]], %[[COL]]]
// CHECK: vector.constant_mask [5]
// CHECK: vector.maskedload %[[T]][%[[IDX]], %{{.*}}]
// CHECK: vector.maskedstore %[[ROWS]][%[[ROW]], %{{.*}}]
func.func @embed(%ids: tensor<2x3xi32>, %t: tensor<11x37xf32>) -> tensor<2x3x37xf32> {
  %0 = circ.embed %ids, %t : tensor<2x3xi32>, tensor<11x37xf32> -> tensor<2x3x37xf32>
  return %0 : tensor<2x3x37xf32>
}

// -----

// Tests that a csr-encoded table is read from its dense values (the first of
// its expanded buffers); the index buffers are not touched.
// CHECK-LABEL: func.func @embed_sparse_table
// CHECK-SAME: (%{{.*}}: memref<1x2xi32>, %[[DENSE:.*]]: memref<8x16xf32> {circ.buffer = "dense"
// CHECK: vector.load %[[DENSE]]
// CHECK-NOT: memref.load %{{.*}} : memref<9xi32>
func.func @embed_sparse_table(%ids: tensor<1x2xi32>, %t: tensor<8x16xf32, #circ.sparsity<density = 0.5, min_per_unit = 0, axis = none, layout = csr>>) -> tensor<1x2x16xf32> {
  %0 = circ.embed %ids, %t : tensor<1x2xi32>, tensor<8x16xf32, #circ.sparsity<density = 0.5, min_per_unit = 0, axis = none, layout = csr>> -> tensor<1x2x16xf32>
  return %0 : tensor<1x2x16xf32>
}

// -----

// Tests that bigram is the same gather from the dense [V, V] table.
// CHECK-LABEL: func.func @bigram
// CHECK: scf.parallel
// CHECK: memref.load %{{.*}} : memref<1x4xi32>
// CHECK: vector.load %{{.*}} : memref<20x20xf32>, vector<16xf32>
// CHECK: vector.maskedload %{{.*}} : memref<20x20xf32>
func.func @bigram(%ids: tensor<1x4xi32>, %t: tensor<20x20xf32>) -> tensor<1x4x20xf32> {
  %0 = circ.bigram %ids, %t : tensor<1x4xi32>, tensor<20x20xf32> -> tensor<1x4x20xf32>
  return %0 : tensor<1x4x20xf32>
}
