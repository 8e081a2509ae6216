# A hand-written Knothe-Rosenblatt map with learnable parameters: the
# "banana" transformation of a Gaussian. nfc checks that z1 uses x0 and x1
# only, derives the inverse of each output in closed form, proves both
# diagonals positive, and simplifies the log-determinant to exactly 0.
#   nfc compile examples/banana.nf --explain --dump=graph
flow banana(dim = 2, base = normal) {
  param a = 1.0 positive, b = 0.5
  map {
    z0 = x0 / a
    z1 = x1 * a - b * (x0^2 + a^2)
  }
}
