# A uniform base on a box other than [0, 1]: the map sends R onto (-2, 3)
# in each coordinate, and sampling inverts it from uniform draws.
flow base_uniform_box(dim = 2, base = uniform(low = -2, high = 3)) {
  param a[2] = 1 positive, b[2] = 0
  map {
    z0 = -2 + 5 * sigmoid(a[0] * x0 + b[0])
    z1 = -2 + 5 * sigmoid(a[1] * x1 + b[1] + 0.5 * x0)
  }
}
