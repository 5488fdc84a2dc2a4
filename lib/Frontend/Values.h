//===- Values.h - reading typed values out of expressions -------*- C++ -*-===//
//
// The checker's vocabulary: "a whole number at least 1", "a fraction in
// (0, 1]", "one of these symbols", "a call to one of these forms with these
// named arguments". Each reader either returns the value or reports exactly
// one diagnostic at the offending expression and returns nothing, so a
// caller never has to phrase a type error itself.
//
//===----------------------------------------------------------------------===//
#ifndef CIRC_LIB_FRONTEND_VALUES_H
#define CIRC_LIB_FRONTEND_VALUES_H

#include "circ/Frontend/AST.h"
#include "circ/Frontend/Diagnostics.h"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace circ::frontend {

/// Canonical spelling of numbers, shared by messages and --print-spec, that
/// reads back as the same double: the shortest decimal ("0.0128", "40000",
/// "1e-05").
std::string formatNumber(double value);
/// As formatNumber, but "1/N" when the value is exactly 1/N (densities and
/// fractions read best that way: 1/1000, 1/4).
std::string formatFraction(double value);
/// "1%", "12.5%" when that reads back exactly; formatNumber otherwise.
std::string formatPercent(double value);
/// A double-quoted string literal with escapes.
std::string formatString(std::string_view text);

/// An interval of allowed values, with its description for messages.
struct Bounds {
  double lo, hi;
  bool loOpen, hiOpen;
  static Bounds atLeast(double lo) { return {lo, 1e300, false, false}; }
  static Bounds positive() { return {0, 1e300, true, false}; }
  static Bounds unitOpenClosed() { return {0, 1, true, false}; } // (0, 1]
  static Bounds unitClosedOpen() { return {0, 1, false, true}; } // [0, 1)
  static Bounds unitClosed() { return {0, 1, false, false}; }    // [0, 1]
  static Bounds between(double lo, double hi) { return {lo, hi, false, false}; }
  bool contains(double v) const;
  std::string describe() const; ///< "in (0, 1]", "at least 1", "positive"
};

/// One named parameter of a value form such as `sparse(density:, ...)`.
struct Param {
  std::string_view name;
  bool positional = false; ///< may be given without `name:`
  bool required = false;
};

/// A value form: `name(params...)`, or the bare `name` when nothing is
/// required (so `dense` and `dense()` are the same).
struct Form {
  std::string_view name;
  std::vector<Param> params;
};

/// A successfully matched form: which one, and each parameter's argument
/// (null when not given), in the order of Form::params.
struct Matched {
  const Form *form = nullptr;
  const ast::Expr *expr = nullptr;
  std::vector<const ast::Expr *> args;

  const ast::Expr *arg(std::string_view name) const;
  bool is(std::string_view name) const { return form->name == name; }
};

class ValueReader {
public:
  ValueReader(const SourceFile &source, DiagnosticEngine &diags)
      : source_(source), diags_(diags) {}

  DiagnosticEngine &diags() { return diags_; }
  /// The expression as written, on one line and shortened, for messages.
  std::string text(const ast::Expr &e) const;
  /// "a string", "a list", "the name 'rms'", "'sparse(...)'", ...
  static std::string describe(const ast::Expr &e);

  struct Number {
    double value;
    bool percent; ///< written with % somewhere (50%, 1%..)
  };
  /// Folds number literals and + - * / on them.
  std::optional<Number> number(const ast::Expr &e, std::string_view what,
                               std::string_view expected);
  /// A whole number within bounds; percentages rejected.
  std::optional<int64_t> whole(const ast::Expr &e, std::string_view what,
                               Bounds bounds);
  /// A real number within bounds; percentages rejected.
  std::optional<double> real(const ast::Expr &e, std::string_view what,
                             Bounds bounds);
  /// A fraction within bounds, written as 1/4, 0.25 or 25%.
  std::optional<double> fraction(const ast::Expr &e, std::string_view what,
                                 Bounds bounds);
  std::optional<bool> boolean(const ast::Expr &e, std::string_view what);
  std::optional<std::string> string(const ast::Expr &e, std::string_view what,
                                    bool allowEmpty = false);
  /// One of `symbols`, written as a bare name.
  std::optional<std::string_view>
  symbol(const ast::Expr &e, std::string_view what,
         const std::vector<std::string_view> &symbols);
  /// One of `forms`; reports unknown names, arguments and missing ones.
  std::optional<Matched> form(const ast::Expr &e, std::string_view what,
                              const std::vector<Form> &forms);
  /// The elements of a list, or the expression itself if not a list (so a
  /// single item needs no brackets). Reports an empty list.
  std::optional<std::vector<const ast::Expr *>> listOf(const ast::Expr &e,
                                                       std::string_view what);

  /// Reports `'what' expects <expected>, found <e>`.
  void wrongType(const ast::Expr &e, std::string_view what,
                 std::string_view expected);

private:
  std::optional<Number> fold(const ast::Expr &e, std::string_view what,
                             std::string_view expected);
  bool inBounds(const ast::Expr &e, std::string_view what, double value,
                Bounds bounds);

  const SourceFile &source_;
  DiagnosticEngine &diags_;
};

} // namespace circ::frontend

#endif // CIRC_LIB_FRONTEND_VALUES_H
