//===- Builtins.cpp - the built-in task library ----------------*- C++ -*-===//
//
// BuiltinTasks.tasks is embedded at build time and parsed on first use. It is
// part of the program, not user input: a unit test parses it, so an error
// here means a broken build and is reported as an internal error.
//
//===----------------------------------------------------------------------===//
#include "TaskDef.h"

#include <cstdio>
#include <cstdlib>

#include "BuiltinTasks.inc"

namespace circ::tasks {

ParseResult parseTemplatesImpl(
    std::string_view buffer, std::string_view name, size_t begin, size_t end,
    bool builtin,
    std::map<std::string, std::shared_ptr<const ListDef>> *listsOut);

namespace {

struct Library {
  std::vector<Task> tasks;
  std::map<std::string, std::shared_ptr<const ListDef>> lists;
};

const Library &library() {
  static const Library lib = [] {
    Library l;
    ParseResult r =
        parseTemplatesImpl(builtinTaskSource(), "<builtin>/BuiltinTasks.tasks",
                           0, std::string_view::npos, true, &l.lists);
    if (!r.ok()) {
      for (const Diagnostic &d : r.errors)
        std::fprintf(stderr, "internal error: %s\n", d.str().c_str());
      std::abort();
    }
    l.tasks = std::move(r.tasks);
    return l;
  }();
  return lib;
}

} // namespace

std::string_view builtinTaskSource() {
  return {kBuiltinTaskSource, sizeof(kBuiltinTaskSource) - 1};
}

const std::map<std::string, std::shared_ptr<const ListDef>> &builtinLists() {
  return library().lists;
}

const std::vector<Task> &builtinTasks() { return library().tasks; }

const Task *findBuiltinTask(std::string_view name) {
  for (const Task &t : library().tasks)
    if (t.name() == name)
      return &t;
  return nullptr;
}

std::vector<std::string> builtinTaskNames() {
  std::vector<std::string> names;
  for (const Task &t : library().tasks)
    names.push_back(t.name());
  return names;
}

std::vector<std::string> builtinListNames() {
  std::vector<std::string> names;
  for (const auto &[name, list] : library().lists)
    names.push_back(name);
  return names;
}

} // namespace circ::tasks
