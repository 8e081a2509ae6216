# A transform whose derivative in its input simplifies to zero cannot be a
# bijection. (Transforms without a closed-form inverse are solved numerically:
# see the Newton-bisection tests in tests/test_maps.cpp.)
transform flat(x; s) = x * 0 + s
# expect: 4:11: error: transform 'flat' has a zero derivative in 'x' and cannot be inverted

flow f(dim = 2) {
  coupling flat(mask = alternate)
}
