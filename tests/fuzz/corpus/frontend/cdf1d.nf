# The 1-D case: with a uniform base on [0, 1], the map z = f(x) a flow
# learns is the data's CDF, and sampling is inverse-transform sampling.
# Here f is a mixture of two logistic CDFs: x0 occurs twice, so nfc inverts
# it by Newton-bisection, after proving it increasing.
flow cdf1d(dim = 1, base = uniform) {
  param w = 0.5 (0, 1), m = [-1.0, 1.0], s[2] = 0.5 positive
  map {
    z0 = w * sigmoid((x0 - m[0]) / s[0]) + (1 - w) * sigmoid((x0 - m[1]) / s[1])
  }
}
