// RUN: circ-opt %s --convert-circ-to-loops | FileCheck %s

// Tests that a CSR weight argument expands into its seven buffers, each
// keeping the parameter name and naming its buffer.
// CHECK-LABEL: func.func @csr_weight
// CHECK-SAME: %{{.*}}: memref<8x32xf32> {circ.buffer = "dense", circ.param = "w"}
// CHECK-SAME: %{{.*}}: memref<9xi32> {circ.buffer = "row_ptr", circ.param = "w"}
// CHECK-SAME: %{{.*}}: memref<?xi32> {circ.buffer = "col_idx", circ.param = "w"}
// CHECK-SAME: %{{.*}}: memref<?xf32> {circ.buffer = "values", circ.param = "w"}
// CHECK-SAME: %{{.*}}: memref<33xi32> {circ.buffer = "col_ptr", circ.param = "w"}
// CHECK-SAME: %{{.*}}: memref<?xi32> {circ.buffer = "row_idx", circ.param = "w"}
// CHECK-SAME: %{{.*}}: memref<?xf32> {circ.buffer = "values_t", circ.param = "w"}
// CHECK-SAME: %[[B:.*]]: memref<8xf32> {circ.param = "b"}
// CHECK-SAME: %[[OUT:.*]]: memref<8xf32> {circ.result = 0 : i64})
// CHECK-NEXT: memref.copy %[[B]], %[[OUT]]
// CHECK-NEXT: return{{$}}
func.func @csr_weight(%w: tensor<8x32xf32, #circ.sparsity<density = 0.25, min_per_unit = 4, axis = rows, layout = csr>> {circ.param = "w"},
                      %b: tensor<8xf32> {circ.param = "b"}) -> tensor<8xf32> {
  return %b : tensor<8xf32>
}

// Tests that an ELL weight with unit axis rows stores r entries per row and
// one with axis cols r entries per column.
// CHECK-LABEL: func.func @ell_weights
// CHECK-SAME: %{{.*}}: memref<8x32xf32> {circ.buffer = "dense", circ.param = "a"}
// CHECK-SAME: %{{.*}}: memref<8x?xi32> {circ.buffer = "ell_idx", circ.param = "a"}
// CHECK-SAME: %{{.*}}: memref<8x?xf32> {circ.buffer = "ell_values", circ.param = "a"}
// CHECK-SAME: %{{.*}}: memref<8x32xf32> {circ.buffer = "dense", circ.param = "c"}
// CHECK-SAME: %{{.*}}: memref<32x?xi32> {circ.buffer = "ell_idx", circ.param = "c"}
// CHECK-SAME: %{{.*}}: memref<32x?xf32> {circ.buffer = "ell_values", circ.param = "c"}
func.func @ell_weights(%a: tensor<8x32xf32, #circ.sparsity<density = 0.125, min_per_unit = 4, axis = rows, layout = ell>> {circ.param = "a"},
                       %c: tensor<8x32xf32, #circ.sparsity<density = 0.125, min_per_unit = 4, axis = cols, layout = ell>> {circ.param = "c"}) {
  return
}

// Tests that a dense-layout weight is one buffer and that token ids and a
// scalar result become memrefs; results become trailing output buffers.
// CHECK-LABEL: func.func @dense_weight
// CHECK-SAME: (%{{.*}}: memref<4x16xi32>, %{{.*}}: memref<8x32xf32> {circ.buffer = "dense", circ.param = "w"}, %{{.*}}: memref<f32>, %{{.*}}: memref<f32> {circ.result = 0 : i64})
func.func @dense_weight(%ids: tensor<4x16xi32>, %w: tensor<8x32xf32, #circ.sparsity<density = 1.0, min_per_unit = 4, axis = rows, layout = dense>> {circ.param = "w"}, %s: tensor<f32>) -> tensor<f32> {
  return %s : tensor<f32>
}
