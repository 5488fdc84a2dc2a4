// RUN: circ-opt %s --split-input-file --convert-circ-to-loops --canonicalize --cse | FileCheck %s

// Tests that abs_topk_grad counts each row's nonzero outputs with vector
// compares, takes the one-pass vector select when they are k, and otherwise
// scans the row keeping the first k − m exact zeros (ties to the lower
// index) as kept entries.
// CHECK-LABEL: func.func @abs_topk_grad
// CHECK-DAG: %[[K:.*]] = arith.constant 5 : i32
// CHECK: scf.parallel (%[[ROW:.*]]) =
// CHECK: arith.cmpf une, %{{.*}} : vector<16xf32>
// CHECK: %[[COUNT:.*]] = vector.reduction <add>, %{{.*}} : vector<16xi32> into i32
// CHECK: %[[LEFT:.*]] = arith.subi %[[K]], %[[COUNT]] : i32
// CHECK: %[[SCAN:.*]] = arith.cmpi sgt, %[[LEFT]]
// CHECK: scf.if %[[SCAN]] {
// CHECK: scf.for {{.*}} iter_args(%{{.*}} = %[[LEFT]]) -> (i32)
// CHECK: arith.cmpf oeq
// CHECK: } else {
// CHECK: arith.select %{{.*}} : vector<16xi1>, vector<16xf32>
func.func @abs_topk_grad(%dy: tensor<4x20xf32>, %y: tensor<4x20xf32>) -> tensor<4x20xf32> {
  %0 = circ.abs_topk_grad %dy, %y {k = 5 : i64} : tensor<4x20xf32>
  return %0 : tensor<4x20xf32>
}

// -----

// Tests that proj_grad_input on a CSR weight visits, per row in parallel,
// only the nonzero gradient entries and the nonzeros of their weight row.
// CHECK-LABEL: func.func @proj_grad_input_csr
// CHECK-SAME: %[[DY:[a-z0-9]+]]: memref<6x21xf32>
// CHECK-SAME: %[[ROWPTR:[a-z0-9]+]]: memref<22xi32> {circ.buffer = "row_ptr"}
// CHECK-SAME: %[[COLIDX:[a-z0-9]+]]: memref<?xi32> {circ.buffer = "col_idx"}
// CHECK-SAME: %[[VALUES:[a-z0-9]+]]: memref<?xf32> {circ.buffer = "values"}
// CHECK-SAME: %[[OUT:[a-z0-9]+]]: memref<6x37xf32> {circ.result = 0 : i64}
// CHECK: scf.parallel (%[[ROW:.*]]) =
// CHECK: scf.for %[[N:.*]] = %{{.*}} to %{{.*}} step
// CHECK: %[[G:.*]] = memref.load %[[DY]][%[[ROW]], %[[N]]]
// CHECK: %[[NZ:.*]] = arith.cmpf une, %[[G]]
// CHECK: scf.if %[[NZ]]
// CHECK: memref.load %[[ROWPTR]][%[[N]]]
// CHECK: scf.for %[[J:.*]] = %{{.*}} to %{{.*}} step
// CHECK: memref.load %[[COLIDX]][%[[J]]]
// CHECK: memref.load %[[VALUES]][%[[J]]]
// CHECK: memref.store %{{.*}}, %[[OUT]][%[[ROW]], %{{.*}}]
func.func @proj_grad_input_csr(%dy: tensor<6x21xf32>, %w: tensor<21x37xf32, #circ.sparsity<density = 2.5e-01, min_per_unit = 4, axis = rows, layout = csr>>) -> tensor<6x37xf32> {
  %0 = circ.proj_grad_input %dy, %w : tensor<6x21xf32>, tensor<21x37xf32, #circ.sparsity<density = 2.5e-01, min_per_unit = 4, axis = rows, layout = csr>> -> tensor<6x37xf32>
  return %0 : tensor<6x37xf32>
}

// -----

// Tests that a sparse-input weight gradient compacts every input row to its
// nonzeros (index, value, start of each column tile's run) and then, per
// output tile, adds g · x only for nonzero gradient entries and over the
// run of nonzeros.
// CHECK-LABEL: func.func @proj_grad_weight_sparse
// CHECK: %[[IDX:.*]] = memref.alloc() {{.*}} : memref<6x37xi32>
// CHECK: %[[VAL:.*]] = memref.alloc() {{.*}} : memref<6x37xf32>
// CHECK: %[[START:.*]] = memref.alloc() {{.*}} : memref<6x2xi32>
// CHECK: scf.parallel
// CHECK: memref.store %{{.*}}, %[[IDX]]
// CHECK: memref.store %{{.*}}, %[[VAL]]
// CHECK: memref.store %{{.*}}, %[[START]]
// CHECK: arith.cmpf une
// CHECK: scf.if
// CHECK: scf.for %[[J:.*]] = %{{.*}} to %{{.*}} step
// CHECK: memref.load %[[IDX]][%{{.*}}, %[[J]]]
// CHECK: math.fma
func.func @proj_grad_weight_sparse(%dy: tensor<2x3x21xf32>, %x: tensor<2x3x37xf32>) -> tensor<21x37xf32> {
  %0 = circ.proj_grad_weight %dy, %x {sparse_grad, sparse_input} : tensor<2x3x21xf32>, tensor<2x3x37xf32> -> tensor<21x37xf32>
  return %0 : tensor<21x37xf32>
}

// -----

// Tests that a dense weight gradient larger than one tile runs as parallel
// 256-row tiles, first over the full 128-column tiles, then over the
// 22-column remainder, with vector FMAs of g · x into the tile.
// CHECK-LABEL: func.func @proj_grad_weight_tiles
// CHECK: scf.parallel (%{{.*}}) = (%c0) to (%c300) step (%c256)
// CHECK: vector.fma
// CHECK: scf.parallel (%{{.*}}) = (%c0) to (%c300) step (%c256)
// CHECK: vector.maskedload %{{.*}}[%{{.*}}, %c144]
// CHECK: vector.fma
func.func @proj_grad_weight_tiles(%dy: tensor<?x300xf32>, %x: tensor<?x150xf32>) -> tensor<300x150xf32> {
  %0 = circ.proj_grad_weight %dy, %x : tensor<?x300xf32>, tensor<?x150xf32> -> tensor<300x150xf32>
  return %0 : tensor<300x150xf32>
}

// -----

// Tests that attention_grad keeps per-row statistics [B, H, T] only (no
// T × T buffer) and runs its passes in parallel over (batch, head, pair of
// rows): statistics with a log, dq, then dk/dv from row j to T; finally the
// sink gradient per head.
// CHECK-LABEL: func.func @attention_grad
// CHECK-NOT: memref<{{.*}}9x9{{.*}}>
// CHECK-COUNT-3: memref.alloc() {{.*}} : memref<2x2x9xf32>
// CHECK: scf.parallel ({{.*}}, {{.*}}, {{.*}}) = (%c0, %c0, %c0) to (%c2, %c2, %c5)
// CHECK: math.log
// CHECK: scf.parallel ({{.*}}, {{.*}}, {{.*}}) = (%c0, %c0, %c0) to (%c2, %c2, %c5)
// CHECK: scf.parallel ({{.*}}, {{.*}}, %[[J:.*]]) = (%c0, %c0, %c0) to (%c2, %c2, %c5)
// CHECK: scf.for %{{.*}} = %[[J]] to %c9
// CHECK: scf.parallel (%{{.*}}) = (%c0) to (%c2)
// CHECK-NOT: memref<{{.*}}9x9{{.*}}>
func.func @attention_grad(%t: tensor<2x9x32xf32>, %s: tensor<2xf32>) -> (tensor<2x9x32xf32>, tensor<2x9x32xf32>, tensor<2x9x32xf32>, tensor<2xf32>) {
  %a, %b, %c, %d = circ.attention_grad %t, %t, %t, %t, %t, %s {num_heads = 2 : i64} : tensor<2x9x32xf32>, tensor<2xf32>
  return %a, %b, %c, %d : tensor<2x9x32xf32>, tensor<2x9x32xf32>, tensor<2x9x32xf32>, tensor<2xf32>
}

// -----

// Tests that mask_gate_grad makes one pass per column chunk over all rows:
// the input gradient m · dy and the two sums, then the sigmoid surrogate at
// temperature 0.5 (scale 2) and (1 − m) for the mean.
// CHECK-LABEL: func.func @mask_gate_grad
// CHECK-DAG: %[[INVT:.*]] = arith.constant dense<2.000000e+00> : vector<16xf32>
// CHECK: scf.parallel (%{{.*}}) = (%c0) to (%c20) step (%c16)
// CHECK: %[[KEEP:.*]] = arith.cmpf oge
// CHECK: %[[SUMS:.*]]:2 = scf.for
// CHECK: arith.select %[[KEEP]]
// CHECK: vector.maskedstore
// CHECK: vector.fma
// CHECK: scf.yield
// CHECK: arith.mulf %{{.*}}, %[[INVT]]
// CHECK: math.exp
// CHECK: arith.mulf %[[SUMS]]#0
// CHECK: arith.select %[[KEEP]], %{{.*}}, %[[SUMS]]#1
func.func @mask_gate_grad(%dy: tensor<6x20xf32>, %x: tensor<6x20xf32>, %t: tensor<20xf32>, %m: tensor<20xf32>) -> (tensor<6x20xf32>, tensor<20xf32>, tensor<20xf32>) {
  %a, %b, %c = circ.mask_gate_grad %dy, %x, %t, %m {ablation = #circ.ablation<mean>, temperature = 0.5 : f64} : tensor<6x20xf32>, tensor<20xf32>, tensor<20xf32>
  return %a, %b, %c : tensor<6x20xf32>, tensor<20xf32>, tensor<20xf32>
}

// -----

// Tests that embed_grad zero-fills the table, then per column chunk adds
// the gradient rows of the in-range ids in token order.
// CHECK-LABEL: func.func @embed_grad
// CHECK-DAG: %[[V:.*]] = arith.constant 50 : i32
// CHECK: scf.parallel (%{{.*}}) = (%c0) to (%c50) step (%c1)
// CHECK: scf.parallel (%{{.*}}) = (%c0) to (%c40) step (%c16)
// CHECK: scf.for
// CHECK: arith.cmpi slt, %{{.*}}, %[[V]]
// CHECK: scf.if
// CHECK: vector.maskedload
// CHECK: arith.addf
// CHECK: vector.maskedstore
func.func @embed_grad(%dy: tensor<2x8x40xf32>, %ids: tensor<2x8xi32>) -> tensor<50x40xf32> {
  %0 = circ.embed_grad %dy, %ids : tensor<2x8x40xf32>, tensor<2x8xi32> -> tensor<50x40xf32>
  return %0 : tensor<50x40xf32>
}

// -----

// Tests that the q|k|v gradient is assembled in one buffer: the zero
// constant is filled in place of the result and each insert_slice writes
// its part at its offset, with no further allocation.
// CHECK-LABEL: func.func @slices
// CHECK-SAME: %[[OUT:[a-z0-9]+]]: memref<2x3x8xf32> {circ.result = 0 : i64}
// CHECK-NOT: memref.alloc
// CHECK: vector.store %cst, %{{.*}} : memref<48xf32>
// CHECK: scf.parallel
// CHECK: vector.maskedstore %[[OUT]][%{{.*}}, %{{.*}}, %c4]
// CHECK: scf.parallel
// CHECK: vector.maskedstore %[[OUT]][%{{.*}}, %{{.*}}, %c0]
// CHECK-NOT: memref.alloc
func.func @slices(%a: tensor<2x3x4xf32>, %b: tensor<2x3x4xf32>) -> tensor<2x3x8xf32> {
  %z = arith.constant dense<0.0> : tensor<2x3x8xf32>
  %0 = tensor.insert_slice %a into %z[0, 0, 4] [2, 3, 4] [1, 1, 1] : tensor<2x3x4xf32> into tensor<2x3x8xf32>
  %1 = tensor.insert_slice %b into %0[0, 0, 0] [2, 3, 4] [1, 1, 1] : tensor<2x3x4xf32> into tensor<2x3x8xf32>
  return %1 : tensor<2x3x8xf32>
}

// -----

// Tests that an insert_slice into a tensor that is read elsewhere copies it
// first, and that arith.addf on tensors becomes a parallel vector sum.
// CHECK-LABEL: func.func @copy_and_add
// CHECK: %[[COPY:.*]] = memref.alloc() {{.*}} : memref<2x8xf32>
// CHECK: scf.parallel
// CHECK: vector.maskedstore %[[COPY]][%{{.*}}, %c0]
// CHECK: scf.parallel
// CHECK: vector.maskedstore %[[COPY]][%{{.*}}, %c4]
// CHECK: scf.parallel
// CHECK: arith.addf %{{.*}} : vector<16xf32>
func.func @copy_and_add(%a: tensor<2x4xf32>, %d: tensor<2x8xf32>) -> tensor<2x8xf32> {
  %0 = tensor.insert_slice %a into %d[0, 4] [2, 4] [1, 1] : tensor<2x4xf32> into tensor<2x8xf32>
  %1 = arith.addf %0, %d : tensor<2x8xf32>
  return %1 : tensor<2x8xf32>
}
