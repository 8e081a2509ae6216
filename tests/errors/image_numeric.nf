# x0 / (1 + abs(x0)) encloses to all of R (the interval bound is loose
# through abs and /), yet takes values in (-1, 1) only: sampling outside
# has no inverse (590 of 2000 draws failed). Evaluated far out, z0 settles
# at 1 as x0 -> inf: the image shown numerically refuses it, with a note
# saying how it was shown.
flow e(dim = 2) {
  map {
    z0 = x0 / (1 + abs(x0))
    z1 = where(x1 > 0, x1, exp(x1) - 1) + x0
  }
# expect: 8:5: warning: cannot prove dz0/dx0 != 0, so z0 may not be invertible everywhere; dz0/dx0 = 1 / (1 + abs(x0)) - x0 * select_pos(x0, 1, (-1)) / ((1 + abs(x0)) * (1 + abs(x0)))
# expect: 7:3: error: the last layer's z0 takes values in (-1, 1) only, which does not cover the base's support (-inf, inf): samples there have no inverse
# expect: 7:3: note: z0 tends to 1 as x0 -> inf
}
