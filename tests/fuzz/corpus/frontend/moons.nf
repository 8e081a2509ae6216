# RealNVP for 2-D data such as the two-moons set.
#
# Each coupling layer keeps one coordinate and transforms the other with
# z = x * exp(s) + t, where s and t come from a small MLP of the kept one.
# `alternate` swaps the roles from one coupling layer to the next.

transform affine(x; s, t) = x * exp(s) + t     # nfc derives dz/dx, log|dz/dx| and the inverse

flow moons(dim = 2, base = normal) {
  repeat 4 {
    coupling affine(mask = alternate) {
      net = mlp(hidden = [64, 64], act = relu)
      s = 2 * tanh(s / 2)                        # soft clamp: log-scale stays in (-2, 2)
    }
  }
}
