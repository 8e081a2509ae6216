# Several layer kinds, transforms and activations on 5 dimensions: gathers,
# concatenations, erf (gelu), elu, softplus, sigmoid, sinh/asinh.
transform sas(x; a, b) = sinh(b * asinh(x) - a)        # sinh-arcsinh
transform lin(x; s, t) = x * exp(s) + t

flow mixed(dim = 5) {
  coupling affine(mask = halves) { net = mlp(hidden = [16, 16], act = tanh); s = 2 * tanh(s / 2) }
  permute random(seed = 11)
  coupling sas(mask = alternate) {
    net = mlp(hidden = [8], act = elu)
    b = softplus(b) + 0.5
  }
  permute reverse
  coupling lin(mask = [1, 0, 0, 1, 0]) { net = mlp(hidden = [12], act = gelu) }
  map {
    z0 = x0 * 1.5 - 0.2
    z1 = x1 + 0.3 * tanh(x0)
    z2 = sinh(asinh(x2) * 1.2 + 0.1 * x1)
    z3 = x3 * exp(0.2 * x0) + x2 * x1
    z4 = x4 - 0.1 * x3^2
  }
  coupling additive(mask = alternate) { net = mlp(hidden = [6], act = softplus) }
  coupling affine(mask = alternate) { net = mlp(hidden = [6, 6], act = sigmoid) }
}
