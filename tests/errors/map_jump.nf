# dz0/dx0 = 1 wherever it is defined, proved, but sign(x0) makes z0 jump
# from -1 to 1 at 0: the image misses (-1, 1), samples there have no
# inverse, and the density integrates to 0.32. The jump is found where the
# sign's argument changes sign, and compared with z0's change beside it.
# where() jumps the same way; a kink (max) does not, and an odd extension
# sign(x) * log1p(abs(x)) is continuous: both compile.
flow j(dim = 3) {
  map {
    z0 = x0 + sign(x0)
# expect: 9:5: error: z0 jumps at x0 = 0 from -1 to 1, so the map is not a bijection
    z1 = where(x1 > 1, x1 + 1, x1) + x0
# expect: 11:5: error: z1 jumps at x1 = 1 (x0 = 0) from 1 to 2, so the map is not a bijection
    z2 = max(x2, 2 * x2) + 0.5 * sign(x2) * log1p(abs(x2))
  }
}
