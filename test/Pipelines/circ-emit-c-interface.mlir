// RUN: circ-opt %s --circ-emit-c-interface | FileCheck %s
// The pass rejects nothing: every module is valid input.

// Tests that public functions with a body get a C wrapper and that private
// functions and declarations do not.
// CHECK-LABEL: func.func @public
// CHECK-SAME: attributes {llvm.emit_c_interface}
func.func @public(%m: memref<4xf32>) {
  return
}

// CHECK-LABEL: func.func private @helper
// CHECK-NOT: llvm.emit_c_interface
func.func private @helper(%m: memref<4xf32>) {
  return
}

// CHECK-LABEL: func.func private @external
// CHECK-NOT: llvm.emit_c_interface
func.func private @external(memref<4xf32>)
