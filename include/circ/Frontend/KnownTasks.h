//===- KnownTasks.h - the pruning tasks a .circ file may name ---*- C++ -*-===//
//
// The one list of task names the checker accepts in `prune ... for <task>`.
// The pruning library implements each of them; add a name here when adding
// a task there. Names follow the paper's task table (Gao et al. 2025, §4).
//
//===----------------------------------------------------------------------===//
#ifndef CIRC_FRONTEND_KNOWNTASKS_H
#define CIRC_FRONTEND_KNOWNTASKS_H

#include <string_view>

namespace circ::frontend {

struct KnownTask {
  std::string_view name;
  std::string_view summary;
};

inline constexpr KnownTask kKnownTasks[] = {
    {"single_double_quote", "close a string with the quote it was opened with"},
    {"bracket_counting", "close a nested list literal at the right depth"},
    {"set_or_string", "was the variable initialised as set() or a string?"},
    {"bracket_type", "close with ')' or ']' to match the open bracket"},
    {"nesting_depth", "track how deeply the current line is nested"},
    {"triple_quote", "close a triple-quoted string with the matching quotes"},
    {"fstring_brace", "close a replacement field inside an f-string"},
    {"copy_param_name", "reuse a function's parameter name in its body"},
    {"var_type_tracking", "continue as the variable's type allows"},
    {"indentation", "predict the indentation of the next line"},
    {"comma_or_paren", "continue an argument list or close it"},
    {"return_or_yield", "return in a function, yield in a generator"},
};

} // namespace circ::frontend

#endif // CIRC_FRONTEND_KNOWNTASKS_H
