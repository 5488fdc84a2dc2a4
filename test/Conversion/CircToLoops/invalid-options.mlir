// RUN: not circ-opt %s --convert-circ-to-loops=vector-width=12 2>&1 | FileCheck %s

// Tests that a vector width that is not a power of two is rejected.
// CHECK: error: vector-width must be a power of two, got 12
module {
}
