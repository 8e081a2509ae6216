# Neural posterior estimation for the gaussian_linear task of the SBI
# benchmark: q(theta | x), theta in R^10 (the flow's x0..x9) given one
# simulation x in R^10 (the context c0..c9). The sbi package's NPE default
# (posterior_nn(model = "maf")): five MAF layers whose MADEs have two tanh
# layers of 50 units and read the context, the affine transformer of nflows
# (scale softplus(s) + 1e-3), a standard normal base, theta and x z-scored
# (nfc train --standardize). sbi permutes randomly between layers; this
# reverses. Trained and measured by run.py:
#   python3 examples/sbi/run.py --tasks gaussian_linear
transform sbi_affine(x; s, t) = x * (softplus(s) + 0.001) + t

flow gaussian_linear(dim = 10, context = 10) {
  repeat 5 {
    maf sbi_affine(order = natural) { net = made(hidden = [50, 50], act = tanh) }
    permute reverse
  }
}
