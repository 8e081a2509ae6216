# The energy U3 of Rezende & Mohamed (2015), "Variational inference with
# normalizing flows", Table 1: p~(x) = exp(-U3(x)), a sine wave that splits in two.
# U2-U4 do not confine x0 (their density is periodic along it): the paper
# draws them on [-4, 4]^2. Here a Gaussian envelope exp(-x0^2 / (2 2.5^2))
# makes them normalisable, so log Z exists.
# log Z by quadrature: see README.md in this folder.
# nfc train examples/variational/u3.nf --target u3 --steps 3000 --lr 3e-3
flow spline_flow(dim = 2) {
  repeat 4 {
    coupling spline(mask = alternate, bins = 16, bound = 10) { net = mlp(hidden = [64, 64], act = relu) }
  }
}

target u3(dim = 2) {
  let w1 = sin(2 * 3.141592653589793 * x0 / 4)
  let w2 = 3 * exp(-0.5 * ((x0 - 1) / 0.6)^2)
  logp = logaddexp(-0.5 * ((x1 - w1) / 0.35)^2, -0.5 * ((x1 - w1 + w2) / 0.35)^2) - 0.5 * (x0 / 2.5)^2
}
