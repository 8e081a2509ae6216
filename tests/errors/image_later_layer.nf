# exp's image (0, inf) is carried through the permutation to the base:
# no later layer widens it, so samples with z1 < 0 have no inverse.
flow e(dim = 2) {
  map { z0 = exp(x0); z1 = x1 }
# expect: 4:3: error: layer 0's z0 takes values in (0, inf) only, which does not cover the base's support (-inf, inf): samples there have no inverse
  permute reverse
}
