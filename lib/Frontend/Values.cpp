//===- Values.cpp - reading typed values out of expressions -----*- C++ -*-===//
#include "Values.h"

#include <charconv>
#include <cmath>

using namespace circ::frontend;
using namespace circ::frontend::ast;

//===----------------------------------------------------------------------===//
// Formatting
//===----------------------------------------------------------------------===//

static std::string shortest(double value) {
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), value);
  return ec == std::errc() ? std::string(buf, end) : std::to_string(value);
}

std::string circ::frontend::formatNumber(double value) {
  if (value < 0)
    return "-" + formatNumber(-value);
  if (value == std::floor(value) && value < 1e15)
    return std::to_string(static_cast<int64_t>(value));
  return shortest(value);
}

std::string circ::frontend::formatFraction(double value) {
  if (value > 0 && value < 0.5) {
    double n = std::round(1.0 / value);
    if (n < 1e15 && 1.0 / n == value)
      return "1/" + std::to_string(static_cast<int64_t>(n));
  }
  return formatNumber(value);
}

std::string circ::frontend::formatPercent(double value) {
  double percent = value * 100;
  std::string digits =
      percent == std::floor(percent) && percent >= 0 && percent < 1e15
          ? std::to_string(static_cast<int64_t>(percent))
          : shortest(percent);
  // The lexer reads "N%" as N * 0.01; use the percent form only if that
  // gives back exactly this value.
  double back = 0;
  auto [end, ec] =
      std::from_chars(digits.data(), digits.data() + digits.size(), back);
  if (ec == std::errc() && end == digits.data() + digits.size() &&
      digits[0] != '-' && back * 0.01 == value)
    return digits + "%";
  return formatNumber(value);
}

std::string circ::frontend::formatString(std::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    switch (c) {
    case '"':
      out += "\\\"";
      break;
    case '\\':
      out += "\\\\";
      break;
    case '\n':
      out += "\\n";
      break;
    case '\t':
      out += "\\t";
      break;
    default:
      out += c;
    }
  }
  return out + "\"";
}

//===----------------------------------------------------------------------===//
// Bounds
//===----------------------------------------------------------------------===//

bool Bounds::contains(double v) const {
  bool aboveLo = loOpen ? v > lo : v >= lo;
  bool belowHi = hiOpen ? v < hi : v <= hi;
  return aboveLo && belowHi;
}

std::string Bounds::describe() const {
  if (hi >= 1e300) {
    if (loOpen)
      return lo == 0 ? "positive" : "greater than " + formatNumber(lo);
    return "at least " + formatNumber(lo);
  }
  if (!loOpen && !hiOpen && hi > 1)
    return "between " + formatNumber(lo) + " and " + formatNumber(hi);
  return std::string("in ") + (loOpen ? "(" : "[") + formatNumber(lo) + ", " +
         formatNumber(hi) + (hiOpen ? ")" : "]");
}

//===----------------------------------------------------------------------===//
// ValueReader
//===----------------------------------------------------------------------===//

const Expr *Matched::arg(std::string_view name) const {
  for (size_t i = 0; i < form->params.size(); ++i)
    if (form->params[i].name == name)
      return args[i];
  return nullptr;
}

std::string ValueReader::text(const Expr &e) const {
  // One line, at most about 40 bytes, never cutting a UTF-8 sequence.
  std::string_view t = source_.slice(e.range);
  std::string out;
  for (size_t i = 0; i < t.size(); ++i) {
    bool space = t[i] == '\n' || t[i] == '\r' || t[i] == '\t' || t[i] == ' ';
    if (space && (out.empty() || out.back() == ' '))
      continue;
    if (out.size() >= 40 && (static_cast<unsigned char>(t[i]) & 0xC0) != 0x80) {
      out += "...";
      break;
    }
    out += space ? ' ' : t[i];
  }
  return out;
}

std::string ValueReader::describe(const Expr &e) {
  switch (e.kind) {
  case ExprKind::Number:
    return e.suffix == NumberSuffix::Percent ? "a percentage" : "a number";
  case ExprKind::String:
    return "a string";
  case ExprKind::Symbol:
    return "the name '" + e.text + "'";
  case ExprKind::Call:
    return "'" + e.text + "(...)'";
  case ExprKind::List:
    return "a list";
  case ExprKind::Tuple:
    return "a tuple";
  case ExprKind::Unary:
    return "a negation";
  case ExprKind::Binary:
    switch (e.op) {
    case BinaryOp::Range:
      return "a range 'a..b'";
    case BinaryOp::Arrow:
      return "an arrow 'a -> b'";
    default:
      return "an arithmetic expression";
    }
  }
  return "a value";
}

void ValueReader::wrongType(const Expr &e, std::string_view what,
                            std::string_view expected) {
  diags_.report(DiagID::WrongType, e.range,
                "'" + std::string(what) + "' expects " + std::string(expected) +
                    ", found " + describe(e));
}

std::optional<ValueReader::Number>
ValueReader::fold(const Expr &e, std::string_view what,
                  std::string_view expected) {
  switch (e.kind) {
  case ExprKind::Number:
    return Number{e.number, e.suffix == NumberSuffix::Percent};
  case ExprKind::Unary: {
    auto inner = fold(*e.operands[0], what, expected);
    if (!inner)
      return std::nullopt;
    return Number{-inner->value, inner->percent};
  }
  case ExprKind::Binary: {
    if (e.op == BinaryOp::Range || e.op == BinaryOp::Arrow)
      break;
    auto lhs = fold(*e.operands[0], what, expected);
    if (!lhs)
      return std::nullopt;
    auto rhs = fold(*e.operands[1], what, expected);
    if (!rhs)
      return std::nullopt;
    double value = 0;
    switch (e.op) {
    case BinaryOp::Add:
      value = lhs->value + rhs->value;
      break;
    case BinaryOp::Sub:
      value = lhs->value - rhs->value;
      break;
    case BinaryOp::Mul:
      value = lhs->value * rhs->value;
      break;
    default:
      if (rhs->value == 0) {
        diags_.report(DiagID::DivisionByZero, e.operands[1]->range,
                      "division by zero");
        return std::nullopt;
      }
      value = lhs->value / rhs->value;
      break;
    }
    if (!std::isfinite(value)) {
      diags_.report(DiagID::NumberOutOfRange, e.range,
                    "'" + text(e) + "' is out of range");
      return std::nullopt;
    }
    return Number{value, lhs->percent || rhs->percent};
  }
  default:
    break;
  }
  wrongType(e, what, expected);
  return std::nullopt;
}

std::optional<ValueReader::Number>
ValueReader::number(const Expr &e, std::string_view what,
                    std::string_view expected) {
  return fold(e, what, expected);
}

bool ValueReader::inBounds(const Expr &e, std::string_view what, double value,
                           Bounds bounds) {
  if (bounds.contains(value))
    return true;
  Diagnostic &diag = diags_.report(DiagID::OutOfRange, e.range,
                                   "'" + std::string(what) + "' must be " +
                                       bounds.describe() + ", got " + text(e));
  // The most common slip: a density or fraction written as "1 in N" = N.
  if (bounds.hi == 1 && value > 1)
    diag.note(e.range, "write a fraction, e.g. 1/" + formatNumber(value));
  return false;
}

std::optional<int64_t> ValueReader::whole(const Expr &e, std::string_view what,
                                          Bounds bounds) {
  auto n = number(e, what, "a whole number");
  if (!n)
    return std::nullopt;
  if (n->percent) {
    diags_.report(DiagID::PercentNotAllowed, e.range,
                  "'" + std::string(what) +
                      "' is a count and cannot be a percentage");
    return std::nullopt;
  }
  if (n->value != std::floor(n->value)) {
    diags_.report(DiagID::NotInteger, e.range,
                  "'" + std::string(what) + "' must be a whole number, got " +
                      text(e));
    return std::nullopt;
  }
  // Callers give finite upper bounds, so the value fits in int64_t.
  if (!inBounds(e, what, n->value, bounds))
    return std::nullopt;
  return static_cast<int64_t>(n->value);
}

std::optional<double> ValueReader::real(const Expr &e, std::string_view what,
                                        Bounds bounds) {
  auto n = number(e, what, "a number");
  if (!n)
    return std::nullopt;
  if (n->percent) {
    diags_.report(DiagID::PercentNotAllowed, e.range,
                  "'" + std::string(what) +
                      "' is not a fraction and cannot be a percentage");
    return std::nullopt;
  }
  if (!inBounds(e, what, n->value, bounds))
    return std::nullopt;
  return n->value;
}

std::optional<double>
ValueReader::fraction(const Expr &e, std::string_view what, Bounds bounds) {
  auto n = number(e, what, "a fraction such as 1/4, 0.25 or 25%");
  if (!n || !inBounds(e, what, n->value, bounds))
    return std::nullopt;
  return n->value;
}

std::optional<bool> ValueReader::boolean(const Expr &e, std::string_view what) {
  auto sym = symbol(e, what, {"true", "false"});
  if (!sym)
    return std::nullopt;
  return *sym == "true";
}

std::optional<std::string>
ValueReader::string(const Expr &e, std::string_view what, bool allowEmpty) {
  if (e.kind != ExprKind::String) {
    wrongType(e, what, "a string");
    return std::nullopt;
  }
  if (e.text.empty() && !allowEmpty) {
    diags_.report(DiagID::EmptyValue, e.range,
                  "'" + std::string(what) + "' must not be empty");
    return std::nullopt;
  }
  return e.text;
}

std::optional<std::string_view>
ValueReader::symbol(const Expr &e, std::string_view what,
                    const std::vector<std::string_view> &symbols) {
  if (e.kind != ExprKind::Symbol) {
    wrongType(e, what, quotedList(symbols));
    return std::nullopt;
  }
  for (std::string_view s : symbols)
    if (e.text == s)
      return s;
  diags_.report(DiagID::UnknownValue, e.range,
                "unknown value '" + e.text + "' for '" + std::string(what) +
                    "'; expected " + quotedList(symbols) +
                    didYouMean(e.text, symbols));
  return std::nullopt;
}

static std::string formsList(const std::vector<Form> &forms) {
  std::vector<std::string> spelled;
  for (const Form &f : forms)
    spelled.push_back(std::string(f.name) + (f.params.empty() ? "" : "(...)"));
  std::vector<std::string_view> views(spelled.begin(), spelled.end());
  return quotedList(views);
}

std::optional<Matched> ValueReader::form(const Expr &e, std::string_view what,
                                         const std::vector<Form> &forms) {
  std::vector<std::string_view> names;
  for (const Form &f : forms)
    names.push_back(f.name);
  if (e.kind != ExprKind::Symbol && e.kind != ExprKind::Call) {
    wrongType(e, what, formsList(forms));
    return std::nullopt;
  }
  const Form *form = nullptr;
  for (const Form &f : forms)
    if (f.name == e.text)
      form = &f;
  SourceRange nameRange = e.kind == ExprKind::Call ? e.nameRange : e.range;
  if (!form) {
    diags_.report(DiagID::UnknownValue, nameRange,
                  "unknown value '" + e.text + "' for '" + std::string(what) +
                      "'; expected " + formsList(forms) +
                      didYouMean(e.text, names));
    return std::nullopt;
  }

  Matched matched{form, &e, std::vector<const Expr *>(form->params.size())};
  std::vector<SourceRange> givenAt(form->params.size());
  bool ok = true, sawNamed = false;
  size_t nextPositional = 0;
  for (const Argument &arg : e.args) {
    size_t index = form->params.size();
    if (!arg.name) {
      if (sawNamed) {
        diags_.report(DiagID::PositionalAfterNamed, arg.value->range,
                      "positional argument after a named one in '" + e.text +
                          "(...)'");
        ok = false;
        continue;
      }
      while (nextPositional < form->params.size() &&
             !form->params[nextPositional].positional)
        ++nextPositional;
      if (nextPositional == form->params.size()) {
        diags_.report(DiagID::TooManyArguments, arg.value->range,
                      "too many positional arguments to '" + e.text +
                          "(...)'; name the argument, as in '" +
                          (form->params.empty()
                               ? std::string("...")
                               : std::string(form->params[0].name) + ": ...") +
                          "'");
        ok = false;
        continue;
      }
      index = nextPositional++;
    } else {
      sawNamed = true;
      std::vector<std::string_view> paramNames;
      for (size_t i = 0; i < form->params.size(); ++i) {
        paramNames.push_back(form->params[i].name);
        if (form->params[i].name == arg.name->name)
          index = i;
      }
      if (index == form->params.size()) {
        std::string known = paramNames.empty()
                                ? "it takes no arguments"
                                : "it takes " + quotedList(paramNames, "and");
        std::string hint = didYouMean(arg.name->name, paramNames);
        diags_.report(DiagID::UnknownArgument, arg.name->range,
                      "'" + e.text + "' has no argument '" + arg.name->name +
                          "'" + (hint.empty() ? "; " + known : hint));
        ok = false;
        continue;
      }
    }
    if (matched.args[index]) {
      diags_
          .report(DiagID::DuplicateArgument,
                  arg.name ? arg.name->range : arg.value->range,
                  "argument '" + std::string(form->params[index].name) +
                      "' given twice")
          .note(givenAt[index], "first given here");
      ok = false;
      continue;
    }
    matched.args[index] = arg.value.get();
    givenAt[index] = arg.name ? arg.name->range : arg.value->range;
  }
  if (!ok)
    return std::nullopt;
  for (size_t i = 0; i < form->params.size(); ++i)
    if (form->params[i].required && !matched.args[i]) {
      diags_.report(DiagID::MissingArgument, e.range,
                    "'" + e.text + "' needs a '" +
                        std::string(form->params[i].name) + "' argument");
      return std::nullopt;
    }
  return matched;
}

std::optional<std::vector<const Expr *>>
ValueReader::listOf(const Expr &e, std::string_view what) {
  std::vector<const Expr *> items;
  if (e.kind != ExprKind::List) {
    items.push_back(&e);
    return items;
  }
  if (e.operands.empty()) {
    diags_.report(DiagID::EmptyValue, e.range,
                  "'" + std::string(what) + "' must not be empty");
    return std::nullopt;
  }
  for (const ExprPtr &item : e.operands)
    items.push_back(item.get());
  return items;
}
