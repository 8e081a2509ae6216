// The solver behind the `solve` op (semantics in Ops.def) for one element:
// the x with f(x) = t for a continuous monotone f, by bracketing and
// safeguarded Newton steps. The reference interpreter calls it in double;
// the C++ source backend embeds this very file in the code it emits, so it
// uses the standard library only and stays a template on the precision.
// The LLVM backend runs the same algorithm step for step on SIMD lanes.
#pragma once

#include <algorithm>
#include <cmath>
#include <limits>
#include <utility>

namespace nfc {

// `eval(x)` returns the pair (f(x), f'(x)). Brackets the root by doubling
// [-1, 1] on both sides while f - t has one sign at both ends (at most 128
// times; NaN if no bracket is found), then takes Newton steps, bisecting
// whenever a step leaves the bracket, until |dx| <= 4 eps (1 + |x|); NaN
// if 100 steps do not get there.
template <class T, class F>
T newton_bisection(T t, F eval) {
  const T tol = 4 * std::numeric_limits<T>::epsilon();
  T lo = -1, hi = 1;
  T flo = eval(lo).first - t, fhi = eval(hi).first - t;
  for (int i = 0; i < 128 && (flo > 0) == (fhi > 0) && flo != 0 && fhi != 0; ++i) {
    const T w = hi - lo;  // double the bracket on both sides
    lo -= w;
    hi += w;
    flo = eval(lo).first - t;
    fhi = eval(hi).first - t;
  }
  if (flo == 0) return lo;
  if (fhi == 0) return hi;
  // No sign change within |x| < 2^129: t is outside f's image (or f is not
  // monotone, or undefined there). There is no x to return: NaN, never a
  // finite number that is not a root.
  if (!((flo > 0) != (fhi > 0))) return std::numeric_limits<T>::quiet_NaN();
  T x = T(0.5) * (lo + hi);
  for (int i = 0; i < 100; ++i) {
    const std::pair<T, T> fd = eval(x);
    const T fx = fd.first - t;
    if (fx == 0) return x;
    if ((fx > 0) == (flo > 0)) {  // the root lies between x and hi
      lo = x;
      flo = fx;
    } else {
      hi = x;
    }
    T next = x - fx / fd.second;
    if (!(next > std::min(lo, hi) && next < std::max(lo, hi))) next = T(0.5) * (lo + hi);
    const bool done = std::fabs(next - x) <= tol * (1 + std::fabs(x));
    x = next;
    if (done) return x;
  }
  // Not converged within the budget (f not monotone, or too steep for
  // Newton and bisection to meet the tolerance in 100 steps): no answer is
  // better than an imprecise one.
  return std::numeric_limits<T>::quiet_NaN();
}

}  // namespace nfc
