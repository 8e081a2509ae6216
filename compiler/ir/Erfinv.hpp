// erfinv for one value, in T's precision: the `erfinv` op's definition. The
// reference interpreter and constant folding call it in double, the LLVM
// backend calls it per lane as nfc_erfinv / nfc_erfinvf (registered with
// the JIT), and the C++ source backend embeds this very file in the code it
// emits, so it uses the standard library only.
#pragma once

#include <cmath>
#include <limits>

namespace nfc {

// A first guess in three ranges of w = -log(1 - x^2): Giles' single-
// precision polynomials ("Approximating the erfinv function", GPU Computing
// Gems Jade, 2011; relative error ~4e-7) for w < 5 and w < 17; beyond, where
// his tail polynomial is extrapolated (1 - x < 2e-8, double only), the
// asymptotic erfc(y) ~ e^(-y^2) / (y sqrt(pi)) (1 - 1/(2 y^2)) solved by two
// fixed-point steps (within a few 1e-3). Then two Halley steps on erf(y) =
// x, each tripling the correct digits: y -= d / (1 + y d), d = (erf(y) - x)
// sqrt(pi)/2 e^(y^2). For x >= 0.5 the residual is (1 - x) - erfc(y): 1 - x
// is exact there, and erf(y) - x would cancel (near x = 1 every digit of y
// sits in 1 - x).
template <class T>
T erfinv(T a) {
  const T x = std::fabs(a);
  if (!(x < 1))
    return x == 1 ? std::copysign(std::numeric_limits<T>::infinity(), a)
                  : std::numeric_limits<T>::quiet_NaN();
  const T w = -std::log((1 - x) * (1 + x));
  T y;
  if (w < 5) {
    const T u = w - T(2.5);
    T p = T(2.81022636e-08);
    for (T c : {T(3.43273939e-07), T(-3.5233877e-06), T(-4.39150654e-06), T(0.00021858087),
                T(-0.00125372503), T(-0.00417768164), T(0.246640727), T(1.50140941)})
      p = p * u + c;
    y = p * x;
  } else if (w < 17) {
    const T s = std::sqrt(w) - 3;
    T p = T(-0.000200214257);
    for (T c : {T(0.000100950558), T(0.00134934322), T(-0.00367342844), T(0.00573950773),
                T(-0.0076224613), T(0.00943887047), T(1.00167406), T(2.83297682)})
      p = p * s + c;
    y = p * x;
  } else {
    const T log_q = -std::log(1 - x), sqrt_pi = T(1.7724538509055160273);
    y = std::sqrt(log_q - T(0.5) * std::log(T(3.14159265358979323846) * log_q));
    y = std::sqrt(log_q - std::log(y * sqrt_pi * (1 - T(0.5) / (y * y))));
  }
  for (int step = 0; step < 2; ++step) {
    const T residual = x < T(0.5) ? std::erf(y) - x : (1 - x) - std::erfc(y);
    const T d = residual * T(0.88622692545275801365) * std::exp(y * y);
    y -= d / (1 + y * d);
  }
  return std::copysign(y, a);
}

}  // namespace nfc
