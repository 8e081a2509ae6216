# The 1-D case: with a uniform base on [0, 1], the map z = f(x) a flow
# learns is the data's CDF, and sampling is inverse-transform sampling.
flow cdf1d(dim = 1, base = uniform) {
  map {
    param d = 1.0 positive, e = 0.0
    z0 = sinh(d * asinh(x0) - e)
  }
  map {
    param s = 1.0 positive, m = 0.0
    z0 = sigmoid((x0 - m) / s)
  }
}
