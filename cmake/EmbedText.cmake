# Writes a C++ header holding a text file as a raw string literal:
#   cmake -DINPUT=<file> -DOUTPUT=<header> -DSYMBOL=<name> -P EmbedText.cmake
# Used at build time so that tools ship their templates (task library, HTML
# viewer) without reading the source tree at run time.
file(READ "${INPUT}" content)
set(delim "circ_embed")
string(FIND "${content}" ")${delim}\"" clash)
if(NOT clash EQUAL -1)
  message(FATAL_ERROR "${INPUT} contains the raw-string delimiter )${delim}\"")
endif()
get_filename_component(input_name "${INPUT}" NAME)
file(WRITE "${OUTPUT}.tmp"
  "// Generated from ${input_name} by cmake/EmbedText.cmake; do not edit.\n"
  "static const char ${SYMBOL}[] = R\"${delim}(${content})${delim}\";\n")
file(RENAME "${OUTPUT}.tmp" "${OUTPUT}")
