# log(x1 - x0) is defined on the half-plane x1 > x0, which is no box of
# intervals per input: the support cannot be stated, and dz1/dx1 = 1 +
# 1/(x1 - x0) is positive there but not provably so on a box.
flow e(dim = 2) {
  map { z0 = x0; z1 = x1 + log(x1 - x0) }
# expect: 5:18: warning: cannot tell where z1 is defined: the argument of log, x1 - x0, may leave (0, inf); inputs there give NaN
# expect: 5:18: warning: cannot prove dz1/dx1 != 0, so z1 may not be invertible everywhere; dz1/dx1 = 1 + 1 / (x1 - x0)
}
