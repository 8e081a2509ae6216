# MAF and IAF layers (affine and spline transformers, a residual MADE) and
# the LU linear layer: every op the autoregressive layers lower to,
# made_sequence and staircase matvecs included.
flow autoregressive(dim = 3) {
  maf affine(order = reverse) { net = made(hidden = [8, 8], act = tanh); s = tanh(s) }
  linear
  iaf spline(bins = 4) { net = made(hidden = [6, 6], residual = true) }
  elementwise affine(s = 0.2, t = 0.1)
  maf spline(order = random(seed = 3), bins = 3, bound = 2) { net = made(hidden = []) }
}
