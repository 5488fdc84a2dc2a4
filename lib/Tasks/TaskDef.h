//===- TaskDef.h - parsed task templates (private) --------------*- C++ -*-===//
//
// The parser (TaskParser.cpp) builds these; the generator (TaskGenerate.cpp)
// expands them. Slot references inside templates are kept by name and
// resolved per task, because a named list may be shared by several tasks.
//
//===----------------------------------------------------------------------===//
#ifndef CIRC_LIB_TASKS_TASKDEF_H
#define CIRC_LIB_TASKS_TASKDEF_H

#include "circ/Tasks/Tasks.h"

#include <map>
#include <memory>
#include <string>
#include <vector>

namespace circ::tasks {

/// A piece of a template: literal text, or a `{slot}` reference.
struct Segment {
  std::string text; ///< literal text, or the referenced slot's name
  bool isRef = false;
  SourceLoc loc; ///< of the reference's name (refs only)
};

struct Template {
  std::vector<Segment> segments;
};

/// One list entry: a single template, or a tuple of them (arity > 1).
using Entry = std::vector<Template>;

struct ListDef {
  std::string name; ///< empty for a list written inline
  SourceLoc loc;
  std::vector<Entry> entries;
  size_t arity = 1;
};

/// `slot x = L`, `slot (a, b) = L`, `contrast q = [...]`, `contrast q = two
/// of L`.
struct Binding {
  std::vector<std::string> names;
  std::shared_ptr<const ListDef> list;
  bool isContrast = false;
  bool twoOf = false; ///< contrast drawing two distinct entries per datapoint
  SourceLoc loc;
};

struct TaskDef {
  std::string name, description;
  SourceLoc loc;
  bool builtin = false;
  Template prompt, completion;
  std::vector<Binding> bindings;
  size_t contrast = 0; ///< index of the contrast binding
  /// slot name -> (binding index, tuple component)
  std::map<std::string, std::pair<size_t, size_t>> symbols;
};

/// Built-in lists, shared by every parse (parsed once with the built-ins).
const std::map<std::string, std::shared_ptr<const ListDef>> &builtinLists();

} // namespace circ::tasks

#endif // CIRC_LIB_TASKS_TASKDEF_H
