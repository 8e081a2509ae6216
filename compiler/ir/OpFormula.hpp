// Each elementwise op's formula, written once: Ops.def's last column is an
// expression over a small vocabulary (+ - * /, unary -, double literals,
// exp log log1p expm1 sqrt fabs tanh atanh sinh cosh asinh sin cos atan asin acos acosh
// cbrt erf erfc pow, and
// select_pos(a, b, c) = a > 0 ? b : c, erfinv (Erfinv.hpp)), and
// apply_formula instantiates it
// for any value type that provides that vocabulary:
//   double                     constant folding and the interpreter (Graph.cpp)
//   CppExpr (backend/cpp)      the text of emitted C++
//   LlvmFormula (backend/llvm) LLVM IR, vector maths for exp and log
// so a formula changed here changes in every evaluator at once (CasADi's
// calculus.hpp does the same with one templated definition per op).
//
// A code-building value type V derives from FormulaArithmetic<V> and gives
// V::literal(double) (a constant in the same context) and the V-with-V
// operators and functions; FormulaArithmetic adds the mixed forms with
// double literals, found by argument-dependent lookup.
#pragma once

#include <cmath>
#include <string>

#include "compiler/ir/Erfinv.hpp"
#include "compiler/ir/Graph.hpp"
#include "support/InternalError.hpp"

namespace nfc {

inline double select_pos(double a, double b, double c) {
  return a > 0 ? b : c;
}

template <class V>
struct FormulaArithmetic {
  friend V operator+(double x, const V& a) { return a.literal(x) + a; }
  friend V operator+(const V& a, double x) { return a + a.literal(x); }
  friend V operator-(double x, const V& a) { return a.literal(x) - a; }
  friend V operator-(const V& a, double x) { return a - a.literal(x); }
  friend V operator*(double x, const V& a) { return a.literal(x) * a; }
  friend V operator*(const V& a, double x) { return a * a.literal(x); }
  friend V operator/(double x, const V& a) { return a.literal(x) / a; }
  friend V operator/(const V& a, double x) { return a / a.literal(x); }
  friend V select_pos(const V& a, const V& b, double c) { return select_pos(a, b, a.literal(c)); }
  friend V select_pos(const V& a, double b, const V& c) { return select_pos(a, a.literal(b), c); }
  friend V select_pos(const V& a, double b, double c) {
    return select_pos(a, a.literal(b), a.literal(c));
  }
};

// Op `op` applied to operands a, b, c (those past the op's arity are
// ignored). No `default:`: Ops.def lists every op once.
template <class V>
V apply_formula(Op op, const V& a, const V& b, const V& c) {
  // For double; a code-building V brings its own by argument-dependent lookup.
  using std::acos, std::acosh, std::asin, std::asinh, std::atan, std::atanh, std::cbrt, std::cos,
      std::cosh, std::erf, std::erfc, std::exp, std::expm1, std::fabs, std::log, std::log1p,
      std::pow, std::sin, std::sinh, std::sqrt, std::tanh;
  (void)b;
  (void)c;
  switch (op) {
#define NFC_UNARY(o, spelling, formula) \
  case Op::o:                           \
    return formula;
#define NFC_BINARY(o, spelling, formula) \
  case Op::o:                            \
    return formula;
#define NFC_TERNARY(o, spelling, formula) \
  case Op::o:                             \
    return formula;
#define NFC_SPECIAL(o, spelling) case Op::o:
#include "compiler/ir/Ops.def"
    break;
  }
  throw InternalError(std::string("apply_formula: '") + op_spelling(op) + "' is not elementwise");
}

}  // namespace nfc
