# Thin wrappers over the MLIR CMake helpers, so the link policy (one shared
# libMLIR.so, never a second static copy of MLIR in a process) lives here only.

function(add_circ_dialect_library name)
  add_mlir_dialect_library(${name} ${ARGN} DISABLE_INSTALL)
  add_dependencies(circ-headers MLIR${name}IncGen)
endfunction()

function(add_circ_library name)
  add_mlir_library(${name} ${ARGN} DISABLE_INSTALL)
endfunction()

# Link MLIR-using targets against the shared libMLIR.so (Debian's own tools do).
function(circ_link_mlir target)
  target_link_libraries(${target} PRIVATE MLIR ${ARGN})
endfunction()

function(add_circ_tool name)
  add_llvm_executable(${name} ${ARGN})
  llvm_update_compile_flags(${name})
endfunction()

# Generated Markdown reference lands in docs/generated/ in the source tree too.
function(add_circ_doc td_file output_file command)
  set(LLVM_TARGET_DEFINITIONS ${td_file})
  mlir_tablegen(${output_file}.md ${command} ${ARGN})
  set(gen ${CMAKE_CURRENT_BINARY_DIR}/${output_file}.md)
  set(dst ${PROJECT_SOURCE_DIR}/docs/generated/${output_file}.md)
  add_custom_command(OUTPUT ${dst}
    COMMAND ${CMAKE_COMMAND} -E copy_if_different ${gen} ${dst}
    DEPENDS ${gen})
  add_custom_target(${output_file}DocGen DEPENDS ${dst})
  add_dependencies(circ-doc ${output_file}DocGen)
endfunction()
