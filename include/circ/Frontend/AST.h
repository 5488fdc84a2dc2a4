//===- AST.h - syntax tree of a .circ file ----------------------*- C++ -*-===//
//
// What the parser produces and the checker reads: blocks of `key = value`
// statements whose values are small expressions. The tree says nothing about
// which keys exist or what they mean; that is the checker's job. Every node
// records its byte range in the source.
//
//===----------------------------------------------------------------------===//
#ifndef CIRC_FRONTEND_AST_H
#define CIRC_FRONTEND_AST_H

#include "circ/Frontend/Source.h"

#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

namespace circ::frontend::ast {

struct Expr;
using ExprPtr = std::unique_ptr<Expr>;

/// A name as written, with its range.
struct Ident {
  std::string name;
  SourceRange range;
};

/// `name: value` or a positional `value` inside a call.
struct Argument {
  std::optional<Ident> name;
  ExprPtr value;
};

enum class ExprKind : uint8_t {
  Number, ///< 4, 1.5e-3, 40k, 50%
  String, ///< "corpus/**/*.py" (escapes resolved)
  Symbol, ///< rms, attn_q, true
  Call,   ///< sparse(density: 1/1000, min_per_neuron: 4)
  List,   ///< [attn_in, attn_out]
  Tuple,  ///< (0.9, 0.95)
  Unary,  ///< -x
  Binary, ///< a + b, a - b, a * b, a / b, a .. b, a -> b
};

enum class BinaryOp : uint8_t { Add, Sub, Mul, Div, Range, Arrow };
const char *spelling(BinaryOp op);

/// How a number literal was written; the checker rejects percentages where a
/// plain quantity is meant.
enum class NumberSuffix : uint8_t { None, Percent, Kilo, Mega, Giga };

struct Expr {
  ExprKind kind;
  SourceRange range;

  // Number: the value with the suffix applied (50% -> 0.5, 40k -> 40000).
  double number = 0;
  NumberSuffix suffix = NumberSuffix::None;
  // Number: as written; String: contents; Symbol and Call: the name.
  std::string text;
  SourceRange nameRange; ///< Call: the callee name
  BinaryOp op = BinaryOp::Add;
  /// List and Tuple elements; Unary operand; Binary lhs and rhs.
  std::vector<ExprPtr> operands;
  std::vector<Argument> args; ///< Call arguments in source order

  Expr(ExprKind kind, SourceRange range) : kind(kind), range(range) {}
};

struct Statement {
  Ident key;
  ExprPtr value;
  SourceRange range;
};

struct Block {
  Ident kind;                ///< data, model, train, prune, kernel
  std::optional<Ident> name; ///< `model gpt4`: gpt4
  std::optional<Ident> on;   ///< `train gpt4 on python`: python
  ExprPtr target;            ///< `prune gpt4 for <target>`
  SourceRange forKeyword;    ///< the `for` keyword, when present
  std::vector<Statement> statements;
  SourceRange header; ///< from the kind to the end of the header
  SourceRange range;  ///< the whole block
};

/// A top-level `task NAME { ... }` or `list NAME = ...` block. These use the
/// task template language (docs/tasks.md), which the task library parses;
/// the front end only finds them and hands their text over.
struct TemplateBlock {
  Ident kind;                ///< task or list
  std::optional<Ident> name; ///< absent only in broken input
  SourceRange range;         ///< the whole block
};

struct File {
  std::vector<Block> blocks;
  std::vector<TemplateBlock> templates;
};

/// Prints the tree with line:col positions, one node per line, indented like
/// clang's -ast-dump.
void dump(const File &file, const SourceFile &source, std::ostream &os);

} // namespace circ::frontend::ast

#endif // CIRC_FRONTEND_AST_H
