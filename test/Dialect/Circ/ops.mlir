// RUN: circ-opt %s | circ-opt | FileCheck %s
// RUN: circ-opt %s --mlir-print-op-generic | circ-opt | FileCheck %s

// Round trip of every circ operation in every operand/attribute form, and of
// every circ attribute. The second RUN line goes through the generic form, so
// the custom printer and parser must agree with the generic one.

#rows = #circ.sparsity<density = 1.5625e-02, min_per_unit = 4, axis = rows, layout = csr>
#cols = #circ.sparsity<density = 0.25, min_per_unit = 2, axis = cols, layout = ell>
#emb = #circ.sparsity<density = 0.0625, min_per_unit = 0, axis = none, layout = bsr>

// Tests that circ.embed round-trips with a dense and a sparse table, static and
// dynamic batch.
// CHECK-LABEL: func.func @embed
// CHECK-SAME: (%[[IDS:.*]]: tensor<4x64xi32>, %[[DYN:.*]]: tensor<?x64xi32>, %[[T:.*]]: tensor<2048x128xf32>, %[[S:.*]]: tensor<2048x128xf32, #circ.sparsity<density = 6.250000e-02, min_per_unit = 0, axis = none, layout = bsr>>)
// CHECK: circ.embed %[[IDS]], %[[T]] : tensor<4x64xi32>, tensor<2048x128xf32> -> tensor<4x64x128xf32>
// CHECK: circ.embed %[[DYN]], %[[S]] : tensor<?x64xi32>, tensor<2048x128xf32, #circ.sparsity<density = 6.250000e-02, min_per_unit = 0, axis = none, layout = bsr>> -> tensor<?x64x128xf32>
func.func @embed(%ids: tensor<4x64xi32>, %dyn: tensor<?x64xi32>,
                 %t: tensor<2048x128xf32>, %s: tensor<2048x128xf32, #emb>)
    -> (tensor<4x64x128xf32>, tensor<?x64x128xf32>) {
  %0 = circ.embed %ids, %t : tensor<4x64xi32>, tensor<2048x128xf32> -> tensor<4x64x128xf32>
  %1 = circ.embed %dyn, %s : tensor<?x64xi32>, tensor<2048x128xf32, #emb> -> tensor<?x64x128xf32>
  return %0, %1 : tensor<4x64x128xf32>, tensor<?x64x128xf32>
}

// Tests that circ.add_positions round-trips with a table longer than the
// sequence.
// CHECK-LABEL: func.func @add_positions
// CHECK: circ.add_positions %{{.*}}, %{{.*}} : tensor<?x64x128xf32>, tensor<256x128xf32>
func.func @add_positions(%x: tensor<?x64x128xf32>, %wpe: tensor<256x128xf32>) -> tensor<?x64x128xf32> {
  %0 = circ.add_positions %x, %wpe : tensor<?x64x128xf32>, tensor<256x128xf32>
  return %0 : tensor<?x64x128xf32>
}

// Tests that circ.proj round-trips with and without bias, on rank-3 and
// rank-2 inputs, with dense and sparse (rows, cols) weights.
// CHECK-LABEL: func.func @proj
// CHECK-SAME: (%[[X:.*]]: tensor<?x64x128xf32>, %[[W:.*]]: tensor<512x128xf32, #circ.sparsity<density = 1.562500e-02, min_per_unit = 4, axis = rows, layout = csr>>, %[[B:.*]]: tensor<512xf32>, %[[WC:.*]]: tensor<128x512xf32, #circ.sparsity<density = 2.500000e-01, min_per_unit = 2, axis = cols, layout = ell>>, %[[D:.*]]: tensor<10x128xf32>, %[[X2:.*]]: tensor<7x128xf32>)
// CHECK: %[[H:.*]] = circ.proj %[[X]], %[[W]], %[[B]] : tensor<?x64x128xf32>, tensor<512x128xf32, #circ.sparsity<{{.*}}>>, tensor<512xf32> -> tensor<?x64x512xf32>
// CHECK: circ.proj %[[H]], %[[WC]] : tensor<?x64x512xf32>, tensor<128x512xf32, #circ.sparsity<{{.*}}>> -> tensor<?x64x128xf32>
// CHECK: circ.proj %[[X2]], %[[D]] : tensor<7x128xf32>, tensor<10x128xf32> -> tensor<7x10xf32>
func.func @proj(%x: tensor<?x64x128xf32>, %w: tensor<512x128xf32, #rows>,
                %b: tensor<512xf32>, %wc: tensor<128x512xf32, #cols>,
                %d: tensor<10x128xf32>, %x2: tensor<7x128xf32>)
    -> (tensor<?x64x128xf32>, tensor<7x10xf32>) {
  %0 = circ.proj %x, %w, %b : tensor<?x64x128xf32>, tensor<512x128xf32, #rows>, tensor<512xf32> -> tensor<?x64x512xf32>
  %1 = circ.proj %0, %wc : tensor<?x64x512xf32>, tensor<128x512xf32, #cols> -> tensor<?x64x128xf32>
  %2 = circ.proj %x2, %d : tensor<7x128xf32>, tensor<10x128xf32> -> tensor<7x10xf32>
  return %1, %2 : tensor<?x64x128xf32>, tensor<7x10xf32>
}

// Tests that circ.rmsnorm round-trips; the default epsilon is elided and an
// explicit one is kept.
// CHECK-LABEL: func.func @rmsnorm
// CHECK: circ.rmsnorm %{{.*}}, %{{.*}} : tensor<2x8x64xf32>, tensor<64xf32>
// CHECK: circ.rmsnorm %{{.*}}, %{{.*}} {epsilon = 1.000000e-05 : f64} : tensor<2x8x64xf32>, tensor<64xf32>
func.func @rmsnorm(%x: tensor<2x8x64xf32>, %g: tensor<64xf32>) -> tensor<2x8x64xf32> {
  %0 = circ.rmsnorm %x, %g : tensor<2x8x64xf32>, tensor<64xf32>
  %1 = circ.rmsnorm %0, %g {epsilon = 1.0e-05 : f64} : tensor<2x8x64xf32>, tensor<64xf32>
  return %1 : tensor<2x8x64xf32>
}

// Tests that circ.abs_topk round-trips in the k and fraction forms, without a
// site, and at each of the eight node locations.
// CHECK-LABEL: func.func @abs_topk
// CHECK: circ.abs_topk %{{.*}} {k = 16 : i64} : tensor<2x8x64xf32>
// CHECK: circ.abs_topk %{{.*}} {fraction = 2.500000e-01 : f64} : tensor<2x8x64xf32>
// CHECK: circ.abs_topk %{{.*}} {k = 16 : i64, layer = 0 : i64, site = #circ.site<attn_in>}
// CHECK: circ.abs_topk %{{.*}} {k = 16 : i64, layer = 0 : i64, site = #circ.site<attn_q>}
// CHECK: circ.abs_topk %{{.*}} {k = 16 : i64, layer = 0 : i64, site = #circ.site<attn_k>}
// CHECK: circ.abs_topk %{{.*}} {k = 16 : i64, layer = 0 : i64, site = #circ.site<attn_v>}
// CHECK: circ.abs_topk %{{.*}} {k = 16 : i64, layer = 1 : i64, site = #circ.site<attn_out>}
// CHECK: circ.abs_topk %{{.*}} {k = 16 : i64, layer = 1 : i64, site = #circ.site<mlp_in>}
// CHECK: circ.abs_topk %{{.*}} {fraction = 1.250000e-01 : f64, layer = 1 : i64, site = #circ.site<mlp_neuron>}
// CHECK: circ.abs_topk %{{.*}} {k = 64 : i64, layer = 7 : i64, site = #circ.site<mlp_out>}
// CHECK: circ.abs_topk %{{.*}} {k = 3 : i64} : tensor<?x?x?xf32>
func.func @abs_topk(%x: tensor<2x8x64xf32>, %y: tensor<?x?x?xf32>) -> (tensor<2x8x64xf32>, tensor<?x?x?xf32>) {
  %0 = circ.abs_topk %x {k = 16 : i64} : tensor<2x8x64xf32>
  %1 = circ.abs_topk %0 {fraction = 0.25 : f64} : tensor<2x8x64xf32>
  %2 = circ.abs_topk %1 {k = 16 : i64, layer = 0 : i64, site = #circ.site<attn_in>} : tensor<2x8x64xf32>
  %3 = circ.abs_topk %2 {k = 16 : i64, layer = 0 : i64, site = #circ.site<attn_q>} : tensor<2x8x64xf32>
  %4 = circ.abs_topk %3 {k = 16 : i64, layer = 0 : i64, site = #circ.site<attn_k>} : tensor<2x8x64xf32>
  %5 = circ.abs_topk %4 {k = 16 : i64, layer = 0 : i64, site = #circ.site<attn_v>} : tensor<2x8x64xf32>
  %6 = circ.abs_topk %5 {k = 16 : i64, layer = 1 : i64, site = #circ.site<attn_out>} : tensor<2x8x64xf32>
  %7 = circ.abs_topk %6 {k = 16 : i64, layer = 1 : i64, site = #circ.site<mlp_in>} : tensor<2x8x64xf32>
  %8 = circ.abs_topk %7 {fraction = 0.125 : f64, layer = 1 : i64, site = #circ.site<mlp_neuron>} : tensor<2x8x64xf32>
  %9 = circ.abs_topk %8 {k = 64 : i64, layer = 7 : i64, site = #circ.site<mlp_out>} : tensor<2x8x64xf32>
  %10 = circ.abs_topk %y {k = 3 : i64} : tensor<?x?x?xf32>
  return %9, %10 : tensor<2x8x64xf32>, tensor<?x?x?xf32>
}

// Tests that circ.gelu round-trips on ranks 1 and 3.
// CHECK-LABEL: func.func @gelu
// CHECK: circ.gelu %{{.*}} : tensor<2x16x64xf32>
// CHECK: circ.gelu %{{.*}} : tensor<5xf32>
func.func @gelu(%x: tensor<2x16x64xf32>, %y: tensor<5xf32>) -> (tensor<2x16x64xf32>, tensor<5xf32>) {
  %0 = circ.gelu %x : tensor<2x16x64xf32>
  %1 = circ.gelu %y : tensor<5xf32>
  return %0, %1 : tensor<2x16x64xf32>, tensor<5xf32>
}

// Tests that circ.attention round-trips with and without the per-head sink.
// CHECK-LABEL: func.func @attention
// CHECK-SAME: (%[[Q:.*]]: tensor<?x64x128xf32>, %[[K:.*]]: tensor<?x64x128xf32>, %[[V:.*]]: tensor<?x64x128xf32>, %[[SINK:.*]]: tensor<8xf32>)
// CHECK: circ.attention %[[Q]], %[[K]], %[[V]] {num_heads = 8 : i64} : tensor<?x64x128xf32>{{$}}
// CHECK: circ.attention %[[Q]], %[[K]], %[[V]], %[[SINK]] {num_heads = 8 : i64} : tensor<?x64x128xf32>, tensor<8xf32>
func.func @attention(%q: tensor<?x64x128xf32>, %k: tensor<?x64x128xf32>,
                     %v: tensor<?x64x128xf32>, %sink: tensor<8xf32>)
    -> (tensor<?x64x128xf32>, tensor<?x64x128xf32>) {
  %0 = circ.attention %q, %k, %v {num_heads = 8 : i64} : tensor<?x64x128xf32>
  %1 = circ.attention %q, %k, %v, %sink {num_heads = 8 : i64} : tensor<?x64x128xf32>, tensor<8xf32>
  return %0, %1 : tensor<?x64x128xf32>, tensor<?x64x128xf32>
}

// Tests that circ.residual_add round-trips and keeps its operand order.
// CHECK-LABEL: func.func @residual_add
// CHECK-SAME: (%[[R:.*]]: tensor<2x8x64xf32>, %[[D:.*]]: tensor<2x8x64xf32>)
// CHECK: circ.residual_add %[[R]], %[[D]] : tensor<2x8x64xf32>
func.func @residual_add(%r: tensor<2x8x64xf32>, %d: tensor<2x8x64xf32>) -> tensor<2x8x64xf32> {
  %0 = circ.residual_add %r, %d : tensor<2x8x64xf32>
  return %0 : tensor<2x8x64xf32>
}

// Tests that circ.mask_gate round-trips with mean ablation (and a node
// location), with zero ablation, and with a non-default temperature.
// CHECK-LABEL: func.func @mask_gate
// CHECK-SAME: (%[[X:.*]]: tensor<2x8x64xf32>, %[[TAU:.*]]: tensor<64xf32>, %[[MU:.*]]: tensor<64xf32>)
// CHECK: %[[G:.*]] = circ.mask_gate %[[X]], %[[TAU]], %[[MU]] {ablation = #circ.ablation<mean>, layer = 1 : i64, site = #circ.site<mlp_neuron>} : tensor<2x8x64xf32>, tensor<64xf32>, tensor<64xf32>
// CHECK: %[[Z:.*]] = circ.mask_gate %[[G]], %[[TAU]] {ablation = #circ.ablation<zero>} : tensor<2x8x64xf32>, tensor<64xf32>
// CHECK: circ.mask_gate %[[Z]], %[[TAU]], %[[MU]] {ablation = #circ.ablation<mean>, temperature = 5.000000e-01 : f64} : tensor<2x8x64xf32>, tensor<64xf32>, tensor<64xf32>
func.func @mask_gate(%x: tensor<2x8x64xf32>, %tau: tensor<64xf32>, %mu: tensor<64xf32>) -> tensor<2x8x64xf32> {
  %0 = circ.mask_gate %x, %tau, %mu {ablation = #circ.ablation<mean>, layer = 1 : i64, site = #circ.site<mlp_neuron>} : tensor<2x8x64xf32>, tensor<64xf32>, tensor<64xf32>
  %1 = circ.mask_gate %0, %tau {ablation = #circ.ablation<zero>} : tensor<2x8x64xf32>, tensor<64xf32>
  %2 = circ.mask_gate %1, %tau, %mu {ablation = #circ.ablation<mean>, temperature = 0.5 : f64} : tensor<2x8x64xf32>, tensor<64xf32>, tensor<64xf32>
  return %2 : tensor<2x8x64xf32>
}

// Tests that circ.bigram round-trips.
// CHECK-LABEL: func.func @bigram
// CHECK: circ.bigram %{{.*}}, %{{.*}} : tensor<?x64xi32>, tensor<2048x2048xf32> -> tensor<?x64x2048xf32>
func.func @bigram(%ids: tensor<?x64xi32>, %table: tensor<2048x2048xf32>) -> tensor<?x64x2048xf32> {
  %0 = circ.bigram %ids, %table : tensor<?x64xi32>, tensor<2048x2048xf32> -> tensor<?x64x2048xf32>
  return %0 : tensor<?x64x2048xf32>
}

// Tests that circ.next_token_loss round-trips and yields a 0-d f32 tensor.
// CHECK-LABEL: func.func @next_token_loss
// CHECK: %{{.*}} = circ.next_token_loss %{{.*}}, %{{.*}} : tensor<?x64x2048xf32>, tensor<?x64xi32>
// CHECK-NEXT: return %{{.*}} : tensor<f32>
func.func @next_token_loss(%logits: tensor<?x64x2048xf32>, %targets: tensor<?x64xi32>) -> tensor<f32> {
  %0 = circ.next_token_loss %logits, %targets : tensor<?x64x2048xf32>, tensor<?x64xi32>
  return %0 : tensor<f32>
}

// Tests that circ.contrast_loss round-trips with its operands in order.
// CHECK-LABEL: func.func @contrast_loss
// CHECK-SAME: (%[[L:.*]]: tensor<8x32x2048xf32>, %[[P:.*]]: tensor<8xi32>, %[[Y:.*]]: tensor<8xi32>, %[[N:.*]]: tensor<8xi32>)
// CHECK: circ.contrast_loss %[[L]], %[[P]], %[[Y]], %[[N]] : tensor<8x32x2048xf32>, tensor<8xi32>
func.func @contrast_loss(%logits: tensor<8x32x2048xf32>, %pos: tensor<8xi32>,
                         %yes: tensor<8xi32>, %no: tensor<8xi32>) -> tensor<f32> {
  %0 = circ.contrast_loss %logits, %pos, %yes, %no : tensor<8x32x2048xf32>, tensor<8xi32>
  return %0 : tensor<f32>
}

// Tests that every enum attribute value and the sparsity encoding in all its
// forms (every layout and axis, an integer density, a density six digits
// cannot represent) round-trip as discardable attributes.
// CHECK-LABEL: func.func @attributes
// CHECK-SAME: ablations = [#circ.ablation<mean>, #circ.ablation<zero>]
// CHECK-SAME: axes = [#circ.axis<rows>, #circ.axis<cols>, #circ.axis<none>]
// CHECK-SAME: layouts = [#circ.layout<dense>, #circ.layout<csr>, #circ.layout<ell>, #circ.layout<bsr>]
// CHECK-SAME: sites = [#circ.site<attn_in>, #circ.site<attn_q>, #circ.site<attn_k>, #circ.site<attn_v>, #circ.site<attn_out>, #circ.site<mlp_in>, #circ.site<mlp_neuron>, #circ.site<mlp_out>]
// CHECK-SAME: sparsity = [#circ.sparsity<density = 1.000000e+00, min_per_unit = 0, axis = none, layout = dense>, #circ.sparsity<density = 0.33333333333333331, min_per_unit = 4, axis = rows, layout = csr>, #circ.sparsity<density = 1.000000e-03, min_per_unit = 1, axis = cols, layout = bsr>]
func.func @attributes() attributes {
  sites = [#circ.site<attn_in>, #circ.site<attn_q>, #circ.site<attn_k>, #circ.site<attn_v>,
           #circ.site<attn_out>, #circ.site<mlp_in>, #circ.site<mlp_neuron>, #circ.site<mlp_out>],
  layouts = [#circ.layout<dense>, #circ.layout<csr>, #circ.layout<ell>, #circ.layout<bsr>],
  axes = [#circ.axis<rows>, #circ.axis<cols>, #circ.axis<none>],
  ablations = [#circ.ablation<mean>, #circ.ablation<zero>],
  sparsity = [#circ.sparsity<density = 1, min_per_unit = 0, axis = none, layout = dense>,
              #circ.sparsity<density = 0.3333333333333333, min_per_unit = 4, axis = rows, layout = csr>,
              #circ.sparsity<density = 1.0e-3, min_per_unit = 1, axis = cols, layout = bsr>]} {
  return
}

// Tests that the model-level attributes round-trip: `circ.param` on function
// arguments and `circ.model` on the module.
// CHECK-LABEL: module @model
// CHECK-SAME: attributes {circ.model = {d_model = 64 : i64, layers = 2 : i64}}
// CHECK: func.func @forward(%{{.*}}: tensor<?x8xi32>, %{{.*}}: tensor<2048x64xf32> {circ.param = "wte.weight"})
module @model attributes {circ.model = {layers = 2 : i64, d_model = 64 : i64}} {
  func.func @forward(%ids: tensor<?x8xi32>, %wte: tensor<2048x64xf32> {circ.param = "wte.weight"}) -> tensor<?x8x64xf32> {
    %0 = circ.embed %ids, %wte : tensor<?x8xi32>, tensor<2048x64xf32> -> tensor<?x8x64xf32>
    return %0 : tensor<?x8x64xf32>
  }
}
