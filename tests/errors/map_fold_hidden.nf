# Folds the grid does not see, found by branch and bound over boxes of the
# inputs: a bump at 150 (between the grid points 100 and 200), a fold in
# x1 only where x0 is near 7 (the grid holds x0 at 0, 0.7, -1.3, 2.9), and
# a where whose condition only touches 0 at a grid point (no sign change
# between neighbours): each integrated to 0.93..1.02, not 1.
flow e(dim = 3) {
  map {
    z0 = x0 + 3 * exp(-(x0 - 150)^2)
# expect: 8:5: error: z0 is not monotone in x0: dz0/dx0 = -1.6 at x0 = 150.680542, +1 at x0 = 200, so the map is not a bijection
    z1 = x1 - 3 * tanh(x1) * exp(-(x0 - 7)^2)
# expect: 10:5: error: z1 is not monotone in x1: dz1/dx1 = +0.24 at x1 = -1.25, -1.6 at x1 = -0.2384185791 (x0 = 6.67572), so the map is not a bijection
    z2 = where(abs(x2 - 0.1) < 0.1, x2 - 2, x2)
# expect: 12:5: error: z2 jumps at x2 = 0 from -1e-06 to -2, so the map is not a bijection
  }
}
