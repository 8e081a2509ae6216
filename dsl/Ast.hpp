// The syntax tree of a whole .nf file, exactly as written: nothing resolved,
// repeats not unrolled, argument values untyped. Sema (compiler/sema/Sema.cpp)
// gives it meaning. Every node keeps the SourceRange diagnostics point at.
//
// Parts that failed to parse are either dropped (a whole layer statement) or
// kept with a null expression / `Value::Kind::error`, so sema neither reports
// a cascade ("missing z1" after a syntax error in z1) nor crashes.
#pragma once

#include <string>
#include <variant>
#include <vector>

#include "dsl/Expr.hpp"
#include "dsl/SourceRange.hpp"

namespace nfc::ast {

struct Name {
  std::string text;
  SourceRange loc;
};

struct Arg;

// An argument value: `2`, `-1`, `0.5`, `alternate`, `[0, 1]`,
// `random(seed = 3)`, `mlp(hidden = [64], act = relu)`.
struct Value {
  enum class Kind {
    number,  // `number`, written as `text` (e.g. "-2", "1e-3")
    name,    // `text`
    list,    // `items`
    call,    // `text(args)`
    error,   // did not parse; already reported
  };
  Kind kind = Kind::error;
  SourceRange loc;  // the whole value
  std::string text;
  double number = 0;
  bool is_integer = false;  // written without '.' or exponent
  std::vector<Value> items;
  std::vector<Arg> args;
};

// `key = value`
struct Arg {
  Name key;
  Value value;
};

// `name = expr` in a coupling block or a map. `expr` is null if it failed to
// parse (the definition still counts, to avoid follow-on errors).
struct Assignment {
  Name target;
  ExprPtr expr;
};

// coupling T(args) { net = value; P = expr ... }, and alike the
// autoregressive layers `maf T(...) { ... }` and `iaf T(...) { ... }`, the
// elementwise layer `elementwise T(p = init, ...)` and `linear(...)`.
struct Coupling {
  std::string kind;  // "coupling", "maf", "iaf", "elementwise", "linear" or "dequantize"
  SourceRange keyword;
  Name transform;
  std::vector<Arg> args;
  std::vector<Arg> nets;  // each `net = value` in the block (sema rejects >1)
  std::vector<Assignment> rewrites;
};

// actnorm
struct ActNorm {
  SourceRange keyword;
};

// permute value
struct Permute {
  SourceRange keyword;
  Value spec;
};

// One declaration of a `param` statement (at flow level or in a map):
//   NAME = init [constraint]      NAME[size] = init [constraint]
// init is a number or a list of numbers; constraint is a word (`positive`)
// or an interval `(lo, hi)`. Values are untyped here; sema checks them.
struct Param {
  enum class Constraint { none, word, interval };
  Name name;
  bool has_size = false;
  Value size;  // NAME[size]
  Value init;
  Constraint constraint = Constraint::none;
  Name word;     // Constraint::word: `positive` (or a misspelling of it)
  Value lo, hi;  // Constraint::interval
  SourceRange constraint_loc;
  bool broken = false;  // a syntax error after the name; already reported
};

// `let NAME = expr` in a map. `expr` is null if it failed to parse.
struct Let {
  Name name;
  ExprPtr expr;
};

// map { param ...; let NAME = expr; zK = expr ... }
struct Map {
  SourceRange keyword;
  std::vector<Assignment> defs;
  std::vector<Param> params;
  std::vector<Let> lets;  // in source order
};

struct Layer;

// repeat count { layers }
struct Repeat {
  SourceRange keyword;
  Value count;
  std::vector<Layer> body;
};

struct Layer {
  std::variant<Coupling, Permute, Map, Repeat, ActNorm> node;
};

// transform name(input; params) = body
struct Transform {
  SourceRange keyword;
  Name name;
  Name input;
  std::vector<Name> params;
  ExprPtr body;            // null if it failed to parse
  bool header_ok = false;  // false: a syntax error before the body; skip checks
};

// flow name(args) { params and layers }
struct Flow {
  SourceRange keyword;
  Name name;
  std::vector<Arg> args;
  std::vector<Param> params;  // `param` statements at the top level, in order
  std::vector<Layer> body;
  bool header_ok = false;  // false: the header had a syntax error; skip checks
};

// `data NAME = "path"` in a target: a table read from a .npy or CSV file.
struct Data {
  Name name;
  std::string path;  // without the quotes
  SourceRange path_loc;
};

// target NAME [(args)] { data ...; param ...; let NAME = expr; logp = expr }:
// an unnormalised log-density over the flow's x0..x{D-1}, the aim of
// variational (reverse-KL) training.
struct Target {
  SourceRange keyword;
  Name name;
  std::vector<Arg> args;
  std::vector<Data> data;
  std::vector<Param> params;
  std::vector<Let> lets;
  std::vector<Assignment> defs;  // `logp = expr` (sema requires exactly one)
  bool header_ok = false;
};

struct File {
  std::vector<Transform> transforms;
  std::vector<Target> targets;
  std::vector<Flow> flows;  // sema requires exactly one
  SourceRange end;          // where "missing flow" points: the end of the text
};

}  // namespace nfc::ast
