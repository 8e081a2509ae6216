# The elementary functions of a map formula (issue 18): each output is
# increasing in its own input, proved by interval arithmetic; the other
# functions enter as shifts by earlier inputs. tan and erfinv appear
# composed with atan and tanh, which keep their arguments inside their
# domains (-pi/2, pi/2) and (-1, 1) for every input: the domain inference
# carries that back, so the support is all of R^3.
flow elementary(dim = 3) {
  map {
    z0 = x0 + 0.3 * atan(x0) + 0.2 * tan(0.5 * atan(x0))
    z1 = x1 + 0.5 * atan(x1) + 0.1 * cosh(0.3 * x0) + 0.2 * erf(x0) + 0.2 * cbrt(x0) + 0.1 * erfinv(0.9 * tanh(x1))
    z2 = x2 + 0.3 * erf(x2) + 0.2 * erfc(x0) + 0.1 * log2(1 + x1 * x1) + 0.1 * asin(0.5 * tanh(x0)) + 0.1 * acos(0.5 * tanh(x1)) + 0.05 * acosh(1 + x0 * x0) + 0.05 * sign(x2) * log1p(abs(x2)) + 0.1 * sign(x1)
  }
}
