//===- AST.cpp - syntax tree of a .circ file --------------------*- C++ -*-===//
#include "circ/Frontend/AST.h"

using namespace circ::frontend;
using namespace circ::frontend::ast;

const char *ast::spelling(BinaryOp op) {
  switch (op) {
  case BinaryOp::Add:
    return "+";
  case BinaryOp::Sub:
    return "-";
  case BinaryOp::Mul:
    return "*";
  case BinaryOp::Div:
    return "/";
  case BinaryOp::Range:
    return "..";
  case BinaryOp::Arrow:
    return "->";
  }
  return "?";
}

namespace {
class Dumper {
public:
  Dumper(const SourceFile &source, std::ostream &os)
      : source_(source), os_(os) {}

  void line(unsigned indent, const std::string &text, SourceRange at) {
    LineCol lc = source_.lineCol(at.begin);
    os_ << std::string(2 * indent, ' ') << text << " <" << lc.line << ':'
        << lc.col << ">\n";
  }

  void expr(const Expr &e, unsigned indent) {
    switch (e.kind) {
    case ExprKind::Number:
      line(indent, "number " + e.text, e.range);
      return;
    case ExprKind::String: {
      std::string quoted = "\"";
      for (char c : e.text) {
        if (c == '"' || c == '\\')
          quoted += '\\';
        if (c == '\n')
          quoted += "\\n";
        else if (c == '\t')
          quoted += "\\t";
        else
          quoted += c;
      }
      line(indent, "string " + quoted + "\"", e.range);
      return;
    }
    case ExprKind::Symbol:
      line(indent, "symbol " + e.text, e.range);
      return;
    case ExprKind::Call:
      line(indent, "call " + e.text, e.range);
      for (const Argument &arg : e.args) {
        if (arg.name) {
          line(indent + 1, "arg " + arg.name->name, arg.name->range);
          expr(*arg.value, indent + 2);
        } else {
          expr(*arg.value, indent + 1);
        }
      }
      return;
    case ExprKind::List:
    case ExprKind::Tuple:
      line(indent, e.kind == ExprKind::List ? "list" : "tuple", e.range);
      for (const ExprPtr &element : e.operands)
        expr(*element, indent + 1);
      return;
    case ExprKind::Unary:
      line(indent, "unary -", e.range);
      expr(*e.operands[0], indent + 1);
      return;
    case ExprKind::Binary:
      line(indent, std::string("binary ") + spelling(e.op), e.range);
      expr(*e.operands[0], indent + 1);
      expr(*e.operands[1], indent + 1);
      return;
    }
  }

  void block(const Block &b) {
    std::string head = "block " + b.kind.name;
    if (b.name)
      head += " " + b.name->name;
    if (b.on)
      head += " on " + b.on->name;
    line(0, head, b.range);
    if (b.target) {
      line(1, "for", b.forKeyword);
      expr(*b.target, 2);
    }
    for (const Statement &s : b.statements) {
      line(1, "statement " + s.key.name, s.range);
      expr(*s.value, 2);
    }
  }

private:
  const SourceFile &source_;
  std::ostream &os_;
};
} // namespace

void ast::dump(const File &file, const SourceFile &source, std::ostream &os) {
  Dumper dumper(source, os);
  for (const TemplateBlock &t : file.templates)
    dumper.line(0, t.kind.name + (t.name ? " " + t.name->name : ""), t.range);
  for (const Block &b : file.blocks)
    dumper.block(b);
}
