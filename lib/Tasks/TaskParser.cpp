//===- TaskParser.cpp - the task template language ------------*- C++ -*-===//
//
// Lexer, recursive-descent parser and checks for `task` / `list`
// definitions (grammar in docs/tasks.md). Syntax errors recover at the next
// statement so that one run reports every mistake; all checks that can be
// made without drawing (unknown slots and lists, arities, cycles, a contrast
// that never reaches the prompt) are made here, at the offending token.
//
//===----------------------------------------------------------------------===//
#include "TaskDef.h"

#include <algorithm>
#include <cctype>
#include <functional>
#include <set>
#include <tuple>

namespace circ::tasks {

std::string Diagnostic::str() const {
  std::string out = loc.file + ":" + std::to_string(loc.line) + ":" +
                    std::to_string(loc.col) + ": error: " + message + "\n";
  if (loc.line == 0)
    return out;
  out += sourceLine + "\n";
  // Reproduce tabs so the caret lines up under tab-indented source.
  for (unsigned i = 0; i + 1 < loc.col && i < sourceLine.size(); ++i)
    out += sourceLine[i] == '\t' ? '\t' : ' ';
  return out + "^";
}

namespace {

enum class Tok {
  Ident,
  Int,
  String,
  LBrace,
  RBrace,
  LBracket,
  RBracket,
  LParen,
  RParen,
  Comma,
  Equals,
  Semi,
  DotDot,
  Newline,
  End,
};

const char *tokName(Tok t) {
  switch (t) {
  case Tok::Ident:
    return "a name";
  case Tok::Int:
    return "an integer";
  case Tok::String:
    return "a string";
  case Tok::LBrace:
    return "'{'";
  case Tok::RBrace:
    return "'}'";
  case Tok::LBracket:
    return "'['";
  case Tok::RBracket:
    return "']'";
  case Tok::LParen:
    return "'('";
  case Tok::RParen:
    return "')'";
  case Tok::Comma:
    return "','";
  case Tok::Equals:
    return "'='";
  case Tok::Semi:
    return "';'";
  case Tok::DotDot:
    return "'..'";
  case Tok::Newline:
    return "end of line";
  case Tok::End:
    return "end of input";
  }
  return "?";
}

struct Token {
  Tok kind;
  size_t offset;
  std::string text;             ///< identifier, integer or decoded string
  std::vector<size_t> charOffs; ///< strings: source offset of each byte
};

/// Thrown inside the parser only; caught at statement level.
struct SyntaxError {
  size_t offset;
  std::string message;
};

class Source {
public:
  Source(std::string_view buffer, std::string_view name)
      : buffer(buffer), name(name) {
    lineStarts.push_back(0);
    for (size_t i = 0; i < buffer.size(); ++i)
      if (buffer[i] == '\n')
        lineStarts.push_back(i + 1);
  }
  SourceLoc loc(size_t offset) const {
    auto it = std::upper_bound(lineStarts.begin(), lineStarts.end(), offset);
    size_t line = static_cast<size_t>(it - lineStarts.begin());
    return {name, static_cast<unsigned>(line),
            static_cast<unsigned>(offset - lineStarts[line - 1] + 1)};
  }
  Diagnostic diag(size_t offset, std::string message) const {
    return diag(loc(offset), std::move(message));
  }
  Diagnostic diag(const SourceLoc &l, std::string message) const {
    Diagnostic d{l, std::move(message), {}};
    if (l.line >= 1 && l.line <= lineStarts.size()) {
      size_t b = lineStarts[l.line - 1];
      size_t e = buffer.find('\n', b);
      d.sourceLine = std::string(
          buffer.substr(b, e == std::string_view::npos ? e : e - b));
      if (!d.sourceLine.empty() && d.sourceLine.back() == '\r')
        d.sourceLine.pop_back();
    }
    return d;
  }

  std::string_view buffer;
  std::string name;

private:
  std::vector<size_t> lineStarts;
};

bool isIdentStart(char c) {
  return std::isalpha(static_cast<unsigned char>(c)) || c == '_';
}
bool isIdentChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
}

/// Splits buffer[begin, end) into tokens. Newlines inside ( ) and [ ] are
/// dropped, so lists and tuples may span lines.
bool lex(const Source &src, size_t begin, size_t end, std::vector<Token> &out,
         std::vector<Diagnostic> &errors) {
  std::string_view s = src.buffer;
  int depth = 0;
  size_t i = begin;
  auto push = [&](Tok k, size_t off, std::string text = {}) {
    out.push_back({k, off, std::move(text), {}});
  };
  while (i < end) {
    char c = s[i];
    if (c == ' ' || c == '\t' || c == '\r') {
      ++i;
    } else if (c == '\n') {
      if (depth == 0)
        push(Tok::Newline, i);
      ++i;
    } else if (c == '/' && i + 1 < end && s[i + 1] == '/') {
      while (i < end && s[i] != '\n')
        ++i;
    } else if (c == '/' && i + 1 < end && s[i + 1] == '*') {
      size_t close = s.find("*/", i + 2);
      if (close == std::string_view::npos || close + 2 > end) {
        errors.push_back(src.diag(i, "unterminated '/*' comment"));
        return false;
      }
      i = close + 2;
    } else if (isIdentStart(c)) {
      size_t b = i;
      while (i < end && isIdentChar(s[i]))
        ++i;
      push(Tok::Ident, b, std::string(s.substr(b, i - b)));
    } else if (std::isdigit(static_cast<unsigned char>(c)) ||
               (c == '-' && i + 1 < end &&
                std::isdigit(static_cast<unsigned char>(s[i + 1])))) {
      size_t b = i++;
      while (i < end && std::isdigit(static_cast<unsigned char>(s[i])))
        ++i;
      push(Tok::Int, b, std::string(s.substr(b, i - b)));
    } else if (c == '"' || c == '\'') {
      size_t b = i++;
      Token t{Tok::String, b, {}, {}};
      bool closed = false;
      while (i < end && s[i] != '\n') {
        if (s[i] == c) {
          closed = true;
          ++i;
          break;
        }
        size_t at = i;
        char ch = s[i++];
        if (ch == '\\') {
          if (i >= end || s[i] == '\n') {
            errors.push_back(src.diag(at, "a string cannot end in '\\'"));
            return false;
          }
          char e = s[i++];
          switch (e) {
          case 'n':
            ch = '\n';
            break;
          case 't':
            ch = '\t';
            break;
          case 'r':
            ch = '\r';
            break;
          case '\\':
          case '"':
          case '\'':
            ch = e;
            break;
          default:
            errors.push_back(
                src.diag(at, std::string("unknown escape '\\") + e +
                                 "' (use \\n, \\t, \\r, \\\\, \\\" or \\')"));
            return false;
          }
        }
        t.text += ch;
        t.charOffs.push_back(at);
      }
      if (!closed) {
        errors.push_back(src.diag(b, "unterminated string"));
        return false;
      }
      out.push_back(std::move(t));
    } else if (c == '.' && i + 1 < end && s[i + 1] == '.') {
      push(Tok::DotDot, i);
      i += 2;
    } else {
      Tok k;
      switch (c) {
      case '{':
        k = Tok::LBrace;
        break;
      case '}':
        k = Tok::RBrace;
        break;
      case '[':
        k = Tok::LBracket;
        ++depth;
        break;
      case ']':
        k = Tok::RBracket;
        depth = std::max(0, depth - 1);
        break;
      case '(':
        k = Tok::LParen;
        ++depth;
        break;
      case ')':
        k = Tok::RParen;
        depth = std::max(0, depth - 1);
        break;
      case ',':
        k = Tok::Comma;
        break;
      case '=':
        k = Tok::Equals;
        break;
      case ';':
        k = Tok::Semi;
        break;
      default:
        errors.push_back(
            src.diag(i, std::string("unexpected character '") + c + "'"));
        return false;
      }
      push(k, i);
      ++i;
    }
  }
  push(Tok::End, end);
  return true;
}

/// One `task` block before resolution.
struct RawTask {
  std::shared_ptr<TaskDef> def;
  size_t nameOffset = 0;
  bool hasPrompt = false, hasCompletion = false, hasContrast = false;
  /// A statement failed to parse: further checks would only cascade.
  bool broken = false;
  /// Lists named in `slot`/`contrast` statements, resolved after parsing.
  std::vector<std::pair<size_t, std::string>> pendingLists; // binding, name
  std::vector<size_t> pendingOffsets;
  std::map<std::string, std::shared_ptr<const ListDef>> localLists;
  size_t promptOffset = 0, completionOffset = 0;
};

class Parser {
public:
  Parser(const Source &src, std::vector<Token> toks,
         std::vector<Diagnostic> &errors, bool builtin)
      : src(src), toks(std::move(toks)), errors(errors), builtin(builtin) {}

  void parseFile() {
    while (true) {
      skipSeparators();
      if (peek().kind == Tok::End)
        break;
      try {
        const Token &kw = peek();
        if (isKeyword(kw, "task")) {
          parseTask();
        } else if (isKeyword(kw, "list")) {
          parseList(globalLists, nullptr);
          expectEndOfStatement();
        } else {
          throw SyntaxError{kw.offset,
                            "expected 'task' or 'list', found " + describe(kw)};
        }
      } catch (const SyntaxError &e) {
        errors.push_back(src.diag(e.offset, e.message));
        recoverTopLevel();
      }
    }
    resolve();
  }

  std::vector<std::shared_ptr<TaskDef>> tasks;
  std::map<std::string, std::shared_ptr<const ListDef>> globalLists;

private:
  const Token &peek(size_t k = 0) const {
    return toks[std::min(pos + k, toks.size() - 1)];
  }
  const Token &next() {
    const Token &t = toks[pos];
    if (pos + 1 < toks.size())
      ++pos;
    return t;
  }
  static bool isKeyword(const Token &t, const char *kw) {
    return t.kind == Tok::Ident && t.text == kw;
  }
  static std::string describe(const Token &t) {
    if (t.kind == Tok::Ident)
      return "'" + t.text + "'";
    return tokName(t.kind);
  }
  const Token &expect(Tok k, const char *what) {
    if (peek().kind != k)
      throw SyntaxError{peek().offset, std::string("expected ") + what +
                                           ", found " + describe(peek())};
    return next();
  }
  void expectKeyword(const char *kw) {
    if (!isKeyword(peek(), kw))
      throw SyntaxError{peek().offset, std::string("expected '") + kw +
                                           "', found " + describe(peek())};
    next();
  }
  void skipSeparators() {
    while (peek().kind == Tok::Newline || peek().kind == Tok::Semi)
      next();
  }
  void expectEndOfStatement() {
    Tok k = peek().kind;
    if (k == Tok::Newline || k == Tok::Semi) {
      next();
      return;
    }
    if (k == Tok::RBrace || k == Tok::End)
      return;
    throw SyntaxError{peek().offset, "expected end of statement (a newline or "
                                     "';'), found " +
                                         describe(peek())};
  }
  /// Skips to the next statement of the current block.
  void recoverStatement() {
    while (peek().kind != Tok::Newline && peek().kind != Tok::Semi &&
           peek().kind != Tok::RBrace && peek().kind != Tok::End)
      next();
  }
  void recoverTopLevel() {
    // Skip the rest of a broken top-level construct: to the end of the line,
    // or past a whole `{ ... }` block.
    int depth = 0;
    while (peek().kind != Tok::End) {
      Tok k = next().kind;
      if (k == Tok::LBrace)
        ++depth;
      else if (k == Tok::RBrace && --depth <= 0)
        return;
      else if (k == Tok::Newline && depth == 0)
        return;
    }
  }

  /// Parses a string token's text as a template: `{name}` references,
  /// `{{` and `}}` literal braces.
  Template parseTemplate(const Token &t) {
    Template tpl;
    const std::string &s = t.text;
    std::string lit;
    auto flush = [&] {
      if (!lit.empty())
        tpl.segments.push_back({std::move(lit), false, {}});
      lit.clear();
    };
    for (size_t i = 0; i < s.size();) {
      char c = s[i];
      if (c == '{' && i + 1 < s.size() && s[i + 1] == '{') {
        lit += '{';
        i += 2;
      } else if (c == '}' && i + 1 < s.size() && s[i + 1] == '}') {
        lit += '}';
        i += 2;
      } else if (c == '{') {
        size_t b = i + 1, e = b;
        while (e < s.size() && isIdentChar(s[e]))
          ++e;
        if (e == b || !isIdentStart(s[b]) || e >= s.size() || s[e] != '}')
          throw SyntaxError{t.charOffs[i],
                            "expected a slot name and '}' after '{' (write "
                            "'{{' for a literal brace)"};
        flush();
        tpl.segments.push_back(
            {s.substr(b, e - b), true, src.loc(t.charOffs[b])});
        i = e + 1;
      } else if (c == '}') {
        throw SyntaxError{t.charOffs[i],
                          "unmatched '}' (write '}}' for a literal brace)"};
      } else {
        lit += c;
        ++i;
      }
    }
    flush();
    return tpl;
  }

  /// An Int token's value; bounded so that ranges cannot overflow.
  static long long integer(const Token &t) {
    size_t digits = t.text.size() - (t.text[0] == '-');
    if (digits > 12)
      throw SyntaxError{t.offset, "integer '" + t.text +
                                      "' is too large (at most 12 digits)"};
    return std::stoll(t.text);
  }

  Template literalTemplate(std::string text) {
    Template tpl;
    tpl.segments.push_back({std::move(text), false, {}});
    return tpl;
  }

  /// `[entry, ...]` or `lo..hi`; a bare name is handled by the caller.
  std::shared_ptr<ListDef> parseInlineList() {
    auto list = std::make_shared<ListDef>();
    list->loc = src.loc(peek().offset);
    if (peek().kind == Tok::Int) {
      const Token &lo = next();
      expect(Tok::DotDot, "'..' in an integer range");
      const Token &hi = expect(Tok::Int, "the range's upper bound");
      long long a = integer(lo), b = integer(hi);
      if (b < a)
        throw SyntaxError{hi.offset, "empty range: " + lo.text + ".." +
                                         hi.text +
                                         " (the bounds are "
                                         "inclusive)"};
      if (b - a >= 100000)
        throw SyntaxError{hi.offset,
                          "range too large (at most 100000 entries)"};
      for (long long v = a; v <= b; ++v)
        list->entries.push_back({literalTemplate(std::to_string(v))});
      return list;
    }
    size_t open = peek().offset;
    expect(Tok::LBracket, "a list ('[...]', 'lo..hi' or a list name)");
    while (peek().kind != Tok::RBracket) {
      size_t at = peek().offset;
      Entry entry;
      if (peek().kind == Tok::LParen) {
        next();
        entry.push_back(parseScalar());
        while (peek().kind == Tok::Comma) {
          next();
          entry.push_back(parseScalar());
        }
        expect(Tok::RParen, "',' or ')' in a tuple");
        if (entry.size() < 2)
          throw SyntaxError{at, "a tuple needs at least two values"};
      } else {
        entry.push_back(parseScalar());
      }
      if (!list->entries.empty() && entry.size() != list->arity)
        throw SyntaxError{at, "this entry has " + std::to_string(entry.size()) +
                                  " value(s) but the list's first entry has " +
                                  std::to_string(list->arity)};
      list->arity = entry.size();
      list->entries.push_back(std::move(entry));
      if (peek().kind != Tok::Comma)
        break;
      next();
    }
    expect(Tok::RBracket, "',' or ']' in a list");
    if (list->entries.empty())
      throw SyntaxError{open, "a list needs at least one entry"};
    return list;
  }

  Template parseScalar() {
    if (peek().kind == Tok::String)
      return parseTemplate(next());
    if (peek().kind == Tok::Int)
      return literalTemplate(next().text);
    throw SyntaxError{peek().offset, "expected a string or an integer, found " +
                                         describe(peek())};
  }

  /// `list NAME = listexpr`, into `scope` (and checked against the others).
  void parseList(std::map<std::string, std::shared_ptr<const ListDef>> &scope,
                 const RawTask *task) {
    expectKeyword("list");
    const Token &name = expect(Tok::Ident, "a list name");
    expect(Tok::Equals, "'='");
    std::shared_ptr<ListDef> list;
    if (peek().kind == Tok::Ident) {
      throw SyntaxError{peek().offset,
                        "a list is defined by '[...]' or 'lo..hi', not by "
                        "another list's name"};
    }
    list = parseInlineList();
    list->name = name.text;
    list->loc = src.loc(name.offset);
    bool clash = scope.count(name.text) || globalLists.count(name.text) ||
                 (task && task->localLists.count(name.text));
    if (!builtin && builtinLists().count(name.text))
      throw SyntaxError{name.offset,
                        "list '" + name.text + "' redefines a built-in list"};
    if (clash)
      throw SyntaxError{name.offset,
                        "list '" + name.text + "' is already defined"};
    scope[name.text] = std::move(list);
  }

  /// `x` or `(a, b, ...)`.
  std::vector<std::string> parsePattern(size_t &offset) {
    offset = peek().offset;
    std::vector<std::string> names;
    if (peek().kind == Tok::LParen) {
      next();
      names.push_back(expect(Tok::Ident, "a slot name").text);
      while (peek().kind == Tok::Comma) {
        next();
        names.push_back(expect(Tok::Ident, "a slot name").text);
      }
      expect(Tok::RParen, "',' or ')'");
      if (names.size() < 2)
        throw SyntaxError{offset, "'(...)' binds a tuple: write at least two "
                                  "names, or drop the parentheses"};
    } else {
      names.push_back(expect(Tok::Ident, "a slot name or '(...)'").text);
    }
    return names;
  }

  void parseBinding(RawTask &t, bool contrast) {
    next(); // slot | contrast
    size_t patOff;
    Binding b;
    b.names = parsePattern(patOff);
    b.isContrast = contrast;
    b.loc = src.loc(patOff);
    expect(Tok::Equals, "'='");
    if (contrast && isKeyword(peek(), "two") && isKeyword(peek(1), "of")) {
      next();
      next();
      b.twoOf = true;
    }
    size_t idx = t.def->bindings.size();
    if (peek().kind == Tok::Ident) {
      const Token &ref = next();
      t.pendingLists.push_back({idx, ref.text});
      t.pendingOffsets.push_back(ref.offset);
    } else {
      b.list = parseInlineList();
    }
    for (const std::string &n : b.names) {
      if (t.def->symbols.count(n))
        throw SyntaxError{patOff, "slot '" + n +
                                      "' is already defined in task '" +
                                      t.def->name + "'"};
      t.def->symbols[n] = {idx, static_cast<size_t>(&n - b.names.data())};
    }
    if (contrast) {
      if (t.hasContrast)
        throw SyntaxError{patOff, "a task has exactly one contrast slot; '" +
                                      t.def->name + "' already has one"};
      t.hasContrast = true;
      t.def->contrast = idx;
    }
    t.def->bindings.push_back(std::move(b));
  }

  void parseTask() {
    size_t kwOff = next().offset; // task
    const Token &name = expect(Tok::Ident, "a task name");
    RawTask t;
    t.def = std::make_shared<TaskDef>();
    t.def->name = name.text;
    t.def->loc = src.loc(kwOff);
    t.def->builtin = builtin;
    t.nameOffset = name.offset;
    expect(Tok::LBrace, "'{'");
    while (true) {
      skipSeparators();
      const Token &kw = peek();
      if (kw.kind == Tok::RBrace) {
        next();
        break;
      }
      if (kw.kind == Tok::End) {
        errors.push_back(src.diag(kwOff, "task '" + t.def->name +
                                             "' is missing its closing '}'"));
        break;
      }
      try {
        parseStatement(t);
        expectEndOfStatement();
      } catch (const SyntaxError &e) {
        errors.push_back(src.diag(e.offset, e.message));
        t.broken = true;
        recoverStatement();
      }
    }
    if (t.broken) {
      raw.push_back(std::move(t));
      return;
    }
    if (!t.hasPrompt)
      errors.push_back(
          src.diag(name.offset, "task '" + t.def->name + "' has no 'prompt'"));
    if (!t.hasCompletion)
      errors.push_back(src.diag(name.offset, "task '" + t.def->name +
                                                 "' has no 'completion'"));
    if (!t.hasContrast)
      errors.push_back(src.diag(
          name.offset, "task '" + t.def->name +
                           "' has no 'contrast' slot (the slot whose two "
                           "values make prompt A and prompt B)"));
    raw.push_back(std::move(t));
  }

  void parseStatement(RawTask &t) {
    const Token &kw = peek();
    auto stringField = [&](bool &seen, const char *field) -> const Token & {
      next();
      if (seen)
        throw SyntaxError{kw.offset, std::string("duplicate '") + field +
                                         "' in task '" + t.def->name + "'"};
      seen = true;
      expect(Tok::Equals, "'='");
      return expect(Tok::String, "a string");
    };
    if (isKeyword(kw, "description")) {
      bool seen = !t.def->description.empty();
      t.def->description = stringField(seen, "description").text;
    } else if (isKeyword(kw, "prompt")) {
      t.promptOffset = kw.offset;
      t.def->prompt = parseTemplate(stringField(t.hasPrompt, "prompt"));
    } else if (isKeyword(kw, "completion")) {
      t.completionOffset = kw.offset;
      t.def->completion =
          parseTemplate(stringField(t.hasCompletion, "completion"));
    } else if (isKeyword(kw, "slot")) {
      parseBinding(t, false);
    } else if (isKeyword(kw, "contrast")) {
      parseBinding(t, true);
    } else if (isKeyword(kw, "list")) {
      parseList(t.localLists, &t);
    } else {
      throw SyntaxError{kw.offset,
                        "expected 'description', 'prompt', 'completion', "
                        "'slot', 'contrast' or 'list', found " +
                            describe(kw)};
    }
  }

  std::shared_ptr<const ListDef> lookupList(const RawTask &t,
                                            const std::string &name) const {
    if (auto it = t.localLists.find(name); it != t.localLists.end())
      return it->second;
    if (auto it = globalLists.find(name); it != globalLists.end())
      return it->second;
    if (!builtin)
      if (auto it = builtinLists().find(name); it != builtinLists().end())
        return it->second;
    return nullptr;
  }

  /// Resolves list names, then checks each task's slot references.
  void resolve() {
    std::set<std::string> taskNames;
    for (RawTask &t : raw) {
      TaskDef &d = *t.def;
      size_t before = errors.size();
      if (!taskNames.insert(d.name).second)
        errors.push_back(
            src.diag(t.nameOffset, "task '" + d.name + "' is already defined"));
      if (!builtin && findBuiltinTask(d.name))
        errors.push_back(src.diag(t.nameOffset, "task '" + d.name +
                                                    "' is a built-in task; "
                                                    "choose another name"));
      for (size_t k = 0; k < t.pendingLists.size() && !t.broken; ++k) {
        auto [idx, name] = t.pendingLists[k];
        auto list = lookupList(t, name);
        if (!list) {
          std::string hint =
              builtin ? "" : " (built-in lists: " + joinBuiltinLists() + ")";
          errors.push_back(src.diag(t.pendingOffsets[k],
                                    "unknown list '" + name + "'" + hint));
          continue;
        }
        d.bindings[idx].list = list;
      }
      if (errors.size() != before || t.broken || !t.hasPrompt ||
          !t.hasCompletion || !t.hasContrast)
        continue;
      checkBindings(t);
      if (errors.size() == before)
        tasks.push_back(t.def);
    }
  }

  static std::string joinBuiltinLists() {
    std::string s;
    for (const auto &[name, list] : builtinLists())
      s += (s.empty() ? "" : ", ") + name;
    return s;
  }

  /// Arity, contrast shape, unknown references, cycles and whether the
  /// contrast reaches the prompt and the completion.
  void checkBindings(const RawTask &t) {
    const TaskDef &d = *t.def;
    size_t n = d.bindings.size();
    std::vector<std::set<size_t>> deps(n);
    bool ok = true;
    for (size_t i = 0; i < n; ++i) {
      const Binding &b = d.bindings[i];
      const ListDef &list = *b.list;
      std::string listDesc =
          list.name.empty() ? "the list" : "list '" + list.name + "'";
      if (list.arity != b.names.size()) {
        errors.push_back(src.diag(
            b.loc, std::to_string(b.names.size()) + " name(s) bound to " +
                       listDesc + " whose entries have " +
                       std::to_string(list.arity) + " value(s)"));
        ok = false;
      }
      if (b.isContrast && !b.twoOf && list.entries.size() != 2) {
        errors.push_back(src.diag(
            b.loc, "a contrast list needs exactly two entries (A, then B); " +
                       listDesc + " has " +
                       std::to_string(list.entries.size()) +
                       " (write 'two of " +
                       (list.name.empty() ? std::string("[...]") : list.name) +
                       "' to draw two distinct entries per pair)"));
        ok = false;
      }
      if (b.isContrast && b.twoOf && list.entries.size() < 2) {
        errors.push_back(src.diag(b.loc, "'two of' needs a list of at least "
                                         "two entries"));
        ok = false;
      }
      for (const Entry &e : list.entries)
        for (const Template &tpl : e)
          ok &= collectRefs(d, tpl, &deps[i], list.name);
    }
    ok &= collectRefs(d, d.prompt, nullptr, "");
    ok &= collectRefs(d, d.completion, nullptr, "");
    if (!ok)
      return;
    // Cycles: a slot whose value (transitively) mentions itself would expand
    // forever.
    std::vector<int> state(n, 0);
    std::function<bool(size_t)> dfs = [&](size_t i) -> bool {
      state[i] = 1;
      for (size_t j : deps[i]) {
        if (state[j] == 1) {
          errors.push_back(src.diag(
              d.bindings[j].loc,
              "slot '" + d.bindings[j].names[0] + "' refers to itself" +
                  (i == j ? std::string()
                          : " through '" + d.bindings[i].names[0] + "'")));
          return false;
        }
        if (state[j] == 0 && !dfs(j))
          return false;
      }
      state[i] = 2;
      return true;
    };
    for (size_t i = 0; i < n; ++i)
      if (state[i] == 0 && !dfs(i))
        return;
    // The contrast must be reachable from both the prompt and the completion.
    auto reaches = [&](const Template &tpl) -> bool {
      std::vector<bool> seen(n, false);
      std::vector<size_t> stack;
      for (const Segment &s : tpl.segments)
        if (s.isRef)
          stack.push_back(d.symbols.at(s.text).first);
      while (!stack.empty()) {
        size_t i = stack.back();
        stack.pop_back();
        if (seen[i])
          continue;
        seen[i] = true;
        stack.insert(stack.end(), deps[i].begin(), deps[i].end());
      }
      return seen[d.contrast];
    };
    std::string c = d.bindings[d.contrast].names[0];
    if (!reaches(d.prompt))
      errors.push_back(src.diag(
          t.promptOffset, "the prompt never uses the contrast slot '" + c +
                              "', so prompts A and B would be equal"));
    if (!reaches(d.completion))
      errors.push_back(
          src.diag(t.completionOffset,
                   "the completion never uses the contrast slot '" + c +
                       "', so completions A and B would be "
                       "equal"));
  }

  bool collectRefs(const TaskDef &d, const Template &tpl,
                   std::set<size_t> *deps, const std::string &listName) {
    bool ok = true;
    for (const Segment &s : tpl.segments) {
      if (!s.isRef)
        continue;
      auto it = d.symbols.find(s.text);
      if (it == d.symbols.end()) {
        std::string where =
            listName.empty() ? "" : " (in list '" + listName + "')";
        errors.push_back(src.diag(s.loc, "unknown slot '" + s.text +
                                             "' in task '" + d.name + "'" +
                                             where));
        ok = false;
        continue;
      }
      if (deps)
        deps->insert(it->second.first);
    }
    return ok;
  }

  const Source &src;
  std::vector<Token> toks;
  size_t pos = 0;
  std::vector<Diagnostic> &errors;
  bool builtin;
  std::vector<RawTask> raw;
};

} // namespace

/// Parses with `builtin` set: the built-in source may define the built-in
/// lists and tasks. Used by Builtins.cpp.
ParseResult parseTemplatesImpl(
    std::string_view buffer, std::string_view name, size_t begin, size_t end,
    bool builtin,
    std::map<std::string, std::shared_ptr<const ListDef>> *listsOut) {
  ParseResult result;
  Source src(buffer, name);
  end = std::min(end, buffer.size());
  if (begin > end)
    begin = end;
  std::vector<Token> toks;
  if (!lex(src, begin, end, toks, result.errors))
    return result;
  Parser parser(src, std::move(toks), result.errors, builtin);
  parser.parseFile();
  // Report in source order (resolution errors are found after parsing);
  // errors at one place keep the order they were found in.
  std::vector<std::pair<std::tuple<unsigned, unsigned, size_t>, Diagnostic>>
      order;
  for (size_t i = 0; i < result.errors.size(); ++i)
    order.push_back({{result.errors[i].loc.line, result.errors[i].loc.col, i},
                     std::move(result.errors[i])});
  std::sort(order.begin(), order.end(),
            [](const auto &a, const auto &b) { return a.first < b.first; });
  for (size_t i = 0; i < order.size(); ++i)
    result.errors[i] = std::move(order[i].second);
  if (!result.ok())
    return result;
  for (auto &def : parser.tasks)
    result.tasks.emplace_back(std::move(def));
  if (listsOut)
    *listsOut = parser.globalLists;
  return result;
}

ParseResult parseTaskTemplates(std::string_view buffer,
                               std::string_view bufferName, size_t begin,
                               size_t end) {
  return parseTemplatesImpl(buffer, bufferName, begin, end, false, nullptr);
}

} // namespace circ::tasks
