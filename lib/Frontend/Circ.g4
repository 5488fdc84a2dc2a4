// Circ.g4 - the grammar of .circ files.
//
// A file is a list of blocks (`data`, `model`, `train`, `prune`, `kernel`),
// each a list of `key = value` statements ended by a newline or ';'.
// Newlines inside ( ) and [ ] continue the statement. Values form one small
// expression language; what a key accepts is decided by the checker, not
// here, so misspelt keys and block kinds get "did you mean" diagnostics
// instead of syntax errors. Generated with the Debian antlr4 tool (4.7.2),
// compiled against runtime 4.9 (same ATN format).

grammar Circ;

@lexer::members {
  /// Depth of open ( and [ : newlines inside them do not end a statement.
  int nesting = 0;
}

file      : sep* (block sep*)* EOF ;
sep       : NL | SEMI ;

block     : kind=IDENT name=IDENT? (ON on=IDENT)? (FOR target=expr)? body ;
body      : LBRACE sep* (statement (sep+ statement)* sep*)? RBRACE ;
statement : key=IDENT EQ value=expr ;

expr      : range (ARROW range)? ;
range     : additive (DOTDOT additive)? ;
additive  : multiplicative ((PLUS | MINUS) multiplicative)* ;
multiplicative : unary ((STAR | SLASH) unary)* ;
unary     : MINUS* primary ;
primary
  : NUMBER                                              # number
  | STRING                                              # string
  | IDENT LPAREN (argument (COMMA argument)* COMMA?)? RPAREN   # call
  | IDENT                                               # symbol
  | LBRACK (expr (COMMA expr)* COMMA?)? RBRACK          # list
  | LPAREN expr (COMMA expr)* COMMA? RPAREN             # tuple
  ;
argument  : (name=IDENT COLON)? expr ;

// Keywords come before IDENT so they win ties.
ON        : 'on' ;
FOR       : 'for' ;

NUMBER    : DIGITS ('.' DIGITS)? ([eE] [+-]? DIGITS)? ('%' | 'k' | 'M' | 'G')? ;
// A number run into letters (`40kb`, `1e`, `0x10`): one token, so the error
// names the whole thing. Ties with NUMBER go to NUMBER (defined first).
BAD_NUMBER: DIGITS ('.' DIGITS)? [a-zA-Z_0-9%]+ ;
IDENT     : [a-zA-Z_] [a-zA-Z_0-9]* ;
STRING    : '"' (~["\\\r\n] | '\\' ~[\r\n])* '"' ;
UNTERMINATED_STRING : '"' (~["\\\r\n] | '\\' ~[\r\n])* ;

LPAREN    : '(' { ++nesting; } ;
RPAREN    : ')' { if (nesting > 0) --nesting; } ;
LBRACK    : '[' { ++nesting; } ;
RBRACK    : ']' { if (nesting > 0) --nesting; } ;
// Braces only delimit blocks; they reset the depth so one unclosed '('
// cannot swallow the newlines of every later block.
LBRACE    : '{' { nesting = 0; } ;
RBRACE    : '}' { nesting = 0; } ;
EQ        : '=' ;
COLON     : ':' ;
COMMA     : ',' ;
SEMI      : ';' ;
ARROW     : '->' ;
DOTDOT    : '..' ;
PLUS      : '+' ;
MINUS     : '-' ;
STAR      : '*' ;
SLASH     : '/' ;

NL        : ('\r'? '\n' | '\r') { if (nesting > 0) skip(); } ;
WS        : [ \t\f]+ -> skip ;
LINE_COMMENT  : '//' ~[\r\n]* -> skip ;
BLOCK_COMMENT : '/*' .*? '*/' -> skip ;
UNTERMINATED_COMMENT : '/*' (~'*' | '*'+ ~[*/])* '*'* ;
ERROR_CHAR : . ;

fragment DIGITS : [0-9] ('_'? [0-9])* ;
