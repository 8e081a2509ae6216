# Neural posterior estimation for the two_moons task of the SBI
# benchmark: q(theta | x), theta in [-1, 1]^2 (x0, x1) given one simulation
# x in R^2 (c0, c1), whose posterior is a pair of thin crescents. The sbi package's NPE default
# (posterior_nn(model = "maf")): five MAF layers whose MADEs have two tanh
# layers of 50 units and read the context, the affine transformer of nflows
# (scale softplus(s) + 1e-3), a standard normal base, theta and x z-scored
# (nfc train --standardize). sbi permutes randomly between layers; this
# reverses. Trained and measured by run.py:
#   python3 examples/sbi/run.py --tasks two_moons
transform sbi_affine(x; s, t) = x * (softplus(s) + 0.001) + t

flow two_moons(dim = 2, context = 2) {
  repeat 5 {
    maf sbi_affine(order = natural) { net = made(hidden = [50, 50], act = tanh) }
    permute reverse
  }
}
