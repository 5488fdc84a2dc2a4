// RUN: circ-opt %s --split-input-file --circ-differentiate --verify-diagnostics
// RUN: not circ-opt %s --split-input-file --circ-differentiate="params=nope" 2>&1 | FileCheck %s --check-prefix=PARAMS

// Tests that an op without a gradient rule on the path from a parameter to
// the loss is rejected at that op.
func.func @loss(%x: tensor<2x4x8xf32>, %t: tensor<2x4xi32>,
                %w: tensor<8x8xf32> {circ.param = "w"}) -> tensor<f32> {
  %y = circ.proj %x, %w : tensor<2x4x8xf32>, tensor<8x8xf32> -> tensor<2x4x8xf32>
  // expected-error @+1 {{'arith.mulf' op circ-differentiate: cannot differentiate 'arith.mulf'}}
  %z = arith.mulf %y, %y : tensor<2x4x8xf32>
  %l = circ.next_token_loss %z, %t : tensor<2x4x8xf32>, tensor<2x4xi32>
  return %l : tensor<f32>
}

// -----

// Tests that the same op off the path (it does not depend on a parameter)
// needs no rule.
func.func @loss(%x: tensor<2x4x8xf32>, %t: tensor<2x4xi32>,
                %w: tensor<8x8xf32> {circ.param = "w"}) -> tensor<f32> {
  %x2 = arith.mulf %x, %x : tensor<2x4x8xf32>
  %y = circ.proj %x2, %w : tensor<2x4x8xf32>, tensor<8x8xf32> -> tensor<2x4x8xf32>
  %l = circ.next_token_loss %y, %t : tensor<2x4x8xf32>, tensor<2x4xi32>
  return %l : tensor<f32>
}

// -----

// Tests that the function to differentiate must exist.
// expected-error @+1 {{circ-differentiate: no function named 'loss' to differentiate}}
module {
  func.func @forward(%x: tensor<f32>) -> tensor<f32> {
    return %x : tensor<f32>
  }
}

// -----

// Tests that the function must return a single scalar loss.
// expected-error @+1 {{circ-differentiate: 'loss' must return exactly one tensor<f32> (the loss)}}
func.func @loss(%x: tensor<2x4x8xf32>, %w: tensor<8x8xf32> {circ.param = "w"}) -> tensor<2x4x8xf32> {
  %y = circ.proj %x, %w : tensor<2x4x8xf32>, tensor<8x8xf32> -> tensor<2x4x8xf32>
  return %y : tensor<2x4x8xf32>
}

// -----

// Tests that an existing @loss_grad is not overwritten.
func.func @loss(%x: tensor<f32> {circ.param = "x"}) -> tensor<f32> {
  return %x : tensor<f32>
}
// expected-error @+1 {{circ-differentiate: 'loss_grad' already exists}}
func.func @loss_grad(%x: tensor<f32>) -> tensor<f32> {
  return %x : tensor<f32>
}

// -----

// Tests that a body with control flow is rejected.
// expected-error @+1 {{circ-differentiate: 'loss' must have a body of exactly one block}}
func.func @loss(%x: tensor<f32> {circ.param = "x"}) -> tensor<f32> {
  cf.br ^bb1
^bb1:
  return %x : tensor<f32>
}

// -----

// Tests that a `params` entry matching no parameter is an error (PARAMS), so
// a typo does not silently drop a gradient.
// PARAMS: circ-differentiate-invalid.mlir:[[@LINE+1]]:1: error: circ-differentiate: no parameter of 'loss' matches 'nope'
func.func @loss(%x: tensor<f32> {circ.param = "x"}) -> tensor<f32> {
  return %x : tensor<f32>
}
