//===- Parse.cpp - .circ text to syntax tree via ANTLR ----------*- C++ -*-===//
//
// The only file that sees ANTLR. It runs in three steps, each of which may
// stop with diagnostics: validate the bytes (size, UTF-8), lex and scan the
// tokens (bad characters, numbers, strings, comments, bracket depth), then
// parse with an error strategy that phrases ANTLR's "expected token set" in
// the language's terms. A clean parse tree is converted into ast::File.
// Exceptions from the runtime stop at parse().
//
//===----------------------------------------------------------------------===//

#include "circ/Frontend/Parse.h"

#include "CircLexer.h"
#include "CircParser.h"
#include "antlr4-runtime.h"

#include <charconv>
#include <cmath>

using namespace circ::frontend;
using namespace circ::frontend::ast;
using circlang::CircLexer;
using circlang::CircParser;

namespace {

/// Maps ANTLR's code-point indices to byte offsets in the source.
class Offsets {
public:
  explicit Offsets(const std::string &text) {
    bool ascii = true;
    for (unsigned char c : text)
      ascii &= c < 0x80;
    if (ascii)
      return;
    for (uint32_t i = 0; i < text.size(); ++i)
      if ((static_cast<unsigned char>(text[i]) & 0xC0) != 0x80)
        starts_.push_back(i);
    starts_.push_back(static_cast<uint32_t>(text.size()));
  }
  uint32_t byte(size_t codePoint) const {
    if (starts_.empty())
      return static_cast<uint32_t>(codePoint);
    return codePoint < starts_.size() ? starts_[codePoint] : starts_.back();
  }
  SourceRange token(const antlr4::Token *tok) const {
    if (tok->getType() == antlr4::Token::EOF)
      return {byte(tok->getStartIndex()), byte(tok->getStartIndex())};
    return {byte(tok->getStartIndex()), byte(tok->getStopIndex() + 1)};
  }

private:
  std::vector<uint32_t> starts_; // empty: the text is ASCII
};

/// Returns the offset of the first byte that is not valid UTF-8, if any.
std::optional<uint32_t> findInvalidUtf8(const std::string &s) {
  size_t i = 0, n = s.size();
  while (i < n) {
    unsigned char c = s[i];
    size_t len;
    uint32_t cp;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xE0) == 0xC0) {
      len = 2;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      len = 3;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      len = 4;
      cp = c & 0x07;
    } else {
      return static_cast<uint32_t>(i);
    }
    if (i + len > n)
      return static_cast<uint32_t>(i);
    for (size_t k = 1; k < len; ++k) {
      unsigned char cc = s[i + k];
      if ((cc & 0xC0) != 0x80)
        return static_cast<uint32_t>(i);
      cp = (cp << 6) | (cc & 0x3F);
    }
    // Overlong forms, surrogates and values past U+10FFFF.
    static const uint32_t minimum[5] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < minimum[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
      return static_cast<uint32_t>(i);
    i += len;
  }
  return std::nullopt;
}

/// How a token reads in a message: 'text', "end of line", "end of file".
std::string describeToken(const antlr4::Token *tok, std::string_view text) {
  if (tok->getType() == antlr4::Token::EOF)
    return "end of file";
  if (tok->getType() == CircLexer::NL)
    return "end of line";
  std::string shown;
  for (char c : text.substr(0, 32)) {
    unsigned char u = c;
    if (u < 0x20 || u == 0x7f) {
      static const char hex[] = "0123456789abcdef";
      shown += "\\x";
      shown += hex[u >> 4];
      shown += hex[u & 15];
    } else {
      shown += c;
    }
  }
  if (text.size() > 32)
    shown += "...";
  return "'" + shown + "'";
}

class Parser;

/// Reports syntax errors in the language's terms. ANTLR calls these hooks
/// with the offending token and the set of tokens that would have been
/// accepted; the set (plus the rule being parsed) decides the message.
class ErrorStrategy : public antlr4::DefaultErrorStrategy {
public:
  explicit ErrorStrategy(Parser &owner) : owner_(owner) {}

protected:
  void
  reportNoViableAlternative(antlr4::Parser *p,
                            const antlr4::NoViableAltException &e) override {
    emit(p, e.getOffendingToken(), e.getExpectedTokens());
  }
  void reportInputMismatch(antlr4::Parser *p,
                           const antlr4::InputMismatchException &e) override {
    emit(p, e.getOffendingToken(), e.getExpectedTokens());
  }
  void
  reportFailedPredicate(antlr4::Parser *p,
                        const antlr4::FailedPredicateException &e) override {
    emit(p, e.getOffendingToken(), e.getExpectedTokens());
  }
  void reportUnwantedToken(antlr4::Parser *p) override {
    if (inErrorRecoveryMode(p))
      return;
    beginErrorCondition(p);
    emit(p, p->getCurrentToken(), getExpectedTokens(p));
  }
  void reportMissingToken(antlr4::Parser *p) override {
    if (inErrorRecoveryMode(p))
      return;
    beginErrorCondition(p);
    emit(p, p->getCurrentToken(), getExpectedTokens(p));
  }

private:
  void emit(antlr4::Parser *p, antlr4::Token *offending,
            const antlr4::misc::IntervalSet &expected);
  Parser &owner_;
};

class Parser {
public:
  Parser(const SourceFile &source, DiagnosticEngine &diags,
         const ParseLimits &limits)
      : source_(source), diags_(diags), limits_(limits),
        offsets_(source.text()) {}

  std::unique_ptr<File> run();

  // Used by ErrorStrategy.
  void syntaxError(antlr4::Parser *p, antlr4::Token *offending,
                   const antlr4::misc::IntervalSet &expected);

private:
  void findTemplates();
  bool inTemplate(size_t tokenIndex) const;
  bool scanTokens();
  std::optional<SourceRange> unclosedOpener(size_t beforeIndex,
                                            const std::string &closer) const;
  uint32_t recoveryEnd(size_t tokenIndex) const;

  // Parse tree to AST. Each returns null after reporting an error.
  std::optional<Block> convertBlock(CircParser::BlockContext *ctx);
  ExprPtr convertExpr(CircParser::ExprContext *ctx, unsigned depth);
  ExprPtr convertRange(CircParser::RangeContext *ctx, unsigned depth);
  ExprPtr convertAdditive(CircParser::AdditiveContext *ctx, unsigned depth);
  ExprPtr convertMultiplicative(CircParser::MultiplicativeContext *ctx,
                                unsigned depth);
  ExprPtr convertUnary(CircParser::UnaryContext *ctx, unsigned depth);
  ExprPtr convertPrimary(CircParser::PrimaryContext *ctx, unsigned depth);
  ExprPtr makeNumber(antlr4::Token *tok);
  ExprPtr makeString(antlr4::Token *tok);
  ExprPtr makeBinary(BinaryOp op, ExprPtr lhs, ExprPtr rhs, unsigned depth);
  bool checkDepth(unsigned depth, SourceRange at);

  SourceRange range(antlr4::Token *tok) const { return offsets_.token(tok); }
  SourceRange range(antlr4::ParserRuleContext *ctx) const {
    return SourceRange::join(range(ctx->getStart()), range(ctx->getStop()));
  }
  Ident ident(antlr4::Token *tok) const { return {tok->getText(), range(tok)}; }

  const SourceFile &source_;
  DiagnosticEngine &diags_;
  const ParseLimits &limits_;
  Offsets offsets_;
  antlr4::CommonTokenStream *tokens_ = nullptr;
  /// Top-level task/list blocks: [first, last] token index ranges in the
  /// lexer's stream, and the blocks themselves.
  std::vector<std::pair<size_t, size_t>> templateTokens_;
  std::vector<TemplateBlock> templates_;
  bool depthReported_ = false;
  uint32_t suppressUntil_ = 0;
};

void ErrorStrategy::emit(antlr4::Parser *p, antlr4::Token *offending,
                         const antlr4::misc::IntervalSet &expected) {
  owner_.syntaxError(p, offending, expected);
}

void Parser::syntaxError(antlr4::Parser *p, antlr4::Token *offending,
                         const antlr4::misc::IntervalSet &expected) {
  auto has = [&](size_t type) { return expected.contains(type); };
  SourceRange at = range(offending);
  // ANTLR's recovery resynchronises poorly in this grammar, so one slip
  // tends to cascade; report only the first error of each block (of each
  // line outside blocks).
  if (at.begin < suppressUntil_)
    return;
  suppressUntil_ = recoveryEnd(offending->getTokenIndex());
  std::string found =
      describeToken(offending, source_.slice(at).empty() ? std::string_view()
                                                         : source_.slice(at));
  size_t rule = p->getContext() ? p->getContext()->getRuleIndex() : 0;

  // A value can start with any of these.
  bool valueStarts = has(CircLexer::NUMBER) && has(CircLexer::STRING) &&
                     has(CircLexer::LPAREN) && has(CircLexer::LBRACK);
  if (valueStarts) {
    std::string alt;
    if (has(CircLexer::RPAREN))
      alt = " or ')'";
    else if (has(CircLexer::RBRACK))
      alt = " or ']'";
    diags_.report(DiagID::ExpectedValue, at,
                  "expected a value" + alt + ", found " + found);
    return;
  }
  if (has(CircLexer::EQ) && rule == CircParser::RuleStatement) {
    auto *stmt = static_cast<CircParser::StatementContext *>(p->getContext());
    std::string key = stmt->key ? stmt->key->getText() : "the key";
    diags_.report(DiagID::ExpectedEquals, at,
                  "expected '=' after '" + key + "', found " + found);
    return;
  }
  if (offending->getType() == antlr4::Token::EOF && has(CircLexer::RBRACE)) {
    Diagnostic &diag = diags_.report(DiagID::ExpectedCloser, at,
                                     "expected '}' at end of file");
    if (auto opener = unclosedOpener(offending->getTokenIndex(), "}"))
      diag.note(*opener, "to match this '{'");
    return;
  }
  if (has(CircLexer::LBRACE) && offending->getType() == CircLexer::EQ &&
      rule == CircParser::RuleBlock) {
    auto *block = static_cast<CircParser::BlockContext *>(p->getContext());
    if (block->kind && !block->name)
      diags_.report(DiagID::ExpectedBlock, range(block->kind),
                    "'" + block->kind->getText() +
                        " = ...' outside any block; keys go inside a block "
                        "such as 'model { ... }'");
    else
      diags_.report(DiagID::ExpectedBlockBody, at,
                    "expected '{' to open the block, found " + found);
    return;
  }
  if (has(CircLexer::LBRACE)) {
    std::string kind = "the";
    if (rule == CircParser::RuleBlock) {
      auto *block = static_cast<CircParser::BlockContext *>(p->getContext());
      if (block->kind)
        kind = "the '" + block->kind->getText() + "'";
    }
    diags_.report(DiagID::ExpectedBlockBody, at,
                  "expected '{' to open " + kind + " block, found " + found);
    return;
  }
  if (rule == CircParser::RuleBlock && has(CircLexer::IDENT)) {
    diags_.report(DiagID::ExpectedName, at,
                  "expected a data block name after 'on', found " + found);
    return;
  }
  if (has(CircLexer::RBRACE) && has(CircLexer::IDENT)) {
    diags_.report(DiagID::ExpectedKey, at,
                  "expected a key (as in 'layers = 8') or '}', found " + found);
    return;
  }
  if (has(antlr4::Token::EOF)) {
    diags_.report(DiagID::ExpectedBlock, at,
                  "expected a block such as 'model { ... }', found " + found);
    return;
  }
  if (has(CircLexer::NL) || has(CircLexer::SEMI)) {
    diags_.report(DiagID::ExpectedStatementEnd, at,
                  "expected a newline or ';' to end the statement, found " +
                      found);
    return;
  }
  // What remains are the closing brackets of lists, tuples and calls.
  std::string closer = has(CircLexer::RPAREN) ? ")" : "]";
  Diagnostic &diag =
      diags_.report(DiagID::ExpectedCloser, at,
                    "expected ',' or '" + closer + "', found " + found);
  if (auto opener = unclosedOpener(offending->getTokenIndex(), closer))
    diag.note(*opener, std::string("to match this '") +
                           (closer == ")" ? "(" : "[") + "'");
}

/// Where the damage of a syntax error at token `tokenIndex` ends: the '}'
/// closing its block, or the end of its line outside blocks.
uint32_t Parser::recoveryEnd(size_t tokenIndex) const {
  size_t n = tokens_->size();
  int depth = 0;
  bool inBlock = false;
  for (size_t i = tokenIndex; i-- > 0;) {
    size_t type = tokens_->get(i)->getType();
    if (type == CircLexer::RBRACE)
      ++depth;
    else if (type == CircLexer::LBRACE && depth-- == 0) {
      inBlock = true;
      break;
    }
  }
  depth = 0;
  for (size_t i = tokenIndex; i < n; ++i) {
    antlr4::Token *tok = tokens_->get(i);
    size_t type = tok->getType();
    if (!inBlock && type == CircLexer::NL)
      return range(tok).end;
    if (type == CircLexer::LBRACE)
      ++depth;
    else if (type == CircLexer::RBRACE && depth-- == 0 && inBlock)
      return range(tok).end;
  }
  return UINT32_MAX;
}

/// The innermost '(', '[' or '{' (as `closer` says) still open before token
/// `beforeIndex`. Brackets do not cross block braces.
std::optional<SourceRange>
Parser::unclosedOpener(size_t beforeIndex, const std::string &closer) const {
  size_t open = closer == ")"   ? CircLexer::LPAREN
                : closer == "]" ? CircLexer::LBRACK
                                : CircLexer::LBRACE;
  size_t close = closer == ")"   ? CircLexer::RPAREN
                 : closer == "]" ? CircLexer::RBRACK
                                 : CircLexer::RBRACE;
  int depth = 0;
  for (size_t i = beforeIndex; i-- > 0;) {
    antlr4::Token *tok = tokens_->get(i);
    size_t type = tok->getType();
    if (open != CircLexer::LBRACE &&
        (type == CircLexer::LBRACE || type == CircLexer::RBRACE))
      break;
    if (type == close)
      ++depth;
    else if (type == open && depth-- == 0)
      return range(tok);
  }
  return std::nullopt;
}

/// Finds the top-level `task NAME { ... }` and `list NAME = ...` blocks: a
/// `task` or `list` where a block could start, up to its matching '}' (task)
/// or the end of its statement (list). The task library checks what is
/// inside; the grammar never sees it.
void Parser::findTemplates() {
  const std::vector<antlr4::Token *> &toks = tokens_->getTokens();
  size_t n = toks.size();
  int depth = 0;
  bool blockStart = true;
  for (size_t i = 0; i < n; ++i) {
    size_t type = toks[i]->getType();
    if (depth == 0 && blockStart && type == CircLexer::IDENT &&
        (toks[i]->getText() == "task" || toks[i]->getText() == "list")) {
      bool isTask = toks[i]->getText() == "task";
      size_t end = i + 1;
      if (isTask) {
        int braces = 0;
        for (; end < n && toks[end]->getType() != antlr4::Token::EOF; ++end) {
          size_t t = toks[end]->getType();
          if (t == CircLexer::LBRACE)
            ++braces;
          else if (t == CircLexer::RBRACE && braces > 0 && --braces == 0)
            break;
        }
      } else {
        // Up to the end of the statement; the newline or ';' is not part of
        // the block.
        while (end < n && toks[end]->getType() != antlr4::Token::EOF &&
               toks[end]->getType() != CircLexer::NL &&
               toks[end]->getType() != CircLexer::SEMI)
          ++end;
        --end;
      }
      if (end == n || toks[end]->getType() == antlr4::Token::EOF)
        --end; // unterminated: up to the last token before EOF
      TemplateBlock block;
      block.kind = ident(toks[i]);
      if (i + 1 <= end && toks[i + 1]->getType() == CircLexer::IDENT)
        block.name = ident(toks[i + 1]);
      block.range = SourceRange::join(range(toks[i]), range(toks[end]));
      templates_.push_back(std::move(block));
      templateTokens_.emplace_back(i, end);
      i = end;
      blockStart = true;
      continue;
    }
    if (type == CircLexer::LBRACE)
      ++depth;
    else if (type == CircLexer::RBRACE && depth > 0)
      --depth;
    blockStart = type == CircLexer::NL || type == CircLexer::SEMI ||
                 type == CircLexer::RBRACE;
  }
}

bool Parser::inTemplate(size_t tokenIndex) const {
  for (const auto &[first, last] : templateTokens_)
    if (tokenIndex >= first && tokenIndex <= last)
      return true;
  return false;
}

/// Reports lexical errors and nesting beyond the limit, which would make the
/// recursive-descent parser recurse without bound. Task and list blocks are
/// left to the task library.
bool Parser::scanTokens() {
  bool ok = true;
  unsigned depth = 0;
  for (antlr4::Token *tok : tokens_->getTokens()) {
    if (inTemplate(tok->getTokenIndex()))
      continue;
    SourceRange at = range(tok);
    std::string_view text = source_.slice(at);
    switch (tok->getType()) {
    case CircLexer::ERROR_CHAR:
      diags_.report(DiagID::UnexpectedCharacter, at,
                    "unexpected character " + describeToken(tok, text));
      ok = false;
      break;
    case CircLexer::BAD_NUMBER:
      diags_
          .report(DiagID::InvalidNumber, at,
                  "invalid number " + describeToken(tok, text))
          .note(at, "a number is digits with an optional fraction and "
                    "exponent, then optionally %, k, M or G (as in 1.5e-3, "
                    "40k, 50%)");
      ok = false;
      break;
    case CircLexer::UNTERMINATED_STRING:
      diags_.report(DiagID::UnterminatedString, {at.begin, at.begin + 1},
                    "missing terminating '\"' character");
      ok = false;
      break;
    case CircLexer::UNTERMINATED_COMMENT:
      diags_.report(DiagID::UnterminatedComment, {at.begin, at.begin + 2},
                    "unterminated /* comment");
      ok = false;
      break;
    case CircLexer::LPAREN:
    case CircLexer::LBRACK:
      if (++depth == limits_.maxNesting + 1) {
        diags_.report(DiagID::NestingTooDeep, at,
                      "brackets nested more than " +
                          std::to_string(limits_.maxNesting) + " levels deep");
        return false;
      }
      break;
    case CircLexer::RPAREN:
    case CircLexer::RBRACK:
      if (depth > 0)
        --depth;
      break;
    case CircLexer::LBRACE:
    case CircLexer::RBRACE:
      depth = 0; // as the lexer's newline rule does
      break;
    default:
      break;
    }
  }
  return ok;
}

std::unique_ptr<File> Parser::run() {
  const std::string &text = source_.text();
  if (text.size() > limits_.maxBytes) {
    diags_.reportUnlocated(DiagID::FileTooLarge,
                           "file is too large (" + std::to_string(text.size()) +
                               " bytes; the limit is " +
                               std::to_string(limits_.maxBytes) + ")");
    return nullptr;
  }
  if (auto bad = findInvalidUtf8(text)) {
    diags_.report(DiagID::InvalidUtf8, {*bad, *bad + 1},
                  "invalid UTF-8 byte in the source");
    return nullptr;
  }
  // A UTF-8 byte order mark is allowed and ignored, as clang does.
  size_t skip = text.compare(0, 3, "\xEF\xBB\xBF") == 0 ? 1 : 0;

  antlr4::ANTLRInputStream input(text);
  if (skip)
    input.seek(1);
  CircLexer lexer(&input);
  lexer.removeErrorListeners();
  antlr4::CommonTokenStream tokens(&lexer);
  tokens_ = &tokens;
  tokens.fill();
  findTemplates();
  if (!scanTokens())
    return nullptr;

  // The grammar sees everything but the task and list blocks.
  std::vector<std::unique_ptr<antlr4::Token>> kept;
  for (antlr4::Token *tok : tokens.getTokens())
    if (!inTemplate(tok->getTokenIndex()))
      kept.push_back(std::make_unique<antlr4::CommonToken>(tok));
  antlr4::ListTokenSource keptSource(std::move(kept));
  antlr4::CommonTokenStream parsedTokens(&keptSource);
  parsedTokens.fill();
  tokens_ = &parsedTokens;

  CircParser parser(&parsedTokens);
  parser.removeErrorListeners();
  parser.setErrorHandler(std::make_shared<ErrorStrategy>(*this));
  CircParser::FileContext *tree = parser.file();
  if (diags_.hasErrors())
    return nullptr;

  // Conversion reports bad literals; keep going to report them all.
  auto file = std::make_unique<File>();
  file->templates = std::move(templates_);
  bool ok = true;
  for (CircParser::BlockContext *blockCtx : tree->block()) {
    std::optional<Block> block = convertBlock(blockCtx);
    if (block)
      file->blocks.push_back(std::move(*block));
    ok &= block.has_value();
  }
  return ok ? std::move(file) : nullptr;
}

//===----------------------------------------------------------------------===//
// Parse tree to AST
//===----------------------------------------------------------------------===//

std::optional<Block> Parser::convertBlock(CircParser::BlockContext *ctx) {
  Block block;
  block.kind = ident(ctx->kind);
  if (ctx->name)
    block.name = ident(ctx->name);
  if (ctx->on)
    block.on = ident(ctx->on);
  if (ctx->target) {
    block.forKeyword = range(ctx->FOR()->getSymbol());
    block.target = convertExpr(ctx->target, 0);
    if (!block.target)
      return std::nullopt;
  }
  CircParser::BodyContext *body = ctx->body();
  block.header =
      SourceRange::join(range(ctx->kind), range(body->LBRACE()->getSymbol()));
  block.range = range(ctx);
  bool ok = true;
  for (CircParser::StatementContext *stmtCtx : body->statement()) {
    Statement stmt;
    stmt.key = ident(stmtCtx->key);
    stmt.value = convertExpr(stmtCtx->value, 0);
    stmt.range = range(stmtCtx);
    ok &= stmt.value != nullptr;
    block.statements.push_back(std::move(stmt));
  }
  if (!ok)
    return std::nullopt;
  return block;
}

bool Parser::checkDepth(unsigned depth, SourceRange at) {
  if (depth <= limits_.maxNesting)
    return true;
  if (!depthReported_)
    diags_.report(DiagID::NestingTooDeep, at,
                  "expression nested more than " +
                      std::to_string(limits_.maxNesting) + " levels deep");
  depthReported_ = true;
  return false;
}

ExprPtr Parser::makeBinary(BinaryOp op, ExprPtr lhs, ExprPtr rhs,
                           unsigned depth) {
  auto expr = std::make_unique<Expr>(ExprKind::Binary,
                                     SourceRange::join(lhs->range, rhs->range));
  if (!checkDepth(depth, expr->range))
    return nullptr;
  expr->op = op;
  expr->operands.push_back(std::move(lhs));
  expr->operands.push_back(std::move(rhs));
  return expr;
}

ExprPtr Parser::convertExpr(CircParser::ExprContext *ctx, unsigned depth) {
  if (!checkDepth(depth, range(ctx)))
    return nullptr;
  std::vector<CircParser::RangeContext *> parts = ctx->range();
  ExprPtr lhs = convertRange(parts[0], depth + (parts.size() > 1));
  if (!lhs || parts.size() == 1)
    return lhs;
  ExprPtr rhs = convertRange(parts[1], depth + 1);
  if (!rhs)
    return nullptr;
  return makeBinary(BinaryOp::Arrow, std::move(lhs), std::move(rhs), depth);
}

ExprPtr Parser::convertRange(CircParser::RangeContext *ctx, unsigned depth) {
  std::vector<CircParser::AdditiveContext *> parts = ctx->additive();
  ExprPtr lhs = convertAdditive(parts[0], depth + (parts.size() > 1));
  if (!lhs || parts.size() == 1)
    return lhs;
  ExprPtr rhs = convertAdditive(parts[1], depth + 1);
  if (!rhs)
    return nullptr;
  return makeBinary(BinaryOp::Range, std::move(lhs), std::move(rhs), depth);
}

// Left-associative chains `a op b op c`: the children alternate operand,
// operator, operand. The tree deepens by one per operator, so a long chain
// is caught by the depth limit before it can exhaust the stack of later
// recursive passes.
BinaryOp additiveOp(size_t type) {
  return type == CircLexer::PLUS ? BinaryOp::Add : BinaryOp::Sub;
}
BinaryOp multiplicativeOp(size_t type) {
  return type == CircLexer::STAR ? BinaryOp::Mul : BinaryOp::Div;
}

ExprPtr Parser::convertAdditive(CircParser::AdditiveContext *ctx,
                                unsigned depth) {
  std::vector<CircParser::MultiplicativeContext *> operands =
      ctx->multiplicative();
  size_t ops = operands.size() - 1;
  ExprPtr acc = convertMultiplicative(operands[0], depth + ops);
  for (size_t i = 1; acc && i < operands.size(); ++i) {
    auto *opNode =
        dynamic_cast<antlr4::tree::TerminalNode *>(ctx->children[2 * i - 1]);
    ExprPtr rhs = convertMultiplicative(operands[i], depth + ops - i + 1);
    if (!rhs)
      return nullptr;
    acc = makeBinary(additiveOp(opNode->getSymbol()->getType()), std::move(acc),
                     std::move(rhs), depth + ops - i);
  }
  return acc;
}

ExprPtr Parser::convertMultiplicative(CircParser::MultiplicativeContext *ctx,
                                      unsigned depth) {
  std::vector<CircParser::UnaryContext *> operands = ctx->unary();
  size_t ops = operands.size() - 1;
  ExprPtr acc = convertUnary(operands[0], depth + ops);
  for (size_t i = 1; acc && i < operands.size(); ++i) {
    auto *opNode =
        dynamic_cast<antlr4::tree::TerminalNode *>(ctx->children[2 * i - 1]);
    ExprPtr rhs = convertUnary(operands[i], depth + ops - i + 1);
    if (!rhs)
      return nullptr;
    acc = makeBinary(multiplicativeOp(opNode->getSymbol()->getType()),
                     std::move(acc), std::move(rhs), depth + ops - i);
  }
  return acc;
}

ExprPtr Parser::convertUnary(CircParser::UnaryContext *ctx, unsigned depth) {
  std::vector<antlr4::tree::TerminalNode *> minus = ctx->MINUS();
  if (!checkDepth(depth + minus.size(), range(ctx)))
    return nullptr;
  ExprPtr expr = convertPrimary(ctx->primary(), depth + minus.size());
  for (size_t i = minus.size(); expr && i-- > 0;) {
    auto neg = std::make_unique<Expr>(
        ExprKind::Unary,
        SourceRange::join(range(minus[i]->getSymbol()), expr->range));
    neg->operands.push_back(std::move(expr));
    expr = std::move(neg);
  }
  return expr;
}

ExprPtr Parser::convertPrimary(CircParser::PrimaryContext *ctx,
                               unsigned depth) {
  if (!checkDepth(depth, range(ctx)))
    return nullptr;
  if (auto *num = dynamic_cast<CircParser::NumberContext *>(ctx))
    return makeNumber(num->NUMBER()->getSymbol());
  if (auto *str = dynamic_cast<CircParser::StringContext *>(ctx))
    return makeString(str->STRING()->getSymbol());
  if (auto *sym = dynamic_cast<CircParser::SymbolContext *>(ctx)) {
    auto expr = std::make_unique<Expr>(ExprKind::Symbol, range(ctx));
    expr->text = sym->IDENT()->getText();
    return expr;
  }
  if (auto *call = dynamic_cast<CircParser::CallContext *>(ctx)) {
    auto expr = std::make_unique<Expr>(ExprKind::Call, range(ctx));
    expr->text = call->IDENT()->getText();
    expr->nameRange = range(call->IDENT()->getSymbol());
    for (CircParser::ArgumentContext *argCtx : call->argument()) {
      Argument arg;
      if (argCtx->name)
        arg.name = ident(argCtx->name);
      arg.value = convertExpr(argCtx->expr(), depth + 1);
      if (!arg.value)
        return nullptr;
      expr->args.push_back(std::move(arg));
    }
    return expr;
  }
  if (auto *list = dynamic_cast<CircParser::ListContext *>(ctx)) {
    auto expr = std::make_unique<Expr>(ExprKind::List, range(ctx));
    for (CircParser::ExprContext *element : list->expr()) {
      ExprPtr value = convertExpr(element, depth + 1);
      if (!value)
        return nullptr;
      expr->operands.push_back(std::move(value));
    }
    return expr;
  }
  auto *tuple = static_cast<CircParser::TupleContext *>(ctx);
  std::vector<CircParser::ExprContext *> elements = tuple->expr();
  // `(x)` groups; `(x,)` and `(x, y)` are tuples.
  if (elements.size() == 1 && tuple->COMMA().empty()) {
    ExprPtr inner = convertExpr(elements[0], depth);
    if (inner)
      inner->range = range(ctx);
    return inner;
  }
  auto expr = std::make_unique<Expr>(ExprKind::Tuple, range(ctx));
  for (CircParser::ExprContext *element : elements) {
    ExprPtr value = convertExpr(element, depth + 1);
    if (!value)
      return nullptr;
    expr->operands.push_back(std::move(value));
  }
  return expr;
}

ExprPtr Parser::makeNumber(antlr4::Token *tok) {
  SourceRange at = range(tok);
  auto expr = std::make_unique<Expr>(ExprKind::Number, at);
  expr->text = std::string(source_.slice(at));
  std::string digits;
  for (char c : expr->text)
    if (c != '_')
      digits += c;
  double scale = 1;
  switch (digits.back()) {
  case '%':
    expr->suffix = NumberSuffix::Percent;
    scale = 0.01;
    break;
  case 'k':
    expr->suffix = NumberSuffix::Kilo;
    scale = 1e3;
    break;
  case 'M':
    expr->suffix = NumberSuffix::Mega;
    scale = 1e6;
    break;
  case 'G':
    expr->suffix = NumberSuffix::Giga;
    scale = 1e9;
    break;
  default:
    break;
  }
  if (expr->suffix != NumberSuffix::None)
    digits.pop_back();
  double value = 0;
  auto [end, ec] =
      std::from_chars(digits.data(), digits.data() + digits.size(), value);
  // Underflow to zero or overflow: neither is what the author meant.
  if (ec != std::errc() || end != digits.data() + digits.size() ||
      !std::isfinite(value * scale) || (value != 0 && value * scale == 0)) {
    diags_.report(DiagID::NumberOutOfRange, at,
                  "number '" + expr->text + "' is out of range");
    return nullptr;
  }
  expr->number = value * scale;
  return expr;
}

ExprPtr Parser::makeString(antlr4::Token *tok) {
  SourceRange at = range(tok);
  std::string_view raw = source_.slice(at);
  auto expr = std::make_unique<Expr>(ExprKind::String, at);
  raw = raw.substr(1, raw.size() - 2);
  for (size_t i = 0; i < raw.size(); ++i) {
    if (raw[i] != '\\') {
      expr->text += raw[i];
      continue;
    }
    char c = raw[++i]; // the lexer guarantees a character follows
    switch (c) {
    case 'n':
      expr->text += '\n';
      break;
    case 't':
      expr->text += '\t';
      break;
    case '\\':
    case '"':
      expr->text += c;
      break;
    default: {
      // Show the whole character after the backslash, even if multibyte.
      size_t len = 1;
      while (i + len < raw.size() && (raw[i + len] & 0xC0) == 0x80)
        ++len;
      uint32_t pos = at.begin + static_cast<uint32_t>(i);
      diags_.report(
          DiagID::InvalidEscape, {pos, pos + 1 + static_cast<uint32_t>(len)},
          "unknown escape sequence '\\" + std::string(raw.substr(i, len)) +
              "'; strings allow \\\", \\\\, \\n and \\t");
      return nullptr;
    }
    }
  }
  return expr;
}

} // namespace

std::unique_ptr<File>
circ::frontend::parse(const SourceFile &source, DiagnosticEngine &diags,
                      const ParseLimits &limits) noexcept {
  try {
    return Parser(source, diags, limits).run();
  } catch (const std::exception &e) {
    diags.reportUnlocated(DiagID::InternalParserError,
                          std::string("internal parser error: ") + e.what());
  } catch (...) {
    diags.reportUnlocated(DiagID::InternalParserError, "internal parser error");
  }
  return nullptr;
}
